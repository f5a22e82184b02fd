"""Cloud-shelf statistics: impressions (ScreenHour), scans (Scan), and orders and GMV through
scans (retail.Order.shelf_scan_id → Scan), per screen, per product or per hour of a date
range, scoped by the principal (HQ and partners: every store; managers: their stores;
guides: their store). Set-based: a handful of grouped queries whatever the row count.

Decisions, written down:
- Days are the brand's local days (settings.TIME_ZONE, Asia/Shanghai): a range of dates
  from `date_from` 00:00 to `date_to` 24:00 local. The default is the last 7 days and today.
- An order counts in the hour (and so the day) of its SCAN, not of its payment: the figures
  answer "what did the scans of this period bring", so conversion (orders / scans) compares
  like with like, and a screen's day does not change when a late order arrives the day after
  except by adding to that day's scans' orders.
- Orders and GMV exclude cancelled orders (refunded ones count, as sales made).
- Conversion is None when there were no scans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DateTimeField, Exists, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from retail.choices import OrderStatus
from retail.errors import InvalidInput
from retail.models import Order, Product, Store, StoreStock
from retail.tenancy import Principal

from ..models import Scan, Screen, ScreenHour
from ..stock import stocked_rows

DEFAULT_DAYS = 7  # before today
MAX_DAYS = 92
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
GROUPS = ("screen", "product", "hour")
ZERO = Decimal("0.00")


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class StatsRange:
    """Brand-local days `date_from`..`date_to` (both included) as [start, end) instants."""

    date_from: dt.date
    date_to: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date_from, dt.time(0), tzinfo=local_zone())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(0), tzinfo=local_zone())

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def hours(self) -> list[dt.datetime]:
        """Every local hour of the range (DST-safe: stepping in UTC)."""
        out, at, end = [], self.start.astimezone(dt.UTC), self.end.astimezone(dt.UTC)
        while at < end:
            out.append(at.astimezone(local_zone()))
            at += dt.timedelta(hours=1)
        return out


def stats_range(*, date_from: dt.date | None = None, date_to: dt.date | None = None) -> StatsRange:
    """The range asked for, defaulting to the last 7 days and today; InvalidInput when the
    start is after the end or the range is longer than MAX_DAYS."""
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidInput(
                "out_of_range",
                _("Dates must lie between %(a)s and %(b)s.") % {"a": EARLIEST, "b": LATEST},
                fields={name: [_("Out of range.")]},
            )
    today = timezone.localdate(timezone=local_zone())
    date_to = date_to or today
    date_from = date_from or (date_to - dt.timedelta(days=DEFAULT_DAYS))
    if date_from > date_to:
        raise InvalidInput(
            "bad_range",
            _("The start date is after the end date."),
            fields={"date_from": [_("Must be on or before the end date.")]},
        )
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise InvalidInput(
            "range_too_long",
            _("Ask for at most %(days)d days at a time.") % {"days": MAX_DAYS},
            fields={"date_to": [_("At most %(days)d days after the start date.") % {"days": MAX_DAYS}]},
        )
    return StatsRange(date_from=date_from, date_to=date_to)


# --- the three sources, scoped and filtered alike ---------------------------------------------


def _filtered(qs: QuerySet, *, store_id: int | None, screen_id: int | None) -> QuerySet:
    if store_id:
        qs = qs.filter(store_id=store_id)
    if screen_id:
        qs = qs.filter(screen_id=screen_id)
    return qs


def _scans(principal, rng, store_id, screen_id) -> QuerySet[Scan]:
    qs = Scan.objects.for_principal(principal).filter(scanned_at__gte=rng.start, scanned_at__lt=rng.end)
    return _filtered(qs, store_id=store_id, screen_id=screen_id).order_by()


def _impressions(principal, rng, store_id, screen_id) -> QuerySet[ScreenHour]:
    qs = ScreenHour.objects.for_principal(principal).filter(hour__gte=rng.start, hour__lt=rng.end)
    return _filtered(qs, store_id=store_id, screen_id=screen_id).order_by()


def _orders(scans: QuerySet[Scan]) -> QuerySet[Order]:
    """Orders through the given scans, each annotated with its scan's screen, product and
    time (Order keeps only the scan id: the ledger knows nothing of shelves)."""
    scan = Scan.objects.filter(pk=OuterRef("shelf_scan_id"))
    return (
        Order.objects.filter(shelf_scan_id__in=scans.values("id"))
        .exclude(status=OrderStatus.CANCELLED)
        .annotate(
            scan_screen=Subquery(scan.values("screen_id")[:1], output_field=IntegerField()),
            scan_product=Subquery(scan.values("product_id")[:1], output_field=IntegerField()),
            scan_at=Subquery(scan.values("scanned_at")[:1], output_field=DateTimeField()),
        )
        .order_by()
    )


def _blank() -> dict:
    return {"impressions": 0, "scans": 0, "orders": 0, "gmv": ZERO}


def _finish(row: dict) -> dict:
    row["gmv"] = (row["gmv"] or ZERO).quantize(Decimal("0.01"))
    row["conversion"] = round(row["orders"] / row["scans"], 4) if row["scans"] else None
    return row


def _fold(rows: dict, key, field: str, value) -> None:
    rows.setdefault(key, _blank())[field] += value or 0


def _grouped(principal, rng, store_id, screen_id, *, impression_key, scan_key, order_key) -> dict:
    """{key: {impressions, scans, orders, gmv}} with the three sources grouped by the given
    expressions (a field name, or an annotation for hours)."""
    rows: dict = {}
    scans = _scans(principal, rng, store_id, screen_id)
    for key, n in _values(
        _impressions(principal, rng, store_id, screen_id), impression_key, Sum("impressions")
    ):
        _fold(rows, key, "impressions", n)
    for key, n in _values(scans, scan_key, Count("id")):
        _fold(rows, key, "scans", n)
    orders = _orders(scans)
    if isinstance(order_key, tuple):
        orders = orders.annotate(k=order_key[1])
        order_key = "k"
    for key, n, gmv in orders.values_list(order_key).annotate(n=Count("id"), gmv=Sum("total")):
        _fold(rows, key, "orders", n)
        rows[key]["gmv"] += gmv or ZERO
    return rows


def _values(qs: QuerySet, key, aggregate):
    if isinstance(key, tuple):
        qs = qs.annotate(k=key[1])
        key = "k"
    return qs.values_list(key).annotate(v=aggregate).values_list(key, "v")


def totals(rows) -> dict:
    """The sum of rows of figures, with its conversion."""
    total = _blank()
    for row in rows:
        for field in ("impressions", "scans", "orders", "gmv"):
            total[field] += row[field]
    return _finish(total)


# --- the public reads -------------------------------------------------------------------------


def screen_stats(
    *, principal: Principal, rng: StatsRange, store_id: int | None = None, screen_id: int | None = None
) -> list[dict]:
    """One row per screen the principal may see (filtered by store / screen; a retired
    screen only when it has figures in the range), by store code and name."""
    found = _grouped(
        principal, rng, store_id, screen_id,
        impression_key="screen_id", scan_key="screen_id", order_key="scan_screen",
    )  # fmt: skip
    screens = _filtered(Screen.objects.for_principal(principal), store_id=store_id, screen_id=None)
    if screen_id:
        screens = screens.filter(pk=screen_id)
    out = []
    for screen in screens.select_related("store").order_by("store__code", "name", "pk"):
        figures = found.get(screen.pk)
        if figures is None and screen.status == "retired":
            continue
        row = {
            "screen": screen.pk,
            "screen_name": screen.name,
            "zone": screen.zone,
            "status": screen.status,
            "store": screen.store_id,
            "store_name": screen.store.name,
            **(figures or _blank()),
        }
        out.append(_finish(row))
    return out


def product_stats(
    *,
    principal: Principal,
    rng: StatsRange,
    store_id: int | None = None,
    screen_id: int | None = None,
    limit: int | None = None,
) -> list[dict]:
    """One row per product with impressions, scans or orders in the range, most scanned
    first (then most shown); `limit` keeps the top rows."""
    found = _grouped(
        principal, rng, store_id, screen_id,
        impression_key="product_id", scan_key="product_id", order_key="scan_product",
    )  # fmt: skip
    ranked = sorted(
        found.items(), key=lambda kv: (-kv[1]["scans"], -kv[1]["orders"], -kv[1]["impressions"], kv[0])
    )
    if limit:
        ranked = ranked[:limit]
    names = {
        p["id"]: p
        for p in Product.objects.filter(pk__in=[k for k, _v in ranked]).values("id", "sku", "name", "price")
    }
    out = []
    for product_id, figures in ranked:
        product = names.get(product_id, {"sku": "", "name": "", "price": None})
        out.append(
            _finish(
                {
                    "product": product_id,
                    "sku": product["sku"],
                    "name": product["name"],
                    "price": product["price"],
                    **figures,
                }
            )
        )
    return out


def hour_stats(
    *, principal: Principal, rng: StatsRange, store_id: int | None = None, screen_id: int | None = None
) -> list[dict]:
    """One row per local hour of the range (quiet hours with zeros), oldest first."""
    zone = local_zone()
    found = _grouped(
        principal, rng, store_id, screen_id,
        impression_key=("hour", TruncHour("hour", tzinfo=zone)),
        scan_key=("hour", TruncHour("scanned_at", tzinfo=zone)),
        order_key=("hour", TruncHour("scan_at", tzinfo=zone)),
    )  # fmt: skip
    by_instant = {key.astimezone(dt.UTC): figures for key, figures in found.items() if key is not None}
    out = []
    for hour in rng.hours():
        figures = by_instant.get(hour.astimezone(dt.UTC)) or _blank()
        out.append(_finish({"hour": hour, **figures}))
    return out


def stats(
    *,
    principal: Principal,
    rng: StatsRange,
    group_by: str,
    store_id: int | None = None,
    screen_id: int | None = None,
) -> dict:
    """The figures grouped by screen, product or hour, with their totals (the partner API)."""
    read = {"screen": screen_stats, "product": product_stats, "hour": hour_stats}[group_by]
    rows = read(principal=principal, rng=rng, store_id=store_id, screen_id=screen_id)
    return {
        "date_from": rng.date_from,
        "date_to": rng.date_to,
        "timezone": settings.TIME_ZONE,
        "group_by": group_by,
        "totals": totals(rows),
        "results": rows,
    }


def restock_hints(
    *,
    principal: Principal,
    rng: StatsRange,
    store_id: int | None = None,
    screen_id: int | None = None,
    limit: int = 20,
) -> list[dict]:
    """Products scanned at a store's screens in the range that the store does not stock (by
    shelves.stock's rule: no row, or fewer than one), most scanned first: what shoppers ask
    for that is not there. `screen_id`: only the scans at that screen."""
    stocked = StoreStock.objects.filter(
        stocked_rows(), store_id=OuterRef("store_id"), product_id=OuterRef("product_id")
    )
    rows = list(
        _scans(principal, rng, store_id, screen_id)
        .values("store_id", "product_id")
        .annotate(scans=Count("id"))
        .filter(~Exists(stocked))
        .order_by("-scans", "store_id", "product_id")[:limit]
    )
    products = {
        p["id"]: p
        for p in Product.objects.filter(pk__in={r["product_id"] for r in rows}).values("id", "sku", "name")
    }
    stores = dict(Store.objects.filter(pk__in={r["store_id"] for r in rows}).values_list("id", "name"))
    return [
        {
            "store": r["store_id"],
            "store_name": stores.get(r["store_id"], ""),
            "product": r["product_id"],
            "sku": products.get(r["product_id"], {}).get("sku", ""),
            "name": products.get(r["product_id"], {}).get("name", ""),
            "scans": r["scans"],
        }
        for r in rows
    ]


def stats_screen(*, principal: Principal, screen_id: int) -> Screen | None:
    """One screen the principal may see, with its store (the screen statistics page)."""
    return Screen.objects.for_principal(principal).select_related("store").filter(pk=screen_id).first()


def stats_stores(*, principal: Principal) -> QuerySet[Store]:
    """The stores a principal may filter the statistics by."""
    return Store.objects.for_principal(principal).order_by("code")
