"""Screen use cases: a new screen gets a kiosk token, a scan code fit for QR URLs and a
device in the registry (one in-house device type per brand); catalogs and guide are checked
against the brand and the store; changes publish `shelf.screen_changed` and push the screen;
retiring retires its device; a rotated token replaces the old one at once (audited)."""

from __future__ import annotations

import re

import pytest

from devices.choices import DeviceKind, DeviceStatus
from devices.models import Device, DeviceType
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent, DomainEvent
from retail.tenancy import Principal
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory
from shelves.choices import ScreenStatus
from shelves.models import Screen
from shelves.services import screens as services
from shelves.tests.factories import CatalogFactory

pytestmark = pytest.mark.django_db


def screen_events(brand) -> list[dict]:
    return list(
        DomainEvent.objects.filter(brand=brand, name="shelf.screen_changed")
        .order_by("id")
        .values_list("payload", flat=True)
    )


def guide_of(store, username="zone-guide"):
    return StaffRoleFactory(
        user=UserFactory(username=username), brand=store.brand, store=store, role=Role.GUIDE
    ).user


def test_create_screen_makes_token_scan_code_and_a_registry_device(brand, store, pushed):
    day, night = CatalogFactory(brand=brand), CatalogFactory(brand=brand)
    guide = guide_of(store)
    screen = services.create_screen(
        store=store,
        name=" Entrance ",
        zone="Front",
        guide=guide,
        day_catalog=day,
        night_catalog=night,
        rotate_seconds=6,
    )
    screen = Screen.objects.select_related("device__device_type").get(pk=screen.pk)
    assert (screen.name, screen.zone, screen.guide_id, screen.rotate_seconds) == (
        "Entrance",
        "Front",
        guide.pk,
        6,
    )
    assert (screen.day_catalog_id, screen.night_catalog_id, screen.double11_catalog_id) == (
        day.pk,
        night.pk,
        None,
    )
    assert re.fullmatch(r"[A-Za-z0-9]{8}", screen.scan_code)
    assert len(screen.token) >= 32 and screen.token != screen.scan_code
    device = screen.device
    assert device.serial == f"SHELF-{screen.scan_code}" and device.store_id == store.pk
    assert device.device_type.code == "cloud-shelf-screen"
    assert device.device_type.kind == DeviceKind.SHELF_SCREEN
    assert device.device_type.partner_id is None and device.device_type.heartbeat_interval_seconds == 60
    assert screen_events(brand) == [{"screen": screen.pk, "change": "created"}]
    assert DomainEvent.objects.get(name="shelf.screen_changed").store_id == store.pk
    assert pushed == [([screen.pk], "screen")]
    created = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="shelves.screen")
    assert screen.token not in str(created.after)  # the capability secret is not in the audit trail


def test_the_brands_screen_device_type_is_defined_once(brand, store):
    services.create_screen(store=store, name="A")
    services.create_screen(store=StoreFactory(brand=brand), name="B")
    assert DeviceType.objects.filter(brand=brand, code="cloud-shelf-screen").count() == 1
    assert Device.objects.filter(brand=brand).count() == 2


def test_scan_codes_are_redrawn_when_taken(brand, store, monkeypatch):
    first = services.create_screen(store=store, name="A")
    codes = iter([first.scan_code, first.scan_code, "FRESH234"])
    monkeypatch.setattr(services, "new_scan_code", lambda: next(codes))
    second = services.create_screen(store=store, name="B")
    assert second.scan_code == "FRESH234"


def test_screen_names_are_unique_per_store(brand, store):
    services.create_screen(store=store, name="Entrance")
    services.create_screen(store=StoreFactory(brand=brand), name="Entrance")
    with pytest.raises(Conflict) as caught:
        services.create_screen(store=store, name="Entrance")
    assert "name" in caught.value.fields
    assert Device.objects.filter(brand=brand).count() == 2  # the refused one registered nothing


@pytest.mark.parametrize(
    "problem", ["other_brand_catalog", "archived_catalog", "guide_of_other_store", "not_a_guide"]
)
def test_create_screen_checks_catalogs_and_guide(brand, other_brand, store, problem):
    kwargs = {
        "other_brand_catalog": lambda: {"day_catalog": CatalogFactory(brand=other_brand)},
        "archived_catalog": lambda: {"double11_catalog": CatalogFactory(brand=brand, is_archived=True)},
        "guide_of_other_store": lambda: {"guide": guide_of(StoreFactory(brand=brand))},
        "not_a_guide": lambda: {
            "guide": StaffRoleFactory(brand=brand, store=store, role=Role.STORE_MANAGER).user
        },
    }[problem]()
    with pytest.raises(InvalidInput) as caught:
        services.create_screen(store=store, name="Entrance", **kwargs)
    assert set(caught.value.fields) == set(kwargs)
    assert not Screen.objects.exists() and not Device.objects.exists()


def test_update_screen_reassigns_catalogs_publishes_and_pushes(brand, store, pushed):
    screen = services.create_screen(store=store, name="A")
    pushed.clear()
    double11 = CatalogFactory(brand=brand)
    updated = services.update_screen(screen=screen, double11_catalog=double11, zone="Back", rotate_seconds=4)
    assert (updated.double11_catalog_id, updated.zone, updated.rotate_seconds) == (double11.pk, "Back", 4)
    assert screen_events(brand)[-1] == {"screen": screen.pk, "change": "assigned"}
    assert pushed == [([screen.pk], "screen")]
    # nothing changed: no event, no push
    services.update_screen(screen=screen, zone="Back")
    assert len(screen_events(brand)) == 2 and len(pushed) == 1


def test_update_screen_refuses_a_guide_of_another_store_and_unknown_fields(brand, store):
    screen = services.create_screen(store=store, name="A")
    with pytest.raises(InvalidInput) as caught:
        services.update_screen(screen=screen, guide=guide_of(StoreFactory(brand=brand)))
    assert "guide" in caught.value.fields
    with pytest.raises(InvalidInput):
        services.update_screen(screen=screen, token="mine-now")
    with pytest.raises(InvalidInput):
        services.update_screen(screen=screen, rotate_seconds=1)
    assert Screen.objects.get(pk=screen.pk).guide_id is None


def test_retire_screen_retires_its_device_and_freezes_it(brand, store, pushed):
    screen = services.create_screen(store=store, name="A")
    pushed.clear()
    retired = services.retire_screen(screen=screen)
    assert retired.status == ScreenStatus.RETIRED and retired.retired_at is not None
    assert Device.objects.get(pk=screen.device_id).status == DeviceStatus.RETIRED
    assert screen_events(brand)[-1] == {"screen": screen.pk, "change": "retired"}
    assert pushed == [([screen.pk], "screen")]
    services.retire_screen(screen=screen)  # a repeat is a no-op
    assert len(screen_events(brand)) == 2
    with pytest.raises(Conflict):
        services.update_screen(screen=screen, zone="x")
    with pytest.raises(Conflict):
        services.rotate_screen_token(screen=screen)


def test_rotating_the_token_replaces_it_and_is_audited_as_a_permission_change(brand, store, pushed):
    screen = services.create_screen(store=store, name="A")
    old = screen.token
    pushed.clear()
    rotated = services.rotate_screen_token(screen=screen)
    assert rotated.token != old and not Screen.objects.filter(token=old).exists()
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(screen.pk)).exists()
    assert screen_events(brand)[-1] == {"screen": screen.pk, "change": "token_rotated"}
    assert pushed == [([screen.pk], "token")]


def test_who_may_manage_screens(brand, store):
    other = StoreFactory(brand=brand)
    hq = Principal(kind="user", brand_id=brand.pk, role=Role.HQ_ADMIN)
    manager = Principal(
        kind="user", brand_id=brand.pk, role=Role.STORE_MANAGER, store_ids=frozenset({store.pk})
    )
    guide = Principal(kind="user", brand_id=brand.pk, role=Role.GUIDE, store_ids=frozenset({store.pk}))
    assert services.may_manage_screens(hq, other.pk)
    assert services.may_manage_screens(manager, store.pk) and not services.may_manage_screens(
        manager, other.pk
    )
    assert not services.may_manage_screens(guide, store.pk) and not services.may_manage_screens(guide)
