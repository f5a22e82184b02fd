from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceKind(models.TextChoices):
    SAMPLE_DISPENSER = "sample_dispenser", _("Sample dispenser (派样机)")
    FITTING_MIRROR = "fitting_mirror", _("Virtual fitting mirror")
    MAGIC_MIRROR = "magic_mirror", _("Magic mirror")
    SMART_FRIDGE = "smart_fridge", _("Smart fridge")
    INTERACTIVE_SCREEN = "interactive_screen", _("Interactive screen")
    SHELF_SCREEN = "shelf_screen", _("Cloud-shelf screen")
    OTHER = "other", _("Other")


class DeviceStatus(models.TextChoices):
    PROVISIONED = "provisioned", _("Provisioned")
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")
    RETIRED = "retired", _("Retired")


class CommandStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    FAILED = "failed", _("Failed")


class NoticeKind(models.TextChoices):
    REWARD = "reward", _("Reward")
    PENALTY = "penalty", _("Penalty notice")
