"""Folding domain events into the dashboards' rollup rows, and checking them.

`fold_event` is an event subscriber (retail.apps). Each event it cares about becomes ONE
SQL statement: the event id goes into `FoldedEvent` (ON CONFLICT DO NOTHING), and only if
that inserted a row are the store's minute row and day row upserted (`orders = orders + 1`,
...) and the store's and the brand's dashboard sequence numbers bumped. Events are delivered at least
once and possibly out of order: the folded-ids table (not a high-water mark) makes a
redelivery count nothing. After the statement a small delta goes to the store's and the
brand's dashboard groups (`retail.dashboards.consumers`).

`recompute_day` recomputes a day's rows from the ledger (orders and lines, members, and the
outbox for cloud-shelf scans, whose hot-path rows live above the core) and reports the rows
where the folded figures differ (drift). It does not overwrite them unless asked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ..events import Event
from .models import MEMBER_SOURCE_COLUMNS, StoreMinute

logger = logging.getLogger(__name__)

COUNTERS = (
    "orders",
    "gmv",
    "items",
    "members_store",
    "members_cloud_shelf",
    "members_sample_dispenser",
    "members_other",
    "scans",
    "coupons_claimed",
    "coupons_redeemed",
    "incidents_opened",
    "incidents_resolved",
)
# members brought over from elsewhere were not recruited (bulk imports publish no events)
NOT_RECRUITED = ("import",)
# (promotions publishes the coupon and incident events; their payloads are all the fold needs)
ROLLUP_EVENTS = (
    "order.created",
    "member.joined",
    "shelf.scans_counted",
    "coupon.claimed",
    "coupon.redeemed",
    "incident.opened",
    "incident.updated",
)
# rollup events whose rows live above the core: the nightly check recomputes them from the
# outbox (DomainEvent keeps every published event), as they were published
OUTBOX_EVENTS = (
    "shelf.scans_counted",
    "coupon.claimed",
    "coupon.redeemed",
    "incident.opened",
    "incident.updated",
)
ONE_EACH = {
    "coupon.claimed": "coupons_claimed",
    "coupon.redeemed": "coupons_redeemed",
    "incident.opened": "incidents_opened",
}
DEVICE_EVENTS = ("device.online", "device.offline", "device.retired")
CAMPAIGN_EVENTS = ("campaign.published", "campaign.phase_changed")


def store_group(store_id: int) -> str:
    return f"dash.store.{store_id}"


def hq_group(brand_id: int) -> str:
    return f"dash.hq.{brand_id}"


def seq_key(store_id: int | None) -> str:
    return "hq" if store_id is None else f"s{store_id}"


def minute_of(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _when(raw: Any, fallback: datetime) -> datetime:
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str) and raw:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return fallback
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
    return fallback


def increments(event: Event) -> tuple[datetime, dict[str, Any]] | None:
    """The minute an event counts in and what it adds; None for events not rolled up."""
    payload = event.payload or {}
    if event.name == "order.created":
        when = _when(payload.get("paid_at"), event.occurred_at)
        return minute_of(when), {
            "orders": 1,
            "gmv": Decimal(str(payload.get("total") or "0")),
            "items": int(payload.get("items") or 0),
        }
    if event.name == "member.joined":
        if payload.get("source") in NOT_RECRUITED:
            return None
        # the payload has no joined_at today: the event's time is the joining time
        when = _when(payload.get("joined_at"), event.occurred_at)
        column = MEMBER_SOURCE_COLUMNS.get(payload.get("source") or "", "members_other")
        return minute_of(when), {column: 1}
    if event.name == "shelf.scans_counted":
        when = _when(payload.get("minute"), event.occurred_at)
        scans = int(payload.get("scans") or 0)
        return (minute_of(when), {"scans": scans}) if scans else None
    if event.name in ONE_EACH:
        return minute_of(event.occurred_at), {ONE_EACH[event.name]: 1}
    if event.name == "incident.updated" and payload.get("change") != "resolved":
        return minute_of(event.occurred_at), {}  # no counter moves; the feed changed
    if event.name == "incident.updated" and payload.get("change") == "resolved":
        return minute_of(event.occurred_at), {"incidents_resolved": 1}
    return None


# --- the fold ------------------------------------------------------------------------------


_FRESH = """
fresh AS (
    INSERT INTO retail_foldedevent (event_id, brand_id, folded_at) VALUES (%s, %s, now())
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id
)"""
_SEQ = """
{name} AS (
    INSERT INTO retail_dashboardseq (brand_id, key, seq) SELECT %s, %s, 1 FROM fresh
    ON CONFLICT (brand_id, key) DO UPDATE SET seq = retail_dashboardseq.seq + 1
    RETURNING seq
)"""


def _ctes(event: Event) -> tuple[str, list[Any]]:
    """fresh (the dedup insert), store_seq (if the event has a store) and hq_seq."""
    parts, params = [_FRESH], [event.id, event.brand_id]
    if event.store_id is not None:
        parts.append(_SEQ.format(name="store_seq"))
        params += [event.brand_id, seq_key(event.store_id)]
    parts.append(_SEQ.format(name="hq_seq"))
    params += [event.brand_id, seq_key(None)]
    return "WITH " + ",".join(parts), params


def _store_seq_sql(event: Event) -> str:
    return "(SELECT seq FROM store_seq)" if event.store_id is not None else "NULL::bigint"


# The embedded mode (SQLite) has no data-modifying CTEs: the same fold in a few ORM
# statements inside one transaction (SQLite serialises writers, so no race to guard).


def _portable_fresh(event: Event) -> bool:
    from .models import FoldedEvent

    _row, created = FoldedEvent.objects.get_or_create(
        event_id=event.id, defaults={"brand_id": event.brand_id, "folded_at": timezone.now()}
    )
    return created


def _portable_seqs(event: Event) -> tuple[int | None, int]:
    """Bump the store's (if any) and the brand's dashboard sequence numbers."""
    from django.db.models import F

    from .models import DashboardSeq

    def bump(key: str) -> int:
        DashboardSeq.objects.get_or_create(brand_id=event.brand_id, key=key)
        DashboardSeq.objects.filter(brand_id=event.brand_id, key=key).update(seq=F("seq") + 1)
        return DashboardSeq.objects.get(brand_id=event.brand_id, key=key).seq

    store_seq = bump(seq_key(event.store_id)) if event.store_id is not None else None
    return store_seq, bump(seq_key(None))


def _portable_rollup(
    event: Event, minute: datetime, inc: dict[str, Any], guide_id: int | None
) -> tuple | None:
    from django.db.models import F
    from django.db.models.functions import Greatest

    from .models import StoreDay

    if not _portable_fresh(event):
        return None
    changes = {name: F(name) + value for name, value in inc.items()}
    day = timezone.localtime(minute).date()
    for model, when in ((StoreMinute, {"minute": minute}), (StoreDay, {"day": day})):
        row, _created = model.objects.get_or_create(brand_id=event.brand_id, store_id=event.store_id, **when)
        model.objects.filter(pk=row.pk).update(**changes, last_event_id=Greatest("last_event_id", event.id))
    if guide_id is not None:
        from .models import GuideDay

        where = {"brand_id": event.brand_id, "store_id": event.store_id, "guide_id": guide_id, "day": day}
        GuideDay.objects.get_or_create(**where)
        GuideDay.objects.filter(**where).update(orders=F("orders") + 1, gmv=F("gmv") + inc.get("gmv", 0))
    row = StoreMinute.objects.get(brand_id=event.brand_id, store_id=event.store_id, minute=minute)
    store_seq, hq_seq = _portable_seqs(event)
    return (*[getattr(row, name) for name in COUNTERS], store_seq, hq_seq)


def _portable_device(event: Event, device_id: int) -> tuple | None:
    from .models import DeviceLiveStatus

    if not _portable_fresh(event):
        return None
    current = DeviceLiveStatus.objects.filter(device_id=device_id).first()
    retired = event.name == "device.retired"
    if (
        retired
        or current is None
        or (current.store_id is not None and current.changed_at <= event.occurred_at)
    ):
        DeviceLiveStatus.objects.update_or_create(
            device_id=device_id,
            defaults={
                "brand_id": event.brand_id,
                "store_id": None if retired else event.store_id,
                "online": event.name == "device.online",
                "changed_at": event.occurred_at,
            },
        )
    return _portable_seqs(event)


def _guide_of(event: Event) -> int | None:
    """The guide an order is attributed to (orders only)."""
    if event.name != "order.created":
        return None
    guide = (event.payload or {}).get("guide")
    return int(guide) if guide else None


def fold_rollup(event: Event) -> dict[str, Any] | None:
    """Fold one rollup event; the new minute row and sequence numbers, or None when the
    event was folded before (or adds nothing)."""
    found = increments(event)
    if found is None or event.id is None:
        return None
    minute, inc = found
    values = [inc.get(name, 0) for name in COUNTERS]
    ctes, params = _ctes(event)
    columns = ", ".join(COUNTERS)
    sets = ", ".join(f"{c} = retail_storeminute.{c} + EXCLUDED.{c}" for c in COUNTERS)
    guide_id = _guide_of(event)
    guide_cte = ""
    if guide_id is not None and connection.vendor == "postgresql":
        guide_cte = """, guide_row AS (
    INSERT INTO retail_guideday (brand_id, store_id, guide_id, day, orders, gmv)
    SELECT %s, %s, %s, %s, 1, %s FROM fresh
    ON CONFLICT (brand_id, store_id, day, guide_id) DO UPDATE SET
        orders = retail_guideday.orders + 1, gmv = retail_guideday.gmv + EXCLUDED.gmv
    RETURNING 1
)"""
    sql = f"""{ctes}{guide_cte}, day_row AS (
    INSERT INTO retail_storeday (brand_id, store_id, day, {columns}, last_event_id)
    SELECT %s, %s, %s, {", ".join(["%s"] * len(COUNTERS))}, fresh.event_id FROM fresh
    ON CONFLICT (brand_id, day, store_id) DO UPDATE SET {sets.replace("retail_storeminute", "retail_storeday")},
        last_event_id = GREATEST(retail_storeday.last_event_id, EXCLUDED.last_event_id)
    RETURNING 1
)
INSERT INTO retail_storeminute (brand_id, store_id, minute, {columns}, last_event_id)
SELECT %s, %s, %s, {", ".join(["%s"] * len(COUNTERS))}, fresh.event_id FROM fresh
ON CONFLICT (brand_id, store_id, minute) DO UPDATE SET {sets},
    last_event_id = GREATEST(retail_storeminute.last_event_id, EXCLUDED.last_event_id)
RETURNING {columns}, {_store_seq_sql(event)}, (SELECT seq FROM hq_seq)"""
    day = timezone.localtime(minute).date()
    if guide_cte:
        params += [event.brand_id, event.store_id, guide_id, day, inc.get("gmv", 0)]
    params += [event.brand_id, event.store_id, day, *values]
    params += [event.brand_id, event.store_id, minute, *values]
    with transaction.atomic():  # a failure spoils no caller's transaction
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
        else:
            row = _portable_rollup(event, minute, inc, guide_id)
    if row is None:
        return None
    totals = dict(zip(COUNTERS, row[: len(COUNTERS)], strict=True))
    return {
        "brand": event.brand_id,
        "store": event.store_id,
        "minute": minute,
        "guide": guide_id,
        "inc": {k: v for k, v in inc.items() if v},
        "row": totals,
        "store_seq": row[-2],
        "hq_seq": row[-1],
    }


def fold_device(event: Event) -> dict[str, Any] | None:
    """A device's state (online / offline) from its events; a late, older event does not
    override a newer state. `device.retired` leaves the device's row without a store (so no
    store's or brand's counts include it) and no later-delivered event of the device brings
    it back. Returns the store's device counts and sequence numbers."""
    device_id = (event.payload or {}).get("device")
    if device_id is None or event.id is None:
        return None
    retired = event.name == "device.retired"
    ctes, params = _ctes(event)
    # a retired device's row (store NULL) is final; other events apply in time order
    guard = (
        ""
        if retired
        else (
            "WHERE retail_devicelivestatus.changed_at <= EXCLUDED.changed_at "
            "AND retail_devicelivestatus.store_id IS NOT NULL"
        )
    )
    sql = f"""{ctes}, state AS (
    INSERT INTO retail_devicelivestatus (device_id, brand_id, store_id, online, changed_at)
    SELECT %s, %s, %s, %s, %s FROM fresh
    ON CONFLICT (device_id) DO UPDATE SET online = EXCLUDED.online, brand_id = EXCLUDED.brand_id,
        store_id = EXCLUDED.store_id, changed_at = EXCLUDED.changed_at
    {guard}
    RETURNING device_id
)
SELECT {_store_seq_sql(event)}, (SELECT seq FROM hq_seq) FROM fresh"""
    params += [
        int(device_id),
        event.brand_id,
        None if retired else event.store_id,
        event.name == "device.online",
        event.occurred_at,
    ]
    with transaction.atomic():  # a failure spoils no caller's transaction
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
        else:
            row = _portable_device(event, int(device_id))
    if row is None:
        return None
    from .selectors import device_counts

    return {
        "brand": event.brand_id,
        "store": event.store_id,
        "devices": device_counts(brand_id=event.brand_id, store_id=event.store_id)
        if event.store_id is not None
        else None,
        "store_seq": row[0],
        "hq_seq": row[1],
    }


def fold_campaign(event: Event) -> dict[str, Any] | None:
    """A campaign's phase and next change for HQ's countdown. Payloads (promotions):
    campaign.phase_changed {"campaign", "title", "phase", "phase_ends_at", "next_phase",
    "next_at"} (ISO times or null); campaign.published {"campaign", "title", "phases":
    [[kind, starts_at, ends_at], ...]} (not started: the first phase is next). Rare events,
    so plain ORM statements on every database."""
    from .models import CampaignLive

    payload = event.payload or {}
    if payload.get("campaign") is None or event.id is None:
        return None
    values = {
        "name": str(payload.get("title") or "")[:120],
        "phase": str(payload.get("phase") or "")[:12],
        "phase_ends_at": _when(payload.get("phase_ends_at"), None),
        "next_phase": str(payload.get("next_phase") or "")[:12],
        "next_at": _when(payload.get("next_at"), None),
        "last_event_id": event.id,
    }
    phases = payload.get("phases") or []
    if event.name == "campaign.published" and phases and len(phases[0]) == 3:
        values.update(phase="", next_phase=str(phases[0][0])[:12], next_at=_when(phases[0][1], None))
    with transaction.atomic():
        if not _portable_fresh(event):
            return None
        live, created = CampaignLive.objects.get_or_create(
            brand_id=event.brand_id, campaign_id=int(payload["campaign"]), defaults=values
        )
        if not created and live.last_event_id < event.id:
            CampaignLive.objects.filter(pk=live.pk).update(**values)
        store_seq, hq_seq = _portable_seqs(event)
    return {
        "brand": event.brand_id,
        "store": None,
        "resync": True,
        "store_seq": store_seq,
        "hq_seq": hq_seq,
    }


def fold_incident(event: Event) -> None:
    """HQ's incident feed: the incident's title, store, severity and status. Payload
    (promotions): {"incident", "title", "kind", "severity", "status"}. Keyed by the incident
    and guarded by the event id, so a redelivered or late event changes nothing."""
    from .models import IncidentLive

    payload = event.payload or {}
    if payload.get("incident") is None or event.id is None:
        return
    values = {
        "store_id": event.store_id,
        "status": str(payload.get("status") or "open")[:12],
        "last_event_id": event.id,
    }
    for key, size in (("title", 200), ("kind", 20), ("severity", 12)):
        if payload.get(key):
            values[key] = str(payload[key])[:size]
    with transaction.atomic():
        live, created = IncidentLive.objects.get_or_create(
            brand_id=event.brand_id,
            incident_id=int(payload["incident"]),
            defaults={**values, "opened_at": event.occurred_at},
        )
        if not created and live.last_event_id < event.id:
            IncidentLive.objects.filter(pk=live.pk).update(**values)


def fold_event(event: Event) -> None:
    """Event subscriber: fold, then push the delta to the dashboards (after commit)."""
    if event.name in ("incident.opened", "incident.updated"):
        fold_incident(event)  # the feed's row; the counters below as for any rollup event
    if event.name in ROLLUP_EVENTS:
        folded = fold_rollup(event)
    elif event.name in DEVICE_EVENTS:
        folded = fold_device(event)
    elif event.name in CAMPAIGN_EVENTS:
        folded = fold_campaign(event)
    else:
        return
    if folded is not None and event.name.startswith("incident."):
        folded["resync"] = True  # HQ's feed lists incidents by title: a snapshot brings it
    if folded is not None:
        transaction.on_commit(lambda: push_delta(folded))


def delta_message(folded: dict[str, Any], seq: int) -> dict[str, Any]:
    """What a dashboard receives: small, JSON-ready, one brand's figures only."""
    message: dict[str, Any] = {"seq": seq, "store": folded["store"]}
    if "minute" in folded:
        message["minute"] = folded["minute"].isoformat()
        message["inc"] = {k: str(v) if isinstance(v, Decimal) else v for k, v in folded["inc"].items()}
        if folded.get("guide"):
            message["guide"] = folded["guide"]
    if folded.get("devices") is not None:
        message["devices"] = folded["devices"]
    if folded.get("resync"):
        message["resync"] = True  # the page takes a snapshot (names and times come with it)
    return message


def push_delta(folded: dict[str, Any]) -> None:
    from ..broadcast import group_send

    messages = []
    if folded["store"] is not None and folded["store_seq"] is not None:
        delta = delta_message(folded, folded["store_seq"])
        messages.append((store_group(folded["store"]), {"type": "dashboard.delta", "delta": delta}))
    delta = delta_message(folded, folded["hq_seq"])
    messages.append((hq_group(folded["brand"]), {"type": "dashboard.delta", "delta": delta}))
    try:
        group_send(messages)
    except Exception:  # the rollup is committed; a page that misses a delta resyncs on the gap
        logger.exception("could not push a dashboard delta")


# --- the nightly check ---------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, datetime.min.time()).replace(tzinfo=tz)
    return start, start + timedelta(days=1)


def recomputed_rows(day: date) -> dict[tuple, dict[str, Any]]:
    """The day's rollup rows computed afresh from the ledger: {(brand, store, minute): {...}}."""
    from django.db.models import Count, F, Sum
    from django.db.models.functions import TruncMinute

    from members.selectors import joins_per_minute

    from ..models import DomainEvent, Order, OrderLine

    start, end = day_bounds(day)
    rows: dict[tuple, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    orders = (
        Order.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .annotate(m=TruncMinute("paid_at"))
        .values("brand_id", "store_id", "m")
        .annotate(n=Count("id"), gmv=Sum("total"))
    )
    for r in orders:
        row = rows[(r["brand_id"], r["store_id"], r["m"])]
        row["orders"], row["gmv"] = r["n"], r["gmv"]
    items = (
        OrderLine.objects.filter(order__paid_at__gte=start, order__paid_at__lt=end)
        .annotate(m=TruncMinute("order__paid_at"), store_id=F("order__store_id"))
        .values("brand_id", "store_id", "m")
        .annotate(n=Sum("quantity"))
    )
    for r in items:
        rows[(r["brand_id"], r["store_id"], r["m"])]["items"] = r["n"]
    members = joins_per_minute(start=start, end=end, exclude_sources=NOT_RECRUITED)
    for r in members:
        column = MEMBER_SOURCE_COLUMNS.get(r["source"], "members_other")
        rows[(r["brand_id"], r["store_id"], r["m"])][column] += r["n"]
    # scans, coupons, incidents: as they were published (the outbox keeps them)
    published = DomainEvent.objects.filter(
        name__in=OUTBOX_EVENTS,
        occurred_at__gte=start - timedelta(hours=1),
        occurred_at__lt=end + timedelta(hours=1),
    ).values_list("id", "brand_id", "store_id", "name", "payload", "occurred_at")
    for event_id, brand_id, store_id, name, payload, occurred_at in published:
        found = increments(Event(event_id, name, brand_id, store_id, payload, occurred_at))
        if found and start <= found[0] < end:
            for column, value in found[1].items():
                rows[(brand_id, store_id, found[0])][column] += value
    return dict(rows)


def _shown(column: str, value: Any) -> str:
    """A figure as the drift report shows it (money with two decimals on every database)."""
    if column == "gmv":
        return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))
    return str(value or 0)


def folded_rows(day: date) -> dict[tuple, dict[str, Any]]:
    start, end = day_bounds(day)
    found = StoreMinute.objects.filter(minute__gte=start, minute__lt=end).values(
        "brand_id", "store_id", "minute", *COUNTERS
    )
    return {(r["brand_id"], r["store_id"], r["minute"]): {c: r[c] for c in COUNTERS} for r in found}


def folded_day_rows(day: date) -> dict[tuple, dict[str, Any]]:
    from .models import StoreDay

    found = StoreDay.objects.filter(day=day).values("brand_id", "store_id", *COUNTERS)
    return {(r["brand_id"], r["store_id"]): {c: r[c] for c in COUNTERS} for r in found}


def _drift(folded: dict, fresh: dict) -> dict[tuple, dict[str, list[str]]]:
    out = {}
    for key in set(fresh) | set(folded):
        a = folded.get(key, dict.fromkeys(COUNTERS, 0))
        b = fresh.get(key, dict.fromkeys(COUNTERS, 0))
        fields = {
            c: [_shown(c, a[c]), _shown(c, b[c])]
            for c in COUNTERS
            if Decimal(a[c] or 0) != Decimal(b[c] or 0)
        }
        if fields:
            out[key] = fields
    return out


def guide_drift(day: date) -> list[dict[str, Any]]:
    """The leaderboard rows (a guide's orders and GMV in a store on the day) that differ
    from the orders attributed to the guide in the ledger."""
    from django.db.models import Count, Sum

    from ..models import Order
    from .models import GuideDay

    start, end = day_bounds(day)
    fresh = {
        (r["brand_id"], r["store_id"], r["guide_id"]): (r["n"], Decimal(r["gmv"] or 0))
        for r in Order.objects.filter(paid_at__gte=start, paid_at__lt=end, guide__isnull=False)
        .values("brand_id", "store_id", "guide_id")
        .annotate(n=Count("id"), gmv=Sum("total"))
        .order_by()
    }
    folded = {
        (r["brand_id"], r["store_id"], r["guide_id"]): (r["orders"], Decimal(r["gmv"] or 0))
        for r in GuideDay.objects.filter(day=day).values("brand_id", "store_id", "guide_id", "orders", "gmv")
    }
    out = []
    for key in sorted(set(fresh) | set(folded), key=lambda k: (k[0], k[1] or 0, k[2])):
        a, b = folded.get(key, (0, Decimal("0"))), fresh.get(key, (0, Decimal("0")))
        if a != b:
            fields = {}
            if a[0] != b[0]:
                fields["orders"] = [str(a[0]), str(b[0])]
            if a[1] != b[1]:
                fields["gmv"] = [_shown("gmv", a[1]), _shown("gmv", b[1])]
            out.append(
                {"brand": key[0], "store": key[1], "guide": key[2], "day": day.isoformat(), "fields": fields}
            )
    return out


def recompute_day(day: date) -> dict[str, Any]:
    """Recompute a day's rollups from the ledger and report the rows that drifted:
    {"day", "rows", "drift": [{"brand", "store", "minute" (or "day" for a day row),
    "fields": {name: [folded, recomputed]}}]}."""
    fresh, folded = recomputed_rows(day), folded_rows(day)
    minute_drift = _drift(folded, fresh)
    drift = [
        {"brand": k[0], "store": k[1], "minute": timezone.localtime(k[2]).isoformat(), "fields": f}
        for k, f in sorted(minute_drift.items(), key=lambda i: (i[0][0], i[0][1] or 0, i[0][2]))
    ]
    fresh_days: dict[tuple, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for (brand_id, store_id, _minute), row in fresh.items():
        for c in COUNTERS:
            fresh_days[(brand_id, store_id)][c] += row[c] or 0
    day_drift = _drift(folded_day_rows(day), dict(fresh_days))
    drift += [
        {"brand": k[0], "store": k[1], "day": day.isoformat(), "fields": f}
        for k, f in sorted(day_drift.items(), key=lambda i: (i[0][0], i[0][1] or 0))
    ]
    drift += guide_drift(day)
    report = {"day": day.isoformat(), "rows": len(fresh), "drift": drift}
    if drift:
        logger.warning("dashboard rollups of %s: %d rows drifted from the ledger", day, len(drift))
    else:
        logger.info("dashboard rollups of %s: %d rows, no drift", day, len(fresh))
    return report


def purge_folded_events(*, days: int = 30) -> int:
    from .models import FoldedEvent

    deleted, _ = FoldedEvent.objects.filter(folded_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
