"""Bad input through the partner API: a clear 4xx in the one error shape, and nothing written.

Every test counts the rows it could have written (orders, lines, stores, products, members,
domain events, idempotency records) before and after, so "nothing was written" is checked
the same way everywhere.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import override_settings

from conftest import make_partner
from members.models import Member
from members.tests.factories import MemberFactory
from retail import services
from retail.models import DomainEvent, IdempotencyRecord, Order, OrderLine, Product, Store
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

WRITTEN = (Order, OrderLine, Store, Product, Member, DomainEvent, IdempotencyRecord)


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in WRITTEN}


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape: {"error": {"code", "message", "fields"}}."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.fixture
def product(brand):
    return ProductFactory(brand=brand, sku="SKU-1", price=Decimal("100.00"))


@pytest.fixture
def order_body(store, product):
    return {
        "external_id": "POS-1",
        "channel": "store",
        "store": store.pk,
        "lines": [{"product": product.pk, "quantity": 1}],
    }


def line_errors(error: dict, index: int) -> dict:
    """Errors of one order line; DRF keys a list's errors by index ("0": {...})."""
    lines = error["fields"]["lines"]
    return lines[str(index)] if isinstance(lines, dict) else lines[index]


def post_raw(client, path, raw: bytes | str, content_type="application/json", **headers):
    return client.generic("POST", path, raw, content_type=content_type, **headers)


# --- the body itself ---------------------------------------------------------------------------


def test_malformed_json_is_400_malformed_json_and_writes_nothing(partner, order_body):
    before = counts()
    response = post_raw(partner, "/api/v1/orders/", '{"external_id": "POS-1", ')
    assert_error(response, 400, "malformed_json")
    assert counts() == before


def test_wrong_types_are_400_with_each_field_named(partner, store, product):
    before = counts()
    body = {
        "external_id": "POS-1",
        "channel": "store",
        "store": "not-an-id",
        "paid_at": "yesterday",
        "discount_total": "ten",
        "lines": [{"product": product.pk, "quantity": "two"}],
    }
    error = assert_error(partner.post("/api/v1/orders/", body, format="json"), 400, "invalid")
    assert {"store", "paid_at", "discount_total", "lines"} <= set(error["fields"])
    assert "quantity" in line_errors(error, 0)
    assert counts() == before


def test_lines_that_are_not_a_list_are_400(partner, order_body):
    before = counts()
    order_body["lines"] = "SKU-1 x 2"
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "invalid")
    assert "lines" in error["fields"]
    assert counts() == before


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/orders/", {"external_id": "POS-1", "channel": "store", "lines": [], "colour": "red"}),
        ("/api/v1/stores/", {"code": "S1", "name": "One", "brand": 99}),
        ("/api/v1/products/", {"sku": "X", "name": "X", "price": "1.00", "cost": "0.5"}),
        ("/api/v1/members/", {"phone": "13800001234", "phone_hash": "abc"}),
    ],
)
def test_unknown_fields_are_400_naming_the_field(partner, path, body):
    before = counts()
    error = assert_error(partner.post(path, body, format="json"), 400, "invalid")
    unknown = (set(body) - {"external_id", "channel", "lines", "code", "name", "sku", "price", "phone"}).pop()
    assert unknown in error["fields"], error
    assert counts() == before


def test_unknown_field_inside_an_order_line_is_named(partner, order_body):
    order_body["lines"][0]["discount"] = "5.00"
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "invalid")
    assert "discount" in line_errors(error, 0)
    assert not Order.objects.exists()


def test_unknown_field_in_a_patch_is_400_and_changes_nothing(partner, store):
    response = partner.patch(f"/api/v1/stores/{store.pk}/", {"brand": 1, "name": "X"}, format="json")
    error = assert_error(response, 400, "invalid")
    assert "brand" in error["fields"]
    store.refresh_from_db()
    assert store.name != "X"


@pytest.mark.parametrize("raw", ["[]", '[{"external_id": "POS-1"}]', '"text"', "42", "null", "true"])
def test_a_json_body_that_is_not_an_object_is_400(partner, raw):
    before = counts()
    response = post_raw(partner, "/api/v1/orders/", raw)
    error = assert_error(response, 400)
    assert error["code"] in {"invalid", "malformed_json"}
    assert counts() == before


def test_a_wrong_content_type_is_415(partner, order_body):
    before = counts()
    response = post_raw(
        partner, "/api/v1/orders/", "external_id=POS-1", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")
    response = post_raw(partner, "/api/v1/orders/", json.dumps(order_body), content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    assert counts() == before


@override_settings(API_MAX_BODY_BYTES=2048)
def test_an_oversize_body_is_413(partner, order_body):
    before = counts()
    order_body["lines"] = order_body["lines"] * 200  # well over 2 KB
    response = post_raw(partner, "/api/v1/orders/", json.dumps(order_body))
    assert_error(response, 413, "payload_too_large")
    assert counts() == before


def test_the_default_body_limit_is_enforced(partner, settings):
    before = counts()
    raw = '{"external_id": "' + "x" * (settings.API_MAX_BODY_BYTES + 10) + '"}'
    assert_error(post_raw(partner, "/api/v1/orders/", raw), 413, "payload_too_large")
    assert counts() == before


# --- who is asking ------------------------------------------------------------------------------


def test_missing_auth_is_401(client, order_body):
    before = counts()
    response = client.post("/api/v1/orders/", order_body, content_type="application/json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"
    assert_error(client.get("/api/v1/orders/"), 401)
    assert counts() == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer tdk_000000000000_not-a-real-secret",
        "Bearer nonsense",
        "Bearer ",
        "Token abc",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_wrong_token_is_401(client, order_body, header):
    before = counts()
    response = client.post(
        "/api/v1/orders/", order_body, content_type="application/json", HTTP_AUTHORIZATION=header
    )
    assert_error(response, 401)
    assert counts() == before


def test_a_right_prefix_with_a_wrong_secret_is_401(brand, order_body):
    client = services.create_api_client(brand=brand, name="pos", scopes=["orders:write"])
    token, raw = services.issue_api_token(client=client)
    forged = raw[: raw.rindex("_") + 1] + "x" * 43
    api = make_partner(brand)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_error(api.post("/api/v1/orders/", order_body, format="json"), 401, "authentication_failed")
    assert not Order.objects.exists()


def test_a_revoked_token_is_401(brand, order_body):
    from rest_framework.test import APIClient

    client = services.create_api_client(brand=brand, name="pos", scopes=["orders:write", "orders:read"])
    token, raw = services.issue_api_token(client=client)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/orders/").status_code == 200
    services.revoke_api_token(token=token)
    before = counts()
    assert_error(api.post("/api/v1/orders/", order_body, format="json"), 401, "authentication_failed")
    assert counts() == before


def test_a_token_of_a_disabled_client_is_401(brand, order_body):
    from rest_framework.test import APIClient

    client = services.create_api_client(brand=brand, name="pos", scopes=["orders:write"])
    _, raw = services.issue_api_token(client=client)
    client.is_active = False
    client.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_error(api.post("/api/v1/orders/", order_body, format="json"), 401)
    assert not Order.objects.exists()


def test_a_token_without_the_scope_is_403(brand, order_body):
    reader = make_partner(brand, ["orders:read"])
    before = counts()
    error = assert_error(reader.post("/api/v1/orders/", order_body, format="json"), 403, "permission_denied")
    assert "orders:write" in error["message"]
    assert counts() == before
    # and a writer of another resource cannot read orders either
    other = make_partner(brand, ["members:write"])
    assert_error(other.get("/api/v1/orders/"), 403, "permission_denied")


def test_a_forbidden_post_with_an_idempotency_key_does_not_claim_the_key(brand, order_body):
    reader = make_partner(brand, ["orders:read"])
    assert_error(reader.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k"), 403)
    assert not IdempotencyRecord.objects.exists()


# --- other brand's data -------------------------------------------------------------------------


def test_other_brands_ids_in_the_body_are_400_field_errors(partner, brand, other_brand, store, product):
    theirs_store = StoreFactory(brand=other_brand)
    theirs_product = ProductFactory(brand=other_brand, sku="THEIRS")
    theirs_member = MemberFactory(brand=other_brand, phone="13900009999")
    before = counts()
    body = {
        "external_id": "POS-1",
        "channel": "store",
        "store": theirs_store.pk,
        "member": theirs_member.pk,
        "lines": [{"product": theirs_product.pk, "quantity": 1}],
    }
    error = assert_error(partner.post("/api/v1/orders/", body, format="json"), 400, "invalid")
    assert {"store", "member", "lines"} <= set(error["fields"])
    # the message for another brand's id reads like the one for an id that never existed
    missing = dict(
        body, store=999_999_999, member=999_999_998, lines=[{"product": 999_999_997, "quantity": 1}]
    )
    error_missing = assert_error(partner.post("/api/v1/orders/", missing, format="json"), 400)
    assert error["fields"]["store"][0].replace(str(theirs_store.pk), "N") == error_missing["fields"]["store"][
        0
    ].replace("999999999", "N")
    # by code, sku and phone too
    by_code = {
        "external_id": "POS-1",
        "channel": "store",
        "store_code": theirs_store.code,
        "member_phone": "13900009999",
        "lines": [{"sku": "THEIRS", "quantity": 1}],
    }
    error = assert_error(partner.post("/api/v1/orders/", by_code, format="json"), 400, "invalid")
    assert {"store_code", "lines"} <= set(error["fields"])
    assert counts() == before


def test_other_brands_store_in_a_member_body_is_400(partner, other_brand):
    theirs = StoreFactory(brand=other_brand)
    before = counts()
    body = {"phone": "13800001234", "store": theirs.pk}
    error = assert_error(partner.post("/api/v1/members/", body, format="json"), 400, "invalid")
    assert "store" in error["fields"]
    assert counts() == before


def test_a_guide_of_another_brand_is_400(partner, order_body, other_brand):
    from retail.choices import Role
    from retail.tests.factories import StaffRoleFactory

    their_store = StoreFactory(brand=other_brand)
    their_guide = StaffRoleFactory(brand=other_brand, store=their_store, role=Role.GUIDE).user
    order_body["guide"] = their_guide.pk
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "invalid")
    assert "guide" in error["fields"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("kind", ["stores", "products", "orders", "members"])
def test_other_brands_ids_in_the_url_are_404(partner, other_brand, kind):
    theirs = {
        "stores": lambda: StoreFactory(brand=other_brand),
        "products": lambda: ProductFactory(brand=other_brand),
        "orders": lambda: __import__("retail.tests.factories").tests.factories.OrderFactory(
            brand=other_brand
        ),
        "members": lambda: MemberFactory(brand=other_brand),
    }[kind]()
    assert_error(partner.get(f"/api/v1/{kind}/{theirs.pk}/"), 404, "not_found")
    assert_error(partner.get(f"/api/v1/{kind}/999999999/"), 404, "not_found")
    assert_error(partner.get(f"/api/v1/{kind}/not-a-number/"), 404, "not_found")
    if kind != "orders":
        row = type(theirs).objects.filter(pk=theirs.pk).values().get()
        response = partner.patch(f"/api/v1/{kind}/{theirs.pk}/", {"name": "Mine now"}, format="json")
        assert_error(response, 404, "not_found")
        assert type(theirs).objects.filter(pk=theirs.pk).values().get() == row


# --- repeats ------------------------------------------------------------------------------------


def test_same_key_with_a_different_body_is_422_and_writes_nothing(partner, order_body):
    assert (
        partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code
        == 201
    )
    before = counts()
    changed = dict(order_body, external_id="POS-2")
    response = partner.post("/api/v1/orders/", changed, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(response, 422, "idempotency_key_reused")
    assert counts() == before


def test_same_key_same_body_replays_the_first_answer(partner, order_body):
    first = partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201
    before = counts()
    again = partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert counts() == before


def test_same_key_on_another_route_is_422(partner, order_body):
    assert (
        partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code
        == 201
    )
    response = partner.post(
        "/api/v1/stores/", {"code": "S9", "name": "Nine"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert_error(response, 422, "idempotency_key_reused")
    assert not Store.objects.filter(code="S9").exists()


def test_keys_belong_to_one_client(brand, order_body):
    first, second = make_partner(brand), make_partner(brand)
    assert (
        first.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    )
    # another client's key of the same name is its own; here the external id repeats: 409
    response = second.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(response, 409, "duplicate_external_id")
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "bad\x00key"])
def test_an_unusable_idempotency_key_is_400(partner, order_body, key):
    before = counts()
    response = partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert_error(response, 400, "invalid_idempotency_key")
    assert counts() == before


def test_a_failed_request_keeps_its_answer_for_the_key(partner, order_body):
    # A 4xx is the answer to that request: the same key and body get the same 4xx.
    order_body["store"] = 999_999_999
    first = partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(first, 400)
    again = partner.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 400 and again.json() == first.json()
    assert not Order.objects.exists()


def test_a_duplicate_external_id_is_409(partner, order_body):
    assert partner.post("/api/v1/orders/", order_body, format="json").status_code == 201
    before = counts()
    error = assert_error(
        partner.post("/api/v1/orders/", order_body, format="json"), 409, "duplicate_external_id"
    )
    assert "external_id" in error["fields"]
    assert counts() == before


def test_a_duplicate_member_external_id_or_phone_is_409(partner):
    assert (
        partner.post(
            "/api/v1/members/", {"phone": "13800001234", "external_id": "CRM-1"}, format="json"
        ).status_code
        == 201
    )
    before = counts()
    again = {"phone": "13800005678", "external_id": "CRM-1"}
    assert_error(partner.post("/api/v1/members/", again, format="json"), 409, "duplicate_external_id")
    same_phone = {"phone": "+86 138 0000 1234"}
    error = assert_error(partner.post("/api/v1/members/", same_phone, format="json"), 409, "duplicate_phone")
    assert "phone" in error["fields"]
    assert counts() == before


def test_a_duplicate_store_code_or_sku_is_409(partner, store, product):
    other = StoreFactory(brand=store.brand)
    before = counts()
    assert_error(partner.post("/api/v1/stores/", {"code": store.code, "name": "Again"}, format="json"), 409)
    body = {"sku": product.sku, "name": "Again", "price": "1.00"}
    assert_error(partner.post("/api/v1/products/", body, format="json"), 409, "duplicate_sku")
    response = partner.patch(f"/api/v1/stores/{other.pk}/", {"code": store.code}, format="json")
    assert_error(response, 409, "duplicate_code")
    assert counts() == before


@pytest.mark.parametrize("phone", ["12", "not a phone", "+86", "1" * 30, "", "１３８００００１２３４x" * 3])
def test_an_invalid_phone_is_400(partner, phone):
    before = counts()
    error = assert_error(partner.post("/api/v1/members/", {"phone": phone}, format="json"), 400)
    assert "phone" in error["fields"]
    assert counts() == before


def test_an_unknown_member_phone_on_an_order_is_400(partner, order_body):
    order_body["member_phone"] = "13999999999"
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "invalid")
    assert "member_phone" in error["fields"]
    assert not Order.objects.exists()


# --- method and rate ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/ping/"),
        ("delete", "/api/v1/stores/{store}/"),
        ("put", "/api/v1/stores/{store}/"),
        ("post", "/api/v1/stores/{store}/"),
        ("patch", "/api/v1/orders/{order}/"),
        ("delete", "/api/v1/orders/{order}/"),
    ],
)
def test_a_method_a_route_does_not_take_is_405(partner, store, order_body, method, path):
    order = partner.post("/api/v1/orders/", order_body, format="json").json()
    before = counts()
    url = path.format(store=store.pk, order=order["id"])
    response = getattr(partner, method)(url, {"name": "x"}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert "Allow" in response
    after = counts()
    after.pop("IdempotencyRecord"), before.pop("IdempotencyRecord")
    assert after == before


def test_a_throttled_token_gets_429_with_retry_after(brand, order_body):
    from retail.api import throttling
    from retail.models import ApiClient

    api = make_partner(brand, rate_limit_per_minute=2)
    # counters live in the cache, which outlives the test database's ids
    throttling.reset(ApiClient.objects.latest("pk").pk)
    assert api.get("/api/v1/ping/").status_code == 200
    assert api.get("/api/v1/ping/").status_code == 200
    response = api.post("/api/v1/orders/", order_body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not Order.objects.exists()
    assert not IdempotencyRecord.objects.exists()  # the key is free for the retry
    # another token of the same brand has its own budget
    assert make_partner(brand).get("/api/v1/ping/").status_code == 200


# --- never a 500 --------------------------------------------------------------------------------

NASTY_VALUES = [
    None,
    True,
    -1,
    0,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    "1e999",
    "-0.000000001",
    "12.345678",
    "NaN",
    "Infinity",
    "\x00",
    "a\x00b",
    "\ud800",
    "💥" * 100,
    "x" * 5000,
    [],
    [[[[[]]]]],
    {},
    {"a": {"b": {"c": {}}}},
]


def _post_routes():
    from django.urls import get_resolver

    from tests.test_isolation import walk

    routes = set()
    for route in walk(get_resolver()):
        if not route.path.startswith("api/v1/") or route.kwargs:
            continue
        actions = getattr(route.callback, "actions", None) or {}
        cls = getattr(route.callback, "cls", None)
        if "post" in actions or (not actions and cls is not None and hasattr(cls, "post")):
            routes.add(route.url({}))
    return sorted(routes)


def _nasty_bodies(store, product):
    """Valid-looking bodies with one field at a time replaced by something nasty."""
    base = {
        "external_id": "NASTY",
        "channel": "store",
        "store": store.pk,
        "store_code": store.code,
        "sku": product.sku,
        "code": "NASTY",
        "name": "Nasty",
        "price": "1.00",
        "phone": "13800001234",
        "member_phone": "13800001234",
        "lines": [{"product": product.pk, "quantity": 1, "unit_price": "1.00"}],
    }
    for key in base:
        for value in NASTY_VALUES:
            yield {**base, key: value}
    for value in NASTY_VALUES:
        yield {**base, "lines": [{"product": product.pk, "quantity": value}]}
        yield {**base, "lines": [{"sku": value, "quantity": 1}]}
        yield {**base, "lines": [{"product": product.pk, "quantity": 1, "unit_price": value}]}
        yield {**base, "discount_total": value}
        yield {**base, "paid_at": value}
        yield {**base, "guide": value}
        yield {**base, "member": value}


RAW_BODIES = [
    "[" * 100_000 + "]" * 100_000,  # deeper than Python's recursion limit
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    '{"quantity": ' + "9" * 5000 + "}",  # longer than int() will parse
    '{"price": 1' + "0" * 400 + "}",
    '{"price": 1e400}',
    '{"price": NaN}',
    '{"price": -Infinity}',
    '{"name": "\\ud800"}',
    '{"name": "\\udfff\\ud800"}',
    '{"name": "a\\u0000b"}',
    b'{"name": "\xff\xfe"}',
    b"\xef\xbb\xbf{}",
    "",
    " ",
    "{}" * 1000,
]


def test_nasty_bodies_never_cause_a_server_error(partner, store, product):
    routes = _post_routes()
    assert {"/api/v1/orders/", "/api/v1/stores/", "/api/v1/products/", "/api/v1/members/"} <= set(routes)
    MemberFactory(brand=store.brand, phone="13800001234")
    failures = []
    for route in routes:
        for body in _nasty_bodies(store, product):
            response = post_raw(partner, route, json.dumps(body))  # ASCII escapes: "\\ud800"
            if response.status_code >= 500:
                failures.append((route, body, response.status_code))
        for raw in RAW_BODIES:
            response = post_raw(partner, route, raw)
            if response.status_code >= 500:
                failures.append((route, raw[:40], response.status_code))
            else:
                assert_error(response, response.status_code) if response.status_code >= 400 else None
    assert not failures, failures[:10]


@pytest.mark.parametrize(
    "query",
    [
        "?sku=%00",
        "?store=abc",
        "?store=99999999999999999999999999",
        "?member=-1",
        "?paid_after=yesterday",
        "?channel=teleport",
        "?page_size=-5",
        "?page_size=abc",
        "?cursor=garbage",
        "?phone=%00",
        "?phone=" + "9" * 500,
        "?external_id=" + "x" * 5000,
    ],
)
@pytest.mark.parametrize("kind", ["stores", "products", "orders", "members"])
def test_nasty_query_strings_never_cause_a_server_error(partner, kind, query):
    response = partner.get(f"/api/v1/{kind}/{query}")
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_error(response, response.status_code)


@pytest.mark.parametrize("pk", ["0", "-1", "99999999999999999999999999", "1e5", "%00", "%F0%9F%92%A5"])
@pytest.mark.parametrize("kind", ["stores", "products", "orders", "members"])
def test_nasty_ids_in_the_url_are_404(partner, kind, pk):
    assert_error(partner.get(f"/api/v1/{kind}/{pk}/"), 404, "not_found")


def test_negative_quantities_and_too_many_decimal_places_are_field_errors(partner, order_body):
    order_body["lines"] = [
        {"product": order_body["lines"][0]["product"], "quantity": -3, "unit_price": "9.999"}
    ]
    order_body["discount_total"] = "-1"
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "invalid")
    assert {"quantity", "unit_price"} <= set(line_errors(error, 0))
    assert "discount_total" in error["fields"]
    body = {"sku": "P-1", "name": "P", "price": "-0.01", "online_stock": -1}
    error = assert_error(partner.post("/api/v1/products/", body, format="json"), 400, "invalid")
    assert {"price", "online_stock"} <= set(error["fields"])
    assert not Order.objects.exists() and not Product.objects.filter(sku="P-1").exists()


def test_a_discount_larger_than_the_subtotal_is_400(partner, order_body):
    order_body["discount_total"] = "1000.00"
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "bad_discount")
    assert "discount_total" in error["fields"]
    assert not Order.objects.exists()


def test_an_in_store_order_without_a_store_is_400(partner, order_body):
    del order_body["store"]
    error = assert_error(partner.post("/api/v1/orders/", order_body, format="json"), 400, "store_required")
    assert "store" in error["fields"]
    assert not Order.objects.exists()


def test_an_unknown_api_route_answers_in_the_error_shape(rf):
    # wired as handler404 in retail/urls.py
    from django.http import Http404

    from retail.api.errors import page_not_found

    response = page_not_found(rf.get("/api/v1/nothing/"), Http404())
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"
    assert page_not_found(rf.get("/nothing/"), Http404()).status_code == 404
