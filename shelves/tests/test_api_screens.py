"""The screen API: create (the kiosk URL once), list and retrieve (never the token),
partial update of catalogs / zone / guide, retire, validation errors, another brand's
screen a 404, scopes enforced."""

from __future__ import annotations

import pytest

from conftest import make_partner
from devices.choices import DeviceStatus
from retail.choices import Role
from retail.tests.factories import StaffRoleFactory, StoreFactory
from shelves.choices import ScreenStatus
from shelves.models import Screen
from shelves.services import screens as services
from shelves.tests.factories import CatalogFactory, ScreenFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/shelf-screens/"


def test_create_a_screen_returns_its_kiosk_url_once(partner, brand, store):
    day = CatalogFactory(brand=brand)
    guide = StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user
    response = partner.post(
        URL,
        {"store": store.pk, "name": "Entrance", "zone": "Front", "guide": guide.pk, "day_catalog": day.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    screen = Screen.objects.get(pk=body["id"])
    assert body["kiosk_url"].endswith(f"/shelf/{screen.token}/")
    assert (body["store"], body["guide"], body["day_catalog"], body["zone"]) == (
        store.pk,
        guide.pk,
        day.pk,
        "Front",
    )
    assert body["device"] == screen.device_id and body["device_status"] == DeviceStatus.PROVISIONED
    assert body["scan_code"] == screen.scan_code
    # reads never carry the token
    for answer in (partner.get(URL), partner.get(f"{URL}{screen.pk}/")):
        assert screen.token not in answer.content.decode()
        assert "kiosk_url" not in answer.content.decode()


def test_list_filters_by_store_and_shows_only_the_brand(
    partner, brand, other_brand, store, django_assert_max_num_queries
):
    ScreenFactory(brand=brand, store=store)
    ScreenFactory(brand=brand)
    ScreenFactory(brand=other_brand)
    with django_assert_max_num_queries(8):
        everything = partner.get(URL)
    assert len(everything.json()["results"]) == 2
    only = partner.get(URL, {"store": store.pk}).json()["results"]
    assert [s["store"] for s in only] == [store.pk]


def test_partial_update_reassigns_catalogs_zone_and_guide(partner, brand, store):
    screen = services.create_screen(store=store, name="A")
    night = CatalogFactory(brand=brand)
    guide = StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user
    response = partner.patch(
        f"{URL}{screen.pk}/", {"night_catalog": night.pk, "zone": "Back", "guide": guide.pk}, format="json"
    )
    assert response.status_code == 200, response.content
    screen.refresh_from_db()
    assert (screen.night_catalog_id, screen.zone, screen.guide_id) == (night.pk, "Back", guide.pk)
    cleared = partner.patch(f"{URL}{screen.pk}/", {"night_catalog": None, "guide": None}, format="json")
    assert cleared.json()["night_catalog"] is None and cleared.json()["guide"] is None


@pytest.mark.parametrize(
    "problem", ["other_brand_catalog", "archived_catalog", "other_store_guide", "unknown_field", "token"]
)
def test_partial_update_refuses_bad_input(partner, brand, other_brand, store, problem):
    screen = services.create_screen(store=store, name="A")
    payload, field = {
        "other_brand_catalog": lambda: ({"day_catalog": CatalogFactory(brand=other_brand).pk}, "day_catalog"),
        "archived_catalog": lambda: (
            {"day_catalog": CatalogFactory(brand=brand, is_archived=True).pk},
            "day_catalog",
        ),
        "other_store_guide": lambda: (
            {
                "guide": StaffRoleFactory(
                    brand=brand, store=StoreFactory(brand=brand), role=Role.GUIDE
                ).user.pk
            },
            "guide",
        ),
        "unknown_field": lambda: ({"colour": "red"}, "colour"),
        "token": lambda: ({"token": "mine"}, "token"),
    }[problem]()
    response = partner.patch(f"{URL}{screen.pk}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_create_in_another_brands_store_is_refused(partner, other_brand):
    theirs = StoreFactory(brand=other_brand)
    response = partner.post(URL, {"store": theirs.pk, "name": "X"}, format="json")
    assert response.status_code == 400 and "store" in response.json()["error"]["fields"]
    assert not Screen.objects.exists()


def test_retire_retires_the_screen_and_its_device(partner, store):
    screen = services.create_screen(store=store, name="A")
    response = partner.post(f"{URL}{screen.pk}/retire/", format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ScreenStatus.RETIRED
    assert response.json()["device_status"] == DeviceStatus.RETIRED
    again = partner.patch(f"{URL}{screen.pk}/", {"zone": "x"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "retired"


def test_another_brands_screen_is_a_404(partner, other_brand):
    theirs = ScreenFactory(brand=other_brand)
    for response in (
        partner.get(f"{URL}{theirs.pk}/"),
        partner.patch(f"{URL}{theirs.pk}/", {"zone": "mine"}, format="json"),
        partner.post(f"{URL}{theirs.pk}/retire/", format="json"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Screen.objects.get(pk=theirs.pk).status == ScreenStatus.ACTIVE


def test_scopes_are_enforced(brand, store):
    screen = ScreenFactory(brand=brand, store=store)
    reader = make_partner(brand, scopes=["shelves:read"])
    assert reader.get(f"{URL}{screen.pk}/").status_code == 200
    assert reader.post(f"{URL}{screen.pk}/retire/", format="json").status_code == 403
    assert reader.post(URL, {"store": store.pk, "name": "X"}, format="json").status_code == 403
    assert make_partner(brand, scopes=["devices:read"]).get(URL).status_code == 403
    assert Screen.objects.get(pk=screen.pk).status == ScreenStatus.ACTIVE


def test_the_schema_describes_the_screen_routes(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert "post" in schema["paths"]["/api/v1/shelf-screens/{id}/retire/"]
    created = schema["components"]["schemas"]["ScreenCreated"]["properties"]
    assert "kiosk_url" in created
    assert "kiosk_url" not in schema["components"]["schemas"]["Screen"]["properties"]
    assert "token" not in schema["components"]["schemas"]["Screen"]["properties"]
