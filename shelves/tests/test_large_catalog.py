"""A flagship catalog of 500 products: accepted through the catalog service and the partner
API (one query for the products whatever the size), served to the kiosk from the cache after
the first request, and listed page by page on HQ's catalog page without N+1."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from retail.errors import InvalidInput
from retail.models import Product, StoreStock
from retail.tests.factories import StoreFactory
from shelves.models import Catalog, CatalogItem, ShelfSettings
from shelves.selectors.catalogs import ITEMS_PER_PAGE
from shelves.services import catalogs as services
from shelves.services.catalogs import MAX_ITEMS
from shelves.tests.factories import ScreenFactory

pytestmark = pytest.mark.django_db

SIZE = 500


def make_products(brand, n: int, prefix: str = "FL") -> list[Product]:
    return Product.objects.bulk_create(
        Product(
            brand=brand,
            sku=f"{prefix}-{i:04d}",
            name=f"Silk scarf 丝巾 {i}",
            price=Decimal("199.00") + i,
            online_stock=i % 7,
        )
        for i in range(n)
    )


@pytest.fixture
def products(brand):
    return make_products(brand, SIZE)


def test_a_500_product_catalog_is_accepted_through_the_service(brand, products):
    catalog = services.create_catalog(
        brand_id=brand.pk,
        name="Flagship",
        items=[{"product": p, "featured": i < 5} for i, p in enumerate(products)],
    )
    assert catalog.items.count() == SIZE
    assert list(catalog.items.order_by("position").values_list("product_id", flat=True)) == [
        p.pk for p in products
    ]
    # and replaced whole, in a new order
    services.set_catalog_items(catalog=catalog, items=[{"product": p} for p in reversed(products)])
    assert catalog.items.order_by("position").first().product_id == products[-1].pk


def test_the_cap_is_a_thousand_products(brand):
    many = make_products(brand, MAX_ITEMS + 1, prefix="CAP")
    assert MAX_ITEMS == 1000
    with pytest.raises(InvalidInput) as refused:
        services.create_catalog(brand_id=brand.pk, name="Too many", items=[{"product": p} for p in many])
    assert refused.value.code == "too_many_items"
    catalog = services.create_catalog(
        brand_id=brand.pk, name="Just right", items=[{"product": p} for p in many[:MAX_ITEMS]]
    )
    assert catalog.items.count() == MAX_ITEMS


def test_a_500_product_catalog_is_accepted_through_the_api_in_few_queries(
    partner, brand, products, django_assert_max_num_queries
):
    items = [
        {"sku": p.sku} if i % 2 else {"product": p.pk, "featured": i == 0} for i, p in enumerate(products)
    ]
    with django_assert_max_num_queries(30):  # not one per item
        response = partner.post(
            "/api/v1/shelf-catalogs/", {"name": "Flagship", "items": items}, format="json"
        )
    assert response.status_code == 201, response.content[:500]
    body = response.json()
    assert len(body["items"]) == SIZE
    assert body["items"][0]["featured"] is True and body["items"][1]["sku"] == products[1].sku
    # a PATCH replacing the whole list, likewise
    with django_assert_max_num_queries(40):
        patched = partner.patch(
            f"/api/v1/shelf-catalogs/{body['id']}/",
            {"items": [{"product": p.pk} for p in reversed(products)]},
            format="json",
        )
    assert patched.status_code == 200, patched.content[:500]
    assert patched.json()["items"][0]["product"] == products[-1].pk


def test_an_unknown_product_in_a_long_list_is_an_error_on_its_item(partner, brand, products):
    items = [{"product": p.pk} for p in products[:10]] + [{"sku": "NOPE"}]
    response = partner.post("/api/v1/shelf-catalogs/", {"name": "X", "items": items}, format="json")
    assert response.status_code == 400
    errors = response.json()["error"]["fields"]["items"]
    assert errors[10] == {"sku": ["Unknown or inactive product."]} and errors[0] == {}
    assert not Catalog.objects.exists()


def test_the_500_product_payload_is_cached_after_the_first_request(client, brand, products):
    # given a screen showing the 500-product catalog all day, the store stocking half of them
    ShelfSettings.objects.create(brand=brand, day_starts_at="00:00", night_starts_at="00:00")
    catalog = services.create_catalog(
        brand_id=brand.pk, name="Flagship", items=[{"product": p} for p in products]
    )
    store = StoreFactory(brand=brand)
    StoreStock.objects.bulk_create(
        StoreStock(brand=brand, store=store, product=p, quantity=1 + i % 5)
        for i, p in enumerate(products)
        if i % 2
    )
    screen = ScreenFactory(brand=brand, store=store, day_catalog=catalog)
    cache.clear()
    url = reverse("kiosk:payload", kwargs={"token": screen.token})
    # the first request reads the screen, the items with their products and the stock
    with CaptureQueriesContext(connection) as first:
        response = client.get(url)
    assert response.status_code == 200
    data = response.json()
    assert len(data["items"]) == SIZE and data["catalog"]["id"] == catalog.pk
    assert len(first.captured_queries) == 3
    # a warm one is served from the cache: no query at all
    with CaptureQueriesContext(connection) as warm:
        again = client.get(url)
    assert again.content == response.content
    assert len(warm.captured_queries) == 0
    # a catalog change bumps the version: never the stale 500 items
    services.set_catalog_items(catalog=catalog, items=[{"product": p} for p in products[:499]])
    from shelves.selectors import kiosk

    kiosk.forget_screen(screen.token)  # what the push does
    assert len(client.get(url).json()["items"]) == 499


def test_hqs_catalog_page_lists_500_products_in_pages_without_n_plus_1(
    client, brand, products, hq_user, django_assert_max_num_queries
):
    catalog = services.create_catalog(
        brand_id=brand.pk, name="Flagship", items=[{"product": p} for p in products]
    )
    client.force_login(hq_user)
    url = reverse("shelves:catalog_detail", kwargs={"catalog_id": catalog.pk})
    with django_assert_max_num_queries(15):
        page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("data-item-id=") == ITEMS_PER_PAGE
    assert "500 products" in html and "data-items-next" in html
    # the last page, by htmx: the last items, numbered by their place in the whole catalog
    last = client.get(
        reverse("shelves:catalog_items", kwargs={"catalog_id": catalog.pk}),
        {"page": 5},
        HTTP_HX_REQUEST="true",
    )
    body = last.content.decode()
    assert body.count("data-item-id=") == ITEMS_PER_PAGE and "data-items-next" not in body
    assert products[-1].sku in body and products[0].sku not in body
    assert '<ol class="shelves-items" start="401">' in body
    # moving the first item of page 3 up answers with page 2, where it went
    first_of_3 = CatalogItem.objects.get(catalog=catalog, position=200)
    moved = client.post(
        reverse("shelves:item_move", kwargs={"catalog_id": catalog.pk}),
        {"item": first_of_3.pk, "direction": "up", "page": 3},
        HTTP_HX_REQUEST="true",
    )
    assert f'data-item-id="{first_of_3.pk}"' in moved.content.decode()
    assert "Page 2" in moved.content.decode()
