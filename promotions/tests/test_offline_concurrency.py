"""Offline syncs and blocks under real concurrency (PostgreSQL: threads, each with its own
connection, released together by a barrier). SQLite serialises writers: skipped there."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

from django.utils import timezone

from members.tests.factories import MemberFactory
from promotions.choices import OfflineOutcome
from promotions.models import CouponTemplate, Incident, OfflineBlock, OfflineRedemption, Redemption
from promotions.services import coupons as coupon_services
from promotions.services import offline, tokens
from promotions.tests.factories import CouponTemplateFactory
from retail.errors import DomainError
from retail.tests.concurrency import POSTGRES_ONLY, run_together

pytestmark = POSTGRES_ONLY


def test_six_tablets_syncing_one_coupon_at_once_leave_the_earliest_and_one_incident(store):
    template = CouponTemplateFactory(brand=store.brand)
    coupon = coupon_services.claim_coupon(template=template, member=MemberFactory(brand=store.brand)).coupon
    token = tokens.sign(coupon)
    now = timezone.now()
    records = [
        {
            "client_id": str(uuid.uuid4()),
            "code": coupon.code,
            "token": token,
            "subtotal": "100",
            "order_ref": f"T{n}",
            "redeemed_at": (now - dt.timedelta(minutes=n * 7 % 30 + 1)).isoformat(),
        }
        for n in range(6)
    ]
    earliest = min(records, key=lambda r: r["redeemed_at"])["order_ref"]
    results = run_together(
        [
            lambda r=r: offline.sync_redemptions(
                store=store, staff_id=None, device_label=r["order_ref"], records=[r]
            )
            for r in records
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Redemption.objects.get(coupon=coupon).order_ref == earliest
    incident = Incident.objects.get()
    assert len(incident.details["records"]) == 6
    assert [r["order_ref"] for r in incident.details["records"] if r["standing"]] == [earliest]
    rows = Counter(OfflineRedemption.objects.values_list("outcome", flat=True))
    assert rows == {OfflineOutcome.ACCEPTED: 1, OfflineOutcome.CONFLICT: 5}
    assert OfflineRedemption.objects.get(outcome=OfflineOutcome.ACCEPTED).order_ref == earliest


def test_one_record_synced_twice_at_once_is_one_row(store):
    template = CouponTemplateFactory(brand=store.brand)
    coupon = coupon_services.claim_coupon(template=template, member=MemberFactory(brand=store.brand)).coupon
    record = {
        "client_id": "same",
        "code": coupon.code,
        "token": tokens.sign(coupon),
        "subtotal": "100",
        "redeemed_at": timezone.now().isoformat(),
    }
    results = run_together(
        [
            lambda: offline.sync_redemptions(
                store=store, staff_id=None, device_label="t", records=[dict(record)]
            )
        ]
        * 4
    )
    assert all(r[0].outcome == OfflineOutcome.ACCEPTED for r in results), results
    assert OfflineRedemption.objects.count() == 1
    assert Redemption.objects.count() == 1
    assert not Incident.objects.exists()


def test_blocks_taken_at_once_never_exceed_the_stock(store):
    template = CouponTemplateFactory(brand=store.brand, total_stock=10)
    results = run_together(
        [
            lambda n=n: offline.issue_block(
                template=template, store=store, holder_id=None, device_label=f"tablet-{n}", size=3
            )
            for n in range(6)
        ]
    )
    blocks = [r for r in results if isinstance(r, OfflineBlock)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(blocks) == 3 and len(refused) == 3
    assert {r.code for r in refused} == {"sold_out"}
    assert CouponTemplate.objects.get(pk=template.pk).claimed == 9
