"""Dashboard pages and the dashboards' websocket: who may see what, snapshot then deltas."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import reverse

from retail import services
from retail.asgi import application
from retail.choices import Role
from retail.dashboards import consumers
from retail.tests.factories import ProductFactory, StaffRoleFactory, StoreFactory, UserFactory


def _order(brand, store, n, price="10.00"):
    product = ProductFactory(brand=brand, price=Decimal(price))
    return services.record_order(
        brand=brand,
        external_id=f"live-{n}",
        channel="store",
        store=store,
        lines=[{"product": product, "quantity": 1}],
    )


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_hq_and_the_stores_manager_open_the_store_dashboard(client, brand, store, hq_user, manager_user):
    url = reverse("retail:dashboards:store", kwargs={"store_id": store.pk})
    for user in (hq_user, manager_user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["snapshot"]["store"]["id"] == store.pk
        assert b'data-socket-target="%d"' % store.pk in response.content


@pytest.mark.django_db
def test_the_store_dashboard_hides_other_stores_and_brands(
    client, brand, store, other_brand, manager_user, hq_user
):
    other_store = StoreFactory(brand=brand)
    foreign = StoreFactory(brand=other_brand)
    client.force_login(manager_user)
    assert (
        client.get(reverse("retail:dashboards:store", kwargs={"store_id": other_store.pk})).status_code == 404
    )
    client.force_login(hq_user)
    assert client.get(reverse("retail:dashboards:store", kwargs={"store_id": foreign.pk})).status_code == 404


@pytest.mark.django_db
def test_a_guide_opens_neither_dashboard(client, store, guide_user):
    client.force_login(guide_user)
    assert client.get(reverse("retail:dashboards:hq")).status_code == 403
    assert client.get(reverse("retail:dashboards:store", kwargs={"store_id": store.pk})).status_code == 403


@pytest.mark.django_db
def test_hq_opens_the_command_centre_and_the_wall(client, brand, store, manager_user, hq_user):
    client.force_login(manager_user)
    assert client.get(reverse("retail:dashboards:hq")).status_code == 403
    client.force_login(hq_user)
    page = client.get(reverse("retail:dashboards:hq"), {"sort": "orders"})
    assert page.status_code == 200
    assert page.context["snapshot"]["sort"] == "orders"
    assert b'class="topbar"' in page.content
    wall = client.get(reverse("retail:dashboards:hq"), {"wall": "1"})
    assert b'class="topbar"' not in wall.content and b"dash-wall" in wall.content


@pytest.mark.django_db
def test_the_store_table_rows_carry_each_stores_figures_escaped(
    client, brand, store, hq_user, django_capture_on_commit_callbacks
):
    odd = StoreFactory(brand=brand, name='<b>Odd</b> & "quoted"', city="<i>City</i>")
    with django_capture_on_commit_callbacks(execute=True):  # the event folds into the rollups
        _order(brand, odd, 1, "1234.50")
    client.force_login(hq_user)
    html = client.get(reverse("retail:dashboards:hq")).content.decode()
    row = html[html.index(f'<tr data-store-id="{odd.pk}">') :]
    row = row[: row.index("</tr>")]
    assert "&lt;b&gt;Odd&lt;/b&gt; &amp; &quot;quoted&quot;" in row and "<b>Odd" not in row
    assert "&lt;i&gt;City&lt;/i&gt;" in row
    assert reverse("retail:dashboards:store", kwargs={"store_id": odd.pk}) in row
    assert '<td class="num" data-col="gmv">¥1,234.50</td>' in row
    assert '<td class="num" data-col="orders">1</td>' in row
    assert f'<tr data-store-id="{store.pk}">' in html  # the store without orders has its row too


# --- the socket ----------------------------------------------------------------------------


def _cookie(client, user):
    """A session of `user` (a client of its own: logging in again would end the last one)."""
    from django.test import Client

    own = Client()
    own.force_login(user)
    return own.cookies["sessionid"].value


async def _connect(cookie, target):
    communicator = WebsocketCommunicator(
        application,
        f"/ws/dashboards/?store={target}",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected, code = await communicator.connect()
    return communicator, connected, code


pytest_socket = [
    pytest.mark.django_db(transaction=True),
    override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"]),
]


def _socket_test(fn):
    for mark in reversed(pytest_socket):
        fn = mark(fn)
    return fn


@_socket_test
def test_an_anonymous_socket_is_closed(store):
    async def scenario():
        communicator, connected, code = await _connect("nope", str(store.pk))
        assert not connected and code == 4401

    async_to_sync(scenario)()


@_socket_test
def test_a_guide_is_refused_hq_and_another_brands_store(client, store, other_brand, guide_user, hq_user):
    foreign = StoreFactory(brand=other_brand)
    guide = _cookie(client, guide_user)
    hq = _cookie(client, hq_user)

    async def scenario():
        for cookie, target in (
            (guide, "hq"),
            (guide, str(store.pk)),
            (hq, str(foreign.pk)),
            (hq, "nonsense"),
        ):
            communicator, connected, code = await _connect(cookie, target)
            assert not connected and code == 4403, target

    async_to_sync(scenario)()


@_socket_test
def test_a_manager_gets_a_snapshot_then_deltas_with_increasing_seq(
    client, brand, store, other_brand, manager_user
):
    cookie = _cookie(client, manager_user)
    foreign = StoreFactory(brand=other_brand)
    neighbour = StoreFactory(brand=brand)

    async def scenario():
        await database_sync_to_async(_order)(brand, store, 1, "5.00")
        communicator, connected, _ = await _connect(cookie, str(store.pk))
        assert connected
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
        assert snapshot["data"]["totals"]["gmv"] == "5.00"
        await database_sync_to_async(_order)(other_brand, foreign, 2, "700.00")
        await database_sync_to_async(_order)(brand, neighbour, 3, "800.00")
        await database_sync_to_async(_order)(brand, store, 4, "7.50")
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "deltas"
        assert [d["seq"] for d in frame["items"]] == [2]
        assert frame["items"][0]["inc"] == {"orders": 1, "gmv": "7.50", "items": 1}
        assert frame["items"][0]["store"] == store.pk
        await database_sync_to_async(_order)(brand, store, 5, "1.00")
        frame = await communicator.receive_json_from(timeout=5)
        assert [d["seq"] for d in frame["items"]] == [3]
        assert await communicator.receive_nothing(timeout=0.3)
        # a resync request gets a fresh snapshot with everything so far
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from(timeout=5)
        assert again["type"] == "snapshot" and again["seq"] == 3
        assert again["data"]["totals"]["gmv"] == "13.50"
        await communicator.disconnect()

    async_to_sync(scenario)()


@_socket_test
def test_hq_gets_every_store_of_its_brand_only(client, brand, store, other_brand, hq_user):
    cookie = _cookie(client, hq_user)
    foreign = StoreFactory(brand=other_brand)
    neighbour = StoreFactory(brand=brand)

    async def scenario():
        communicator, connected, _ = await _connect(cookie, "hq")
        assert connected
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["seq"] == 0 and snapshot["data"]["kind"] == "hq"
        await database_sync_to_async(_order)(other_brand, foreign, 1, "700.00")
        await database_sync_to_async(_order)(brand, store, 2, "1.00")
        await database_sync_to_async(_order)(brand, neighbour, 3, "2.00")
        seen = []
        while len(seen) < 2:
            frame = await communicator.receive_json_from(timeout=5)
            seen += frame["items"]
        assert [d["seq"] for d in seen] == [1, 2]
        assert {d["store"] for d in seen} == {store.pk, neighbour.pk}
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    async_to_sync(scenario)()


@_socket_test
def test_bursts_are_coalesced(client, brand, store, manager_user, monkeypatch):
    monkeypatch.setattr(consumers, "FLUSH_SECONDS", 0.5)
    cookie = _cookie(client, manager_user)

    def burst():
        for n in range(10):
            _order(brand, store, 100 + n, "1.00")

    async def scenario():
        communicator, connected, _ = await _connect(cookie, str(store.pk))
        assert connected
        await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(burst)()
        frames = []
        seen = []
        while len(seen) < 10:
            frame = await communicator.receive_json_from(timeout=5)
            frames.append(frame)
            seen += frame["items"]
        assert [d["seq"] for d in seen] == list(range(1, 11))
        assert len(frames) < 10  # ten events, fewer frames
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db
def test_a_store_manager_of_two_stores_sees_both(client, brand, store):
    second = StoreFactory(brand=brand)
    user = UserFactory(username="two-stores")
    StaffRoleFactory(user=user, brand=brand, store=store, role=Role.STORE_MANAGER)
    StaffRoleFactory(user=user, brand=brand, store=second, role=Role.STORE_MANAGER)
    client.force_login(user)
    for s in (store, second):
        assert client.get(reverse("retail:dashboards:store", kwargs={"store_id": s.pk})).status_code == 200


def test_the_live_link_takes_hq_and_managers_to_their_dashboard(
    client, hq_user, manager_user, guide_user, store
):
    url = reverse("retail:dashboards:mine")
    client.force_login(hq_user)
    assert client.get(url)["Location"] == reverse("retail:dashboards:hq")
    client.force_login(manager_user)
    assert client.get(url)["Location"] == reverse("retail:dashboards:store", kwargs={"store_id": store.pk})
    client.force_login(guide_user)
    assert client.get(url).status_code == 403


@_socket_test
def test_a_delta_goes_out_without_a_hop_to_the_sync_thread(client, brand, store, manager_user, monkeypatch):
    # Channels closes old database connections (a hop to the one sync thread) before every
    # message it dispatches; a delta touches no database, and 1,000 sockets × one hop each
    # was most of the fan-out time. Connect and resync still go the usual way.
    import channels.consumer

    hops = []
    original = channels.consumer.aclose_old_connections

    async def counted():
        hops.append(1)
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    cookie = _cookie(client, manager_user)

    async def scenario():
        communicator, connected, _ = await _connect(cookie, str(store.pk))
        assert connected
        await communicator.receive_json_from(timeout=5)
        before = len(hops)
        assert before >= 1  # the connect went through Channels' dispatch
        await database_sync_to_async(_order)(brand, store, 1, "3.00")
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "deltas" and frame["items"][0]["inc"]["gmv"] == "3.00"
        assert len(hops) == before
        await communicator.send_json_to({"type": "resync"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
        assert len(hops) == before + 1
        await communicator.disconnect()

    async_to_sync(scenario)()
