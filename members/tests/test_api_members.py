"""The members API: join, list, look up by exact phone, update; a clear phone never leaves."""

from __future__ import annotations

import pytest

from members.models import Member
from members.tests.factories import MemberFactory
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

PHONE = "13800001234"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def assert_no_clear_pii(response, *values: str) -> None:
    body = response.content.decode()
    for value in values:
        assert value not in body, f"{value!r} leaked in {body[:300]}"


def test_partner_creates_a_member_and_never_sees_the_phone_again(partner, brand, store):
    body = {
        "phone": "+86 138 0000 1234",
        "name": "王小明",
        "external_id": "CRM-1",
        "store": store.pk,
        "consent_sms": True,
    }
    created = partner.post("/api/v1/members/", body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["phone"] == "138****1234" and data["name"] == "王**"
    assert data["source"] == "partner" and data["store"] == store.pk and data["consent_sms"] is True
    assert_no_clear_pii(created, PHONE, "王小明", "小明")
    member = Member.objects.get(pk=data["id"])
    assert member.brand == brand and PHONE not in member.phone_encrypted
    assert DomainEvent.objects.filter(name="member.joined", brand=brand).count() == 1
    audit = AuditEvent.objects.get(object_type="members.member", action="create")
    assert PHONE not in str(audit.after) and "王小明" not in str(audit.after)


def test_members_list_and_retrieve_are_masked_and_scoped(partner, brand, other_brand):
    ours = MemberFactory(brand=brand, phone=PHONE)
    MemberFactory(brand=other_brand, phone="13900001111")
    listed = partner.get("/api/v1/members/")
    assert [m["id"] for m in results(listed)] == [ours.pk]
    assert_no_clear_pii(listed, PHONE, "王小明")
    one = partner.get(f"/api/v1/members/{ours.pk}/")
    assert one.status_code == 200 and one.json()["phone"] == "138****1234"
    assert_no_clear_pii(one, PHONE, "王小明")
    assert set(one.json()) >= {"id", "member_no", "external_id", "phone", "name", "joined_at"}
    assert not {"phone_encrypted", "phone_hash", "name_encrypted"} & set(one.json())


@pytest.mark.parametrize(
    "query",
    [
        "13800001234",
        "138 0000 1234",
        "+86 138 0000 1234",
        "+8613800001234",
        "0086-138-0000-1234",
        "(138) 0000-1234",
    ],
)
def test_lookup_by_exact_phone_in_any_format(partner, brand, other_brand, query):
    ours = MemberFactory(brand=brand, phone=PHONE)
    MemberFactory(brand=brand, phone="13800001235")
    MemberFactory(brand=other_brand, phone=PHONE)  # the same person in another brand
    response = partner.get("/api/v1/members/", {"phone": query})
    assert [m["id"] for m in results(response)] == [ours.pk]
    assert_no_clear_pii(response, PHONE)


@pytest.mark.parametrize("query", ["1380000", "138000012345", "not-a-phone", "%"])
def test_lookup_is_exact_never_a_prefix_or_a_scan(partner, brand, query):
    MemberFactory(brand=brand, phone=PHONE)
    found = results(partner.get("/api/v1/members/", {"phone": query}))
    assert found == []


def test_an_empty_or_misspelt_lookup_is_refused_not_a_list_of_everyone(partner, brand):
    MemberFactory(brand=brand, phone=PHONE)
    for params in ({"phone": ""}, {"phnoe": PHONE}, {"phone": [PHONE, PHONE]}):
        response = partner.get("/api/v1/members/", params)
        assert response.status_code == 400, params
        assert response.json()["error"]["code"] == "invalid"


def test_partner_patches_name_and_consents_only(partner, brand):
    member = MemberFactory(brand=brand, phone=PHONE, consent_sms=True)
    response = partner.patch(
        f"/api/v1/members/{member.pk}/",
        {"name": "李雷", "consent_sms": False, "consent_call": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "李*" and response.json()["consent_sms"] is False
    assert_no_clear_pii(response, "李雷", PHONE)
    member.refresh_from_db()
    assert member.consent_call and not member.consent_sms
    assert DomainEvent.objects.filter(name="member.updated", brand=brand).count() == 1
    # the phone is not changed through a patch
    refused = partner.patch(f"/api/v1/members/{member.pk}/", {"phone": "13900000000"}, format="json")
    assert refused.status_code == 400 and "phone" in refused.json()["error"]["fields"]
    member.refresh_from_db()
    assert member.phone_masked == "138****1234"


def test_member_filters(partner, brand):
    north = StoreFactory(brand=brand)
    a = MemberFactory(brand=brand, store=north, external_id="CRM-A", source="store")
    b = MemberFactory(brand=brand, source="online")

    def ids(query):
        return [m["id"] for m in results(partner.get(f"/api/v1/members/{query}"))]

    assert ids(f"?store={north.pk}") == [a.pk]
    assert ids("?external_id=CRM-A") == [a.pk]
    assert ids(f"?member_no={b.member_no}") == [b.pk]
    assert ids("?source=online") == [b.pk]
    assert partner.get("/api/v1/members/?source=pigeon").status_code == 400


def test_member_numbers_are_given_per_brand(partner, brand):
    first = partner.post("/api/v1/members/", {"phone": "13800000001"}, format="json").json()
    second = partner.post("/api/v1/members/", {"phone": "13800000002"}, format="json").json()
    assert first["member_no"] != second["member_no"]
    assert first["member_no"].startswith("M") and second["member_no"].startswith("M")


def test_member_create_replays_with_the_same_idempotency_key(partner):
    body = {"phone": PHONE, "external_id": "CRM-9"}
    first = partner.post("/api/v1/members/", body, format="json", HTTP_IDEMPOTENCY_KEY="join-9")
    again = partner.post("/api/v1/members/", body, format="json", HTTP_IDEMPOTENCY_KEY="join-9")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Member.objects.count() == 1


def test_members_list_query_count_is_bounded(partner, brand, django_assert_max_num_queries):
    store = StoreFactory(brand=brand)
    for _ in range(30):
        MemberFactory(brand=brand, store=store)
    with django_assert_max_num_queries(6):
        assert len(results(partner.get("/api/v1/members/?page_size=100"))) == 30
