"""Changing one's own password (/accounts/password/): a partner user handed a one-time
password by HQ replaces it (the only page besides its console it may reach), the old one
stops working, the session stays, and it is audited under the partner's brand; a wrong old
password changes nothing and says so."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from retail import console, services
from retail.choices import AuditAction
from retail.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW = "a long new passphrase 42"


@pytest.fixture
def acme(brand):
    return services.create_api_client(brand=brand, name="Acme POS", scopes=["orders:read"])


def _logged_in(username: str, password: str) -> Client:
    web = Client()
    answer = web.post(reverse("login"), {"username": username, "password": password, "next": "/"})
    assert answer.status_code == 302, answer.content[:300]
    return web


def test_a_partner_user_replaces_its_one_time_password(acme, brand):
    # given a partner admin logged in with the one-time password HQ handed over
    partner_user, one_time = console.add_partner_user(client=acme, username="acme-admin", access="admin")
    web = _logged_in("acme-admin", one_time)
    page = web.get(reverse("password_change"))
    assert page.status_code == 200 and b'name="new_password2"' in page.content
    # when it changes it
    answer = web.post(
        reverse("password_change"),
        {"old_password": one_time, "new_password1": NEW, "new_password2": NEW},
    )
    # then it stays logged in and is sent home (its console), told so
    assert answer.status_code == 302 and answer["Location"] == reverse("retail:home")
    assert web.get(reverse("retail:home"))["Location"] == reverse("retail:partner_home")
    # the one-time password no longer works, the new one does
    assert not Client().login(username="acme-admin", password=one_time)
    assert Client().login(username="acme-admin", password=NEW)
    # and it is audited under the partner's brand
    event = AuditEvent.objects.get(message="password changed")
    assert event.brand_id == brand.pk and event.actor_id == partner_user.user_id
    assert event.action == AuditAction.PERMISSION


def test_a_wrong_old_password_changes_nothing(acme):
    _, one_time = console.add_partner_user(client=acme, username="acme-viewer", access="viewer")
    web = _logged_in("acme-viewer", one_time)
    answer = web.post(
        reverse("password_change"),
        {"old_password": "not it", "new_password1": NEW, "new_password2": NEW},
    )
    assert answer.status_code == 200 and b'role="alert"' in answer.content
    assert Client().login(username="acme-viewer", password=one_time)
    assert not AuditEvent.objects.filter(message="password changed").exists()


def test_staff_change_theirs_too_and_anonymous_are_sent_to_log_in(client, hq_user):
    assert client.get(reverse("password_change"))["Location"].startswith(reverse("login"))
    client.force_login(hq_user)
    page = client.get(reverse("retail:hq_home"))
    assert reverse("password_change").encode() in page.content  # the header links it
    assert client.get(reverse("password_change")).status_code == 200
