"""Reads of share links: the principal's links with their counts, per-guide totals for
managers, one link, its clicks per day, and the content guides may share."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from retail.models import Product
from retail.tenancy import Principal

from ..models import GuideProfile, ShareClick, ShareContent, ShareLink

LIST_LIMIT = 200


def links_for(principal: Principal, *, limit: int = LIST_LIMIT) -> list[ShareLink]:
    """The principal's links, newest first (a guide: own; a manager: the stores'; HQ: the
    brand's), with product, content and guide loaded: one query."""
    return list(
        ShareLink.objects.for_principal(principal)
        .select_related("product", "content", "guide")
        .order_by("-created_at", "-id")[:limit]
    )


def totals_by_guide(principal: Principal) -> list[dict[str, Any]]:
    """Links, clicks, orders and GMV per guide over every link the principal sees."""
    rows = list(
        ShareLink.objects.for_principal(principal)
        .values("guide_id")
        .annotate(links=Count("id"), clicks=Sum("clicks"), orders=Sum("orders"), gmv=Sum("gmv"))
        .order_by("-gmv", "guide_id")
    )
    users = get_user_model().objects.filter(pk__in=[r["guide_id"] for r in rows])
    names = {u.pk: u.get_full_name() or u.get_username() for u in users}
    for row in rows:
        row["label"] = names.get(row["guide_id"], f"#{row['guide_id']}")
        row["gmv"] = row["gmv"] or Decimal("0.00")
    return rows


def link_detail(principal: Principal, link_id: int) -> ShareLink | None:
    return (
        ShareLink.objects.for_principal(principal)
        .select_related("product", "content", "guide", "brand")
        .filter(pk=link_id)
        .first()
    )


def tracking_code(*, brand_id: int, guide_id: int) -> str:
    return (
        GuideProfile.objects.filter(brand_id=brand_id, user_id=guide_id)
        .values_list("tracking_code", flat=True)
        .first()
        or ""
    )


def clicks_per_day(link: ShareLink, *, days: int = 30) -> list[dict[str, Any]]:
    """Clicks of the link per local day over the last `days` days (zeros included)."""
    today = timezone.localdate()
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=timezone.get_current_timezone())
    counted = dict(
        ShareClick.objects.filter(link_id=link.pk, clicked_at__gte=start)
        .annotate(day=TruncDate("clicked_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        {
            "day": (first + dt.timedelta(days=i)).isoformat(),
            "clicks": counted.get(first + dt.timedelta(days=i), 0),
        }
        for i in range(days)
    ]


def contents_for(principal: Principal, *, active_only: bool = False) -> QuerySet[ShareContent]:
    qs = ShareContent.objects.for_principal(principal).annotate(link_count=Count("links"))
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("-created_at", "-id")


def content_detail(principal: Principal, content_id: int) -> ShareContent | None:
    return ShareContent.objects.for_principal(principal).filter(pk=content_id).first()


def shareable_products(principal: Principal) -> QuerySet[Product]:
    return Product.objects.for_principal(principal).filter(is_active=True).order_by("name")
