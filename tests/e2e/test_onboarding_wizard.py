"""The onboarding wizard in a real browser: the manager of a new store fills in its address,
invites a guide (the one-time password shows once), sees the shelf screen already set up,
watches the devices step until the store's device — simulated over HTTP with its own
credential — sends its first heartbeat (the step re-checks itself every 3 s, no reload),
confirms the QR code printed, and turns the store live."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def run_in_worker(fn, **kwargs):
    def call():
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


@pytest.fixture
def new_store(transactional_db):
    from devices.choices import DeviceKind
    from devices.services.registry import register_device
    from devices.tests.factories import DeviceTypeFactory
    from retail.choices import Role, StoreStatus
    from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory, UserFactory
    from shelves.tests.factories import ScreenFactory

    brand = BrandFactory(name="Tiandi Demo", slug="demo-onb")
    store = StoreFactory(
        brand=brand,
        code="HZ001",
        name="杭州西湖店 West Lake",
        city="杭州",
        address="",
        status=StoreStatus.ONBOARDING,
    )
    manager = UserFactory(username="manager", password=PASSWORD)
    StaffRoleFactory(user=manager, brand=brand, store=store, role=Role.STORE_MANAGER)
    ScreenFactory(brand=brand, store=store, name="Entrance screen")
    device_type = DeviceTypeFactory(brand=brand, name="Magic mirror M1", kind=DeviceKind.MAGIC_MIRROR)
    device, credential = run_in_worker(
        register_device, store=store, device_type=device_type, serial="MIRROR-01", name="Fitting mirror"
    )
    return {"store": store, "device": device, "credential": credential}


def test_a_manager_walks_the_wizard_and_the_store_goes_live(page, live_server, new_store):
    from retail.choices import StoreStatus
    from retail.models import Store, StoreOnboarding

    store, device = new_store["store"], new_store["device"]
    wizard = f"{live_server.url}/onboarding/stores/{store.pk}/"
    log_in(page, live_server, "manager")

    # the wizard opens on the first open step: basic data, the address missing
    page.goto(wizard)
    panel = page.locator("#onboarding-panel")
    expect(panel).to_have_attribute("data-step", "basics")
    expect(panel.locator(".onb-missing")).to_contain_text("Address is missing.")
    page.fill('input[name="address"]', "1 Beishan Road")
    with page.expect_navigation():
        page.click("text=Save basic data")
    expect(panel.locator('[data-status="done"]')).to_be_visible()

    # staff: the manager invites a guide; the one-time password shows once
    with page.expect_navigation():
        page.click('.onb-step[data-step="staff"] a')
    page.select_option('select[name="role"]', "guide")
    page.fill('input[name="username"]', "hz-guide")
    with page.expect_navigation():
        page.click("text=Create account")
    expect(page.locator("[data-password]")).to_be_visible()
    expect(page.locator('.onb-step[data-step="staff"]')).to_have_class("onb-step is-done is-selected")

    # catalog and screens: the screen set up earlier counts
    expect(page.locator('.onb-step[data-step="catalog_screens"]')).to_have_class("onb-step is-done")

    # devices: waiting for the mirror's first heartbeat, re-checked every few seconds
    with page.expect_navigation():
        page.click('.onb-step[data-step="devices"] a')
    expect(panel).to_contain_text("Waiting for its first heartbeat")
    expect(panel.locator('[data-status="open"]')).to_be_visible()
    screenshot(page, "onboarding-devices-waiting")
    answer = httpx.post(
        f"{live_server.url}/api/v1/devices/{device.pk}/events/",
        json={
            "events": [
                {"seq": 1, "occurred_at": timezone.now().isoformat(), "type": "heartbeat", "payload": {}}
            ]
        },
        headers={"Authorization": f"Bearer {new_store['credential']}"},
    )
    assert answer.status_code == 200, answer.text
    # then, without a reload, the step turns done and the stepper follows
    expect(page.locator('#onboarding-panel [data-status="done"]')).to_be_visible(timeout=10_000)
    expect(page.locator(".onb-connected")).to_have_text("1")
    expect(page.locator('.onb-step[data-step="devices"]')).to_have_class("onb-step is-done is-selected")

    # the member-recruitment QR code, printed and confirmed
    with page.expect_navigation():
        page.click('.onb-step[data-step="recruitment_qr"] a')
    expect(page.locator(".onb-qr-code svg")).to_be_visible()
    with page.expect_navigation():
        page.click("text=The QR code is printed and up")
    expect(page.locator('.onb-step[data-step="recruitment_qr"]')).to_have_class(
        "onb-step is-done is-selected"
    )

    # rehearsal: no published campaign, not required; go live
    expect(page.locator('.onb-step[data-step="rehearsal"]')).to_contain_text("Not required")
    with page.expect_navigation():
        page.click('.onb-step[data-step="go_live"] a')
    expect(page.locator("text=Every required step is done.")).to_be_visible()
    with page.expect_navigation():
        page.click("button.onb-go-live")
    expect(page.locator(".messages")).to_contain_text("is live.")
    expect(page.locator(".page-head .badge")).to_have_text("Live")
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "onboarding-live")

    assert Store.objects.get(pk=store.pk).status == StoreStatus.LIVE
    onboarding = StoreOnboarding.objects.get(store=store)
    assert onboarding.live_at is not None and onboarding.current_step == ""

    # the store's page shows the onboarding with the time per step
    page.goto(f"{live_server.url}/stores/{store.pk}/")
    expect(page.locator(".onb-progress")).to_contain_text("Devices connected")
    assert page.errors == []


def test_hq_sees_the_stores_in_onboarding_with_their_stuck_step_and_chart(page, live_server, new_store):
    from retail.choices import Role
    from retail.tests.factories import StaffRoleFactory, UserFactory

    store = new_store["store"]
    hq = UserFactory(username="hq", password=PASSWORD)
    StaffRoleFactory(user=hq, brand=store.brand, role=Role.HQ_ADMIN)
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/stores/")
    with page.expect_navigation():
        page.click("text=Stores in onboarding")
    row = page.locator('tr[data-store="HZ001"]')
    expect(row.locator(".onb-stuck")).to_have_text("Basic data")
    page.wait_for_selector('[data-chart="onboarding-stuck"] canvas')
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "onboarding-hq-list")
    with page.expect_navigation():
        row.locator("text=Wizard").click()
    expect(page.locator("#onboarding-panel")).to_have_attribute("data-step", "basics")
    assert page.errors == []
