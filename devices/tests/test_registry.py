"""Registry use cases without pages: event schemas checked, registration with a credential
stored hashed, rotation and retirement audited, the heartbeat watch (offline once, never
for devices not online) and raw telemetry retention in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from devices.choices import DeviceStatus
from devices.models import BackflowPolicy, Device, DeviceDay, DeviceEvent, DeviceRejectedEvent
from devices.schemas import parse_event_schemas
from devices.services import registry as services
from devices.tasks.registry import delete_expired_device_events_task, mark_offline_devices_task
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from retail.choices import AuditAction
from retail.errors import Conflict
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


# --- event schemas -------------------------------------------------------------------------------


def test_event_schemas_accept_an_object_of_valid_json_schemas():
    value = parse_event_schemas('{"dispensed": {"type": "object", "required": ["count"]}, "heartbeat": {}}')
    assert value == {"dispensed": {"type": "object", "required": ["count"]}, "heartbeat": {}}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"dispensed": {"type": "object",}', "invalid_json"),
        ('["not", "an", "object"]', "not_object"),
        ('{"dispensed": {"type": "objekt"}}', "invalid_schema"),
        ('{"dispensed": {"minimum": "ten"}}', "invalid_schema"),
        ('{"Bad Type!": {}}', "event_type"),
    ],
)
def test_event_schemas_refuse_bad_json_and_bad_schemas_with_a_reason(text, code):
    with pytest.raises(ValidationError) as caught:
        parse_event_schemas(text)
    assert [e.code for e in caught.value.error_list] == [code]


# --- registration, rotation, retirement ---------------------------------------------------------


def test_registering_stores_only_the_hash_of_the_credential_and_audits(brand, store):
    device_type = DeviceTypeFactory(brand=brand)
    device, credential = services.register_device(store=store, device_type=device_type, serial=" SN-1 ")
    stored = Device.objects.get(pk=device.pk)
    assert credential.startswith(f"tdv_{stored.credential_prefix}_")
    assert stored.credential_hash == services.hash_credential(credential)
    assert credential not in str(Device.objects.filter(pk=device.pk).values().get())
    assert stored.serial == "SN-1" and stored.status == DeviceStatus.PROVISIONED
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(device.pk)).exists()


def test_a_serial_is_unique_per_brand_not_across_brands(brand, other_brand, store):
    services.register_device(store=store, device_type=DeviceTypeFactory(brand=brand), serial="SN-1")
    with pytest.raises(Conflict) as caught:
        services.register_device(
            store=StoreFactory(brand=brand), device_type=DeviceTypeFactory(brand=brand), serial="SN-1"
        )
    assert caught.value.code == "duplicate_serial"
    # the same serial in another brand is another device
    other_store = StoreFactory(brand=other_brand)
    services.register_device(
        store=other_store, device_type=DeviceTypeFactory(brand=other_brand), serial="SN-1"
    )
    assert Device.objects.filter(serial="SN-1").count() == 2


def test_registering_with_a_firmware_its_type_does_not_list_is_refused(brand, store):
    from retail.errors import InvalidInput

    device_type = DeviceTypeFactory(brand=brand, firmware_versions=["2.0", "2.1"])
    with pytest.raises(InvalidInput) as refused:
        services.register_device(store=store, device_type=device_type, serial="FW-1", firmware="9.9")
    assert refused.value.code == "unknown_firmware" and "firmware" in refused.value.fields
    assert not Device.objects.filter(serial="FW-1").exists()
    # a listed firmware, or any firmware for a type that lists none, is fine
    device, _ = services.register_device(
        store=store, device_type=device_type, serial="FW-2", firmware=" 2.1 "
    )
    assert device.firmware == "2.1" and device.firmware_known
    open_type = DeviceTypeFactory(brand=brand, firmware_versions=[])
    device, _ = services.register_device(store=store, device_type=open_type, serial="FW-3", firmware="9.9")
    assert device.firmware == "9.9" and device.firmware_known


def test_rotating_replaces_the_hash_and_is_audited_as_a_permission_change(brand):
    device = DeviceFactory(brand=brand)
    old_hash, old_prefix = device.credential_hash, device.credential_prefix
    credential = services.rotate_device_credential(device=device)
    stored = Device.objects.get(pk=device.pk)
    assert stored.credential_hash != old_hash and stored.credential_prefix != old_prefix
    assert stored.credential_hash == services.hash_credential(credential)
    assert services.hash_credential(device.credential) != stored.credential_hash
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(device.pk)).count() == 1


def test_retiring_is_audited_once_and_keeps_the_device(brand):
    device = DeviceFactory(brand=brand, status=DeviceStatus.ONLINE, last_seen_at=timezone.now())
    services.retire_device(device=device)
    services.retire_device(device=device)  # a repeat is a no-op
    stored = Device.objects.get(pk=device.pk)
    assert stored.status == DeviceStatus.RETIRED and stored.retired_at is not None
    assert AuditEvent.objects.filter(message="device retired", object_id=str(device.pk)).count() == 1
    [retired] = DomainEvent.objects.filter(name="device.retired")
    assert (retired.brand_id, retired.store_id) == (device.brand_id, device.store_id)
    assert retired.payload == {"device": device.pk, "serial": device.serial, "previous_status": "online"}


# --- the heartbeat watch -------------------------------------------------------------------------


def _offline_events():
    return list(DomainEvent.objects.filter(name="device.offline").order_by("pk"))


def test_a_device_silent_for_more_than_three_heartbeats_goes_offline_once(
    brand, django_capture_on_commit_callbacks
):
    # given devices with a 60 s heartbeat: one silent for 181 s, one for 179 s
    now = timezone.now()
    device_type = DeviceTypeFactory(brand=brand, heartbeat_interval_seconds=60)
    silent = DeviceFactory(
        brand=brand,
        device_type=device_type,
        status=DeviceStatus.ONLINE,
        last_seen_at=now - timedelta(seconds=181),
    )
    alive = DeviceFactory(
        brand=brand,
        device_type=device_type,
        status=DeviceStatus.ONLINE,
        last_seen_at=now - timedelta(seconds=179),
    )
    # when the watch runs, twice
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_offline_devices(now=now) == [silent.pk]
        assert services.mark_offline_devices(now=now + timedelta(seconds=1)) == []
    # then only the silent device is offline, and `device.offline` went out once, for its store
    assert Device.objects.get(pk=silent.pk).status == DeviceStatus.OFFLINE
    assert Device.objects.get(pk=alive.pk).status == DeviceStatus.ONLINE
    (event,) = _offline_events()
    assert (event.brand_id, event.store_id) == (brand.pk, silent.store_id)
    assert event.payload["device"] == silent.pk and event.payload["serial"] == silent.serial
    assert event.payload["last_seen_at"].startswith(
        (now - timedelta(seconds=181)).strftime("%Y-%m-%dT%H:%M:%S")
    )


def test_each_type_has_its_own_heartbeat_interval(brand):
    now = timezone.now()
    fast = DeviceTypeFactory(brand=brand, heartbeat_interval_seconds=10)
    slow = DeviceTypeFactory(brand=brand, heartbeat_interval_seconds=600)
    late_fast = DeviceFactory(
        brand=brand, device_type=fast, status=DeviceStatus.ONLINE, last_seen_at=now - timedelta(seconds=31)
    )
    DeviceFactory(
        brand=brand, device_type=slow, status=DeviceStatus.ONLINE, last_seen_at=now - timedelta(seconds=1000)
    )
    assert services.mark_offline_devices(now=now) == [late_fast.pk]


def test_retired_and_never_seen_devices_are_left_alone_by_the_watch(brand):
    long_ago = timezone.now() - timedelta(days=2)
    retired = DeviceFactory(brand=brand, status=DeviceStatus.RETIRED, last_seen_at=long_ago)
    provisioned = DeviceFactory(brand=brand, status=DeviceStatus.PROVISIONED, last_seen_at=None)
    already = DeviceFactory(brand=brand, status=DeviceStatus.OFFLINE, last_seen_at=long_ago)
    assert mark_offline_devices_task() == 0  # called in-process (no result backend)
    assert Device.objects.get(pk=retired.pk).status == DeviceStatus.RETIRED
    assert Device.objects.get(pk=provisioned.pk).status == DeviceStatus.PROVISIONED
    assert Device.objects.get(pk=already.pk).status == DeviceStatus.OFFLINE
    assert _offline_events() == []


def test_the_offline_event_reaches_the_stores_live_group(brand, django_capture_on_commit_callbacks):
    from retail.tenancy import store_group
    from retail.tests.layers import message_after

    device = DeviceFactory(
        brand=brand, status=DeviceStatus.ONLINE, last_seen_at=timezone.now() - timedelta(hours=1)
    )

    def action():
        with django_capture_on_commit_callbacks(execute=True):
            services.mark_offline_devices()

    _result, message = message_after(store_group(device.store_id), action)
    assert message["event"]["event"] == "device.offline"
    assert message["event"]["payload"]["device"] == device.pk


# --- retention -----------------------------------------------------------------------------------


def _events(device, *, count: int, received_days_ago: float, first_seq: int):
    at = timezone.now() - timedelta(days=received_days_ago)
    DeviceEvent.objects.bulk_create(
        DeviceEvent(
            brand_id=device.brand_id,
            device=device,
            seq=first_seq + i,
            event_type="heartbeat",
            occurred_at=at,
            received_at=at,
            payload={},
        )
        for i in range(count)
    )


def test_retention_deletes_old_raw_events_in_batches_and_keeps_device_days(brand, other_brand):
    # given brand A keeping 7 days (12 old events, 3 recent) and brand B with no policy (30 days)
    BackflowPolicy.objects.create(brand=brand, raw_event_retention_days=7)
    ours, theirs = DeviceFactory(brand=brand), DeviceFactory(brand=other_brand)
    _events(ours, count=12, received_days_ago=8, first_seq=1)
    _events(ours, count=3, received_days_ago=6, first_seq=100)
    _events(theirs, count=4, received_days_ago=8, first_seq=1)
    _events(theirs, count=2, received_days_ago=31, first_seq=100)
    DeviceDay.objects.create(
        brand=brand, device=ours, day=(timezone.now() - timedelta(days=8)).date(), received=12
    )
    for device, seq, days_ago in ((ours, 50, 8), (ours, 150, 6), (theirs, 50, 8)):  # rejected seqs
        DeviceRejectedEvent.objects.create(
            brand_id=device.brand_id,
            device=device,
            seq=seq,
            day=timezone.now().date(),
            rejected_at=timezone.now() - timedelta(days=days_ago),
        )
    # when brand A's expired events are deleted 5 at a time
    assert services.delete_expired_device_events(brand_id=brand.pk, batch_size=5) == 12
    # then only its recent events remain; its device day stays; brand B is untouched
    assert sorted(DeviceEvent.objects.filter(device=ours).values_list("seq", flat=True)) == [100, 101, 102]
    assert DeviceDay.objects.filter(device=ours).count() == 1
    assert DeviceEvent.objects.filter(device=theirs).count() == 6
    # and its expired records of rejected seqs went with them
    assert sorted(DeviceRejectedEvent.objects.values_list("device_id", "seq")) == sorted(
        [(ours.pk, 150), (theirs.pk, 50)]
    )
    # and the daily task applies each brand's own window (B: 30 days by default); a rerun deletes nothing
    delete_expired_device_events_task.delay()
    assert DeviceEvent.objects.filter(device=theirs).count() == 4
    assert services.delete_expired_device_events(brand_id=brand.pk) == 0
