"""Spaces of a store, their use, exclusivity rules and bookings. A booking holds one slot
of a space: `SpaceBooking (space, slot_start)` is unique among active bookings, so two
guides booking the same slot at once cannot both succeed (a database constraint)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..tenancy import TenantQuerySet

__all__ = ["Space", "SpaceBooking", "SpaceRule", "SpaceUse"]


class SpaceKind(models.TextChoices):
    FITTING_ROOM = "fitting_room", _("Fitting room")
    VIP_LOUNGE = "vip_lounge", _("VIP lounge")
    MAKEUP_COUNTER = "makeup_counter", _("Makeup counter")
    LIVESTREAM_CORNER = "livestream_corner", _("Livestream corner")
    OTHER = "other", _("Other")


class UseSource(models.TextChoices):
    STAFF = "staff", _("Checked in by staff")
    DEVICE = "device", _("Reported by a device")


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")


class Space(models.Model):
    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey("retail.Store", on_delete=models.CASCADE, related_name="spaces")
    kind = models.CharField(_("kind"), max_length=20, choices=SpaceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    location = models.CharField(_("location"), max_length=200, blank=True)  # e.g. "2F, north corner"
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)
    capacity = models.PositiveSmallIntegerField(_("capacity (people)"), default=1)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)  # empty: the store's hours
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store_id", "name"]
        verbose_name = _("store space")
        verbose_name_plural = _("store spaces")
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="space_name_unique_per_store")]

    def __str__(self) -> str:
        return self.name


class SpaceUse(models.Model):
    """A use of a space: from check-in to check-out (ended_at empty: in use now)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey("retail.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="uses", db_index=False)
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    people = models.PositiveSmallIntegerField(_("people"), default=1)
    source = models.CharField(_("source"), max_length=8, choices=UseSource.choices, default=UseSource.STAFF)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    device_id = models.BigIntegerField(_("device"), null=True, blank=True)  # plain id: devices sit above
    member = models.ForeignKey(
        "members.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("space use")
        verbose_name_plural = _("space uses")
        indexes = [models.Index(fields=["space", "started_at"], name="spaceuse_space_time")]

    def __str__(self) -> str:
        return f"{self.space_id} from {self.started_at}"


class SpaceRule(models.Model):
    """Reconstruction: the space is exclusive to members of `tier` (and above, by rank)
    from `starts_at` to `ends_at`, booked in slots of `slot_minutes` (e.g. the gold members'
    fitting room during Double-11)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey("retail.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="rules", db_index=False)
    name = models.CharField(_("name"), max_length=120)
    tier = models.ForeignKey(
        "members.Tier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tier"),
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot (minutes)"), default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["space_id", "starts_at"]
        verbose_name = _("space rule")
        verbose_name_plural = _("space rules")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="spacerule_window"),
            models.CheckConstraint(condition=Q(slot_minutes__gte=5), name="spacerule_slot_at_least_5"),
        ]

    def __str__(self) -> str:
        return self.name


class SpaceBooking(models.Model):
    """A member booked into one slot of a space (under a rule, when the space is exclusive
    then). At most one active booking per space and slot start: a database constraint."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey("retail.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="bookings", db_index=False)
    rule = models.ForeignKey(
        SpaceRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings"
    )
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="space_bookings")
    slot_start = models.DateTimeField(_("slot starts"))
    slot_end = models.DateTimeField(_("slot ends"))
    status = models.CharField(
        _("status"), max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["slot_start"]
        verbose_name = _("space booking")
        verbose_name_plural = _("space bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "slot_start"],
                condition=Q(status="booked"),
                name="spacebooking_one_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(slot_end__gt=models.F("slot_start")), name="spacebooking_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.space_id}@{self.slot_start}"
