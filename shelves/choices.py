from django.db import models
from django.utils.translation import gettext_lazy as _


class Slot(models.TextChoices):
    """Which of a screen's catalogs is on: by the brand's day/night hours, or Double-11 mode."""

    DAY = "day", _("Daytime")
    NIGHT = "night", _("Night-time")
    DOUBLE11 = "double11", _("Double-11 mode")


class ScreenStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
