"""Live dashboards: folding events into rollup rows, the nightly recompute, snapshots."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.services import join_member
from members.tests.factories import MemberFactory
from retail import services
from retail.dashboards import rollups, selectors
from retail.dashboards.models import DashboardSeq, DeviceLiveStatus, FoldedEvent, StoreDay, StoreMinute
from retail.dashboards.tasks import recompute_rollups_task
from retail.events import Event
from retail.models import DomainEvent
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    """The deltas the fold pushes (instead of the channel layer)."""
    sent = []
    monkeypatch.setattr(rollups, "push_delta", sent.append)
    return sent


def _order(brand, store, n, *, price="10.00", quantity=1, paid_at=None, member=None):
    product = ProductFactory(brand=brand, price=Decimal(price))
    return services.record_order(
        brand=brand,
        external_id=f"o-{n}",
        channel="store" if store is not None else "online",
        store=store,
        lines=[{"product": product, "quantity": quantity}],
        paid_at=paid_at,
        member=member,
    )


def _redeliver(name):
    """Deliver the outbox's events of `name` once more (at-least-once delivery)."""
    for row in DomainEvent.objects.filter(name=name):
        rollups.fold_event(Event(row.pk, row.name, row.brand_id, row.store_id, row.payload, row.occurred_at))


def test_a_stream_of_events_folds_into_what_the_ledger_says(
    brand, store, other_brand, pushed, django_capture_on_commit_callbacks
):
    other_store = StoreFactory(brand=other_brand)
    with django_capture_on_commit_callbacks(execute=True):
        _order(brand, store, 1, price="12.50", quantity=2)
        _order(brand, store, 2, price="3.10")
        _order(brand, None, 3, price="99.00")  # an online order without a store
        _order(other_brand, other_store, 4, price="1.00")
        join_member(brand_id=brand.pk, phone="13800000001", source="store", store=store)
        join_member(brand_id=brand.pk, phone="13800000002", source="cloud_shelf", store=store)
        join_member(brand_id=brand.pk, phone="13800000003", source="online", store=store)
        # an imported member was not recruited today (and bulk imports publish no event)
        join_member(brand_id=brand.pk, phone="13800000004", source="import", store=store)
        MemberFactory(
            brand=brand, store=store, phone="13800000005", source="import", joined_at=timezone.now()
        )
    # everything is delivered again: nothing counts twice
    _redeliver("order.created")
    _redeliver("member.joined")

    today = selectors.store_today(store)
    assert today["totals"]["orders"] == 2
    assert today["totals"]["gmv"] == "28.10"
    assert today["totals"]["items"] == 3
    assert today["totals"]["aov"] == "14.05"
    assert today["totals"]["members"] == {
        "store": 1,
        "cloud_shelf": 1,
        "sample_dispenser": 0,
        "other": 1,
        "total": 3,
    }
    # seven events folded once each (the import's adds nothing); the redeliveries pushed nothing
    assert FoldedEvent.objects.count() == 7
    assert len(pushed) == 7
    assert today["seq"] == 5  # two orders and three members of that store

    report = rollups.recompute_day(timezone.localdate())
    assert report["drift"] == []
    assert report["rows"] >= 3


def test_the_recompute_reports_drift(brand, store, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _order(brand, store, 1, price="5.00")
    row = StoreMinute.objects.get(store=store)
    day = StoreDay.objects.get(store=store)
    assert (day.day, day.orders, day.gmv) == (timezone.localtime(row.minute).date(), 1, Decimal("5.00"))
    StoreMinute.objects.filter(pk=row.pk).update(orders=2)
    StoreDay.objects.filter(pk=day.pk).update(gmv=Decimal("4.00"))
    report = recompute_rollups_task(timezone.localdate().isoformat())
    assert report["drift"] == [
        {
            "brand": brand.pk,
            "store": store.pk,
            "minute": timezone.localtime(row.minute).isoformat(),
            "fields": {"orders": ["2", "1"]},
        },
        {
            "brand": brand.pk,
            "store": store.pk,
            "day": day.day.isoformat(),
            "fields": {"gmv": ["4.00", "5.00"]},
        },
    ]


def test_orders_count_in_the_minute_they_were_paid(brand, store, pushed, django_capture_on_commit_callbacks):
    earlier = timezone.now().replace(second=30, microsecond=0) - timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        _order(brand, store, 1, paid_at=earlier)
    row = StoreMinute.objects.get(store=store)
    assert row.minute == earlier.replace(second=0)
    assert rollups.recompute_day(timezone.localdate(earlier))["drift"] == []


def test_scans_and_devices_are_folded(brand, store, pushed, django_capture_on_commit_callbacks):
    now = timezone.now()
    minute = now.replace(second=0, microsecond=0)

    def event(pk, name, **payload):
        DomainEvent.objects.create(
            pk=pk, brand=brand, store_id=store.pk, name=name, payload=payload, occurred_at=now
        )
        return Event(pk, name, brand.pk, store.pk, payload, now)

    with django_capture_on_commit_callbacks(execute=True):
        rollups.fold_event(
            event(9001, "shelf.scans_counted", scans=7, minute=minute.isoformat(), by_screen={})
        )
        rollups.fold_event(event(9002, "device.online", device=41, serial="A"))
        rollups.fold_event(event(9003, "device.online", device=42, serial="B"))
        rollups.fold_event(event(9004, "device.offline", device=42, serial="B"))
        # an older, late event does not undo the newer state
        late = Event(9005, "device.online", brand.pk, store.pk, {"device": 42}, now - timedelta(minutes=5))
        rollups.fold_event(late)
    today = selectors.store_today(store)
    assert today["totals"]["scans"] == 7
    assert today["devices"] == {"online": 1, "offline": 1}
    assert DeviceLiveStatus.objects.get(device_id=42).online is False
    assert pushed[-1]["devices"] == {"online": 1, "offline": 1}
    assert rollups.recompute_day(timezone.localdate())["drift"] == []


def test_the_fold_sends_deltas_with_increasing_sequence_numbers(
    brand, store, pushed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _order(brand, store, 1, price="2.00")
        _order(brand, store, 2, price="3.00")
    assert [p["store_seq"] for p in pushed] == [1, 2]
    assert [p["hq_seq"] for p in pushed] == [1, 2]
    message = rollups.delta_message(pushed[1], pushed[1]["store_seq"])
    assert message["seq"] == 2 and message["store"] == store.pk
    assert message["inc"] == {"orders": 1, "gmv": "3.00", "items": 1}
    assert DashboardSeq.objects.get(brand=brand, key=f"s{store.pk}").seq == 2


def test_snapshots_take_a_constant_number_of_queries(brand, pushed, django_capture_on_commit_callbacks):
    stores = [StoreFactory(brand=brand, city=city) for city in ("Shanghai", "Shanghai", "Hangzhou")]

    def counted():
        with CaptureQueriesContext(connection) as store_q:
            selectors.store_today(stores[0])
        with CaptureQueriesContext(connection) as hq_q:
            selectors.hq_snapshot(brand_id=brand.pk)
        return len(store_q), len(hq_q)

    with django_capture_on_commit_callbacks(execute=True):
        _order(brand, stores[0], 1)
    few = counted()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2, 30):
            _order(brand, stores[n % 3], n, price=str(n))
    assert counted() == few
    # figures and sequence in one statement on PostgreSQL; the embedded mode's portable
    # reads take one (store) or four (HQ: minutes, days, campaigns, incidents) more — still constant
    if connection.vendor == "postgresql":
        assert few[0] <= 3 and few[1] <= 3
    else:
        assert few[0] <= 4 and few[1] <= 7


def test_the_hq_snapshot_ranks_stores_and_cities(
    brand, other_brand, pushed, django_capture_on_commit_callbacks
):
    a = StoreFactory(brand=brand, city="Shanghai", code="A")
    b = StoreFactory(brand=brand, city="Hangzhou", code="B")
    c = StoreFactory(brand=brand, city="Shanghai", code="C")
    d = StoreFactory(brand=brand, city="Suzhou", code="D")
    foreign = StoreFactory(brand=other_brand)
    with django_capture_on_commit_callbacks(execute=True):
        _order(brand, a, 1, price="10.00")
        _order(brand, b, 2, price="50.00")
        _order(brand, c, 3, price="1.00")
        _order(brand, c, 4, price="1.00")
        _order(other_brand, foreign, 5, price="999.00")
        join_member(brand_id=brand.pk, phone="13800000009", source="store", store=a)
    snap = selectors.hq_snapshot(brand_id=brand.pk)
    assert snap["totals"]["gmv"] == "62.00"
    assert snap["totals"]["orders"] == 4
    assert [s["code"] for s in snap["stores"]] == ["B", "A", "C", "D"]
    assert foreign.pk not in {s["id"] for s in snap["stores"]}
    assert snap["top"][0] == b.pk and snap["lagging"][0] == d.pk
    by_orders = selectors.hq_snapshot(brand_id=brand.pk, sort="orders")
    assert [s["code"] for s in by_orders["stores"]][0] == "C"
    by_members = selectors.hq_snapshot(brand_id=brand.pk, sort="members")
    assert [s["code"] for s in by_members["stores"]][0] == "A"
    assert snap["cities"][0] == {"city": "Hangzhou", "stores": 1, "gmv": "50.00", "orders": 1}
    assert sum(m["orders"] for m in snap["minutes"]) == 4


def test_the_guide_leaderboard_folds_attributed_orders_once_and_matches_the_ledger(
    brand, store, pushed, django_capture_on_commit_callbacks
):
    from retail.choices import Role
    from retail.dashboards.models import GuideDay
    from retail.tests.factories import StaffRoleFactory

    ann = StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user
    bo = StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user
    ann.last_name, ann.first_name = "王", "安"
    ann.save()
    product = ProductFactory(brand=brand, price=Decimal("100.00"))

    def sale(n, guide, quantity):
        services.record_order(
            brand=brand,
            external_id=f"g-{n}",
            channel="store",
            store=store,
            guide=guide,
            lines=[{"product": product, "quantity": quantity}],
        )

    with django_capture_on_commit_callbacks(execute=True):
        sale(1, ann, 1)
        sale(2, bo, 3)
        sale(3, ann, 1)
        _order(brand, store, 4)  # no guide: not on the board
    _redeliver("order.created")  # at least once delivery: nothing counts twice

    board = selectors.store_today(store)["leaderboard"]
    assert [(g["id"], g["orders"], g["gmv"]) for g in board] == [(bo.pk, 1, "300.00"), (ann.pk, 2, "200.00")]
    assert board[1]["name"] == "王安"
    # the deltas name the guide, so an open page moves the board without a snapshot
    assert [d["guide"] for d in pushed if d.get("guide")] == [ann.pk, bo.pk, ann.pk]
    # the nightly check finds the board equal to the ledger, and a tampered row is drift
    day = timezone.localdate()
    assert rollups.recompute_day(day)["drift"] == []
    GuideDay.objects.filter(guide=ann).update(orders=5)
    drift = rollups.recompute_day(day)["drift"]
    assert drift == [
        {
            "brand": brand.pk,
            "store": store.pk,
            "guide": ann.pk,
            "day": day.isoformat(),
            "fields": {"orders": ["5", "2"]},
        }
    ]
