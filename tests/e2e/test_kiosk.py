"""The kiosk page of a cloud-shelf screen in a real browser, served by the real ASGI
application (uvicorn in a thread: HTTP and the ws/shelf/<token>/ websocket, the same channel
layer as the test): it rotates product cards with their QR codes, keeps rotating with the
network cut (and a reload offline is served by its service worker), and a catalog change
made by HQ through the catalog services (which push after commit) appears on the open page
without a reload."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kiosk_screen(transactional_db):
    from retail.models import StoreStock
    from retail.tests.factories import BrandFactory, ProductFactory, StoreFactory
    from shelves.tests.factories import CatalogFactory, CatalogItemFactory, ScreenFactory

    brand = BrandFactory(name="Tiandi Demo 天地示范品牌", slug="demo-kiosk")
    store = StoreFactory(brand=brand, name="上海南京西路旗舰店")
    catalog = CatalogFactory(brand=brand, headline="Autumn silk 秋季丝巾")
    for i in range(4):
        product = ProductFactory(
            brand=brand,
            name=f"天地 Silk scarf 丝巾 {i}",
            price=Decimal("1299.00") + i,
            online_stock=20 + i,
            # a product image served by the test server itself (a distinct URL per product), so
            # the test can check images keep showing with the network cut
            image_url=f"/static/favicon.svg?product={i}",
        )
        CatalogItemFactory(catalog=catalog, product=product, position=i, featured=(i == 0))
        if i % 2 == 0:
            StoreStock.objects.create(brand=brand, store=store, product=product, quantity=3 + i)
    # every catalog's day, so the test does not depend on the hour it runs at
    from shelves.models import ShelfSettings

    ShelfSettings.objects.create(brand=brand, day_starts_at="00:00", night_starts_at="00:00")
    from devices.tests.factories import DeviceFactory

    device = DeviceFactory(brand=brand, store=store, serial="SCREEN-0001")
    return ScreenFactory(
        brand=brand, store=store, day_catalog=catalog, name="Entrance", rotate_seconds=2, device=device
    )


def real_errors(page) -> list[str]:
    # with the network cut, the failed heartbeat / socket are logged by the browser
    noise = ("ERR_INTERNET_DISCONNECTED", "WebSocket", "Failed to load resource", "net::")
    return [e for e in page.errors if not any(n in e for n in noise)]


def current(page) -> str:
    return page.evaluate("document.body.dataset.current || ''")


def wait_for_rotation(page, after: str) -> str:
    page.wait_for_function(
        "(before) => (document.body.dataset.current || '') !== before", arg=after, timeout=8000
    )
    return current(page)


def image_loaded(page) -> bool:
    return page.evaluate(
        """() => {
            const img = document.querySelector('.kiosk-card.is-current img.kiosk-image');
            return !!img && img.complete && img.naturalWidth > 0 && img.src.includes('favicon.svg?product=');
        }"""
    )


def qr_loaded(page) -> bool:
    return page.evaluate(
        """() => {
            const img = document.querySelector('.kiosk-card.is-current .kiosk-qr-img');
            return !!img && img.complete && img.naturalWidth > 0 && img.src.endsWith('.svg');
        }"""
    )


def test_the_kiosk_rotates_shows_qr_codes_survives_offline_and_follows_live_changes(
    browser, asgi_server, kiosk_screen, settings
):
    from devices.choices import DeviceStatus
    from shelves.models import Catalog, ScreenHour

    settings.SHELF_KIOSK_HEARTBEAT_SECONDS = 3  # 30 s in production
    url, run = asgi_server
    screen = kiosk_screen
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    try:
        qr_responses = []
        page.on(
            "response",
            lambda r: (
                qr_responses.append(r.headers.get("content-type", ""))
                if "/qr/" in r.url and r.status == 200
                else None
            ),
        )
        page.goto(f"{url}/shelf/{screen.token}/")

        # the headline, the featured product first, price, stocks and its QR code
        expect(page.locator("[data-kiosk-headline]")).to_have_text("Autumn silk 秋季丝巾")
        card = page.locator(".kiosk-card.is-current")
        expect(card).to_have_class("kiosk-card is-featured is-current")
        expect(card.locator(".kiosk-name")).to_have_text("天地 Silk scarf 丝巾 0")
        expect(card.locator(".kiosk-price")).to_contain_text("1,299.00")
        expect(card.locator(".kiosk-stock-store")).to_have_text("In store: 3")
        page.wait_for_function(
            "() => { const i = document.querySelector('.kiosk-card.is-current .kiosk-qr-img');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        assert qr_loaded(page)
        assert any(ct.startswith("image/svg+xml") for ct in qr_responses)
        page.wait_for_timeout(700)  # the card has faded in
        screenshot(page, "kiosk-landscape")

        # it rotates every 2 s, through every product
        seen = {current(page)}
        for _ in range(3):
            seen.add(wait_for_rotation(page, current(page)))
        assert len(seen) == 4
        expect(page.locator(".kiosk-card.is-current .kiosk-stock-store")).to_be_visible()

        # a live change: committed in a transaction with a push, seen without a reload
        page.wait_for_function("() => document.body.dataset.live === '1'", timeout=10000)
        page.evaluate("window.__noReload = 42")

        def hq_changes_the_catalog():
            # HQ's changes through the catalog services: each bumps the version and pushes
            # shelf.changed to the screens showing the catalog after its transaction commits
            from shelves.models import Catalog
            from shelves.services.catalogs import remove_item, update_catalog

            catalog = Catalog.objects.get(pk=screen.day_catalog_id)
            update_catalog(catalog=catalog, headline="Double-11 prices 双十一")
            last = catalog.items.order_by("-position").first()
            remove_item(catalog=catalog, item_id=last.pk)

        run(hq_changes_the_catalog)
        expect(page.locator("[data-kiosk-headline]")).to_have_text("Double-11 prices 双十一", timeout=5000)
        expect(page.locator(".kiosk-card")).to_have_count(3)
        assert page.evaluate("window.__noReload") == 42
        # it came by the websocket (two pushes: headline, then the item), not by a heartbeat
        page.wait_for_function("() => Number(document.body.dataset.pushes || 0) >= 2", timeout=3000)

        # a change whose push was lost (none sent): the next heartbeat's version catches it
        Catalog.objects.filter(pk=screen.day_catalog_id).update(
            headline="Quiet change 静默更新", version=F("version") + 1
        )
        expect(page.locator("[data-kiosk-headline]")).to_have_text("Quiet change 静默更新", timeout=8000)
        assert page.evaluate("window.__noReload") == 42

        # the heartbeats made the screen's device online and counted the cards shown
        screen.device.refresh_from_db()
        assert screen.device.status == DeviceStatus.ONLINE
        shown = dict(ScreenHour.objects.filter(screen=screen).values_list("product_id", "impressions"))
        assert len(shown) >= 3 and all(n >= 1 for n in shown.values())

        # the service worker is in charge, and has cached every card's QR code
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=10000)
        page.wait_for_function(
            """async () => {
                const names = await caches.keys();
                if (!names.length) return false;
                const cache = await caches.open(names[0]);
                const keys = await cache.keys();
                return keys.filter(r => r.url.includes('/qr/')).length >= 3
                    && keys.filter(r => r.url.includes('favicon.svg?product=')).length >= 3;
            }""",
            timeout=10000,
        )
        assert image_loaded(page)

        # the network goes: it keeps rotating what it has
        context.set_offline(True)
        before = current(page)
        after = wait_for_rotation(page, before)
        wait_for_rotation(page, after)
        assert qr_loaded(page)
        assert image_loaded(page)

        # even a reload with the network cut shows the cards, from the service worker
        page.reload()
        expect(page.locator("[data-kiosk-headline]")).to_have_text("Quiet change 静默更新")
        expect(page.locator(".kiosk-card")).to_have_count(3)
        expect(page.locator("[data-kiosk-offline]")).to_be_visible()
        page.wait_for_function(
            "() => { const i = document.querySelector('.kiosk-card.is-current .kiosk-qr-img');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        # and every card's product image, from the worker's cache (none fell back to a letter)
        for _ in range(3):
            page.wait_for_function(
                "() => { const i = document.querySelector('.kiosk-card.is-current img.kiosk-image');"
                " return i && i.complete && i.naturalWidth > 0; }",
                timeout=5000,
            )
            assert image_loaded(page)
            wait_for_rotation(page, current(page))
        assert page.locator(".kiosk-placeholder").count() == 0
        context.set_offline(False)
        assert real_errors(page) == []
    finally:
        context.close()


def test_the_kiosk_fits_a_portrait_screen_and_a_retired_screen_says_so(browser, asgi_server, kiosk_screen):
    from shelves.choices import ScreenStatus

    url, _run = asgi_server
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{url}/shelf/{kiosk_screen.token}/")
        expect(page.locator(".kiosk-card.is-current")).to_be_visible()
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner
        box = page.locator(".kiosk-card.is-current .kiosk-qr-img").bounding_box()
        assert box and box["width"] >= 200  # big enough to scan from a step away
        page.wait_for_timeout(700)
        screenshot(page, "kiosk-portrait")

        kiosk_screen.status = ScreenStatus.RETIRED
        kiosk_screen.save()
        from shelves.selectors import kiosk as selectors

        selectors.forget_screen(kiosk_screen.token)
        response = page.goto(f"{url}/shelf/{kiosk_screen.token}/")
        assert response.status == 410
        expect(page.locator("h1")).to_have_text("此屏幕已停用")  # "This screen is retired", zh-CN browser
        expect(page.locator(".kiosk-message p")).to_contain_text("Entrance")
    finally:
        context.close()


def test_hq_previews_the_night_catalog_without_heartbeats(browser, asgi_server, kiosk_screen, settings):
    from retail.choices import Role
    from retail.tests.factories import ProductFactory, StaffRoleFactory, UserFactory
    from shelves.models import ScreenHour
    from shelves.tests.factories import CatalogFactory, CatalogItemFactory

    from .conftest import PASSWORD, log_in

    settings.SHELF_KIOSK_HEARTBEAT_SECONDS = 2
    url, _run = asgi_server
    screen = kiosk_screen
    night = CatalogFactory(brand=screen.brand, headline="Night owls 夜猫子")
    CatalogItemFactory(catalog=night, product=ProductFactory(brand=screen.brand, name="Silk eye mask 眼罩"))
    screen.night_catalog = night
    screen.save()
    hq = UserFactory(username="hq-kiosk", password=PASSWORD)
    StaffRoleFactory(user=hq, brand=screen.brand, role=Role.HQ_ADMIN)

    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US")
    page = context.new_page()
    beats = []
    page.on("request", lambda r: beats.append(r.url) if "/heartbeat/" in r.url else None)
    try:
        log_in(page, type("Server", (), {"url": url}), "hq-kiosk")
        page.goto(f"{url}/shelf/{screen.token}/?preview=1&slot=night")
        expect(page.locator("[data-kiosk-headline]")).to_have_text("Night owls 夜猫子")
        expect(page.locator(".kiosk-card.is-current .kiosk-name")).to_have_text("Silk eye mask 眼罩")
        expect(page.locator(".kiosk-badge-preview")).to_contain_text("Night-time")
        page.wait_for_timeout(3000)  # longer than a heartbeat here
        assert beats == []
        assert not ScreenHour.objects.filter(screen=screen).exists()
        assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
    finally:
        context.close()


def test_retiring_the_screen_turns_the_open_kiosk_page_into_the_retired_page(
    browser, asgi_server, kiosk_screen
):
    from shelves.services.screens import retire_screen

    url, run = asgi_server
    screen = kiosk_screen
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")
    page = context.new_page()
    try:
        statuses = []
        page.on("response", lambda r: statuses.append((r.url, r.status)))
        page.goto(f"{url}/shelf/{screen.token}/")
        expect(page.locator(".kiosk-card.is-current")).to_be_visible()
        page.wait_for_function("() => document.body.dataset.live === '1'", timeout=10000)
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=10000)

        # when the store manager retires the screen (the service pushes after commit)
        from shelves.models import Screen

        run(lambda: retire_screen(screen=Screen.objects.get(pk=screen.pk)))

        # then the open page fetches its payload (410) and turns into the retired page, with
        # no one touching the screen; the service worker does not serve the old page instead
        expect(page.locator("h1")).to_have_text("This screen is retired", timeout=10000)
        expect(page.locator(".kiosk-message p")).to_contain_text("no longer shows a catalog")
        expect(page.locator(".kiosk-card")).to_have_count(0)
        assert any(u.endswith("/payload.json") and s == 410 for u, s in statuses)
        assert any(u.endswith(f"/shelf/{screen.token}/") and s == 410 for u, s in statuses)
    finally:
        context.close()
