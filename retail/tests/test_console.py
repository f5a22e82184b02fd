"""The partner console (HQ): partners with their figures, tokens and scopes, webhook
subscriptions against a real loopback receiver, the delivery and request logs, the devices
panel, and the read-only share link."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from retail import console, requestlog, services, webhooks
from retail.choices import AuditAction, DeliveryStatus
from retail.models import ApiClient, ApiRequestLog, AuditEvent, WebhookSubscription
from retail.tests.factories import StaffRoleFactory, UserFactory
from retail.tests.test_webhooks import _order

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_BREAKER_FAILURES = 50
    requestlog.discard()
    yield
    requestlog.discard()


@pytest.fixture
def acme(brand):
    return services.create_api_client(brand=brand, name="Acme POS", scopes=["orders:read"])


@pytest.fixture
def hq(client, hq_user):
    client.force_login(hq_user)
    return client


def _log(client, status: int, minutes_ago: int = 5, **fields):
    return ApiRequestLog.objects.create(
        brand_id=client.brand_id,
        client=client,
        method="GET",
        route="/api/v1/orders/",
        path="/api/v1/orders/",
        status_code=status,
        at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# --- who may look -------------------------------------------------------------------------------


def test_hq_sees_the_brands_partners_with_tokens_subscriptions_and_error_rate(hq, brand, other_brand, acme):
    # given two tokens (one revoked), a subscription and 4 requests of the last day, 1 an error
    services.issue_api_token(client=acme)
    services.revoke_api_token(token=services.issue_api_token(client=acme)[0])
    webhooks.create_subscription(
        brand_id=brand.pk, client=acme, url="http://127.0.0.1:9/h", event_types=["*"]
    )
    for status in (200, 201, 200, 404):
        _log(acme, status)
    _log(acme, 500, minutes_ago=60 * 30)  # older than 24 h: not in the error rate
    services.create_api_client(brand=other_brand, name="Theirs", scopes=[])
    # when HQ opens the partner list
    response = hq.get("/partners/")
    # then it lists its own partner only, with its figures
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["client"].name for r in rows] == ["Acme POS"]
    row = rows[0]
    assert (row["tokens"], row["subscriptions"], row["requests_24h"], row["errors_24h"]) == (1, 1, 4, 1)
    assert row["error_rate"] == 25.0 and row["last_request"] is not None
    assert "Theirs" not in response.content.decode()


def test_the_partner_list_takes_a_constant_number_of_queries(hq, brand, django_assert_max_num_queries):
    for i in range(5):
        client = services.create_api_client(brand=brand, name=f"P{i}", scopes=[])
        services.issue_api_token(client=client)
        _log(client, 200)
    with django_assert_max_num_queries(12):
        assert hq.get("/partners/").status_code == 200


@pytest.mark.parametrize("who", ["manager_user", "guide_user"])
def test_store_staff_are_refused(request, client, who, acme):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/partners/").status_code == 403
    assert client.get(f"/partners/{acme.pk}/").status_code == 403
    assert client.post(f"/partners/{acme.pk}/tokens/").status_code == 403
    assert not acme.tokens.exists()


def test_another_brands_partner_is_not_found(hq, other_brand):
    theirs = services.create_api_client(brand=other_brand, name="Theirs", scopes=[])
    token, _ = services.issue_api_token(client=theirs)
    assert hq.get(f"/partners/{theirs.pk}/").status_code == 404
    assert hq.post(f"/partners/{theirs.pk}/tokens/").status_code == 404
    assert hq.post(f"/partners/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None and theirs.tokens.count() == 1


def test_anonymous_is_sent_to_log_in(client, acme):
    response = client.get(f"/partners/{acme.pk}/")
    assert response.status_code == 302 and "login" in response["Location"]


# --- partners, tokens, scopes -------------------------------------------------------------------


def test_hq_creates_a_partner_with_scopes_audited(hq, brand):
    response = hq.post(
        "/partners/",
        {"name": "Mirror Co", "scopes": ["orders:write", "devices:write"], "rate_limit_per_minute": "120"},
    )
    created = ApiClient.objects.get(brand=brand, name="Mirror Co")
    assert response.status_code == 302 and response["Location"] == f"/partners/{created.pk}/"
    assert created.scopes == ["devices:write", "orders:write"] and created.rate_limit_per_minute == 120
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(created.pk)).exists()


def test_an_invalid_partner_form_changes_nothing(hq, brand):
    response = hq.post("/partners/", {"name": "", "scopes": ["nope:write"]})
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"name", "scopes"}
    assert not ApiClient.objects.filter(brand=brand).exists()


def test_a_token_issued_on_the_page_is_shown_once_works_and_is_refused_at_once_when_revoked(hq, acme):
    # when HQ issues a token (htmx)
    response = hq.post(f"/partners/{acme.pk}/tokens/", **HTMX)
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw in response.content.decode() and "console-tokens" in response.content.decode()
    # then the API takes it
    api = APIClient()
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 200
    # and the console never shows it again
    assert raw not in hq.get(f"/partners/{acme.pk}/").content.decode()
    # when HQ revokes it, the very next request is refused
    token = acme.tokens.get()
    revoked = hq.post(f"/partners/tokens/{token.pk}/revoke/", **HTMX)
    assert revoked.status_code == 200 and "revoked" in revoked.content.decode()
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 401
    assert AuditEvent.objects.filter(message="token revoked").count() == 1


def test_changing_scopes_on_the_page_applies_to_the_next_request(hq, acme):
    _, raw = services.issue_api_token(client=acme)
    api = APIClient()
    assert api.get("/api/v1/stores/", **_bearer(raw)).status_code == 403
    response = hq.post(f"/partners/{acme.pk}/scopes/", {"scopes": ["stores:read"]}, **HTMX)
    assert response.status_code == 200 and "Scopes saved." in response.content.decode()
    acme.refresh_from_db()
    assert acme.scopes == ["stores:read"]
    assert api.get("/api/v1/stores/", **_bearer(raw)).status_code == 200
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 403
    change = AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_id=str(acme.pk)).latest("id")
    assert change.before["scopes"] == ["orders:read"] and change.after["scopes"] == ["stores:read"]


def test_unknown_scopes_are_refused_on_the_page(hq, acme):
    response = hq.post(f"/partners/{acme.pk}/scopes/", {"scopes": ["root:all"]}, **HTMX)
    assert response.status_code == 200 and response.context["scopes_form"].errors
    acme.refresh_from_db()
    assert acme.scopes == ["orders:read"]


# --- webhook subscriptions against a real receiver ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_subscription_create_rotate_pause_resume_replay_and_redeliver(hq, brand, acme, receiver):
    # when HQ subscribes the partner's endpoint to orders
    response = hq.post(
        f"/partners/{acme.pk}/subscriptions/",
        {"url": receiver.url, "event_types": ["order.created"], "description": "ERP"},
        **HTMX,
    )
    assert response.status_code == 200
    secret = response.context["new_secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    subscription = WebhookSubscription.objects.get(client=acme)
    # then an order reaches the receiver, signed with that secret
    _order(brand, 1)
    assert len(receiver.received) == 1
    first = receiver.received[0]
    timestamp = first["headers"]["Tiandi-Signature"].split(",")[0][2:]
    assert (
        f"v1={webhooks.sign(secret, int(timestamp), first['body'])}" in first["headers"]["Tiandi-Signature"]
    )

    # rotate: a new secret shown once; both sign during the overlap
    rotated = hq.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "rotate"}, **HTMX)
    new_secret = rotated.context["new_secret"]
    assert new_secret != secret and new_secret in rotated.content.decode()
    _order(brand, 2)
    header = receiver.received[-1]["headers"]["Tiandi-Signature"]
    ts, body = int(header.split(",")[0][2:]), receiver.received[-1]["body"]
    assert (
        f"v1={webhooks.sign(new_secret, ts, body)}" in header
        and f"v1={webhooks.sign(secret, ts, body)}" in header
    )

    # pause: events queue up but nothing is sent; resume sends them in order
    hq.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "pause"}, **HTMX)
    _order(brand, 3)
    assert len(receiver.received) == 2
    resumed = hq.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "resume"}, **HTMX)
    assert resumed.status_code == 200 and len(receiver.received) == 3

    # a failing receiver: one attempt allowed, the delivery goes dead
    receiver.status = 500
    _order(brand, 4)
    dead = hq.get(f"/partners/{acme.pk}/deliveries/", {"status": "dead"}, **HTMX)
    assert [d.status for d in dead.context["deliveries"]] == [DeliveryStatus.DEAD]
    dead_delivery = dead.context["deliveries"][0]
    attempts = hq.get(f"/partners/deliveries/{dead_delivery.pk}/", **HTMX)
    assert attempts.status_code == 200 and [
        a.status_code for a in attempts.context["delivery"].attempt_log.all()
    ] == [500]

    # replay the dead letters once the endpoint is back
    receiver.status = 200
    replayed = hq.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "replay"}, **HTMX)
    assert "1 dead deliveries queued again." in replayed.content.decode()
    assert len(receiver.received) == 5
    dead_delivery.refresh_from_db()
    assert dead_delivery.status == DeliveryStatus.SUCCEEDED

    # redeliver one delivery on request: the same event id again
    again = hq.post(f"/partners/deliveries/{dead_delivery.pk}/redeliver/", **HTMX)
    assert again.status_code == 200 and "Redelivery queued." in again.content.decode()
    assert json.loads(receiver.received[-1]["body"])["id"] == dead_delivery.event_id
    assert len(receiver.received) == 6

    # deactivate: nothing more is queued
    hq.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "deactivate"}, **HTMX)
    _order(brand, 5)
    assert len(receiver.received) == 6
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert AuditEvent.objects.filter(message="webhook secret rotated").count() == 1


def test_a_subscription_needs_a_valid_url_and_known_events(hq, acme):
    response = hq.post(
        f"/partners/{acme.pk}/subscriptions/", {"url": "ftp://x", "event_types": ["order.created"]}, **HTMX
    )
    assert response.status_code == 200 and "url" in response.context["subscription_form"].errors
    response = hq.post(
        f"/partners/{acme.pk}/subscriptions/", {"url": "http://127.0.0.1:9/", "event_types": ["nope"]}, **HTMX
    )
    assert "event_types" in response.context["subscription_form"].errors
    assert not WebhookSubscription.objects.exists()


def test_an_unknown_subscription_action_changes_nothing(hq, brand, acme):
    subscription, _ = webhooks.create_subscription(
        brand_id=brand.pk, client=acme, url="http://127.0.0.1:9/h", event_types=["*"]
    )
    response = hq.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "explode"}, **HTMX)
    assert response.status_code == 400
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.paused_at is None


def test_hqs_own_subscriptions_are_not_managed_as_a_partners(hq, brand):
    own, _ = webhooks.create_subscription(brand_id=brand.pk, url="http://127.0.0.1:9/h", event_types=["*"])
    assert hq.post(f"/partners/subscriptions/{own.pk}/", {"op": "deactivate"}).status_code == 404


# --- request log and panels -----------------------------------------------------------------------


def test_the_request_log_shows_this_processs_requests_and_hourly_counts(hq, brand, acme):
    # given a partner's requests through the API (buffered, not yet written)
    _, raw = services.issue_api_token(client=acme)
    api = APIClient()
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 200
    assert api.get("/api/v1/stores/", **_bearer(raw)).status_code == 403
    _log(acme, 503, minutes_ago=0)
    # when HQ opens the console, the buffer is flushed and the rows show
    response = hq.get(f"/partners/{acme.pk}/")
    assert response.status_code == 200
    assert sorted(r.status_code for r in response.context["requests"]) == [200, 403, 503]
    chart = response.context["chart"]
    assert len(chart["hours"]) == console.REQUEST_LOG_DAYS * 24
    assert (sum(chart["ok"]), sum(chart["client_errors"]), sum(chart["server_errors"])) == (1, 1, 1)
    assert "console-requests-data" in response.content.decode()
    # and the filter keeps one class of answers
    only_4xx = hq.get(f"/partners/{acme.pk}/requests/", {"status": "4"}, **HTMX)
    assert [r.status_code for r in only_4xx.context["requests"]] == [403]


def test_the_devices_panel_is_on_the_console(hq, acme):
    response = hq.get(f"/partners/{acme.pk}/")
    panels = {p["key"]: p for p in response.context["panels"]}
    assert "device-scorecards" in panels
    assert "Device scorecards" in response.content.decode()


def test_a_registered_panel_gets_the_principal_and_the_client(hq, acme):
    seen = []

    def provider(principal, client):
        seen.append((principal.brand_id, client.pk))
        return "retail/console/shared_expired.html", {}

    with mock.patch.dict(console._panels, {}):
        console.register_panel("probe", "Probe", provider)
        response = hq.get(f"/partners/{acme.pk}/")
    assert seen == [(acme.brand_id, acme.pk)]
    assert "This link has expired" in response.content.decode()


# --- the read-only share link -------------------------------------------------------------------


def _shared(client, token):
    return client.get(reverse("retail:partner_shared"), {"t": token})


def test_the_share_link_shows_the_console_read_only(client, hq, brand, acme):
    _, raw = services.issue_api_token(client=acme)
    webhooks.create_subscription(
        brand_id=brand.pk, client=acme, url="http://127.0.0.1:9/h", event_types=["*"]
    )
    _log(acme, 200)
    share_url = hq.get(f"/partners/{acme.pk}/").context["share_url"]
    token = share_url.split("?t=")[1]
    hq.logout()
    response = client.get(share_url)
    assert response.status_code == 200 and response.context["read_only"]
    html = response.content.decode()
    assert "Acme POS" in html and "http://127.0.0.1:9/h" in html
    assert raw not in html and 'name="op"' not in html and "Issue a token" not in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert len(response.context["requests"]) == 1
    # its filters answer with their section
    section = client.get(
        reverse("retail:partner_shared"), {"t": token, "section": "requests", "status": "5"}, **HTMX
    )
    assert section.status_code == 200 and section.context["requests"] == []


def test_a_tampered_share_link_is_not_found(client, acme):
    token = console.share_token(client=acme)
    assert _shared(client, token[:-2] + "xx").status_code == 404
    assert _shared(client, "").status_code == 404


def test_an_expired_share_link_says_so(client, acme):
    token = console.share_token(client=acme)
    with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() + 8 * 86400):
        response = _shared(client, token)
    assert response.status_code == 410


def test_a_share_link_never_crosses_brands_and_dies_with_the_partner(client, brand, other_brand, acme):
    theirs = services.create_api_client(brand=other_brand, name="Theirs", scopes=[])
    forged = signing.dumps({"b": brand.pk, "p": theirs.pk}, salt=console.SHARE_SALT)
    assert _shared(client, forged).status_code == 404
    other_salt = signing.dumps({"b": brand.pk, "p": acme.pk}, salt="devices.backflow.partner-page")
    assert _shared(client, other_salt).status_code == 404
    token = console.share_token(client=acme)
    assert _shared(client, token).status_code == 200
    console.update_partner(client=acme, is_active=False)
    assert _shared(client, token).status_code == 404


def test_a_superuser_without_a_role_sees_every_brands_partners_but_creates_none(
    client, brand, other_brand, acme
):
    services.create_api_client(brand=other_brand, name="Theirs", scopes=[])
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    response = client.get("/partners/")
    assert response.status_code == 200 and response.context["form"] is None
    assert {r["client"].name for r in response.context["rows"]} == {"Acme POS", "Theirs"}
    assert client.post("/partners/", {"name": "X"}).status_code == 403


def test_an_hq_admin_of_another_brand_sees_none_of_ours(client, other_brand, acme):
    theirs_hq = StaffRoleFactory(user=UserFactory(username="hq-b"), brand=other_brand, role="hq_admin").user
    client.force_login(theirs_hq)
    assert client.get("/partners/").context["rows"] == []
    assert client.get(f"/partners/{acme.pk}/").status_code == 404


def test_the_console_takes_a_constant_number_of_queries(hq, brand, acme, django_assert_max_num_queries):
    # given a partner with tokens, subscriptions, deliveries and requests
    for _ in range(3):
        services.issue_api_token(client=acme)
        webhooks.create_subscription(
            brand_id=brand.pk, client=acme, url="http://127.0.0.1:9/h", event_types=["*"]
        )
        _log(acme, 200)
    _order(brand, 1)  # queued deliveries (the on-commit pump never runs in this test)

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert hq.get(f"/partners/{acme.pk}/").status_code == 200
        return len(queries)

    count()  # the user's roles: read once, then cached
    few = count()
    # when there are more of everything, the page asks the database no more often
    for n in range(2, 6):
        services.issue_api_token(client=acme)
        webhooks.create_subscription(
            brand_id=brand.pk, client=acme, url="http://127.0.0.1:9/h", event_types=["*"]
        )
        _log(acme, 500)
        _order(brand, n)
    assert count() == few
    with django_assert_max_num_queries(30):
        hq.get(f"/partners/{acme.pk}/")
