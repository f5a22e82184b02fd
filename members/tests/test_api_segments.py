"""The tags and segments API: strict input in the one error shape, idempotent POSTs, another
brand's objects invisible, consent re-checked when a segment's members are read."""

from __future__ import annotations

import pytest

from conftest import make_partner
from members import services as member_services
from members.choices import TagSource
from members.models import MemberTag, Tag
from members.services import segments as services
from members.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

EVERYONE = {"match": "all", "conditions": []}


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def test_partner_lists_and_creates_tags_of_its_brand_only(partner, brand, other_brand):
    Tag.objects.create(brand=brand, name="VIP")
    Tag.objects.create(brand=other_brand, name="theirs")
    assert [t["name"] for t in results(partner.get("/api/v1/tags/"))] == ["VIP"]
    created = partner.post("/api/v1/tags/", {"name": "Loves silk"}, format="json")
    assert created.status_code == 201
    assert created.json()["name"] == "Loves silk" and created.json()["rule"] is None
    assert Tag.objects.filter(brand=brand, name="Loves silk").exists()


def test_creating_a_rule_tag_applies_it(partner, brand, run_jobs):
    sms = MemberFactory(brand=brand, consent_sms=True)
    MemberFactory(brand=brand, consent_sms=False)
    rule = {"match": "all", "conditions": [{"field": "consent_sms", "op": "is", "value": True}]}
    with run_jobs():
        created = partner.post("/api/v1/tags/", {"name": "Texts ok", "rule": rule}, format="json")
    assert created.status_code == 201
    tag = Tag.objects.get(pk=created.json()["id"])
    assert list(MemberTag.objects.filter(tag=tag).values_list("member_id", "source")) == [
        (sms.pk, TagSource.RULE)
    ]


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "name"),
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x" * 41}, "name"),
        (
            {
                "name": "x",
                "rule": {"match": "all", "conditions": [{"field": "nope", "op": "in", "value": 1}]},
            },
            "rules",
        ),
        ({"name": "x", "rule": [1]}, "rules"),
    ],
)
def test_bad_tag_input_is_a_400_in_the_error_shape(partner, body, field):
    response = partner.post("/api/v1/tags/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert field in error["fields"]
    assert not Tag.objects.exists()


def test_a_repeated_tag_post_with_the_same_key_creates_one_tag(partner):
    first = partner.post("/api/v1/tags/", {"name": "VIP"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = partner.post("/api/v1/tags/", {"name": "VIP"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Tag.objects.count() == 1
    clash = partner.post("/api/v1/tags/", {"name": "VIP"}, format="json")
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "duplicate_tag"


def test_partner_adds_and_removes_a_members_tags_by_name(partner, brand):
    member = MemberFactory(brand=brand)
    url = f"/api/v1/members/{member.pk}/tags/"
    added = partner.post(url, {"add": ["VIP", "Loves silk"]}, format="json")
    assert added.status_code == 200
    assert [t["name"] for t in added.json()["results"]] == ["Loves silk", "VIP"]
    assert MemberTag.objects.get(member=member, tag__name="VIP").source == TagSource.API
    again = partner.post(url, {"add": ["VIP"], "remove": ["Loves silk", "never had it"]}, format="json")
    assert [t["name"] for t in again.json()["results"]] == ["VIP"]
    assert [t["name"] for t in results(partner.get(url))] == ["VIP"]


@pytest.mark.parametrize("body", [{}, {"add": "VIP"}, {"add": [1]}, {"add": ["x" * 41]}, {"drop": ["VIP"]}])
def test_bad_member_tag_input_is_a_400(partner, brand, body):
    member = MemberFactory(brand=brand)
    response = partner.post(f"/api/v1/members/{member.pk}/tags/", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not MemberTag.objects.exists()


def test_another_brands_member_tags_are_a_404(partner, other_brand):
    theirs = MemberFactory(brand=other_brand)
    response = partner.post(f"/api/v1/members/{theirs.pk}/tags/", {"add": ["VIP"]}, format="json")
    assert response.status_code == 404
    assert not Tag.objects.exists()


def test_segments_list_detail_and_members_with_consent_rechecked(partner, brand, other_brand, run_jobs):
    # given an SMS segment of two members, and a segment of another brand
    members = [MemberFactory(brand=brand, consent_sms=True) for _ in range(2)]
    MemberFactory(brand=brand, consent_sms=False)
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="Texts", rules=EVERYONE, channel="sms")
        services.save_segment(brand_id=other_brand.pk, name="Theirs", rules=EVERYONE)
    # then the partner sees its own segment, its size and members
    assert [s["name"] for s in results(partner.get("/api/v1/segments/"))] == ["Texts"]
    detail = partner.get(f"/api/v1/segments/{segment.pk}/").json()
    assert (detail["size"], detail["status"], detail["channel"]) == (2, "done", "sms")
    listed = results(partner.get(f"/api/v1/segments/{segment.pk}/members/"))
    assert {m["id"] for m in listed} == {m.pk for m in members}
    assert all("*" in m["phone"] for m in listed)
    # when one member withdraws SMS consent, they leave the segment's members and their segments
    member_services.record_consent(member=members[0], channel="sms", granted=False, source="api")
    listed = results(partner.get(f"/api/v1/segments/{segment.pk}/members/"))
    assert [m["id"] for m in listed] == [members[1].pk]
    assert results(partner.get(f"/api/v1/members/{members[0].pk}/segments/")) == []
    assert [s["id"] for s in results(partner.get(f"/api/v1/members/{members[1].pk}/segments/"))] == [
        segment.pk
    ]


def test_segment_members_are_cursor_paginated(partner, brand, run_jobs):
    for _ in range(5):
        MemberFactory(brand=brand)
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="All", rules=EVERYONE)
    first = partner.get(f"/api/v1/segments/{segment.pk}/members/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = partner.get(first["next"]).json()
    assert not {m["id"] for m in first["results"]} & {m["id"] for m in second["results"]}


def test_reading_tags_and_segments_needs_the_members_read_scope(brand):
    orders_only = make_partner(brand, ["orders:read"])
    assert orders_only.get("/api/v1/tags/").status_code == 403
    assert orders_only.get("/api/v1/segments/").status_code == 403
    reader = make_partner(brand, ["members:read"])
    assert reader.get("/api/v1/segments/").status_code == 200
    assert reader.post("/api/v1/tags/", {"name": "VIP"}, format="json").status_code == 403
