"""Staff notifications in a real browser: a store manager is on the device list when one of
their devices goes offline (the heartbeat watch runs with the clock advanced, as a worker
would); without a reload the bell's count rises and the offline alert box appears; the
inbox shows the alert, opening it leads to the device and clears the bell; the device
coming back resolves it. HQ marks notifications read in the inbox and the bell follows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_managers_bell_rings_when_a_device_goes_offline(page, asgi_server, shop):
    from devices.choices import DeviceStatus
    from devices.services.registry import mark_offline_devices, record_heartbeat
    from devices.tests.factories import DeviceFactory, DeviceTypeFactory

    url, run = asgi_server
    brand, store = shop["brand"], shop["stores"][0]
    # given an online device in the manager's store, and the manager on the device list
    device = DeviceFactory(
        brand=brand,
        store=store,
        name="Entrance dispenser",
        status=DeviceStatus.ONLINE,
        last_seen_at=timezone.now(),
        device_type=DeviceTypeFactory(brand=brand, heartbeat_interval_seconds=60),
    )
    log_in(page, type("Server", (), {"url": url}), "manager")
    page.goto(f"{url}/devices/")
    bell = page.locator("#notification-bell")
    expect(bell).to_have_attribute("data-unread", "0")
    expect(page.locator("[data-offline-alert]")).to_have_count(0)
    page.wait_for_selector('#device-rows[data-live="connected"]')  # joined the live groups

    # when the heartbeat watch finds it silent (four minutes on)
    assert run(mark_offline_devices, now=timezone.now() + timedelta(minutes=4)) == [device.pk]

    # then, without a reload, the bell counts one and the offline alert box appears
    expect(bell).to_have_attribute("data-unread", "1")
    expect(bell.locator("[data-bell-count]")).to_contain_text("1")
    expect(page.locator("[data-offline-alert]")).to_contain_text("1 device is offline")
    expect(page.locator("[data-offline-alert]")).to_contain_text("Entrance dispenser")
    screenshot(page, "notifications-bell")

    # when the manager opens the inbox from the bell
    with page.expect_navigation():
        bell.click()
    expect(page.locator("h1")).to_have_text("Notifications")
    row = page.locator(".notification").first
    expect(row).to_contain_text("Entrance dispenser is offline")
    expect(row).to_contain_text(store.name)
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "notifications-inbox")

    # and opens the notification: the device's page, and the bell is clear
    with page.expect_navigation():
        row.locator("button.notification-link").click()
    expect(page.locator("h1")).to_have_text("Entrance dispenser")
    expect(page.locator("#notification-bell")).to_have_attribute("data-unread", "0")

    # when the device comes back, its alert is resolved in the inbox
    run(record_heartbeat, device=device)
    page.goto(f"{url}/notifications/")
    expect(page.locator(".notification").first.locator("[data-resolved]")).to_be_visible()
    assert page.errors == []


def test_marking_read_in_the_inbox_updates_the_bell_in_place(page, asgi_server, shop):
    from retail import notifications
    from retail.models import NotificationKind

    url, run = asgi_server
    for key in ("a", "b"):
        run(
            notifications.notify_brand_hq,
            brand_id=shop["brand"].pk,
            kind=NotificationKind.WEBHOOK_PAUSED,
            message="webhook_paused",
            params={"url": f"https://partner.example/{key}"},
            dedupe_key=key,
        )
    log_in(page, type("Server", (), {"url": url}), "hq")
    page.goto(f"{url}/notifications/")
    bell = page.locator("#notification-bell")
    expect(bell).to_have_attribute("data-unread", "2")
    # when HQ marks one read (htmx: the row is swapped, the bell follows)
    page.locator("[data-mark-read]").first.click()
    expect(bell).to_have_attribute("data-unread", "1")
    expect(page.locator("[data-mark-read]")).to_have_count(1)
    # when HQ marks them all read
    with page.expect_navigation():
        page.click("[data-mark-all-read]")
    expect(page.locator("#notification-bell")).to_have_attribute("data-unread", "0")
    expect(page.locator(".notification")).to_have_count(2)
    assert page.errors == []


def test_the_bell_follows_live_on_the_command_centre(page, asgi_server, shop):
    import re

    from retail import notifications
    from retail.models import NotificationKind

    url, run = asgi_server
    # given HQ on the command centre, its dashboard socket live
    log_in(page, type("Server", (), {"url": url}), "hq")
    page.goto(f"{url}/dashboards/hq/")
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("dash-live"))
    bell = page.locator("#notification-bell")
    expect(bell).to_have_attribute("data-unread", "0")
    # when a partner's webhook is paused (HQ is notified)
    run(
        notifications.notify_brand_hq,
        brand_id=shop["brand"].pk,
        kind=NotificationKind.WEBHOOK_PAUSED,
        message="webhook_paused",
        params={"url": "https://partner.example/hook"},
        dedupe_key="paused-1",
    )
    # then the bell counts it without a reload (well before the minute's poll)
    expect(bell).to_have_attribute("data-unread", "1", timeout=5000)
    assert page.errors == []
