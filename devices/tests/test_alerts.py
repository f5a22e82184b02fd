"""Device alerts (devices/alerts.py): a device going offline or a dispenser running low
notifies the store's managers and the brand's HQ, once per event, with a link to the
device; a device back online resolves its offline alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from devices.choices import DeviceStatus
from devices.services import dispensers, registry
from devices.services.ingest import ingest_events
from devices.services.registry import mark_offline_devices
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from retail import events, notifications
from retail.choices import Role
from retail.models import DomainEvent, NotificationKind, StaffNotification
from retail.tests.factories import StaffRoleFactory, StoreFactory

pytestmark = pytest.mark.django_db

NO_CONSENT = {"sms": False, "call": False, "chat": False}


@pytest.fixture
def run_subscribers(django_capture_on_commit_callbacks):
    """Events published inside the block reach their subscribers when it ends (after commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def device(brand, store):
    return DeviceFactory(
        brand=brand,
        store=store,
        name="Entrance dispenser",
        status=DeviceStatus.ONLINE,
        last_seen_at=timezone.now(),
        device_type=DeviceTypeFactory(brand=brand, heartbeat_interval_seconds=60),
    )


@pytest.fixture
def others(brand, other_brand):
    """Another store's manager and another brand's HQ admin and store manager."""
    elsewhere = StaffRoleFactory(brand=brand, store=StoreFactory(brand=brand), role=Role.STORE_MANAGER).user
    their_hq = StaffRoleFactory(brand=other_brand, role=Role.HQ_ADMIN).user
    their_store = StoreFactory(brand=other_brand)
    their_manager = StaffRoleFactory(brand=other_brand, store=their_store, role=Role.STORE_MANAGER).user
    return [elsewhere, their_hq, their_manager]


def of(user, kind=None) -> list[StaffNotification]:
    qs = StaffNotification.objects.filter(recipient=user)
    return list(qs.filter(kind=kind) if kind else qs)


def go_offline(run_subscribers):
    with run_subscribers():
        return mark_offline_devices(now=timezone.now() + timedelta(minutes=4))


def test_an_offline_device_alerts_its_stores_managers_and_hq_once(
    device, hq_user, manager_user, guide_user, others, run_subscribers
):
    # when the heartbeat watch marks the device offline
    assert go_offline(run_subscribers) == [device.pk]
    # then its store's manager and the brand's HQ each get one alert linking to the device
    for user in (manager_user, hq_user):
        (alert,) = of(user)
        assert alert.kind == NotificationKind.DEVICE_OFFLINE and alert.store_id == device.store_id
        assert alert.url == reverse("devices:device_detail", kwargs={"device_id": device.pk})
        assert alert.params["device"] == "Entrance dispenser" and alert.params["serial"] == device.serial
        assert alert.resolved_at is None and alert.read_at is None
    # and nobody else: not the guide, another store's manager, or another brand
    for user in (guide_user, *others):
        assert of(user) == []
    # and the wording names the device, in English
    with translation.override("en"):
        shown = notifications.word(of(manager_user)[0])
    assert shown.title == "Entrance dispenser is offline"
    assert device.serial in shown.body and device.store.name in shown.body


def test_a_redelivered_offline_event_notifies_nobody_twice(device, hq_user, manager_user, run_subscribers):
    go_offline(run_subscribers)
    event = DomainEvent.objects.get(name="device.offline")
    # when the worker delivers the same event again (acks_late: a crash after the work)
    events.deliver(
        events.Event(event.pk, event.name, event.brand_id, event.store_id, event.payload, event.occurred_at)
    )
    # then there is still one alert each
    assert len(of(manager_user)) == 1 and len(of(hq_user)) == 1


def test_a_device_back_online_resolves_its_offline_alert(device, hq_user, manager_user, run_subscribers):
    go_offline(run_subscribers)
    brands = {device.brand_id}
    assert notifications.unread_count(user=manager_user, brand_ids=brands) == 1
    # when the device sends events again
    with run_subscribers():
        ingest_events(
            device=device,
            events=[
                {"seq": 1, "occurred_at": timezone.now().isoformat(), "type": "heartbeat", "payload": {}}
            ],
        )
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE
    # then the alert is resolved (kept in the inbox, off the bell) for everyone it reached
    for user in (manager_user, hq_user):
        (alert,) = of(user)
        assert alert.resolved_at is not None
    assert notifications.unread_count(user=manager_user, brand_ids=brands) == 0
    # and going offline again is a new alert
    device.refresh_from_db()
    with run_subscribers():
        assert mark_offline_devices(now=timezone.now() + timedelta(minutes=8)) == [device.pk]
    assert len(of(manager_user)) == 2 and notifications.unread_count(user=manager_user, brand_ids=brands) == 1


def test_an_offline_event_delivered_after_the_device_came_back_alerts_nobody(
    device, manager_user, run_subscribers
):
    go_offline(run_subscribers)
    StaffNotification.objects.all().delete()
    event = DomainEvent.objects.get(name="device.offline")
    type(device).objects.filter(pk=device.pk).update(status=DeviceStatus.ONLINE)
    # when the (late) offline event is delivered after the device is online again
    events.deliver(
        events.Event(event.pk, event.name, event.brand_id, event.store_id, event.payload, event.occurred_at)
    )
    # then nobody is alerted about a device that is fine
    assert of(manager_user) == []


def test_retiring_an_offline_device_resolves_its_alerts(device, hq_user, manager_user, run_subscribers):
    go_offline(run_subscribers)
    brands = {device.brand_id}
    assert notifications.unread_count(user=hq_user, brand_ids=brands) == 1
    # when the manager retires the device
    device.refresh_from_db()
    with run_subscribers():
        registry.retire_device(device=device)
    # then its alert leaves everyone's bell, kept in the inbox as resolved
    for user in (manager_user, hq_user):
        (alert,) = of(user)
        assert alert.resolved_at is not None
        assert notifications.unread_count(user=user, brand_ids=brands) == 0


def test_the_manager_gets_one_low_stock_alert_per_crossing(
    brand, store, hq_user, manager_user, run_subscribers
):
    dispenser = DeviceFactory(
        brand=brand, store=store, name="Door dispenser", sample_stock=5, low_stock_threshold=2
    )
    # given stock 5 and an alert at 2: claims take it to 4, 3, 2 (crossing), 1, 0
    with run_subscribers():
        for n in range(5):
            dispensers.claim_sample(device=dispenser, phone=f"1380013800{n}", consents=NO_CONSENT)
    # then the manager has exactly one low-stock alert, naming the device and the stock left
    (alert,) = of(manager_user, NotificationKind.DEVICE_LOW_STOCK)
    assert alert.params["stock"] == 2 and alert.params["device"] == "Door dispenser"
    assert alert.url == reverse("devices:dispenser_detail", kwargs={"device_id": dispenser.pk})
    with translation.override("en"):
        shown = notifications.word(alert)
    assert shown.title == "Door dispenser is running low on samples"
    assert shown.body == f"2 samples left in {store.name}. Refill it soon."
    assert len(of(hq_user, NotificationKind.DEVICE_LOW_STOCK)) == 1
    # when the manager refills above the threshold and stock falls to it again
    with run_subscribers():
        dispensers.set_sample_stock(device=dispenser, stock=3)
        dispensers.claim_sample(device=dispenser, phone="13900139000", consents=NO_CONSENT)
    # then a second crossing, a second alert — and only that
    assert len(of(manager_user, NotificationKind.DEVICE_LOW_STOCK)) == 2


def test_the_offline_alert_reads_in_chinese(device, manager_user, run_subscribers):
    go_offline(run_subscribers)
    with translation.override("zh-hans"):
        shown = notifications.word(of(manager_user)[0])
    assert shown.title == "Entrance dispenser 已离线"
    assert shown.body.startswith(f"序列号 {device.serial}")
