"""Browser: an influencer guide makes a share link, sees its QR code and poster, copies it;
a shopper opens it on a phone and the click is counted; a manager sees the conversion funnel
and schedules a livestream. At 1024x768 and 768x1024; no console errors (CSP)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

VIEWPORTS = [(1024, 768), (768, 1024)]


@pytest.fixture
def sharing_shop(shop):
    from guides.choices import InteractionKind
    from guides.models import Conversion
    from guides.tests.factories import GuideProfileFactory, InteractionFactory
    from members.models import Member
    from retail.tests.factories import OrderFactory

    store = shop["stores"][0]
    GuideProfileFactory(
        brand=shop["brand"], store=store, user=shop["guide"], tracking_code="G00088", is_influencer=True
    )
    member = Member.objects.filter(store=store).first()
    call = InteractionFactory(
        brand=shop["brand"],
        store=store,
        guide=shop["guide"],
        member=member,
        kind=InteractionKind.CALL,
        answered=True,
        occurred_at=timezone.now() - dt.timedelta(minutes=5),
    )
    InteractionFactory(
        brand=shop["brand"],
        store=store,
        guide=shop["guide"],
        member=member,
        kind=InteractionKind.CALL,
        answered=False,
        occurred_at=timezone.now() - dt.timedelta(minutes=4),
    )
    order = OrderFactory(brand=shop["brand"], store=store, member=member, total=Decimal("1299.00"))
    Conversion.objects.create(
        brand=shop["brand"],
        store=store,
        guide=shop["guide"],
        member=member,
        order=order,
        interaction=call,
        amount=order.total,
        ordered_at=order.paid_at,
    )
    return shop


@pytest.mark.parametrize("width,height", VIEWPORTS, ids=["landscape", "portrait"])
def test_a_guide_shares_a_link_a_shopper_opens_it_and_the_manager_sees_the_funnel(
    browser, live_server, sharing_shop, width, height
):
    from guides.models import ShareLink

    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "guide")
    page.goto(f"{live_server.url}/guides/links/")
    page.select_option('select[name="platform"]', "douyin")
    page.fill('input[name="sku"]', "TD-0003")
    with page.expect_navigation():
        page.click('button:has-text("Make link")')
    link = ShareLink.objects.get()
    expect(page.locator(".link-qr svg")).to_be_visible()
    poster = page.locator("img.link-poster")
    poster.scroll_into_view_if_needed()
    expect(poster).to_have_js_property("naturalWidth", 750)
    expect(page.locator("#link-url")).to_have_value(f"{live_server.url}/g/{link.code}/")
    box = page.locator('button:has-text("Copy link")').bounding_box()
    assert box["height"] >= 44
    scroll, inner = no_horizontal_overflow(page)
    assert scroll <= inner
    screenshot(page, f"guides-link-{width}x{height}")
    # a shopper on a phone
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    shopper = phone.new_page()
    shopper.goto(f"{live_server.url}/g/{link.code}/")
    expect(shopper.locator(".share-title")).to_contain_text("Silk scarf")
    expect(shopper.locator(".share-price")).to_contain_text("¥1299.00")
    phone.close()
    link.refresh_from_db()
    assert link.clicks == 1
    # the guide's own numbers, then the manager's funnel
    page.goto(f"{live_server.url}/guides/performance/")
    expect(page.locator('[data-total="interactions"]')).to_have_text("2")
    expect(page.locator('[data-chart="funnel"] canvas')).to_have_count(1)
    context.close()
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/guides/performance/")
    expect(page.locator('[data-total="gmv"]')).to_have_text("1299.00")
    expect(page.locator('[data-chart="funnel"] canvas')).to_have_count(1)
    scroll, inner = no_horizontal_overflow(page)
    assert scroll <= inner
    screenshot(page, f"guides-performance-{width}x{height}")
    page.goto(f"{live_server.url}/guides/links/")
    expect(page.locator(f'[data-link="{link.code}"] [data-clicks]')).to_have_text("1")
    context.close()
    assert not errors, errors
