import pytest
from django.db import transaction

from retail import events
from retail.models import DomainEvent
from retail.services import create_store
from retail.tests.layers import message_after

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    received = []

    def handler(event):
        received.append(event)

    events.subscribe("store.*", handler)
    yield received
    events._subscribers.remove(("store.*", handler))


def test_events_reach_subscribers_only_after_commit(brand, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        create_store(brand=brand, code="SH01", name="Shanghai One")
        assert heard == []  # not yet: the transaction has not committed
    assert len(callbacks) == 1
    assert [e.name for e in heard] == ["store.created"]
    assert heard[0].brand_id == brand.pk and heard[0].payload["code"] == "SH01"


def test_a_rolled_back_write_publishes_nothing(brand, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                create_store(brand=brand, code="SH02", name="Doomed")
                raise RuntimeError("boom")
    assert heard == []
    assert not DomainEvent.objects.filter(name="store.created").exists()


def test_publish_refuses_names_missing_from_the_catalogue(brand):
    with pytest.raises(events.UnknownEvent):
        events.publish("store.exploded", brand=brand.pk)


def test_a_failing_subscriber_does_not_stop_the_others(brand, heard, django_capture_on_commit_callbacks):
    def broken(event):
        raise ValueError("subscriber bug")

    events.subscribe("store.*", broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            create_store(brand=brand, code="SH03", name="Still fine")
    finally:
        events._subscribers.remove(("store.*", broken))
    assert [e.name for e in heard] == ["store.created"]


def test_events_are_broadcast_to_brand_and_store_groups(brand, django_capture_on_commit_callbacks):
    def action():
        with django_capture_on_commit_callbacks(execute=True):
            return create_store(brand=brand, code="SH04", name="Broadcast")

    store, message = message_after(f"brand.{brand.pk}", action)
    assert message["type"] == "domain.event"
    assert message["event"]["event"] == "store.created"
    assert message["event"]["store"] == store.pk


def test_the_catalogue_document_lists_every_event():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    missing = [name for name in events.CATALOGUE if f"`{name}`" not in doc]
    assert missing == []
