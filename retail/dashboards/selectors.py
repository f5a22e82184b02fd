"""Dashboard reads: everything from the rollup rows, in a constant number of queries
however many orders the brand has. A snapshot reads its figures and its sequence number in
ONE statement, so it knows exactly which deltas it already contains."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from ..choices import Role
from ..models import Store
from ..tenancy import Principal
from .models import DeviceLiveStatus
from .rollups import COUNTERS, day_bounds, seq_key

MEMBER_COLUMNS = ("members_store", "members_cloud_shelf", "members_sample_dispenser", "members_other")
SORTS = ("gmv", "orders", "members", "redemptions", "incidents")


# --- who may see what ------------------------------------------------------------------------


def dashboard_store(principal: Principal, store_id: int) -> Store | None:
    """The store whose dashboard the principal may open (HQ of its brand, its managers, a
    superuser); None otherwise (another brand's store, a guide)."""
    if not (principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)):
        return None
    return Store.objects.for_principal(principal).filter(pk=store_id).first()


def may_see_hq(principal: Principal) -> bool:
    return principal.role == Role.HQ_ADMIN and principal.brand_id is not None


# --- figures ---------------------------------------------------------------------------------


def _zero() -> dict[str, Any]:
    return {c: (Decimal("0") if c == "gmv" else 0) for c in COUNTERS}


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    for c in COUNTERS:
        into[c] += Decimal(str(row.get(c) or 0)) if c == "gmv" else int(row.get(c) or 0)


def _figures(t: dict[str, Any]) -> dict[str, Any]:
    members = {c.removeprefix("members_"): t[c] for c in MEMBER_COLUMNS}
    orders = t["orders"]
    return {
        "gmv": str(t["gmv"]),
        "orders": orders,
        "items": t["items"],
        "aov": str((t["gmv"] / orders).quantize(Decimal("0.01")) if orders else Decimal("0.00")),
        "members": {**members, "total": sum(members.values())},
        "scans": t["scans"],
        "coupons": {"claimed": t["coupons_claimed"], "redeemed": t["coupons_redeemed"]},
        "incidents": {"opened": t["incidents_opened"], "resolved": t["incidents_resolved"]},
    }


def _minute_rows(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in raw:
        row = {"minute": datetime.fromisoformat(r["minute"]).isoformat()}
        row.update({c: (str(Decimal(r[c])) if c == "gmv" else int(r[c])) for c in COUNTERS})
        rows.append(row)
    return rows


def _hours(minutes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hours = [{"hour": h, **_zero()} for h in range(24)]
    for row in minutes:
        h = timezone.localtime(datetime.fromisoformat(row["minute"])).hour
        _add(hours[h], row)
    return [
        {
            "hour": h["hour"],
            "gmv": str(h["gmv"]),
            "orders": h["orders"],
            "members": sum(h[c] for c in MEMBER_COLUMNS),
            "scans": h["scans"],
            "redeemed": h["coupons_redeemed"],
        }
        for h in hours
    ]


def _sums_sql() -> str:
    return ", ".join(f"sum({c})::text AS {c}" if c == "gmv" else f"sum({c}) AS {c}" for c in COUNTERS)


def device_counts(*, brand_id: int, store_id: int) -> dict[str, int]:
    found = DeviceLiveStatus.objects.filter(brand_id=brand_id, store_id=store_id).aggregate(
        n_online=Count("pk", filter=Q(online=True)), n_offline=Count("pk", filter=Q(online=False))
    )
    return {"online": found["n_online"], "offline": found["n_offline"]}


# --- the embedded mode (SQLite): the same rows through the ORM, in a few more queries --------


def _json_rows(queryset) -> list[dict[str, Any]]:
    """Rows as PostgreSQL's json_agg gives them: minutes as ISO text, GMV as text."""
    rows = []
    for row in queryset:
        row = dict(row)
        if "minute" in row:
            row["minute"] = row["minute"].isoformat()
        row["gmv"] = str(row["gmv"])
        rows.append(row)
    return rows


def _portable_seq(brand_id: int, key: str) -> int | None:
    from .models import DashboardSeq

    return DashboardSeq.objects.filter(brand_id=brand_id, key=key).values_list("seq", flat=True).first()


def _portable_store_minutes(store: Store, start: datetime, end: datetime) -> tuple[int | None, list]:
    from .models import StoreMinute

    seq = _portable_seq(store.brand_id, seq_key(store.pk))
    rows = StoreMinute.objects.filter(
        brand_id=store.brand_id, store_id=store.pk, minute__gte=start, minute__lt=end
    ).order_by("minute")
    return seq, _json_rows(rows.values("minute", *COUNTERS))


def _portable_hq(brand_id: int, day: date, since: datetime, until: datetime) -> tuple[int | None, list, list]:
    from django.db.models import Sum

    from .models import StoreDay, StoreMinute

    seq = _portable_seq(brand_id, seq_key(None))
    per_store = _json_rows(StoreDay.objects.filter(brand_id=brand_id, day=day).values("store_id", *COUNTERS))
    per_minute = (
        StoreMinute.objects.filter(brand_id=brand_id, minute__gte=since, minute__lt=until)
        .values("minute")
        .annotate(**{f"sum_{c}": Sum(c) for c in COUNTERS})
        .order_by("minute")
    )
    minutes = [{"minute": r["minute"], **{c: r[f"sum_{c}"] for c in COUNTERS}} for r in per_minute]
    return seq, per_store, _json_rows(minutes)


def guide_leaderboard(store: Store, *, day: date, limit: int = 10) -> list[dict[str, Any]]:
    """The store's guides by GMV on the day (orders attributed to them), one query."""
    from .models import GuideDay

    rows = (
        GuideDay.objects.filter(brand_id=store.brand_id, store_id=store.pk, day=day)
        .order_by("-gmv", "-orders", "guide_id")
        .values("guide_id", "guide__first_name", "guide__last_name", "guide__username", "orders", "gmv")[
            :limit
        ]
    )
    return [
        {
            "id": r["guide_id"],
            "name": f"{r['guide__last_name']}{r['guide__first_name']}".strip() or r["guide__username"],
            "orders": r["orders"],
            "gmv": str(r["gmv"]),
        }
        for r in rows
    ]


def store_today(store: Store, *, day: date | None = None) -> dict[str, Any]:
    """A store's day (today by default): totals, per-minute and per-hour series, devices,
    the guide leaderboard, and the sequence number of the last delta the figures contain.
    Three queries."""
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    columns = ", ".join(f"{c}::text AS {c}" if c == "gmv" else c for c in COUNTERS)
    sql = f"""SELECT
    (SELECT seq FROM retail_dashboardseq WHERE brand_id = %s AND key = %s),
    (SELECT coalesce(json_agg(t ORDER BY t.minute), '[]'::json) FROM (
        SELECT minute, {columns} FROM retail_storeminute
        WHERE brand_id = %s AND store_id = %s AND minute >= %s AND minute < %s) t)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, [store.brand_id, seq_key(store.pk), store.brand_id, store.pk, start, end])
            seq, raw = cursor.fetchone()
    else:
        seq, raw = _portable_store_minutes(store, start, end)
    raw = json.loads(raw) if isinstance(raw, str) else raw
    minutes = _minute_rows(raw)
    totals = _zero()
    for row in minutes:
        _add(totals, row)
    return {
        "kind": "store",
        "seq": seq or 0,
        "day": day.isoformat(),
        "store": {"id": store.pk, "name": store.name, "code": store.code, "city": store.city},
        "totals": _figures(totals),
        "devices": device_counts(brand_id=store.brand_id, store_id=store.pk),
        "leaderboard": guide_leaderboard(store, day=day),
        "minutes": minutes,
        "hours": _hours(minutes),
    }


def hq_snapshot(
    *, brand_id: int, day: date | None = None, sort: str = "gmv", lagging: int = 3
) -> dict[str, Any]:
    """HQ's command centre: brand totals, the per-store table (sorted by `sort`), top and
    lagging stores, cities, and the last hour by minute. Three queries: the store day rows
    (one per store, however many orders) and the last hour's minutes with the sequence
    number in one statement, the device states, the stores."""
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    now = timezone.now()
    this_minute = now.replace(second=0, microsecond=0)
    since = max(start, this_minute - timedelta(minutes=59))
    until = min(end, this_minute + timedelta(minutes=1))
    day_columns = ", ".join(f"{c}::text AS {c}" if c == "gmv" else c for c in COUNTERS)
    sql = f"""SELECT
    (SELECT seq FROM retail_dashboardseq WHERE brand_id = %s AND key = 'hq'),
    (SELECT coalesce(json_agg(t), '[]'::json) FROM (
        SELECT store_id, {day_columns} FROM retail_storeday WHERE brand_id = %s AND day = %s) t),
    (SELECT coalesce(json_agg(t ORDER BY t.minute), '[]'::json) FROM (
        SELECT minute, {_sums_sql()} FROM retail_storeminute
        WHERE brand_id = %s AND minute >= %s AND minute < %s GROUP BY minute) t),
    (SELECT coalesce(json_agg(c ORDER BY c.next_at NULLS LAST, c.id), '[]'::json) FROM (
        {_CAMPAIGNS_SQL}) c),
    (SELECT coalesce(json_agg(i ORDER BY i.opened_at DESC), '[]'::json) FROM (
        {_INCIDENTS_SQL}) i)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, [brand_id, brand_id, day, brand_id, since, until, brand_id, brand_id])
            seq, per_store, per_minute, campaigns, incidents = cursor.fetchone()
    else:
        seq, per_store, per_minute = _portable_hq(brand_id, day, since, until)
        campaigns, incidents = _portable_campaigns(brand_id), _portable_incidents(brand_id)
    per_store = json.loads(per_store) if isinstance(per_store, str) else per_store
    per_minute = json.loads(per_minute) if isinstance(per_minute, str) else per_minute
    by_store = {r["store_id"]: r for r in per_store}
    devices: dict[int, dict[str, int]] = {}
    for r in (
        DeviceLiveStatus.objects.filter(brand_id=brand_id, store__isnull=False)
        .values("store_id")
        .annotate(n_online=Count("pk", filter=Q(online=True)), n_offline=Count("pk", filter=Q(online=False)))
    ):
        devices[r["store_id"]] = {"online": r["n_online"], "offline": r["n_offline"]}
    stores = []
    brand_totals = _zero()
    for store in Store.objects.filter(brand_id=brand_id).only("id", "name", "code", "city"):
        t = _zero()
        _add(t, by_store.get(store.pk, {}))
        stores.append(
            {
                "id": store.pk,
                "name": store.name,
                "code": store.code,
                "city": store.city,
                **_figures(t),
                "devices": devices.get(store.pk, {"online": 0, "offline": 0}),
            }
        )
    for r in per_store:
        _add(brand_totals, r)
    unassigned = _zero()
    _add(unassigned, by_store.get(None, {}))
    stores = sort_stores(stores, sort)
    cities: dict[str, dict[str, Any]] = {}
    for s in stores:
        c = cities.setdefault(
            s["city"] or "", {"city": s["city"] or "", "stores": 0, "gmv": Decimal("0"), "orders": 0}
        )
        c["stores"] += 1
        c["gmv"] += Decimal(s["gmv"])
        c["orders"] += s["orders"]
    by_gmv = sort_stores(stores, "gmv")
    minutes = _minute_rows(per_minute)
    return {
        "kind": "hq",
        "seq": seq or 0,
        "day": day.isoformat(),
        "sort": sort if sort in SORTS else "gmv",
        "totals": _figures(brand_totals),
        "unassigned": _figures(unassigned),
        "devices": {
            "online": sum(d["online"] for d in devices.values()),
            "offline": sum(d["offline"] for d in devices.values()),
        },
        "stores": stores,
        "top": [s["id"] for s in by_gmv[:lagging]],
        "lagging": [s["id"] for s in by_gmv[::-1][:lagging]] if len(by_gmv) > lagging else [],
        "cities": sorted(
            ({**c, "gmv": str(c["gmv"])} for c in cities.values()), key=lambda c: -Decimal(c["gmv"])
        ),
        "minutes": minutes,
        "campaigns": [
            _campaign(c) for c in (json.loads(campaigns) if isinstance(campaigns, str) else campaigns)
        ],
        "incidents": _incident_feed(incidents, stores),
        "outages": [
            {"id": s["id"], "name": s["name"], "offline": s["devices"]["offline"]}
            for s in sorted(stores, key=lambda s: (-s["devices"]["offline"], s["code"]))
            if s["devices"]["offline"]
        ][:8],
    }


# the brand's campaigns that have not ended: phase and next change (HQ's countdown)
_CAMPAIGNS_SQL = """SELECT campaign_id AS id, name, phase, phase_ends_at, next_phase, next_at
        FROM retail_campaignlive WHERE brand_id = %s AND phase <> 'ended'
        ORDER BY next_at NULLS LAST, id LIMIT 5"""


# the brand's latest incidents not yet resolved (HQ's feed)
_INCIDENTS_SQL = """SELECT incident_id AS id, store_id, title, kind, severity, status, opened_at
        FROM retail_incidentlive WHERE brand_id = %s AND status <> 'resolved'
        ORDER BY opened_at DESC LIMIT 8"""


def _portable_incidents(brand_id: int) -> list[dict[str, Any]]:
    from .models import IncidentLive

    rows = (
        IncidentLive.objects.filter(brand_id=brand_id).exclude(status="resolved").order_by("-opened_at")[:8]
    )
    return [
        {
            "id": i.incident_id,
            "store_id": i.store_id,
            "title": i.title,
            "kind": i.kind,
            "severity": i.severity,
            "status": i.status,
            "opened_at": i.opened_at,
        }
        for i in rows
    ]


def _incident_feed(raw: Any, stores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = {s["id"]: s["name"] for s in stores}
    rows = json.loads(raw) if isinstance(raw, str) else raw
    feed = []
    for r in rows:
        opened = r["opened_at"]
        opened = datetime.fromisoformat(opened) if isinstance(opened, str) else opened
        feed.append({**r, "store": names.get(r["store_id"], ""), "opened_at": opened.isoformat()})
    return feed


def _portable_campaigns(brand_id: int) -> list[dict[str, Any]]:
    from .models import CampaignLive

    rows = CampaignLive.objects.filter(brand_id=brand_id).exclude(phase="ended").order_by("next_at", "pk")[:5]
    return [
        {
            "id": c.campaign_id,
            "name": c.name,
            "phase": c.phase,
            "phase_ends_at": c.phase_ends_at,
            "next_phase": c.next_phase,
            "next_at": c.next_at,
        }
        for c in rows
    ]


def _campaign(row: dict[str, Any]) -> dict[str, Any]:
    """Times as ISO strings with the offset, the same from either database."""

    def iso(value):
        if not value:
            return None
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return value.isoformat()

    return {**row, "phase_ends_at": iso(row.get("phase_ends_at")), "next_at": iso(row.get("next_at"))}


def sort_stores(stores: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    key = {
        "gmv": lambda s: Decimal(s["gmv"]),
        "orders": lambda s: s["orders"],
        "members": lambda s: s["members"]["total"],
        "redemptions": lambda s: s["coupons"]["redeemed"],
        "incidents": lambda s: s["incidents"]["opened"],
    }.get(sort, lambda s: Decimal(s["gmv"]))
    return sorted(stores, key=lambda s: (-key(s), s["code"]))
