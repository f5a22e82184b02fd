"""The live desk's socket: joins only the principal's groups; an incident.opened of its
brand arrives, another brand's does not; anonymous users are refused."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from promotions.choices import IncidentKind, Severity
from promotions.services import incidents as services
from retail.asgi import application
from retail.choices import Role
from retail.tests.factories import StaffRoleFactory, StoreFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(cookie):
    communicator = WebsocketCommunicator(
        application,
        "/ws/incidents/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


def _report(store, user_id, title):
    return services.report_incident(
        store=store,
        kind=IncidentKind.NETWORK,
        severity=Severity.HIGH,
        title=title,
        note="",
        reported_by_id=user_id,
    )


@override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"])
def test_the_desk_gets_incidents_of_its_brand_only(client, brand, other_brand, hq_user):
    store = StoreFactory(brand=brand)
    theirs = StoreFactory(brand=other_brand)
    their_hq = StaffRoleFactory(brand=other_brand, role=Role.HQ_ADMIN).user
    client.force_login(hq_user)
    cookie = client.cookies["sessionid"].value

    async def scenario():
        communicator, connected, _ = await _connect(cookie)
        assert connected
        assert (await communicator.receive_json_from(timeout=5)) == {"type": "hello"}
        await database_sync_to_async(_report)(theirs, their_hq.pk, "Not yours")
        mine = await database_sync_to_async(_report)(store, hq_user.pk, "Yours")
        message = await communicator.receive_json_from(timeout=5)
        assert message == {
            "type": "incident",
            "event": "incident.opened",
            "incident": mine.pk,
            "status": "open",
            "store": store.pk,
        }
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()


@override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"])
def test_a_guide_hears_of_their_store_only(client, brand, guide_user, store):
    other_store = StoreFactory(brand=brand)
    hq = StaffRoleFactory(brand=brand, role=Role.HQ_ADMIN).user
    client.force_login(guide_user)
    cookie = client.cookies["sessionid"].value

    async def scenario():
        communicator, connected, _ = await _connect(cookie)
        assert connected
        await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(_report)(other_store, hq.pk, "Other store")
        mine = await database_sync_to_async(_report)(store, guide_user.pk, "My store")
        message = await communicator.receive_json_from(timeout=5)
        assert message["incident"] == mine.pk
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_anonymous_users_are_refused():
    async def scenario():
        communicator, connected, code = await _connect("nope")
        assert not connected and code == 4401

    async_to_sync(scenario)()
