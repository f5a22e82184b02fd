"""Use cases of member identity: join, update, reveal (audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit, events
from retail.choices import AuditAction
from retail.errors import Conflict, InvalidInput

from . import pii
from .models import Member

CONSENT_FIELDS = ("consent_call", "consent_sms", "consent_chat")


def next_member_no(*, brand_id: int) -> str:
    """Member numbers read M + a sequence per brand; gaps are fine, duplicates are not."""
    last = (
        Member.objects.filter(brand_id=brand_id, member_no__startswith="M")
        .order_by("-id")
        .values_list("member_no", flat=True)
        .first()
    )
    n = int(last[1:]) + 1 if last and last[1:].isdigit() else 1
    return f"M{n:08d}"


def join_member(
    *,
    brand_id: int,
    phone: str,
    name: str = "",
    external_id: str | None = None,
    source: str = "store",
    store=None,
    guide=None,
    joined_at: datetime | None = None,
    **consents: bool,
) -> Member:
    """A new member joins the brand; a phone already known to the brand is a Conflict."""
    if store is not None and store.brand_id != brand_id:
        raise InvalidInput("other_brand", _("Unknown store."), fields={"store": [_("Not found.")]})
    member = Member(
        brand_id=brand_id,
        external_id=external_id or None,
        source=source,
        store=store,
        guide=guide,
        joined_at=joined_at or timezone.now(),
        **{k: bool(v) for k, v in consents.items() if k in CONSENT_FIELDS},
    )
    try:
        member.set_phone(phone)
    except pii.InvalidPhone as exc:
        raise InvalidInput(
            "invalid_phone",
            _("Not a valid phone number."),
            fields={"phone": [_("Not a valid phone number.")]},
        ) from exc
    member.set_name(name)
    for attempt in range(3):
        member.member_no = next_member_no(brand_id=brand_id)
        try:
            with transaction.atomic():
                member.save()
                audit.record(AuditAction.CREATE, member, after=audit.snapshot(member))
                events.publish(
                    "member.joined",
                    brand=brand_id,
                    store=member.store_id,
                    member=member.pk,
                    source=member.source,
                    guide=member.guide_id,
                )
            return member
        except IntegrityError as exc:
            member.pk = None
            if Member.objects.filter(brand_id=brand_id, phone_hash=member.phone_hash).exists():
                raise Conflict(
                    "duplicate_phone",
                    _("A member with this phone already exists."),
                    fields={"phone": [_("Already a member.")]},
                ) from exc
            if external_id and Member.objects.filter(brand_id=brand_id, external_id=external_id).exists():
                raise Conflict(
                    "duplicate_external_id",
                    _("A member with this external id already exists."),
                    fields={"external_id": [_("Already used.")]},
                ) from exc
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


RECRUITMENT_FIELDS = ("external_id", "source", "store", "guide", "joined_at")


def update_member(*, member: Member, **fields: Any) -> Member:
    """Change identity (phone, name, external id), recruitment or consent flags (audited).

    A phone or external id another member of the brand holds is a Conflict; a store of
    another brand is refused."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        before = audit.snapshot(member)
        if fields.get("phone"):
            try:
                member.set_phone(fields["phone"])
            except pii.InvalidPhone as exc:
                raise InvalidInput(
                    "invalid_phone",
                    _("Not a valid phone number."),
                    fields={"phone": [_("Not a valid phone number.")]},
                ) from exc
        if "name" in fields:
            member.set_name(fields["name"])
        store = fields.get("store")
        if store is not None and store.brand_id != member.brand_id:
            raise InvalidInput("other_brand", _("Unknown store."), fields={"store": [_("Not found.")]})
        for key in RECRUITMENT_FIELDS:
            if key in fields:
                setattr(member, key, fields[key] or None if key == "external_id" else fields[key])
        for key in CONSENT_FIELDS:
            if key in fields:
                setattr(member, key, bool(fields[key]))
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError as exc:
            raise Conflict(
                "duplicate_member",
                _("Another member of the brand has this phone or external id."),
                fields={"phone": [_("Already a member.")]},
            ) from exc
        audit.record(AuditAction.UPDATE, member, before=before, after=audit.snapshot(member))
        events.publish("member.updated", brand=member.brand_id, store=member.store_id, member=member.pk)
    return member


def reveal_member_phone(*, member: Member, reason: str = "") -> str:
    """The full phone number, for someone allowed to see it. Every reveal is audited."""
    phone = pii.decrypt(member.phone_encrypted)
    audit.record(AuditAction.REVEAL, member, message=reason or "phone revealed")
    return phone


def rotate_member_keys(*, brand_id: int | None = None, batch_size: int = 1000) -> int:
    """Re-encrypt PII under the newest key; returns how many members were rewritten."""
    qs = Member.objects.all() if brand_id is None else Member.objects.filter(brand_id=brand_id)
    done = 0
    last_id = 0
    while True:
        batch = list(qs.filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not batch:
            return done
        for m in batch:
            m.phone_encrypted = pii.rotate(m.phone_encrypted)
            m.name_encrypted = pii.rotate(m.name_encrypted)
        Member.objects.bulk_update(batch, ["phone_encrypted", "name_encrypted"])
        done += len(batch)
        last_id = batch[-1].pk
