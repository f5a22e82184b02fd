"""Coupon templates: the service's rules (kind-specific amounts, stock, limits, window,
brand-scoped choices, unique names), stock never below what is taken, terms frozen after
the campaign is published, and the pages (HQ writes; stores read those valid for them;
another brand's template is a 404)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from members.services import define_tier
from members.tests.factories import MemberFactory
from promotions.choices import ClaimVia, DiscountKind, RedemptionSource
from promotions.models import Coupon, CouponTemplate
from promotions.selectors import templates as selectors
from promotions.services import coupons
from promotions.services import templates as services
from promotions.tests.factories import (
    CampaignFactory,
    CouponTemplateFactory,
    PublishedCampaignFactory,
    phases,
)
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def fields(**overrides):
    now = timezone.now()
    base = {
        "name": "Double-11 50 off",
        "kind": DiscountKind.AMOUNT_OFF,
        "amount_off": Decimal("50"),
        "threshold": Decimal("0"),
        "total_stock": 100,
        "per_member_limit": 1,
        "valid_from": now - dt.timedelta(hours=1),
        "valid_until": now + dt.timedelta(days=3),
    }
    base.update(overrides)
    return base


def refused_fields(call) -> dict:
    with pytest.raises((InvalidInput, Conflict)) as caught:
        call()
    return caught.value.fields


# --- the service's rules ---------------------------------------------------------------------


def test_a_threshold_coupon_needs_a_spend_above_its_amount(brand):
    # 满300减50 is fine; 满50减50 and a spend-and-save without a spend are not
    template = services.create_template(
        brand_id=brand.pk, **fields(kind=DiscountKind.THRESHOLD, threshold=Decimal("300"))
    )
    assert coupons.describe(template) == "¥50 off orders of ¥300 or more"
    errors = refused_fields(
        lambda: services.create_template(
            brand_id=brand.pk, **fields(name="b", kind=DiscountKind.THRESHOLD, threshold=Decimal("50"))
        )
    )
    assert "threshold" in errors
    errors = refused_fields(
        lambda: services.create_template(brand_id=brand.pk, **fields(name="c", kind=DiscountKind.THRESHOLD))
    )
    assert "threshold" in errors
    assert CouponTemplate.objects.filter(brand=brand).count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount_off": Decimal("0")}, "amount_off"),
        ({"amount_off": None}, "amount_off"),
        ({"amount_off": Decimal("1.234")}, "amount_off"),
        ({"kind": DiscountKind.PERCENT_OFF, "percent_off": 0}, "percent_off"),
        ({"kind": DiscountKind.PERCENT_OFF, "percent_off": 100}, "percent_off"),
        ({"kind": "bogus"}, "kind"),
        ({"total_stock": 0}, "total_stock"),
        ({"per_member_limit": 0}, "per_member_limit"),
        ({"channel": "mail"}, "channel"),
        ({"stacking": "always"}, "stacking"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_terms_are_field_errors_and_nothing_is_made(brand, overrides, field):
    errors = refused_fields(lambda: services.create_template(brand_id=brand.pk, **fields(**overrides)))
    assert field in errors and errors[field]
    assert not CouponTemplate.objects.exists()


def test_the_window_must_end_after_it_starts(brand):
    now = timezone.now()
    errors = refused_fields(
        lambda: services.create_template(brand_id=brand.pk, **fields(valid_from=now, valid_until=now))
    )
    assert "valid_until" in errors


def test_tiers_stores_and_campaign_must_be_the_brands(brand, other_brand):
    foreign_store = StoreFactory(brand=other_brand)
    foreign_tier = define_tier(
        brand_id=other_brand.pk, code="gold", name="Gold", threshold_points=100, rank=1
    )
    foreign_campaign = CampaignFactory(brand=other_brand)
    errors = refused_fields(
        lambda: services.create_template(
            brand_id=brand.pk,
            **fields(valid_stores=[foreign_store], tiers=[foreign_tier], campaign=foreign_campaign),
        )
    )
    assert {"valid_stores", "tiers", "campaign"} <= set(errors)
    assert not CouponTemplate.objects.exists()


def test_a_percent_coupon_for_gold_members_in_two_stores_is_audited(brand):
    gold = define_tier(brand_id=brand.pk, code="gold", name="Gold", threshold_points=100, rank=1)
    stores = StoreFactory.create_batch(2, brand=brand)
    template = services.create_template(
        brand_id=brand.pk,
        **fields(
            kind=DiscountKind.PERCENT_OFF,
            percent_off=20,
            amount_off=Decimal("9"),
            tiers=[gold],
            valid_stores=stores,
        ),
    )
    assert template.amount_off is None and template.percent_off == 20
    assert coupons.tier_ids(template) == {gold.pk}
    assert coupons.valid_store_ids(template) == {s.pk for s in stores}
    event = AuditEvent.objects.get(object_type="promotions.coupontemplate", object_id=str(template.pk))
    assert event.action == AuditAction.CREATE and event.after["tiers"] == [gold.pk]


def test_a_name_is_unique_per_brand(brand, other_brand):
    services.create_template(brand_id=brand.pk, **fields())
    services.create_template(brand_id=other_brand.pk, **fields())  # another brand may use it
    with pytest.raises(Conflict) as caught:
        services.create_template(brand_id=brand.pk, **fields())
    assert "name" in caught.value.fields
    other = services.create_template(brand_id=brand.pk, **fields(name="Another"))
    with pytest.raises(Conflict) as caught:
        services.update_template(template=other, name=" Double-11  50 off ")
    assert "name" in caught.value.fields


def test_the_stock_never_goes_below_what_is_claimed(brand):
    template = CouponTemplateFactory(brand=brand, total_stock=10)
    coupons.take_stock(template, 6)
    errors = refused_fields(lambda: services.update_template(template=template, total_stock=5))
    assert "total_stock" in errors and "6" in errors["total_stock"][0]
    template.refresh_from_db()
    assert template.total_stock == 10
    services.update_template(template=template, total_stock=6)
    template.refresh_from_db()
    assert (template.total_stock, template.claimed) == (6, 6)


def test_a_draft_templates_terms_change_and_the_change_is_audited(brand):
    template = CouponTemplateFactory(brand=brand, campaign=CampaignFactory(brand=brand))
    updated = services.update_template(template=template, amount_off=Decimal("80"), per_member_limit=2)
    assert (updated.amount_off, updated.per_member_limit) == (Decimal("80.00"), 2)
    event = AuditEvent.objects.filter(object_id=str(template.pk), action=AuditAction.UPDATE).get()
    assert event.before["amount_off"] == "50.00" and event.after["amount_off"] == "80.00"
    # the same values again change nothing and write no second audit event
    services.update_template(template=template, amount_off=Decimal("80"), per_member_limit=2)
    assert AuditEvent.objects.filter(object_id=str(template.pk), action=AuditAction.UPDATE).count() == 1


def test_after_publish_terms_are_frozen_but_the_stock_may_be_raised(brand):
    campaign = PublishedCampaignFactory(brand=brand)
    template = CouponTemplateFactory(brand=brand, campaign=campaign, total_stock=100)
    with pytest.raises(Conflict) as caught:
        services.update_template(template=template, amount_off=Decimal("80"), total_stock=200)
    assert caught.value.code == "terms_frozen" and "amount_off" in caught.value.fields
    template.refresh_from_db()
    assert (template.amount_off, template.total_stock) == (Decimal("50.00"), 100)  # nothing changed
    coupons.take_stock(template, 40)
    with pytest.raises(InvalidInput):
        services.update_template(template=template, total_stock=39)  # never below what is taken
    services.update_template(template=template, total_stock=300, name="Renamed")
    template.refresh_from_db()
    assert (template.total_stock, template.name) == (300, "Renamed")


def test_terms_are_frozen_once_members_hold_coupons(brand):
    template = CouponTemplateFactory(brand=brand)
    coupons.claim_coupon(template=template, member=MemberFactory(brand=brand))
    with pytest.raises(Conflict):
        services.update_template(template=template, threshold=Decimal("500"))


def test_set_active_stops_claims_and_a_repeat_is_harmless(brand):
    template = CouponTemplateFactory(brand=brand)
    services.set_active(template=template, active=False)
    services.set_active(template=template, active=False)
    template.refresh_from_db()
    assert template.is_active is False
    assert AuditEvent.objects.filter(object_id=str(template.pk), action=AuditAction.UPDATE).count() == 1
    with pytest.raises(coupons.CouponRefused):
        coupons.claim_coupon(template=template, member=MemberFactory(brand=brand))


# --- figures ---------------------------------------------------------------------------------


def test_figures_count_claims_redemptions_and_discount_but_not_rehearsals(brand):
    store = StoreFactory(brand=brand)
    template = CouponTemplateFactory(brand=brand, per_member_limit=5)
    members = MemberFactory.create_batch(3, brand=brand)
    held = [coupons.claim_coupon(template=template, member=m).coupon for m in members]
    coupons.redeem_coupon(brand_id=brand.pk, code=held[0].code, store=store, subtotal=Decimal("300"))
    rehearsal = coupons.claim_coupon(template=template, member=members[0], via=ClaimVia.REHEARSAL).coupon
    coupons.redeem_coupon(
        brand_id=brand.pk,
        code=rehearsal.code,
        store=store,
        subtotal=Decimal("300"),
        source=RedemptionSource.REHEARSAL,
    )
    figures = selectors.template_figures(template=template)
    assert (figures["claimed"], figures["redeemed"]) == (3, 1)
    assert figures["discount"] == Decimal("50.00")
    assert figures["rate"] == pytest.approx(1 / 3)
    hours = selectors.template_hours(template=template)
    assert sum(r["claims"] for r in hours) == 3 and sum(r["redemptions"] for r in hours) == 1
    latest = selectors.latest_coupons(template=template)
    assert len(latest) == 3 and all(c.masked_code.endswith(c.code[-4:]) for c in latest)
    assert all(c.masked_code[:-4] == "•" * (len(c.code) - 4) for c in latest)


# --- pages -----------------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "name": "Main day 满300减50",
        "kind": "threshold",
        "amount_off": "50",
        "threshold": "300",
        "total_stock": "1000",
        "per_member_limit": "1",
        "channel": "both",
        "stacking": "exclusive",
        "valid_from": "2026-11-11T00:00",
        "valid_until": "2026-11-12T00:00",
    }
    data.update(overrides)
    return data


def test_hq_creates_a_template_on_the_page_and_sees_it_listed(
    client, brand, hq_user, django_assert_max_num_queries
):
    gold = define_tier(brand_id=brand.pk, code="gold", name="Gold", threshold_points=100, rank=1)
    store = StoreFactory(brand=brand)
    client.force_login(hq_user)
    assert client.get(reverse("promotions:template_new")).status_code == 200
    response = client.post(
        reverse("promotions:template_new"), form_data(tiers=[gold.pk], valid_stores=[store.pk])
    )
    template = CouponTemplate.objects.get(brand=brand)
    assert response.status_code == 302
    assert response["Location"] == reverse("promotions:template_detail", kwargs={"template_id": template.pk})
    # the form's local time is Asia/Shanghai
    assert template.valid_from.astimezone(dt.UTC).hour == 16
    CouponTemplateFactory.create_batch(3, brand=brand, campaign=CampaignFactory(brand=brand))
    with django_assert_max_num_queries(14):
        listed = client.get(reverse("promotions:template_list"))
    body = listed.content.decode()
    assert (
        listed.status_code == 200
        and "Main day 满300减50" in body
        and "¥50 off orders of ¥300 or more" in body
    )
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and "Gold" in detail.content.decode()


def test_a_bad_form_is_shown_back_with_the_field_error(client, brand, hq_user):
    client.force_login(hq_user)
    response = client.post(reverse("promotions:template_new"), form_data(threshold="40"))
    assert response.status_code == 400
    assert "must be more than the amount off" in response.content.decode()
    assert not CouponTemplate.objects.exists()


def test_the_edit_page_of_a_published_campaigns_template_refuses_new_terms(client, brand, hq_user):
    template = CouponTemplateFactory(brand=brand, campaign=PublishedCampaignFactory(brand=brand))
    client.force_login(hq_user)
    page = client.get(reverse("promotions:template_edit", kwargs={"template_id": template.pk}))
    assert page.status_code == 200 and "terms are frozen" in page.content.decode()
    # disabled fields keep their values whatever is posted; the stock is raised
    data = form_data(name=template.name, amount_off="99", total_stock="500")
    response = client.post(reverse("promotions:template_edit", kwargs={"template_id": template.pk}), data)
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.amount_off, template.total_stock) == (Decimal("50.00"), 500)


def test_hq_sees_figures_chart_and_masked_coupons(client, brand, hq_user, django_assert_max_num_queries):
    store = StoreFactory(brand=brand)
    template = CouponTemplateFactory(brand=brand, per_member_limit=3)
    member = MemberFactory(brand=brand, phone="13912345678")
    coupon = coupons.claim_coupon(template=template, member=member).coupon
    for other in MemberFactory.create_batch(5, brand=brand):
        held = coupons.claim_coupon(template=template, member=other).coupon
        coupons.redeem_coupon(brand_id=brand.pk, code=held.code, store=store, subtotal=Decimal("100"))
    client.force_login(hq_user)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("promotions:template_detail", kwargs={"template_id": template.pk}))
    body = response.content.decode()
    assert "¥250.00" in body  # five redemptions of ¥50
    assert 'data-chart="coupon-hours"' in body and "coupon-hours-data" in body
    assert coupon.code not in body and coupon.code[-4:] in body
    assert "139****5678" in body and "13912345678" not in body


def test_hq_stops_and_restarts_giving_out(client, brand, hq_user):
    template = CouponTemplateFactory(brand=brand)
    client.force_login(hq_user)
    url = reverse("promotions:template_active", kwargs={"template_id": template.pk})
    assert client.post(url, {"active": "0"}).status_code == 302
    template.refresh_from_db()
    assert template.is_active is False


def test_store_staff_read_only_the_templates_valid_in_their_store(
    client, brand, store, manager_user, guide_user
):
    now = timezone.now()
    elsewhere = StoreFactory(brand=brand)
    live = PublishedCampaignFactory(brand=brand, stores=[store])
    phases(live)
    here = CouponTemplateFactory(brand=brand, campaign=live, name="Here")
    listed_elsewhere = CouponTemplateFactory(brand=brand, name="Elsewhere")
    listed_elsewhere.valid_stores.set([elsewhere])
    CouponTemplateFactory(brand=brand, name="Draft", campaign=CampaignFactory(brand=brand, stores=[store]))
    CouponTemplateFactory(brand=brand, name="Everywhere")
    CouponTemplateFactory(brand=brand, name="Stopped", is_active=False)
    CouponTemplateFactory(
        brand=brand,
        name="Expired",
        valid_from=now - dt.timedelta(days=3),
        valid_until=now - dt.timedelta(days=1),
    )
    for user in (manager_user, guide_user):
        client.force_login(user)
        body = client.get(reverse("promotions:template_list")).content.decode()
        assert "Here" in body and "Everywhere" in body
        for hidden in ("Elsewhere", "Draft", "Stopped", "Expired"):
            assert f">{hidden}<" not in body
        assert "New coupon template" not in body
        assert client.get(reverse("promotions:template_new")).status_code == 403
        detail = client.get(reverse("promotions:template_detail", kwargs={"template_id": here.pk}))
        assert detail.status_code == 200 and "Latest coupons" not in detail.content.decode()
        edit = reverse("promotions:template_edit", kwargs={"template_id": here.pk})
        assert client.post(edit, form_data(name="X")).status_code == 403
        assert (
            client.get(
                reverse("promotions:template_detail", kwargs={"template_id": listed_elsewhere.pk})
            ).status_code
            == 404
        )
    here.refresh_from_db()
    assert here.name == "Here"


def test_another_brands_template_is_a_404(client, brand, other_brand, hq_user):
    template = CouponTemplateFactory(brand=other_brand)
    client.force_login(hq_user)
    for name in ("template_detail", "template_edit"):
        assert (
            client.get(reverse(f"promotions:{name}", kwargs={"template_id": template.pk})).status_code == 404
        )
    response = client.post(
        reverse("promotions:template_active", kwargs={"template_id": template.pk}), {"active": "0"}
    )
    assert response.status_code == 404
    template.refresh_from_db()
    assert template.is_active is True


def test_a_second_brands_hq_cannot_pick_the_first_brands_campaign(client, brand, other_brand):
    hq_b = StaffRoleFactory(user=UserFactory(username="hq-b"), brand=other_brand, role=Role.HQ_ADMIN).user
    campaign = CampaignFactory(brand=brand)
    client.force_login(hq_b)
    response = client.post(reverse("promotions:template_new"), form_data(campaign=campaign.pk))
    assert response.status_code == 400
    assert not CouponTemplate.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_lowering_the_stock_while_members_claim_never_oversells(brand):
    # PostgreSQL: the change holds the template's row lock, claims wait and see the new stock
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency: PostgreSQL")
    template = CouponTemplateFactory(brand=brand, total_stock=60)
    members = MemberFactory.create_batch(40, brand=brand)

    def claim(member):
        try:
            coupons.claim_coupon(template=template, member=member)
            return "ok"
        except coupons.CouponRefused as exc:
            return exc.code
        finally:
            connections.close_all()

    def lower(stock):
        try:
            services.update_template(template=template, total_stock=stock)
            return "lowered"
        except (InvalidInput, Conflict) as exc:
            return exc.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=12) as pool:
        claims = [pool.submit(claim, m) for m in members[:20]]
        lowered = [pool.submit(lower, n) for n in (30, 25, 20)]
        claims += [pool.submit(claim, m) for m in members[20:]]
        outcomes = [f.result() for f in claims]
        changes = [f.result() for f in lowered]
    template.refresh_from_db()
    held = Coupon.objects.filter(template=template).count()
    assert held == template.claimed == outcomes.count("ok") <= template.total_stock
    assert set(outcomes) <= {"ok", "sold_out"}
    assert set(changes) <= {"lowered", "invalid_template"}
