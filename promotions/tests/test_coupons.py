"""The coupon core: discount arithmetic, claiming (stock, limit, tier, window, key) and
redeeming (every rule, once), and the offline token's signature."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Tier
from members.tests.factories import MemberFactory
from promotions.choices import ClaimVia, CouponChannel, CouponStatus, DiscountKind
from promotions.models import Coupon, MemberClaimCount, Redemption
from promotions.services import coupons, tokens
from promotions.tests.factories import CampaignFactory, CouponTemplateFactory, PublishedCampaignFactory
from retail.errors import DomainError, InvalidInput, NotFound
from retail.models import DomainEvent
from retail.tests.factories import BrandFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    brand = BrandFactory()
    store = StoreFactory(brand=brand)
    return {"brand": brand, "store": store, "member": MemberFactory(brand=brand)}


def _refusal(fn, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fn(**kwargs)
    return caught.value


# --- discounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "percent", "threshold", "subtotal", "expected"),
    [
        (DiscountKind.AMOUNT_OFF, "50", None, "0", "399", "50.00"),
        (DiscountKind.AMOUNT_OFF, "50", None, "0", "30", "30.00"),  # never more than the order
        (DiscountKind.PERCENT_OFF, None, 15, "0", "199.90", "29.99"),  # rounded half up
        (DiscountKind.THRESHOLD, "50", None, "300", "299.99", "0.00"),
        (DiscountKind.THRESHOLD, "50", None, "300", "300", "50.00"),
    ],
)
def test_discount_for(kind, amount, percent, threshold, subtotal, expected):
    template = CouponTemplateFactory.build(
        kind=kind,
        amount_off=Decimal(amount) if amount else None,
        percent_off=percent,
        threshold=Decimal(threshold),
    )
    assert coupons.discount_for(template, Decimal(subtotal)) == Decimal(expected)


def test_describe_reads_like_a_price_tag():
    assert (
        coupons.describe(
            CouponTemplateFactory.build(
                kind=DiscountKind.THRESHOLD, amount_off=Decimal("50"), threshold=Decimal("300")
            )
        )
        == "¥50 off orders of ¥300 or more"
    )
    assert (
        coupons.describe(
            CouponTemplateFactory.build(kind=DiscountKind.PERCENT_OFF, percent_off=20, amount_off=None)
        )
        == "20% off"
    )


# --- claiming -------------------------------------------------------------------------------


def test_a_claim_takes_one_from_stock_and_publishes(shop):
    template = CouponTemplateFactory(brand=shop["brand"], total_stock=2)
    claim = coupons.claim_coupon(
        template=template, member=shop["member"], via=ClaimVia.WORKBENCH, store=shop["store"]
    )
    assert not claim.replayed and claim.coupon.status == CouponStatus.CLAIMED
    assert len(claim.coupon.code) == coupons.CODE_LENGTH
    template.refresh_from_db()
    assert template.claimed == 1
    assert DomainEvent.objects.filter(name="coupon.claimed", payload__coupon=claim.coupon.pk).count() == 1


def test_the_same_key_claims_once(shop):
    template = CouponTemplateFactory(brand=shop["brand"], per_member_limit=3)
    first = coupons.claim_coupon(template=template, member=shop["member"], key="tap-1")
    again = coupons.claim_coupon(template=template, member=shop["member"], key="tap-1")
    assert again.replayed and again.coupon.pk == first.coupon.pk
    template.refresh_from_db()
    assert template.claimed == 1 and Coupon.objects.count() == 1


def test_a_key_reused_for_another_member_is_refused(shop):
    template = CouponTemplateFactory(brand=shop["brand"])
    coupons.claim_coupon(template=template, member=shop["member"], key="k")
    other = MemberFactory(brand=shop["brand"])
    assert (
        _refusal(coupons.claim_coupon, template=template, member=other, key="k").code
        == "idempotency_key_reused"
    )


def test_limit_per_member_and_stock(shop):
    template = CouponTemplateFactory(brand=shop["brand"], total_stock=3, per_member_limit=2)
    member = shop["member"]
    coupons.claim_coupon(template=template, member=member)
    coupons.claim_coupon(template=template, member=member)
    refused = _refusal(coupons.claim_coupon, template=template, member=member)
    assert refused.code == "limit_reached" and refused.status == 409
    assert MemberClaimCount.objects.get(member=member).claimed == 2
    coupons.claim_coupon(template=template, member=MemberFactory(brand=shop["brand"]))
    assert (
        _refusal(coupons.claim_coupon, template=template, member=MemberFactory(brand=shop["brand"])).code
        == "sold_out"
    )
    template.refresh_from_db()
    assert template.claimed == 3 and Coupon.objects.count() == 3


def test_sold_out_leaves_the_member_count_alone(shop):
    template = CouponTemplateFactory(brand=shop["brand"], total_stock=1)
    coupons.claim_coupon(template=template, member=MemberFactory(brand=shop["brand"]))
    assert _refusal(coupons.claim_coupon, template=template, member=shop["member"]).code == "sold_out"
    assert not MemberClaimCount.objects.filter(member=shop["member"]).exists()


def test_claim_rules(shop):
    brand, member = shop["brand"], shop["member"]
    gold = Tier.objects.create(brand=brand, code="gold", name="Gold", threshold_points=1000, rank=2)
    tiered = CouponTemplateFactory(brand=brand)
    tiered.tiers.add(gold)
    assert _refusal(coupons.claim_coupon, template=tiered, member=member).code == "tier_not_eligible"
    member.tier = gold
    member.save(update_fields=["tier"])
    assert coupons.claim_coupon(template=tiered, member=member).coupon

    expired = CouponTemplateFactory(
        brand=brand,
        valid_from=timezone.now() - dt.timedelta(days=2),
        valid_until=timezone.now() - dt.timedelta(days=1),
    )
    assert _refusal(coupons.claim_coupon, template=expired, member=member).code == "template_expired"
    draft = CouponTemplateFactory(brand=brand, campaign=CampaignFactory(brand=brand))
    assert _refusal(coupons.claim_coupon, template=draft, member=member).code == "campaign_not_live"
    paused = CouponTemplateFactory(brand=brand, is_active=False)
    assert _refusal(coupons.claim_coupon, template=paused, member=member).code == "template_inactive"
    foreign = MemberFactory(brand=BrandFactory())
    with pytest.raises(NotFound):
        coupons.claim_coupon(template=CouponTemplateFactory(brand=brand), member=foreign)
    assert CouponTemplateFactory._meta.model.objects.filter(claimed__gt=0).count() == 1


# --- redeeming ------------------------------------------------------------------------------


def _held(shop, **template_kwargs):
    template = CouponTemplateFactory(brand=shop["brand"], **template_kwargs)
    return coupons.claim_coupon(template=template, member=shop["member"]).coupon


def test_redeem_once(shop):
    coupon = _held(shop, kind=DiscountKind.THRESHOLD, amount_off=Decimal("50"), threshold=Decimal("300"))
    redemption = coupons.redeem_coupon(
        brand_id=shop["brand"].pk,
        code=coupon.code.lower(),
        store=shop["store"],
        subtotal=Decimal("320"),
        order_ref="POS-1",
    )
    assert redemption.discount == Decimal("50.00") and redemption.order_ref == "POS-1"
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED and coupon.redeemed_at == redemption.redeemed_at
    again = _refusal(
        coupons.redeem_coupon,
        brand_id=shop["brand"].pk,
        code=coupon.code,
        store=shop["store"],
        subtotal=Decimal("320"),
    )
    assert again.code == "already_redeemed" and again.status == 409
    assert Redemption.objects.count() == 1
    assert DomainEvent.objects.filter(name="coupon.redeemed").count() == 1


def test_redeem_rules_each_with_its_message(shop):
    brand, store = shop["brand"], shop["store"]
    other_store = StoreFactory(brand=brand)

    def refusal(coupon, **kwargs):
        values = {
            "brand_id": brand.pk,
            "code": coupon.code,
            "store": store,
            "subtotal": Decimal("500"),
        } | kwargs
        return _refusal(coupons.redeem_coupon, **values)

    threshold = _held(shop, kind=DiscountKind.THRESHOLD, amount_off=Decimal("50"), threshold=Decimal("300"))
    assert refusal(threshold, subtotal=Decimal("299")).code == "threshold_not_met"
    elsewhere = _held(shop)
    elsewhere.template.valid_stores.add(other_store)
    assert refusal(elsewhere).code == "wrong_store"
    online = _held(shop, channel=CouponChannel.ONLINE)
    assert refusal(online).code == "wrong_channel"
    later = _held(
        shop,
        valid_from=timezone.now() + dt.timedelta(days=1),
        valid_until=timezone.now() + dt.timedelta(days=2),
    )
    assert refusal(later).code == "coupon_not_yet_valid"
    assert refusal(_held(shop), redeemed_at=timezone.now() + dt.timedelta(days=30)).code == "coupon_expired"
    assert refusal(_held(shop), subtotal=Decimal("0")).code == "invalid_subtotal"
    assert Redemption.objects.count() == 0


def test_unknown_foreign_or_someone_elses_code_is_one_answer(shop):
    coupon = _held(shop)
    other_brand = BrandFactory()
    foreign_store = StoreFactory(brand=other_brand)
    answers = [
        _refusal(
            coupons.redeem_coupon,
            brand_id=shop["brand"].pk,
            code="NOSUCHCODE12",
            store=shop["store"],
            subtotal=1,
        ),
        _refusal(
            coupons.redeem_coupon, brand_id=other_brand.pk, code=coupon.code, store=foreign_store, subtotal=1
        ),
        _refusal(
            coupons.redeem_coupon,
            brand_id=shop["brand"].pk,
            code=coupon.code,
            store=shop["store"],
            subtotal=1,
            member=MemberFactory(brand=shop["brand"]),
        ),
    ]
    assert {(a.code, a.message, a.status) for a in answers} == {
        ("coupon_not_found", coupons.not_found().message, 404)
    }


# --- offline tokens -------------------------------------------------------------------------


def test_a_token_verifies_and_a_forgery_does_not(shop):
    coupon = _held(shop)
    token = tokens.sign(coupon)
    payload = tokens.verify(token, brand_id=shop["brand"].pk)
    assert payload["c"] == coupon.code and payload["m"] == shop["member"].pk
    assert payload["x"] == int(coupon.template.valid_until.timestamp())
    prefix, kid, body, sig = token.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for bad in (f"{prefix}.{kid}.{forged_body}.{sig}", "garbage", f"{prefix}.{kid}.{body}.{sig[:-4]}"):
        with pytest.raises(InvalidInput):
            tokens.verify(bad, brand_id=shop["brand"].pk)
    with pytest.raises(InvalidInput):  # another brand's verification
        tokens.verify(token, brand_id=BrandFactory().pk)


def test_keys_rotate_new_signs_old_verifies(shop):
    coupon = _held(shop)
    old = tokens.sign(coupon)
    tokens.create_key(shop["brand"].pk)
    new = tokens.sign(coupon)
    assert old.split(".")[1] != new.split(".")[1]
    assert tokens.verify(old, brand_id=shop["brand"].pk)["c"] == coupon.code
    assert len(tokens.public_keys(shop["brand"].pk)) == 2


def test_the_private_key_is_not_stored_in_clear(shop):
    key = tokens.signing_key(shop["brand"].pk)
    assert "PRIVATE KEY" not in key.private_key_encrypted
    assert "d" not in key.public_jwk


def test_published_campaign_templates_claim(shop):
    campaign = PublishedCampaignFactory(brand=shop["brand"], stores=[shop["store"]])
    template = CouponTemplateFactory(brand=shop["brand"], campaign=campaign)
    coupon = coupons.claim_coupon(template=template, member=shop["member"]).coupon
    assert coupons.valid_store_ids(template) == {shop["store"].pk}
    with pytest.raises(DomainError) as caught:
        coupons.redeem_coupon(
            brand_id=shop["brand"].pk, code=coupon.code, store=StoreFactory(brand=shop["brand"]), subtotal=100
        )
    assert caught.value.code == "wrong_store"
