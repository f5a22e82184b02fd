"""The coupon counter on a tablet, in a real browser against the real ASGI application: a
guide finds a member and gives a coupon; the store's network goes; the guide redeems the
member's coupon offline (its token verified in the browser with WebCrypto), a second try and
a forged token are refused on the tablet; the page survives a reload offline (service
worker); the network comes back, the queue syncs, and HQ sees the offline redemption."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def counter_shop(transactional_db):
    from members.tests.factories import MemberFactory
    from promotions.tests.factories import CouponTemplateFactory, PublishedCampaignFactory, phases
    from retail.choices import Role
    from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory, UserFactory

    brand = BrandFactory(name="Tiandi Demo 天地示范品牌", slug="demo-counter")
    store = StoreFactory(brand=brand, code="SH001", name="上海南京西路旗舰店")
    guide = UserFactory(username="guide-counter", password=PASSWORD)
    StaffRoleFactory(user=guide, brand=brand, store=store, role=Role.GUIDE)
    hq = UserFactory(username="hq-counter", password=PASSWORD)
    StaffRoleFactory(user=hq, brand=brand, role=Role.HQ_ADMIN)
    member = MemberFactory(brand=brand, store=store, phone="13812345678", name="王小明")
    # HQ's part, through the services' models: a published campaign and a 满300减50 template
    campaign = PublishedCampaignFactory(brand=brand, name="Double-11 双十一", stores=[store])
    phases(campaign)
    template = CouponTemplateFactory(
        brand=brand,
        campaign=campaign,
        name="满300减50",
        amount_off=Decimal("50"),
        threshold=Decimal("300"),
        total_stock=100,
    )
    return {"brand": brand, "store": store, "member": member, "template": template}


def real_errors(page) -> list[str]:
    noise = ("ERR_INTERNET_DISCONNECTED", "Failed to load resource", "net::", "WebSocket")
    return [e for e in page.errors if not any(n in e for n in noise)]


def test_a_guide_gives_a_coupon_and_redeems_it_offline_and_hq_sees_it(browser, asgi_server, counter_shop):
    from promotions.choices import OfflineOutcome, RedemptionSource
    from promotions.models import Coupon, OfflineRedemption, Redemption
    from promotions.services import tokens

    url, run = asgi_server
    server = type("Server", (), {"url": url})
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(page, server, "guide-counter")
        page.goto(f"{url}/promotions/counter/")
        expect(page.locator("h1")).to_have_text("Coupon counter")

        # find the member by phone: the masked number only
        page.fill("input[name=phone]", "13812345678")
        with page.expect_navigation():
            page.click("button:has-text('Find member')")
        expect(page.locator("[data-counter-member-phone]")).to_have_text("138****5678")
        assert "13812345678" not in page.content()

        # give the coupon; a double tap claims once
        page.check("input[name=template]")
        give = page.locator("[data-counter-give] button[type=submit]")
        box = give.bounding_box()
        assert box and box["height"] >= 44
        with page.expect_navigation():
            give.click()
        expect(page.locator(".message-success")).to_contain_text("满300减50")
        coupon = run(lambda: Coupon.objects.select_related("template", "member").get())
        expect(page.locator("[data-counter-coupons]")).to_contain_text(coupon.code[-4:])
        assert counter_shop["template"].__class__.objects.get().claimed == 1
        width, inner = no_horizontal_overflow(page)
        assert width <= inner
        screenshot(page, "counter-portrait")

        # the tablet is ready for offline: worker in charge, pack kept, this page cached
        page.wait_for_function("() => document.querySelector('[data-counter]').dataset.ready === '1'")
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=10000)
        page.wait_for_function(
            """async () => {
                const names = await caches.keys();
                for (const name of names) {
                    const cache = await caches.open(name);
                    const keys = await cache.keys();
                    if (keys.some(r => r.url.includes('/promotions/counter/?store='))) return true;
                }
                return false;
            }""",
            timeout=10000,
        )

        # the network goes
        token = run(lambda: tokens.sign(Coupon.objects.select_related("template", "member").get()))
        context.set_offline(True)
        banner = page.locator("[data-counter-banner]")
        expect(banner).to_contain_text("Offline")

        # a forged token (payload of another value, old signature) is refused on the tablet
        head, kid, body, sig = token.split(".")
        forged = ".".join([head, kid, body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB"), sig])
        page.fill("textarea[name=token]", forged)
        page.fill("input[name=subtotal]", "400")
        page.click("[data-counter-redeem] button[type=submit]")
        expect(page.locator("[data-counter-result]")).to_have_text(
            "This is not a genuine coupon of this brand."
        )

        # under the threshold: refused with the rule
        page.fill("textarea[name=token]", token)
        page.fill("input[name=subtotal]", "120")
        page.click("[data-counter-redeem] button[type=submit]")
        expect(page.locator("[data-counter-result]")).to_contain_text("¥300 or more")

        # the genuine coupon on a 400 order: verified here, queued
        page.fill("textarea[name=token]", token)
        page.fill("input[name=subtotal]", "400")
        page.fill("input[name=order_ref]", "POS-OFF-1")
        page.click("[data-counter-redeem] button[type=submit]")
        expect(page.locator("[data-counter-result]")).to_contain_text("Redeemed offline: ¥50.00 off")
        expect(banner).to_have_text("Offline — 1 redemptions waiting")

        # the same coupon again on this tablet: refused here
        page.fill("textarea[name=token]", token)
        page.fill("input[name=subtotal]", "400")
        page.click("[data-counter-redeem] button[type=submit]")
        expect(page.locator("[data-counter-result]")).to_have_text(
            "This coupon was already redeemed on this tablet."
        )
        assert run(lambda: Redemption.objects.count()) == 0

        # a reload with the network cut: the worker serves the page, the queue is still there
        page.reload()
        expect(page.locator("h1")).to_have_text("Coupon counter")
        expect(page.locator("[data-counter-banner]")).to_have_text("Offline — 1 redemptions waiting")
        screenshot(page, "counter-offline")

        # the network is back: the queue syncs by itself and the outcome shows
        context.set_offline(False)
        expect(page.locator("[data-counter-outcomes] [data-outcome=accepted]")).to_have_count(
            1, timeout=10000
        )
        expect(page.locator("[data-counter-banner]")).to_be_hidden()
        redemption = run(lambda: Redemption.objects.select_related("coupon").get())
        assert redemption.source == RedemptionSource.OFFLINE
        assert redemption.discount == Decimal("50.00") and redemption.order_ref == "POS-OFF-1"
        assert redemption.coupon.code == coupon.code
        assert run(lambda: OfflineRedemption.objects.get().outcome) == OfflineOutcome.ACCEPTED
        assert real_errors(page) == []
    finally:
        context.close()

    # HQ sees the redemption: the store's counter lists the synced offline redemption
    hq_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    hq = hq_context.new_page()
    try:
        log_in(hq, server, "hq-counter")
        hq.goto(f"{url}/promotions/counter/?store={counter_shop['store'].pk}")
        table = hq.locator("table")
        expect(table).to_contain_text(coupon.code[-4:])
        expect(table).to_contain_text("Accepted")
        screenshot(hq, "counter-landscape-hq")
    finally:
        hq_context.close()
