"""Browser: the live dashboards change without a reload when orders come in."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot


def _post_order(url, token, external_id, sku, quantity, guide=None):
    response = httpx.post(
        f"{url}/api/v1/orders/",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": external_id},
        json={
            "external_id": external_id,
            "channel": "store",
            "store_code": "SH001",
            "lines": [{"sku": sku, "quantity": quantity}],
            **({"guide": guide} if guide else {}),
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_the_store_dashboard_shows_an_orders_gmv_without_a_reload(page, asgi_server, shop):
    from retail.tests.factories import api_token

    url, _run = asgi_server
    token = api_token(shop["brand"])
    store = shop["stores"][0]
    # given the manager on the store's dashboard (no order today yet through events)
    log_in(page, type("Server", (), {"url": url}), "manager")
    page.goto(f"{url}/dashboards/store/{store.pk}/")
    gmv = page.locator('[data-figure="gmv"]')
    expect(gmv).to_have_text("¥0.00")
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("dash-live"))
    # when the POS posts an order through the API
    _post_order(url, token, "POS-LIVE-1", "TD-0001", 2)
    # then GMV, orders and AOV change on the open page within 2 s, without a reload
    expect(gmv).to_have_text("¥2,598.00", timeout=2000)
    expect(page.locator('[data-figure="orders"]')).to_have_text("1")
    # and a guide's sale puts the guide on the leaderboard, live too
    from django.contrib.auth import get_user_model

    guide = get_user_model().objects.get(username="guide")
    _post_order(url, token, "POS-LIVE-2", "TD-0002", 1, guide=guide.pk)
    expect(gmv).to_have_text("¥3,897.00", timeout=2000)
    expect(page.locator('[data-figure="aov"]')).to_have_text("¥1,948.50")
    board = page.locator(f'[data-leaderboard] tr[data-guide="{guide.pk}"]')
    expect(board).to_contain_text("¥1,299.00", timeout=3000)
    assert int(page.evaluate("document.querySelector('[data-dashboard]').dataset.seq")) >= 2
    assert page.errors == []
    screenshot(page, "dashboard-store")


def test_a_gap_in_the_sequence_makes_the_page_resync(page, asgi_server, shop):
    from retail.dashboards.models import DashboardSeq

    url, run = asgi_server
    token = api_token_for(shop)
    store = shop["stores"][0]
    log_in(page, type("Server", (), {"url": url}), "manager")
    page.goto(f"{url}/dashboards/store/{store.pk}/")
    dashboard = page.locator("[data-dashboard]")
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("dash-live"))
    _post_order(url, token, "POS-GAP-1", "TD-0001", 1)
    expect(dashboard).to_have_attribute("data-seq", "1")
    # when a delta is lost (the sequence jumps: seq 2 never reaches the page)
    run(lambda: DashboardSeq.objects.filter(key=f"s{store.pk}").update(seq=2))
    _post_order(url, token, "POS-GAP-2", "TD-0002", 1)
    # then the page asks for a snapshot and shows both orders
    expect(dashboard).to_have_attribute("data-resyncs", "1")
    expect(dashboard).to_have_attribute("data-seq", "3")
    expect(page.locator('[data-figure="gmv"]')).to_have_text("¥2,598.00")
    expect(page.locator('[data-figure="orders"]')).to_have_text("2")
    assert page.errors == []


def api_token_for(shop):
    from retail.tests.factories import api_token

    return api_token(shop["brand"])


def test_the_command_centre_ticks_and_has_a_wall_mode(page, asgi_server, shop):
    from retail.tests.factories import api_token

    url, _run = asgi_server
    token = api_token(shop["brand"])
    log_in(page, type("Server", (), {"url": url}), "hq")
    page.goto(f"{url}/dashboards/hq/?wall=1")
    assert page.locator(".topbar").count() == 0
    expect(page.locator("[data-live-status]")).to_have_class(re.compile("dash-live"))
    _post_order(url, token, "POS-HQ-1", "TD-0003", 1)
    expect(page.locator('[data-figure="gmv"]')).to_have_text("¥1,299.00", timeout=2000)
    row = page.locator(f'tr[data-store-id="{shop["stores"][0].pk}"]')
    expect(row.locator("td").nth(2)).to_have_text("¥1,299.00")
    expect(page.locator("[data-cities] tr").first.locator("td").nth(2)).to_have_text("¥1,299.00")
    # the store with the sale now leads the table
    expect(page.locator("[data-stores] tr").first).to_have_attribute(
        "data-store-id", str(shop["stores"][0].pk)
    )
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    assert page.errors == []
    screenshot(page, "dashboard-hq-wall")


def test_a_guide_cannot_open_the_command_centre(page, asgi_server, shop):
    url, _run = asgi_server
    log_in(page, type("Server", (), {"url": url}), "guide")
    response = page.goto(f"{url}/dashboards/hq/")
    assert response.status == 403


class RestartableServer:
    """The ASGI application on a fixed port that can be stopped and started again (the
    shared asgi_server fixture serves once)."""

    def __init__(self):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self):
        import asyncio
        import threading

        import uvicorn
        from channels.auth import AuthMiddlewareStack
        from channels.routing import ProtocolTypeRouter, URLRouter
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application

        from retail.routing import websocket_urlpatterns

        application = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(get_asgi_application()),
                "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            }
        )
        self.server = uvicorn.Server(
            uvicorn.Config(application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=lambda: loop.run_until_complete(self.server.serve()), daemon=True
        )
        self.thread.start()
        for _ in range(100):
            if self.server.started:
                return
            threading.Event().wait(0.05)
        raise RuntimeError("the server did not start")

    def stop(self):
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def restartable(transactional_db, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    server = RestartableServer()
    server.start()
    yield server
    server.stop()


def test_the_dashboard_reconnects_after_a_restart_and_shows_correct_figures(page, restartable, shop):
    from retail import services
    from retail.models import Product

    store = shop["stores"][0]
    log_in(page, restartable, "manager")
    page.goto(f"{restartable.url}/dashboards/store/{store.pk}/")
    status = page.locator("[data-live-status]")
    expect(status).to_have_class(re.compile("dash-live"))
    # when the server goes away, and an order is recorded meanwhile (a worker folds it)
    restartable.stop()
    expect(status).not_to_have_class(re.compile("dash-live"))
    product = Product.objects.get(brand=shop["brand"], sku="TD-0005")

    def record():
        from django.db import connection

        try:
            services.record_order(
                brand=shop["brand"],
                external_id="WHILE-DOWN",
                channel="store",
                store=store,
                lines=[{"product": product, "quantity": 1}],
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(record).result(10)
    # then, once the server is back, the page reconnects and its snapshot has the order
    restartable.start()
    expect(status).to_have_class(re.compile("dash-live"), timeout=10000)
    expect(page.locator('[data-figure="gmv"]')).to_have_text("¥1,299.00", timeout=5000)
    expect(page.locator('[data-figure="orders"]')).to_have_text("1")
