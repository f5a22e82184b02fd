"""The partner console in a real browser: HQ creates a partner, issues a token, subscribes a
loopback receiver; the partner records an order through the API with that token; HQ sees the
delivery (with its attempt) and the request in the console, and the read-only share link
shows the same without a single write button."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import expect

from retail import requestlog
from retail.tests.receiver import Receiver

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    requestlog.discard()
    found = Receiver()
    yield found
    found.stop()
    requestlog.discard()


def test_hq_onboards_a_partner_and_sees_its_delivery_and_request(page, live_server, shop, receiver):
    from retail.models import ApiClient

    log_in(page, live_server, "hq")

    # when HQ creates a partner with order scopes from the main navigation
    page.goto(f"{live_server.url}/")
    page.click("nav.mainnav >> text=Partners")
    page.fill('input[name="name"]', "Acme POS")
    for scope in ("orders:read", "orders:write", "webhooks:read"):
        page.check(f'input[name="scopes"][value="{scope}"]')
    with page.expect_navigation():
        page.click('button:has-text("Create partner")')
    expect(page.locator("h1")).to_contain_text("Acme POS")
    client = ApiClient.objects.get(brand=shop["brand"], name="Acme POS")
    assert client.scopes == ["orders:read", "orders:write", "webhooks:read"]

    # and issues a token, shown once
    page.click('button:has-text("Issue a token")')
    token_input = page.locator('[data-testid="new-token"]')
    expect(token_input).to_be_visible()
    token = token_input.input_value()
    assert token.startswith("tdk_")

    # and subscribes the partner's endpoint (a loopback receiver) to new orders
    page.click('summary:has-text("New subscription")')
    page.fill('input[name="url"]', receiver.url)
    page.check('input[name="event_types"][value="order.created"]')
    page.click('button:has-text("Subscribe")')
    expect(page.locator('[data-testid="new-secret"]')).to_be_visible()
    assert page.locator('[data-testid="new-secret"]').input_value().startswith("whsec_")
    expect(page.locator("#console-subscriptions")).to_contain_text(receiver.url)

    # when the partner records an order through the API with that token
    store, product = shop["stores"][0], shop["brand"].products.order_by("sku").first()
    answer = httpx.post(
        f"{live_server.url}/api/v1/orders/",
        json={
            "external_id": "POS-E2E-1",
            "channel": "store",
            "store_code": store.code,
            "lines": [{"sku": product.sku, "quantity": 1}],
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "e2e-1"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    # then the receiver got the order, signed
    assert len(receiver.received) == 1
    assert json.loads(receiver.received[0]["body"])["event"] == "order.created"

    # and HQ sees the delivery and the request in the console
    page.reload()
    deliveries = page.locator("#console-deliveries")
    expect(deliveries).to_contain_text("order.created")
    expect(deliveries).to_contain_text("Delivered")
    deliveries.locator('button:has-text("Attempts")').first.click()
    expect(deliveries.locator(".console-attempts")).to_contain_text("200")
    requests = page.locator("#console-requests")
    expect(requests).to_contain_text("POST /api/v1/orders/")
    expect(requests).to_contain_text("201")
    expect(page.locator('[data-chart="console-requests"] canvas')).to_have_count(1)
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport + 1, f"the console scrolls sideways: {width} > {viewport}"
    screenshot(page, "partner-console")

    # and the share link shows the same, read-only, to someone not logged in
    share_url = page.locator('[data-testid="share-url"]').input_value()
    page.context.clear_cookies()
    page.goto(share_url)
    expect(page.locator("h1")).to_contain_text("Acme POS")
    expect(page.locator("#console-requests")).to_contain_text("POST /api/v1/orders/")
    expect(page.locator("#console-deliveries")).to_contain_text("order.created")
    assert page.locator('button:has-text("Issue a token")').count() == 0
    assert page.locator('button:has-text("Redeliver")').count() == 0
    assert page.locator('button[name="op"]').count() == 0
    assert token not in page.content()
    screenshot(page, "partner-console-shared")
    assert page.errors == []


def test_a_partner_user_logs_in_and_runs_its_own_console(page, live_server, shop, receiver):
    """HQ adds a partner admin on the console; the person logs in with the one-time password,
    lands on the partner's console, issues a narrowed token, subscribes its endpoint, sees
    the delivery of an order it records through the API, and is refused every staff page."""
    from retail import services

    partner = services.create_api_client(
        brand=shop["brand"], name="Acme POS", scopes=["orders:read", "orders:write", "webhooks:read"]
    )
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/partners/{partner.pk}/")

    # HQ adds a partner admin; the one-time password shows once
    users = page.locator("#console-users")
    users.locator('summary:has-text("Add a partner user")').click()
    users.locator('input[name="username"]').fill("li.lei")
    users.locator('select[name="access"]').select_option("admin")
    users.locator('button:has-text("Add user")').click()
    expect(page.locator('[data-testid="new-password"]')).to_be_visible()
    password = page.locator('[data-testid="new-password"]').input_value()
    expect(page.locator('[data-testid="partner-users"]')).to_contain_text("li.lei")

    # the person logs in on the usual page and lands on the partner's console
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', "li.lei")
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.click('form button[type="submit"]:has-text("Log in")')
    page.wait_for_url(f"**/partners/{partner.pk}/")
    expect(page.locator("h1")).to_contain_text("Acme POS")
    assert page.locator('[data-testid="scopes-form"]').count() == 0
    assert page.locator("#console-users").count() == 0

    # it issues a token for orders only, shown once
    page.check('#console-tokens input[name="scopes"][value="orders:write"]')
    page.click('button:has-text("Issue a token")')
    expect(page.locator('[data-testid="new-token"]')).to_be_visible()
    token = page.locator('[data-testid="new-token"]').input_value()

    # and subscribes its endpoint to new orders
    page.click('summary:has-text("New subscription")')
    page.fill('input[name="url"]', receiver.url)
    page.check('input[name="event_types"][value="order.created"]')
    page.click('button:has-text("Subscribe")')
    expect(page.locator('[data-testid="new-secret"]')).to_be_visible()

    # an order through the API with that token reaches the receiver; the console shows it
    store, product = shop["stores"][0], shop["brand"].products.order_by("sku").first()
    answer = httpx.post(
        f"{live_server.url}/api/v1/orders/",
        json={
            "external_id": "POS-E2E-P1",
            "channel": "store",
            "store_code": store.code,
            "lines": [{"sku": product.sku, "quantity": 1}],
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "e2e-p1"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    listing = httpx.get(
        f"{live_server.url}/api/v1/orders/", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert listing.status_code == 403  # the token holds orders:write only
    assert len(receiver.received) == 1
    page.reload()
    expect(page.locator("#console-deliveries")).to_contain_text("order.created")
    expect(page.locator("#console-requests")).to_contain_text("POST /api/v1/orders/")
    screenshot(page, "partner-console-partner-user")
    assert page.errors == []

    # every staff page is refused
    for path in ("/stores/", "/members/", "/partners/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403, path
