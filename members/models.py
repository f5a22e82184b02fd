"""Member identity, tiers, the points ledger and consent history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retail.models import Brand, Store
from retail.tenancy import TenantQuerySet

from . import pii
from .choices import (
    ConsentChannel,
    ConsentSource,
    ImportFormat,
    ImportStage,
    JobStatus,
    MemberSource,
    PointsKind,
    TagSource,
)


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
    # blind index of the normalised full name (pii.name_index): exact search by name
    name_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
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
            # the member list of a store, a keyset page at a time (newest id first)
            models.Index(fields=["store", "id"], name="member_store_id"),
            models.Index(fields=["brand", "name_hash"], name="member_name_hash", condition=~Q(name_hash="")),
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
        self.name_hash = pii.name_index(name)


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


# --- computed profile (会员画像) ------------------------------------------------------------


class MemberProfile(models.Model):
    """A member's computed profile: recency / frequency / monetary and their 1–5 scores
    (quintiles within the brand, 5 is best), lifetime value, favourite categories, last store.
    Written only by the set-based computation in members.services.profiles; one row per
    member who has bought (a member without orders has no row)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "member__store"
    TENANT_GUIDE_FIELD = "member__guide"

    # No database FK constraints: the rows are derived from existing members, brands and stores
    # by one set-based statement, and checking a million inserted rows (each a FOR KEY SHARE
    # lookup at COMMIT) costs more than computing them. Deletes still cascade / set null
    # through the ORM; a run deletes rows of members who have gone.
    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, primary_key=True, related_name="profile", db_constraint=False
    )
    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    first_order_at = models.DateTimeField(_("first order"), null=True)
    last_order_at = models.DateTimeField(_("last order"), null=True)
    last_store = models.ForeignKey(
        Store,
        verbose_name=_("last store"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    recency_days = models.IntegerField(_("days since last purchase"), null=True)
    frequency = models.IntegerField(_("orders"), default=0)
    monetary = models.DecimalField(_("total spend (CNY)"), max_digits=14, decimal_places=2, default=0)
    lifetime_value = models.DecimalField(
        _("lifetime value (CNY)"), max_digits=14, decimal_places=2, default=0
    )
    r_score = models.PositiveSmallIntegerField(_("recency score"), default=0)
    f_score = models.PositiveSmallIntegerField(_("frequency score"), default=0)
    m_score = models.PositiveSmallIntegerField(_("monetary score"), default=0)
    favourite_categories = models.JSONField(_("favourite categories"), default=list, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("member profile")
        verbose_name_plural = _("member profiles")
        indexes = [models.Index(fields=["brand", "r_score", "f_score", "m_score"], name="profile_rfm")]

    def __str__(self) -> str:
        return f"R{self.r_score} F{self.f_score} M{self.m_score}"


class ProfileRun(models.Model):
    """One computation of a brand's profiles (a Celery job with progress)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    profiles = models.IntegerField(_("profiles"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("profile run")
        verbose_name_plural = _("profile runs")
        indexes = [models.Index(fields=["brand", "id"], name="profilerun_brand_id")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.progress}%"


# --- tags and segments ------------------------------------------------------------------------


class Tag(models.Model):
    """A brand's member tag. A rule tag (`rule` set) is applied to the members matching the
    rule (same rule language as segments) each time it is refreshed; hand tags are set by
    staff, imports or the API."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="member_tags", db_index=False)
    name = models.CharField(_("name"), max_length=40)
    rule = models.JSONField(_("rule"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="tag_name_unique")]

    def __str__(self) -> str:
        return self.name


class MemberTag(models.Model):
    """A tag on a member, with how it got there."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "member__store"
    TENANT_GUIDE_FIELD = "member__guide"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="member_tags", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="member_tags", db_index=False)
    source = models.CharField(_("source"), max_length=10, choices=TagSource.choices, default=TagSource.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("member tag")
        verbose_name_plural = _("member tags")
        constraints = [models.UniqueConstraint(fields=["member", "tag"], name="member_tag_unique")]
        indexes = [models.Index(fields=["tag", "member"], name="membertag_tag_member")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.tag_id}"


class Segment(models.Model):
    """A saved audience: rules over tier, tags, RFM scores, recency, spend, store, guide and
    consent. `channel` (call / sms / chat) limits it to members who consent on that channel.
    Materialising writes its members to SegmentMember (a Celery job with progress)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="segments", db_index=False)
    name = models.CharField(_("name"), max_length=80)
    rules = models.JSONField(_("rules"), default=dict)
    channel = models.CharField(
        _("for channel"), max_length=8, choices=ConsentChannel.choices, blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    size = models.IntegerField(_("members"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    materialised_at = models.DateTimeField(_("materialised at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="segment_name_unique")]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A member of a materialised segment."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "member__store"
    TENANT_GUIDE_FIELD = "member__guide"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="entries", db_index=False)
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="segment_entries", db_index=False
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(fields=["segment", "member"], name="segment_member_unique"),
        ]
        indexes = [models.Index(fields=["member"], name="segmentmember_member")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.member_id}"


# --- imports ----------------------------------------------------------------------------------


def import_upload_path(instance: MemberImport, filename: str) -> str:
    return f"member-imports/{instance.brand_id}/{instance.sha256}.{instance.file_format}"


class MemberImport(models.Model):
    """An uploaded CSV / XLSX of members: checked in a dry run (per-row errors), then imported
    in batches. `rows_done` is the resume point: a restarted import skips what it committed.
    A file already imported into the brand (same sha256) is refused, so nothing comes twice."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    store = models.ForeignKey(
        Store,
        verbose_name=_("recruiting store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    file = models.FileField(_("file"), upload_to=import_upload_path)
    original_name = models.CharField(_("file name"), max_length=200)
    file_format = models.CharField(_("format"), max_length=4, choices=ImportFormat.choices)
    sha256 = models.CharField(max_length=64)
    stage = models.CharField(
        _("stage"), max_length=10, choices=ImportStage.choices, default=ImportStage.UPLOADED
    )
    rows_total = models.IntegerField(_("rows"), default=0)
    rows_checked = models.IntegerField(_("rows checked"), default=0)
    rows_done = models.IntegerField(_("rows imported"), default=0)
    rows_invalid = models.IntegerField(_("rows with errors"), default=0)
    created_count = models.IntegerField(_("new members"), default=0)
    merged_count = models.IntegerField(_("merged into existing members"), default=0)
    error = models.TextField(_("error"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        indexes = [models.Index(fields=["brand", "sha256"], name="memberimport_brand_sha")]

    def __str__(self) -> str:
        return self.original_name


class MemberImportError(models.Model):
    """One invalid row of an import: its number in the file and what is wrong, per column.
    Holds no clear PII (a phone appears masked)."""

    TENANT_BRAND_FIELD = "member_import__brand"
    TENANT_STORE_FIELD = "member_import__store"

    member_import = models.ForeignKey(MemberImport, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.IntegerField(_("row"))
    errors = models.JSONField(_("errors"), default=dict)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["row_number"]
        verbose_name = _("import row error")
        verbose_name_plural = _("import row errors")
        constraints = [
            models.UniqueConstraint(fields=["member_import", "row_number"], name="import_error_row_unique"),
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}"
