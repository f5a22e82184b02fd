"""Edges of order attribution in the core (record_order and the orders API): nothing is lost
for a bad token (too long, junk, not a string), a backdated paid_at cannot stretch the
attribution window, and a sale attributed to a cloud-shelf scan counts for the scan's store.

The resolver here is a real one registered under its own prefix (as shelves registers "sh1"),
so these tests need no other app: it answers for tokens "edge.<store id>" with a scan made
`SCAN_AGE` ago and a 7-day window, and records the time it was asked about."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retail import attribution, services
from retail.choices import Channel
from retail.models import DomainEvent, Order
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

WINDOW = dt.timedelta(days=7)


@pytest.fixture
def resolver():
    """Register the "edge" resolver for the test; yields the list of times it was asked at."""
    asked: list[dt.datetime] = []
    state = {"scanned_at": timezone.now() - dt.timedelta(days=1)}

    def resolve(brand_id: int, token: str, at: dt.datetime) -> attribution.Attribution:
        asked.append(at)
        store_id = int(token.partition(".")[2].split(":")[0])
        if at > state["scanned_at"] + WINDOW:
            return attribution.Attribution(attribution.Status.EXPIRED, "expired", source="edge")
        return attribution.Attribution(
            attribution.Status.ATTRIBUTED, "ok", source="edge", store_id=store_id, shelf_scan_id=None
        )

    previous = attribution._resolvers.get("edge")
    attribution.register("edge", resolve)
    yield asked, state
    if previous is None:
        attribution._resolvers.pop("edge", None)
    else:
        attribution.register("edge", previous)


def line(brand):
    return [{"product": ProductFactory(brand=brand), "quantity": 1}]


def test_a_token_over_the_bound_is_not_resolved_and_the_order_is_kept(brand, resolver):
    asked, _state = resolver
    token = "edge." + "1" * services.ATTRIBUTION_TOKEN_MAX
    order = services.record_order(
        brand=brand, external_id="LONG-1", channel=Channel.ONLINE, lines=line(brand), attribution_token=token
    )
    assert asked == []  # not even looked at
    assert order.attribution["status"] == "unknown" and "too long" in order.attribution["message"]
    assert order.attribution["token_length"] == len(token)
    stored = Order.objects.get(pk=order.pk)
    assert stored.attribution_token == token[:200] and stored.channel == Channel.ONLINE


def test_a_long_token_within_the_bound_is_resolved_and_stored_cut(brand, resolver):
    asked, _state = resolver
    store = StoreFactory(brand=brand)
    token = f"edge.{store.pk}:" + "x" * 800
    order = services.record_order(
        brand=brand, external_id="LONG-2", channel=Channel.ONLINE, lines=line(brand), attribution_token=token
    )
    assert len(asked) == 1
    assert order.attribution["status"] == "attributed" and order.store_id == store.pk
    assert Order.objects.get(pk=order.pk).attribution_token == token[:200]


def test_a_backdated_paid_at_does_not_stretch_the_window(brand, resolver):
    asked, state = resolver
    store = StoreFactory(brand=brand)
    # the scan was 10 days ago (window 7 days); the client says the order was paid 9 days ago
    state["scanned_at"] = timezone.now() - dt.timedelta(days=10)
    order = services.record_order(
        brand=brand,
        external_id="BACK-1",
        channel=Channel.ONLINE,
        lines=line(brand),
        paid_at=timezone.now() - dt.timedelta(days=9),
        attribution_token=f"edge.{store.pk}",
    )
    # checked at our receive time less the grace, not at the claimed paid_at
    assert asked[0] > timezone.now() - services.ATTRIBUTION_RECEIVE_GRACE - dt.timedelta(minutes=1)
    assert order.attribution["status"] == "expired" and order.store_id is None
    assert order.paid_at < timezone.now() - dt.timedelta(days=8)  # the paid_at itself is kept


def test_a_late_sync_within_the_grace_is_still_attributed(brand, resolver):
    asked, state = resolver
    store = StoreFactory(brand=brand)
    # scanned 7.5 days ago, paid 6 days ago, posted now (half a day after the window closed)
    state["scanned_at"] = timezone.now() - dt.timedelta(days=7, hours=12)
    order = services.record_order(
        brand=brand,
        external_id="LATE-1",
        channel=Channel.ONLINE,
        lines=line(brand),
        paid_at=timezone.now() - dt.timedelta(days=6),
        attribution_token=f"edge.{store.pk}",
    )
    assert order.attribution["status"] == "attributed" and order.store_id == store.pk


def test_an_attributed_sale_counts_for_the_scans_store_not_the_one_the_order_named(brand):
    # a cloud-shelf resolver (shelf_scan_id set) of store S; the online shop names store T
    scan_store, named = StoreFactory(brand=brand), StoreFactory(brand=brand)
    from shelves.tests.factories import ScanFactory, ScreenFactory

    scan = ScanFactory(screen=ScreenFactory(brand=brand, store=scan_store), scanned_at=timezone.now())
    from shelves.services.scans import scan_token

    order = services.record_order(
        brand=brand,
        external_id="STORE-1",
        channel=Channel.ONLINE,
        store=named,
        lines=line(brand),
        attribution_token=scan_token(scan.pk),
    )
    assert order.channel == Channel.CLOUD_SHELF and order.store_id == scan_store.pk
    assert order.attribution["order_store"] == named.pk
    assert "scan's store" in order.attribution["message"]
    event = DomainEvent.objects.get(name="order.created")
    assert event.store_id == scan_store.pk  # the live dashboards credit the scan's store
    # an in-store sale with the same token keeps its own store: it happened there
    in_store = services.record_order(
        brand=brand,
        external_id="STORE-2",
        channel=Channel.STORE,
        store=named,
        lines=line(brand),
        attribution_token=scan_token(scan.pk),
    )
    assert in_store.store_id == named.pk and in_store.attribution["status"] == "attributed"


@pytest.mark.parametrize(
    "token",
    [
        "x" * 300,  # longer than the old 200-character limit (was a 400: the order was lost)
        "y" * 5000,  # beyond the bound
        {"not": "a string"},
        ["a", 1],
        12345,
        None,
        "sh1.not-ours:\u2603",
        "",
    ],
)
def test_the_orders_api_never_refuses_an_order_for_its_token(partner, brand, token):
    product = ProductFactory(brand=brand)
    body = {
        "external_id": "WEB-T",
        "channel": "online",
        "lines": [{"product": product.pk, "quantity": 1}],
        "attribution_token": token,
    }
    response = partner.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content[:300]
    data = response.json()
    order = Order.objects.get(pk=data["id"])
    if token in (None, ""):
        assert data["attribution"] == {} and order.attribution_token == ""
    else:
        assert data["attribution"]["status"] == "unknown" and data["attribution"]["message"]
        assert len(order.attribution_token) <= 200 and "\x00" not in order.attribution_token
    assert data["channel"] == "online"


def test_the_schema_documents_the_token_as_a_nullable_string(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    field = schema["components"]["schemas"]["OrderInRequest"]["properties"]["attribution_token"]
    assert field["type"] == "string" and field.get("nullable") is True and "maxLength" not in field
