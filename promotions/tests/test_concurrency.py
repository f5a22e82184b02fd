"""Claims and redemptions under real concurrency: threads, each with its own PostgreSQL
connection, released together by a barrier. SQLite serialises writers, so these run on
PostgreSQL only (CI); the stock-gate test also needs Redis."""

from collections import Counter

import pytest
from django.db.models import Max

from conftest import make_partner
from members.tests.factories import MemberFactory
from promotions.models import Coupon, CouponTemplate, MemberClaimCount, Redemption
from promotions.services import coupons, stockgate
from promotions.tests.factories import CouponTemplateFactory
from retail.errors import DomainError
from retail.tests.concurrency import POSTGRES_ONLY, run_together

pytestmark = POSTGRES_ONLY


def codes(results) -> Counter:
    return Counter(r.code if isinstance(r, DomainError) else type(r).__name__ for r in results)


def test_200_claimers_on_a_stock_of_100_get_exactly_100_coupons_nobody_over_the_limit(brand):
    # given a template with stock 100, one per member, and 150 members of whom 50 try twice
    template = CouponTemplateFactory(brand=brand, total_stock=100, per_member_limit=1)
    members = [MemberFactory(brand=brand) for _ in range(150)]
    claimers = members + members[:50]
    # when all 200 claim at the same moment
    results = run_together([lambda m=m: coupons.claim_coupon(template=template, member=m) for m in claimers])
    # then exactly 100 coupons exist, the stock says 100, nobody holds more than one
    assert Coupon.objects.filter(template=template).count() == 100
    assert CouponTemplate.objects.get(pk=template.pk).claimed == 100
    per_member = Counter(Coupon.objects.filter(template=template).values_list("member_id", flat=True))
    assert max(per_member.values()) == 1
    assert MemberClaimCount.objects.filter(template=template).aggregate(m=Max("claimed"))["m"] == 1
    # and every refusal is a clear sold_out / limit_reached, nothing else
    outcome = codes(results)
    assert outcome["Claim"] == 100
    assert set(outcome) <= {"Claim", "sold_out", "limit_reached"}, outcome
    assert outcome["sold_out"] + outcome["limit_reached"] == 100


def test_limit_2_from_two_clients_in_parallel_nobody_gets_3(brand):
    # given a per-member limit of 2 and two partner clients (two tokens)
    template = CouponTemplateFactory(brand=brand, total_stock=1000, per_member_limit=2)
    members = [MemberFactory(brand=brand) for _ in range(8)]
    one, two = make_partner(brand), make_partner(brand)

    def post(client, member):
        response = client.post(
            "/api/v1/coupons/claim/", {"template": template.pk, "member": member.pk}, format="json"
        )
        return response.status_code, response.json()

    # when every member claims 3 times from each client at once (48 requests)
    calls = [lambda c=c, m=m: post(c, m) for m in members for c in (one, two) for _ in range(3)]
    results = run_together(calls)
    # then every member holds exactly 2, and the others were refused limit_reached
    per_member = Counter(Coupon.objects.filter(template=template).values_list("member_id", flat=True))
    assert per_member == {m.pk: 2 for m in members}
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 16, 409: 32}, statuses
    assert {body["error"]["code"] for status, body in results if status == 409} == {"limit_reached"}
    assert CouponTemplate.objects.get(pk=template.pk).claimed == 16


def test_50_concurrent_redeems_of_one_coupon_exactly_one_succeeds(brand, store):
    # given one claimed coupon
    template = CouponTemplateFactory(brand=brand)
    coupon = coupons.claim_coupon(template=template, member=MemberFactory(brand=brand)).coupon
    partner = make_partner(brand)
    url = f"/api/v1/coupons/{coupon.code}/redeem/"

    def post(n):
        response = partner.post(
            url, {"store": store.pk, "subtotal": "300.00", "order_ref": f"POS-{n}"}, format="json"
        )
        return response.status_code, response.json()

    # when 50 tills redeem it at the same moment
    results = run_together([lambda n=n: post(n) for n in range(50)])
    # then one redemption, one 201; 49 already_redeemed
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 49}, statuses
    assert {body["error"]["code"] for status, body in results if status == 409} == {"already_redeemed"}
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    assert Coupon.objects.get(pk=coupon.pk).status == "redeemed"


def test_concurrent_replays_of_one_idempotency_key_give_one_coupon_and_take_stock_once(brand):
    # given a claim sent 10 times at once with the same Idempotency-Key
    template = CouponTemplateFactory(brand=brand, total_stock=5)
    member = MemberFactory(brand=brand)
    partner = make_partner(brand)

    def post():
        response = partner.post(
            "/api/v1/coupons/claim/",
            {"template": template.pk, "member": member.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY="flash-1",
        )
        return response.status_code, response.json()

    results = run_together([post] * 10)
    # then one coupon, stock taken once, every answer names it (201 first, 200 for repeats,
    # or 409 request_in_progress for a repeat that arrived while the first was mid-flight)
    assert Coupon.objects.filter(template=template).count() == 1
    assert CouponTemplate.objects.get(pk=template.pk).claimed == 1
    code = Coupon.objects.get(template=template).code
    statuses = Counter(status for status, _ in results)
    assert statuses[201] == 1, results
    assert set(statuses) <= {200, 201, 409}
    for status, body in results:
        if status in (200, 201):
            assert body["code"] == code
        else:
            assert body["error"]["code"] == "request_in_progress"
    # and a replay afterwards is the same coupon, 200
    status, body = post()
    assert status == 200 and body["code"] == code
    assert CouponTemplate.objects.get(pk=template.pk).claimed == 1


@pytest.fixture
def gate():
    if not stockgate.enabled():
        pytest.skip("the stock gate needs Redis (REDIS_URL); without it claims pass straight through")
    return stockgate


def test_the_stock_gate_under_concurrency_never_oversells(brand, gate):
    # given stock 30 behind the gate and 120 members claiming at once
    template = CouponTemplateFactory(brand=brand, total_stock=30)
    members = [MemberFactory(brand=brand) for _ in range(120)]
    results = run_together([lambda m=m: gate.claim(template=template, member=m) for m in members])
    # then exactly 30 coupons; the late ones were refused by the counter, sold_out
    assert Coupon.objects.filter(template=template).count() == 30
    assert CouponTemplate.objects.get(pk=template.pk).claimed == 30
    assert codes(results) == {"Claim": 30, "sold_out": 90}
    assert gate.counter(template) == 0


def test_a_stale_gate_counter_still_cannot_oversell(brand, gate):
    # given a counter that says 500 while the database has 10 left (Redis restored from an
    # old snapshot, say)
    template = CouponTemplateFactory(brand=brand, total_stock=10)
    gate.reset(template)
    gate._redis().set(gate.counter_key(template), 500)
    members = [MemberFactory(brand=brand) for _ in range(40)]
    results = run_together([lambda m=m: gate.claim(template=template, member=m) for m in members])
    # then PostgreSQL's conditional UPDATE holds: 10 coupons, the rest sold_out
    assert Coupon.objects.filter(template=template).count() == 10
    assert codes(results) == {"Claim": 10, "sold_out": 30}
    # and the database's sold_out brought the counter down to the truth
    assert gate.counter(template) == 0
    # reconciliation sets it from the database
    CouponTemplate.objects.filter(pk=template.pk).update(total_stock=12)
    assert gate.reconcile([template.pk]) == 1
    assert gate.counter(template) == 2


def test_refused_claims_give_their_unit_back(brand, gate):
    # given stock 10 and one member who tries 6 times in parallel (limit 1)
    template = CouponTemplateFactory(brand=brand, total_stock=10, per_member_limit=1)
    member = MemberFactory(brand=brand)
    results = run_together([lambda: gate.claim(template=template, member=member)] * 6)
    assert codes(results) == {"Claim": 1, "limit_reached": 5}
    # then the 5 refused units went back: 9 left, as the database says
    assert gate.counter(template) == 9 == CouponTemplate.objects.get(pk=template.pk).remaining
