"""The kiosk page's websocket: token auth, and shelf.changed pushed after a commit."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import override_settings

from retail.asgi import application
from shelves import push
from shelves.choices import ScreenStatus
from shelves.selectors import kiosk as selectors
from shelves.tests.factories import ScreenFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_hosts"),
]


@pytest.fixture
def _hosts():
    with override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"]):
        yield


async def _connect(token):
    communicator = WebsocketCommunicator(
        application, f"/ws/shelf/{token}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


def test_an_unknown_token_is_refused():
    async def scenario():
        communicator, connected, code = await _connect("no-such-token")
        assert not connected and code == 4404

    async_to_sync(scenario)()


def test_a_retired_screen_is_refused(brand):
    screen = ScreenFactory(brand=brand, status=ScreenStatus.RETIRED)

    async def scenario():
        communicator, connected, code = await _connect(screen.token)
        assert not connected and code == 4410

    async_to_sync(scenario)()


def test_the_page_hears_a_committed_change_of_its_screen_only(brand):
    screen = ScreenFactory(brand=brand)
    other = ScreenFactory(brand=brand)

    def change_catalog(target):
        with transaction.atomic():
            catalog = target.day_catalog
            catalog.headline = "Changed"
            catalog.version += 1
            catalog.save()
            push.notify_screens([target.pk], reason="catalog")

    async def scenario():
        communicator, connected, _code = await _connect(screen.token)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello == {"type": "hello", "screen": screen.pk}
        # a change of another screen is not heard
        await database_sync_to_async(change_catalog)(other)
        assert await communicator.receive_nothing(timeout=0.3)
        # the screen is cached with its old catalog version …
        cached = await database_sync_to_async(selectors.screen_for_token)(screen.token)
        assert cached.catalogs["day"].version == 1
        await database_sync_to_async(change_catalog)(screen)
        message = await communicator.receive_json_from(timeout=5)
        assert message == {"type": "shelf.changed", "reason": "catalog"}
        # … and the push dropped it, so the page's refetch sees the new version
        fresh = await database_sync_to_async(selectors.screen_for_token)(screen.token)
        assert fresh.catalogs["day"].version == 2
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_nothing_is_pushed_when_the_transaction_rolls_back(brand):
    screen = ScreenFactory(brand=brand)

    def change_and_fail():
        try:
            with transaction.atomic():
                push.notify_screens([screen.pk])
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    async def scenario():
        communicator, connected, _code = await _connect(screen.token)
        assert connected
        await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(change_and_fail)()
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()
