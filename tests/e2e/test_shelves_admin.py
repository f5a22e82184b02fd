"""Cloud-shelf staff pages in a real browser: HQ builds a catalog (adds products with the
search box, reorders, features one — each an htmx swap of the item list), then a store
manager sets up a screen showing it, copies nothing but reads its kiosk URL, and sees the
live preview iframe load the kiosk page for each slot.

The live server is plain WSGI (no websockets): the kiosk page's push socket fails to open,
which is the one console error tolerated here."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def real_errors(page) -> list[str]:
    return [e for e in page.errors if "WebSocket" not in e and "/ws/" not in e]


def test_hq_builds_a_catalog_and_a_manager_previews_it_on_a_new_screen(browser, page, live_server, shop):
    from shelves.models import Catalog, CatalogItem, Screen

    # given HQ on the catalogs page
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/shelves/catalogs/")
    with page.expect_navigation():
        page.click("text=New catalog")
    page.fill('input[name="name"]', "Autumn scarves")
    page.fill('input[name="headline"]', "Silk for the season")
    with page.expect_navigation():
        page.click('form button[type="submit"]:has-text("Create")')
    expect(page.locator("h1")).to_have_text("Autumn scarves")

    # when HQ finds products with the search box and adds three
    items = page.locator("#catalog-items li[data-item-id]")
    page.fill('input[name="q"]', "TD-001")
    for n, sku in enumerate(["TD-0010", "TD-0011", "TD-0012"], start=1):
        row = page.locator(f'#catalog-products li:has-text("{sku}")')
        expect(row).to_be_visible()
        row.locator('button:has-text("Add")').click()
        expect(items).to_have_count(n)
    expect(page.locator("#catalog-products")).not_to_contain_text("TD-0012")

    # and moves the last one to the top and features it
    page.locator(
        '#catalog-items li[data-product-sku="TD-0012"] button[aria-label^="Move"][aria-label$="up"]'
    ).click()
    expect(items.nth(1)).to_have_attribute("data-product-sku", "TD-0012")
    page.locator(
        '#catalog-items li[data-product-sku="TD-0012"] button[aria-label^="Move"][aria-label$="up"]'
    ).click()
    expect(items.first).to_have_attribute("data-product-sku", "TD-0012")
    page.locator('#catalog-items li[data-product-sku="TD-0012"] button[aria-label^="Feature"]').click()
    expect(page.locator('#catalog-items li[data-product-sku="TD-0012"]')).to_have_class(
        "shelves-item is-featured"
    )

    # then the catalog is stored in that order with one featured product, one version per change
    catalog = Catalog.objects.get(brand=shop["brand"], name="Autumn scarves")
    stored = list(
        CatalogItem.objects.filter(catalog=catalog)
        .order_by("position")
        .values_list("product__sku", "featured")
    )
    assert stored == [("TD-0012", True), ("TD-0010", False), ("TD-0011", False)]
    assert catalog.version == 1 + 3 + 2 + 1
    assert no_horizontal_overflow(page)[0] <= no_horizontal_overflow(page)[1]
    screenshot(page, "shelves-catalog")
    assert real_errors(page) == []

    # when a store manager (another browser session) sets up a screen with the catalog
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-US")
    manager = context.new_page()
    manager.errors = []
    manager.on("pageerror", lambda exc: manager.errors.append(str(exc)))
    manager.on("console", lambda msg: manager.errors.append(msg.text) if msg.type == "error" else None)
    log_in(manager, live_server, "manager")
    manager.goto(f"{live_server.url}/shelves/screens/")
    with manager.expect_navigation():
        manager.click("text=New screen")
    store = shop["stores"][0]
    manager.select_option('select[name="store"]', str(store.pk))
    manager.fill('input[name="name"]', "Entrance screen")
    manager.fill('input[name="zone"]', "Entrance")
    manager.select_option('select[name="day_catalog"]', str(catalog.pk))
    manager.select_option('select[name="night_catalog"]', str(catalog.pk))
    with manager.expect_navigation():
        manager.click('form button[type="submit"]:has-text("Set up the screen")')

    # then the screen page shows its kiosk URL, its device and the preview of the day slot
    screen = Screen.objects.get(store=store, name="Entrance screen")
    expect(manager.locator("h1")).to_contain_text("Entrance screen")
    assert (
        manager.locator("input[data-kiosk-url]").input_value() == f"{live_server.url}/shelf/{screen.token}/"
    )
    expect(manager.locator(".details")).to_contain_text(f"SHELF-{screen.scan_code}")
    frame = manager.frame_locator("iframe[data-preview-frame]")
    expect(frame.locator("body[data-kiosk]")).to_be_attached(timeout=15_000)
    # it opens on "Now": what the screen shows at this moment (day or night: the same catalog)
    expect(manager.locator("button[data-preview-now]")).to_have_attribute("aria-selected", "true")
    expect(frame.locator(".kiosk-badge-preview")).to_contain_text("Now")
    expect(frame.locator("[data-kiosk-headline]")).to_have_text("Silk for the season", timeout=15_000)
    manager.click('button[data-slot="day"]')
    expect(manager.locator("iframe[data-preview-frame]")).to_have_attribute(
        "src", f"/shelf/{screen.token}/?preview=1&slot=day"
    )
    expect(frame.locator(".kiosk-badge-preview")).to_contain_text("Daytime")

    # and the Double-11 tab switches the preview to that slot (no Double-11 catalog: the screen
    # would show the hour's catalog, and the badge says which)
    manager.click('button[data-slot="double11"]')
    expect(manager.locator('button[data-slot="double11"]')).to_have_attribute("aria-selected", "true")
    expect(manager.locator("iframe[data-preview-frame]")).to_have_attribute(
        "src", f"/shelf/{screen.token}/?preview=1&slot=double11"
    )
    expect(frame.locator(".kiosk-badge-preview")).to_contain_text("Double-11")
    expect(frame.locator("[data-preview-shown]")).to_be_visible()
    expect(frame.locator("[data-kiosk-headline]")).to_have_text("Silk for the season")
    assert no_horizontal_overflow(manager)[0] <= no_horizontal_overflow(manager)[1]
    screenshot(manager, "shelves-screen")
    assert real_errors(manager) == []
    context.close()
    assert PASSWORD  # the shop's users all log in with it


def test_hq_pages_through_a_500_product_catalog(page, live_server, shop):
    from decimal import Decimal

    from retail.models import Product
    from shelves.models import CatalogItem
    from shelves.services.catalogs import create_catalog

    # given a flagship catalog of 500 products, made through the catalog service
    brand = shop["brand"]
    products = Product.objects.bulk_create(
        Product(brand=brand, sku=f"FL-{i:04d}", name=f"Flagship scarf {i}", price=Decimal("99.00") + i)
        for i in range(500)
    )
    catalog = create_catalog(brand_id=brand.pk, name="Flagship", items=[{"product": p} for p in products])

    # when HQ opens it: the first 100 products, and a pager
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/shelves/catalogs/{catalog.pk}/")
    items = page.locator("#catalog-items li[data-item-id]")
    expect(items).to_have_count(100)
    expect(page.locator("#catalog-items")).to_contain_text("500 products")
    expect(items.first).to_contain_text("FL-0000")

    # then Next swaps in the second page (htmx, no reload), numbered from 101
    page.evaluate("window.__noReload = 7")
    page.click("[data-items-next]")
    expect(items.first).to_contain_text("FL-0100")
    expect(items.first.locator(".shelves-item-pos")).to_have_text("101")
    assert page.evaluate("window.__noReload") == 7

    # and moving the page's first product up keeps HQ on the page it went to (page 1)
    moved = CatalogItem.objects.get(catalog=catalog, position=100)
    items.first.locator('button[aria-label^="Move"][aria-label$="up"]').click()
    expect(page.locator(f'#catalog-items li[data-item-id="{moved.pk}"]')).to_be_visible()
    expect(page.locator("#catalog-items .pager-number")).to_have_text("Page 1")
    moved.refresh_from_db()
    assert moved.position == 99
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
