"""The guide workbench (智能导购): member assignment, call plans and tasks, interactions (calls,
messages, visits, notes) with their provider state, broadcasts, conversion attribution,
influencer share links and the livestream schedule.

A member's guide is `members.Member.guide` (the guide who recruited them, until a manager
reassigns them); every change of it is an `AssignmentChange` row. Money is Decimal CNY;
times are stored in UTC."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member, Segment, Tier
from retail.models import Brand, Order, Product, Store
from retail.tenancy import TenantQuerySet

from .choices import (
    AssignmentReason,
    AudienceKind,
    BroadcastStatus,
    CallStatus,
    InteractionKind,
    InteractionSource,
    LivestreamStatus,
    MessageChannel,
    MessageStatus,
    NextStep,
    Outcome,
    PlanStatus,
    Platform,
    SkipReason,
    TaskKind,
    TaskStatus,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL


class GuideSettings(models.Model):
    """A brand's workbench rules: the attribution window, quiet hours and the frequency cap
    enforced at send time, and which telephony / messaging provider carries the calls."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="guide_settings")
    attribution_days = models.PositiveSmallIntegerField(
        _("attribution window (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("An order within this many days after an interaction counts for the guide."),
    )
    quiet_start = models.TimeField(_("quiet hours start"), default=time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=time(9, 0))
    frequency_cap = models.PositiveSmallIntegerField(
        _("messages per member"), default=3, validators=[MinValueValidator(1)]
    )
    frequency_window_days = models.PositiveSmallIntegerField(
        _("frequency window (days)"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    telephony_provider = models.CharField(_("telephony provider"), max_length=20, default="simulated")
    messaging_provider = models.CharField(_("messaging provider"), max_length=20, default="simulated")
    caller_name = models.CharField(
        _("name shown to members"), max_length=60, blank=True, help_text=_("Empty: the brand's name.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("workbench settings")
        verbose_name_plural = _("workbench settings")

    def __str__(self) -> str:
        return str(self.brand)


class GuideProfile(models.Model):
    """A guide's workbench identity: their store, the phone the telephony bridge rings
    (encrypted like a member's), and the tracking code their share links carry."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "user"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="guide_profiles")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="guide_profiles")
    tracking_code = models.CharField(_("tracking code"), max_length=16)
    phone_encrypted = models.TextField(blank=True, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True, editable=False)
    is_influencer = models.BooleanField(_("influencer guide"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store_id", "user_id"]
        verbose_name = _("guide profile")
        verbose_name_plural = _("guide profiles")
        constraints = [
            models.UniqueConstraint(fields=["brand", "user"], name="guideprofile_user_unique"),
            models.UniqueConstraint(fields=["brand", "tracking_code"], name="guideprofile_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.tracking_code})"


class ReassignmentBatch(models.Model):
    """One bulk reassignment by a manager (a guide leaves, a store closes)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=AssignmentReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    from_guide = models.ForeignKey(
        USER, verbose_name=_("from guide"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    members_moved = models.PositiveIntegerField(_("members moved"), default=0)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reassignment")
        verbose_name_plural = _("reassignments")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()} ({self.members_moved})"


class AssignmentChange(models.Model):
    """History of a member's guide: recruited by, then each reassignment."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", null=True, db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="assignment_changes")
    from_guide = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to_guide = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=AssignmentReason.choices)
    batch = models.ForeignKey(
        ReassignmentBatch, on_delete=models.CASCADE, null=True, blank=True, related_name="changes"
    )
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("assignment change")
        verbose_name_plural = _("assignment changes")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_guide_id} → {self.to_guide_id}"


class CallPlan(models.Model):
    """A plan of calls (or messages) to a segment: it becomes tasks spread over the guides
    of each store, with due dates between `starts_on` and `due_on`."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: every store of the brand (HQ only)."),
    )
    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("task kind"), max_length=12, choices=TaskKind.choices, default=TaskKind.CALL)
    script = models.TextField(_("what to say"), blank=True)
    starts_on = models.DateField(_("starts on"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    tasks_total = models.PositiveIntegerField(_("tasks"), default=0)
    members_without_guide = models.PositiveIntegerField(_("members with no guide in the store"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("call plan")
        verbose_name_plural = _("call plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("starts_on")), name="callplan_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """Something a guide is to do for a member by a due time."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    guide = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="guide_tasks", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="guide_tasks")
    plan = models.ForeignKey(
        CallPlan, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=12, choices=TaskKind.choices, default=TaskKind.CALL)
    title = models.CharField(_("title"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=12, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    interaction = models.ForeignKey(
        "guides.Interaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            # making a plan's tasks twice (a retried job) never doubles them
            models.UniqueConstraint(
                fields=["plan", "member"], condition=Q(plan__isnull=False), name="task_once_per_plan_member"
            ),
        ]
        indexes = [
            models.Index(fields=["guide", "status", "due_at"], name="task_guide_due"),
            models.Index(fields=["store", "status", "due_at"], name="task_store_due"),
            models.Index(fields=["plan", "status"], name="task_plan_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.member_id} @ {self.due_at:%Y-%m-%d}"


class Interaction(models.Model):
    """A contact between a guide and a member: a call (with the provider's state), a message,
    a visit or a note; with the outcome and next step the guide recorded.

    `client_id` is made by the tablet (a UUID): an interaction recorded offline and synced
    twice is one row."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    guide = models.ForeignKey(
        USER, on_delete=models.CASCADE, related_name="guide_interactions", db_index=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="guide_interactions", db_index=False
    )
    task = models.ForeignKey(Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    plan = models.ForeignKey(CallPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=InteractionKind.choices)
    source = models.CharField(
        _("source"), max_length=12, choices=InteractionSource.choices, default=InteractionSource.WORKBENCH
    )
    client_id = models.UUIDField(_("client id"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("when"))
    # calls: the provider's state, driven by its status callbacks
    call_status = models.CharField(_("call status"), max_length=12, choices=CallStatus.choices, blank=True)
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=64, blank=True)
    answered = models.BooleanField(_("answered"), default=False)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), default=0)
    # what the guide recorded
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    next_step = models.CharField(_("next step"), max_length=20, choices=NextStep.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "client_id"],
                condition=Q(client_id__isnull=False),
                name="interaction_client_once",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~Q(provider_ref=""),
                name="interaction_provider_ref",
            ),
        ]
        indexes = [
            # attribution: a member's latest interaction before an order
            models.Index(fields=["member", "occurred_at"], name="interaction_member_at"),
            # the guide's month in numbers, the store's leaderboard
            models.Index(fields=["guide", "occurred_at"], name="interaction_guide_at"),
            models.Index(fields=["store", "occurred_at"], name="interaction_store_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.member_id} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class CallEvent(models.Model):
    """One status callback from a telephony provider, kept once (a repeat is harmless)."""

    id = models.BigAutoField(primary_key=True)
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="call_events")
    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=CallStatus.choices)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="callevent_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id} {self.status}"


class Broadcast(models.Model):
    """A message to a group of members (a segment, a tier, a guide's or a store's members).
    Consent, quiet hours and the frequency cap are applied at send time; the skipped are
    counted per reason."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    guide = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    audience = models.CharField(_("audience"), max_length=16, choices=AudienceKind.choices)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.TextField(_("message"))
    status = models.CharField(
        _("status"), max_length=12, choices=BroadcastStatus.choices, default=BroadcastStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    targeted = models.PositiveIntegerField(_("targeted"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    skipped_no_consent = models.PositiveIntegerField(_("skipped: no consent"), default=0)
    skipped_quiet_hours = models.PositiveIntegerField(_("skipped: quiet hours"), default=0)
    skipped_frequency = models.PositiveIntegerField(_("skipped: frequency cap"), default=0)
    delivered = models.PositiveIntegerField(_("delivered"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_channel_display()} → {self.get_audience_display()}"


class Message(models.Model):
    """One message to one member (1:1 or part of a broadcast), with its delivery state."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    guide = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="guide_messages", db_index=False
    )
    broadcast = models.ForeignKey(
        Broadcast, on_delete=models.CASCADE, null=True, blank=True, related_name="messages", db_index=False
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    body = models.TextField(_("message"))
    status = models.CharField(
        _("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    skip_reason = models.CharField(
        _("skipped because"), max_length=16, choices=SkipReason.choices, blank=True
    )
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=64, blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            # a broadcast reaches a member at most once, however often its job is retried
            models.UniqueConstraint(
                fields=["broadcast", "member"],
                condition=Q(broadcast__isnull=False),
                name="message_once_per_broadcast",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~Q(provider_ref=""),
                name="message_provider_ref",
            ),
        ]
        indexes = [
            # the frequency cap: messages sent to a member in the window
            models.Index(fields=["member", "sent_at"], name="message_member_sent"),
            models.Index(fields=["broadcast", "status"], name="message_broadcast_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.member_id} ({self.status})"


class Conversion(models.Model):
    """An order attributed to a guide's interaction: the member's latest interaction within
    the brand's window before the order. An order converts at most once (unique)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    guide = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="guide_conversion")
    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="conversions")
    plan = models.ForeignKey(CallPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    amount = models.DecimalField(_("amount"), **MONEY)
    ordered_at = models.DateTimeField(_("ordered at"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = _("conversion")
        verbose_name_plural = _("conversions")
        indexes = [
            models.Index(fields=["guide", "ordered_at"], name="conversion_guide_at"),
            models.Index(fields=["store", "ordered_at"], name="conversion_store_at"),
            models.Index(fields=["plan", "ordered_at"], name="conversion_plan_at"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} ← {self.interaction_id}"


class ShareContent(models.Model):
    """A piece of content HQ gives influencer guides to share (an article, a look, a video)."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), blank=True)
    url = models.URLField(_("link"), max_length=500)
    image_url = models.URLField(_("image URL"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("share content")
        verbose_name_plural = _("share content")

    def __str__(self) -> str:
        return self.title


class ShareLink(models.Model):
    """A guide's link to a product or a piece of content for one platform. `code` is in the
    short link (/g/<code>) and the attribution token; clicks and attributed orders are
    counted on the row (conditional UPDATEs)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    guide = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="share_links")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    content = models.ForeignKey(
        ShareContent, on_delete=models.CASCADE, null=True, blank=True, related_name="links"
    )
    platform = models.CharField(_("platform"), max_length=12, choices=Platform.choices)
    code = models.CharField(_("code"), max_length=24, unique=True)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)
    orders = models.PositiveIntegerField(_("orders"), default=0)
    gmv = models.DecimalField(_("sales"), **MONEY, default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=False) | Q(content__isnull=False), name="sharelink_has_target"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ShareClick(models.Model):
    """One click on a share link (for the per-day chart); the link keeps the running count."""

    TENANT_BRAND_FIELD = "link__brand"
    TENANT_STORE_FIELD = "link__store"
    TENANT_GUIDE_FIELD = "link__guide"

    id = models.BigAutoField(primary_key=True)
    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="click_rows")
    clicked_at = models.DateTimeField(auto_now_add=True)
    referrer_host = models.CharField(max_length=120, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-clicked_at", "-id"]
        verbose_name = _("share click")
        verbose_name_plural = _("share clicks")
        indexes = [models.Index(fields=["link", "clicked_at"], name="shareclick_link_at")]

    def __str__(self) -> str:
        return f"{self.link_id} @ {self.clicked_at:%Y-%m-%d %H:%M}"


class ShareLinkOrder(models.Model):
    """An order counted on a share link's orders and GMV. The order is unique here, which is
    what counts an order exactly once; guides keep this row instead of marking retail's
    order."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    link = models.ForeignKey(
        ShareLink, verbose_name=_("share link"), on_delete=models.CASCADE, related_name="counted_orders"
    )
    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(_("amount"), **MONEY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("share link order")
        verbose_name_plural = _("share link orders")

    def __str__(self) -> str:
        return f"{self.order_id} → {self.link_id}"


class Livestream(models.Model):
    """A livestream session hosted by a guide, with the products it shows. Members who
    signed up get a reminder before it starts (consent per channel applies)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    host = models.ForeignKey(USER, verbose_name=_("host guide"), on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    platform = models.CharField(_("platform"), max_length=12, choices=Platform.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    products = models.ManyToManyField(Product, verbose_name=_("products"), blank=True, related_name="+")
    status = models.CharField(
        _("status"), max_length=12, choices=LivestreamStatus.choices, default=LivestreamStatus.SCHEDULED
    )
    remind_minutes_before = models.PositiveSmallIntegerField(_("remind (minutes before)"), default=30)
    reminded_at = models.DateTimeField(_("reminders sent at"), null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(_("reminders sent"), default=0)
    reminders_skipped = models.PositiveIntegerField(_("reminders skipped"), default=0)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("livestream")
        verbose_name_plural = _("livestreams")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="livestream_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class LivestreamSignup(models.Model):
    """A member who opted in to a livestream's reminder."""

    TENANT_BRAND_FIELD = "livestream__brand"
    TENANT_STORE_FIELD = "livestream__store"

    livestream = models.ForeignKey(Livestream, on_delete=models.CASCADE, related_name="signups")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("remind by"), max_length=8, choices=MessageChannel.choices)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("livestream signup")
        verbose_name_plural = _("livestream signups")
        constraints = [
            models.UniqueConstraint(fields=["livestream", "member"], name="livestreamsignup_once"),
        ]

    def __str__(self) -> str:
        return f"{self.livestream_id}: {self.member_id}"
