"""The partner API for the core: stores, products, orders; auth, scopes, throttling,
pagination, filters, the OpenAPI schema and docs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import yaml
from django.utils import timezone

from conftest import make_partner
from members.tests.factories import MemberFactory
from retail import services
from retail.choices import API_SCOPES
from retail.models import ApiClient, ApiToken, AuditEvent, DomainEvent, Product, Store
from retail.tests.factories import OrderFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


# --- stores -----------------------------------------------------------------------------------------


def test_partner_creates_lists_retrieves_and_patches_a_store(partner, brand, other_brand):
    StoreFactory(brand=other_brand, code="THEIRS")
    # when the partner creates a store
    body = {"code": "SH-001", "name": "Shanghai Flagship", "city": "Shanghai", "latitude": "31.230400"}
    created = partner.post("/api/v1/stores/", body, format="json")
    # then it belongs to the token's brand, audited, announced
    assert created.status_code == 201, created.json()
    data = created.json()
    store = Store.objects.get(pk=data["id"])
    assert store.brand == brand and store.status == "onboarding"
    assert data["latitude"] == "31.230400"
    assert AuditEvent.objects.filter(object_type="retail.store", object_id=str(store.pk)).exists()
    assert DomainEvent.objects.filter(name="store.created", brand=brand).count() == 1
    # and the list shows the brand's stores only
    assert [s["code"] for s in results(partner.get("/api/v1/stores/"))] == ["SH-001"]
    assert partner.get(f"/api/v1/stores/{store.pk}/").json() == data
    # a patch changes only what it names
    patched = partner.patch(f"/api/v1/stores/{store.pk}/", {"status": "live"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["status"] == "live" and patched.json()["name"] == "Shanghai Flagship"
    assert DomainEvent.objects.filter(name="store.updated", brand=brand).count() == 1


def test_store_filters(partner, brand):
    StoreFactory(brand=brand, code="A", city="Shanghai", status="live")
    StoreFactory(brand=brand, code="B", city="Beijing", status="live")
    StoreFactory(brand=brand, code="C", city="Beijing", status="closed")

    def codes(query):
        return sorted(s["code"] for s in results(partner.get(f"/api/v1/stores/{query}")))

    assert codes("?city=Beijing") == ["B", "C"]
    assert codes("?status=live") == ["A", "B"]
    assert codes("?code=C") == ["C"]
    assert codes("?city=Beijing&status=live") == ["B"]
    assert partner.get("/api/v1/stores/?status=teleporting").status_code == 400


# --- products ---------------------------------------------------------------------------------------


def test_partner_creates_lists_retrieves_and_patches_a_product(partner, brand, other_brand):
    ProductFactory(brand=other_brand, sku="SKU-1")  # the same SKU in another brand is fine
    body = {
        "sku": "SKU-1",
        "name": "Silk scarf",
        "category": "accessories",
        "price": "299.00",
        "online_stock": 5,
    }
    created = partner.post("/api/v1/products/", body, format="json")
    assert created.status_code == 201, created.json()
    product = Product.objects.get(pk=created.json()["id"])
    assert product.brand == brand and product.price == Decimal("299.00")
    assert [p["sku"] for p in results(partner.get("/api/v1/products/"))] == ["SKU-1"]
    assert partner.get(f"/api/v1/products/{product.pk}/").json()["price"] == "299.00"
    patched = partner.patch(
        f"/api/v1/products/{product.pk}/", {"price": "259.00", "is_active": False}, format="json"
    )
    assert patched.status_code == 200
    product.refresh_from_db()
    assert product.price == Decimal("259.00") and not product.is_active
    event = AuditEvent.objects.get(object_type="retail.product", action="update")
    assert event.before["price"] == "299.00" and event.after["price"] == "259.00"
    # the audit trail names the API client that made the change
    assert (
        event.actor_id is None
        and event.actor_label.startswith("api:")
        and "test partner" in event.actor_label
    )


def test_product_filters(partner, brand):
    ProductFactory(brand=brand, sku="A", category="shoes")
    ProductFactory(brand=brand, sku="B", category="bags", is_active=False)
    ProductFactory(brand=brand, sku="C", category="bags")

    def skus(query):
        return sorted(p["sku"] for p in results(partner.get(f"/api/v1/products/{query}")))

    assert skus("?category=bags") == ["B", "C"]
    assert skus("?is_active=false") == ["B"]
    assert skus("?sku=A") == ["A"]


# --- orders -----------------------------------------------------------------------------------------


@pytest.fixture
def ledger(brand, other_brand):
    """Orders of brand A at two stores, one with a member and a given SKU; one of brand B."""
    north, south = StoreFactory(brand=brand, code="NORTH"), StoreFactory(brand=brand, code="SOUTH")
    scarf = ProductFactory(brand=brand, sku="SCARF", price=Decimal("100.00"))
    member = MemberFactory(brand=brand, phone="13800001234")
    a = services.record_order(
        brand=brand,
        external_id="A",
        channel="store",
        store=north,
        member=member,
        lines=[{"product": scarf, "quantity": 2}],
        paid_at=timezone.now() - timedelta(days=3),
    )
    b = OrderFactory(brand=brand, store=south, external_id="B", channel="online")
    c = OrderFactory(brand=brand, store=north, external_id="C")
    theirs = OrderFactory(brand=other_brand, external_id="A")
    MemberFactory(brand=other_brand, phone="13800001234")
    return {"north": north, "south": south, "member": member, "a": a, "b": b, "c": c, "theirs": theirs}


def external_ids(partner, query="") -> list[str]:
    return sorted(o["external_id"] for o in results(partner.get(f"/api/v1/orders/{query}")))


def test_orders_list_shows_the_brands_orders_with_lines(partner, ledger):
    listed = results(partner.get("/api/v1/orders/"))
    assert sorted(o["external_id"] for o in listed) == ["A", "B", "C"]
    a = next(o for o in listed if o["external_id"] == "A")
    assert a["lines"] == [
        {
            "product": a["lines"][0]["product"],
            "sku": "SCARF",
            "name": a["lines"][0]["name"],
            "quantity": 2,
            "unit_price": "100.00",
            "line_total": "200.00",
        }
    ]
    assert a["total"] == "200.00" and a["currency"] == "CNY"
    assert partner.get(f"/api/v1/orders/{ledger['a'].pk}/").json()["external_id"] == "A"


def test_orders_filter_by_sku_store_code_and_member_phone(partner, ledger):
    assert external_ids(partner, "?sku=SCARF") == ["A"]
    assert external_ids(partner, "?sku=NOPE") == []
    assert external_ids(partner, "?store_code=NORTH") == ["A", "C"]
    assert external_ids(partner, "?store_code=SOUTH") == ["B"]
    for phone in ("13800001234", "+86 138 0000 1234", "138-0000-1234"):
        assert external_ids(partner, f"?member_phone={phone}".replace("+", "%2B")) == ["A"]
    assert external_ids(partner, "?member_phone=13900000000") == []
    assert external_ids(partner, "?member_phone=garbage") == []


def test_orders_filter_by_ids_channel_and_time(partner, ledger):
    assert external_ids(partner, f"?store={ledger['north'].pk}") == ["A", "C"]
    assert external_ids(partner, f"?member={ledger['member'].pk}") == ["A"]
    assert external_ids(partner, "?channel=online") == ["B"]
    assert external_ids(partner, "?external_id=A") == ["A"]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert external_ids(partner, f"?paid_after={since}") == ["B", "C"]
    assert external_ids(partner, f"?paid_before={since}") == ["A"]


def test_filtering_by_another_brands_id_reads_like_an_unknown_id(partner, ledger, other_brand):
    theirs = StoreFactory(brand=other_brand)
    known = partner.get(f"/api/v1/orders/?store={theirs.pk}")
    unknown = partner.get("/api/v1/orders/?store=999999999")
    assert known.status_code == unknown.status_code == 200
    assert known.json()["results"] == unknown.json()["results"] == []
    assert external_ids(partner, f"?store_code={theirs.code}") == []


# --- auth and scopes --------------------------------------------------------------------------------


def test_ping_names_the_tokens_brand_and_scopes(brand):
    api = make_partner(brand, ["orders:read", "stores:read"])
    response = api.get("/api/v1/ping/")
    assert response.status_code == 200
    assert response.json()["brand"] == brand.pk
    assert response.json()["scopes"] == ["orders:read", "stores:read"]


def test_a_token_records_when_it_was_last_used(brand):
    api = make_partner(brand, ["orders:read"])
    token = ApiToken.objects.latest("created_at")
    assert token.last_used_at is None
    assert api.get("/api/v1/ping/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_an_expired_token_is_401(brand):
    from rest_framework.test import APIClient

    client = services.create_api_client(brand=brand, name="old", scopes=["orders:read"])
    _, raw = services.issue_api_token(client=client, expires_at=timezone.now() - timedelta(seconds=1))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/orders/").status_code == 401


@pytest.mark.parametrize("resource", ["stores", "products", "orders", "members"])
def test_read_and_write_scopes_are_separate(brand, resource):
    reader = make_partner(brand, [f"{resource}:read"])
    writer = make_partner(brand, [f"{resource}:write"])
    assert reader.get(f"/api/v1/{resource}/").status_code == 200
    assert writer.get(f"/api/v1/{resource}/").status_code == 403
    assert reader.post(f"/api/v1/{resource}/", {}, format="json").status_code == 403
    # the writer passes the scope check and reaches validation
    assert writer.post(f"/api/v1/{resource}/", {}, format="json").status_code == 400


def test_a_session_login_is_not_an_api_credential(client, hq_user):
    client.force_login(hq_user)
    assert client.get("/api/v1/orders/").status_code == 401


def test_every_scope_named_in_views_exists():
    from django.urls import get_resolver

    from tests.test_isolation import walk

    for route in walk(get_resolver()):
        resource = getattr(getattr(route.callback, "cls", None), "scope_resource", None)
        if route.path.startswith("api/v1/") and resource:
            assert f"{resource}:read" in API_SCOPES and f"{resource}:write" in API_SCOPES, resource


# --- throttling -------------------------------------------------------------------------------------


def test_throttling_counts_per_token_within_the_limit(brand):
    from retail.api import throttling

    api = make_partner(brand, ["orders:read"], rate_limit_per_minute=5)
    throttling.reset(ApiClient.objects.latest("pk").pk)
    statuses = [api.get("/api/v1/orders/").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


# --- pagination -------------------------------------------------------------------------------------


def test_cursor_pagination_walks_every_row_once(partner, brand):
    store = StoreFactory(brand=brand)
    made = {OrderFactory(brand=brand, store=store).external_id for _ in range(7)}
    seen, url, pages = [], "/api/v1/orders/?page_size=3", 0
    while url:
        body = partner.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        assert len(body["results"]) <= 3
        seen += [o["external_id"] for o in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))


def test_cursor_pagination_is_newest_first_and_stable_under_inserts(partner, brand):
    store = StoreFactory(brand=brand)
    first = [OrderFactory(brand=brand, store=store) for _ in range(4)]
    page = partner.get("/api/v1/orders/?page_size=2").json()
    assert [o["id"] for o in page["results"]] == [first[3].pk, first[2].pk]
    OrderFactory(brand=brand, store=store)  # a new order arrives between pages
    following = partner.get(page["next"]).json()
    assert [o["id"] for o in following["results"]] == [first[1].pk, first[0].pk]


def test_page_size_is_capped(partner, brand):
    from retail.api.pagination import IdCursorPagination

    for _ in range(3):
        StoreFactory(brand=brand)
    assert len(results(partner.get("/api/v1/stores/?page_size=100000"))) == 3
    assert IdCursorPagination.max_page_size <= 500


# --- query counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["stores", "products", "orders", "members"])
def test_list_query_count_does_not_grow_with_rows(partner, brand, resource, django_assert_max_num_queries):
    store = StoreFactory(brand=brand)

    def add(n):
        for _ in range(n):
            {
                "stores": lambda: StoreFactory(brand=brand),
                "products": lambda: ProductFactory(brand=brand),
                "orders": lambda: OrderFactory(brand=brand, store=store),
                "members": lambda: MemberFactory(brand=brand, store=store),
            }[resource]()

    add(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert partner.get(f"/api/v1/{resource}/").status_code == 200
    add(25)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = partner.get(f"/api/v1/{resource}/")
    assert len(response.json()["results"]) >= 27
    assert len(few.captured_queries) <= 8


# --- schema and docs --------------------------------------------------------------------------------


def test_openapi_schema_renders_and_describes_the_core(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/orders/", "/api/v1/stores/", "/api/v1/products/", "/api/v1/members/"):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/orders/"]
    as_json = client.get("/api/schema/?format=json", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert as_json.status_code == 200
    assert "/api/v1/orders/" in json.loads(as_json.content)["paths"]


def test_openapi_schema_declares_bearer_auth(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_api_docs_use_local_assets_only(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, "the docs page loads its assets from somewhere"
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"remote asset: {url}"
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_a_post_without_the_trailing_slash_is_served_not_redirected(partner, brand):
    response = partner.post("/api/v1/stores", {"code": "NOSLASH", "name": "No slash"}, format="json")
    assert response.status_code == 201
    assert response.json()["code"] == "NOSLASH"
