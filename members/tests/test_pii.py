import pytest
from cryptography.fernet import Fernet
from django.db import connection

from members import pii
from members.models import Member
from members.selectors import member_by_phone
from members.services import join_member, reveal_member_phone, rotate_member_keys, update_member
from retail.models import AuditEvent


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13800001234", "13800001234"),
        ("+86 138-0000-1234", "13800001234"),
        ("0086 13800001234", "13800001234"),
    ],
)
def test_phone_numbers_normalise_before_indexing(raw, expected):
    assert pii.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "12", "1" * 20, None])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(pii.InvalidPhone):
        pii.normalize_phone(raw)


def test_masking_keeps_only_prefix_and_last_four():
    assert pii.mask_phone("13800001234") == "138****1234"
    assert pii.mask_name("王小明") == "王**"


@pytest.mark.django_db
def test_no_phone_number_is_stored_in_clear(brand):
    member = join_member(brand_id=brand.pk, phone="13912345678", name="李雷")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_member WHERE id = %s", [member.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert "13912345678" not in row and "李雷" not in row
    assert "139****5678" in row


@pytest.mark.django_db
def test_exact_lookup_goes_through_the_blind_index(brand, other_brand):
    member = join_member(brand_id=brand.pk, phone="13912345678")
    join_member(brand_id=other_brand.pk, phone="13912345678")
    assert member_by_phone(brand_id=brand.pk, phone="+86 139 1234 5678") == member
    assert member_by_phone(brand_id=brand.pk, phone="13900000000") is None
    assert member_by_phone(brand_id=brand.pk, phone="not a phone") is None


@pytest.mark.django_db
def test_every_reveal_is_audited(brand):
    member = join_member(brand_id=brand.pk, phone="13912345678")
    assert reveal_member_phone(member=member, reason="callback requested") == "13912345678"
    event = AuditEvent.objects.get(action="reveal")
    assert event.object_id == str(member.pk) and event.message == "callback requested"


@pytest.mark.django_db
def test_key_rotation_keeps_old_ciphertexts_readable_and_rewrites_them(brand, settings):
    member = join_member(brand_id=brand.pk, phone="13912345678", name="韩梅梅")
    old_token = member.phone_encrypted
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *settings.PII_ENCRYPTION_KEYS]
    # the old ciphertext still decrypts under the key ring
    assert pii.decrypt(old_token) == "13912345678"
    assert rotate_member_keys(brand_id=brand.pk) == 1
    member.refresh_from_db()
    assert member.phone_encrypted != old_token
    # only the newest key is needed now
    settings.PII_ENCRYPTION_KEYS = [new_key]
    assert pii.decrypt(member.phone_encrypted) == "13912345678"
    assert pii.decrypt(member.name_encrypted) == "韩梅梅"
    assert Member.objects.get(pk=member.pk).phone_hash == pii.phone_index("13912345678")


@pytest.mark.django_db
def test_changing_a_phone_reindexes_it_and_refuses_another_members_number(brand):
    from retail.errors import Conflict

    first = join_member(brand_id=brand.pk, phone="13911112222")
    second = join_member(brand_id=brand.pk, phone="13933334444")
    update_member(member=first, phone="13955556666", consent_sms=True)
    assert member_by_phone(brand_id=brand.pk, phone="13955556666") == first
    assert member_by_phone(brand_id=brand.pk, phone="13911112222") is None
    with pytest.raises(Conflict):
        update_member(member=second, phone="13955556666")
    second.refresh_from_db()
    assert second.phone_masked == "139****4444"
