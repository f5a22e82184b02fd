"""Coupons and incidents on the live dashboards: their events fold into the rollups, the
snapshot shows them, and the nightly recompute (from the outbox) finds no drift."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from members.tests.factories import MemberFactory
from promotions.services import coupons
from promotions.tests.factories import CouponTemplateFactory
from retail import events
from retail.dashboards import rollups, selectors
from retail.events import Event
from retail.models import DomainEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def folded(monkeypatch):
    """Fold every event as it is delivered (as the subscriber does), deltas captured."""
    sent = []
    monkeypatch.setattr(rollups, "push_delta", sent.append)
    return sent


def _fold_outbox():
    for row in DomainEvent.objects.order_by("pk"):
        rollups.fold_event(Event(row.pk, row.name, row.brand_id, row.store_id, row.payload, row.occurred_at))


def test_claims_redemptions_and_incidents_reach_the_dashboards(
    brand, store, folded, django_capture_on_commit_callbacks
):
    other_store = StoreFactory(brand=brand)
    template = CouponTemplateFactory(brand=brand, per_member_limit=5)
    members = [MemberFactory(brand=brand) for _ in range(3)]
    held = [coupons.claim_coupon(template=template, member=m, store=store).coupon for m in members] + [
        coupons.claim_coupon(template=template, member=members[0]).coupon
    ]  # online: no store
    for coupon in held[:2]:
        coupons.redeem_coupon(brand_id=brand.pk, code=coupon.code, store=other_store, subtotal=Decimal("100"))
    events.publish(
        "incident.opened", brand=brand.pk, store=store.pk, incident=1, kind="network", severity="high"
    )
    events.publish(
        "incident.opened", brand=brand.pk, store=store.pk, incident=2, kind="device", severity="low"
    )
    events.publish(
        "incident.updated", brand=brand.pk, store=store.pk, incident=2, status="resolved", change="resolved"
    )
    events.publish(
        "incident.updated", brand=brand.pk, store=store.pk, incident=1, status="assigned", change="assigned"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _fold_outbox()
        _fold_outbox()  # delivered twice: counted once

    mine = selectors.store_today(store)["totals"]
    assert mine["coupons"] == {"claimed": 3, "redeemed": 0}
    assert mine["incidents"] == {"opened": 2, "resolved": 1}
    theirs = selectors.store_today(other_store)["totals"]
    assert theirs["coupons"] == {"claimed": 0, "redeemed": 2}
    hq = selectors.hq_snapshot(brand_id=brand.pk, sort="redemptions")
    assert hq["totals"]["coupons"] == {"claimed": 4, "redeemed": 2}
    assert hq["stores"][0]["id"] == other_store.pk
    assert any(d["inc"].get("coupons_redeemed") == 1 for d in folded)
    ours = ("coupons_claimed", "coupons_redeemed", "incidents_opened", "incidents_resolved")
    drift = rollups.recompute_day(timezone.localdate())["drift"]  # (factory members publish no joins)
    assert [d for d in drift if set(d.get("fields", {})) & set(ours)] == []


def test_the_command_centre_counts_down_to_the_next_phase(brand, folded, django_capture_on_commit_callbacks):
    soon = timezone.now() + dt.timedelta(hours=5)
    events.publish(
        "campaign.published",
        brand=brand.pk,
        campaign=7,
        title="双11",
        phases=[["warmup", soon.isoformat(), (soon + dt.timedelta(days=1)).isoformat()]],
    )
    later = soon + dt.timedelta(days=1)
    events.publish(
        "campaign.phase_changed",
        brand=brand.pk,
        campaign=7,
        title="双11",
        phase="warmup",
        previous="",
        phase_ends_at=later.isoformat(),
        next_phase="presale",
        next_at=later.isoformat(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        _fold_outbox()
        # the published event delivered again, late: it does not turn the clock back
        first = DomainEvent.objects.filter(name="campaign.published").first()
        rollups.fold_event(Event(first.pk, first.name, brand.pk, None, first.payload, first.occurred_at))
    [live] = selectors.hq_snapshot(brand_id=brand.pk)["campaigns"]
    assert live["phase"] == "warmup" and live["next_phase"] == "presale"
    assert live["next_at"] == later.isoformat()
    assert folded[-1]["resync"] is True
    events.publish(
        "campaign.phase_changed",
        brand=brand.pk,
        campaign=7,
        title="双11",
        phase="ended",
        previous="aftersale",
    )
    with django_capture_on_commit_callbacks(execute=True):
        _fold_outbox()
    assert selectors.hq_snapshot(brand_id=brand.pk)["campaigns"] == []


def test_the_command_centre_feeds_open_incidents_and_device_outages(
    brand, store, folded, django_capture_on_commit_callbacks
):
    events.publish(
        "incident.opened",
        brand=brand.pk,
        store=store.pk,
        incident=5,
        title="WiFi down",
        kind="network",
        severity="high",
        status="open",
    )
    events.publish(
        "incident.opened",
        brand=brand.pk,
        store=store.pk,
        incident=6,
        title="POS frozen",
        kind="payment",
        severity="critical",
        status="open",
    )
    events.publish(
        "incident.updated", brand=brand.pk, store=store.pk, incident=6, status="resolved", change="resolved"
    )
    events.publish("device.offline", brand=brand.pk, store=store.pk, device=99, serial="X")
    with django_capture_on_commit_callbacks(execute=True):
        _fold_outbox()
    hq = selectors.hq_snapshot(brand_id=brand.pk)
    assert [(i["id"], i["title"], i["store"], i["severity"]) for i in hq["incidents"]] == [
        (5, "WiFi down", store.name, "high")
    ]
    assert hq["outages"] == [{"id": store.pk, "name": store.name, "offline": 1}]
    assert any(d.get("resync") for d in folded)


def test_a_real_campaign_counts_down_through_its_phases(
    brand, store, folded, django_capture_on_commit_callbacks
):
    from promotions.services import campaigns

    start = timezone.now() + dt.timedelta(hours=1)
    campaign = campaigns.create_campaign(brand_id=brand.pk, name="Double-11", stores=[store])
    campaigns.set_phases(
        campaign=campaign,
        phases={
            "warmup": (start, start + dt.timedelta(days=1)),
            "main": (start + dt.timedelta(days=2), start + dt.timedelta(days=3)),
        },
    )
    campaigns.publish_campaign(campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        _fold_outbox()
    [live] = selectors.hq_snapshot(brand_id=brand.pk)["campaigns"]
    assert (live["name"], live["phase"], live["next_phase"]) == ("Double-11", "", "warmup")
    assert dt.datetime.fromisoformat(live["next_at"]) == start
    campaigns.apply_phases(campaign_id=campaign.pk, now=start + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        _fold_outbox()
    [live] = selectors.hq_snapshot(brand_id=brand.pk)["campaigns"]
    assert (live["phase"], live["next_phase"]) == ("warmup", "main")
    assert dt.datetime.fromisoformat(live["next_at"]) == start + dt.timedelta(days=2)
    assert dt.datetime.fromisoformat(live["phase_ends_at"]) == start + dt.timedelta(days=1)
