"""Attribution of online orders to cloud-shelf scans, through the real orders API
(POST /api/v1/orders/ with a partner token): a shopper scans /s/<code>, takes the token from
the buy button, and the online store posts the order with it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import make_partner
from retail.models import DomainEvent, Order
from retail.tests.factories import UserFactory
from shelves.models import Scan, ShelfSettings
from shelves.selectors import stats as stats_selectors
from shelves.services import scans as services
from shelves.tests.factories import ScanFactory, ScreenFactory

pytestmark = pytest.mark.django_db

TEMPLATE = "https://shop.example.com/item/{sku}?td={token}"


@pytest.fixture
def guide(brand):
    return UserFactory(username="zone-guide")


@pytest.fixture
def screen(brand, guide):
    ShelfSettings.objects.update_or_create(brand=brand, defaults={"buy_url_template": TEMPLATE})
    return ScreenFactory(brand=brand, guide=guide, zone="Scarves")


@pytest.fixture
def product(screen):
    return screen.day_catalog.items.first().product


def scan_and_take_token(client, screen, product) -> str:
    """What the shopper does: open the QR code's page and follow the buy button."""
    html = client.get(f"/s/{services.scan_code(screen.scan_code, product.pk)}").content.decode()
    token = re.search(r'data-token="([^"]+)"', html).group(1)
    return token


def order_body(product, token: str, external_id: str = "WEB-1") -> dict:
    return {
        "external_id": external_id,
        "channel": "online",
        "lines": [{"sku": product.sku, "quantity": 2}],
        "attribution_token": token,
    }


def test_an_order_with_a_scans_token_is_attributed_to_store_screen_and_zone_guide(
    client, brand, screen, product, guide
):
    # given a shopper who scanned a product on the screen and took the buy button's token
    token = scan_and_take_token(client, screen, product)
    scan = Scan.objects.get()
    # when the online store posts the order with it
    partner = make_partner(brand, ["orders:write", "orders:read"])
    response = partner.post(
        "/api/v1/orders/", order_body(product, token), format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    # then it is a cloud-shelf sale of the screen's store, credited to the zone guide
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel"] == "cloud_shelf"
    assert data["store"] == screen.store_id and data["guide"] == guide.pk
    assert data["attribution"]["status"] == "attributed"
    assert data["attribution"]["shelf_scan"] == scan.pk
    assert data["attribution"]["screen"] == screen.pk and data["attribution"]["product"] == product.pk
    order = Order.objects.get()
    assert order.shelf_scan_id == scan.pk and order.attribution["screen"] == screen.pk
    # and a repeat with the same Idempotency-Key doubles nothing
    again = partner.post(
        "/api/v1/orders/", order_body(product, token), format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert again.status_code == 201 and again.json() == data
    assert Order.objects.count() == 1
    assert DomainEvent.objects.filter(name="order.created").count() == 1
    # and the screen's statistics count the scan and the order
    rng = stats_selectors.stats_range()
    from retail.models import ApiClient
    from retail.tenancy import principal_for_api_client

    principal = principal_for_api_client(ApiClient.objects.filter(brand=brand).first())
    row = next(
        r for r in stats_selectors.screen_stats(principal=principal, rng=rng) if r["screen"] == screen.pk
    )
    assert (row["scans"], row["orders"], row["gmv"]) == (1, 1, Decimal(data["total"]))


def _posted(brand, product, token, key):
    partner = make_partner(brand, ["orders:write"])
    response = partner.post(
        "/api/v1/orders/",
        order_body(product, token, external_id=key),
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.json()
    return response.json()


def assert_stored_without_attribution(data, status):
    assert data["attribution"]["status"] == status
    assert data["attribution"]["message"]
    assert data["channel"] == "online" and data["store"] is None and data["guide"] is None
    assert "shelf_scan" not in data["attribution"]
    order = Order.objects.get(external_id=data["external_id"])
    assert order.shelf_scan_id is None and order.attribution["status"] == status


@pytest.mark.parametrize("token", ["sh1.zz:garbage", "nonsense", "xx1.abc", "sh1." + "9" * 12])
def test_unknown_tokens_keep_the_order_without_attribution(brand, screen, product, token):
    data = _posted(brand, product, token, f"U-{len(token)}")
    assert_stored_without_attribution(data, "unknown")


def test_a_token_of_a_scan_that_does_not_exist_is_unknown(brand, product):
    data = _posted(brand, product, services.scan_token(10**9), "U-missing")
    assert_stored_without_attribution(data, "unknown")


def test_a_tampered_token_is_unknown(client, brand, screen, product):
    token = scan_and_take_token(client, screen, product)
    # another scan id with the first one's signature
    _value, _sep, signature = token.rpartition(":")
    other = ScanFactory(screen=screen, product=product)  # a real scan the forger wants credit for
    forged = services.scan_token(other.pk).rpartition(":")[0] + ":" + signature
    data = _posted(brand, product, forged, "T-1")
    assert_stored_without_attribution(data, "unknown")
    data = _posted(brand, product, token[:-2] + ("aa" if not token.endswith("aa") else "bb"), "T-2")
    assert_stored_without_attribution(data, "unknown")


def test_an_expired_token_is_stored_without_attribution(brand, screen, product):
    ShelfSettings.objects.filter(brand=brand).update(attribution_days=3)
    old = ScanFactory(
        screen=screen, product=product, scanned_at=timezone.now() - dt.timedelta(days=3, hours=1)
    )
    data = _posted(brand, product, services.scan_token(old.pk), "E-1")
    assert_stored_without_attribution(data, "expired")
    # a scan inside the window still attributes
    fresh = ScanFactory(screen=screen, product=product, scanned_at=timezone.now() - dt.timedelta(days=2))
    assert (
        _posted(brand, product, services.scan_token(fresh.pk), "E-2")["attribution"]["status"] == "attributed"
    )


def test_a_token_of_another_brands_scan_is_foreign_and_reveals_nothing(client, brand, other_brand, product):
    # given a shopper who scanned brand B's screen
    screen_b = ScreenFactory(brand=other_brand, guide=UserFactory())
    product_b = screen_b.day_catalog.items.first().product
    token_b = scan_and_take_token(client, screen_b, product_b)
    # when brand A's partner posts an order with brand B's token
    data = _posted(brand, product, token_b, "F-1")
    # then the order is stored for brand A without attribution, naming nothing of brand B
    assert_stored_without_attribution(data, "foreign")
    assert str(screen_b.store_id) not in str(data["attribution"])
    assert Order.objects.get(external_id="F-1").brand_id == brand.pk


def test_an_order_naming_another_store_counts_for_the_scans_store(client, brand, screen, product):
    # given a scan at the screen's store, and an online shop that names its own default store
    from retail.tests.factories import StoreFactory

    token = scan_and_take_token(client, screen, product)
    shop_store = StoreFactory(brand=brand, name="Online fulfilment")
    partner = make_partner(brand, ["orders:write"])
    body = {**order_body(product, token, external_id="NAMED-1"), "store": shop_store.pk}
    response = partner.post("/api/v1/orders/", body, format="json")
    # then the sale counts for the scan's store (the screen's and the store's figures agree),
    # and the attribution says which store the order named
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel"] == "cloud_shelf" and data["store"] == screen.store_id
    assert data["attribution"]["status"] == "attributed"
    assert data["attribution"]["order_store"] == shop_store.pk
    assert "scan's store" in data["attribution"]["message"]
    event = DomainEvent.objects.get(name="order.created")
    assert event.store_id == screen.store_id


def test_a_backdated_paid_at_cannot_revive_an_expired_scan(brand, screen, product):
    # a scan 5 days ago, a 3-day window, and an order claiming to be paid the day after the scan
    ShelfSettings.objects.filter(brand=brand).update(attribution_days=3)
    old = ScanFactory(screen=screen, product=product, scanned_at=timezone.now() - dt.timedelta(days=5))
    partner = make_partner(brand, ["orders:write"])
    body = {
        **order_body(product, services.scan_token(old.pk), external_id="BACKDATED-1"),
        "paid_at": (old.scanned_at + dt.timedelta(days=1)).isoformat(),
    }
    response = partner.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert_stored_without_attribution(response.json(), "expired")


@pytest.mark.parametrize("length", [201, 1999, 2001, 20_000])
def test_an_over_long_token_keeps_the_order_without_attribution(brand, screen, product, length):
    data = _posted(brand, product, ("sh1." + "z" * length)[:length], f"LONG-{length}")
    assert_stored_without_attribution(data, "unknown")
    assert len(Order.objects.get(external_id=f"LONG-{length}").attribution_token) == 200
