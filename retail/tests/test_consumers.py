import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from retail.asgi import application
from retail.services import create_store

pytestmark = pytest.mark.django_db(transaction=True)


def _session_cookie(client, user):
    client.force_login(user)
    return client.cookies["sessionid"].value


async def _connect(cookie):
    communicator = WebsocketCommunicator(
        application,
        "/ws/live/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


@override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"])
def test_live_socket_pushes_events_of_the_users_brand_only(client, brand, other_brand, hq_user):
    from asgiref.sync import async_to_sync

    cookie = _session_cookie(client, hq_user)

    async def scenario():
        communicator, connected, _ = await _connect(cookie)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello == {"type": "hello", "groups": [f"brand.{brand.pk}"]}
        await database_sync_to_async(create_store)(brand=other_brand, code="B-1", name="Not yours")
        await database_sync_to_async(create_store)(brand=brand, code="A-1", name="Yours")
        event = await communicator.receive_json_from(timeout=5)
        assert event["event"] == "store.created" and event["brand"] == brand.pk
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_live_socket_refuses_anonymous_users():
    from asgiref.sync import async_to_sync

    async def scenario():
        communicator, connected, code = await _connect("nope")
        assert not connected
        assert code == 4401

    async_to_sync(scenario)()
