"""Finding a member by full name through the name blind index (never a decrypt)."""

import pytest
from django.db import connection
from django.urls import reverse

from members import pii
from members.models import Member
from members.services import update_member
from members.tests.factories import MemberFactory
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def found(client, q: str) -> list[Member]:
    response = client.get(reverse("members:member_list"), {"q": q})
    assert response.status_code == 200
    return response.context["members"]


def test_finds_a_member_by_full_name_in_any_case_width_or_spacing(client, brand, store, hq_user):
    # given Han Meimei and John Smith, members of the brand
    han = MemberFactory(brand=brand, store=store, name="韩梅梅")
    john = MemberFactory(brand=brand, store=store, name="John  Smith")
    client.force_login(hq_user)
    # when HQ searches their full names, written differently
    # then each is found, and only them
    assert found(client, "韩梅梅") == [han]
    assert found(client, " john smith ") == [john]
    assert found(client, "ＪＯＨＮ ＳＭＩＴＨ") == [john]  # full-width, as a Chinese IME types it


def test_a_name_search_is_exact_never_a_part_of_a_name(client, brand, store, hq_user):
    MemberFactory(brand=brand, store=store, name="韩梅梅")
    client.force_login(hq_user)
    for partial in ("韩", "梅梅", "韩梅"):
        assert found(client, partial) == [], partial


def test_name_search_keeps_to_the_users_brand_and_stores(client, brand, other_brand, store, manager_user):
    # given two members named 张伟 in brand A (the manager's store and another), one in brand B
    ours = MemberFactory(brand=brand, store=store, name="张伟")
    MemberFactory(brand=brand, store=StoreFactory(brand=brand), name="张伟")
    MemberFactory(brand=other_brand, name="张伟")
    client.force_login(manager_user)
    # then the store manager finds only the one recruited by their store
    assert found(client, "张伟") == [ours]


def test_a_renamed_member_is_found_by_the_new_name_only(client, brand, store, hq_user):
    member = MemberFactory(brand=brand, store=store, name="王芳")
    update_member(member=member, name="王芳芳")
    client.force_login(hq_user)
    assert found(client, "王芳芳") == [member]
    assert found(client, "王芳") == []


def test_the_name_index_is_keyed_and_separate_from_the_phone_index():
    # a digest of the bare name (unkeyed) or of the phone index's input must not match it
    import hashlib

    assert pii.name_index("李雷") != hashlib.sha256("李雷".encode()).hexdigest()
    assert pii.name_index("13812345678") != pii.phone_index("13812345678")
    assert pii.name_index("") == pii.name_index("   ") == ""


def test_no_name_in_clear_in_the_member_table(brand):
    MemberFactory(brand=brand, name="欧阳娜娜")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Member._meta.db_table}")
        dump = repr(cursor.fetchall())
    assert "欧阳娜娜" not in dump


def test_partners_look_a_member_up_by_name(partner, brand):
    member = MemberFactory(brand=brand, name="李雷")
    MemberFactory(brand=brand, name="韩梅梅")
    body = partner.get("/api/v1/members/", {"name": "李雷"}).json()
    assert [row["id"] for row in body["results"]] == [member.pk]
    assert partner.get("/api/v1/members/", {"name": "李"}).json()["results"] == []
