"""The live dashboards drop a retired device: `device.retired` takes its row out of every
store's and the brand's device counts, for good (a late or redelivered event of the device
does not bring it back)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from retail.dashboards import rollups, selectors
from retail.dashboards.models import DeviceLiveStatus
from retail.events import Event
from retail.models import DomainEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    """The deltas the fold pushes (instead of the channel layer)."""
    sent = []
    monkeypatch.setattr(rollups, "push_delta", sent.append)
    return sent


def _fold(brand, store, name, *, device, at):
    """Publish-like: an outbox row, then the fold (as the subscriber gets it)."""
    row = DomainEvent.objects.create(
        brand=brand, store_id=store.pk, name=name, payload={"device": device}, occurred_at=at
    )
    event = Event(row.pk, name, brand.pk, store.pk, {"device": device}, at)
    rollups.fold_event(event)
    return event


def _hq_devices(brand, store):
    snapshot = selectors.hq_snapshot(brand_id=brand.pk)
    [row] = [s for s in snapshot["stores"] if s["id"] == store.pk]
    return row["devices"]


def test_a_device_retired_while_online_leaves_the_stores_and_the_brands_counts(
    brand, store, pushed, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        # given two devices online in the store
        _fold(brand, store, "device.online", device=51, at=now - timedelta(minutes=3))
        _fold(brand, store, "device.online", device=52, at=now - timedelta(minutes=3))
        assert selectors.store_today(store)["devices"] == {"online": 2, "offline": 0}
        # when one is retired while online
        retired = _fold(brand, store, "device.retired", device=51, at=now)
    # then the store counts one online device, live (the delta says so) and in a snapshot
    assert pushed[-1]["devices"] == {"online": 1, "offline": 0}
    assert selectors.store_today(store)["devices"] == {"online": 1, "offline": 0}
    assert _hq_devices(brand, store) == {"online": 1, "offline": 0}
    assert DeviceLiveStatus.objects.get(device_id=51).store_id is None
    # and a redelivery of the retirement changes nothing
    rollups.fold_event(retired)
    assert selectors.store_today(store)["devices"] == {"online": 1, "offline": 0}


def test_a_retired_device_stays_out_whatever_arrives_after(brand, store, pushed):
    now = timezone.now()
    _fold(brand, store, "device.online", device=61, at=now - timedelta(minutes=10))
    _fold(brand, store, "device.retired", device=61, at=now - timedelta(minutes=5))
    # a late event (older than the retirement) and even a newer one do not revive it
    _fold(brand, store, "device.offline", device=61, at=now - timedelta(minutes=7))
    _fold(brand, store, "device.online", device=61, at=now)
    assert selectors.store_today(store)["devices"] == {"online": 0, "offline": 0}
    assert _hq_devices(brand, store) == {"online": 0, "offline": 0}


def test_a_device_retired_before_any_state_is_never_counted(brand, store, pushed):
    _fold(brand, store, "device.retired", device=71, at=timezone.now())
    assert selectors.store_today(store)["devices"] == {"online": 0, "offline": 0}
    assert DeviceLiveStatus.objects.filter(device_id=71, store__isnull=True).exists()
