"""The device registry in a real browser: a store manager registers a device and copies its
credential; the device (simulated over HTTP with that credential) sends heartbeats and shows
online; the store's live dashboard counts it online; it falls silent, the heartbeat watch
runs, the open dashboard's offline count goes from 0 to 1 without a reload, and the device
list shows it offline with an alert. Served by the real ASGI application (websockets too)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_registers_a_device_that_goes_online_then_offline(page, asgi_server, shop):
    from devices.choices import DeviceKind
    from devices.models import Device
    from devices.services.registry import mark_offline_devices
    from devices.tests.factories import DeviceTypeFactory

    url, run = asgi_server
    live_server = type("Server", (), {"url": url})

    # given a device type HQ defined (60 s heartbeats) and the manager of two stores
    DeviceTypeFactory(
        brand=shop["brand"],
        name="Sample dispenser S1",
        kind=DeviceKind.SAMPLE_DISPENSER,
        heartbeat_interval_seconds=60,
    )
    store = shop["stores"][0]
    log_in(page, live_server, "manager")

    # when the manager registers a device in their store
    page.goto(f"{live_server.url}/devices/")
    with page.expect_navigation():
        page.click("text=Register a device")
    page.select_option('select[name="store"]', str(store.pk))
    page.fill('input[name="serial"]', "DISP-0001")
    page.fill('input[name="name"]', "Entrance dispenser")
    page.fill('input[name="sample_stock"]', "120")
    with page.expect_navigation():
        page.click('form button[type="submit"]:has-text("Register")')

    # then the credential is shown once, with the warning to copy it now
    expect(page.locator("h1")).to_have_text("Device registered")
    expect(page.locator(".devices-warning")).to_contain_text("Copy this credential now.")
    credential = page.locator("input[data-credential]").input_value()
    assert credential.startswith("tdv_")
    device = Device.objects.get(brand=shop["brand"], serial="DISP-0001")
    assert device.store_id == store.pk and device.status == "provisioned"
    screenshot(page, "devices-credential")

    # when the device sends heartbeats with its credential, one batch each
    for seq in (1, 2, 3):
        occurred = timezone.now() - timedelta(seconds=10 * (3 - seq))
        answer = httpx.post(
            f"{live_server.url}/api/v1/devices/{device.pk}/events/",
            json={
                "events": [
                    {"seq": seq, "occurred_at": occurred.isoformat(), "type": "heartbeat", "payload": {}}
                ]
            },
            headers={"Authorization": f"Bearer {credential}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == [0]

    # then the list shows it online, seen just now
    page.goto(f"{live_server.url}/devices/")
    row = page.locator(f'tr[data-device-id="{device.pk}"]')
    expect(row.locator("[data-device-status]")).to_have_text("Online")
    expect(page.locator("[data-offline-alert]")).to_have_count(0)

    # and the store's live dashboard counts it online, none offline
    page.goto(f"{live_server.url}/dashboards/store/{store.pk}/")
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("dash-live"))
    online, offline = (
        page.locator('[data-figure="devices.online"]'),
        page.locator('[data-figure="devices.offline"]'),
    )
    expect(online).to_have_text("1")
    expect(offline).to_have_text("0")

    # when it falls silent for more than three heartbeats and the watch runs
    # (off the browser's thread, as in a worker: Playwright's event loop runs in this one)
    assert run(mark_offline_devices, now=timezone.now() + timedelta(minutes=4)) == [device.pk]

    # then the open dashboard's offline count goes from 0 to 1, without a reload
    expect(offline).to_have_text("1", timeout=3000)
    expect(online).to_have_text("0")
    screenshot(page, "devices-dashboard-offline")

    # and the list shows it offline, with the offline alert for the manager
    page.goto(f"{live_server.url}/devices/")
    expect(row.locator("[data-device-status]")).to_have_text("Offline")
    expect(page.locator("[data-offline-alert]")).to_contain_text("1 device is offline")
    expect(page.locator("[data-offline-alert]")).to_contain_text("Entrance dispenser")
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "devices-offline")

    # and the device page shows its heartbeat among the recent events
    with page.expect_navigation():
        row.locator("a").first.click()
    expect(page.locator("h1")).to_have_text("Entrance dispenser")
    expect(page.locator("table")).to_contain_text("heartbeat")
    assert page.errors == []


# --- live: the status badge follows the websocket, no reload ------------------------------------


def test_the_status_badge_follows_the_websocket_without_a_reload(page, asgi_server, shop):
    from devices.choices import DeviceStatus
    from devices.services.registry import mark_offline_devices
    from devices.tests.factories import DeviceFactory

    url, run = asgi_server
    # given an online device in the manager's store, and the manager on the device list
    device = DeviceFactory(
        brand=shop["brand"], store=shop["stores"][0], status=DeviceStatus.ONLINE, last_seen_at=timezone.now()
    )
    log_in(page, type("Server", (), {"url": url}), "manager")
    page.goto(f"{url}/devices/")
    badge = page.locator(f'tr[data-device-id="{device.pk}"] [data-device-status]')
    expect(badge).to_have_text("Online")
    page.wait_for_selector('#device-rows[data-live="connected"]')  # devices.js joined the live groups
    # when the heartbeat watch marks it offline
    assert run(mark_offline_devices, now=timezone.now() + timedelta(minutes=4)) == [device.pk]
    # then the badge turns offline on the open page, without a reload
    expect(badge).to_have_text("Offline")
    expect(badge).to_have_class("badge device-status device-status-offline")
    assert page.errors == []
