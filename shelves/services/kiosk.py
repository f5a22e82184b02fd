"""Writes of the kiosk page: a screen's heartbeat (the device registry sees it online) and
the impressions it reports, folded into ScreenHour with one upsert statement."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from devices.services.registry import record_heartbeat

from ..models import Screen, ScreenHour
from ..selectors import kiosk as selectors

# Cards rotate every >= 2 s (a constraint on Screen), so a screen shows at most 1,800 cards an
# hour: no product can have more impressions than that in an hour's row, however the counts
# arrive (a page that was offline reports what it counted meanwhile in one beat).
MAX_IMPRESSIONS_PER_HOUR = 3600 // 2
MAX_IMPRESSIONS_PER_PRODUCT = MAX_IMPRESSIONS_PER_HOUR  # per beat
MAX_PRODUCTS_PER_BEAT = 1000


def clean_impressions(raw) -> dict[int, int]:
    """{product id: count} from the page's JSON (keys are strings there): positive integer
    counts only, each capped; anything else is dropped."""
    if not isinstance(raw, dict):
        return {}
    out: dict[int, int] = {}
    for key, value in list(raw.items())[:MAX_PRODUCTS_PER_BEAT]:
        try:
            product_id = int(key)
        except (TypeError, ValueError):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or product_id <= 0:
            continue
        out[product_id] = min(value, MAX_IMPRESSIONS_PER_PRODUCT)
    return out


def add_impressions(screen: selectors.KioskScreen, counts: dict[int, int], *, now: dt.datetime) -> int:
    """Fold impressions into the screen's row per product for the current hour, in one
    INSERT ... ON CONFLICT DO UPDATE statement. Products outside the screen's catalogs are
    ignored. Returns the number of products counted."""
    allowed = selectors.screen_product_ids(screen, counts.keys())
    rows = [(pid, counts[pid]) for pid in sorted(allowed)]
    if not rows:
        return 0
    hour = connection.ops.adapt_datetimefield_value(
        now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    )
    table = connection.ops.quote_name(ScreenHour._meta.db_table)
    # multi-row VALUES + ON CONFLICT: one statement on PostgreSQL and SQLite (embedded mode)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for product_id, count in rows:
        params += [screen.brand_id, screen.store_id, screen.id, product_id, hour, count]
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"  # SQLite's scalar MIN
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (brand_id, store_id, screen_id, product_id, hour, impressions) "
            f"VALUES {values} ON CONFLICT (screen_id, hour, product_id) DO UPDATE "
            f"SET impressions = {least}({table}.impressions + EXCLUDED.impressions, {MAX_IMPRESSIONS_PER_HOUR:d})",
            params,
        )
    return len(rows)


def record_kiosk_heartbeat(
    screen: selectors.KioskScreen, *, impressions=None, now: dt.datetime | None = None
) -> dict:
    """A beat of an open kiosk page: the screen's registry device is seen (online), the
    impressions are counted; the answer carries the payload version and slot now on, so a
    page that missed a push refetches."""
    now = now or timezone.now()
    counts = clean_impressions(impressions)
    with transaction.atomic():
        if screen.device_id:
            device = Screen.objects.select_related("device").get(pk=screen.id).device
            if device is not None:
                record_heartbeat(device=device, now=now)
        if counts:
            add_impressions(screen, counts, now=now)
    slot = selectors.slot_shown(screen, now=now)
    return {"version": selectors.payload_version(screen, slot), "slot": str(slot)}
