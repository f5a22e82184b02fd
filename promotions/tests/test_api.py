"""The promotions partner API: campaigns and templates (read), claim (idempotent, through the
stock gate), a coupon's status by code, redemption, scopes, isolation and code guessing."""

from decimal import Decimal

import pytest

from conftest import make_partner
from members.tests.factories import MemberFactory
from promotions.choices import CouponStatus
from promotions.models import Coupon, Redemption
from promotions.services import coupons, stockgate
from promotions.tests.factories import CouponTemplateFactory, PublishedCampaignFactory, phases
from retail.tests.factories import BrandFactory, StoreFactory

pytestmark = pytest.mark.django_db


def error(response, status, code):
    assert response.status_code == status, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def shop(brand, store):
    campaign = PublishedCampaignFactory(brand=brand, stores=[store])
    phases(campaign)
    template = CouponTemplateFactory(brand=brand, campaign=campaign, total_stock=5, threshold=Decimal("100"))
    return {"campaign": campaign, "template": template, "member": MemberFactory(brand=brand), "store": store}


def claim(client, template, member, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/coupons/claim/", {"template": template.pk, "member": member.pk}, format="json", **headers
    )


# --- campaigns and templates ------------------------------------------------------------------


def test_campaigns_list_with_phases_and_stores(partner, shop, django_assert_max_num_queries):
    PublishedCampaignFactory(brand=shop["campaign"].brand)
    PublishedCampaignFactory(brand=BrandFactory())  # another brand's: invisible
    with django_assert_max_num_queries(12):
        response = partner.get("/api/v1/campaigns/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 2
    mine = next(r for r in rows if r["id"] == shop["campaign"].pk)
    assert [p["kind"] for p in mine["phases"]] == ["warmup", "presale", "main", "aftersale"]
    assert mine["stores"] == [
        {"id": shop["store"].pk, "code": shop["store"].code, "name": shop["store"].name}
    ]
    detail = partner.get(f"/api/v1/campaigns/{shop['campaign'].pk}/").json()
    assert detail["status"] == "published" and len(detail["phases"]) == 4


def test_another_brands_campaign_is_not_found(partner):
    other = PublishedCampaignFactory(brand=BrandFactory())
    error(partner.get(f"/api/v1/campaigns/{other.pk}/"), 404, "not_found")


def test_templates_show_remaining_stock_and_filter_by_campaign(partner, shop):
    CouponTemplateFactory(brand=shop["campaign"].brand)  # no campaign
    coupons.claim_coupon(template=shop["template"], member=shop["member"])
    response = partner.get(f"/api/v1/coupon-templates/?campaign={shop['campaign'].pk}")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [shop["template"].pk]
    assert rows[0]["total_stock"] == 5 and rows[0]["claimed"] == 1 and rows[0]["remaining"] == 4
    assert rows[0]["threshold"] == "100.00" and "¥50" in rows[0]["description_text"]
    error(partner.get("/api/v1/coupon-templates/?campaign=abc"), 400, "invalid")
    assert partner.get(f"/api/v1/coupon-templates/{shop['template'].pk}/").json()["remaining"] == 4


def test_reading_needs_the_scope(brand, shop):
    client = make_partner(brand, scopes=["orders:read"])
    error(client.get("/api/v1/campaigns/"), 403, "permission_denied")
    error(client.get("/api/v1/coupon-templates/"), 403, "permission_denied")
    error(client.post("/api/v1/coupons/claim/", {}, format="json"), 403, "permission_denied")


# --- claim -------------------------------------------------------------------------------------


def test_claim_gives_a_coupon_and_a_replayed_key_gives_the_same_one(partner, shop):
    first = claim(partner, shop["template"], shop["member"], key="k-1")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "claimed" and body["member"] == shop["member"].pk
    assert body["template"] == shop["template"].pk
    again = claim(partner, shop["template"], shop["member"], key="k-1")
    assert again.status_code == 200 and again.json()["code"] == body["code"]
    assert Coupon.objects.filter(template=shop["template"]).count() == 1
    shop["template"].refresh_from_db()
    assert shop["template"].claimed == 1
    # the service's own claim key is per API client
    assert Coupon.objects.get().claim_key.endswith(":k-1")


def test_claim_refusals_have_stable_codes(partner, shop, brand):
    assert claim(partner, shop["template"], shop["member"]).status_code == 201
    error(claim(partner, shop["template"], shop["member"]), 409, "limit_reached")
    type(shop["template"]).objects.filter(pk=shop["template"].pk).update(total_stock=1)
    stockgate_reset(shop["template"])
    error(claim(partner, shop["template"], MemberFactory(brand=brand)), 409, "sold_out")
    draft = CouponTemplateFactory(brand=brand, is_active=False)
    error(claim(partner, draft, shop["member"]), 422, "template_inactive")


def stockgate_reset(template):
    if stockgate.enabled():
        stockgate.reset(template)


def test_claim_for_another_brands_member_or_template_is_invalid(partner, shop):
    other = BrandFactory()
    body = error(claim(partner, shop["template"], MemberFactory(brand=other)), 400, "invalid")
    assert "member" in body["fields"]
    body = error(claim(partner, CouponTemplateFactory(brand=other), shop["member"]), 400, "invalid")
    assert "template" in body["fields"]
    assert not Coupon.objects.exists()


def test_claim_by_phone_and_unknown_fields(partner, shop, brand):
    member = MemberFactory(brand=brand, phone="13912345678")
    response = partner.post(
        "/api/v1/coupons/claim/",
        {"template": shop["template"].pk, "member_phone": "13912345678"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["member"] == member.pk
    body = error(
        partner.post("/api/v1/coupons/claim/", {"template": shop["template"].pk, "colour": 1}, format="json"),
        400,
        "invalid",
    )
    assert "colour" in body["fields"]


# --- status and redeem ---------------------------------------------------------------------------


def test_coupon_status_by_code(partner, shop):
    coupon = coupons.claim_coupon(template=shop["template"], member=shop["member"]).coupon
    body = partner.get(f"/api/v1/coupons/{coupon.code.lower()}/").json()
    assert body["code"] == coupon.code and body["status"] == "claimed" and body["redemption"] is None
    assert body["member"] == shop["member"].pk and body["template"] == shop["template"].pk


def test_redeem_takes_the_discount_once(partner, shop):
    coupon = coupons.claim_coupon(template=shop["template"], member=shop["member"]).coupon
    url = f"/api/v1/coupons/{coupon.code}/redeem/"
    payload = {"store": shop["store"].pk, "subtotal": "320.00", "order_ref": "POS-1"}
    response = partner.post(url, payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["discount"] == "50.00" and response.json()["total"] == "270.00"
    assert Redemption.objects.get().source == "api"
    body = error(partner.post(url, payload, format="json"), 409, "already_redeemed")
    assert "redeemed" in body["message"]
    status = partner.get(f"/api/v1/coupons/{coupon.code}/").json()
    assert status["status"] == CouponStatus.REDEEMED
    assert status["redemption"]["store"] == shop["store"].pk and status["redemption"]["order_ref"] == "POS-1"


def test_redeem_refusals(partner, shop, brand):
    coupon = coupons.claim_coupon(template=shop["template"], member=shop["member"]).coupon
    url = f"/api/v1/coupons/{coupon.code}/redeem/"
    error(
        partner.post(url, {"store": shop["store"].pk, "subtotal": "99"}, format="json"),
        422,
        "threshold_not_met",
    )
    elsewhere = StoreFactory(brand=brand)
    error(partner.post(url, {"store": elsewhere.pk, "subtotal": "300"}, format="json"), 422, "wrong_store")
    someone_else = MemberFactory(brand=brand)
    error(
        partner.post(
            url, {"store": shop["store"].pk, "subtotal": "300", "member": someone_else.pk}, format="json"
        ),
        404,
        "coupon_not_found",
    )
    body = error(partner.post(url, {"subtotal": "300"}, format="json"), 400, "invalid")
    assert "store" in body["fields"]
    assert not Redemption.objects.exists()


def test_another_brands_coupon_is_the_same_not_found_as_an_unknown_code(partner, shop):
    other = BrandFactory()
    theirs = coupons.claim_coupon(
        template=CouponTemplateFactory(brand=other), member=MemberFactory(brand=other)
    ).coupon
    unknown = error(partner.get("/api/v1/coupons/ZZZZZZZZZZZZ/"), 404, "coupon_not_found")
    foreign = error(partner.get(f"/api/v1/coupons/{theirs.code}/"), 404, "coupon_not_found")
    assert unknown == foreign
    redeem = error(
        partner.post(
            f"/api/v1/coupons/{theirs.code}/redeem/",
            {"store": shop["store"].pk, "subtotal": "300"},
            format="json",
        ),
        404,
        "coupon_not_found",
    )
    assert redeem["message"] == unknown["message"]


def test_guessing_codes_is_rate_limited_with_retry_after(partner, shop, settings):
    settings.COUPON_GUESS_LIMITS = {"client": 3, "store": 100, "user": 100}
    real = coupons.claim_coupon(template=shop["template"], member=shop["member"]).coupon
    for n in range(3):
        error(partner.get(f"/api/v1/coupons/NOPE{n}/"), 404, "coupon_not_found")
    response = partner.get(f"/api/v1/coupons/{real.code}/")  # even a real code now
    error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    response = partner.post(
        f"/api/v1/coupons/{real.code}/redeem/", {"store": shop["store"].pk, "subtotal": "300"}, format="json"
    )
    error(response, 429, "rate_limited")
    assert not Redemption.objects.exists()


def test_real_codes_do_not_count_as_guesses(partner, shop, settings):
    settings.COUPON_GUESS_LIMITS = {"client": 2}
    real = coupons.claim_coupon(template=shop["template"], member=shop["member"]).coupon
    for _ in range(5):
        assert partner.get(f"/api/v1/coupons/{real.code}/").status_code == 200


def test_redeem_guesses_count_per_store(brand, shop, settings):
    settings.COUPON_GUESS_LIMITS = {"store": 2, "client": 100}
    one, two = make_partner(brand), make_partner(brand)
    payload = {"store": shop["store"].pk, "subtotal": "300"}
    error(one.post("/api/v1/coupons/AAAA/redeem/", payload, format="json"), 404, "coupon_not_found")
    error(two.post("/api/v1/coupons/BBBB/redeem/", payload, format="json"), 404, "coupon_not_found")
    error(one.post("/api/v1/coupons/CCCC/redeem/", payload, format="json"), 429, "rate_limited")


def test_schema_documents_the_promotion_paths(client):
    response = client.get("/api/schema/")
    text = response.content.decode()
    for path in (
        "/api/v1/campaigns/",
        "/api/v1/coupon-templates/",
        "/api/v1/coupons/claim/",
        "/api/v1/coupons/{code}/redeem/",
    ):
        assert path in text


# --- campaign writes -------------------------------------------------------------------------


def test_create_a_draft_campaign_with_stores_and_phases(partner, store):
    body = {
        "name": "Double-11 API",
        "stores": [store.pk],
        "phases": {
            "main": {"starts_at": "2026-11-11T00:00:00+08:00", "ends_at": "2026-11-12T00:00:00+08:00"}
        },
    }
    response = partner.post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["status"] == "draft" and [p["kind"] for p in made["phases"]] == ["main"]
    assert [s["id"] for s in made["stores"]] == [store.pk]
    error(partner.post("/api/v1/campaigns/", body, format="json"), 409, "duplicate_name")


def test_bad_phases_create_nothing(partner, store):
    body = {
        "name": "Backwards",
        "stores": [store.pk],
        "phases": {
            "main": {"starts_at": "2026-11-12T00:00:00+08:00", "ends_at": "2026-11-11T00:00:00+08:00"}
        },
    }
    response = partner.post("/api/v1/campaigns/", body, format="json")
    assert 400 <= response.status_code < 500
    from promotions.models import Campaign

    assert not Campaign.objects.filter(name="Backwards").exists()


def test_another_brands_store_cannot_take_part(partner):
    other_store = StoreFactory(brand=BrandFactory())
    response = partner.post("/api/v1/campaigns/", {"name": "X", "stores": [other_store.pk]}, format="json")
    assert response.status_code == 400 and "stores" in response.json()["error"]["fields"]


def test_patch_renames_and_published_stores_are_fixed(partner, shop, brand):
    url = f"/api/v1/campaigns/{shop['campaign'].pk}/"
    response = partner.patch(url, {"name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Renamed"
    another = StoreFactory(brand=brand)
    error(partner.patch(url, {"stores": [another.pk]}, format="json"), 409, "not_draft")


def test_a_sold_out_counter_refuses_before_reading_anything(
    partner, shop, brand, django_assert_max_num_queries
):
    if not stockgate.enabled():
        pytest.skip("the stock gate needs Redis")
    CouponTemplateFactory._meta.model.objects.filter(pk=shop["template"].pk).update(total_stock=0)
    stockgate.reset(shop["template"])
    error(claim(partner, shop["template"], shop["member"]), 409, "sold_out")
    # the same template id asked by another brand's token is not "sold out" for them
    other = make_partner(BrandFactory())
    body = error(claim(other, shop["template"], shop["member"]), 400, "invalid")
    assert "template" in body["fields"]


def test_a_claim_has_a_fixed_query_budget(partner, shop, brand, django_assert_max_num_queries):
    claim(partner, shop["template"], MemberFactory(brand=brand), key="warm")
    # token, key, template + campaign, member, earlier key, tiers, member slot, stock,
    # coupon, event, stored answer (and savepoints)
    with django_assert_max_num_queries(19):
        assert claim(partner, shop["template"], shop["member"], key="budget").status_code == 201
