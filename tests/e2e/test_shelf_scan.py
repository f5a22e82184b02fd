"""Scan-to-buy in a real browser: a shopper's phone opens a cloud-shelf QR code's page
(/s/<code>), sees the product and the buy button; the online store then posts the order
with the button's token through the orders API (simulated over HTTP with a partner token);
the store manager's screen statistics page shows the scan, the order and its GMV.

The live server is plain WSGI (no websockets): the statistics page is simply loaded after
the order, as a manager would open it."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def real_errors(page) -> list[str]:
    return [e for e in page.errors if "WebSocket" not in e and "/ws/" not in e]


def test_a_scan_then_an_attributed_order_raises_the_screens_numbers(browser, page, live_server, shop):
    from retail import services as retail_services
    from retail.models import Product
    from shelves.models import Scan, ShelfSettings
    from shelves.services.scans import scan_code
    from shelves.tests.factories import CatalogFactory, CatalogItemFactory, ScreenFactory

    # given a screen in the manager's store showing a scarf, and the brand's online store
    brand, store = shop["brand"], shop["stores"][0]
    ShelfSettings.objects.update_or_create(
        brand=brand, defaults={"buy_url_template": "https://shop.example.com/item/{sku}?td={token}"}
    )
    product = Product.objects.get(brand=brand, sku="TD-0007")
    catalog = CatalogFactory(brand=brand, name="Window")
    CatalogItemFactory(catalog=catalog, product=product)
    screen = ScreenFactory(
        brand=brand, store=store, name="Entrance screen", day_catalog=catalog, guide=shop["guide"]
    )
    # the store's stock row of it says 0: "not stocked" on every surface (shelves.stock)
    from retail.models import StoreStock

    StoreStock.objects.update_or_create(brand=brand, store=store, product=product, defaults={"quantity": 0})

    # when a shopper's phone opens the product's QR code
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="en-US"
    )
    try:
        shopper = phone.new_page()
        shopper.errors = []
        shopper.on("pageerror", lambda exc: shopper.errors.append(str(exc)))
        shopper.goto(f"{live_server.url}/s/{scan_code(screen.scan_code, product.pk)}")

        # then the product and the buy button show, fitting the phone
        expect(shopper.locator("h1")).to_have_text(product.name)
        expect(shopper.locator("[data-price]")).to_have_text("¥1299.00")
        expect(shopper.locator("[data-store-stock]")).to_have_text("Not stocked in this store")
        buy = shopper.locator("a.scan-buy")
        expect(buy).to_have_text("Buy online")
        box = buy.bounding_box()
        assert box["height"] >= 44
        width, viewport = no_horizontal_overflow(shopper)
        assert width <= viewport
        screenshot(shopper, "shelf-scan-phone")
        href = buy.get_attribute("href")
        assert href.startswith(f"https://shop.example.com/item/{product.sku}?td=")
        token = parse_qs(urlsplit(href).query)["td"][0]
        assert shopper.errors == []
    finally:
        phone.close()
    assert Scan.objects.filter(screen=screen).count() == 1

    # when the online store posts the order with the token
    client = retail_services.create_api_client(brand=brand, name="Online store", scopes=["orders:write"])
    _row, secret = retail_services.issue_api_token(client=client)
    answer = httpx.post(
        f"{live_server.url}/api/v1/orders/",
        json={
            "external_id": "TMALL-0001",
            "channel": "online",
            "lines": [{"sku": product.sku, "quantity": 2}],
            "attribution_token": token,
        },
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "tmall-0001"},
    )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["attribution"]["status"] == "attributed" and order["channel"] == "cloud_shelf"
    assert order["store"] == store.pk
    assert Decimal(order["total"]) == Decimal("2598.00")

    # then the manager's screen statistics show 1 scan, 1 order and its GMV
    log_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/shelves/stats/")
    row = page.locator(f'tr[data-screen="{screen.pk}"]')
    expect(row).to_contain_text("Entrance screen")
    # the per-screen chart, and the per-hour charts: traffic, then GMV and conversion
    expect(page.locator('[data-chart="shelf-screens"] canvas')).to_have_count(1)
    expect(page.locator('[data-chart="shelf-sales"]')).to_have_attribute("data-drawn", "2")
    with page.expect_navigation():
        row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("Entrance screen")
    expect(page.locator('[data-total="scans"]')).to_have_text("1")
    expect(page.locator('[data-total="orders"]')).to_have_text("1")
    expect(page.locator('[data-total="gmv"]')).to_have_text("¥2598.00")
    product_row = page.locator(f'tr[data-product="{product.pk}"]')
    expect(product_row.locator("[data-scans]")).to_have_text("1")
    expect(product_row.locator("[data-gmv]")).to_have_text("¥2598.00")
    expect(page.locator('[data-chart="shelf-hours"] canvas')).to_have_count(1)
    expect(page.locator('[data-chart="shelf-sales"] canvas')).to_have_count(1)
    expect(page.locator("#shelves-stats-restock")).to_be_visible()
    expect(page.locator(f'#shelves-stats-restock tr[data-hint-product="{product.pk}"]')).to_contain_text("1")
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "shelf-screen-stats")
    assert real_errors(page) == []
