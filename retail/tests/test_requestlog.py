"""The partner-API request log: partner requests are recorded (route template, status,
token, request id), pages and device credentials are not; the buffer flushes by size, by
time and on demand; old rows are purged."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import include, path
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import make_partner
from retail import requestlog, services
from retail.api.base import PartnerAPIView
from retail.models import ApiClient, ApiRequestLog
from retail.tests.factories import ProductFactory


@pytest.fixture(autouse=True)
def _fresh_buffer(settings):
    # a large batch and a long interval: rows stay buffered until a test flushes them
    settings.API_REQUEST_LOG_FLUSH_ROWS = 1000
    settings.API_REQUEST_LOG_FLUSH_SECONDS = 3600
    requestlog.discard()
    yield
    requestlog.discard()


@pytest.mark.django_db
def test_partner_requests_are_recorded_with_route_template_status_and_token(brand, store):
    # given a partner with orders scopes only
    partner = make_partner(brand, scopes=["orders:read", "orders:write"])
    client = ApiClient.objects.get(brand=brand)
    token = client.tokens.get()
    product = ProductFactory(brand=brand, price=Decimal("10.00"))
    # when it lists orders, records one, asks for a missing order and for stores (no scope)
    assert partner.get("/api/v1/orders/", HTTP_X_REQUEST_ID="req-abc").status_code == 200
    body = {
        "external_id": "R-1",
        "channel": "store",
        "store_code": store.code,
        "lines": [{"sku": product.sku, "quantity": 1}],
    }
    assert partner.post("/api/v1/orders/", body, format="json").status_code == 201
    assert partner.get("/api/v1/orders/999999999/").status_code == 404
    assert partner.get("/api/v1/stores/").status_code == 403
    # then nothing is written until the buffer is flushed
    assert ApiRequestLog.objects.count() == 0 and requestlog.pending() == 4
    assert requestlog.flush() == 4
    rows = list(ApiRequestLog.objects.order_by("id"))
    assert [(r.method, r.route, r.status_code) for r in rows] == [
        ("GET", "/api/v1/orders/", 200),
        ("POST", "/api/v1/orders/", 201),
        ("GET", "/api/v1/orders/{pk}/", 404),
        ("GET", "/api/v1/stores/", 403),
    ]
    assert rows[2].path == "/api/v1/orders/999999999/"
    assert {r.client_id for r in rows} == {client.pk} and {r.brand_id for r in rows} == {brand.pk}
    assert {r.token_prefix for r in rows} == {token.prefix}
    assert rows[0].request_id == "req-abc" and all(r.duration_ms >= 0 for r in rows)


@pytest.mark.django_db
def test_pages_anonymous_calls_and_unknown_tokens_are_not_recorded(client, brand, hq_user):
    # given HQ on a page, an anonymous API call and a token whose prefix names no token
    client.force_login(hq_user)
    assert client.get("/orders/").status_code == 200
    assert client.get("/api/v1/orders/").status_code in (401, 403)
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer tdk_nosuchprefix_secret")
    assert stranger.get("/api/v1/orders/").status_code == 401
    # then nothing was buffered: no partner to show these to
    assert requestlog.pending() == 0
    assert requestlog.flush() == 0


# A refused token used to be left out (the view's principal was anonymous), so a partner
# whose integration broke on a revoked or expired token saw nothing in its console. Now the
# prefix tells whose it was, and the 401 is in that partner's log (the secret never is).
@pytest.mark.django_db
def test_a_revoked_tokens_401_is_recorded_with_its_prefix(brand):
    partner = make_partner(brand, scopes=["orders:read"])
    api_client = ApiClient.objects.get(brand=brand)
    token = api_client.tokens.get()
    services.revoke_api_token(token=token)
    assert partner.get("/api/v1/orders/", HTTP_X_REQUEST_ID="req-revoked").status_code == 401
    assert requestlog.flush() == 1
    row = ApiRequestLog.objects.get()
    assert (row.client_id, row.brand_id, row.token_prefix) == (api_client.pk, brand.pk, token.prefix)
    assert (row.method, row.route, row.status_code, row.request_id) == (
        "GET",
        "/api/v1/orders/",
        401,
        "req-revoked",
    )


@pytest.mark.django_db
def test_a_wrong_secret_for_a_known_prefix_is_recorded_but_never_the_secret(brand):
    make_partner(brand, scopes=["orders:read"])
    token = ApiClient.objects.get(brand=brand).tokens.get()
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION=f"Bearer tdk_{token.prefix}_notthesecret")
    assert guesser.get("/api/v1/orders/").status_code == 401
    requestlog.flush()
    row = ApiRequestLog.objects.get()
    assert row.status_code == 401 and row.token_prefix == token.prefix
    assert not any("notthesecret" in str(value) for value in vars(row).values())


@pytest.mark.django_db
def test_an_unknown_api_route_with_a_partner_token_is_recorded(brand):
    partner = make_partner(brand, scopes=["orders:read"])
    response = partner.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    requestlog.flush()
    row = ApiRequestLog.objects.get()
    assert (row.path, row.route, row.status_code) == ("/api/v1/no-such-thing/", "", 404)


@pytest.mark.django_db
def test_an_oversize_body_refused_by_the_cap_is_recorded_with_its_route(brand, settings):
    settings.API_MAX_BODY_BYTES = 1000
    partner = make_partner(brand, scopes=["orders:write"])
    response = partner.post("/api/v1/orders/", {"external_id": "x" * 2000}, format="json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    requestlog.flush()
    row = ApiRequestLog.objects.get()
    assert (row.method, row.route, row.status_code) == ("POST", "/api/v1/orders/", 413)


@pytest.mark.django_db
def test_an_unknown_api_route_answers_json_under_debug_too(brand, settings):
    settings.DEBUG = True
    partner = make_partner(brand, scopes=["orders:read"])
    response = partner.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"
    requestlog.flush()
    assert ApiRequestLog.objects.get().status_code == 404  # recorded once


# --- a 500: a test-only view under a test-only URLconf -------------------------------------------


class _BoomView(PartnerAPIView):
    """Fails the way a bug does: an exception the API's handler does not know."""

    scope_resource = "orders"

    def get(self, request):
        raise RuntimeError("boom (a test-only bug)")

    def post(self, request):
        raise RuntimeError("boom (a test-only bug)")


urlpatterns = [
    path("api/v1/boom/", _BoomView.as_view()),
    path("", include("retail.urls")),
]


@pytest.mark.urls(__name__)
@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unhandled_error_is_recorded_as_a_500(brand, method):
    partner = make_partner(brand, scopes=["orders:read", "orders:write"])
    partner.raise_request_exception = False  # answer the 500 as a server would
    token = ApiClient.objects.get(brand=brand).tokens.get()
    response = getattr(partner, method)("/api/v1/boom/")
    assert response.status_code == 500
    assert requestlog.flush() == 1
    row = ApiRequestLog.objects.get()
    assert (row.method, row.route, row.status_code, row.token_prefix) == (
        method.upper(),
        "/api/v1/boom/",
        500,
        token.prefix,
    )


@pytest.mark.django_db
def test_device_telemetry_with_a_device_credential_is_not_recorded(brand, store):
    from devices.tests.factories import DeviceFactory
    from devices.tests.test_ingest import heartbeat, post

    device = DeviceFactory(brand=brand, store=store)
    assert post(device, [heartbeat(1)]).status_code == 200
    assert requestlog.pending() == 0


@pytest.mark.django_db(transaction=True)  # a due flush waits for the commit
def test_the_buffer_flushes_itself_every_n_rows(settings, brand):
    # given a batch size of 3
    settings.API_REQUEST_LOG_FLUSH_ROWS = 3
    partner = make_partner(brand, scopes=["orders:read"])
    # when the partner makes 7 requests
    for _ in range(7):
        assert partner.get("/api/v1/orders/").status_code == 200
    # then two batches were written and one row waits
    assert ApiRequestLog.objects.count() == 6 and requestlog.pending() == 1


@pytest.mark.django_db(transaction=True)  # a due flush waits for the commit
def test_the_buffer_flushes_when_the_oldest_row_is_older_than_the_interval(settings, brand):
    partner = make_partner(brand, scopes=["orders:read"])
    partner.get("/api/v1/orders/")
    assert ApiRequestLog.objects.count() == 0
    # when the interval is 0 s, the next request finds the batch due
    settings.API_REQUEST_LOG_FLUSH_SECONDS = 0
    partner.get("/api/v1/orders/")
    assert ApiRequestLog.objects.count() == 2 and requestlog.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_a_due_flush_inside_a_post_waits_for_its_commit(settings, brand, store):
    # given a batch size of 1: the POST's own row is due while its transaction is open
    settings.API_REQUEST_LOG_FLUSH_ROWS = 1
    partner = make_partner(brand, scopes=["orders:write"])
    product = ProductFactory(brand=brand, price=Decimal("10.00"))
    body = {
        "external_id": "R-2",
        "channel": "store",
        "store_code": store.code,
        "lines": [{"sku": product.sku, "quantity": 1}],
    }
    # when it is refused (422: unknown sku) and then accepted
    bad = {**body, "external_id": "R-3", "lines": [{"sku": "nope", "quantity": 1}]}
    assert partner.post("/api/v1/orders/", bad, format="json").status_code in (400, 422)
    assert partner.post("/api/v1/orders/", body, format="json").status_code == 201
    # then both rows were written after the commits
    assert sorted(ApiRequestLog.objects.values_list("status_code", flat=True)) in ([201, 400], [201, 422])


@pytest.mark.django_db
def test_purge_deletes_rows_older_than_the_retention(settings, brand):
    settings.API_REQUEST_LOG_DAYS = 7
    client = services.create_api_client(brand=brand, name="p", scopes=[])
    now = timezone.now()
    for age in (1, 6, 8, 30):
        ApiRequestLog.objects.create(
            brand=brand,
            client=client,
            method="GET",
            route="/api/v1/orders/",
            path="/api/v1/orders/",
            status_code=200,
            at=now - timedelta(days=age),
        )
    assert requestlog.purge_request_log(now=now) == 2
    ages = sorted((now - at).days for at in ApiRequestLog.objects.values_list("at", flat=True))
    assert ages == [1, 6]


def test_route_template_reads_like_the_api_docs():
    assert requestlog.route_template("api/v1/^orders/(?P<pk>[^/.]+)/$") == "/api/v1/orders/{pk}/"
    assert requestlog.route_template("api/v1/devices/<int:pk>/events/") == "/api/v1/devices/{pk}/events/"
    assert requestlog.route_template(r"api/v1/^orders\.(?P<format>[a-z0-9]+)/?$") == "/api/v1/orders/"


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_partner_deleted_before_the_flush_do_not_take_the_others_with_them(brand):
    kept = services.create_api_client(brand=brand, name="kept", scopes=[])
    gone = services.create_api_client(brand=brand, name="gone", scopes=[])
    for client in (kept, gone, kept):
        requestlog.add(
            ApiRequestLog(
                brand=brand,
                client_id=client.pk,
                method="GET",
                route="/api/v1/orders/",
                path="/api/v1/orders/",
                status_code=200,
                at=timezone.now(),
            )
        )
    gone.delete()
    assert requestlog.flush() == 2
    assert list(ApiRequestLog.objects.values_list("client_id", flat=True)) == [kept.pk, kept.pk]


@pytest.mark.django_db
def test_the_buffer_keeps_the_newest_rows_when_it_cannot_flush(monkeypatch, brand):
    monkeypatch.setattr(requestlog, "MAX_BUFFER", 5)
    client = services.create_api_client(brand=brand, name="p", scopes=[])
    for status in range(200, 210):
        requestlog.add(
            ApiRequestLog(
                brand=brand,
                client=client,
                method="GET",
                route="/",
                path="/",
                status_code=status,
                at=timezone.now(),
            )
        )
    assert requestlog.pending() == 5
    requestlog.flush()
    assert sorted(ApiRequestLog.objects.values_list("status_code", flat=True)) == [205, 206, 207, 208, 209]
