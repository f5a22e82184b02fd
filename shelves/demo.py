"""Cloud shelves in the demo seed (retail.demo signals, connected in ShelvesConfig.ready): a
seeded demo brand gets shelf settings, a daytime and a night-time catalog, one screen per
store (a device in the registry), store stock for half the catalog, and a week of scans and
impressions, a few of the seed's orders attributed to scans, so the statistics pages have something to show. A wiped
brand loses its shelves rows first."""

from __future__ import annotations

import datetime as dt
import random

from django.db import connection
from django.utils import timezone

from retail.models import Order, Product, Store
from retail.services import set_store_stock

from .models import Catalog, CatalogItem, Scan, Screen, ScreenHour, ShelfSettings
from .services import catalogs, screens
from .services.scans import scan_token

DAY_PRODUCTS = 24
NIGHT_PRODUCTS = 12
SCANS_PER_SCREEN = 60
ORDERS_PER_SCREEN = 6


def seed_brand_shelves(sender, *, brand, log=lambda _msg: None, **kwargs) -> None:
    products = list(Product.objects.filter(brand=brand, is_active=True).order_by("pk")[:DAY_PRODUCTS])
    stores = list(Store.objects.filter(brand=brand).order_by("pk"))
    if not products or not stores:
        return
    rng = random.Random(brand.pk)
    catalogs.update_shelf_settings(
        brand_id=brand.pk,
        day_starts_at=dt.time(9, 0),
        night_starts_at=dt.time(22, 0),
        buy_url_template="https://shop.example.com/item/{sku}?td={token}",
        attribution_days=7,
    )
    day = catalogs.create_catalog(
        brand_id=brand.pk,
        name="Flagship picks",
        headline="The online flagship, in store",
        items=[{"product": p, "featured": i < 4} for i, p in enumerate(products)],
    )
    night = catalogs.create_catalog(
        brand_id=brand.pk,
        name="After hours",
        headline="Scan to buy, day and night",
        items=[{"product": p, "featured": i < 2} for i, p in enumerate(products[:NIGHT_PRODUCTS])],
    )
    now = timezone.now()
    for store in stores:
        screen = screens.create_screen(
            store=store, name="Entrance screen", zone="Entrance", day_catalog=day, night_catalog=night
        )
        stocked = products[: len(products) // 2]
        set_store_stock(store=store, quantities={p: rng.randint(0, 12) for p in stocked})
        scans = [
            Scan(
                brand=brand,
                store=store,
                screen=screen,
                product=rng.choice(products),
                scanned_at=now - dt.timedelta(minutes=rng.randint(5, 7 * 24 * 60)),
            )
            for _ in range(SCANS_PER_SCREEN)
        ]
        Scan.objects.bulk_create(scans)
        hours: dict[tuple, int] = {}
        for scan in scans:
            hour = scan.scanned_at.replace(minute=0, second=0, microsecond=0)
            hours[(hour, scan.product_id)] = hours.get((hour, scan.product_id), 0) + rng.randint(20, 80)
        ScreenHour.objects.bulk_create(
            ScreenHour(brand=brand, store=store, screen=screen, product_id=pid, hour=hour, impressions=n)
            for (hour, pid), n in hours.items()
        )
        _attribute_some_orders(brand, store, screen, rng)
    log(f"{brand.name}: cloud shelves with {len(stores)} screens")


def _attribute_some_orders(brand, store, screen, rng: random.Random) -> None:
    """Turn a few of the seed's recent orders into sales through a scan a little before
    them (no new orders: the seed's counts and events stay what they were)."""
    recent = list(
        Order.objects.filter(brand=brand, store=store, shelf_scan_id__isnull=True)
        .filter(paid_at__gte=timezone.now() - dt.timedelta(days=7))
        .prefetch_related("lines")
        .order_by("-paid_at")[:ORDERS_PER_SCREEN]
    )
    for order in recent:
        line = next(iter(order.lines.all()), None)
        if line is None:
            continue
        scan = Scan.objects.create(
            brand=brand,
            store=store,
            screen=screen,
            product_id=line.product_id,
            scanned_at=order.paid_at - dt.timedelta(minutes=rng.randint(2, 90)),
        )
        record = {"status": "attributed", "source": "shelf_scan", "store": store.pk, "guide": None}
        record.update(shelf_scan=scan.pk, screen=screen.pk, product=line.product_id, message="demo")
        Order.objects.filter(pk=order.pk).update(
            shelf_scan_id=scan.pk, attribution=record, attribution_token=scan_token(scan.pk)
        )


def wipe_brand_shelves(sender, *, brand, **kwargs) -> None:
    with connection.cursor() as cursor:
        for model in (Scan, ScreenHour):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE brand_id = %s", [brand.pk])
    Screen.objects.filter(brand=brand).delete()
    CatalogItem.objects.filter(brand=brand).delete()
    Catalog.objects.filter(brand=brand).delete()
    ShelfSettings.objects.filter(brand=brand).delete()
