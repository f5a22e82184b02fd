"""Reads of the data-backflow standard: partner scorecards, trends, device-day scores.

Every read is scoped: a staff principal sees the device days of the stores it may see (a
store manager: their stores; HQ: the brand); a partner sees only the days of devices whose
type names it as the maker. Definitions of the scores: devices/services/backflow.py.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Avg, Count, QuerySet

from retail.models import ApiClient
from retail.tenancy import Principal

from ..models import DeviceDay, PartnerNotice
from ..services.backflow import local_today, month_start, next_month, policy_for

TREND_DAYS = 30
PARTNER = "device__device_type__partner"


def last_scored_day() -> dt.date:
    """Yesterday (settings.TIME_ZONE): the newest day the nightly job has scored."""
    return local_today() - dt.timedelta(days=1)


def trend_window(end: dt.date | None = None, days: int = TREND_DAYS) -> tuple[dt.date, dt.date]:
    end = end or last_scored_day()
    return end - dt.timedelta(days=days - 1), end


def device_days(*, principal: Principal) -> QuerySet[DeviceDay]:
    """The scored device days the principal may see (a partner: of its own devices)."""
    qs = DeviceDay.objects.for_principal(principal).filter(score__isnull=False)
    if principal.kind == "partner":
        qs = qs.filter(**{PARTNER: principal.api_client_id})
    return qs


def partner_scorecards(*, principal: Principal, month: dt.date, end: dt.date | None = None) -> list[dict]:
    """One row per maker (a partner, or in-house as partner None) of the visible devices:
    month score (average device-day score of the month), devices scored, the newest day's
    score, the month's verdict if issued. Worst month score first."""
    month = month_start(month)
    end = end or last_scored_day()
    in_month = device_days(principal=principal).filter(day__gte=month, day__lt=next_month(month))
    rows = {
        r[PARTNER]: {"partner_id": r[PARTNER], "month_score": r["score"], "devices": r["devices"]}
        for r in in_month.values(PARTNER).annotate(score=Avg("score"), devices=Count("device", distinct=True))
    }
    latest = device_days(principal=principal).filter(day=end).values(PARTNER).annotate(score=Avg("score"))
    for r in latest:
        rows.setdefault(r[PARTNER], {"partner_id": r[PARTNER], "month_score": None, "devices": 0})
        rows[r[PARTNER]]["day_score"] = r["score"]
    names = dict(
        ApiClient.objects.for_principal(principal)
        .filter(pk__in=[k for k in rows if k])
        .values_list("pk", "name")
    )
    notices = {
        n.partner_id: n
        for n in PartnerNotice.objects.for_principal(principal).filter(month=month, partner_id__in=list(rows))
    }
    result = []
    for partner_id, row in rows.items():
        row.setdefault("day_score", None)
        row["name"] = names.get(partner_id, "")
        row["notice"] = notices.get(partner_id)
        result.append(row)
    result.sort(key=lambda r: (r["month_score"] is None, r["month_score"] or 0, r["name"]))
    return result


def partner_trend(*, principal: Principal, end: dt.date | None = None, days: int = TREND_DAYS) -> dict:
    """Chart data: the days of the window and, per maker, its daily score (None where it
    had no scored device) — one GROUP BY (partner, day)."""
    start, end = trend_window(end, days)
    rows = (
        device_days(principal=principal)
        .filter(day__gte=start, day__lte=end)
        .values(PARTNER, "day")
        .annotate(score=Avg("score"))
    )
    by_partner: dict[int | None, dict[dt.date, float]] = defaultdict(dict)
    for r in rows:
        by_partner[r[PARTNER]][r["day"]] = r["score"]
    names = dict(
        ApiClient.objects.for_principal(principal)
        .filter(pk__in=[k for k in by_partner if k])
        .values_list("pk", "name")
    )
    day_list = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    series = [
        {
            "partner": partner_id,
            "name": names.get(partner_id, ""),
            "data": [_round(scores.get(d)) for d in day_list],
        }
        for partner_id, scores in sorted(by_partner.items(), key=lambda kv: names.get(kv[0], ""))
    ]
    return {"days": [d.isoformat() for d in day_list], "series": series}


def device_scores(*, principal: Principal, day: dt.date, limit: int = 200) -> list[DeviceDay]:
    """The visible devices' scores on `day`, worst first (at most `limit`)."""
    return list(
        device_days(principal=principal)
        .filter(day=day)
        .select_related("device__store", "device__device_type__partner")
        .order_by("score", "device_id")[:limit]
    )


def partner_scorecard(*, principal: Principal, end: dt.date | None = None, days: int = TREND_DAYS) -> dict:
    """A partner's own scorecard (the API and the shared page): its daily score over the
    window, this month's score so far, the brand's lines, and its notices."""
    start, end = trend_window(end, days)
    own = device_days(principal=principal)
    daily = [
        {"day": r["day"], "devices": r["devices"], "score": _round(r["score"])}
        for r in own.filter(day__gte=start, day__lte=end)
        .values("day")
        .annotate(score=Avg("score"), devices=Count("device"))
        .order_by("day")
    ]
    month = month_start(end)
    month_score = own.filter(day__gte=month, day__lte=end).aggregate(score=Avg("score"))["score"]
    policy = policy_for(principal.brand_id)
    notices = list(
        PartnerNotice.objects.for_principal(principal).filter(partner_id=principal.api_client_id)[:24]
    )
    return {
        "start": start,
        "end": end,
        "daily": daily,
        "month": month,
        "month_score": _round(month_score),
        "reward_at": policy.reward_at,
        "penalty_below": policy.penalty_below,
        "notices": notices,
    }


def partner_device_days(
    *, principal: Principal, end: dt.date | None = None, days: int = TREND_DAYS
) -> QuerySet[DeviceDay]:
    """The partner's own device days of the window, with the device."""
    start, end = trend_window(end, days)
    return (
        device_days(principal=principal)
        .filter(day__gte=start, day__lte=end)
        .select_related("device")
        .order_by("id")
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def shared_partner(*, brand_id, partner_id) -> ApiClient | None:
    """The active partner (API client) a share link names, in the brand it names."""
    if not isinstance(brand_id, int) or not isinstance(partner_id, int):
        return None
    return ApiClient.objects.filter(pk=partner_id, brand_id=brand_id, is_active=True).first()
