"""Browser tests: Playwright drives the system Chromium against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, and Django refuses ORM calls
from a thread with a running loop unless told it is safe (it is: the loop only talks to
the browser). Set before any test touches the database.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "pass-1234"

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser():
    # Per module, not per session: sync Playwright keeps an event loop running in this
    # thread while it lives, and async_to_sync (channels, events) refuses to run in a thread
    # with a running loop. Stopping it after each browser module lets the same worker go on
    # with the rest of the suite, so one pytest run holds everything.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh tablet-sized page (768x1024) that records console errors and page errors."""
    context = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()


@pytest.fixture
def shop(transactional_db):
    """One brand with three stores, staff in every role, a catalog, members and 30 days of orders."""
    from members.tests.factories import MemberFactory
    from retail.choices import Channel, Role
    from retail.tests.factories import (
        BrandFactory,
        OrderFactory,
        ProductFactory,
        StaffRoleFactory,
        StoreFactory,
        UserFactory,
    )

    brand = BrandFactory(name="Tiandi Demo 天地示范品牌", slug="demo")
    stores = [
        StoreFactory(
            brand=brand, code="SH001", name="上海南京西路旗舰店 Nanjing West Road Flagship", city="上海"
        ),
        StoreFactory(brand=brand, code="BJ001", name="北京三里屯店", city="北京"),
        StoreFactory(brand=brand, code="GZ001", name="广州天河城店", city="广州"),
    ]
    hq = UserFactory(username="hq", first_name="Hua", last_name="Qiao", password=PASSWORD)
    StaffRoleFactory(user=hq, brand=brand, role=Role.HQ_ADMIN)
    manager = UserFactory(username="manager", password=PASSWORD)
    StaffRoleFactory(user=manager, brand=brand, store=stores[0], role=Role.STORE_MANAGER)
    StaffRoleFactory(user=manager, brand=brand, store=stores[1], role=Role.STORE_MANAGER)
    guide = UserFactory(username="guide", password=PASSWORD)
    StaffRoleFactory(user=guide, brand=brand, store=stores[0], role=Role.GUIDE)
    for i in range(60):
        ProductFactory(
            brand=brand, sku=f"TD-{i:04d}", name=f"天地 Silk scarf 丝巾 {i}", price=Decimal("1299.00")
        )
    members = [
        MemberFactory(brand=brand, store=stores[0], guide=guide, phone=f"138{i:08d}", name="王小明")
        for i in range(8)
    ]
    now = timezone.now()
    channels = [Channel.STORE, Channel.ONLINE, Channel.CLOUD_SHELF]
    for i in range(45):
        OrderFactory(
            brand=brand,
            store=stores[i % 3],
            channel=channels[i % 3],
            member=members[i % len(members)],
            guide=guide if i % 3 == 0 else None,
            subtotal=Decimal("1299.00") + i,
            total=Decimal("1299.00") + i,
            paid_at=now - timedelta(days=i % 28, hours=i % 5),  # inside the 30-day window
        )
    from retail import audit
    from retail.choices import AuditAction

    for store in stores:
        audit.record(
            AuditAction.UPDATE,
            store,
            actor_id=hq.pk,
            actor_label="hq",
            before={"status": "onboarding"},
            after={"status": "live"},
            message="Opened the store",
        )
    return {"brand": brand, "stores": stores, "hq": hq, "manager": manager, "guide": guide}


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('form button[type="submit"]:has-text("Log in")')


def no_horizontal_overflow(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def asgi_server(transactional_db, settings):
    """The real ASGI application (HTTP + every websocket route) served by uvicorn in a
    thread: the plain live server has no websockets. Yields (base url, run):
    `run(fn, **kwargs)` calls sync code off the browser's thread, as a worker would, with
    the same channel layer, so what it broadcasts or pushes after commit reaches the page."""
    import asyncio
    import socket
    import threading

    import uvicorn
    from asgiref.sync import sync_to_async
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from retail.routing import websocket_urlpatterns

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    application = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(server.serve()), daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        threading.Event().wait(0.05)

    def run(fn, **kwargs):
        def call():
            try:
                return fn(**kwargs)
            finally:
                from django.db import connection

                connection.close()  # this executor thread's own connection

        return asyncio.run_coroutine_threadsafe(sync_to_async(call, thread_sensitive=False)(), loop).result(
            10
        )

    yield f"http://127.0.0.1:{port}", run
    server.should_exit = True
    thread.join(5)
