"""`manage.py rotate_member_keys`: re-encrypt in batches, report progress, repeat safely."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from members import pii
from members.models import Member
from members.selectors import member_by_phone
from members.tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_the_command_reencrypts_a_brand_in_batches_and_lookup_still_works(brand, other_brand, settings):
    # given five members of brand A and one of brand B, encrypted under the old key
    ours = [MemberFactory(brand=brand, phone=f"1380000000{i}") for i in range(5)]
    theirs = MemberFactory(brand=other_brand, phone="13900000000")
    old_tokens = {m.pk: m.phone_encrypted for m in [*ours, theirs]}
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, *settings.PII_ENCRYPTION_KEYS]
    # when brand A is rotated two members at a time
    out = StringIO()
    call_command("rotate_member_keys", "--brand", brand.slug, "--batch-size", "2", stdout=out)
    # then progress was printed per batch, and every member of A reads with the new key alone
    assert out.getvalue().splitlines() == [
        "re-encrypted 2 members",
        "re-encrypted 4 members",
        "re-encrypted 5 members",
        "Done: 5 members under the newest key.",
    ]
    settings.PII_ENCRYPTION_KEYS = [new_key]
    for m in Member.objects.filter(brand=brand):
        assert m.phone_encrypted != old_tokens[m.pk]
        assert pii.decrypt(m.phone_encrypted).startswith("1380000000")
    assert Member.objects.get(pk=theirs.pk).phone_encrypted == old_tokens[theirs.pk]
    assert member_by_phone(brand_id=brand.pk, phone="138 0000 0003") == ours[3]
    # and a repeat is harmless
    call_command("rotate_member_keys", "--brand", brand.slug, stdout=StringIO())
    assert pii.decrypt(Member.objects.get(pk=ours[0].pk).phone_encrypted) == "13800000000"


def test_the_command_refuses_an_unknown_brand():
    with pytest.raises(CommandError):
        call_command("rotate_member_keys", "--brand", "nope", stdout=StringIO())


def test_the_command_keeps_points_and_consent_untouched(brand, settings):
    from members import services

    member = MemberFactory(brand=brand, consent_sms=True)
    services.earn_points(member=member, points=42)
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.PII_ENCRYPTION_KEYS]
    call_command("rotate_member_keys", stdout=StringIO())
    member.refresh_from_db()
    assert member.points_balance == 42 and member.consent_sms is True
