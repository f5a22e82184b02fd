"""A crafted cloud-shelf week for the statistics tests: two stores, three screens, two
products, scans, orders through scans and impressions, with hand-computed figures.

Brand-local (Asia/Shanghai) times; the range is 2026-11-10..2026-11-11.

| screen (store) | product | scans (local time)      | orders through them            | impressions   |
| X (S1)         | p1      | 3 × 11-10 10:15         | 100.00 (paid 11-12), 50 cancelled | 40 @ 11-10 10h |
| X (S1)         | p2      | 1 × 11-10 11:05         | —                              | 10 @ 11-10 11h |
| Y (S1)         | p1      | 2 × 11-10 10:30         | 20.00 refunded                 | —             |
| Z (S2)         | p1      | 4 × 11-11 20:00         | 300.00                         | 30 @ 11-11 20h |
Outside the range: 1 scan and 99 impressions of X/p1 on 11-01, and an order through it.
Brand B: a screen with 5 scans and an order in the range (never counted for A).
S1 stocks p1 (5) and p2 (0); S2 stocks nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from retail.choices import Channel, OrderStatus
from retail.models import StoreStock
from retail.tests.factories import OrderFactory, ProductFactory, StoreFactory

from ..models import ScreenHour
from .factories import ScanFactory, ScreenFactory

SH = ZoneInfo("Asia/Shanghai")
DAY_FROM = dt.date(2026, 11, 10)
DAY_TO = dt.date(2026, 11, 11)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SH)


def order_through(scan, total: str, *, status=OrderStatus.PAID, paid_at=None):
    return OrderFactory(
        brand=scan.brand,
        store=scan.store,
        channel=Channel.CLOUD_SHELF,
        subtotal=Decimal(total),
        total=Decimal(total),
        status=status,
        paid_at=paid_at or scan.scanned_at + dt.timedelta(minutes=5),
        shelf_scan_id=scan.pk,
    )


def crafted_week(brand, other_brand) -> dict:
    s1, s2 = StoreFactory(brand=brand, code="S1"), StoreFactory(brand=brand, code="S2")
    p1, p2 = ProductFactory(brand=brand, sku="P1"), ProductFactory(brand=brand, sku="P2")
    x = ScreenFactory(brand=brand, store=s1, name="X")
    y = ScreenFactory(brand=brand, store=s1, name="Y")
    z = ScreenFactory(brand=brand, store=s2, name="Z")
    x_p1 = [ScanFactory(screen=x, product=p1, scanned_at=local(10, 10, 15)) for _ in range(3)]
    ScanFactory(screen=x, product=p2, scanned_at=local(10, 11, 5))
    y_p1 = [ScanFactory(screen=y, product=p1, scanned_at=local(10, 10, 30)) for _ in range(2)]
    z_p1 = [ScanFactory(screen=z, product=p1, scanned_at=local(11, 20)) for _ in range(4)]
    old = ScanFactory(screen=x, product=p1, scanned_at=local(1, 12))
    order_through(x_p1[0], "100.00", paid_at=local(12, 9))  # counted in its scan's hour
    order_through(x_p1[1], "50.00", status=OrderStatus.CANCELLED)
    order_through(y_p1[0], "20.00", status=OrderStatus.REFUNDED)
    order_through(z_p1[0], "300.00")
    order_through(old, "999.00")
    for screen, product, at, n in [
        (x, p1, local(10, 10), 40),
        (x, p2, local(10, 11), 10),
        (z, p1, local(11, 20), 30),
        (x, p1, local(1, 12), 99),
    ]:
        ScreenHour.objects.create(
            brand=brand, store=screen.store, screen=screen, product=product, hour=at, impressions=n
        )
    StoreStock.objects.create(brand=brand, store=s1, product=p1, quantity=5)
    StoreStock.objects.create(brand=brand, store=s1, product=p2, quantity=0)
    b_screen = ScreenFactory(brand=other_brand)
    b_product = ProductFactory(brand=other_brand)
    b_scans = [ScanFactory(screen=b_screen, product=b_product, scanned_at=local(10, 10)) for _ in range(5)]
    order_through(b_scans[0], "777.00")
    return {"s1": s1, "s2": s2, "p1": p1, "p2": p2, "x": x, "y": y, "z": z, "b_screen": b_screen}
