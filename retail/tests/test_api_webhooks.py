"""The webhooks API: a partner manages its own subscriptions, reads its delivery log and
dead letters, redelivers, rotates secrets; scopes and brands are enforced."""

from __future__ import annotations

import json

import pytest

from conftest import make_partner
from retail import webhooks
from retail.models import DomainEvent, WebhookDelivery, WebhookSubscription
from retail.tests.test_webhooks import _order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _allow_loopback(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_MAX_ATTEMPTS = 1


def test_partner_subscribes_gets_the_secret_once_and_sees_only_its_own(brand, receiver):
    partner = make_partner(brand)
    body = {"url": receiver.url, "event_types": ["order.created", "member.*"], "description": "ERP"}
    response = partner.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["event_types"] == ["order.created", "member.*"]
    # the secret is never listed again
    listed = partner.get("/api/v1/webhooks/").json()["results"]
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]
    # another partner of the same brand, and HQ's own subscriptions, are not visible
    webhooks.create_subscription(brand_id=brand.pk, url=receiver.url, event_types=["order.created"])
    other = make_partner(brand)
    assert other.get("/api/v1/webhooks/").json()["results"] == []
    assert other.get(f"/api/v1/webhooks/{created['id']}/").status_code == 404


def test_delivery_log_dead_letters_and_redelivery(brand, receiver):
    partner = make_partner(brand)
    sub = partner.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": ["order.created"]}, format="json"
    ).json()
    receiver.status = 500
    _order(brand, 1)  # one attempt allowed: dead at once
    dead = partner.get("/api/v1/webhook-deliveries/?status=dead").json()["results"]
    assert len(dead) == 1 and dead[0]["last_status_code"] == 500 and dead[0]["subscription"] == sub["id"]
    detail = partner.get(f"/api/v1/webhook-deliveries/{dead[0]['id']}/").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500]
    # the partner fixes its endpoint and asks for that one again
    receiver.status = 200
    response = partner.post(f"/api/v1/webhook-deliveries/{dead[0]['id']}/redeliver/", format="json")
    assert response.status_code == 202
    assert WebhookDelivery.objects.get(pk=dead[0]["id"]).status == "succeeded"
    assert [json.loads(r["body"])["id"] for r in receiver.received][-1] == dead[0]["event"]
    # replaying dead letters of a subscription answers how many went back in the queue
    replay = partner.post(f"/api/v1/webhooks/{sub['id']}/replay-dead/", format="json")
    assert replay.status_code == 200 and replay.json() == {"replayed": 0}


def test_rotate_update_resume_and_stop(brand, receiver):
    partner = make_partner(brand)
    sub = partner.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": ["order.created"]}, format="json"
    ).json()
    rotated = partner.post(f"/api/v1/webhooks/{sub['id']}/rotate-secret/", format="json").json()
    assert rotated["secret"] != sub["secret"] and rotated["previous_secret_expires_at"]
    changed = partner.patch(
        f"/api/v1/webhooks/{sub['id']}/", {"event_types": ["member.joined"]}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["event_types"] == ["member.joined"]
    WebhookSubscription.objects.filter(pk=sub["id"]).update(paused_at="2026-11-11T00:00Z", pause_reason="x")
    resumed = partner.post(f"/api/v1/webhooks/{sub['id']}/resume/", format="json").json()
    assert resumed["paused_at"] is None
    assert partner.delete(f"/api/v1/webhooks/{sub['id']}/").status_code == 204
    assert WebhookSubscription.objects.get(pk=sub["id"]).is_active is False
    _order(brand, 2)
    assert receiver.received == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://x.example/", "event_types": ["order.created"]},
        {"url": "https://x.example/", "event_types": []},
        {"url": "https://x.example/", "event_types": ["nope.nothing"]},
        {"url": "https://x.example/", "event_types": "order.created"},
        {"url": "https://x.example/", "event_types": ["order.created"], "secret": "mine"},
    ],
)
def test_bad_subscriptions_are_a_400_and_nothing_is_made(brand, body):
    response = make_partner(brand).post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400, response.json()
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not WebhookSubscription.objects.exists()


def test_scopes_are_per_operation(brand, receiver):
    reader = make_partner(brand, scopes=["webhooks:read"])
    assert reader.get("/api/v1/webhooks/").status_code == 200
    response = reader.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": ["order.created"]}, format="json"
    )
    assert response.status_code == 403
    assert make_partner(brand, scopes=["orders:read"]).get("/api/v1/webhook-deliveries/").status_code == 403
    assert not DomainEvent.objects.filter(name="webhook.paused").exists()


def test_the_delivery_log_filters_by_subscription(brand, receiver):
    # given a partner with two subscriptions, each with its own deliveries
    partner = make_partner(brand)
    orders = partner.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": ["order.created"]}, format="json"
    ).json()
    everything = partner.post(
        "/api/v1/webhooks/", {"url": receiver.url, "event_types": ["*"]}, format="json"
    ).json()
    _order(brand, 1)
    _order(brand, 2)
    mine = WebhookDelivery.objects.filter(subscription_id=orders["id"])
    assert mine.count() == 2 and WebhookDelivery.objects.filter(subscription_id=everything["id"]).count() == 2
    # when it asks for one subscription's log, then it gets that subscription's deliveries only
    listed = partner.get(f"/api/v1/webhook-deliveries/?subscription={orders['id']}").json()["results"]
    assert sorted(d["id"] for d in listed) == sorted(mine.values_list("id", flat=True))
    assert {d["subscription"] for d in listed} == {orders["id"]}
    # another partner's subscription id shows nothing, a bad id is a 400
    other = make_partner(brand)
    assert other.get(f"/api/v1/webhook-deliveries/?subscription={orders['id']}").json()["results"] == []
    assert partner.get("/api/v1/webhook-deliveries/?subscription=abc").status_code == 400
