"""Partner users: HQ gives a partner's people a login (audited); a partner user logs in on
the usual page, lands on its own console and sees that partner and nothing else; admins
issue narrowed tokens and manage webhooks, viewers only look; removal stops access at once;
share links can be revoked; paused subscriptions show on HQ's partner list."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from retail import console, requestlog, services, webhooks
from retail.choices import AuditAction
from retail.models import ApiToken, AuditEvent, PartnerUser, WebhookSubscription
from retail.tests.test_webhooks import _order

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_ORDER_SETTLE_SECONDS = 0
    requestlog.discard()
    yield
    requestlog.discard()


@pytest.fixture
def acme(brand):
    return services.create_api_client(
        brand=brand, name="Acme POS", scopes=["orders:read", "orders:write", "webhooks:read"]
    )


@pytest.fixture
def hq(client, hq_user):
    client.force_login(hq_user)
    return client


def _partner_login(acme, access="admin", username="acme-1"):
    partner_user, password = console.add_partner_user(client=acme, username=username, access=access)
    return partner_user, password


@pytest.fixture
def partner_admin(acme):
    partner_user, _ = _partner_login(acme, "admin", "acme-admin")
    web = Client()
    web.force_login(partner_user.user)
    return web


@pytest.fixture
def partner_viewer(acme):
    partner_user, _ = _partner_login(acme, "viewer", "acme-viewer")
    web = Client()
    web.force_login(partner_user.user)
    return web


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# --- HQ adds a partner user; it logs in and lands on its console ------------------------------


def test_hq_adds_a_partner_user_who_logs_in_and_lands_on_its_own_console(hq, client, acme):
    # when HQ adds a login for the partner (htmx)
    response = hq.post(
        f"/partners/{acme.pk}/users/",
        {"username": "li.lei", "email": "li@acme.example", "access": "admin"},
        **HTMX,
    )
    # then the one-time password shows once, and the change is audited
    assert response.status_code == 200
    password = response.context["new_login"]["password"]
    assert password in response.content.decode()
    partner_user = PartnerUser.objects.get(client=acme)
    assert partner_user.user.username == "li.lei" and partner_user.access == "admin"
    assert partner_user.brand_id == acme.brand_id
    added = AuditEvent.objects.get(message="partner user added")
    assert added.action == AuditAction.PERMISSION and added.after["client"] == acme.pk
    assert password not in hq.get(f"/partners/{acme.pk}/").content.decode()
    # when the person logs in on the usual login page
    hq.logout()
    landed = client.post(reverse("login"), {"username": "li.lei", "password": password}, follow=True)
    # then they land on their partner's console
    assert landed.status_code == 200
    assert landed.redirect_chain[-1][0] == f"/partners/{acme.pk}/"
    assert landed.context["client"] == acme and landed.context["can_manage"]
    assert not landed.context["is_hq"]


def test_a_taken_username_is_refused_and_nothing_is_made(hq, acme, hq_user):
    response = hq.post(
        f"/partners/{acme.pk}/users/", {"username": hq_user.username, "access": "viewer"}, **HTMX
    )
    assert response.status_code == 200 and "username" in response.context["user_form"].errors
    assert not PartnerUser.objects.exists()


def test_a_partner_user_sees_its_own_partner_only(partner_admin, brand, other_brand, acme):
    sibling = services.create_api_client(brand=brand, name="Sibling", scopes=[])
    theirs = services.create_api_client(brand=other_brand, name="Theirs", scopes=[])
    assert partner_admin.get(f"/partners/{acme.pk}/").status_code == 200
    for other in (sibling, theirs):
        assert partner_admin.get(f"/partners/{other.pk}/").status_code == 404
        assert partner_admin.post(f"/partners/{other.pk}/tokens/").status_code == 404
        assert partner_admin.get(f"/partners/{other.pk}/requests/").status_code == 404
    sibling_token, _ = services.issue_api_token(client=sibling)
    assert partner_admin.post(f"/partners/tokens/{sibling_token.pk}/revoke/").status_code == 404
    sibling_token.refresh_from_db()
    assert sibling_token.revoked_at is None and not sibling.tokens.exclude(pk=sibling_token.pk).exists()
    # and none of the staff pages, nor HQ's partner list
    for url in (
        "/partners/",
        "/stores/",
        "/orders/",
        "/products/",
        "/members/",
        "/devices/",
        "/audit/",
        "/hq/",
    ):
        assert partner_admin.get(url).status_code == 403, url
    # "/" and "/partner/" send it to its console
    assert partner_admin.get("/")["Location"] == reverse("retail:partner_home")
    assert partner_admin.get("/partner/")["Location"] == f"/partners/{acme.pk}/"


def test_a_partner_user_cannot_do_what_only_hq_does(partner_admin, acme):
    assert partner_admin.post(f"/partners/{acme.pk}/scopes/", {"scopes": ["stores:read"]}).status_code == 403
    assert (
        partner_admin.post(f"/partners/{acme.pk}/users/", {"username": "x", "access": "admin"}).status_code
        == 403
    )
    assert partner_admin.post(f"/partners/{acme.pk}/share/revoke/").status_code == 403
    me = PartnerUser.objects.get(user__username="acme-admin")
    assert partner_admin.post(f"/partners/users/{me.pk}/remove/").status_code == 403
    acme.refresh_from_db()
    assert acme.scopes == ["orders:read", "orders:write", "webhooks:read"] and acme.share_links_version == 0
    page = partner_admin.get(f"/partners/{acme.pk}/").content.decode()
    assert 'data-testid="scopes-form"' not in page and 'data-testid="partner-user-form"' not in page
    assert 'data-testid="share-url"' not in page


# --- tokens ----------------------------------------------------------------------------------


def test_a_partner_admin_issues_a_narrowed_token_shown_once_and_revokes_it(partner_admin, acme):
    # when the partner admin issues a token with one of the partner's scopes
    response = partner_admin.post(f"/partners/{acme.pk}/tokens/", {"scopes": ["orders:read"]}, **HTMX)
    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw in response.content.decode()
    token = ApiToken.objects.get(client=acme)
    assert token.scopes == ["orders:read"]
    # then the API takes it for that scope only, though the partner holds more
    api = APIClient()
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 200
    assert api.get("/api/v1/webhooks/", **_bearer(raw)).status_code == 403
    # and it is never shown again
    assert raw not in partner_admin.get(f"/partners/{acme.pk}/").content.decode()
    assert AuditEvent.objects.filter(message="token scopes narrowed", object_id=str(token.pk)).exists()
    # when it revokes it, the next request is refused (audited)
    revoked = partner_admin.post(f"/partners/tokens/{token.pk}/revoke/", **HTMX)
    assert revoked.status_code == 200
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 401
    assert AuditEvent.objects.filter(message="token revoked", object_id=str(token.pk)).exists()


def test_a_token_cannot_exceed_the_partners_scopes(partner_admin, acme):
    response = partner_admin.post(f"/partners/{acme.pk}/tokens/", {"scopes": ["members:write"]}, **HTMX)
    assert response.status_code == 200 and "scopes" in response.context["token_form"].errors
    assert not ApiToken.objects.exists()
    # a narrowed token is still capped by the partner: HQ takes the scope away, the token loses it
    token, raw = console.issue_token(client=acme, scopes=["orders:read", "webhooks:read"])
    console.update_partner(client=acme, scopes=["webhooks:read"])
    api = APIClient()
    assert api.get("/api/v1/orders/", **_bearer(raw)).status_code == 403
    assert api.get("/api/v1/webhooks/", **_bearer(raw)).status_code == 200


def test_a_viewer_looks_but_changes_nothing(partner_viewer, acme, brand):
    subscription, _ = webhooks.create_subscription(
        brand_id=brand.pk, client=acme, url="http://127.0.0.1:9/h", event_types=["*"]
    )
    token, _ = services.issue_api_token(client=acme)
    page = partner_viewer.get(f"/partners/{acme.pk}/")
    assert page.status_code == 200 and not page.context["can_manage"]
    html = page.content.decode()
    assert "http://127.0.0.1:9/h" in html and "Issue a token" not in html and 'name="op"' not in html
    assert partner_viewer.post(f"/partners/{acme.pk}/tokens/").status_code == 403
    assert partner_viewer.post(f"/partners/tokens/{token.pk}/revoke/").status_code == 403
    assert (
        partner_viewer.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "pause"}).status_code == 403
    )
    assert (
        partner_viewer.post(
            f"/partners/{acme.pk}/subscriptions/", {"url": "http://127.0.0.1:9/x", "event_types": ["*"]}
        ).status_code
        == 403
    )
    token.refresh_from_db()
    subscription.refresh_from_db()
    assert token.revoked_at is None and subscription.paused_at is None
    assert WebhookSubscription.objects.count() == 1


# --- webhooks --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_partner_admin_runs_its_webhooks_and_reads_the_logs(partner_admin, acme, brand, receiver):
    # subscribe: the secret is shown once
    response = partner_admin.post(
        f"/partners/{acme.pk}/subscriptions/", {"url": receiver.url, "event_types": ["order.created"]}, **HTMX
    )
    assert response.status_code == 200 and response.context["new_secret"].startswith("whsec_")
    subscription = WebhookSubscription.objects.get(client=acme)
    _order(brand, 1)
    assert len(receiver.received) == 1
    # rotate, pause, resume (audited in the services)
    rotated = partner_admin.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "rotate"}, **HTMX)
    assert rotated.context["new_secret"] != response.context["new_secret"]
    partner_admin.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "pause"}, **HTMX)
    subscription.refresh_from_db()
    assert subscription.paused_at is not None and subscription.pause_reason == "paused by the partner"
    _order(brand, 2)
    assert len(receiver.received) == 1
    partner_admin.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "resume"}, **HTMX)
    assert len(receiver.received) == 2
    # a dead letter, replayed
    receiver.status = 500
    _order(brand, 3)
    receiver.status = 200
    replayed = partner_admin.post(f"/partners/subscriptions/{subscription.pk}/", {"op": "replay"}, **HTMX)
    assert "1 dead deliveries queued again." in replayed.content.decode()
    # the delivery log of that subscription, with attempts, and a redelivery
    log = partner_admin.get(f"/partners/{acme.pk}/deliveries/", {"subscription": subscription.pk}, **HTMX)
    deliveries = log.context["deliveries"]
    assert len(deliveries) == 3 and {d.subscription_id for d in deliveries} == {subscription.pk}
    attempts = partner_admin.get(f"/partners/deliveries/{deliveries[0].pk}/", **HTMX)
    assert [a.status_code for a in attempts.context["delivery"].attempt_log.all()] == [200, 500]
    again = partner_admin.post(f"/partners/deliveries/{deliveries[0].pk}/redeliver/", **HTMX)
    assert again.status_code == 200 and len(receiver.received) == 5
    # the request log with its chart, and the device scorecards panel
    page = partner_admin.get(f"/partners/{acme.pk}/")
    assert len(page.context["chart"]["hours"]) == console.REQUEST_LOG_DAYS * 24
    assert "device-scorecards" in {p["key"] for p in page.context["panels"]}
    assert AuditEvent.objects.filter(message="webhook secret rotated").count() == 1


# --- removal and deactivation ------------------------------------------------------------------


def test_removing_a_partner_user_stops_access_at_once(hq, partner_admin, acme):
    assert partner_admin.get(f"/partners/{acme.pk}/").status_code == 200
    me = PartnerUser.objects.get(user__username="acme-admin")
    response = hq.post(f"/partners/users/{me.pk}/remove/", **HTMX)
    assert response.status_code == 200 and "acme-admin can no longer log in." in response.content.decode()
    # the very next request is no longer logged in
    again = partner_admin.get(f"/partners/{acme.pk}/")
    assert again.status_code == 302 and "login" in again["Location"]
    assert not PartnerUser.objects.exists()
    assert AuditEvent.objects.filter(message="partner user removed", action=AuditAction.PERMISSION).exists()


def test_hq_of_another_brand_cannot_remove_our_partner_users(client, other_brand, acme):
    from retail.tests.factories import StaffRoleFactory, UserFactory

    partner_user, _ = _partner_login(acme)
    theirs_hq = StaffRoleFactory(user=UserFactory(username="hq-b"), brand=other_brand, role="hq_admin").user
    client.force_login(theirs_hq)
    assert client.post(f"/partners/users/{partner_user.pk}/remove/").status_code == 404
    assert PartnerUser.objects.filter(pk=partner_user.pk).exists()


def test_a_deactivated_partner_locks_its_users_out(partner_admin, acme):
    console.update_partner(client=acme, is_active=False)
    assert partner_admin.get(f"/partners/{acme.pk}/").status_code == 403
    assert partner_admin.get(f"/partners/{acme.pk}/requests/").status_code == 403
    # still a partner's login, not a role-less staff member: the staff pages stay closed
    assert partner_admin.get("/stores/").status_code == 403


# --- share links and paused subscriptions -------------------------------------------------------


def test_revoke_links_kills_every_earlier_share_link(hq, client, acme):
    old_url = hq.get(f"/partners/{acme.pk}/").context["share_url"]
    assert client.get(old_url).status_code == 200
    response = hq.post(f"/partners/{acme.pk}/share/revoke/", **HTMX)
    assert response.status_code == 200
    new_url = response.context["share_url"]
    assert new_url != old_url
    assert client.get(old_url).status_code == 404
    assert client.get(new_url).status_code == 200
    assert AuditEvent.objects.filter(message="console share links revoked").exists()


def test_paused_subscriptions_show_on_the_partner_list(hq, brand, acme):
    for n in range(2):
        webhooks.create_subscription(
            brand_id=brand.pk, client=acme, url=f"http://127.0.0.1:9/{n}", event_types=["*"]
        )
    quiet = services.create_api_client(brand=brand, name="Quiet", scopes=[])
    webhooks.create_subscription(
        brand_id=brand.pk, client=quiet, url="http://127.0.0.1:9/q", event_types=["*"]
    )
    assert 'data-testid="paused-banner"' not in hq.get("/partners/").content.decode()
    WebhookSubscription.objects.filter(client=acme).update(
        paused_at="2026-11-11T00:00Z", pause_reason="breaker"
    )
    response = hq.get("/partners/")
    rows = {r["client"].name: r for r in response.context["rows"]}
    assert rows["Acme POS"]["paused"] == 2 and rows["Quiet"]["paused"] == 0
    assert response.context["paused_total"] == 2
    html = response.content.decode()
    assert 'data-testid="paused-banner"' in html and "2 webhook subscriptions are paused" in html
    assert html.count('data-testid="paused-badge"') == 1
