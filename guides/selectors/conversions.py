"""Reads of conversion attribution: the funnel (interactions → reached → converted → GMV) per
guide, plan or store, and a guide's month in numbers.

Definitions (the same ones `services.conversions` attributes with):
- an interaction *reached* the member when it is an answered call, a visit, or a message
  that did not fail or get skipped (a message row of it in `failed`/`skipped` means it never
  reached them); notes never count: they are the guide's own memo;
- an interaction is *converted* when at least one order was attributed to it (Conversion);
- the funnel is a cohort of the interactions that occurred in the period, with the orders
  and sales attributed to them (whenever those orders came);
- a guide's month counts the calls made in the month and the orders attributed to the guide
  that were paid in the month (sales this month), both in the brand's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from retail.models import Store
from retail.tenancy import Principal

from ..choices import InteractionKind, MessageStatus
from ..models import CallPlan, Conversion, Interaction, Message

GROUPS = ("guide", "plan", "store")


def _message_failed() -> Exists:
    return Exists(
        Message.objects.filter(
            interaction_id=OuterRef("pk"), status__in=[MessageStatus.FAILED, MessageStatus.SKIPPED]
        )
    )


def reached_q() -> Q:
    """Interactions that reached the member (the attribution rule and the funnel's second step)."""
    return (
        Q(kind=InteractionKind.CALL, answered=True)
        | Q(kind=InteractionKind.VISIT)
        | (Q(kind=InteractionKind.MESSAGE) & ~Q(_message_failed()))
    )


def month_bounds(month: dt.date | str | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar month in the current time zone (Asia/Shanghai by default);
    `month` is a date in it, "YYYY-MM", or None for this month."""
    if month is None:
        day = timezone.localdate()
    elif isinstance(month, str):
        year, mon = month.split("-")[:2]
        day = dt.date(int(year), int(mon), 1)
    elif isinstance(month, dt.datetime):
        day = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
    else:
        day = month
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=tz),
        dt.datetime.combine(following, dt.time.min, tzinfo=tz),
    )


def guide_month(principal: Principal, guide_id: int, month: dt.date | str | None = None) -> dict[str, Any]:
    """A guide's month in numbers: calls, answered calls, answer rate (%, None without calls),
    interactions, reached, conversions and attributed sales (Decimal). Two queries; scoped: a
    guide asking for another guide gets zeros."""
    start, end = month_bounds(month)
    calls = Q(kind=InteractionKind.CALL)
    figures = (
        Interaction.objects.for_principal(principal)
        .filter(guide_id=guide_id, occurred_at__gte=start, occurred_at__lt=end)
        .aggregate(
            n_interactions=Count("id"),
            n_calls=Count("id", filter=calls),
            n_answered=Count("id", filter=calls & Q(answered=True)),
            n_reached=Count("id", filter=reached_q()),
        )
    )
    figures = {key[2:]: value for key, value in figures.items()}
    sold = (
        Conversion.objects.for_principal(principal)
        .filter(guide_id=guide_id, ordered_at__gte=start, ordered_at__lt=end)
        .aggregate(conversions=Count("id"), sales=Sum("amount"))
    )
    figures.update(sold)
    figures["sales"] = figures["sales"] or Decimal("0.00")
    figures["answer_rate"] = (
        round(100 * figures["answered"] / figures["calls"], 1) if figures["calls"] else None
    )
    figures["start"], figures["end"] = start, end
    return figures


def funnel(
    principal: Principal, *, start: dt.datetime, end: dt.datetime, group: str = "guide"
) -> list[dict[str, Any]]:
    """The funnel of the interactions in [start, end) per guide, plan or store: interactions,
    reached, converted (interactions with an attributed order), orders, GMV, with each row's
    label and rates. Two queries whatever the number of rows (the aggregate, the labels)."""
    if group not in GROUPS:
        raise ValueError(group)
    key = {"guide": "guide_id", "plan": "plan_id", "store": "store_id"}[group]
    rows = list(
        Interaction.objects.for_principal(principal)
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .values(key)
        .annotate(
            interactions=Count("id", distinct=True),
            reached=Count("id", distinct=True, filter=reached_q()),
            converted=Count("id", distinct=True, filter=Q(conversions__isnull=False)),
            orders=Count("conversions__id"),
            gmv=Sum("conversions__amount"),
        )
        .order_by(key)
    )
    labels = _labels(group, [row[key] for row in rows if row[key] is not None])
    out = []
    for row in rows:
        ident = row[key]
        out.append(
            {
                "id": ident,
                "label": labels.get(ident, _("No plan") if ident is None else f"#{ident}"),
                "interactions": row["interactions"],
                "reached": row["reached"],
                "converted": row["converted"],
                "orders": row["orders"],
                "gmv": row["gmv"] or Decimal("0.00"),
                "reach_rate": _rate(row["reached"], row["interactions"]),
                "conversion_rate": _rate(row["converted"], row["interactions"]),
            }
        )
    out.sort(key=lambda r: (-r["gmv"], -r["converted"], str(r["label"])))
    return out


def funnel_total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of funnel rows (the chart's steps and the table's footer)."""
    total: dict[str, Any] = {
        "interactions": sum(r["interactions"] for r in rows),
        "reached": sum(r["reached"] for r in rows),
        "converted": sum(r["converted"] for r in rows),
        "orders": sum(r["orders"] for r in rows),
        "gmv": sum((r["gmv"] for r in rows), Decimal("0.00")),
    }
    total["reach_rate"] = _rate(total["reached"], total["interactions"])
    total["conversion_rate"] = _rate(total["converted"], total["interactions"])
    return total


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _labels(group: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    if group == "guide":
        users = get_user_model().objects.filter(pk__in=ids).only("id", "username", "first_name", "last_name")
        return {u.pk: (u.get_full_name() or u.get_username()) for u in users}
    if group == "plan":
        return dict(CallPlan.objects.filter(pk__in=ids).values_list("id", "name"))
    return {
        pk: f"{code} {name}".strip()
        for pk, code, name in Store.objects.filter(pk__in=ids).values_list("id", "code", "name")
    }
