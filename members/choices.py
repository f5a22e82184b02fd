from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberSource(models.TextChoices):
    STORE = "store", _("In store")
    SAMPLE_DISPENSER = "sample_dispenser", _("Sample dispenser")
    CLOUD_SHELF = "cloud_shelf", _("Cloud shelf")
    ONLINE = "online", _("Online")
    IMPORT = "import", _("Import")
    PARTNER = "partner", _("Partner API")


class PointsKind(models.TextChoices):
    EARN = "earn", _("Earned")
    SPEND = "spend", _("Spent")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjusted")


class ConsentChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    CHAT = "chat", _("Work-chat message")


class ConsentSource(models.TextChoices):
    API = "api", _("Partner API")
    ADMIN = "admin", _("Admin")
    IMPORT = "import", _("Import")
    STORE = "store", _("In store")


class TagSource(models.TextChoices):
    MANUAL = "manual", _("By hand")
    RULE = "rule", _("By rule")
    IMPORT = "import", _("Import")
    API = "api", _("Partner API")


class JobStatus(models.TextChoices):
    """The life of a long job (segment materialisation, import, profile computation)."""

    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportStage(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKING = "checking", _("Checking (dry run)")
    CHECKED = "checked", _("Checked")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
