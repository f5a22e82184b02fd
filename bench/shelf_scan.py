"""shelf_scan: the shopper's scan page `GET /s/<code>` (the Double-11 evening hot path:
screen and product from the cache, one INSERT of the scan, a small mobile page) against the
bare Django view `GET /livez` on the same server (it returns "ok" and asks nothing).

Codes vary over SCREENS screens in STORES stores and PRODUCTS products, a quarter of the
shoppers carrying a member cookie. Afterwards the scans stored must equal the scan requests
answered 200 (warm-up included): no lost scans, or the benchmark is broken (it raises).
"""

from __future__ import annotations

import random
import secrets

from .harness import REQUESTS, ROUNDS, WARMUP, Bench, Comparison, LoadResult, Request, drive, register

STORES = 5
SCREENS = 20  # four per store
PRODUCTS = 200


@register(
    "shelf_scan",
    goal=0.6,
    about="GET /s/<code> (cached screen + product, one INSERT, mobile page) vs GET /livez",
)
def shelf_scan(bench: Bench) -> Comparison:
    from decimal import Decimal

    from django.conf import settings
    from django.db import transaction

    from members.models import Member
    from retail.models import Brand, Product, Store, StoreStock
    from shelves.models import Catalog, CatalogItem, Scan, Screen, ScreenHour, ShelfSettings
    from shelves.services import scans as services

    run_id = secrets.token_hex(3)
    with transaction.atomic():
        brand = Brand.objects.create(name=f"Bench shelves {run_id}", slug=f"bench-shelves-{run_id}")
        ShelfSettings.objects.create(
            brand=brand, buy_url_template="https://shop.example.com/item/{sku}?td={token}"
        )
        stores = [
            Store.objects.create(brand=brand, code=f"BS{run_id}{i}", name=f"Bench store {i}")
            for i in range(STORES)
        ]
        products = Product.objects.bulk_create(
            Product(
                brand=brand,
                sku=f"BSH-{run_id}-{i:04d}",
                name=f"Bench product {i}",
                price=Decimal("99.00") + i,
                online_stock=100 + i,
            )
            for i in range(PRODUCTS)
        )
        catalog = Catalog.objects.create(brand=brand, name="Bench catalog")
        CatalogItem.objects.bulk_create(
            CatalogItem(brand=brand, catalog=catalog, product=p, position=i) for i, p in enumerate(products)
        )
        screens = [
            Screen.objects.create(
                brand=brand,
                store=stores[i % STORES],
                name=f"Screen {i}",
                token=secrets.token_urlsafe(32),
                scan_code=f"b{run_id}{i:03d}",
                day_catalog=catalog,
            )
            for i in range(SCREENS)
        ]
        StoreStock.objects.bulk_create(
            StoreStock(brand=brand, store=store, product=p, quantity=3)
            for store in stores
            for p in products[::3]
        )
        members = []
        for i in range(50):
            member = Member(brand=brand, member_no=f"BSH{run_id}{i:05d}", joined_at=brand.created_at)
            member.set_phone(f"136{i:08d}")
            members.append(member)
        members = Member.objects.bulk_create(members)
    codes = [services.scan_code(s.scan_code, p.pk) for s in screens for p in products]

    # The server signs with its own SECRET_KEY: give it ours so our member cookies verify.
    secret = settings.SECRET_KEY
    cookies = [_member_cookie(services, brand_id=brand.pk, member_id=m.pk) for m in members]

    def health(n: int) -> Request:
        return Request("GET", "/livez")

    def scan(n: int) -> Request:
        rnd = random.Random(n)
        headers = {"Accept-Language": rnd.choice(("zh-CN,zh;q=0.9", "en-US,en;q=0.8"))}
        if n % 4 == 0:
            headers["Cookie"] = cookies[n % len(cookies)]
        return Request("GET", f"/s/{rnd.choice(codes)}", headers=headers)

    try:
        with bench.server(env={"DJANGO_SECRET_KEY": secret}) as server:
            comparison, answered = _compare_counting(server, health, scan)
        stored = Scan.objects.filter(brand=brand).count()
        with_member = Scan.objects.filter(brand=brand, member__isnull=False).count()
        comparison.notes.append(
            f"scans stored {stored:,} = scan requests answered 200 {answered:,} "
            f"({with_member:,} with a member from the cookie); {SCREENS} screens in {STORES} stores, "
            f"{PRODUCTS} products"
        )
        if stored != answered:
            raise RuntimeError(f"lost or extra scans: {stored} stored, {answered} answered 200")
    finally:
        with transaction.atomic():
            Scan.objects.filter(brand=brand).delete()
            ScreenHour.objects.filter(brand=brand).delete()
            Screen.objects.filter(brand=brand).delete()
            CatalogItem.objects.filter(brand=brand).delete()
            Catalog.objects.filter(brand=brand).delete()
            StoreStock.objects.filter(brand=brand).delete()
            ShelfSettings.objects.filter(brand=brand).delete()
            Member.objects.filter(brand=brand).delete()
            Product.objects.filter(brand=brand).delete()
            Store.objects.filter(brand=brand).delete()
            brand.delete()
    return comparison


def _member_cookie(services, *, brand_id: int, member_id: int) -> str:
    """A `tdm` cookie as the identify form sets it (signed with this process's SECRET_KEY,
    which the server is given)."""
    from django.http import HttpResponse

    response = HttpResponse()
    value = services.member_cookie_value(brand_id=brand_id, member_id=member_id)
    response.set_signed_cookie(services.MEMBER_COOKIE, value, salt=services.MEMBER_COOKIE_SALT)
    return f"{services.MEMBER_COOKIE}={response.cookies[services.MEMBER_COOKIE].value}"


def _compare_counting(server, baseline, measured) -> tuple[Comparison, int]:
    """Bench.compare's alternation (warm-up, then ROUNDS rounds of baseline and measured),
    also adding up the scan requests answered 200, warm-up included: each recorded a scan."""
    drive(server, baseline, label="warm-up", count=WARMUP, first=10**8)
    answered = drive(server, measured, label="warm-up", count=WARMUP, first=10**8).statuses.get(200, 0)
    total_base, total_ours = LoadResult("GET /livez"), LoadResult("GET /s/<code>")
    for round_no in range(ROUNDS):
        first = round_no * REQUESTS
        base = drive(server, baseline, label=total_base.label, first=first)
        ours = drive(server, measured, label=total_ours.label, first=first)
        answered += ours.statuses.get(200, 0)
        print(f"  round {round_no + 1}: baseline {base.summary()} | measured {ours.summary()}")
        total_base.merge(base)
        total_ours.merge(ours)
    return Comparison(baseline=total_base, measured=total_ours), answered
