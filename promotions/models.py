"""Campaigns (Double-11 and others): phases on a schedule, coupon templates with stock and
limits, the coupons members hold, their redemptions (online or synced from an offline
tablet), offline blocks, member-exclusive benefits, rehearsals and the incident desk.

Money is Decimal CNY; times are stored in UTC. Stock is enforced in the database: a
template's `claimed` only goes up by a conditional UPDATE (`claimed < total_stock`), a
member's count by a conditional upsert (`claimed < per_member_limit`), and a coupon has at
most one Redemption (unique), so no concurrency oversells or double-spends."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member, Segment, Tier
from retail.models import Brand, Order, Store
from retail.tenancy import TenantQuerySet

from .choices import (
    BenefitKind,
    BlockStatus,
    CampaignStatus,
    ClaimVia,
    CouponChannel,
    CouponStatus,
    DiscountKind,
    IncidentKind,
    IncidentStatus,
    OfflineOutcome,
    PhaseKind,
    RedemptionSource,
    RehearsalStatus,
    Severity,
    Stacking,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL


class Campaign(models.Model):
    """A campaign with its participating stores. Draft until published; publishing freezes
    the benefit segments and schedules the phase changes (django-celery-beat)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="campaigns", db_index=False)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    stores = models.ManyToManyField(
        Store, through="CampaignStore", related_name="campaigns", verbose_name=_("participating stores")
    )
    # the phase the campaign is in now ("" before the first phase starts); set by the beat
    current_phase = models.CharField(_("current phase"), max_length=12, choices=PhaseKind.choices, blank=True)
    # Double-11 mode for the brand's cloud shelves while the main day runs
    switches_shelves = models.BooleanField(_("switch cloud shelves into Double-11 mode"), default=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="campaign_name_unique_per_brand"),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignStore(models.Model):
    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="store_links", db_index=False
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="campaign_links")

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("participating store")
        verbose_name_plural = _("participating stores")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "store"], name="campaignstore_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.store_id}"


class CampaignPhase(models.Model):
    """One phase of a campaign. `entered_at` is set once, by a conditional UPDATE, when the
    beat (or a catch-up) moves the campaign into it, so a doubled beat changes nothing."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases", db_index=False)
    kind = models.CharField(_("phase"), max_length=12, choices=PhaseKind.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    entered_at = models.DateTimeField(_("entered at"), null=True, blank=True, editable=False)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True, editable=False)
    # the django-celery-beat entry that fires at starts_at (and one at ends_at for the last)
    periodic_task = models.ForeignKey(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["campaign_id", "starts_at"]
        verbose_name = _("campaign phase")
        verbose_name_plural = _("campaign phases")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="campaignphase_kind_once"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="phase_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.kind}"


class CouponTemplate(models.Model):
    """What a coupon is worth and who may claim and redeem it. `claimed` counts the coupons
    taken from `total_stock` (claims and offline blocks; a block's unused coupons go back)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="coupon_templates", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, null=True, blank=True, related_name="templates", db_index=False
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("discount"), max_length=12, choices=DiscountKind.choices)
    amount_off = models.DecimalField(_("amount off (CNY)"), **MONEY, null=True, blank=True)
    percent_off = models.PositiveSmallIntegerField(_("percent off"), null=True, blank=True)
    threshold = models.DecimalField(_("minimum spend (CNY)"), **MONEY, default=0)
    total_stock = models.PositiveIntegerField(_("total stock"))
    claimed = models.PositiveIntegerField(_("claimed"), default=0, editable=False)
    per_member_limit = models.PositiveSmallIntegerField(_("limit per member"), default=1)
    tiers = models.ManyToManyField(
        Tier, blank=True, related_name="+", verbose_name=_("member tiers (none: every member)")
    )
    channel = models.CharField(
        _("channel"), max_length=8, choices=CouponChannel.choices, default=CouponChannel.BOTH
    )
    valid_stores = models.ManyToManyField(
        Store, blank=True, related_name="+", verbose_name=_("valid stores (none: the campaign's stores)")
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    stacking = models.CharField(
        _("stacking"), max_length=10, choices=Stacking.choices, default=Stacking.EXCLUSIVE
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "-created_at"]
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="coupontemplate_name_unique_per_brand"),
            models.CheckConstraint(
                condition=Q(claimed__lte=models.F("total_stock")), name="template_never_oversold"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=models.F("valid_from")), name="template_window"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def remaining(self) -> int:
        return max(self.total_stock - self.claimed, 0)


class MemberClaimCount(models.Model):
    """How many coupons of a template a member holds: raised by a conditional upsert
    (`claimed < per_member_limit`), the per-member limit's guard under concurrency."""

    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    template = models.ForeignKey(CouponTemplate, on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    claimed = models.PositiveIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("member claim count")
        verbose_name_plural = _("member claim counts")
        constraints = [
            models.UniqueConstraint(fields=["template", "member"], name="memberclaimcount_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id}:{self.member_id}={self.claimed}"


class OfflineBlock(models.Model):
    """Coupons pre-allocated to a tablet that expects to lose the network: taken from the
    template's stock when issued, handed out offline, unused ones returned on sync."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="blocks")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    device_label = models.CharField(_("tablet"), max_length=80, blank=True)
    size = models.PositiveIntegerField(_("coupons"))
    handed_out = models.PositiveIntegerField(_("handed out"), default=0)
    returned = models.PositiveIntegerField(_("returned to stock"), default=0)
    status = models.CharField(
        _("status"), max_length=8, choices=BlockStatus.choices, default=BlockStatus.OPEN
    )
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("offline coupon block")
        verbose_name_plural = _("offline coupon blocks")

    def __str__(self) -> str:
        return f"block {self.pk} of {self.template_id} ({self.size})"


class Coupon(models.Model):
    """A coupon a member holds (or, `reserved`, one waiting in an offline block). `code` is
    what the QR shows and the cashier types; unique across brands, unguessable."""

    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    template = models.ForeignKey(
        CouponTemplate, on_delete=models.PROTECT, related_name="coupons", db_index=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CouponStatus.choices, default=CouponStatus.CLAIMED
    )
    claim_via = models.CharField(_("claimed through"), max_length=10, choices=ClaimVia.choices)
    # idempotency of workbench / mobile / API claims: one coupon per (brand, key)
    claim_key = models.CharField(max_length=120, blank=True, default="")
    claimed_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    claim_store = models.ForeignKey(Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    block = models.ForeignKey(
        OfflineBlock, on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "claim_key"], condition=~Q(claim_key=""), name="coupon_claim_key_once"
            ),
        ]
        indexes = [
            models.Index(fields=["template", "status"], name="coupon_template_status"),
            models.Index(fields=["block"], name="coupon_block", condition=Q(block__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.code


class Redemption(models.Model):
    """A coupon used on a purchase. One per coupon (unique): the double-spend guard."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    coupon = models.OneToOneField(Coupon, on_delete=models.PROTECT, related_name="redemption")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    staff = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(_("source"), max_length=10, choices=RedemptionSource.choices)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    order_ref = models.CharField(_("order reference"), max_length=64, blank=True)
    order_subtotal = models.DecimalField(_("order subtotal"), **MONEY)
    discount = models.DecimalField(_("discount"), **MONEY)
    redeemed_at = models.DateTimeField(_("redeemed at"))  # when it happened (offline: on the tablet)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-redeemed_at"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        indexes = [models.Index(fields=["store", "redeemed_at"], name="redemption_store_time")]

    def __str__(self) -> str:
        return f"{self.coupon_id}@{self.store_id}"


class OfflineRedemption(models.Model):
    """A redemption a tablet made without the network, as it synced: `client_id` (the
    tablet's UUID for it) makes a re-sync harmless; the outcome says whether it became the
    Redemption, a double-spend incident, or was refused (with the reason)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    client_id = models.CharField(max_length=64)
    code = models.CharField(_("code"), max_length=20)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="offline_redemptions"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    device_label = models.CharField(_("tablet"), max_length=80, blank=True)
    order_ref = models.CharField(_("order reference"), max_length=64, blank=True)
    order_subtotal = models.DecimalField(_("order subtotal"), **MONEY)
    redeemed_at = models.DateTimeField(_("redeemed at (tablet clock)"))
    synced_at = models.DateTimeField(_("synced at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=OfflineOutcome.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    redemption = models.ForeignKey(
        Redemption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    incident = models.ForeignKey(
        "Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-synced_at"]
        verbose_name = _("offline redemption")
        verbose_name_plural = _("offline redemptions")
        constraints = [
            models.UniqueConstraint(fields=["brand", "client_id"], name="offlineredemption_client_once"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.outcome})"


class CouponKey(models.Model):
    """A brand's signing key for offline coupon tokens (ECDSA P-256): the private key is
    encrypted at rest (retail.crypto); tablets get the public key to verify offline.
    Several may exist (rotation): the newest signs, all verify."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    kid = models.CharField(max_length=16, unique=True)
    private_key_encrypted = models.TextField(editable=False)
    public_jwk = models.JSONField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "-created_at"]
        verbose_name = _("coupon signing key")
        verbose_name_plural = _("coupon signing keys")

    def __str__(self) -> str:
        return self.kid


class Benefit(models.Model):
    """A member-exclusive benefit of a campaign, for some tiers or a segment (or both: a
    member qualifies by either). The segment's members are copied into BenefitMember when
    the campaign is published (frozen; audited)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="benefits", db_index=False)
    kind = models.CharField(_("kind"), max_length=14, choices=BenefitKind.choices)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    tiers = models.ManyToManyField(Tier, blank=True, related_name="+", verbose_name=_("tiers"))
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("segment")
    )
    frozen_at = models.DateTimeField(_("segment frozen at"), null=True, blank=True, editable=False)
    frozen_size = models.PositiveIntegerField(_("members when frozen"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["campaign_id", "id"]
        verbose_name = _("member benefit")
        verbose_name_plural = _("member benefits")

    def __str__(self) -> str:
        return self.name


class BenefitMember(models.Model):
    TENANT_BRAND_FIELD = "brand"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    benefit = models.ForeignKey(
        Benefit, on_delete=models.CASCADE, related_name="frozen_members", db_index=False
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("frozen benefit member")
        verbose_name_plural = _("frozen benefit members")
        constraints = [
            models.UniqueConstraint(fields=["benefit", "member"], name="benefitmember_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.benefit_id}:{self.member_id}"


class Rehearsal(models.Model):
    """A dry run (预演) of a campaign's whole flow in a set of stores, one RehearsalRun each."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="rehearsals", db_index=False
    )
    status = models.CharField(
        _("status"), max_length=8, choices=RehearsalStatus.choices, default=RehearsalStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    started_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("rehearsal")
        verbose_name_plural = _("rehearsals")

    def __str__(self) -> str:
        return f"rehearsal {self.pk} of {self.campaign_id}"


class RehearsalRun(models.Model):
    """One store's walk through the flow: `steps` is a list of
    {"step", "ok", "reason", "ms"}; `ready` is whether every step passed."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    rehearsal = models.ForeignKey(Rehearsal, on_delete=models.CASCADE, related_name="runs", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        _("status"), max_length=8, choices=RehearsalStatus.choices, default=RehearsalStatus.QUEUED
    )
    ready = models.BooleanField(_("ready"), null=True)
    steps = models.JSONField(_("steps"), default=list)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["rehearsal_id", "store_id"]
        verbose_name = _("rehearsal run")
        verbose_name_plural = _("rehearsal runs")
        constraints = [
            models.UniqueConstraint(fields=["rehearsal", "store"], name="rehearsalrun_store_once"),
        ]

    def __str__(self) -> str:
        return f"{self.rehearsal_id}:{self.store_id}"


class Incident(models.Model):
    """Something broke in a store (reported from the workbench, or found by the system, e.g.
    a coupon redeemed twice offline); HQ assigns, comments and resolves it."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="incidents")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    kind = models.CharField(_("kind"), max_length=14, choices=IncidentKind.choices)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM
    )
    status = models.CharField(
        _("status"), max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    title = models.CharField(_("title"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    # a FileField checked as an image by the form (no Pillow dependency for one field)
    photo = models.FileField(_("photo"), upload_to="incidents/%Y/%m/", blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)  # e.g. both offline records
    reported_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    assignee = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["brand", "status", "opened_at"], name="incident_desk")]

    def __str__(self) -> str:
        return self.title


class IncidentComment(models.Model):
    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comments", db_index=False)
    author = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["incident_id", "created_at"]
        verbose_name = _("incident comment")
        verbose_name_plural = _("incident comments")

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.body[:40]}"
