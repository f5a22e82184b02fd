"""The coupon counter on a tablet, in a real browser against the real ASGI application: HQ
creates a campaign and a coupon template on its pages and publishes; a guide finds a member
and gives a coupon; the store's network goes; the guide redeems the
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
    from retail.choices import Role
    from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory, UserFactory

    brand = BrandFactory(name="Tiandi Demo 天地示范品牌", slug="demo-counter")
    store = StoreFactory(brand=brand, code="SH001", name="上海南京西路旗舰店")
    guide = UserFactory(username="guide-counter", password=PASSWORD)
    StaffRoleFactory(user=guide, brand=brand, store=store, role=Role.GUIDE)
    hq = UserFactory(username="hq-counter", password=PASSWORD)
    StaffRoleFactory(user=hq, brand=brand, role=Role.HQ_ADMIN)
    member = MemberFactory(brand=brand, store=store, phone="13812345678", name="王小明")
    return {"brand": brand, "store": store, "member": member}


def local(when) -> str:
    """A datetime-local value in Asia/Shanghai (how HQ's forms read times)."""
    from django.utils import timezone

    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def hq_creates_a_campaign_and_a_template(page, url) -> None:
    """HQ's part through HQ's own pages: a campaign for the store with its main day running,
    a 满300减50 template in it, then the campaign published."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    page.goto(f"{url}/promotions/campaigns/new/")
    page.fill("input[name=name]", "Double-11 双十一")
    page.check("input[name=stores]")
    page.uncheck("input[name=switches_shelves]")
    with page.expect_navigation():
        page.click("form.campaign-form button[type=submit]")
    # the phases editor: the main day from an hour ago until two days from now
    page.fill("input[name=main_starts_at]", local(now - timedelta(hours=1)))
    page.fill("input[name=main_ends_at]", local(now + timedelta(days=2)))
    with page.expect_navigation():
        page.click("form.campaign-phases-form button[type=submit]")
    campaign_url = page.url

    page.goto(f"{url}/promotions/templates/new/")
    page.fill("input[name=name]", "满300减50")
    page.select_option("select[name=campaign]", label="Double-11 双十一")
    page.select_option("select[name=kind]", value="threshold")
    page.fill("input[name=amount_off]", "50")
    page.fill("input[name=threshold]", "300")
    page.fill("input[name=total_stock]", "100")
    page.fill("input[name=per_member_limit]", "1")
    page.fill("input[name=valid_from]", local(now - timedelta(hours=1)))
    page.fill("input[name=valid_until]", local(now + timedelta(days=2)))
    with page.expect_navigation():
        page.click("form[data-template-form] button[type=submit]")
    expect(page.locator("h1")).to_have_text("满300减50")

    page.goto(campaign_url.rstrip("/") + "/publish/")
    with page.expect_navigation():
        page.click("button:has-text('Yes, publish')")


def real_errors(page) -> list[str]:
    noise = ("ERR_INTERNET_DISCONNECTED", "Failed to load resource", "net::", "WebSocket")
    return [e for e in page.errors if not any(n in e for n in noise)]


def test_a_guide_gives_a_coupon_and_redeems_it_offline_and_hq_sees_it(browser, asgi_server, counter_shop):
    from promotions.choices import CampaignStatus, OfflineOutcome, RedemptionSource
    from promotions.models import Campaign, Coupon, CouponTemplate, OfflineRedemption, Redemption
    from promotions.services import tokens

    url, run = asgi_server
    server = type("Server", (), {"url": url})

    # HQ creates the campaign and the coupon template in the browser, and publishes
    hq_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    hq = hq_context.new_page()
    try:
        log_in(hq, server, "hq-counter")
        hq_creates_a_campaign_and_a_template(hq, url)
    finally:
        hq_context.close()
    campaign = run(lambda: Campaign.objects.get())
    assert campaign.status == CampaignStatus.PUBLISHED
    template = run(lambda: CouponTemplate.objects.get())
    assert (template.campaign_id, template.threshold, template.amount_off) == (
        campaign.pk,
        Decimal("300.00"),
        Decimal("50.00"),
    )

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
        assert run(lambda: CouponTemplate.objects.get().claimed) == 1
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

    # HQ sees the redemption: on the template's page, and on the store's counter
    hq_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    hq = hq_context.new_page()
    try:
        log_in(hq, server, "hq-counter")
        hq.goto(f"{url}/promotions/templates/{template.pk}/")
        expect(hq.locator("[data-figure=redeemed]")).to_have_text("1")
        hq.goto(f"{url}/promotions/counter/?store={counter_shop['store'].pk}")
        table = hq.locator("table")
        expect(table).to_contain_text(coupon.code[-4:])
        expect(table).to_contain_text("Accepted")
        screenshot(hq, "counter-landscape-hq")
    finally:
        hq_context.close()


def test_a_tablet_takes_a_block_hands_coupons_out_offline_and_returns_the_rest(
    browser, asgi_server, counter_shop
):
    from promotions.choices import BlockStatus, CouponStatus
    from promotions.models import Coupon, CouponTemplate, OfflineBlock
    from promotions.tests.factories import CouponTemplateFactory, PublishedCampaignFactory

    url, run = asgi_server
    store = counter_shop["store"]
    campaign = PublishedCampaignFactory(brand=store.brand, name="Double-11 双十一", stores=[store])
    template = CouponTemplateFactory(brand=store.brand, campaign=campaign, name="Gift ¥20", total_stock=10)
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    try:
        log_in(page, type("Server", (), {"url": url}), "guide-counter")
        page.goto(f"{url}/promotions/counter/")
        page.wait_for_function("() => document.querySelector('[data-counter]').dataset.ready === '1'")
        # landscape: every visible control is a touch target of 44 px or more
        small = page.evaluate(
            """() => [...document.querySelectorAll(
                    '[data-counter] button, [data-counter] select, [data-counter] input:not([type=hidden]):not([type=radio]), [data-counter] textarea')]
                .filter(e => e.offsetParent !== null)
                .map(e => [e.name || e.textContent.trim(), e.getBoundingClientRect().height])
                .filter(([, h]) => h < 44)"""
        )
        assert small == []
        width, inner = no_horizontal_overflow(page)
        assert width <= inner

        # before the network goes: a block of 3 onto this tablet
        page.select_option("[data-counter-block] select[name=template]", label="Gift ¥20")
        page.fill("[data-counter-block] input[name=size]", "3")
        page.click("[data-counter-block] button[type=submit]")
        expect(page.locator("[data-counter-block-status]")).to_contain_text("3 coupons on this tablet")
        assert run(lambda: CouponTemplate.objects.get(pk=template.pk).claimed) == 3

        # offline: two members get one each (one new to the brand, one known)
        context.set_offline(True)
        expect(page.locator("[data-counter-banner]")).to_contain_text("Offline")
        for phone in ("13900001111", "13812345678"):
            page.fill("[data-counter-handout] input[name=phone]", phone)
            page.click("[data-counter-handout] button[type=submit]")
            expect(page.locator("[data-counter-result]")).to_contain_text(phone[-4:])
        expect(page.locator("[data-counter-queue]")).to_contain_text("2 hand-outs waiting to sync")
        expect(page.locator("[data-counter-block-status]")).to_contain_text("1 coupons on this tablet")

        # back online: the hand-outs sync, the unused coupon goes back to stock
        context.set_offline(False)
        expect(page.locator("[data-counter-outcomes] [data-outcome=accepted]")).to_have_count(
            2, timeout=10000
        )
        block = run(lambda: OfflineBlock.objects.get())
        assert (block.status, block.handed_out, block.returned) == (BlockStatus.SYNCED, 2, 1)
        assert run(lambda: CouponTemplate.objects.get(pk=template.pk).claimed) == 2
        claimed = run(
            lambda: sorted(
                Coupon.objects.filter(block=block, status=CouponStatus.CLAIMED).values_list(
                    "member__phone_masked", flat=True
                )
            )
        )
        assert claimed == ["138****5678", "139****1111"]
        expect(page.locator("[data-counter-handout]")).to_be_hidden()
        assert page.errors == []
    finally:
        context.close()
