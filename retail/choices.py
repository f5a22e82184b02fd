"""Choices of the retail core, shared by models, forms, API and UI."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoreStatus(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    LIVE = "live", _("Live")
    CLOSED = "closed", _("Closed")


class Role(models.TextChoices):
    HQ_ADMIN = "hq_admin", _("HQ admin")
    STORE_MANAGER = "store_manager", _("Store manager")
    GUIDE = "guide", _("Shopping guide")


class Channel(models.TextChoices):
    STORE = "store", _("In store")
    ONLINE = "online", _("Online")
    CLOUD_SHELF = "cloud_shelf", _("Cloud shelf")


class OrderStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    REVEAL = "reveal", _("Revealed PII")
    PERMISSION = "permission", _("Permission changed")
    LOGIN = "login", _("Logged in")
    EXPORT = "export", _("Exported")


# Partner API scopes: "<resource>:read" / "<resource>:write". Later apps add theirs here.
API_SCOPES = {
    "stores:read": _("Read stores"),
    "stores:write": _("Create and change stores"),
    "products:read": _("Read products"),
    "products:write": _("Create and change products"),
    "members:read": _("Read members"),
    "members:write": _("Create and change members"),
    "orders:read": _("Read orders"),
    "orders:write": _("Create orders"),
    "devices:read": _("Read devices"),
    "devices:write": _("Create and change devices"),
    "shelves:read": _("Read cloud-shelf catalogs, screens and scan statistics"),
    "shelves:write": _("Create and change cloud-shelf catalogs and screens"),
    "webhooks:read": _("Read webhook subscriptions and their delivery log"),
    "webhooks:write": _("Manage webhook subscriptions, secrets and redeliveries"),
    "campaigns:read": _("Read campaigns with their phases and stores"),
    "campaigns:write": _("Create and change campaigns"),
    "coupons:read": _("Read coupon templates and coupons"),
    "coupons:write": _("Claim and redeem coupons"),
    "guides:read": _("Read guides' interactions and tasks"),
    "guides:write": _("Record interactions and change tasks"),
}


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Retrying")
    SUCCEEDED = "succeeded", _("Delivered")
    DEAD = "dead", _("Dead letter")
