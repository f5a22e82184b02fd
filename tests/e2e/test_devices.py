"""The device registry in a real browser: a store manager registers a device and copies its
credential; the device (simulated over HTTP with that credential) sends a heartbeat and shows
online; it falls silent, the heartbeat watch runs, and the list shows it offline with an alert.

The live server is plain WSGI (no websockets), so the page is reloaded to see the new status;
devices.js then fails to open /ws/live/, which is the one console error tolerated here."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def real_errors(page) -> list[str]:
    return [e for e in page.errors if "WebSocket" not in e and "/ws/live/" not in e]


def run_in_worker(fn, **kwargs):
    def call():
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def test_a_manager_registers_a_device_that_goes_online_then_offline(page, live_server, shop):
    from devices.choices import DeviceKind
    from devices.models import Device
    from devices.services.registry import mark_offline_devices
    from devices.tests.factories import DeviceTypeFactory

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

    # when the device sends a heartbeat with its credential
    answer = httpx.post(
        f"{live_server.url}/api/v1/devices/{device.pk}/events/",
        json={
            "events": [
                {"seq": 1, "occurred_at": timezone.now().isoformat(), "type": "heartbeat", "payload": {}}
            ]
        },
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == [0]

    # then the list shows it online, seen just now
    page.goto(f"{live_server.url}/devices/")
    row = page.locator(f'tr[data-device-id="{device.pk}"]')
    expect(row.locator("[data-device-status]")).to_have_text("Online")
    expect(page.locator("[data-offline-alert]")).to_have_count(0)

    # when it falls silent for more than three heartbeats and the watch runs
    # (in a thread of its own, as in a worker: Playwright's event loop runs in this one)
    assert run_in_worker(mark_offline_devices, now=timezone.now() + timedelta(minutes=4)) == [device.pk]

    # then the list shows it offline, with the offline alert for the manager
    page.reload()
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
    assert real_errors(page) == []


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
