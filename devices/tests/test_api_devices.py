"""The device API for partner and HQ tokens (GET /api/v1/devices/, /api/v1/devices/{id}/), and
a device reading its own record."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import make_partner
from devices.choices import DeviceStatus
from devices.models import Device
from devices.tests.factories import DeviceFactory
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def as_device(device) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {device.credential}")
    return client


@pytest.fixture
def devices(brand, store, other_brand):
    second_store = StoreFactory(brand=brand)
    ours = [
        DeviceFactory(brand=brand, store=store, status=DeviceStatus.ONLINE, firmware="2.0.1"),
        DeviceFactory(brand=brand, store=store),
        DeviceFactory(brand=brand, store=second_store, status=DeviceStatus.OFFLINE),
    ]
    theirs = DeviceFactory(brand=other_brand)
    return ours, theirs, second_store


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_partner_lists_the_brands_devices_only(devices):
    # given three devices of brand A in two stores and one of brand B
    ours, theirs, second_store = devices
    partner = make_partner(ours[0].brand, ["devices:read"])
    # when the partner lists devices, then it sees brand A's three
    assert ids(partner.get("/api/v1/devices/")) == {d.pk for d in ours}
    # and filters by store and by status
    assert ids(partner.get(f"/api/v1/devices/?store={second_store.pk}")) == {ours[2].pk}
    assert ids(partner.get("/api/v1/devices/?status=online")) == {ours[0].pk}
    assert ids(partner.get(f"/api/v1/devices/?store={theirs.store_id}")) == set()


def test_a_device_detail_shows_status_last_seen_firmware_and_type_never_the_credential(devices):
    ours, _theirs, _ = devices
    device = ours[0]
    Device.objects.filter(pk=device.pk).update(last_seen_at=timezone.now())
    partner = make_partner(device.brand, ["devices:read"])
    # when the partner reads one device
    body = partner.get(f"/api/v1/devices/{device.pk}/").json()
    # then it has its state and type, and nothing of its credential
    assert body["status"] == "online"
    assert body["firmware"] == "2.0.1"
    assert body["last_seen_at"] is not None
    assert body["store"] == device.store_id
    assert body["device_type"]["code"] == device.device_type.code
    assert not any("credential" in key for key in body)
    assert device.credential.split("_")[1] not in str(body)


def test_another_brands_device_is_a_404(devices):
    ours, theirs, _ = devices
    partner = make_partner(ours[0].brand, ["devices:read"])
    response = partner.get(f"/api/v1/devices/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_token_without_the_devices_scope_is_refused(devices):
    ours, _theirs, _ = devices
    partner = make_partner(ours[0].brand, ["orders:read"])
    response = partner.get("/api/v1/devices/")
    assert response.status_code == 403
    assert "devices:read" in response.json()["error"]["message"]


def test_a_device_reads_its_own_record_and_nothing_else(devices):
    # given a device's own credential
    ours, theirs, _ = devices
    device = ours[0]
    client = as_device(device)
    # then it reads itself
    response = client.get(f"/api/v1/devices/{device.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == device.pk
    # but a sibling of the same store, another brand's device, and the list are refused
    assert client.get(f"/api/v1/devices/{ours[1].pk}/").status_code == 404
    assert client.get(f"/api/v1/devices/{theirs.pk}/").status_code == 404
    listing = client.get("/api/v1/devices/")
    assert listing.status_code == 403
    assert listing.json()["error"]["code"] == "permission_denied"


def test_a_session_login_is_not_a_device_api_credential(client, hq_user, devices):
    client.force_login(hq_user)
    assert client.get("/api/v1/devices/").status_code == 401
