"""The coupon counter page and its endpoints (promotions.views.counter)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone

from members.tests.factories import MemberFactory
from promotions.choices import ClaimVia, CouponStatus, OfflineOutcome, RedemptionSource
from promotions.models import Coupon, OfflineBlock, Redemption
from promotions.services import coupons as coupon_services
from promotions.services import tokens
from promotions.tests.factories import CouponTemplateFactory, PublishedCampaignFactory
from retail.choices import Role
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

COUNTER = "/promotions/counter/"


@pytest.fixture
def template(store):
    campaign = PublishedCampaignFactory(brand=store.brand, stores=[store])
    return CouponTemplateFactory(
        brand=store.brand,
        campaign=campaign,
        name="Double-11 ¥50",
        amount_off=Decimal("50"),
        threshold=Decimal("300"),
        total_stock=5,
    )


@pytest.fixture
def member(store):
    return MemberFactory(brand=store.brand, store=store, phone="13812345678")


@pytest.fixture
def guide(client, guide_user):
    client.force_login(guide_user)
    return client


def url(name, store, **kwargs):
    return f"{reverse(f'promotions:{name}', kwargs=kwargs or None)}?store={store.pk}"


def member_ref(client, store, phone="13812345678"):
    response = client.post(url("counter_find", store), {"phone": phone})
    assert response.status_code == 302
    return unquote(re.search(r"[?&]m=([^&]+)", response["Location"]).group(1))


def page_text(response) -> str:
    return response.content.decode()


# --- the page -----------------------------------------------------------------------------------


def test_a_guide_opens_the_counter_of_their_store(guide, store, template):
    response = guide.get(COUNTER)
    assert response.status_code == 200
    body = page_text(response)
    assert store.name in body
    assert "promotions-counter.js" in body and "counter-config" in body
    config = json.loads(
        re.search(r'id="counter-config" type="application/json">(.*?)</script>', body).group(1)
    )
    assert config["store"] == store.pk and config["serviceWorker"] == "/promotions/counter/sw.js"


def test_who_may_open_the_counter(client, store, other_brand, hq_user, manager_user):
    assert client.get(COUNTER).status_code == 302  # login first
    nobody = UserFactory(username="no-role")
    client.force_login(nobody)
    assert client.get(COUNTER).status_code == 403
    # HQ chooses among the brand's stores; another brand's store does not exist for them
    second = StoreFactory(brand=store.brand, name="Second store")
    client.force_login(hq_user)
    choose = client.get(COUNTER)
    assert choose.status_code == 200 and "Second store" in page_text(choose)
    assert client.get(f"{COUNTER}?store={second.pk}").status_code == 200
    assert client.get(f"{COUNTER}?store={StoreFactory(brand=other_brand).pk}").status_code == 404
    # a manager: their stores only
    client.force_login(manager_user)
    assert client.get(f"{COUNTER}?store={store.pk}").status_code == 200
    assert client.get(f"{COUNTER}?store={second.pk}").status_code == 404


def test_a_guide_cannot_work_at_another_store(guide, store):
    elsewhere = StoreFactory(brand=store.brand)
    assert guide.get(f"{COUNTER}?store={elsewhere.pk}").status_code == 404
    assert guide.post(url("counter_redeem", elsewhere), {"token": "X", "subtotal": "1"}).status_code == 404


# --- find and give ----------------------------------------------------------------------------


def test_finding_a_member_shows_the_masked_phone_only(guide, store, member, template):
    ref = member_ref(guide, store)
    response = guide.get(f"{COUNTER}?store={store.pk}&m={ref}")
    body = page_text(response)
    assert "138****5678" in body
    assert "13812345678" not in body
    assert "Double-11 ¥50" in body  # claimable here


def test_an_unknown_phone_says_so(guide, store):
    response = guide.post(url("counter_find", store), {"phone": "13900000000"})
    assert response.status_code == 200
    assert "No member with this phone number" in page_text(response)


def test_a_member_ref_of_another_brand_shows_no_member(guide, store, other_brand):
    from django.core import signing

    theirs = MemberFactory(brand=other_brand, phone="13700000001")
    forged = signing.dumps({"m": theirs.pk, "b": other_brand.pk}, salt="promotions.counter.member")
    body = page_text(guide.get(f"{COUNTER}?store={store.pk}&m={forged}"))
    assert "137****0001" not in body


def test_giving_a_coupon_twice_with_one_form_claims_once(guide, guide_user, store, member, template):
    ref = member_ref(guide, store)
    form = {"member": ref, "template": template.pk, "key": str(uuid.uuid4())}
    first = guide.post(url("counter_give", store), form)
    second = guide.post(url("counter_give", store), form)  # the double tap
    assert first.status_code == second.status_code == 302
    coupon = Coupon.objects.get(member=member)
    assert coupon.claim_via == ClaimVia.WORKBENCH
    assert coupon.claimed_by_id == guide_user.pk and coupon.claim_store_id == store.pk
    template.refresh_from_db()
    assert template.claimed == 1
    page = page_text(guide.get(first["Location"]))
    assert coupon.code[-4:] in page and "Double-11 ¥50" in page
    # a new form (new key) is a new claim: over the limit of one
    refused = guide.post(url("counter_give", store), {**form, "key": str(uuid.uuid4())})
    assert refused.status_code == 200
    assert "already holds 1 of this coupon" in page_text(refused)
    assert Coupon.objects.filter(member=member).count() == 1


# --- redeem ------------------------------------------------------------------------------------


@pytest.fixture
def coupon(template, member, store):
    return coupon_services.claim_coupon(template=template, member=member, store=store).coupon


def test_redeeming_a_scanned_token(guide, guide_user, store, coupon):
    response = guide.post(
        url("counter_redeem", store),
        {"token": tokens.sign(coupon), "subtotal": "399.00", "order_ref": "POS-77"},
    )
    assert response.status_code == 302
    redemption = Redemption.objects.get(coupon=coupon)
    assert redemption.source == RedemptionSource.WORKBENCH
    assert (redemption.discount, redemption.order_ref, redemption.staff_id) == (
        Decimal("50.00"),
        "POS-77",
        guide_user.pk,
    )
    assert "¥50.00 off an order of ¥399.00" in page_text(guide.get(response["Location"]))


def test_redeeming_a_typed_code_and_every_refusal_has_its_message(guide, store, coupon):
    def redeem(token, subtotal="400"):
        return guide.post(url("counter_redeem", store), {"token": token, "subtotal": subtotal})

    low = redeem(coupon.code.lower(), "100")
    assert low.status_code == 422 and "must come to ¥300 or more" in page_text(low)
    assert redeem("", "100").status_code == 200  # the form asks for the code
    assert redeem(f"{coupon.code[:4]}-{coupon.code[4:]}").status_code == 302  # dashes typed
    again = redeem(coupon.code)
    assert again.status_code == 409 and "already redeemed" in page_text(again)
    unknown = redeem("ZZZZZZZZZZZZ")
    assert unknown.status_code == 404 and "No such coupon" in page_text(unknown)
    forged = redeem("cp1.abc.def.ghi")
    assert forged.status_code == 400 and "not a valid coupon of this brand" in page_text(forged)
    assert Redemption.objects.count() == 1


def test_wrong_store_is_refused_with_its_message(client, store, template, member):
    elsewhere = StoreFactory(brand=store.brand)
    user = StaffRoleFactory(brand=store.brand, store=elsewhere, role=Role.GUIDE).user
    client.force_login(user)
    coupon = coupon_services.claim_coupon(template=template, member=member).coupon
    response = client.post(url("counter_redeem", elsewhere), {"token": coupon.code, "subtotal": "500"})
    assert response.status_code == 422 and "not valid in this store" in page_text(response)
    assert not Redemption.objects.exists()


def test_repeated_bad_codes_are_rate_limited(guide, store, coupon, settings):
    settings.COUPON_GUESS_LIMITS = {"user": 3, "store": 100}
    for n in range(3):
        answer = guide.post(url("counter_redeem", store), {"token": f"BADCODE{n}", "subtotal": "400"})
        assert answer.status_code == 404
    blocked = guide.post(url("counter_redeem", store), {"token": coupon.code, "subtotal": "400"})
    assert blocked.status_code == 429
    assert "Too many wrong coupon codes" in page_text(blocked)
    assert not Redemption.objects.exists()  # even a real code waits


# --- offline: pack, sync, blocks, service worker ---------------------------------------------


def test_the_pack_holds_the_brands_keys_the_store_and_the_templates(guide, store, template):
    pack = guide.get(url("counter_pack", store)).json()
    assert pack["brand"] == store.brand_id and pack["store"] == store.pk
    assert pack["keys"] and pack["keys"][0]["crv"] == "P-256" and "d" not in pack["keys"][0]
    assert [t["name"] for t in pack["templates"]] == ["Double-11 ¥50"]


def test_the_sync_endpoint_answers_each_record_and_is_idempotent(guide, store, coupon):
    body = {
        "device": "tablet-1",
        "records": [
            {
                "client_id": "c-1",
                "code": coupon.code,
                "token": tokens.sign(coupon),
                "subtotal": "450.00",
                "order_ref": "O-1",
                "redeemed_at": timezone.now().isoformat(),
            },
            {"client_id": "c-2", "code": "NOPE", "token": "garbage", "subtotal": "1", "redeemed_at": "x"},
        ],
    }
    for _ in range(2):
        response = guide.post(url("counter_sync", store), json.dumps(body), content_type="application/json")
        assert response.status_code == 200
        outcomes = response.json()["outcomes"]
        assert [(o["client_id"], o["outcome"]) for o in outcomes] == [
            ("c-1", OfflineOutcome.ACCEPTED),
            ("c-2", OfflineOutcome.REJECTED),
        ]
    assert Redemption.objects.get().source == RedemptionSource.OFFLINE
    bad = guide.post(url("counter_sync", store), "{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"


def test_blocks_through_the_endpoints(guide, store, template, other_brand):
    issue = guide.post(
        url("counter_blocks", store),
        json.dumps({"template": template.pk, "size": 3, "device_label": "tablet-9"}),
        content_type="application/json",
    )
    assert issue.status_code == 200
    data = issue.json()
    assert len(data["coupons"]) == 3 and all(c["token"].startswith("cp1.") for c in data["coupons"])
    too_many = guide.post(
        url("counter_blocks", store),
        json.dumps({"template": template.pk, "size": 3, "device_label": "tablet-10"}),
        content_type="application/json",
    )
    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "sold_out"
    handouts = [{"client_id": "h", "code": data["coupons"][0]["code"], "phone": "13600001234"}]
    synced = guide.post(
        url("counter_block_sync", store, block_id=data["block"]),
        json.dumps({"handouts": handouts}),
        content_type="application/json",
    )
    assert synced.status_code == 200
    assert (synced.json()["handed_out"], synced.json()["returned"]) == (1, 2)
    assert Coupon.objects.filter(block_id=data["block"], status=CouponStatus.CLAIMED).count() == 1
    # another brand's block is not there
    from promotions.tests.factories import OfflineBlockFactory

    theirs = OfflineBlockFactory(brand=other_brand)
    assert guide.post(url("counter_block_sync", store, block_id=theirs.pk)).status_code == 404
    assert OfflineBlock.objects.get(pk=theirs.pk).status == "open"


def test_the_service_worker_is_served_under_the_page(guide):
    response = guide.get(reverse("promotions:counter_sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert body.startswith("self.COUNTER_SHELL = ")
    assert '"page": "/promotions/counter/"' in body and "promotions-counter.js" in body


def test_the_page_speaks_chinese(guide, store, template):
    response = guide.get(COUNTER, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert 'lang="zh-hans"' in page_text(response)


def test_the_page_reads_a_constant_number_of_queries(
    guide, store, member, template, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ref = member_ref(guide, store)
    page = f"{COUNTER}?store={store.pk}&m={ref}"

    def count() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert guide.get(page).status_code == 200
        return len(seen)

    guide.get(page)  # the header bell's count: read once, then cached
    few = count()
    # more templates, more of the member's coupons, more synced records: the same queries
    for n in range(4):
        extra = CouponTemplateFactory(brand=store.brand, campaign=template.campaign, name=f"Extra {n}")
        coupon_services.claim_coupon(template=extra, member=member)
    assert count() == few
    with django_assert_max_num_queries(few):
        guide.get(page)


def test_the_member_sees_only_coupons_for_their_tier_and_their_benefits(guide, store, member, template):
    from members.models import Tier
    from promotions.tests.factories import BenefitFactory, phases

    gold = Tier.objects.create(brand=store.brand, code="gold", name="Gold", threshold_points=1000, rank=3)
    silver = Tier.objects.create(
        brand=store.brand, code="silver", name="Silver", threshold_points=100, rank=2
    )
    member.tier = silver
    member.save()
    golden = CouponTemplateFactory(brand=store.brand, campaign=template.campaign, name="Gold only ¥200")
    golden.tiers.add(gold)
    phases(template.campaign, timezone.now() - dt.timedelta(hours=1))
    benefit = BenefitFactory(brand=store.brand, campaign=template.campaign, name="Silk pouch 丝绸袋")
    benefit.tiers.add(silver)
    body = page_text(guide.get(f"{COUNTER}?store={store.pk}&m={member_ref(guide, store)}"))
    give = body[body.index("data-counter-give") : body.index("Member's coupons")]
    assert "Double-11 ¥50" in give and "Gold only ¥200" not in give
    assert "Silk pouch 丝绸袋" in body
