"""Staff actions on the member pages: consent taken in store, HQ's points correction, tiers."""

import pytest
from django.urls import reverse

from members.choices import ConsentSource, PointsKind
from members.models import ConsentRecord, Member, PointsEntry, Tier
from members.tests.factories import MemberFactory
from retail.choices import AuditAction
from retail.models import AuditEvent

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def member(brand, store):
    return MemberFactory(brand=brand, store=store, consent_sms=True)


def url(name, member):
    return reverse(f"members:{name}", kwargs={"member_id": member.pk})


def test_a_store_manager_records_an_sms_opt_out_taken_in_store(client, manager_user, member):
    # given a member who consents to SMS, and their store's manager
    client.force_login(manager_user)
    # when the manager records the withdrawal from the member page (htmx)
    response = client.post(url("member_consent", member), {"channel": "sms", "granted": "0"}, **HTMX)
    # then the card comes back with the new state, the flag is off and the history has it
    assert response.status_code == 200
    assert 'id="member-consent"' in response.content.decode()
    member.refresh_from_db()
    assert member.consent_sms is False
    record = ConsentRecord.objects.get(member=member)
    assert (record.channel, record.granted, record.source) == ("sms", False, ConsentSource.STORE)
    assert record.actor_label == manager_user.get_username()


def test_a_bad_consent_statement_is_a_form_error_and_writes_nothing(client, manager_user, member):
    client.force_login(manager_user)
    response = client.post(url("member_consent", member), {"channel": "fax", "granted": "1"}, **HTMX)
    assert response.status_code == 422
    assert not ConsentRecord.objects.filter(member=member).exists()


def test_hq_adjusts_points_with_a_reason(client, hq_user, member):
    client.force_login(hq_user)
    response = client.post(url("member_points_adjust", member), {"points": "150", "reason": "补偿"}, **HTMX)
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.points_balance == 150
    entry = PointsEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.reason) == (PointsKind.ADJUST, 150, "补偿")
    assert AuditEvent.objects.filter(object_id=str(member.pk), message__contains="points adjusted").exists()


def test_a_correction_below_zero_is_refused_on_the_form(client, hq_user, member):
    client.force_login(hq_user)
    response = client.post(url("member_points_adjust", member), {"points": "-5", "reason": "oops"}, **HTMX)
    assert response.status_code == 422
    assert "Not enough points" in response.content.decode()
    assert not PointsEntry.objects.filter(member=member).exists()


def test_only_hq_adjusts_points(client, manager_user, member):
    client.force_login(manager_user)
    response = client.post(url("member_points_adjust", member), {"points": "10", "reason": "x"})
    assert response.status_code == 403
    assert not PointsEntry.objects.exists()
    # and the manager's member page offers no such form
    assert "Adjust points" not in client.get(url("member_detail", member)).content.decode()


def test_hq_defines_tiers_and_sees_members_per_tier(
    client, hq_user, brand, member, django_capture_on_commit_callbacks
):
    client.force_login(hq_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("members:tier_list"),
            {"code": "silver", "name": "银卡", "threshold_points": "0", "rank": "1"},
        )
    assert response.status_code == 302
    assert Tier.objects.get(brand=brand, code="silver").name == "银卡"
    member.refresh_from_db()
    assert member.tier.code == "silver"  # re-tiered after commit
    page = client.get(reverse("members:tier_list"))
    rows = {row["tier"].code if row["tier"] else None: row["members"] for row in page.context["rows"]}
    assert rows == {None: 0, "silver": 1}


def test_a_tier_out_of_order_is_a_form_error(client, hq_user, brand):
    client.force_login(hq_user)
    client.post(
        reverse("members:tier_list"),
        {"code": "gold", "name": "金卡", "threshold_points": "1000", "rank": "2"},
    )
    response = client.post(
        reverse("members:tier_list"),
        {"code": "black", "name": "黑金", "threshold_points": "500", "rank": "3"},
    )
    assert response.status_code == 422
    assert "must need more points" in response.content.decode()
    assert not Tier.objects.filter(code="black").exists()


def test_a_store_manager_sees_tiers_but_cannot_define_one(client, manager_user, brand):
    client.force_login(manager_user)
    assert client.get(reverse("members:tier_list")).status_code == 200
    response = client.post(
        reverse("members:tier_list"), {"code": "x", "name": "X", "threshold_points": "1", "rank": "1"}
    )
    assert response.status_code == 403
    assert not Tier.objects.exists()


def test_tier_counts_keep_to_the_managers_stores(client, manager_user, brand, store, other_brand):
    from retail.tests.factories import StoreFactory

    MemberFactory(brand=brand, store=store)
    MemberFactory(brand=brand, store=StoreFactory(brand=brand))
    MemberFactory(brand=other_brand)
    client.force_login(manager_user)
    rows = client.get(reverse("members:tier_list")).context["rows"]
    assert sum(row["members"] for row in rows) == Member.objects.filter(store=store).count() == 1


def test_the_tier_audit_is_written(client, hq_user, brand):
    client.force_login(hq_user)
    client.post(
        reverse("members:tier_list"), {"code": "vip", "name": "VIP", "threshold_points": "10", "rank": "1"}
    )
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="members.tier").exists()
