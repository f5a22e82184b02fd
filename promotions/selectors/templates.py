"""Reads of coupon templates: the list (HQ: the brand's; a store's staff: those valid in
their stores and being given out), one template with its figures, its claims and
redemptions per hour, and its latest coupons. Rehearsal coupons never count in figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from retail.tenancy import Principal

from ..choices import CampaignStatus, ClaimVia, CouponStatus, RedemptionSource
from ..models import CampaignStore, Coupon, CouponTemplate, Redemption

MAX_CHART_HOURS = 14 * 24
LATEST_COUPONS = 20


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _real_coupons() -> Q:
    return ~Q(claim_via=ClaimVia.REHEARSAL)


def valid_in_stores(store_ids) -> Q:
    """Templates valid in any of these stores: listed there, or (no list of their own) in a
    participating store of their campaign, or (neither) in every store of the brand."""
    through = CouponTemplate.valid_stores.through
    own = through.objects.filter(coupontemplate_id=OuterRef("pk"))
    own_here = own.filter(store_id__in=store_ids)
    campaign_stores = CampaignStore.objects.filter(campaign_id=OuterRef("campaign_id"))
    campaign_here = campaign_stores.filter(store_id__in=store_ids)
    return Q(Exists(own_here)) | (~Q(Exists(own)) & (Q(Exists(campaign_here)) | ~Q(Exists(campaign_stores))))


def templates_for(*, principal: Principal) -> QuerySet[CouponTemplate]:
    """Templates the principal may see: HQ every one of the brand; a store manager or guide
    only those valid in their stores, being given out, of a live campaign (or none), not
    expired."""
    qs = CouponTemplate.objects.for_principal(principal)
    if principal.store_ids is not None:
        qs = qs.filter(
            valid_in_stores(principal.store_ids),
            Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.PUBLISHED),
            is_active=True,
            valid_until__gt=timezone.now(),
        )
    return qs


def template_list(*, principal: Principal, campaign_id: int | None = None) -> list[CouponTemplate]:
    """The list page's rows, newest first, each with `redeemed` (real coupons redeemed).
    Two queries whatever the length (rows + tiers)."""
    redeemed = (
        Coupon.objects.filter(template_id=OuterRef("pk"), status=CouponStatus.REDEEMED)
        .filter(_real_coupons())
        .order_by()
        .values("template_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = (
        templates_for(principal=principal)
        .select_related("campaign")
        .annotate(redeemed=Coalesce(Subquery(redeemed, output_field=IntegerField()), 0))
        .order_by("-created_at", "-id")
    )
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    return list(qs[:500])


def template_detail(*, principal: Principal, template_id: int) -> CouponTemplate | None:
    """One visible template with its campaign, tiers and valid stores (None: not visible)."""
    return (
        templates_for(principal=principal)
        .select_related("campaign")
        .prefetch_related("tiers", "valid_stores")
        .filter(pk=template_id)
        .first()
    )


def template_figures(*, template: CouponTemplate) -> dict:
    """Claimed (coupons members hold or used), redeemed, the redemption rate (0..1 or None),
    the discount given in CNY, and coupons waiting in offline blocks. Rehearsals left out."""
    counts = (
        Coupon.objects.filter(template_id=template.pk)
        .filter(_real_coupons())
        .aggregate(
            claimed=Count("id", filter=Q(status__in=[CouponStatus.CLAIMED, CouponStatus.REDEEMED])),
            redeemed=Count("id", filter=Q(status=CouponStatus.REDEEMED)),
            reserved=Count("id", filter=Q(status=CouponStatus.RESERVED)),
        )
    )
    discount = Redemption.objects.filter(coupon__template_id=template.pk).exclude(
        source=RedemptionSource.REHEARSAL
    ).aggregate(total=Sum("discount"))["total"] or Decimal("0.00")
    claimed = counts["claimed"]
    return {
        "claimed": claimed,
        "redeemed": counts["redeemed"],
        "reserved": counts["reserved"],
        "rate": (counts["redeemed"] / claimed) if claimed else None,
        "discount": Decimal(discount).quantize(Decimal("0.01")),
        "taken": template.claimed,
        "total": template.total_stock,
        "remaining": template.remaining,
    }


def template_hours(*, template: CouponTemplate) -> list[dict]:
    """Claims and redemptions per local hour (Asia/Shanghai), every hour from the first claim
    to the last event (at most the last 14 days), quiet hours as zeros, oldest first:
    [{"hour": "11-11 10:00", "claims": 12, "redemptions": 3}, ...]."""
    zone = _zone()
    claims = Coupon.objects.filter(template_id=template.pk, claimed_at__isnull=False).filter(
        _real_coupons(), member__isnull=False
    )
    redemptions = Redemption.objects.filter(coupon__template_id=template.pk).exclude(
        source=RedemptionSource.REHEARSAL
    )
    span = claims.aggregate(lo=Min("claimed_at"), hi=Max("claimed_at"))
    rspan = redemptions.aggregate(lo=Min("redeemed_at"), hi=Max("redeemed_at"))
    starts = [t for t in (span["lo"], rspan["lo"]) if t]
    ends = [t for t in (span["hi"], rspan["hi"]) if t]
    if not starts:
        return []
    end = max(ends)
    start = max(min(starts), end - dt.timedelta(hours=MAX_CHART_HOURS))
    first = timezone.localtime(start, zone).replace(minute=0, second=0, microsecond=0)
    per_claim = {
        row["hour"].astimezone(dt.UTC): row["n"]
        for row in claims.filter(claimed_at__gte=first)
        .annotate(hour=TruncHour("claimed_at", tzinfo=zone))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
    }
    per_redeem = {
        row["hour"].astimezone(dt.UTC): row["n"]
        for row in redemptions.filter(redeemed_at__gte=first)
        .annotate(hour=TruncHour("redeemed_at", tzinfo=zone))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by()
    }
    rows, at = [], first
    while at <= end:
        key = at.astimezone(dt.UTC)
        local = timezone.localtime(at, zone)
        rows.append(
            {
                "hour": local.strftime("%m-%d %H:00"),
                "claims": per_claim.get(key, 0),
                "redemptions": per_redeem.get(key, 0),
            }
        )
        at = (at.astimezone(dt.UTC) + dt.timedelta(hours=1)).astimezone(zone)
    return rows


def mask_code(code: str) -> str:
    """A coupon code as staff lists show it: all but the last four hidden."""
    code = code or ""
    return "•" * max(len(code) - 4, 0) + code[-4:]


def latest_coupons(*, template: CouponTemplate, limit: int = LATEST_COUPONS) -> list[Coupon]:
    """The template's latest coupons members hold (rehearsals left out), with the member
    and the redemption's store, each with `masked_code`. One query."""
    rows = list(
        Coupon.objects.filter(template_id=template.pk, member__isnull=False)
        .filter(_real_coupons())
        .select_related("member", "claim_store", "redemption__store")
        .order_by("-id")[:limit]
    )
    for coupon in rows:
        coupon.masked_code = mask_code(coupon.code)
    return rows
