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
