"""kiosk_payload: the kiosk page's payload of a screen showing a 500-product catalog
(GET /shelf/<token>/payload.json: every product with price, online and store stock, QR and
scan links) against the bare `GET /livez` view on the same server.

First (cold) requests are timed one at a time: before each, the catalog's version goes up
and a heartbeat (which reads the screen fresh) makes the server see it, so the payload is
built from the database (the screen lookup is cached; the items with their products and the
store's stock are two queries). Warm requests are then served from the cache (no query but
the cached screen lookup). The printed ratio is warm payload throughput over /livez.
BENCH_KIOSK_PRODUCTS changes the catalog size (default 500).
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from decimal import Decimal

from .harness import Bench, Comparison, Request, register

PRODUCTS = int(os.environ.get("BENCH_KIOSK_PRODUCTS", "500"))
COLD = 10


def _seed():
    from retail.models import Brand, Product, Store, StoreStock
    from shelves.models import Screen
    from shelves.services import catalogs

    run_id = secrets.token_hex(3)
    brand = Brand.objects.create(slug=f"bench-kiosk-{run_id}", name=f"Bench kiosk {run_id}")
    store = Store.objects.create(brand=brand, code=f"BK{run_id}", name="Bench flagship 旗舰店")
    products = Product.objects.bulk_create(
        Product(
            brand=brand,
            sku=f"BK-{run_id}-{i:04d}",
            name=f"天地 Silk scarf 丝巾 {i}",
            price=Decimal("1299.00") + i,
            online_stock=i % 50,
            image_url=f"https://img.example.com/bench/{i}.jpg",
        )
        for i in range(PRODUCTS)
    )
    # through the real catalog service, so the bench's catalog passes the same validation
    # (and the same MAX_ITEMS cap) as HQ's and the partner API's
    catalog = catalogs.create_catalog(
        brand_id=brand.pk,
        name="Bench catalog",
        headline="Double-11 双十一",
        items=[{"product": p, "featured": i % 25 == 0} for i, p in enumerate(products)],
    )
    StoreStock.objects.bulk_create(
        StoreStock(brand=brand, store=store, product=p, quantity=i % 9)
        for i, p in enumerate(products)
        if i % 2
    )
    screen = Screen.objects.create(
        brand=brand,
        store=store,
        name="Bench screen",
        token=secrets.token_urlsafe(32),
        scan_code=secrets.token_hex(4),
        day_catalog=catalog,
        night_catalog=catalog,
    )
    return screen, catalog


@register(
    "kiosk_payload",
    goal=0.5,
    about=f"GET /shelf/<token>/payload.json of a {PRODUCTS}-product catalog (cached) vs GET /livez; "
    "first (cold) vs warm",
)
def kiosk_payload(bench: Bench) -> Comparison:
    import httpx

    from shelves.models import Catalog

    screen, catalog = _seed()
    payload_path = f"/shelf/{screen.token}/payload.json"
    heartbeat_path = f"/shelf/{screen.token}/heartbeat/"

    with bench.server() as server:
        cold_ms, size = [], 0
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for _ in range(COLD):
                Catalog.objects.filter(pk=catalog.pk).update(version=catalog.version + 1)
                catalog.refresh_from_db()
                beat = client.post(heartbeat_path, json={"impressions": {}})
                beat.raise_for_status()
                started = time.perf_counter()
                response = client.get(payload_path)
                cold_ms.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                if response.json()["catalog"]["version"] != catalog.version:
                    raise RuntimeError("the cold request did not see the new catalog version")
                size = len(response.content)
            warm_ms = []
            for _ in range(COLD):
                started = time.perf_counter()
                client.get(payload_path).raise_for_status()
                warm_ms.append((time.perf_counter() - started) * 1000)
        items = len(response.json()["items"])
        if items != PRODUCTS:
            raise RuntimeError(f"the payload lists {items} items of {PRODUCTS}")

        def livez(n: int) -> Request:
            return Request("GET", "/livez")

        def payload(n: int) -> Request:
            return Request("GET", payload_path, headers={"Accept-Encoding": "identity"})

        comparison = bench.compare(
            server,
            baseline=livez,
            measured=payload,
            baseline_label="GET /livez (bare Django view)",
            measured_label=f"GET /shelf/<token>/payload.json ({PRODUCTS} products, warm)",
        )
    cold, warm = statistics.median(cold_ms), statistics.median(warm_ms)
    comparison.notes += [
        f"first (cold) request: median {cold:.1f} ms, max {max(cold_ms):.1f} ms over {COLD} catalog versions; "
        f"warm (serial): median {warm:.1f} ms; first/warm {cold / warm:.1f}x",
        f"payload {size / 1024:.0f} KiB for {PRODUCTS} products; warm throughput "
        f"{comparison.measured.throughput:.0f} req/s vs /livez {comparison.baseline.throughput:.0f} req/s",
    ]
    print(f"  first (cold) {cold:.1f} ms vs warm {warm:.1f} ms (serial medians)")
    return comparison
