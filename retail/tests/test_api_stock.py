"""Store stock through the partner API, and orders with attribution tokens nobody made."""

import pytest

from conftest import make_partner
from retail.models import Order, StoreStock
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_partner_sets_and_reads_a_stores_stock(partner, brand, store):
    # given two products of the brand
    a, b = ProductFactory(brand=brand), ProductFactory(brand=brand)
    # when the ERP sets their stock, by id and by SKU
    body = {"items": [{"product": a.pk, "quantity": 5}, {"sku": b.sku, "quantity": 0}]}
    response = partner.post(f"/api/v1/stores/{store.pk}/stock/", body, format="json")
    # then both levels are stored
    assert response.status_code == 200, response.json()
    assert response.json() == {"written": 2}
    assert dict(StoreStock.objects.values_list("product_id", "quantity")) == {a.pk: 5, b.pk: 0}
    # and a second push sets (not adds) the level
    partner.post(
        f"/api/v1/stores/{store.pk}/stock/", {"items": [{"product": a.pk, "quantity": 3}]}, format="json"
    )
    assert StoreStock.objects.get(product=a).quantity == 3
    listed = partner.get(f"/api/v1/stores/{store.pk}/stock/").json()["results"]
    assert {(r["sku"], r["quantity"]) for r in listed} == {(a.sku, 3), (b.sku, 0)}


def test_stock_refuses_bad_input_and_writes_nothing(partner, brand, other_brand, store):
    mine, theirs = ProductFactory(brand=brand), ProductFactory(brand=other_brand)
    url = f"/api/v1/stores/{store.pk}/stock/"
    cases = [
        {"items": [{"product": mine.pk, "quantity": -1}]},
        {"items": [{"product": theirs.pk, "quantity": 1}]},  # another brand's product: unknown
        {"items": [{"product": mine.pk, "quantity": 1}, {"sku": mine.sku, "quantity": 2}]},
        {"items": []},
        {"items": [{"product": mine.pk, "sku": mine.sku, "quantity": 1}]},
        {"items": [{"product": mine.pk, "quantity": 1, "colour": "red"}]},
    ]
    for body in cases:
        response = partner.post(url, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not StoreStock.objects.exists()


def test_another_brands_store_stock_is_a_404(brand, other_brand):
    theirs = StoreFactory(brand=other_brand)
    partner = make_partner(brand)
    assert partner.get(f"/api/v1/stores/{theirs.pk}/stock/").status_code == 404
    product = ProductFactory(brand=brand)
    response = partner.post(
        f"/api/v1/stores/{theirs.pk}/stock/",
        {"items": [{"product": product.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 404
    assert not StoreStock.objects.exists()


def test_stock_needs_the_stores_scopes(brand, store):
    product = ProductFactory(brand=brand)
    reader = make_partner(brand, scopes=["stores:read"])
    body = {"items": [{"product": product.pk, "quantity": 1}]}
    assert reader.get(f"/api/v1/stores/{store.pk}/stock/").status_code == 200
    assert reader.post(f"/api/v1/stores/{store.pk}/stock/", body, format="json").status_code == 403


@pytest.mark.parametrize("token", ["nonsense", "sh1.zz:forged-signature", "xx.1:abc", "   "])
def test_an_order_with_a_token_nobody_made_is_stored_without_attribution(partner, brand, token):
    product = ProductFactory(brand=brand)
    body = {
        "external_id": "WEB-1",
        "channel": "online",
        "attribution_token": token,
        "lines": [{"product": product.pk, "quantity": 1}],
    }
    response = partner.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    order = Order.objects.get(external_id="WEB-1")
    assert order.channel == "online" and order.store_id is None and order.shelf_scan_id is None
    if token.strip():
        assert response.json()["attribution"]["status"] == "unknown"
        assert response.json()["attribution"]["message"]
        assert order.attribution["status"] == "unknown"
    else:  # blank is no token at all
        assert response.json()["attribution"] == {}
