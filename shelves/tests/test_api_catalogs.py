"""The catalog API: create with items by id or SKU, list and retrieve with items in order,
partial update replacing the items, validation errors in the error shape, another brand's
catalog a 404, scopes enforced, Idempotency-Key honoured."""

from __future__ import annotations

import pytest

from conftest import make_partner
from retail.models import DomainEvent
from retail.tests.factories import ProductFactory
from shelves.models import Catalog
from shelves.tests.factories import CatalogFactory, CatalogItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/shelf-catalogs/"


def test_create_a_catalog_with_items_by_id_and_sku(partner, brand):
    a = ProductFactory(brand=brand, sku="SKU-A")
    b = ProductFactory(brand=brand, sku="SKU-B")
    response = partner.post(
        URL,
        {
            "name": "Spring",
            "headline": "New season",
            "items": [{"sku": "SKU-B", "featured": True}, {"product": a.pk}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Spring" and body["version"] == 1 and body["is_archived"] is False
    assert body["items"] == [
        {"position": 0, "product": b.pk, "sku": "SKU-B", "name": b.name, "featured": True},
        {"position": 1, "product": a.pk, "sku": "SKU-A", "name": a.name, "featured": False},
    ]
    assert Catalog.objects.get(pk=body["id"]).brand_id == brand.pk


def test_list_and_retrieve_show_items_in_order_and_only_the_brands_catalogs(
    partner, brand, other_brand, django_assert_max_num_queries
):
    mine = CatalogFactory(brand=brand)
    second = CatalogItemFactory(catalog=mine, position=1)
    first = CatalogItemFactory(catalog=mine, position=0)
    CatalogFactory(brand=brand)
    CatalogFactory(brand=other_brand)
    with django_assert_max_num_queries(8):
        listed = partner.get(URL)
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 2
    one = partner.get(f"{URL}{mine.pk}/").json()
    assert [i["product"] for i in one["items"]] == [first.product_id, second.product_id]


def test_partial_update_replaces_items_and_renames_in_one_version_each(partner, brand):
    catalog = CatalogFactory(brand=brand, name="Old")
    CatalogItemFactory.create_batch(2, catalog=catalog)
    fresh = ProductFactory(brand=brand)
    response = partner.patch(
        f"{URL}{catalog.pk}/",
        {"name": "New", "items": [{"product": fresh.pk, "featured": True}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "New" and body["version"] == 3
    assert [(i["product"], i["featured"]) for i in body["items"]] == [(fresh.pk, True)]
    assert DomainEvent.objects.filter(name="shelf.catalog_changed", brand=brand).count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "items": [{"featured": True}]}, "items"),
        ({"name": "X", "items": [{"sku": "NOPE"}]}, "items"),
        ({"name": "X", "colour": "red"}, "colour"),
        ({"name": "X", "items": "all"}, "items"),
    ],
)
def test_create_refuses_bad_input_in_the_error_shape(partner, brand, payload, field):
    response = partner.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert not Catalog.objects.exists()


def test_another_brands_product_is_an_unknown_product(partner, brand, other_brand):
    theirs = ProductFactory(brand=other_brand, sku="THEIRS")
    for item in ({"product": theirs.pk}, {"sku": "THEIRS"}):
        response = partner.post(URL, {"name": "X", "items": [item]}, format="json")
        assert response.status_code == 400 and "items" in response.json()["error"]["fields"]


def test_duplicate_products_and_names_are_refused(partner, brand):
    product = ProductFactory(brand=brand)
    twice = partner.post(
        URL, {"name": "X", "items": [{"product": product.pk}, {"product": product.pk}]}, format="json"
    )
    assert twice.status_code == 400 and twice.json()["error"]["code"] == "duplicate_product"
    CatalogFactory(brand=brand, name="Taken")
    taken = partner.post(URL, {"name": "Taken"}, format="json")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "duplicate_name"


def test_another_brands_catalog_is_a_404_in_the_error_shape(partner, other_brand):
    theirs = CatalogFactory(brand=other_brand, name="Theirs")
    for response in (
        partner.get(f"{URL}{theirs.pk}/"),
        partner.patch(f"{URL}{theirs.pk}/", {"name": "Mine"}),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert Catalog.objects.get(pk=theirs.pk).name == "Theirs"


def test_scopes_are_enforced(brand):
    reader = make_partner(brand, scopes=["shelves:read"])
    assert reader.get(URL).status_code == 200
    refused = reader.post(URL, {"name": "X"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    stranger = make_partner(brand, scopes=["orders:read"])
    assert stranger.get(URL).status_code == 403
    assert not Catalog.objects.exists()


def test_a_repeated_create_with_the_same_idempotency_key_makes_one_catalog(partner, brand):
    first = partner.post(URL, {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = partner.post(URL, {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Catalog.objects.filter(brand=brand).count() == 1


def test_the_schema_describes_the_catalog_routes(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert "post" in schema["paths"]["/api/v1/shelf-catalogs/"]
    assert "patch" in schema["paths"]["/api/v1/shelf-catalogs/{id}/"]
    catalog = schema["components"]["schemas"]["Catalog"]
    assert catalog["properties"]["items"]["type"] == "array"
