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
