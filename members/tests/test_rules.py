"""The rule language of segments and rule tags: every field compiles to the right members,
bad input is a clear RuleError (a 400), never a 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from members import rules
from members.models import Member, MemberProfile, MemberTag, Tag, Tier
from members.tests.factories import MemberFactory
from retail.choices import Role
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def profile(member, **fields):
    defaults = {
        "brand_id": member.brand_id,
        "computed_at": timezone.now(),
        "r_score": 3,
        "f_score": 3,
        "m_score": 3,
    }
    return MemberProfile.objects.create(member=member, **{**defaults, **fields})


def matching(brand, rule_set) -> set[int]:
    valid = rules.validate_rules(rule_set, brand_id=brand.pk)
    return set(
        Member.objects.filter(brand=brand).filter(rules.compile_rules(valid)).values_list("pk", flat=True)
    )


def one(field, op, value, match="all"):
    return {"match": match, "conditions": [{"field": field, "op": op, "value": value}]}


def test_no_conditions_match_every_member_of_the_brand(brand, other_brand):
    a, b = MemberFactory(brand=brand), MemberFactory(brand=brand)
    MemberFactory(brand=other_brand)
    assert matching(brand, {}) == {a.pk, b.pk}
    assert matching(brand, {"match": "all", "conditions": []}) == {a.pk, b.pk}


def test_tier_matches_members_in_the_listed_tiers(brand):
    gold = Tier.objects.create(brand=brand, code="gold", name="金卡", threshold_points=1000, rank=2)
    silver = Tier.objects.create(brand=brand, code="silver", name="银卡", threshold_points=100, rank=1)
    in_gold = MemberFactory(brand=brand)
    Member.objects.filter(pk=in_gold.pk).update(tier=gold)
    in_silver = MemberFactory(brand=brand)
    Member.objects.filter(pk=in_silver.pk).update(tier=silver)
    MemberFactory(brand=brand)  # no tier
    assert matching(brand, one("tier", "in", [gold.pk])) == {in_gold.pk}
    assert matching(brand, one("tier", "in", [gold.pk, silver.pk])) == {in_gold.pk, in_silver.pk}


def test_tags_any_all_and_none_of(brand):
    vip, new = Tag.objects.create(brand=brand, name="VIP"), Tag.objects.create(brand=brand, name="new")
    both, only_vip, untagged = (MemberFactory(brand=brand) for _ in range(3))
    for member, tags in ((both, [vip, new]), (only_vip, [vip])):
        for tag in tags:
            MemberTag.objects.create(brand=brand, member=member, tag=tag)
    assert matching(brand, one("tags", "any_of", [vip.pk, new.pk])) == {both.pk, only_vip.pk}
    assert matching(brand, one("tags", "all_of", [vip.pk, new.pk])) == {both.pk}
    assert matching(brand, one("tags", "none_of", [new.pk])) == {only_vip.pk, untagged.pk}


@pytest.mark.parametrize("field", ["r_score", "f_score", "m_score"])
def test_scores_match_between_min_and_max_inclusive(brand, field):
    members = {score: MemberFactory(brand=brand) for score in range(1, 6)}
    for score, member in members.items():
        profile(member, **{field: score})
    MemberFactory(brand=brand)  # never bought: no profile
    assert matching(brand, one(field, "between", [4, 5])) == {members[4].pk, members[5].pk}
    assert matching(brand, one(field, "between", [2, 2])) == {members[2].pk}


def test_days_since_last_purchase_at_most_and_at_least(brand):
    now = timezone.now()
    recent, lapsed = MemberFactory(brand=brand), MemberFactory(brand=brand)
    profile(recent, last_order_at=now - timedelta(days=3))
    profile(lapsed, last_order_at=now - timedelta(days=200))
    MemberFactory(brand=brand)  # never bought
    assert matching(brand, one("days_since_last_purchase", "lte", 30)) == {recent.pk}
    assert matching(brand, one("days_since_last_purchase", ">=", 180)) == {lapsed.pk}


@pytest.mark.parametrize("field,column", [("total_spend", "monetary"), ("lifetime_value", "lifetime_value")])
def test_money_fields_compare_in_cny(brand, field, column):
    small, big = MemberFactory(brand=brand), MemberFactory(brand=brand)
    profile(small, **{column: Decimal("99.99")})
    profile(big, **{column: Decimal("5000.00")})
    assert matching(brand, one(field, "gte", "100")) == {big.pk}
    assert matching(brand, one(field, "lte", 99.99)) == {small.pk}


def test_store_and_guide_match_the_recruiting_store_and_guide(brand):
    store, other_store = StoreFactory(brand=brand), StoreFactory(brand=brand)
    guide = StaffRoleFactory(user=UserFactory(), brand=brand, store=store, role=Role.GUIDE).user
    by_guide = MemberFactory(brand=brand, store=store, guide=guide)
    in_store = MemberFactory(brand=brand, store=store)
    MemberFactory(brand=brand, store=other_store)
    assert matching(brand, one("store", "in", [store.pk])) == {by_guide.pk, in_store.pk}
    assert matching(brand, one("guide", "in", [guide.pk])) == {by_guide.pk}


@pytest.mark.parametrize("channel", ["call", "sms", "chat"])
def test_consent_fields_match_true_and_false(brand, channel):
    yes = MemberFactory(brand=brand, **{f"consent_{channel}": True})
    no = MemberFactory(brand=brand, **{f"consent_{channel}": False})
    assert matching(brand, one(f"consent_{channel}", "is", True)) == {yes.pk}
    assert matching(brand, one(f"consent_{channel}", "is", False)) == {no.pk}


def test_points_balance_at_least_and_at_most(brand):
    rich, poor = MemberFactory(brand=brand), MemberFactory(brand=brand)
    Member.objects.filter(pk=rich.pk).update(points_balance=500)
    assert matching(brand, one("points_balance", "gte", 100)) == {rich.pk}
    assert matching(brand, one("points_balance", "<=", 0)) == {poor.pk}


def test_match_any_is_an_or_and_match_all_an_and(brand):
    sms_only = MemberFactory(brand=brand, consent_sms=True, consent_call=False)
    both = MemberFactory(brand=brand, consent_sms=True, consent_call=True)
    neither = MemberFactory(brand=brand, consent_sms=False, consent_call=False)
    conditions = [
        {"field": "consent_sms", "op": "is", "value": True},
        {"field": "consent_call", "op": "is", "value": True},
    ]
    assert matching(brand, {"match": "all", "conditions": conditions}) == {both.pk}
    assert matching(brand, {"match": "any", "conditions": conditions}) == {sms_only.pk, both.pk}
    assert neither.pk not in matching(brand, {"match": "any", "conditions": conditions})


def test_any_with_a_profile_condition_keeps_members_without_a_profile(brand):
    tagged = MemberFactory(brand=brand)
    vip = Tag.objects.create(brand=brand, name="VIP")
    MemberTag.objects.create(brand=brand, member=tagged, tag=vip)
    scored = MemberFactory(brand=brand)
    profile(scored, r_score=5)
    rule_set = {
        "match": "any",
        "conditions": [
            {"field": "tags", "op": "any_of", "value": [vip.pk]},
            {"field": "r_score", "op": "between", "value": [5, 5]},
        ],
    }
    assert matching(brand, rule_set) == {tagged.pk, scored.pk}


@pytest.mark.parametrize(
    "rule_set,expected",
    [
        ([], "Rules must be an object"),
        ({"match": "some", "conditions": []}, "`match`"),
        ({"match": "all", "conditions": {}}, "`conditions` must be a list"),
        ({"match": "all", "conditions": [], "extra": 1}, "Unknown key"),
        (one("colour", "in", [1]), "unknown field"),
        (one("tier", "between", [1, 2]), "does not apply"),
        (one("r_score", "between", [0, 5]), "whole number from 1 to 5"),
        (one("r_score", "between", [5, 1]), "minimum is above"),
        (one("r_score", "between", "4-5"), "[min, max]"),
        (one("points_balance", "gte", "100"), "whole number"),
        (one("points_balance", "gte", True), "whole number"),
        (one("total_spend", "gte", "lots"), "amount in CNY"),
        (one("total_spend", "gte", "NaN"), "amount in CNY"),
        (one("consent_sms", "is", "yes"), "true or false"),
        (one("tier", "in", []), "at least one"),
        (one("tier", "in", ["1"]), "list of ids"),
        (one("store", "in", [True]), "list of ids"),
        ({"match": "all", "conditions": [{"field": "tier", "op": "in"}]}, "exactly"),
        ({"match": "all", "conditions": ["tier"]}, "exactly"),
        ({"match": "all", "conditions": [{"field": ["x"], "op": "in", "value": 1}]}, "unknown field"),
        ({"match": "all", "conditions": [one("consent_sms", "is", True)["conditions"][0]] * 21}, "At most"),
    ],
)
def test_bad_rules_are_a_clear_validation_error(brand, rule_set, expected):
    with pytest.raises(rules.RuleError) as caught:
        rules.validate_rules(rule_set, brand_id=brand.pk)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_rules"
    assert any(expected in m for m in caught.value.fields["rules"]), caught.value.fields


@pytest.mark.parametrize("field", ["tier", "tags", "store", "guide"])
def test_ids_of_another_brand_are_refused(brand, other_brand, field):
    # given an object of brand B of the kind the field names
    theirs = {
        "tier": lambda: Tier.objects.create(
            brand=other_brand, code="g", name="g", threshold_points=1, rank=1
        ),
        "tags": lambda: Tag.objects.create(brand=other_brand, name="theirs"),
        "store": lambda: StoreFactory(brand=other_brand),
        "guide": lambda: (
            StaffRoleFactory(
                user=UserFactory(), brand=other_brand, store=StoreFactory(brand=other_brand), role=Role.GUIDE
            ).user
        ),
    }[field]()
    op = "any_of" if field == "tags" else "in"
    # when brand A's rules name it, then the rules do not validate
    with pytest.raises(rules.RuleError) as caught:
        rules.validate_rules(one(field, op, [theirs.pk]), brand_id=brand.pk)
    assert "unknown id" in caught.value.fields["rules"][0]
    assert caught.value.for_condition(0)


def test_every_problem_is_reported_with_its_condition_number(brand):
    with pytest.raises(rules.RuleError) as caught:
        rules.validate_rules(
            {
                "match": "all",
                "conditions": [
                    {"field": "consent_sms", "op": "is", "value": True},
                    {"field": "nope", "op": "is", "value": True},
                    {"field": "r_score", "op": "between", "value": [9, 9]},
                ],
            },
            brand_id=brand.pk,
        )
    assert [i for i, _m in caught.value.problems] == [1, 2]
    assert caught.value.fields["rules"][0].startswith("Condition 2:")


def test_validation_normalises_aliases_money_and_id_order(brand):
    store_b, store_a = StoreFactory(brand=brand), StoreFactory(brand=brand)
    valid = rules.validate_rules(
        {
            "match": "any",
            "conditions": [
                {"field": "total_spend", "op": ">=", "value": 100},
                {"field": "store", "op": "in", "value": [store_b.pk, store_a.pk, store_b.pk]},
            ],
        },
        brand_id=brand.pk,
    )
    assert valid["conditions"][0] == {"field": "total_spend", "op": "gte", "value": "100.00"}
    assert valid["conditions"][1]["value"] == sorted({store_a.pk, store_b.pk})
