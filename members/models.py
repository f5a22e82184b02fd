"""Member identity, tiers, the points ledger and consent history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retail.models import Brand, Store
from retail.tenancy import TenantQuerySet

from . import pii
from .choices import ConsentChannel, ConsentSource, MemberSource, PointsKind


class Member(models.Model):
    """A brand's member. Phone and name are encrypted; `phone_hash` is the blind index."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    # FK indexes are served by the unique (brand, ...) and composite (x, joined_at) indexes
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="members", db_index=False)
    member_no = models.CharField(_("member number"), max_length=32)
    external_id = models.CharField(_("external id"), max_length=64, null=True, blank=True)
    phone_encrypted = models.TextField(editable=False)
    phone_hash = models.CharField(max_length=64, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, editable=False)
    name_encrypted = models.TextField(blank=True, editable=False)
    name_masked = models.CharField(_("name"), max_length=40, blank=True, editable=False)
    consent_call = models.BooleanField(_("consents to calls"), default=False)
    consent_sms = models.BooleanField(_("consents to SMS"), default=False)
    consent_chat = models.BooleanField(_("consents to work-chat messages"), default=False)
    source = models.CharField(
        _("source"), max_length=20, choices=MemberSource.choices, default=MemberSource.STORE
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("recruiting store"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        db_index=False,
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recruiting guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        db_index=False,
    )
    joined_at = models.DateTimeField(_("joined at"))
    # Maintained only by the points ledger (members.services): never set these by hand.
    tier = models.ForeignKey(
        "members.Tier",
        verbose_name=_("tier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        editable=False,
    )
    points_balance = models.IntegerField(_("points balance"), default=0, editable=False)
    lifetime_points = models.IntegerField(_("lifetime points"), default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-joined_at", "-id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        permissions = [("reveal_member_phone", "Can reveal a member's full phone number")]
        constraints = [
            models.UniqueConstraint(fields=["brand", "phone_hash"], name="member_phone_unique"),
            models.CheckConstraint(condition=Q(points_balance__gte=0), name="member_points_not_negative"),
            models.UniqueConstraint(fields=["brand", "member_no"], name="member_no_unique"),
            models.UniqueConstraint(
                fields=["brand", "external_id"],
                condition=Q(external_id__isnull=False),
                name="member_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "joined_at"]),
            models.Index(fields=["guide", "joined_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.member_no} {self.phone_masked}"

    @property
    def display_name(self) -> str:
        return self.name_masked or self.member_no

    def set_phone(self, raw: str) -> None:
        phone = pii.normalize_phone(raw)
        self.phone_encrypted = pii.encrypt(phone)
        self.phone_hash = pii.blind_index(phone)
        self.phone_masked = pii.mask_phone(phone)

    def set_name(self, name: str) -> None:
        name = (name or "").strip()
        self.name_encrypted = pii.encrypt(name)
        self.name_masked = pii.mask_name(name)


class Tier(models.Model):
    """A brand's membership tier (普通 / 银卡 / 金卡 / 黑金): reached at `threshold_points`
    lifetime points; a higher `rank` is a better tier and needs a higher threshold."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="tiers", db_index=False)
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=60)
    threshold_points = models.PositiveIntegerField(_("threshold (lifetime points)"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand", "rank"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        constraints = [
            models.UniqueConstraint(fields=["brand", "code"], name="tier_code_unique"),
            models.UniqueConstraint(fields=["brand", "rank"], name="tier_rank_unique"),
            models.UniqueConstraint(fields=["brand", "threshold_points"], name="tier_threshold_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.threshold_points})"


class PointsEntry(models.Model):
    """One line of a member's append-only points ledger. `points` is signed; the member's
    balance always equals the sum of their entries, and `balance_after` records it."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "member__store"
    TENANT_GUIDE_FIELD = "member__guide"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    # indexed by (member, id) below; entries outlive nothing: a member with history is kept
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="points_entries", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PointsKind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    order = models.ForeignKey(
        "retail.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        constraints = [
            # an order earns (or spends) once, however often its event is delivered
            models.UniqueConstraint(
                fields=["member", "order", "kind"],
                condition=Q(order__isnull=False),
                name="points_once_per_order",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=PointsKind.EARN, points__gt=0)
                    | Q(kind__in=[PointsKind.SPEND, PointsKind.EXPIRE], points__lt=0)
                    | (Q(kind=PointsKind.ADJUST) & ~Q(points=0) & ~Q(reason=""))
                ),
                name="points_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="points_balance_after_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["member", "id"], name="points_member_id")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"


class ConsentRecord(models.Model):
    """One statement of a member's consent for a channel, with where it came from.
    The member's `consent_<channel>` flag holds the latest; these rows are the history."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "member__store"
    TENANT_GUIDE_FIELD = "member__guide"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="consent_records", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=10, choices=ConsentSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [models.Index(fields=["member", "id"], name="consent_member_id")]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrawn"
        return f"{self.channel} {verb} ({self.source})"
