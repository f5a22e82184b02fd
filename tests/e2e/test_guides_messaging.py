"""Messaging in a real browser: a store manager sends a broadcast from a desktop-sized page
and watches its figures (sent, skipped by reason, delivered) and chart; a guide on a
portrait tablet messages a member 1:1 and is told when a message is skipped and why."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def messaging_shop(transactional_db, settings):
    from guides.models import GuideSettings
    from guides.tests.factories import guide_in
    from members.tests.factories import MemberFactory
    from retail.choices import Role
    from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory, UserFactory

    settings.MESSAGING_SIMULATOR_STEP_SECONDS = 0
    brand = BrandFactory(name="Tiandi Demo 天地示范品牌", slug="demo-messaging")
    store = StoreFactory(brand=brand, code="SH001", name="上海南京西路旗舰店")
    GuideSettings.objects.create(brand=brand, quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0))
    manager = UserFactory(username="manager-msg", password=PASSWORD)
    StaffRoleFactory(user=manager, brand=brand, store=store, role=Role.STORE_MANAGER)
    guide = guide_in(store, username="guide-msg")
    guide.set_password(PASSWORD)
    guide.save()
    members = [
        MemberFactory(brand=brand, store=store, guide=guide, phone=f"1370000{i:04d}", consent_sms=i != 0)
        for i in range(4)
    ]
    return {"store": store, "guide": guide, "members": members}


def test_a_manager_broadcasts_and_sees_the_figures(page, live_server, messaging_shop):
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, live_server, "manager-msg")
    page.goto(f"{live_server.url}/guides/messages/")
    expect(page.locator("h1")).to_have_text("Broadcasts")
    page.select_option("[data-broadcast-form] select[name=audience]", "store_members")
    page.fill("[data-broadcast-form] textarea[name=body]", "Double-11 warm-up 双十一预热")
    with page.expect_navigation():
        page.click("[data-broadcast-form] button[type=submit]")
    box = page.locator("[data-broadcast-figures]")
    expect(box).to_have_attribute("data-status", "done", timeout=15000)
    expect(page.locator("[data-figure=targeted] strong")).to_have_text("4")
    expect(page.locator("[data-figure=sent] strong")).to_have_text("3")
    expect(page.locator("[data-figure=skipped_no_consent] strong")).to_have_text("1")
    expect(page.locator("[data-figure=delivered] strong")).to_have_text("3")
    expect(page.locator("[data-broadcast-chart] canvas")).to_have_count(1)
    width, inner = no_horizontal_overflow(page)
    assert width <= inner
    screenshot(page, "guides-broadcast-detail")
    assert not page.errors, page.errors


def test_a_guide_is_told_why_a_message_was_skipped(page, live_server, messaging_shop):
    page.set_viewport_size({"width": 768, "height": 1024})
    no_sms, ok = messaging_shop["members"][0], messaging_shop["members"][1]
    log_in(page, live_server, "guide-msg")
    page.goto(f"{live_server.url}/guides/messages/send/{no_sms.pk}/")
    page.select_option("[data-message-box] select[name=channel]", "sms")
    page.fill("[data-message-box] textarea[name=body]", "您好")
    page.click("[data-message-box] button[type=submit]")
    expect(page.locator("[data-message-status]")).to_have_attribute("data-message-status", "skipped")
    expect(page.locator("[data-message-status]")).to_contain_text("No consent on this channel")
    button = page.locator("[data-message-box] button[type=submit]").bounding_box()
    assert button and button["height"] >= 44
    page.goto(f"{live_server.url}/guides/messages/send/{ok.pk}/")
    page.select_option("[data-message-box] select[name=channel]", "sms")
    page.fill("[data-message-box] textarea[name=body]", "秋季新品到店")
    page.click("[data-message-box] button[type=submit]")
    expect(page.locator("[data-message-status]")).to_contain_text("Message sent.")
    screenshot(page, "guides-message-portrait")
    assert not page.errors, page.errors
