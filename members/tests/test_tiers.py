"""Tiers follow lifetime points and the brand's thresholds, up and down."""

from __future__ import annotations

import pytest

from members import services
from members.models import Member, Tier
from members.tests.factories import MemberFactory
from retail.errors import DomainError
from retail.models import DomainEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiers(brand, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.define_tier(brand_id=brand.pk, code="normal", name="普通", threshold_points=0, rank=0)
        services.define_tier(brand_id=brand.pk, code="silver", name="银卡", threshold_points=1000, rank=1)
        services.define_tier(brand_id=brand.pk, code="gold", name="金卡", threshold_points=5000, rank=2)
    return {t.code: t for t in Tier.objects.filter(brand=brand)}


def tier_changes(member: Member) -> list[tuple[str | None, str | None]]:
    return [
        (e.payload["from_tier"], e.payload["to_tier"])
        for e in DomainEvent.objects.filter(name="member.tier_changed", payload__member=member.pk).order_by(
            "id"
        )
    ]


def test_a_member_rises_through_the_tiers_as_lifetime_points_reach_each_threshold(brand, tiers):
    # given a new member of a brand with three tiers
    member = MemberFactory(brand=brand)
    # when they earn across two thresholds
    services.earn_points(member=member, points=999)
    services.earn_points(member=member, points=1)
    services.earn_points(member=member, points=4500)
    # then they are gold, and every move was announced
    member.refresh_from_db()
    assert member.tier == tiers["gold"]
    assert tier_changes(member) == [(None, "normal"), ("normal", "silver"), ("silver", "gold")]


def test_spending_points_keeps_the_tier(brand, tiers):
    member = MemberFactory(brand=brand)
    services.earn_points(member=member, points=1200)
    services.spend_points(member=member, points=1200)
    member.refresh_from_db()
    assert member.points_balance == 0 and member.tier == tiers["silver"]


def test_a_downward_adjustment_can_lower_the_tier(brand, tiers):
    member = MemberFactory(brand=brand)
    services.earn_points(member=member, points=1000)
    services.adjust_points(member=member, points=-1, reason="refunded order")
    member.refresh_from_db()
    assert member.tier == tiers["normal"]
    assert tier_changes(member)[-1] == ("silver", "normal")


def test_raising_a_threshold_moves_members_down_and_lowering_it_moves_them_up(
    brand, tiers, django_capture_on_commit_callbacks
):
    # given a silver member with 1,500 lifetime points
    member = MemberFactory(brand=brand)
    services.earn_points(member=member, points=1500)
    # when HQ raises silver to 2,000, then they are back to normal
    with django_capture_on_commit_callbacks(execute=True):
        services.define_tier(brand_id=brand.pk, code="silver", name="银卡", threshold_points=2000, rank=1)
    member.refresh_from_db()
    assert member.tier == tiers["normal"]
    # when HQ lowers it to 1,500, then they are silver again
    with django_capture_on_commit_callbacks(execute=True):
        services.define_tier(brand_id=brand.pk, code="silver", name="银卡", threshold_points=1500, rank=1)
    member.refresh_from_db()
    assert member.tier == tiers["silver"]
    assert tier_changes(member)[-2:] == [("silver", "normal"), ("normal", "silver")]


def test_tiers_are_per_brand(brand, other_brand, tiers):
    theirs = MemberFactory(brand=other_brand)
    services.earn_points(member=theirs, points=9000)
    theirs.refresh_from_db()
    assert theirs.tier is None  # brand B defined no tiers


def test_a_better_rank_must_need_more_points(brand, tiers):
    with pytest.raises(DomainError) as refused:
        services.define_tier(brand_id=brand.pk, code="black", name="黑金", threshold_points=3000, rank=3)
    assert refused.value.code == "tier_order"
    with pytest.raises(DomainError) as clash:
        services.define_tier(brand_id=brand.pk, code="black", name="黑金", threshold_points=9000, rank=2)
    assert clash.value.code == "duplicate_tier"
    assert not Tier.objects.filter(code="black").exists()


def test_the_api_shows_the_members_tier_code(partner, brand, tiers):
    member = MemberFactory(brand=brand)
    services.earn_points(member=member, points=5000)
    assert partner.get(f"/api/v1/members/{member.pk}/").json()["tier"] == "gold"


def test_an_operator_defines_a_tier_in_the_admin_through_the_service(
    client, brand, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from retail.models import AuditEvent
    from retail.tests.factories import UserFactory

    # given a member with 600 lifetime points and an operator in the admin
    member = MemberFactory(brand=brand)
    services.earn_points(member=member, points=600)
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))
    # when they add a 500-point tier
    body = {"brand": brand.pk, "code": "silver", "name": "银卡", "threshold_points": 500, "rank": 1}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:members_tier_add"), body)
    # then the tier exists, its creation is audited, and the member was re-tiered
    assert response.status_code == 302
    tier = Tier.objects.get(brand=brand, code="silver")
    assert AuditEvent.objects.filter(
        object_type="members.tier", object_id=str(tier.pk), action="create"
    ).exists()
    member.refresh_from_db()
    assert member.tier == tier
    # and a tier out of order is a form error, not a server error
    bad = {"brand": brand.pk, "code": "gold", "name": "金卡", "threshold_points": 100, "rank": 2}
    refused = client.post(reverse("admin:members_tier_add"), bad)
    assert refused.status_code == 200 and not Tier.objects.filter(code="gold").exists()


def test_partners_read_the_brands_tiers_lowest_first(partner, brand, other_brand):
    services.define_tier(brand_id=brand.pk, code="gold", name="金卡", threshold_points=5000, rank=2)
    services.define_tier(brand_id=brand.pk, code="silver", name="银卡", threshold_points=1000, rank=1)
    services.define_tier(brand_id=other_brand.pk, code="theirs", name="X", threshold_points=1, rank=1)
    body = partner.get("/api/v1/tiers/").json()
    assert [t["code"] for t in body] == ["silver", "gold"]
    assert body[0] == {"code": "silver", "name": "银卡", "rank": 1, "threshold_points": 1000}
