"""Guide profiles: a guide's workbench identity — their store, the phone the telephony bridge
rings (encrypted like a member's, shown masked) and the tracking code their share links carry.

A guide role granted (`staff.role_granted`) makes the profile with a generated tracking code;
a guide sets their own phone; a store manager (their stores) or HQ edits the phone, the store
and the influencer flag. Every change is audited and refreshes the guide's cached workbench
(the "add your phone" banner)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from members import pii
from retail import audit, events
from retail.choices import AuditAction, Role
from retail.errors import DomainError, InvalidInput, NotFound
from retail.models import StaffRole, Store
from retail.tenancy import Principal

from ..models import GuideProfile
from ..selectors.workbench import bump as bump_workbench
from .common import NotAllowed

# Upper case without the look-alikes 0/O, 1/I/L: read aloud or typed from a poster safely.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_ATTEMPTS = 5
UNSET: Any = object()


def connect() -> None:
    """A new guide role makes (or moves) the guide's profile; a revoked one may move it."""
    events.subscribe("staff.role_granted", _on_role_granted)
    events.subscribe("staff.role_revoked", _on_role_revoked)


def _on_role_granted(event) -> None:
    user_id = event.payload.get("user")
    if event.payload.get("role") != Role.GUIDE or not user_id or not event.store_id:
        return
    ensure_profile(brand_id=event.brand_id, user_id=user_id, store_id=event.store_id)


def _on_role_revoked(event) -> None:
    user_id = event.payload.get("user")
    if event.payload.get("role") != Role.GUIDE or not user_id:
        return
    follow_guide_role(brand_id=event.brand_id, user_id=user_id)


def new_tracking_code() -> str:
    """8 characters of an unambiguous upper-case alphabet (31^8 ≈ 8.5e11 codes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _guide_store_ids(*, brand_id: int, user_id: int) -> list[int]:
    """The stores where the user holds a guide role in the brand, newest role first."""
    return list(
        StaffRole.objects.filter(brand_id=brand_id, user_id=user_id, role=Role.GUIDE)
        .order_by("-id")
        .values_list("store_id", flat=True)
    )


def ensure_profile(*, brand_id: int, user_id: int, store_id: int) -> GuideProfile:
    """The guide's profile in the brand, made in `store_id` with a new tracking code when
    missing; a profile left in a store where the user no longer holds a guide role moves to
    `store_id`. Idempotent: a redelivered `staff.role_granted` finds the profile."""
    profile = GuideProfile.objects.filter(brand_id=brand_id, user_id=user_id).first()
    if profile is None:
        return _create_profile(brand_id=brand_id, user_id=user_id, store_id=store_id)
    if profile.store_id != store_id and profile.store_id not in _guide_store_ids(
        brand_id=brand_id, user_id=user_id
    ):
        profile = _move(profile, store_id=store_id, message="guide profile moved with the guide's role")
    return profile


def follow_guide_role(*, brand_id: int, user_id: int) -> GuideProfile | None:
    """After a guide role was revoked: a profile in a store where the user is no longer a
    guide moves to the store of their newest guide role in the brand. With no guide role
    left the profile stays where it is (their share links and history keep their code)."""
    profile = GuideProfile.objects.filter(brand_id=brand_id, user_id=user_id).first()
    if profile is None:
        return None
    stores = _guide_store_ids(brand_id=brand_id, user_id=user_id)
    if not stores or profile.store_id in stores:
        return profile
    return _move(profile, store_id=stores[0], message="guide profile moved with the guide's role")


def _create_profile(*, brand_id: int, user_id: int, store_id: int) -> GuideProfile:
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                profile = GuideProfile.objects.create(
                    brand_id=brand_id, store_id=store_id, user_id=user_id, tracking_code=new_tracking_code()
                )
                audit.record(
                    AuditAction.CREATE, profile, after=audit.snapshot(profile), message="guide profile"
                )
        except IntegrityError:
            # another delivery made the profile meanwhile (unique brand + user), or the code
            # was taken (unique brand + code): take theirs, else draw again
            existing = GuideProfile.objects.filter(brand_id=brand_id, user_id=user_id).first()
            if existing is not None:
                return existing
            continue
        bump_workbench(guide_ids=[user_id])
        return profile
    raise DomainError("no_tracking_code", _("Could not make a tracking code; try again."))


def _move(profile: GuideProfile, *, store_id: int, message: str) -> GuideProfile:
    with transaction.atomic():
        row = GuideProfile.objects.select_for_update().get(pk=profile.pk)
        if row.store_id == store_id:
            return row
        before = audit.snapshot(row)
        row.store_id = store_id
        row.save(update_fields=["store"])
        audit.record(AuditAction.UPDATE, row, before=before, after=audit.snapshot(row), message=message)
    bump_workbench(guide_ids=[row.user_id])
    return row


# --- edits ----------------------------------------------------------------------------------


def may_manage(principal: Principal) -> bool:
    """Store managers (their stores) and HQ edit guides' profiles; guides only their phone."""
    if principal.brand_id is None:
        return False
    return principal.is_superuser or principal.role in (Role.STORE_MANAGER, Role.HQ_ADMIN)


def _phone_values(phone: str) -> tuple[str, str]:
    """(encrypted, masked) for a typed number; ("", "") for an empty one (no phone)."""
    raw = (phone or "").strip()
    if not raw:
        return "", ""
    try:
        normal = pii.normalize_phone(raw)
    except pii.InvalidPhone:
        message = _("Enter a phone number (digits, mainland numbers with or without +86).")
        raise InvalidInput("bad_phone", message, fields={"phone": [message]}) from None
    return pii.encrypt(normal), pii.mask_phone(normal)


def set_own_phone(principal: Principal, *, phone: str) -> GuideProfile:
    """A guide sets the phone the call bridge rings (empty: no phone). Makes the profile in
    the guide's store when it is missing. Audited (the masked number only)."""
    if principal.guide_user_id is None or principal.brand_id is None or not principal.store_ids:
        raise NotAllowed(message=_("Only a guide sets their own phone here."))
    encrypted, masked = _phone_values(phone)  # before any write: a bad number changes nothing
    profile = ensure_profile(
        brand_id=principal.brand_id, user_id=principal.guide_user_id, store_id=min(principal.store_ids)
    )
    return _save(profile, {"phone_encrypted": encrypted, "phone_masked": masked}, message="own phone")


def update_profile(
    principal: Principal,
    profile: GuideProfile,
    *,
    phone: str = UNSET,
    store: Store | int = UNSET,
    is_influencer: bool = UNSET,
) -> GuideProfile:
    """A store manager (profiles of their stores, into their stores) or HQ changes a guide's
    phone (empty: none), store or influencer flag; only what is given changes. Another
    brand's or store's profile is NotFound. Audited."""
    if not may_manage(principal):
        raise NotAllowed(message=_("Only a store manager or HQ edits guides' profiles."))
    if not GuideProfile.objects.for_principal(principal).filter(pk=profile.pk).exists():
        raise NotFound("not_found", _("Unknown guide."))
    values: dict[str, Any] = {}
    errors: dict[str, list] = {}
    if phone is not UNSET:
        try:
            values["phone_encrypted"], values["phone_masked"] = _phone_values(phone)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if store is not UNSET:
        store_id = getattr(store, "pk", store)
        allowed = Store.objects.for_principal(principal).filter(brand_id=profile.brand_id, pk=store_id)
        if store_id is None or not allowed.exists():
            errors["store"] = [_("Choose one of your stores.")]
        else:
            values["store_id"] = store_id
    if is_influencer is not UNSET:
        values["is_influencer"] = bool(is_influencer)
    if errors:
        raise InvalidInput("invalid", _("Check the guide's profile."), fields=errors)
    return _save(profile, values, message="guide profile")


def _save(profile: GuideProfile, values: dict[str, Any], *, message: str) -> GuideProfile:
    with transaction.atomic():
        row = GuideProfile.objects.select_for_update().get(pk=profile.pk)
        before = audit.snapshot(row)
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        # a number typed again encrypts to new bytes: compare the masked form and the clear
        # number only when both are set
        if "phone_encrypted" in changed and _same_phone(row.phone_encrypted, values["phone_encrypted"]):
            changed.remove("phone_encrypted")
        if not changed:
            return row
        for name in changed:
            setattr(row, name, values[name])
        row.save(update_fields=[name.removesuffix("_id") for name in changed])
        audit.record(AuditAction.UPDATE, row, before=before, after=audit.snapshot(row), message=message)
    bump_workbench(guide_ids=[row.user_id])
    return row


def _same_phone(old: str, new: str) -> bool:
    if not old or not new:
        return old == new
    return pii.decrypt(old) == pii.decrypt(new)
