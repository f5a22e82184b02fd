"""Consent per channel: every statement kept as history; an opt-out is honoured."""

from __future__ import annotations

import pytest

from members import selectors, services
from members.models import ConsentRecord
from members.tests.factories import MemberFactory
from retail.models import AuditEvent, DomainEvent
from retail.tenancy import principal_for_api_client

pytestmark = pytest.mark.django_db


def brand_principal(brand):
    from retail import services as retail_services

    return principal_for_api_client(retail_services.create_api_client(brand=brand, name="p", scopes=[]))


def test_an_opt_out_is_recorded_with_history_and_honoured_by_members_contactable(brand):
    # given two members who accept SMS
    leaving = MemberFactory(brand=brand, consent_sms=True)
    staying = MemberFactory(brand=brand, consent_sms=True)
    # when one withdraws SMS consent in store
    services.record_consent(member=leaving, channel="sms", granted=False, source="store")
    # then the flag follows, the history holds the statement, it is audited and announced
    leaving.refresh_from_db()
    assert leaving.consent_sms is False
    history = list(selectors.consent_history(member=leaving))
    assert [(r.channel, r.granted, r.source) for r in history] == [("sms", False, "store")]
    assert AuditEvent.objects.filter(
        object_id=str(leaving.pk), message__startswith="consent sms withdrawn"
    ).exists()
    event = DomainEvent.objects.get(name="member.consent_changed")
    assert event.payload == {"member": leaving.pk, "channel": "sms", "granted": False, "source": "store"}
    # and only the member who still consents can be texted
    contactable = selectors.members_contactable(principal=brand_principal(brand), channel="sms")
    assert list(contactable) == [staying]


def test_repeating_the_current_choice_is_kept_as_evidence_but_changes_nothing(brand):
    member = MemberFactory(brand=brand, consent_call=False)
    services.record_consent(member=member, channel="call", granted=False, source="import")
    assert ConsentRecord.objects.filter(member=member).count() == 1
    assert not DomainEvent.objects.filter(name="member.consent_changed").exists()
    assert not AuditEvent.objects.filter(object_id=str(member.pk)).exists()


def test_history_is_newest_first_across_channels(brand):
    member = MemberFactory(brand=brand, consent_sms=False)
    services.record_consent(member=member, channel="sms", granted=True, source="api")
    services.record_consent(member=member, channel="chat", granted=True, source="store")
    services.record_consent(member=member, channel="sms", granted=False, source="admin")
    history = [(r.channel, r.granted) for r in selectors.consent_history(member=member)]
    assert history == [("sms", False), ("chat", True), ("sms", True)]


def test_joining_with_consent_starts_the_history(brand):
    member = services.join_member(brand_id=brand.pk, phone="13911112222", consent_sms=True, consent_chat=True)
    records = ConsentRecord.objects.filter(member=member).order_by("channel")
    assert [(r.channel, r.granted, r.source) for r in records] == [
        ("chat", True, "store"),
        ("sms", True, "store"),
    ]


def test_update_member_records_consent_changes_in_the_history(brand):
    member = MemberFactory(brand=brand, consent_call=False, consent_sms=True)
    services.update_member(member=member, consent_call=True, consent_sms=True, consent_source="admin")
    records = list(ConsentRecord.objects.filter(member=member))
    assert [(r.channel, r.granted, r.source) for r in records] == [("call", True, "admin")]
    member.refresh_from_db()
    assert member.consent_call is True
    assert DomainEvent.objects.filter(name="member.consent_changed").count() == 1


def test_members_contactable_keeps_the_principals_scope(brand, other_brand):
    MemberFactory(brand=other_brand, consent_chat=True)
    ours = MemberFactory(brand=brand, consent_chat=True)
    assert list(selectors.members_contactable(principal=brand_principal(brand), channel="chat")) == [ours]
    with pytest.raises(ValueError):
        selectors.members_contactable(principal=brand_principal(brand), channel="fax")


# --- the API --------------------------------------------------------------------------------


def test_partner_withdraws_consent_and_reads_the_history(partner, brand):
    member = MemberFactory(brand=brand, consent_sms=True)
    response = partner.post(
        f"/api/v1/members/{member.pk}/consent/", {"channel": "sms", "granted": False}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "api" and response.json()["granted"] is False
    member.refresh_from_db()
    assert member.consent_sms is False
    listed = partner.get(f"/api/v1/members/{member.pk}/consent/")
    assert [(r["channel"], r["granted"]) for r in listed.json()["results"]] == [("sms", False)]


def test_partner_consent_change_through_member_update_is_recorded_as_api(partner, brand):
    member = MemberFactory(brand=brand, consent_chat=False)
    response = partner.patch(f"/api/v1/members/{member.pk}/", {"consent_chat": True}, format="json")
    assert response.status_code == 200, response.json()
    assert ConsentRecord.objects.get(member=member).source == "api"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"channel": "fax", "granted": True}, "channel"),
        ({"channel": "sms"}, "granted"),
        ({"channel": "sms", "granted": "maybe"}, "granted"),
        ({"channel": "sms", "granted": True, "source": "admin"}, "source"),
    ],
)
def test_bad_consent_input_is_400_and_records_nothing(partner, brand, body, field):
    member = MemberFactory(brand=brand)
    response = partner.post(f"/api/v1/members/{member.pk}/consent/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ConsentRecord.objects.exists()


def test_another_brands_member_consent_is_404(partner, other_brand):
    theirs = MemberFactory(brand=other_brand, consent_sms=True)
    assert partner.get(f"/api/v1/members/{theirs.pk}/consent/").status_code == 404
    posted = partner.post(
        f"/api/v1/members/{theirs.pk}/consent/", {"channel": "sms", "granted": False}, format="json"
    )
    assert posted.status_code == 404
    theirs.refresh_from_db()
    assert theirs.consent_sms is True and not ConsentRecord.objects.exists()
