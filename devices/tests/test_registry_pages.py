"""Registry pages: device types (HQ; bad JSON and bad schemas get clear errors), registering a
device (credential shown once, duplicate serial refused), the list scoped to a manager's
stores with its offline alert, a device's page with its newest events, rotate and retire."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.choices import DeviceStatus
from devices.models import Device, DeviceEvent, DeviceType
from devices.services.registry import hash_credential
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from retail.choices import AuditAction, Role
from retail.models import AuditEvent
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

TYPE_FORM = {
    "code": "mirror",
    "name": "Fitting mirror",
    "kind": "fitting_mirror",
    "partner": "",
    "event_schemas": json.dumps({"try_on": {"type": "object", "required": ["sku"]}}),
    "heartbeat_interval_seconds": "30",
    "timeliness_threshold_seconds": "120",
    "firmware_versions": "1.0.0, 1.1.0,1.0.0",
}


# --- device types -------------------------------------------------------------------------------


def test_hq_defines_a_device_type_with_its_event_schemas(client, brand, hq_user):
    client.force_login(hq_user)
    response = client.post(reverse("devices:type_new"), TYPE_FORM)
    assert response.status_code == 302
    device_type = DeviceType.objects.get(brand=brand, code="mirror")
    assert device_type.event_schemas == {"try_on": {"type": "object", "required": ["sku"]}}
    assert device_type.firmware_versions == ["1.0.0", "1.1.0"]
    assert device_type.heartbeat_interval_seconds == 30 and device_type.partner is None
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="devices.devicetype").exists()


@pytest.mark.parametrize(
    ("schemas", "message"),
    [
        ('{"try_on": {"type": "object"', "Not valid JSON"),
        ('{"try_on": {"type": "objekt"}}', "is not a valid JSON Schema"),
    ],
)
def test_the_type_form_explains_bad_json_and_bad_schemas_and_saves_nothing(
    client, brand, hq_user, schemas, message
):
    client.force_login(hq_user)
    response = client.post(reverse("devices:type_new"), {**TYPE_FORM, "event_schemas": schemas})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DeviceType.objects.filter(brand=brand).exists()


def test_hq_edits_a_type_by_id_and_its_code_stays(client, brand, hq_user):
    device_type = DeviceTypeFactory(brand=brand, code="disp")
    client.force_login(hq_user)
    url = reverse("devices:type_edit", kwargs={"type_id": device_type.pk})
    assert client.get(url).status_code == 200
    response = client.post(url, {**TYPE_FORM, "code": "changed", "name": "Dispenser v2"})
    assert response.status_code == 302
    device_type.refresh_from_db()
    assert (device_type.code, device_type.name) == ("disp", "Dispenser v2")


def test_a_type_maker_is_a_partner_of_the_same_brand(client, brand, other_brand, hq_user):
    from retail import services as retail_services

    ours = retail_services.create_api_client(brand=brand, name="Mirror Co", scopes=["devices:write"])
    theirs = retail_services.create_api_client(brand=other_brand, name="Other Co", scopes=["devices:write"])
    client.force_login(hq_user)
    refused = client.post(reverse("devices:type_new"), {**TYPE_FORM, "partner": theirs.pk})
    assert refused.status_code == 400
    assert client.post(reverse("devices:type_new"), {**TYPE_FORM, "partner": ours.pk}).status_code == 302
    assert DeviceType.objects.get(brand=brand, code="mirror").partner == ours


def test_a_store_manager_may_not_define_types(client, brand, manager_user):
    client.force_login(manager_user)
    assert client.post(reverse("devices:type_new"), TYPE_FORM).status_code == 403
    assert not DeviceType.objects.exists()


# --- registering --------------------------------------------------------------------------------


def test_a_manager_registers_a_device_and_sees_its_credential_once(client, brand, store, manager_user):
    device_type = DeviceTypeFactory(brand=brand, firmware_versions=["2.0"])
    client.force_login(manager_user)
    form = {
        "store": store.pk,
        "device_type": device_type.pk,
        "serial": "SN-9",
        "name": "Door",
        "firmware": "2.0",
    }
    response = client.post(reverse("devices:device_new"), form)
    assert response.status_code == 201
    body = response.content.decode()
    device = Device.objects.get(brand=brand, serial="SN-9")
    credential = response.context["credential"]
    assert credential in body and "Copy this credential now." in body
    assert device.credential_hash == hash_credential(credential)
    # the device's own page never shows it again
    assert (
        credential
        not in client.get(reverse("devices:device_detail", kwargs={"device_id": device.pk})).content.decode()
    )


def test_a_firmware_its_type_does_not_list_is_refused_with_the_list(client, brand, store, manager_user):
    device_type = DeviceTypeFactory(brand=brand, firmware_versions=["2.0", "2.1"])
    client.force_login(manager_user)
    form = {"store": store.pk, "device_type": device_type.pk, "serial": "SN-FW", "firmware": "9.9"}
    response = client.post(reverse("devices:device_new"), form)
    assert response.status_code == 400
    assert "Not a firmware version of this type (2.0, 2.1)." in response.content.decode()
    assert not Device.objects.filter(serial="SN-FW").exists()


def test_a_device_reporting_an_unlisted_firmware_is_flagged_on_its_page(client, brand, store, manager_user):
    device_type = DeviceTypeFactory(brand=brand, firmware_versions=["2.0"])
    listed = DeviceFactory(brand=brand, store=store, device_type=device_type, firmware="2.0")
    unlisted = DeviceFactory(brand=brand, store=store, device_type=device_type, firmware="3.0-beta")
    client.force_login(manager_user)

    def page(device) -> str:
        return client.get(reverse("devices:device_detail", kwargs={"device_id": device.pk})).content.decode()

    assert "unknown firmware" not in page(listed)
    body = page(unlisted)
    assert "3.0-beta" in body and "unknown firmware" in body


def test_a_duplicate_serial_gets_a_clear_error(client, brand, store, manager_user):
    device_type = DeviceTypeFactory(brand=brand)
    DeviceFactory(brand=brand, store=StoreFactory(brand=brand), serial="SN-9")
    client.force_login(manager_user)
    response = client.post(
        reverse("devices:device_new"), {"store": store.pk, "device_type": device_type.pk, "serial": "SN-9"}
    )
    assert response.status_code == 400
    assert "The brand already has a device with this serial number." in response.content.decode()
    assert Device.objects.filter(serial="SN-9").count() == 1


def test_a_manager_registers_only_in_their_stores_and_with_their_brands_types(
    client, brand, other_brand, store, manager_user
):
    elsewhere = StoreFactory(brand=brand)
    foreign_type = DeviceTypeFactory(brand=other_brand)
    client.force_login(manager_user)
    for form in (
        {"store": elsewhere.pk, "device_type": DeviceTypeFactory(brand=brand).pk, "serial": "SN-1"},
        {"store": store.pk, "device_type": foreign_type.pk, "serial": "SN-2"},
    ):
        assert client.post(reverse("devices:device_new"), form).status_code == 400
    assert not Device.objects.exists()


def test_a_guide_may_not_register_devices(client, brand, store, guide_user):
    client.force_login(guide_user)
    assert client.get(reverse("devices:device_new")).status_code == 403


# --- the list and a device's page ---------------------------------------------------------------


def test_a_manager_lists_the_devices_of_their_stores_with_an_offline_alert(
    client, brand, store, manager_user, django_assert_num_queries
):
    mine_offline = DeviceFactory(
        brand=brand,
        store=store,
        status=DeviceStatus.OFFLINE,
        last_seen_at=timezone.now() - timedelta(hours=2),
    )
    mine_online = DeviceFactory(
        brand=brand, store=store, status=DeviceStatus.ONLINE, last_seen_at=timezone.now()
    )
    other_store = DeviceFactory(brand=brand, status=DeviceStatus.OFFLINE)
    client.force_login(manager_user)
    response = client.get(reverse("devices:device_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert {d.pk for d in response.context["page"].items} == {mine_offline.pk, mine_online.pk}
    assert other_store.serial not in body
    assert "1 device is offline" in body
    assert f'data-device-id="{mine_online.pk}"' in body and "device-status-online" in body
    # filtering by status
    offline_only = client.get(reverse("devices:device_list"), {"status": "offline"})
    assert [d.pk for d in offline_only.context["page"].items] == [mine_offline.pk]


def test_the_device_list_reads_the_same_number_of_queries_for_1_or_6_devices(client, brand, store, hq_user):
    # given HQ and one device, then five more (offline, in other stores)
    client.force_login(hq_user)
    DeviceFactory(brand=brand, store=store)
    client.get(reverse("devices:device_list"))  # warm the session and caches
    one = _queries(client)
    for _ in range(5):
        DeviceFactory(brand=brand, store=StoreFactory(brand=brand), status=DeviceStatus.OFFLINE)
    # then the page costs no more queries (no N+1 on store, type or the alert)
    assert _queries(client) == one


def _queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("devices:device_list")).status_code == 200
    return len(ctx.captured_queries)


def test_another_stores_or_brands_device_is_a_404_for_a_manager(
    client, brand, other_brand, store, manager_user
):
    client.force_login(manager_user)
    for device in (DeviceFactory(brand=brand), DeviceFactory(brand=other_brand)):
        for name in ("device_detail", "device_rotate", "device_retire"):
            method = client.get if name == "device_detail" else client.post
            assert method(reverse(f"devices:{name}", kwargs={"device_id": device.pk})).status_code == 404
        assert Device.objects.get(pk=device.pk).credential_hash == hash_credential(device.credential)


def test_the_device_page_shows_the_newest_fifty_events_in_one_query(
    client, brand, store, manager_user, django_assert_num_queries
):
    from devices.selectors.registry import recent_events

    device = DeviceFactory(brand=brand, store=store)
    start = timezone.now() - timedelta(hours=1)
    DeviceEvent.objects.bulk_create(
        DeviceEvent(
            brand=brand,
            device=device,
            seq=i,
            event_type="heartbeat",
            occurred_at=start + timedelta(seconds=i),
            received_at=start + timedelta(seconds=i),
            payload={},
        )
        for i in range(1, 61)
    )
    with django_assert_num_queries(1):
        events = recent_events(device=device)
    assert [e.seq for e in events] == list(range(60, 10, -1))
    client.force_login(manager_user)
    response = client.get(reverse("devices:device_detail", kwargs={"device_id": device.pk}))
    assert response.status_code == 200 and len(response.context["events"]) == 50


def test_rotating_on_the_page_shows_the_new_credential_once_and_audits(client, brand, store, manager_user):
    device = DeviceFactory(brand=brand, store=store)
    client.force_login(manager_user)
    response = client.post(reverse("devices:device_rotate", kwargs={"device_id": device.pk}))
    assert response.status_code == 200
    credential = response.context["credential"]
    assert credential in response.content.decode() and credential != device.credential
    stored = Device.objects.get(pk=device.pk)
    assert stored.credential_hash == hash_credential(credential) != hash_credential(device.credential)
    assert AuditEvent.objects.filter(
        action=AuditAction.PERMISSION, object_id=str(device.pk), actor=manager_user
    ).exists()


def test_retiring_on_the_page_and_a_retired_device_gets_no_new_credential(client, brand, store, manager_user):
    device = DeviceFactory(brand=brand, store=store, status=DeviceStatus.ONLINE, last_seen_at=timezone.now())
    client.force_login(manager_user)
    assert client.post(reverse("devices:device_retire", kwargs={"device_id": device.pk})).status_code == 302
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.RETIRED
    client.post(reverse("devices:device_rotate", kwargs={"device_id": device.pk}))
    assert Device.objects.get(pk=device.pk).credential_hash == hash_credential(device.credential)


def test_a_second_store_manager_role_sees_both_stores(client, brand, store):
    second = StoreFactory(brand=brand)
    user = UserFactory(username="two-stores")
    StaffRoleFactory(user=user, brand=brand, store=store, role=Role.STORE_MANAGER)
    StaffRoleFactory(user=user, brand=brand, store=second, role=Role.STORE_MANAGER)
    a, b = DeviceFactory(brand=brand, store=store), DeviceFactory(brand=brand, store=second)
    client.force_login(user)
    listed = {d.pk for d in client.get(reverse("devices:device_list")).context["page"].items}
    assert listed == {a.pk, b.pk}


def test_the_manager_sees_which_of_their_dispensers_to_refill(client, brand, store, manager_user):
    # given two dispensers of the manager's store, one at its low-stock threshold, one full,
    # a retired empty one, and a low one in another store
    from devices.choices import DeviceKind
    from devices.tests.factories import DeviceTypeFactory

    kind = DeviceTypeFactory(brand=brand, kind=DeviceKind.SAMPLE_DISPENSER)
    low = DeviceFactory(brand=brand, store=store, device_type=kind, sample_stock=3, low_stock_threshold=5)
    DeviceFactory(brand=brand, store=store, device_type=kind, sample_stock=50, low_stock_threshold=5)
    DeviceFactory(brand=brand, store=store, device_type=kind, sample_stock=0, status=DeviceStatus.RETIRED)
    elsewhere = DeviceFactory(brand=brand, device_type=kind, sample_stock=0)
    client.force_login(manager_user)
    # when they open the device list
    response = client.get(reverse("devices:device_list"))
    # then only their low, active dispenser is in the refill alert
    assert response.context["low_stock"] == [low]
    body = response.content.decode()
    assert "Sample dispensers to refill" in body and "3 samples left" in body
    assert elsewhere.serial not in body
