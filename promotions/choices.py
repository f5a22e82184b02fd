from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ENDED = "ended", _("Ended")


class PhaseKind(models.TextChoices):
    """In the order a Double-11 campaign goes through them."""

    WARMUP = "warmup", _("Warm-up")
    PRESALE = "presale", _("Pre-sale")
    MAIN = "main", _("Main day")
    AFTERSALE = "aftersale", _("After-sale")


PHASE_ORDER = [PhaseKind.WARMUP, PhaseKind.PRESALE, PhaseKind.MAIN, PhaseKind.AFTERSALE]


class DiscountKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off")
    PERCENT_OFF = "percent_off", _("Percent off")
    THRESHOLD = "threshold", _("Spend and save (满减)")


class CouponChannel(models.TextChoices):
    STORE = "store", _("In store")
    ONLINE = "online", _("Online")
    BOTH = "both", _("In store and online")


class Stacking(models.TextChoices):
    EXCLUSIVE = "exclusive", _("Not with other coupons")
    STACKABLE = "stackable", _("Stacks with other coupons")


class CouponStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved for an offline block")
    CLAIMED = "claimed", _("Claimed")
    REDEEMED = "redeemed", _("Redeemed")
    VOID = "void", _("Void")


class ClaimVia(models.TextChoices):
    API = "api", _("Partner API")
    WORKBENCH = "workbench", _("Guide workbench")
    MOBILE = "mobile", _("Member's phone")
    OFFLINE = "offline", _("Offline block")
    REHEARSAL = "rehearsal", _("Rehearsal")


class RedemptionSource(models.TextChoices):
    WORKBENCH = "workbench", _("Workbench, online")
    OFFLINE = "offline", _("Workbench, offline (synced later)")
    API = "api", _("POS through the API")
    REHEARSAL = "rehearsal", _("Rehearsal")


class OfflineOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    CONFLICT = "conflict", _("Double spend: an incident")
    REJECTED = "rejected", _("Rejected")


class BlockStatus(models.TextChoices):
    OPEN = "open", _("Held by the tablet")
    SYNCED = "synced", _("Synced; unused coupons returned")


class BenefitKind(models.TextChoices):
    GIFT = "gift", _("Gift")
    EARLY_ACCESS = "early_access", _("Early access")
    FITTING_ROOM = "fitting_room", _("Exclusive fitting-room slot")
    OTHER = "other", _("Other")


class RehearsalStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class IncidentKind(models.TextChoices):
    NETWORK = "network", _("Network")
    DEVICE = "device", _("Device")
    PAYMENT = "payment", _("Payment")
    STOCK = "stock", _("Stock")
    QUEUE = "queue", _("Queue")
    DOUBLE_SPEND = "double_spend", _("Coupon redeemed twice offline")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ASSIGNED = "assigned", _("Assigned")
    RESOLVED = "resolved", _("Resolved")
