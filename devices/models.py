"""The device registry: device types, devices in stores with their own credential, telemetry
events, daily data-backflow scores, partner notices, commands and sample dispensing."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retail.models import ApiClient, Brand, Store
from retail.tenancy import TenantQuerySet

from .choices import CommandStatus, DeviceKind, DeviceStatus, NoticeKind


class DeviceType(models.Model):
    """A kind of device a brand runs, built in-house (`partner` empty) or by a partner (an API
    client of the brand). `event_schemas` maps each event type the device sends to the JSON
    Schema its payload must satisfy (`heartbeat` needs none)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="device_types", db_index=False)
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=24, choices=DeviceKind.choices)
    partner = models.ForeignKey(
        ApiClient,
        verbose_name=_("maker (partner)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="device_types",
        help_text=_("Empty for devices built in-house."),
    )
    event_schemas = models.JSONField(_("event schemas"), default=dict, blank=True)
    heartbeat_interval_seconds = models.PositiveIntegerField(_("heartbeat interval (seconds)"), default=60)
    timeliness_threshold_seconds = models.PositiveIntegerField(
        _("timeliness threshold (seconds)"),
        default=300,
        help_text=_("An event is timely when received within this long of occurring (p95)."),
    )
    firmware_versions = models.JSONField(_("firmware versions"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand", "code"]
        verbose_name = _("device type")
        verbose_name_plural = _("device types")
        constraints = [models.UniqueConstraint(fields=["brand", "code"], name="device_type_code_unique")]

    def __str__(self) -> str:
        return self.name


class Device(models.Model):
    """One device in a store. It authenticates with its own credential (`Authorization:
    Bearer tdv_<prefix>_<secret>`; only the prefix and a hash are stored)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="devices", db_index=False)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="devices"
    )
    device_type = models.ForeignKey(
        DeviceType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="devices"
    )
    serial = models.CharField(_("serial number"), max_length=64)
    name = models.CharField(_("name"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=DeviceStatus.choices, default=DeviceStatus.PROVISIONED
    )
    firmware = models.CharField(_("firmware"), max_length=40, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    credential_prefix = models.CharField(max_length=16, unique=True, editable=False)
    credential_hash = models.CharField(max_length=64, editable=False)
    credential_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # sample dispensers
    sample_stock = models.IntegerField(_("sample stock"), default=0)
    low_stock_threshold = models.PositiveIntegerField(_("low-stock alert at"), default=10)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store", "serial"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [
            models.UniqueConstraint(fields=["brand", "serial"], name="device_serial_unique_per_brand"),
            models.CheckConstraint(condition=Q(sample_stock__gte=0), name="device_stock_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "last_seen_at"], name="device_status_seen")]

    def __str__(self) -> str:
        return self.name or self.serial

    @property
    def firmware_known(self) -> bool:
        """False when the device runs a firmware its type does not list (a heartbeat may
        report any firmware: it is stored as reported, and flagged "unknown firmware"). A
        device without a firmware, or a type listing none, is not flagged."""
        versions = self.device_type.firmware_versions
        return not self.firmware or not versions or self.firmware in versions


class DeviceEvent(models.Model):
    """One telemetry event as received. (device, seq) is unique: a resent event is stored once.
    Written in bulk (INSERT ... ON CONFLICT DO NOTHING / COPY), never one ORM save per event."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "device__store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq = models.BigIntegerField(_("sequence number"))
    event_type = models.CharField(_("type"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"))
    payload = models.JSONField(_("payload"), default=dict)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("device event")
        verbose_name_plural = _("device events")
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="device_event_seq_unique")]
        indexes = [
            models.Index(fields=["device", "occurred_at"], name="device_event_occurred"),
            models.Index(fields=["brand", "received_at"], name="device_event_received"),
            # the nightly scoring reads a brand's local day by occurred_at (backflow)
            models.Index(fields=["brand", "occurred_at"], name="device_event_brand_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq} {self.event_type}"


class DeviceRejectedEvent(models.Model):
    """An event the schema rejected (unknown type, payload not an object or not valid), once
    per (device, seq): a resent bad event is counted against accuracy once, and a seq later
    stored valid (a corrected resend) is taken off its day's `invalid` counter again. Written
    by ingestion in the same statement as the batch; purged with the raw events."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "device__store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField(_("sequence number"))
    day = models.DateField(_("day"))  # the local day whose `invalid` counter it is in
    rejected_at = models.DateTimeField(_("rejected at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("rejected device event")
        verbose_name_plural = _("rejected device events")
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="device_rejected_seq_unique")]
        indexes = [models.Index(fields=["brand", "rejected_at"], name="device_rejected_at")]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq} rejected"


class DeviceDay(models.Model):
    """A device's day: counters kept while ingesting (events rejected by the schema count
    against accuracy) and the data-backflow scores computed for it (set-based SQL)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "device__store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="days", db_index=False)
    day = models.DateField(_("day"))
    received = models.IntegerField(_("events received"), default=0)
    invalid = models.IntegerField(_("events rejected by the schema"), default=0)
    seq_min = models.BigIntegerField(null=True, blank=True)
    seq_max = models.BigIntegerField(null=True, blank=True)
    gaps = models.IntegerField(_("missing sequence numbers"), default=0)
    delay_p95_seconds = models.FloatField(_("p95 delay (seconds)"), null=True, blank=True)
    timeliness = models.FloatField(_("timeliness"), null=True, blank=True)  # 0..100
    completeness = models.FloatField(_("completeness"), null=True, blank=True)  # 0..100
    accuracy = models.FloatField(_("accuracy"), null=True, blank=True)  # 0..100
    score = models.FloatField(_("score"), null=True, blank=True)  # 0..100
    computed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-day"]
        verbose_name = _("device day")
        verbose_name_plural = _("device days")
        constraints = [models.UniqueConstraint(fields=["device", "day"], name="device_day_unique")]
        indexes = [models.Index(fields=["brand", "day"], name="device_day_brand_day")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.day}"


class BackflowPolicy(models.Model):
    """A brand's data-backflow standard: how the three measures weigh into a score, and the
    monthly reward / penalty rules for partners."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="backflow_policy")
    weight_timeliness = models.PositiveSmallIntegerField(_("weight of timeliness (%)"), default=30)
    weight_completeness = models.PositiveSmallIntegerField(_("weight of completeness (%)"), default=40)
    weight_accuracy = models.PositiveSmallIntegerField(_("weight of accuracy (%)"), default=30)
    reward_at = models.FloatField(_("reward at monthly score ≥"), default=95)
    penalty_below = models.FloatField(_("penalty notice below monthly score"), default=80)
    raw_event_retention_days = models.PositiveIntegerField(_("keep raw events (days)"), default=30)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("data-backflow policy")
        verbose_name_plural = _("data-backflow policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    weight_timeliness__lte=100, weight_completeness__lte=100, weight_accuracy__lte=100
                ),
                name="backflow_weights_percent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.brand}: reward ≥ {self.reward_at}, penalty < {self.penalty_below}"


class PartnerNotice(models.Model):
    """A month's verdict for a partner: a reward tier or a penalty notice, with its score."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    partner = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="backflow_notices")
    month = models.DateField(_("month"))  # the first day of the month
    kind = models.CharField(_("kind"), max_length=8, choices=NoticeKind.choices)
    score = models.FloatField(_("score"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-month"]
        verbose_name = _("partner notice")
        verbose_name_plural = _("partner notices")
        constraints = [
            models.UniqueConstraint(fields=["partner", "month"], name="partner_notice_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.month:%Y-%m} {self.kind}"


class DeviceCommand(models.Model):
    """A command for a device (e.g. dispense a sample). The device polls, then acknowledges."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "device__store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands", db_index=False)
    name = models.CharField(_("command"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=12, choices=CommandStatus.choices, default=CommandStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("device command")
        verbose_name_plural = _("device commands")
        indexes = [models.Index(fields=["device", "status", "id"], name="device_command_queue")]

    def __str__(self) -> str:
        return f"{self.name} → {self.device_id} ({self.status})"


class SampleClaim(models.Model):
    """A member's sample from a dispenser: one per member per campaign."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "device__store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="sample_claims")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", db_index=False)
    campaign = models.CharField(_("campaign"), max_length=64)
    command = models.OneToOneField(DeviceCommand, on_delete=models.SET_NULL, null=True, related_name="claim")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("sample claim")
        verbose_name_plural = _("sample claims")
        constraints = [
            models.UniqueConstraint(fields=["member", "campaign"], name="one_sample_per_member_campaign")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.campaign}"
