"""Tags by hand on the member page: add by name (created in the brand if new), remove; htmx
re-renders the card; every change is audited; scoped like the member."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.choices import TagSource
from members.models import MemberTag, Tag
from members.services import segments as services
from members.tests.factories import MemberFactory
from retail.models import AuditEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_adding_a_new_tag_by_name_creates_it_in_the_brand_and_audits(client, brand, other_brand, hq_user):
    # given a member, and a tag of the same name in another brand
    member = MemberFactory(brand=brand)
    Tag.objects.create(brand=other_brand, name="VIP")
    client.force_login(hq_user)
    # when HQ adds "VIP" on the member page (htmx)
    response = client.post(
        reverse("members:member_tags", kwargs={"member_id": member.pk}),
        {"name": "  VIP "},
        HTTP_HX_REQUEST="true",
    )
    # then the card comes back with the tag, a new tag of brand A carries it, and it is audited
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="member-tags"' in body and "VIP" in body
    tag = Tag.objects.get(brand=brand, name="VIP")
    assert MemberTag.objects.get(member=member).tag == tag
    assert MemberTag.objects.get(member=member).source == TagSource.MANUAL
    assert AuditEvent.objects.filter(
        object_id=str(member.pk), message="tag added: VIP", actor=hq_user
    ).exists()


def test_adding_a_tag_twice_changes_nothing(brand):
    member = MemberFactory(brand=brand)
    services.tag_member(member=member, name="VIP")
    services.tag_member(member=member, name="VIP")
    assert MemberTag.objects.filter(member=member).count() == 1
    assert Tag.objects.filter(brand=brand).count() == 1
    assert AuditEvent.objects.filter(object_id=str(member.pk), message__startswith="tag added").count() == 1


def test_removing_a_tag_takes_it_off_and_audits(client, brand, hq_user):
    member = MemberFactory(brand=brand)
    tag = services.tag_member(member=member, name="VIP")
    client.force_login(hq_user)
    response = client.post(
        reverse("members:member_tag_remove", kwargs={"member_id": member.pk, "tag_id": tag.pk}),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "No tags yet." in response.content.decode()
    assert not MemberTag.objects.filter(member=member).exists()
    assert Tag.objects.filter(pk=tag.pk).exists()  # the tag stays in the brand
    assert AuditEvent.objects.filter(object_id=str(member.pk), message="tag removed: VIP").exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 41])
def test_a_bad_tag_name_is_refused_with_a_message(client, brand, hq_user, name):
    member = MemberFactory(brand=brand)
    client.force_login(hq_user)
    response = client.post(
        reverse("members:member_tags", kwargs={"member_id": member.pk}),
        {"name": name},
        HTTP_HX_REQUEST="true",
    )
    assert "1 to 40 characters" in response.content.decode()
    assert not Tag.objects.exists()


def test_the_member_page_shows_the_tags_card(client, brand, hq_user):
    member = MemberFactory(brand=brand)
    services.tag_member(member=member, name="Loves silk")
    client.force_login(hq_user)
    body = client.get(reverse("members:member_detail", kwargs={"member_id": member.pk})).content.decode()
    assert 'id="member-tags"' in body
    assert "Loves silk" in body
    assert reverse("members:member_tags", kwargs={"member_id": member.pk}) in body


def test_a_store_manager_cannot_tag_another_stores_member(client, brand, manager_user):
    theirs = MemberFactory(brand=brand, store=StoreFactory(brand=brand))
    client.force_login(manager_user)
    response = client.post(reverse("members:member_tags", kwargs={"member_id": theirs.pk}), {"name": "VIP"})
    assert response.status_code == 404
    assert not Tag.objects.exists()


def test_a_rule_tag_name_already_used_is_a_conflict(brand):
    from retail.errors import Conflict

    Tag.objects.create(brand=brand, name="VIP")
    with pytest.raises(Conflict):
        services.create_tag(brand_id=brand.pk, name="VIP", rule={"match": "all", "conditions": []})
