"""dashboard_load: the live dashboards' pages with BENCH_DASH_ORDERS orders in the brand
(default 10,000,000, spread over a year in BENCH_DASH_STORES stores, default 100), against
the bare `GET /healthz` on the same server, both logged in as HQ.

The pages read rollup rows only (retail/dashboards/selectors.py), never the ledger, so
their time should not grow with the orders. Today's rollups are written from the seeded
orders the way the event fold writes them (one minute row and one day row per store and
minute / day). The issue's goal: the dashboard loads in under 100 ms (p95 is printed); the
ratio printed is throughput against /healthz. The bench brand is kept between runs (seeding
ten million orders takes minutes); BENCH_DASH_RESEED=1 seeds it again.
"""

from __future__ import annotations

import os
import time

from .harness import ROUNDS, Bench, Comparison, LoadResult, Request, collect_static, drive, log_in, register
from .member_list import PASSWORD

ORDERS = int(os.environ.get("BENCH_DASH_ORDERS", "10000000"))
STORES = int(os.environ.get("BENCH_DASH_STORES", "100"))
CHUNK = 1_000_000
SERIAL = int(os.environ.get("BENCH_DASH_SERIAL", "200"))


def _seed(log=print):
    from django.db import connection
    from django.utils import timezone

    from retail.dashboards.rollups import COUNTERS, day_bounds
    from retail.models import Brand, Order, Store

    slug = f"bench-dash-{ORDERS}-{STORES}"
    brand = Brand.objects.filter(slug=slug).first()
    if brand is not None and (
        os.environ.get("BENCH_DASH_RESEED") == "1" or Order.objects.filter(brand=brand).count() < ORDERS
    ):
        log("  wiping the previous bench brand …")
        with connection.cursor() as cursor:
            for table in ("retail_storeminute", "retail_storeday", "retail_dashboardseq", "retail_order"):
                cursor.execute(f"DELETE FROM {table} WHERE brand_id = %s", [brand.pk])
        Store.objects.filter(brand=brand).delete()
        brand.delete()
        brand = None
    if brand is None:
        brand = Brand.objects.create(slug=slug, name=f"Bench dashboards {ORDERS:,}")
        Store.objects.bulk_create(
            [
                Store(brand=brand, code=f"D{i:04d}", name=f"Store {i}", city=f"City {i % 12}", status="live")
                for i in range(STORES)
            ]
        )
        store_ids = list(Store.objects.filter(brand=brand).order_by("pk").values_list("pk", flat=True))
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            for first in range(0, ORDERS, CHUNK):
                last = min(ORDERS, first + CHUNK) - 1
                # spread over a year, newest first; every store gets its share
                cursor.execute(
                    "INSERT INTO retail_order (brand_id, external_id, channel, status, store_id, subtotal, "
                    "discount_total, total, paid_at, attribution_token, attribution, created_at) "
                    # a multiplicative hash picks the store, so stores and minutes do not align
                    "SELECT %s, 'D' || g, 'store', 'paid', "
                    "(%s::bigint[])[1 + ((g::bigint * 2654435761) %% 4294967291) %% %s], 100 + g %% 900, 0, "
                    "100 + g %% 900, now() - make_interval(mins => (g %% 525600)::int), '', '{}', now() "
                    "FROM generate_series(%s, %s) g",
                    [brand.pk, store_ids, len(store_ids), first, last],
                )
                log(f"  {last + 1:,} orders …")
            cursor.execute("ANALYZE retail_order")
        log(f"  seeded {ORDERS:,} orders in {time.perf_counter() - t0:.0f}s")
    # today's rollups, as the fold leaves them (recomputed on every run: "today" moves)
    start, end = day_bounds(timezone.localdate())
    zeros = ", ".join("0" for c in COUNTERS if c not in ("orders", "gmv"))
    rest = ", ".join(c for c in COUNTERS if c not in ("orders", "gmv"))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM retail_storeminute WHERE brand_id = %s", [brand.pk])
        cursor.execute("DELETE FROM retail_storeday WHERE brand_id = %s", [brand.pk])
        cursor.execute(
            f"INSERT INTO retail_storeminute (brand_id, store_id, minute, orders, gmv, {rest}, last_event_id) "
            f"SELECT brand_id, store_id, date_trunc('minute', paid_at), count(*), sum(total), {zeros}, 0 "
            "FROM retail_order WHERE brand_id = %s AND paid_at >= %s AND paid_at < %s "
            "GROUP BY brand_id, store_id, date_trunc('minute', paid_at)",
            [brand.pk, start, end],
        )
        cursor.execute(
            f"INSERT INTO retail_storeday (brand_id, store_id, day, orders, gmv, {rest}, last_event_id) "
            f"SELECT brand_id, store_id, %s, sum(orders), sum(gmv), {zeros}, 0 "
            "FROM retail_storeminute WHERE brand_id = %s AND minute >= %s AND minute < %s "
            "GROUP BY brand_id, store_id",
            [timezone.localdate(), brand.pk, start, end],
        )
        cursor.execute("ANALYZE retail_storeminute")
        cursor.execute("ANALYZE retail_storeday")
    return brand


def _hq_user(brand):
    from django.contrib.auth import get_user_model

    from retail.choices import Role
    from retail.models import StaffRole

    user, _ = get_user_model().objects.get_or_create(username=f"bench-dash-hq-{brand.pk}")
    user.set_password(PASSWORD)
    user.save()
    StaffRole.objects.get_or_create(user=user, brand=brand, store=None, role=Role.HQ_ADMIN)
    return user


@register(
    "dashboard_load",
    goal=0.25,
    about="the HQ command centre and a store's dashboard with 10M orders, vs GET /healthz (logged in)",
)
def dashboard_load(bench: Bench) -> Comparison:
    from retail.models import Order, Store

    brand = _seed()
    user = _hq_user(brand)
    stores = list(Store.objects.filter(brand=brand).order_by("code").values_list("pk", flat=True))
    collect_static()
    with bench.server() as server:
        cookie = {"Cookie": log_in(server.base_url, user.get_username(), PASSWORD)}

        def healthz(n: int) -> Request:
            return Request("GET", "/healthz", headers=cookie)

        def hq_page(n: int) -> Request:
            return Request("GET", "/dashboards/hq/", headers=cookie)

        def store_page(n: int) -> Request:
            return Request("GET", f"/dashboards/store/{stores[n % len(stores)]}/", headers=cookie)

        comparison = bench.compare(
            server,
            baseline=healthz,
            measured=hq_page,
            baseline_label="GET /healthz",
            measured_label="GET /dashboards/hq/ (command centre)",
        )
        store = LoadResult("GET /dashboards/store/<id>/ (a store's today)")
        drive(server, store_page, label="warm-up", count=100, first=10**8)
        for round_no in range(ROUNDS):
            store.merge(drive(server, store_page, label=store.label, first=round_no * 1000))
        serial = {
            label: drive(server, factory, label=label, count=SERIAL, concurrency=1, seconds=60)
            for label, factory in (("/healthz", healthz), ("hq", hq_page), ("store", store_page))
        }

    def p(result: LoadResult, q: float) -> str:
        return f"{result.percentile(q) * 1000:.1f} ms"

    comparison.notes += [
        f"bench brand: {Order.objects.filter(brand=brand).count():,} orders in {len(stores)} stores",
        f"p95 under load: command centre {p(comparison.measured, 95)}, store {p(store, 95)}, "
        f"/healthz {p(comparison.baseline, 95)} (goal: loads in under 100 ms)",
        "one at a time, p95: "
        + ", ".join(f"{label} {p(result, 95)} (p50 {p(result, 50)})" for label, result in serial.items()),
    ]
    if store.errors:
        comparison.measured.statuses.update({k: v for k, v in store.statuses.items() if not 200 <= k < 300})
        comparison.measured.failures += store.failures
    return comparison
