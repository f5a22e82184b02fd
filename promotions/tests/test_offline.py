"""Offline redemptions synced from tablets, and offline claim blocks (promotions.services.offline)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Member
from members.tests.factories import MemberFactory
from promotions.choices import (
    BlockStatus,
    ClaimVia,
    CouponStatus,
    IncidentKind,
    OfflineOutcome,
    RedemptionSource,
    Severity,
)
from promotions.models import Coupon, Incident, MemberClaimCount, OfflineRedemption, Redemption
from promotions.services import coupons as coupon_services
from promotions.services import offline, tokens
from promotions.tests.factories import CouponTemplateFactory, PublishedCampaignFactory
from retail.errors import DomainError, InvalidInput
from retail.models import DomainEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(store):
    campaign = PublishedCampaignFactory(brand=store.brand, stores=[store])
    return CouponTemplateFactory(
        brand=store.brand,
        campaign=campaign,
        amount_off=Decimal("50"),
        threshold=Decimal("300"),
        total_stock=10,
    )


@pytest.fixture
def member(store):
    return MemberFactory(brand=store.brand, store=store, phone="13800001111")


@pytest.fixture
def coupon(template, member, store):
    return coupon_services.claim_coupon(template=template, member=member, store=store).coupon


def record(coupon, *, at, subtotal="400.00", client_id=None, token=None, order_ref="POS-1"):
    return {
        "client_id": client_id or str(uuid.uuid4()),
        "code": coupon.code,
        "token": token if token is not None else tokens.sign(coupon),
        "subtotal": subtotal,
        "order_ref": order_ref,
        "redeemed_at": at.isoformat(),
    }


def sync(store, records, staff_id=None, device="tablet-a"):
    return offline.sync_redemptions(store=store, staff_id=staff_id, device_label=device, records=records)


# --- redemptions ------------------------------------------------------------------------------


def test_an_offline_redemption_becomes_the_coupons_redemption_at_tablet_time(store, coupon, guide_user):
    # given a redemption made on a tablet ten minutes ago
    at = timezone.now() - dt.timedelta(minutes=10)
    # when it syncs
    [outcome] = sync(store, [record(coupon, at=at)], staff_id=guide_user.pk)
    # then the coupon is redeemed, from the offline source, at the tablet's time
    assert outcome.outcome == OfflineOutcome.ACCEPTED
    assert outcome.discount == "50.00"
    redemption = Redemption.objects.get(coupon=coupon)
    assert redemption.source == RedemptionSource.OFFLINE
    assert abs(redemption.redeemed_at - at) < dt.timedelta(seconds=1)
    assert redemption.order_ref == "POS-1" and redemption.staff_id == guide_user.pk
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    row = OfflineRedemption.objects.get()
    assert row.redemption_id == redemption.pk and row.device_label == "tablet-a"
    assert DomainEvent.objects.filter(name="coupon.redeemed", brand=store.brand).count() == 1


def test_a_sync_repeated_with_the_same_client_ids_changes_nothing(store, coupon):
    records = [record(coupon, at=timezone.now() - dt.timedelta(minutes=3))]
    first = sync(store, records)
    again = sync(store, records)
    assert [o.outcome for o in again] == [o.outcome for o in first] == [OfflineOutcome.ACCEPTED]
    assert again[0].discount == "50.00"
    assert Redemption.objects.count() == 1
    assert OfflineRedemption.objects.count() == 1
    assert Incident.objects.count() == 0
    assert DomainEvent.objects.filter(name="coupon.redeemed").count() == 1


@pytest.mark.parametrize("earliest_first", [True, False])
def test_two_tablets_redeeming_one_coupon_give_one_redemption_and_one_incident(store, coupon, earliest_first):
    # given the same coupon redeemed on two tablets without the network, A before B
    now = timezone.now()
    a = record(coupon, at=now - dt.timedelta(minutes=20), order_ref="A-1")
    b = record(coupon, at=now - dt.timedelta(minutes=5), order_ref="B-1", subtotal="600.00")
    # when they sync, in either order
    if earliest_first:
        [first] = sync(store, [a], device="tablet-a")
        [second] = sync(store, [b], device="tablet-b")
        outcome_a, outcome_b = first, second
    else:
        [first] = sync(store, [b], device="tablet-b")
        [second] = sync(store, [a], device="tablet-a")
        outcome_b, outcome_a = first, second
    # then A (the earliest) is the one redemption
    redemption = Redemption.objects.get()
    assert redemption.order_ref == "A-1"
    assert redemption.source == RedemptionSource.OFFLINE
    assert abs(redemption.redeemed_at - (now - dt.timedelta(minutes=20))) < dt.timedelta(seconds=1)
    coupon.refresh_from_db()
    assert abs(coupon.redeemed_at - redemption.redeemed_at) < dt.timedelta(seconds=1)
    # and B is a conflict on one high-severity double-spend incident holding both records
    incident = Incident.objects.get()
    assert incident.kind == IncidentKind.DOUBLE_SPEND and incident.severity == Severity.HIGH
    assert coupon.code in incident.title
    refs = [(r["order_ref"], r["standing"]) for r in incident.details["records"]]
    assert refs == [("A-1", True), ("B-1", False)]
    assert {r["device"] for r in incident.details["records"]} == {"tablet-a", "tablet-b"}
    rows = {r.order_ref: r for r in OfflineRedemption.objects.all()}
    assert rows["A-1"].outcome == OfflineOutcome.ACCEPTED and rows["A-1"].redemption_id == redemption.pk
    assert rows["B-1"].outcome == OfflineOutcome.CONFLICT and rows["B-1"].incident_id == incident.pk
    assert rows["B-1"].redemption_id is None
    assert DomainEvent.objects.filter(name="incident.opened").count() == 1
    opened = DomainEvent.objects.get(name="incident.opened")
    assert opened.payload == {
        "incident": incident.pk,
        "title": incident.title,
        "kind": "double_spend",
        "severity": "high",
        "status": "open",
        "campaign": incident.campaign_id,
    }
    assert opened.store_id == store.pk
    # the tablet hears which one lost
    if earliest_first:
        assert (outcome_a.outcome, outcome_b.outcome) == (OfflineOutcome.ACCEPTED, OfflineOutcome.CONFLICT)
    else:
        assert (outcome_b.outcome, outcome_a.outcome) == (OfflineOutcome.ACCEPTED, OfflineOutcome.ACCEPTED)
        assert rows["B-1"].reason


def test_an_offline_redemption_earlier_than_an_online_one_takes_its_place(store, coupon):
    # given the coupon redeemed online at the till just now
    coupon_services.redeem_coupon(
        brand_id=store.brand_id, code=coupon.code, store=store, subtotal=Decimal("500"), order_ref="ONLINE"
    )
    # when a tablet syncs a redemption of it made an hour ago
    [outcome] = sync(store, [record(coupon, at=timezone.now() - dt.timedelta(hours=1), order_ref="OFF")])
    # then the offline one stands and the online one is on the incident
    assert outcome.outcome == OfflineOutcome.ACCEPTED
    assert Redemption.objects.get().order_ref == "OFF"
    details = Incident.objects.get().details["records"]
    assert [(r["order_ref"], r["source"]) for r in details] == [("OFF", "offline"), ("ONLINE", "workbench")]


def test_a_third_redemption_joins_the_same_incident(store, coupon):
    now = timezone.now()
    sync(store, [record(coupon, at=now - dt.timedelta(minutes=30), order_ref="A")])
    sync(store, [record(coupon, at=now - dt.timedelta(minutes=10), order_ref="B")])
    sync(store, [record(coupon, at=now - dt.timedelta(minutes=40), order_ref="C")])
    assert Redemption.objects.get().order_ref == "C"
    incident = Incident.objects.get()
    assert [(r["order_ref"], r["standing"]) for r in incident.details["records"]] == [
        ("C", True),
        ("B", False),
        ("A", False),
    ]
    assert DomainEvent.objects.filter(name="incident.opened").count() == 1
    assert DomainEvent.objects.filter(name="incident.updated").count() == 1


def test_a_forged_token_is_rejected_and_redeems_nothing(store, coupon):
    genuine = tokens.sign(coupon)
    prefix, kid, body, sig = genuine.split(".")
    # a payload edited to be worth more, with the old signature
    forged_body = tokens._b64(tokens._unb64(body).replace(b'"a":"50"', b'"a":"500"'))
    assert forged_body != body
    forged = ".".join([prefix, kid, forged_body, sig])
    [outcome] = sync(store, [record(coupon, at=timezone.now(), token=forged)])
    assert outcome.outcome == OfflineOutcome.REJECTED and outcome.reason_code == "forged"
    # and a genuine token of another coupon, sent with this coupon's code
    [other] = sync(store, [record(coupon, at=timezone.now(), token="cp1.x.y.z")])
    assert other.outcome == OfflineOutcome.REJECTED
    assert not Redemption.objects.exists()
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.CLAIMED


def test_rules_are_checked_at_the_tablets_time(store, template, coupon):
    # expired at the tablet's time
    template.valid_until = timezone.now() - dt.timedelta(minutes=1)
    template.valid_from = timezone.now() - dt.timedelta(days=2)
    template.save()
    [late] = sync(store, [record(coupon, at=timezone.now())])
    assert late.outcome == OfflineOutcome.REJECTED and late.reason_code == "coupon_expired"
    # but fine when the tablet redeemed it before it expired
    [early] = sync(store, [record(coupon, at=timezone.now() - dt.timedelta(hours=1))])
    assert early.outcome == OfflineOutcome.ACCEPTED


def test_wrong_store_and_threshold_are_rejected_with_their_reason(store, coupon):
    elsewhere = StoreFactory(brand=store.brand)
    [wrong] = sync(elsewhere, [record(coupon, at=timezone.now())])
    assert wrong.outcome == OfflineOutcome.REJECTED and wrong.reason_code == "wrong_store"
    assert "not valid in this store" in wrong.reason
    [small] = sync(store, [record(coupon, at=timezone.now(), subtotal="100")])
    assert small.outcome == OfflineOutcome.REJECTED and small.reason_code == "threshold_not_met"
    [bad] = sync(store, [record(coupon, at=timezone.now(), subtotal="abc")])
    assert bad.outcome == OfflineOutcome.REJECTED and bad.reason_code == "invalid_subtotal"
    assert not Redemption.objects.exists()
    assert OfflineRedemption.objects.filter(outcome=OfflineOutcome.REJECTED).count() == 3


def test_another_brands_coupon_is_not_found_and_its_coupon_untouched(store, other_brand):
    theirs_store = StoreFactory(brand=other_brand)
    template = CouponTemplateFactory(brand=other_brand)
    theirs = coupon_services.claim_coupon(
        template=template, member=MemberFactory(brand=other_brand, store=theirs_store)
    ).coupon
    [outcome] = sync(store, [record(theirs, at=timezone.now())])
    assert outcome.outcome == OfflineOutcome.REJECTED
    theirs.refresh_from_db()
    assert theirs.status == CouponStatus.CLAIMED
    assert not Redemption.objects.exists()


def test_a_tablet_clock_ahead_counts_as_now(store, coupon):
    [outcome] = sync(store, [record(coupon, at=timezone.now() + dt.timedelta(days=3))])
    assert outcome.outcome == OfflineOutcome.ACCEPTED
    assert Redemption.objects.get().redeemed_at <= timezone.now()


def test_too_many_records_at_once_is_refused(store):
    with pytest.raises(InvalidInput):
        sync(store, [{}] * (offline.MAX_RECORDS + 1))


# --- blocks -------------------------------------------------------------------------------------


def test_a_block_takes_its_stock_at_once_and_never_oversells(store, template, guide_user):
    block = offline.issue_block(
        template=template, store=store, holder_id=guide_user.pk, device_label="tablet-a", size=8
    )
    template.refresh_from_db()
    assert template.claimed == 8
    assert Coupon.objects.filter(block=block, status=CouponStatus.RESERVED, member=None).count() == 8
    # a second tablet wants 3 of the 2 left: nothing is taken
    with pytest.raises(DomainError) as refused:
        offline.issue_block(template=template, store=store, holder_id=None, device_label="tablet-b", size=3)
    assert refused.value.code == "sold_out"
    template.refresh_from_db()
    assert template.claimed == 8
    # nor can a member claim more than what is left
    for _n in range(2):
        coupon_services.claim_coupon(template=template, member=MemberFactory(brand=store.brand))
    with pytest.raises(DomainError):
        coupon_services.claim_coupon(template=template, member=MemberFactory(brand=store.brand))
    template.refresh_from_db()
    assert template.claimed == template.total_stock == 10
    # the same tablet asking again gets its block back, taking nothing
    again = offline.issue_block(
        template=template, store=store, holder_id=guide_user.pk, device_label="tablet-a", size=8
    )
    assert again.pk == block.pk
    # each coupon comes with a token that verifies
    coupons = offline.block_coupons(block)
    assert len(coupons) == 8
    assert tokens.verify(coupons[0].token, brand_id=store.brand_id)["c"] == coupons[0].code


def test_block_sizes_and_stores_are_checked(store, template):
    for size in (0, offline.MAX_BLOCK + 1, "x"):
        with pytest.raises(InvalidInput):
            offline.issue_block(template=template, store=store, holder_id=None, device_label="t", size=size)
    elsewhere = StoreFactory(brand=store.brand)
    with pytest.raises(DomainError) as refused:
        offline.issue_block(template=template, store=elsewhere, holder_id=None, device_label="t", size=1)
    assert refused.value.code == "wrong_store"
    template.refresh_from_db()
    assert template.claimed == 0


def test_a_synced_block_gives_handouts_to_members_and_returns_the_rest(store, template, member, guide_user):
    block = offline.issue_block(
        template=template, store=store, holder_id=guide_user.pk, device_label="tablet-a", size=5
    )
    codes = [c.code for c in offline.block_coupons(block)]
    now = timezone.now()
    handouts = [
        # a known member
        {"client_id": "h1", "code": codes[0], "phone": "13800001111", "time": now.isoformat()},
        # a new phone: joins the brand
        {"client_id": "h2", "code": codes[1], "phone": "13900002222", "time": now.isoformat()},
        # the known member again: over the limit of 1
        {"client_id": "h3", "code": codes[2], "phone": "138 0000 1111", "time": now.isoformat()},
        # a code not in the block
        {"client_id": "h4", "code": "NOTACODE", "phone": "13900003333", "time": now.isoformat()},
        # one code handed out twice
        {"client_id": "h5", "code": codes[1], "phone": "13900004444", "time": now.isoformat()},
    ]
    outcomes = offline.sync_block(block=block, handouts=handouts, staff_id=guide_user.pk)
    assert [o.outcome for o in outcomes] == [
        OfflineOutcome.ACCEPTED,
        OfflineOutcome.ACCEPTED,
        OfflineOutcome.REJECTED,
        OfflineOutcome.REJECTED,
        OfflineOutcome.REJECTED,
    ]
    assert outcomes[2].reason_code == "limit_reached"
    assert outcomes[4].reason_code == "already_handed_out"
    block.refresh_from_db()
    assert (block.status, block.handed_out, block.returned) == (BlockStatus.SYNCED, 2, 3)
    template.refresh_from_db()
    assert template.claimed == 2  # 5 taken, 3 returned
    given = Coupon.objects.filter(block=block, status=CouponStatus.CLAIMED)
    assert {c.member.phone_masked for c in given} == {"138****1111", "139****2222"}
    assert all(c.claim_via == ClaimVia.OFFLINE for c in given)
    assert Coupon.objects.filter(block=block, status=CouponStatus.VOID).count() == 3
    assert Member.objects.filter(brand=store.brand).count() == 2
    assert MemberClaimCount.objects.get(member=member, template=template).claimed == 1
    assert DomainEvent.objects.filter(name="coupon.block_synced").count() == 1
    assert DomainEvent.objects.filter(name="coupon.claimed", payload__via="offline").count() == 2
    # a repeated sync changes nothing and says the same for the given ones
    again = offline.sync_block(block=block, handouts=handouts, staff_id=guide_user.pk)
    assert [o.outcome for o in again][:2] == [OfflineOutcome.ACCEPTED, OfflineOutcome.ACCEPTED]
    template.refresh_from_db()
    assert template.claimed == 2
    assert DomainEvent.objects.filter(name="coupon.block_synced").count() == 1


def test_a_handed_out_coupon_then_redeems_like_any_other(store, template):
    block = offline.issue_block(template=template, store=store, holder_id=None, device_label="t", size=2)
    first = offline.block_coupons(block)[0]
    offline.sync_block(block=block, handouts=[{"code": first.code, "phone": "13700007777"}])
    coupon = Coupon.objects.get(code=first.code)
    [outcome] = sync(store, [record(coupon, at=timezone.now(), token=first.token)])
    assert outcome.outcome == OfflineOutcome.ACCEPTED


def test_an_unsynced_block_coupon_cannot_be_redeemed(store, template):
    block = offline.issue_block(template=template, store=store, holder_id=None, device_label="t", size=1)
    [held] = offline.block_coupons(block)
    coupon = Coupon.objects.get(code=held.code)
    [outcome] = sync(store, [record(coupon, at=timezone.now(), token=held.token)])
    assert outcome.outcome == OfflineOutcome.REJECTED and outcome.reason_code == "coupon_not_found"


def test_blocks_of_long_expired_templates_are_closed_by_the_task(store, template):
    from promotions.tasks.offline import close_expired_blocks_task

    block = offline.issue_block(template=template, store=store, holder_id=None, device_label="t", size=4)
    fresh = offline.issue_block(template=template, store=store, holder_id=None, device_label="u", size=1)
    assert close_expired_blocks_task() == 0
    template.valid_from = timezone.now() - dt.timedelta(days=5)
    template.valid_until = timezone.now() - dt.timedelta(days=2)
    template.save()
    assert close_expired_blocks_task() == 2
    assert close_expired_blocks_task() == 0  # twice: nothing more
    block.refresh_from_db()
    fresh.refresh_from_db()
    assert block.status == fresh.status == BlockStatus.SYNCED
    assert Coupon.objects.filter(template=template, status=CouponStatus.VOID).count() == 5
