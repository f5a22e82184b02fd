from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberSource(models.TextChoices):
    STORE = "store", _("In store")
    SAMPLE_DISPENSER = "sample_dispenser", _("Sample dispenser")
    CLOUD_SHELF = "cloud_shelf", _("Cloud shelf")
    ONLINE = "online", _("Online")
    IMPORT = "import", _("Import")
    PARTNER = "partner", _("Partner API")
