"""The retail core: brands (tenants), stores, staff, the catalog, the sales ledger, audit,
partner API clients and the domain-event outbox."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction, Channel, DeliveryStatus, OrderStatus, Role, StoreStatus
from .tenancy import TenantQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2}


class Brand(models.Model):
    """A brand: the tenant. Every tenant-owned row carries its id."""

    TENANT_BRAND_FIELD = "pk"

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """A physical store of a brand."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "pk"

    # indexed by the (brand, code) unique constraint
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="stores", db_index=False)
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=120)
    city = models.CharField(_("city"), max_length=60, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=StoreStatus.choices, default=StoreStatus.ONBOARDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "code"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        constraints = [
            models.UniqueConstraint(fields=["brand", "code"], name="store_code_unique_per_brand"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="store_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="store_longitude_range",
            ),
        ]
        indexes = [models.Index(fields=["brand", "status"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StaffRole(models.Model):
    """A user's role in a brand: HQ admin (whole brand), store manager or guide (a store)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="staff_roles")
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="staff_roles"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "role", "id"]
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "brand", "store", "role"], name="staffrole_unique"),
            models.UniqueConstraint(
                fields=["user", "brand", "role"],
                condition=Q(store__isnull=True),
                name="staffrole_unique_brandwide",
            ),
            # HQ admins act for the whole brand; managers and guides belong to a store.
            models.CheckConstraint(
                condition=(Q(role=Role.HQ_ADMIN) & Q(store__isnull=True))
                | (~Q(role=Role.HQ_ADMIN) & Q(store__isnull=False)),
                name="staffrole_store_matches_role",
            ),
        ]

    def __str__(self) -> str:
        where = self.store.code if self.store_id else self.brand.name
        return f"{self.user} · {self.get_role_display()} · {where}"

    def clean(self) -> None:
        if self.store_id and self.brand_id and self.store.brand_id != self.brand_id:
            raise ValidationError({"store": _("The store belongs to another brand.")})
        if self.role == Role.HQ_ADMIN and self.store_id:
            raise ValidationError({"store": _("An HQ admin is not bound to a store.")})
        if self.role != Role.HQ_ADMIN and not self.store_id:
            raise ValidationError({"store": _("Store managers and guides need a store.")})


class Product(models.Model):
    """A SKU of the brand's product master."""

    TENANT_BRAND_FIELD = "brand"

    # indexed by the (brand, sku) unique constraint
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products", db_index=False)
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=80, blank=True, db_index=True)
    price = models.DecimalField(_("price (CNY)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    online_stock = models.PositiveIntegerField(_("online stock"), default=0)
    image_url = models.URLField(_("image URL"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["brand", "sku"], name="product_sku_unique_per_brand"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Order(models.Model):
    """A sale in the ledger: in store, online or through a cloud shelf, with attribution."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    # No single-column FK indexes on orders: the composite (x, paid_at) indexes below serve
    # the same lookups, and every extra index costs each order insert.
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="orders", db_index=False)
    external_id = models.CharField(_("external id"), max_length=64)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PAID
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", db_index=False
    )
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guided_orders",
        db_index=False,
    )
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    discount_total = models.DecimalField(_("discount"), **MONEY, default=Decimal("0"))
    total = models.DecimalField(_("total"), **MONEY)
    paid_at = models.DateTimeField(_("paid at"))
    # Attribution (retail.attribution): the token the order came with, what it resolved to
    # ({"status", "message", "source", "store", "guide", "shelf_scan", "screen", ...}), and the
    # cloud-shelf scan as a plain id: the core sits below shelves/, so no foreign key up.
    attribution_token = models.CharField(_("attribution token"), max_length=200, blank=True)
    attribution = models.JSONField(_("attribution"), default=dict, blank=True)
    shelf_scan_id = models.BigIntegerField(_("cloud-shelf scan"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-paid_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "external_id"], name="order_external_id_unique_per_brand"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["brand", "paid_at"]),
            models.Index(fields=["store", "paid_at"]),
            models.Index(fields=["member", "paid_at"]),
            models.Index(fields=["guide", "paid_at"]),
            models.Index(
                fields=["shelf_scan_id"], name="order_shelf_scan", condition=Q(shelf_scan_id__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.external_id


class StoreStock(models.Model):
    """How many of a product a store has on hand (pushed by the brand's ERP / POS)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stock", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="store_stock")
    quantity = models.PositiveIntegerField(_("quantity"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store_id", "product_id"]
        verbose_name = _("store stock")
        verbose_name_plural = _("store stock")
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="storestock_unique_per_store"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.product_id}: {self.quantity}"


class OrderLine(models.Model):
    """One product line of an order; name and SKU are copied so history survives edits."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "order__store"
    # lines are reached through their order; brand_id serves tenancy and sharding

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["order_id", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderline_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class AuditEvent(models.Model):
    """A change log entry (who, what, when, from where), kept after the object is deleted."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100)  # "app_label.model"
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["object_type", "object_id", "created_at"]),
            models.Index(fields=["actor", "created_at"]),
            models.Index(fields=["brand", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_type} {self.object_id}"


class ApiClient(models.Model):
    """A partner integration of one brand, with named scopes and its own rate limit."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="api_clients")
    name = models.CharField(_("name"), max_length=120)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(_("rate limit per minute"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # the console's read-only share links carry it; "revoke links" bumps it (retail.console)
    share_links_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return f"{self.brand} · {self.name}"


class ApiToken(models.Model):
    """A bearer token of an API client. Only a prefix and a SHA-256 hash are stored."""

    TENANT_BRAND_FIELD = "client__brand"

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    # None: every scope of the client; else a subset (the client's scopes still cap it)
    scopes = models.JSONField(_("scopes"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}…"


class IdempotencyRecord(models.Model):
    """The stored first answer to a POST carrying an Idempotency-Key, per API client."""

    TENANT_BRAND_FIELD = "client__brand"

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null: in flight
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key


class DomainEvent(models.Model):
    """The outbox: every published domain event, written in the publishing transaction."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store_id"
    # indexed by (brand, name, occurred_at)

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=64)
    store_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("domain event")
        verbose_name_plural = _("domain events")
        indexes = [models.Index(fields=["brand", "name", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class WebhookSubscription(models.Model):
    """A partner's (or HQ's) endpoint for a set of event types (retail.webhooks).

    Deliveries are signed with `secret` (encrypted at rest, retail.crypto); after a rotation
    the previous secret also signs until `previous_secret_expires_at`, so receivers can
    switch without losing a delivery. A subscription whose endpoint keeps failing is paused
    by the circuit breaker (`paused_at`), and resumed by a person."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    client = models.ForeignKey(
        ApiClient,
        verbose_name=_("partner"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
    )
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("event types"), default=list)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.TextField(editable=False)  # encrypted
    previous_secret = models.TextField(blank=True, editable=False)  # encrypted
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # a pump holds the subscription until then (one sender at a time keeps the order)
    pumping_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription: sent in event order, retried with back-off, dead after
    the attempt limit (the dead-letter list, replayable)."""

    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_name = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            # the pump's question: this subscription's oldest unfinished delivery
            models.Index(
                fields=["subscription", "event"],
                name="webhook_delivery_open",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            models.Index(fields=["subscription", "status", "id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: when, the answer's status and how long it took."""

    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-attempted_at", "-id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%H:%M:%S}: {self.status_code or self.error}"


class ApiRequestLog(models.Model):
    """One partner-API request (retail.requestlog): who, which route, the answer and how
    long it took. A diagnostics log for the partner console, written in batches (a crash can
    lose the last few seconds) and purged after API_REQUEST_LOG_DAYS; not a ledger."""

    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    client = models.ForeignKey(
        ApiClient, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    token_prefix = models.CharField(_("token"), max_length=16, blank=True)
    method = models.CharField(_("method"), max_length=8)
    route = models.CharField(_("route"), max_length=200)  # the URL pattern: /api/v1/orders/{pk}/
    path = models.CharField(_("path"), max_length=255)  # the actual path, truncated
    status_code = models.PositiveSmallIntegerField(_("status code"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    at = models.DateTimeField(_("time"))
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("API request")
        verbose_name_plural = _("API request log")
        indexes = [
            # the console's questions: a partner's requests of the last days, newest first
            models.Index(fields=["client", "at"], name="api_request_log_client"),
            # the purge: everything older than the retention
            models.Index(fields=["at"], name="api_request_log_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status_code}"


# --- live dashboards (retail/dashboards/) ---------------------------------------------------

from .dashboards.models import *  # noqa: E402,F401,F403  (StoreMinute, StoreDay, ...: __all__)

# --- store onboarding (retail/onboarding/) and store spaces (retail/spaces/) -----------------
from .onboarding.models import *  # noqa: E402,F401,F403
from .spaces.models import *  # noqa: E402,F401,F403

# --- staff notifications (retail/notifications.py) ------------------------------------------


class NotificationKind(models.TextChoices):
    DEVICE_OFFLINE = "device_offline", _("Device offline")
    DEVICE_LOW_STOCK = "device_low_stock", _("Low sample stock")
    WEBHOOK_PAUSED = "webhook_paused", _("Webhook paused")
    OTHER = "other", _("Other")


class StaffNotification(models.Model):
    """One message to one staff user (their inbox at /notifications/ and the header's bell).

    Worded when read, in the reader's language: `message` names a registered wording
    (retail.notifications.register_message) and `params` fills it. `dedupe_key` is unique
    per recipient, so a redelivered event notifies nobody twice. Read by recipient only
    (retail.notifications), never through a principal's scope."""

    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # indexed by the (recipient, dedupe_key) unique constraint
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    message = models.CharField(_("message"), max_length=64)
    params = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=64, blank=True)  # what it is about ("device:42")
    url = models.CharField(_("link"), max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=160)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("staff notification")
        verbose_name_plural = _("staff notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="staffnotification_dedupe"),
        ]
        indexes = [
            # the inbox: a user's notifications, newest first
            models.Index(fields=["recipient", "created_at"], name="staffnotification_inbox"),
            # the bell: a user's open (unread, unresolved) notifications
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, resolved_at__isnull=True),
                name="staffnotification_open",
            ),
            # resolving: the open notifications about one thing (a device back online)
            models.Index(
                fields=["brand", "subject"],
                condition=Q(resolved_at__isnull=True),
                name="staffnotification_unresolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class PartnerUser(models.Model):
    """A person of a partner (API client) with a login to that partner's console and nothing
    else: admins manage its tokens and webhooks, viewers only look (retail.console)."""

    TENANT_BRAND_FIELD = "brand"

    class Access(models.TextChoices):
        ADMIN = "admin", _("Partner admin")
        VIEWER = "viewer", _("Partner viewer")

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    client = models.ForeignKey(
        ApiClient, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="partner_users"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_user"
    )
    access = models.CharField(_("access"), max_length=10, choices=Access.choices, default=Access.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["client_id", "id"]
        verbose_name = _("partner user")
        verbose_name_plural = _("partner users")

    def __str__(self) -> str:
        return f"{self.user} · {self.client}"
