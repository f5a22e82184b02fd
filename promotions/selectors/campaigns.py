"""Reads of campaigns: the principal's campaigns (HQ: the brand's; stores: those they take
part in), one campaign with phases and stores, its timeline, coupon templates and audit
trail, and the time-travel preview (what the campaign, its coupons and prices look like at
a chosen time; nothing is changed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from retail import selectors as retail_selectors
from retail.models import AuditEvent, Product, Store
from retail.tenancy import Principal

from ..choices import CampaignStatus
from ..models import Campaign, CampaignPhase, CampaignStore, CouponTemplate

EXAMPLE_PRODUCTS = 6
AUDIT_EXCERPT = 10


def campaigns_for(*, principal: Principal) -> QuerySet[Campaign]:
    """Campaigns the principal may see: HQ every campaign of the brand; store managers and
    guides those that include one of their stores."""
    qs = Campaign.objects.for_principal(principal)
    if principal.store_ids is not None:
        qs = qs.filter(
            Exists(CampaignStore.objects.filter(campaign=OuterRef("pk"), store_id__in=principal.store_ids))
        )
    return qs


def _phases() -> Prefetch:
    return Prefetch("phases", queryset=CampaignPhase.objects.order_by("starts_at"), to_attr="ordered_phases")


@dataclass
class ListedCampaign:
    campaign: Campaign
    store_count: int
    next_change: dt.datetime | None
    next_label: str


def next_change(phases: list[CampaignPhase], now: dt.datetime) -> tuple[dt.datetime | None, str]:
    """The next phase start or end after `now` and what it is ("<kind>" or "end")."""
    points: list[tuple[dt.datetime, str]] = []
    for n, phase in enumerate(phases):
        points.append((phase.starts_at, phase.kind))
        if n + 1 == len(phases) or phases[n + 1].starts_at > phase.ends_at:
            points.append((phase.ends_at, "end" if n + 1 == len(phases) else f"{phase.kind}-end"))
    upcoming = sorted(p for p in points if p[0] > now)
    return upcoming[0] if upcoming else (None, "")


def campaign_list(*, principal: Principal, now: dt.datetime | None = None) -> list[ListedCampaign]:
    """The campaign list page: every visible campaign, newest first, with its store count
    and next scheduled change (two queries)."""
    now = now or timezone.now()
    rows = (
        campaigns_for(principal=principal)
        .annotate(store_count=Count("store_links", distinct=True))
        .prefetch_related(_phases())
        .order_by("-created_at", "-pk")
    )
    listed = []
    for campaign in rows:
        when, label = (
            next_change(campaign.ordered_phases, now)
            if campaign.status != CampaignStatus.ENDED
            else (None, "")
        )
        listed.append(ListedCampaign(campaign, campaign.store_count, when, label))
    return listed


def campaign_detail(*, principal: Principal, campaign_id: int) -> Campaign | None:
    """One campaign with `ordered_phases` and `participating` (its stores by code), or
    None when the principal may not see it."""
    return (
        campaigns_for(principal=principal)
        .select_related("published_by", "created_by")
        .prefetch_related(
            _phases(),
            Prefetch("stores", queryset=Store.objects.order_by("code"), to_attr="participating"),
        )
        .filter(pk=campaign_id)
        .first()
    )


def brand_stores(*, campaign_brand_id: int) -> QuerySet[Store]:
    """The stores a campaign of the brand may include, by code."""
    return Store.objects.filter(brand_id=campaign_brand_id).order_by("code")


def campaign_templates(*, campaign: Campaign) -> list[CouponTemplate]:
    """The campaign's coupon templates by name."""
    return list(
        CouponTemplate.objects.filter(brand_id=campaign.brand_id, campaign=campaign).order_by("name", "pk")
    )


def campaign_audit(
    *, principal: Principal, campaign: Campaign, limit: int = AUDIT_EXCERPT
) -> list[AuditEvent]:
    """The latest audit entries of the campaign."""
    return list(
        AuditEvent.objects.for_principal(principal)
        .filter(object_type="promotions.campaign", object_id=str(campaign.pk))
        .select_related("actor")
        .order_by("-pk")[:limit]
    )


def phase_at(phases: list[CampaignPhase], at: dt.datetime) -> CampaignPhase | None:
    """The phase whose window contains `at` (start inclusive, end exclusive)."""
    for phase in phases:
        if phase.starts_at <= at < phase.ends_at:
            return phase
    return None


@dataclass
class TimelineBar:
    phase: CampaignPhase
    left: float  # percent of the timeline
    width: float
    state: str  # "past" | "now" | "next"


@dataclass
class Timeline:
    bars: list[TimelineBar]
    now_at: float | None  # percent; None when now is outside the campaign
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


def timeline(phases: list[CampaignPhase], now: dt.datetime) -> Timeline:
    """The phases as bars on one axis from the first start to the last end, in percent,
    with where `now` falls."""
    if not phases:
        return Timeline([], None)
    start, end = phases[0].starts_at, max(p.ends_at for p in phases)
    span = (end - start).total_seconds() or 1

    def pos(t: dt.datetime) -> float:
        return round(100 * (t - start).total_seconds() / span, 2)

    bars = []
    for phase in phases:
        state = "past" if phase.ends_at <= now else "now" if phase.starts_at <= now else "next"
        bars.append(
            TimelineBar(
                phase, pos(phase.starts_at), round(pos(phase.ends_at) - pos(phase.starts_at), 2), state
            )
        )
    now_at = pos(now) if start <= now <= end else None
    return Timeline(bars, now_at, start, end)


# --- time travel --------------------------------------------------------------------------------


@dataclass
class TemplateAt:
    template: CouponTemplate
    description: str
    claimable: bool
    claim_note: str
    valid: bool
    remaining: int


@dataclass
class PriceAt:
    product: Product
    price: Decimal
    discount: Decimal
    final: Decimal
    template: CouponTemplate | None


@dataclass
class Preview:
    at: dt.datetime
    phase: CampaignPhase | None
    state: str  # "before" | "in_phase" | "between" | "after"
    templates: list[TemplateAt] = field(default_factory=list)
    prices: list[PriceAt] = field(default_factory=list)


def _claim_note(template: CouponTemplate, at: dt.datetime) -> str:
    from django.utils.translation import gettext as _

    if not template.is_active:
        return _("not being given out")
    if at >= template.valid_until:
        return _("expired")
    if template.remaining <= 0:
        return _("sold out (now)")
    return ""


def _valid_at(template: CouponTemplate, at: dt.datetime) -> bool:
    return template.is_active and template.valid_from <= at < template.valid_until


def campaign_preview(
    *, principal: Principal, campaign: Campaign, at: dt.datetime, products: int = EXAMPLE_PRODUCTS
) -> Preview:
    """The campaign as it will be at `at` (drafts too, as if published): its phase, each
    coupon template (claimable then? valid then? stock left now, what it gives) and, for a
    few of the brand's products, the price after the best coupon valid then. Reads only."""
    from ..services import coupons

    phases = list(CampaignPhase.objects.filter(campaign=campaign).order_by("starts_at"))
    phase = phase_at(phases, at)
    if phase is not None:
        state = "in_phase"
    elif not phases or at < phases[0].starts_at:
        state = "before"
    elif at >= max(p.ends_at for p in phases):
        state = "after"
    else:
        state = "between"
    templates = campaign_templates(campaign=campaign)
    rows = []
    for template in templates:
        note = _claim_note(template, at)
        rows.append(
            TemplateAt(
                template=template,
                description=coupons.describe(template),
                claimable=not note,
                claim_note=note,
                valid=_valid_at(template, at),
                remaining=template.remaining,
            )
        )
    valid_then = [t for t in templates if _valid_at(t, at)]
    prices = []
    for product in (
        retail_selectors.products_for(principal=principal)
        .filter(brand_id=campaign.brand_id, is_active=True)
        .only("id", "sku", "name", "price", "brand")
        .order_by("-price", "sku")[:products]
    ):
        best, off = None, Decimal("0.00")
        for template in valid_then:
            discount = coupons.discount_for(template, product.price)
            if discount > off:
                best, off = template, discount
        prices.append(PriceAt(product, product.price, off, product.price - off, best))
    return Preview(at=at, phase=phase, state=state, templates=rows, prices=prices)
