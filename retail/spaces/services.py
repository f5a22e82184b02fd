"""Use cases of store spaces (场): register and change spaces, record their use (staff
check-in/out, device occupancy), reconstruction rules and bookings.

Who may do what is decided here, from the principal, so pages and the API agree: HQ manages
the spaces of any store of the brand, a store manager those of their stores; every role that
sees a space (guides included) checks people in and books members. Objects arrive already
scoped (the caller found them through `for_principal`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import audit
from ..choices import AuditAction, Role
from ..errors import Conflict, DomainError, InvalidInput
from ..tenancy import Principal
from .models import BookingStatus, Space, SpaceBooking, SpaceKind, SpaceRule, SpaceUse, UseSource

MAX_SLOT_MINUTES = 240
MAX_RULE_DAYS = 92
# A device may report a little ahead of our clock, never far in the future.
CLOCK_SKEW = dt.timedelta(minutes=5)


class NotAllowed(DomainError):
    status = 403
    code = "permission_denied"


# --- permissions ----------------------------------------------------------------------------


def may_manage_spaces(principal: Principal) -> bool:
    """HQ (any store of the brand) and store managers (their stores) register spaces and rules."""
    return principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)


def _require_manager(principal: Principal | None, store_id: int) -> None:
    if principal is None:  # internal callers (imports, tests) act for the system
        return
    if not may_manage_spaces(principal) or not principal.may_see_store(store_id):
        raise NotAllowed(message=_("Only HQ and the store's managers may change its spaces."))


# --- spaces -----------------------------------------------------------------------------------


def _clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    if isinstance(tags, str):
        tags = tags.replace("，", ",").split(",")
    seen: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip()[:40]
        if tag and tag not in seen:
            seen.append(tag)
    return seen[:20]


def _validate_space(fields: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if not (fields.get("name") or "").strip():
        errors["name"] = [_("A space needs a name.")]
    if fields.get("kind") not in SpaceKind.values:
        errors["kind"] = [_("Choose a kind of space.")]
    capacity = fields.get("capacity")
    if capacity is None or not 1 <= int(capacity) <= 500:
        errors["capacity"] = [_("Capacity is between 1 and 500 people.")]
    area = fields.get("area_m2")
    if area is not None and Decimal(area) <= 0:
        errors["area_m2"] = [_("The area must be positive.")]
    opens, closes = fields.get("opens_at"), fields.get("closes_at")
    if (opens is None) != (closes is None):
        errors["closes_at"] = [_("Give both opening and closing times, or neither (the whole day).")]
    elif opens is not None and closes <= opens:
        errors["closes_at"] = [_("The space must close after it opens (same day).")]
    if errors:
        raise InvalidInput("invalid", next(iter(errors.values()))[0], fields=errors)


SPACE_FIELDS = ("kind", "name", "location", "area_m2", "capacity", "opens_at", "closes_at", "tags")


def create_space(
    *,
    store,
    kind: str,
    name: str,
    location: str = "",
    area_m2: Decimal | None = None,
    capacity: int = 1,
    opens_at: dt.time | None = None,
    closes_at: dt.time | None = None,
    tags: Iterable[str] | str | None = None,
    principal: Principal | None = None,
) -> Space:
    """Register a space of a store (name unique per store). Audited."""
    _require_manager(principal, store.pk)
    fields = {
        "kind": kind,
        "name": (name or "").strip(),
        "location": (location or "").strip(),
        "area_m2": area_m2,
        "capacity": capacity,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "tags": _clean_tags(tags),
    }
    _validate_space(fields)
    try:
        with transaction.atomic():
            space = Space.objects.create(brand_id=store.brand_id, store=store, **fields)
            audit.record(AuditAction.CREATE, space, after=audit.snapshot(space))
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return space


def _duplicate_name() -> Conflict:
    return Conflict(
        "duplicate_name",
        _("The store already has a space with this name."),
        fields={"name": [_("Already used in this store.")]},
    )


def update_space(*, space: Space, principal: Principal | None = None, **changes: Any) -> Space:
    """Change a space's details (any of SPACE_FIELDS, and is_active). Audited; an unchanged
    form writes nothing."""
    _require_manager(principal, space.store_id)
    unknown = set(changes) - {*SPACE_FIELDS, "is_active"}
    if unknown:
        raise InvalidInput("invalid", _("Unknown fields: %s") % ", ".join(sorted(unknown)))
    if "tags" in changes:
        changes["tags"] = _clean_tags(changes["tags"])
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    if "location" in changes:
        changes["location"] = (changes["location"] or "").strip()
    merged = {f: getattr(space, f) for f in SPACE_FIELDS} | {
        k: v for k, v in changes.items() if k in SPACE_FIELDS
    }
    _validate_space(merged)
    try:
        with transaction.atomic():
            locked = Space.objects.select_for_update().get(pk=space.pk)
            before = audit.snapshot(locked)
            for key, value in changes.items():
                setattr(locked, key, value)
            after = audit.snapshot(locked)
            if {k: v for k, v in after.items() if k != "updated_at"} != {
                k: v for k, v in before.items() if k != "updated_at"
            }:
                locked.save()
                audit.record(AuditAction.UPDATE, locked, before=before, after=audit.snapshot(locked))
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return locked


def deactivate_space(*, space: Space, principal: Principal | None = None) -> Space:
    """Take a space out of use (history kept; no new check-ins or bookings). A repeat is a no-op."""
    return update_space(space=space, principal=principal, is_active=False)


# --- use: check-in / check-out, device occupancy ----------------------------------------------


def _people(value: Any, *, maximum: int = 500, minimum: int = 1) -> int:
    try:
        people = int(value)
    except (TypeError, ValueError):
        people = -1
    if not minimum <= people <= maximum:
        raise InvalidInput(
            "invalid",
            _("People must be a whole number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum},
            fields={"people": [_("Out of range.")]},
        )
    return people


def check_in(
    *, space: Space, people: int = 1, staff=None, member=None, at: dt.datetime | None = None
) -> SpaceUse:
    """Staff start a use of the space. Refused when the space is inactive or the people
    already in it plus these would exceed its capacity (the space row is locked meanwhile)."""
    people = _people(people)
    at = at or timezone.now()
    if member is not None and member.brand_id != space.brand_id:
        raise InvalidInput("invalid", _("Unknown member."), fields={"member": [_("Not found.")]})
    with transaction.atomic():
        locked = Space.objects.select_for_update().get(pk=space.pk)
        if not locked.is_active:
            raise Conflict("inactive", _("This space is out of use."))
        inside = (
            SpaceUse.objects.filter(space=locked, ended_at__isnull=True).aggregate(n=Sum("people"))["n"] or 0
        )
        if inside + people > locked.capacity:
            raise Conflict(
                "over_capacity",
                _("%(name)s holds %(capacity)s people; %(inside)s are in it now.")
                % {"name": locked.name, "capacity": locked.capacity, "inside": inside},
            )
        use = SpaceUse.objects.create(
            brand_id=locked.brand_id,
            store_id=locked.store_id,
            space=locked,
            started_at=at,
            people=people,
            source=UseSource.STAFF,
            staff=staff,
            member=member,
        )
    return use


def check_out(*, use: SpaceUse, at: dt.datetime | None = None) -> SpaceUse:
    """Close a use. A use already closed is refused (`already_checked_out`)."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = SpaceUse.objects.select_for_update().get(pk=use.pk)
        if locked.ended_at is not None:
            raise Conflict("already_checked_out", _("This use was already checked out."))
        locked.ended_at = max(at, locked.started_at)
        locked.save(update_fields=["ended_at"])
    return locked


def record_occupancy(
    *, space: Space, people: int, at: dt.datetime | None = None, device_id: int | None = None
) -> SpaceUse | None:
    """A device (or a partner for it) reports how many people are in the space at `at`:
    0 closes the device's open use, more opens one or updates its head count. Returns the
    device's use (None when 0 closed nothing). A repeat of the same report changes nothing."""
    people = _people(people, minimum=0, maximum=10_000)
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at):
        raise InvalidInput(
            "invalid", _("Give the time with its offset."), fields={"at": [_("No time zone.")]}
        )
    if at > now + CLOCK_SKEW:
        raise InvalidInput("invalid", _("The time is in the future."), fields={"at": [_("In the future.")]})
    with transaction.atomic():
        locked = Space.objects.select_for_update().get(pk=space.pk)
        use = (
            SpaceUse.objects.select_for_update()
            .filter(space=locked, source=UseSource.DEVICE, device_id=device_id, ended_at__isnull=True)
            .order_by("-started_at")
            .first()
        )
        if people == 0:
            if use is not None:
                use.ended_at = max(at, use.started_at)
                use.save(update_fields=["ended_at"])
            return use
        if use is None:
            if not locked.is_active:
                raise Conflict("inactive", _("This space is out of use."))
            return SpaceUse.objects.create(
                brand_id=locked.brand_id,
                store_id=locked.store_id,
                space=locked,
                started_at=at,
                people=min(people, 32767),
                source=UseSource.DEVICE,
                device_id=device_id,
            )
        if use.people != people:
            use.people = min(people, 32767)
            use.save(update_fields=["people"])
        return use


# --- reconstruction rules ------------------------------------------------------------------


def create_rule(
    *,
    space: Space,
    name: str,
    tier=None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    slot_minutes: int = 30,
    principal: Principal | None = None,
) -> SpaceRule:
    """Make the space exclusive (to `tier` and better, or to any member when no tier) from
    `starts_at` to `ends_at`, bookable in slots of `slot_minutes`. Windows of one space do
    not overlap. Audited."""
    _require_manager(principal, space.store_id)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("A rule needs a name.")]
    if tier is not None and tier.brand_id != space.brand_id:
        errors["tier"] = [_("Unknown tier.")]
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        errors["ends_at"] = [_("The window must end after it starts.")]
    elif ends_at - starts_at > dt.timedelta(days=MAX_RULE_DAYS):
        errors["ends_at"] = [_("A window lasts at most %(days)s days.") % {"days": MAX_RULE_DAYS}]
    try:
        slot_minutes = int(slot_minutes)
    except (TypeError, ValueError):
        slot_minutes = 0
    if not 5 <= slot_minutes <= MAX_SLOT_MINUTES:
        errors["slot_minutes"] = [_("A slot lasts from 5 to %(max)s minutes.") % {"max": MAX_SLOT_MINUTES}]
    if errors:
        raise InvalidInput("invalid", next(iter(errors.values()))[0], fields=errors)
    with transaction.atomic():
        Space.objects.select_for_update().get(pk=space.pk)  # one rule written per space at a time
        overlap = SpaceRule.objects.filter(space=space, starts_at__lt=ends_at, ends_at__gt=starts_at).first()
        if overlap is not None:
            raise Conflict(
                "rule_overlap",
                _("The window overlaps the rule “%(name)s” of this space.") % {"name": overlap.name},
                fields={"starts_at": [_("Overlaps another rule.")]},
            )
        rule = SpaceRule.objects.create(
            brand_id=space.brand_id,
            store_id=space.store_id,
            space=space,
            name=name,
            tier=tier,
            starts_at=starts_at,
            ends_at=ends_at,
            slot_minutes=slot_minutes,
        )
        audit.record(AuditAction.CREATE, rule, after=audit.snapshot(rule))
    return rule


# --- bookings --------------------------------------------------------------------------------


def opening_minutes(space: Space) -> tuple[int, int]:
    """The space's hours as minutes of the local day: (opens, closes); empty hours: all day."""
    if space.opens_at is None or space.closes_at is None:
        return 0, 24 * 60
    return (
        space.opens_at.hour * 60 + space.opens_at.minute,
        space.closes_at.hour * 60 + space.closes_at.minute,
    )


def rule_for_slot(space: Space, slot_start: dt.datetime) -> SpaceRule | None:
    """The rule whose window holds the slot starting at `slot_start` (tier joined)."""
    return (
        SpaceRule.objects.select_related("tier")
        .filter(space=space, starts_at__lte=slot_start, ends_at__gt=slot_start)
        .first()
    )


def check_slot(space: Space, slot_start: dt.datetime, *, now: dt.datetime | None = None) -> SpaceRule:
    """The rule of a bookable slot, or InvalidInput saying why the slot cannot be booked."""
    now = now or timezone.now()
    if timezone.is_naive(slot_start):
        raise InvalidInput("invalid_slot", _("Give the slot's time with its offset."))
    if not space.is_active:
        raise Conflict("inactive", _("This space is out of use."))
    rule = rule_for_slot(space, slot_start)
    if rule is None:
        raise InvalidInput(
            "outside_window", _("This space takes no bookings at that time (no rule covers it).")
        )
    slot_end = slot_start + dt.timedelta(minutes=rule.slot_minutes)
    if slot_end > rule.ends_at:
        raise InvalidInput(
            "outside_window", _("The slot runs past the end of “%(name)s”.") % {"name": rule.name}
        )
    offset = (slot_start - rule.starts_at).total_seconds()
    if offset % (rule.slot_minutes * 60):
        raise InvalidInput(
            "misaligned",
            _("Slots of “%(name)s” start every %(minutes)s minutes from %(start)s.")
            % {
                "name": rule.name,
                "minutes": rule.slot_minutes,
                "start": timezone.localtime(rule.starts_at).strftime("%H:%M"),
            },
        )
    local = timezone.localtime(slot_start)
    start_min = local.hour * 60 + local.minute
    opens, closes = opening_minutes(space)
    if start_min < opens or start_min + rule.slot_minutes > closes:
        raise InvalidInput("closed", _("The space is closed at that time."))
    if slot_start <= now:
        raise InvalidInput("past", _("The slot has already started."))
    return rule


def tier_refusal(rule: SpaceRule, member) -> str | None:
    """Why the member may not take a slot of this rule (None: they may)."""
    if rule.tier is None:
        return None
    member_tier = member.tier
    if member_tier is not None and member_tier.rank >= rule.tier.rank:
        return None
    if member_tier is None:
        return _("This slot is for %(tier)s members and above; %(member)s has no tier yet.") % {
            "tier": rule.tier.name,
            "member": member.display_name,
        }
    return _("This slot is for %(tier)s members and above; %(member)s's tier is %(their)s.") % {
        "tier": rule.tier.name,
        "member": member.display_name,
        "their": member_tier.name,
    }


def book(*, space: Space, member, slot_start: dt.datetime, booked_by=None) -> SpaceBooking:
    """Book the member into the slot starting at `slot_start`: inside a rule's window,
    aligned to its slots, in the space's hours and in the future, and the member's tier at
    least the rule's. Two bookings of one slot cannot both succeed: the database's partial
    unique index refuses the second (`slot_taken`). The same member booking the same slot
    again gets their booking back. Audited."""
    if member.brand_id != space.brand_id:
        raise InvalidInput("invalid", _("Unknown member."), fields={"member": [_("Not found.")]})
    rule = check_slot(space, slot_start)
    refusal = tier_refusal(rule, member)
    if refusal:
        raise DomainError("tier_too_low", refusal, status=403)
    existing = SpaceBooking.objects.filter(
        space=space, slot_start=slot_start, status=BookingStatus.BOOKED
    ).first()
    if existing is not None:
        if existing.member_id == member.pk:
            return existing
        raise _slot_taken()
    try:
        with transaction.atomic():
            booking = SpaceBooking.objects.create(
                brand_id=space.brand_id,
                store_id=space.store_id,
                space=space,
                rule=rule,
                member=member,
                slot_start=slot_start,
                slot_end=slot_start + dt.timedelta(minutes=rule.slot_minutes),
                booked_by=booked_by,
            )
            audit.record(AuditAction.CREATE, booking, after=audit.snapshot(booking))
    except IntegrityError as exc:
        raise _slot_taken() from exc
    return booking


def _slot_taken() -> Conflict:
    return Conflict("slot_taken", _("Someone else has just booked this slot; pick another one."))


def cancel(*, booking: SpaceBooking, by=None) -> SpaceBooking:
    """Cancel a booking (the slot is free again). A repeat is harmless; a slot that has
    already started is not cancelled. Audited."""
    with transaction.atomic():
        locked = SpaceBooking.objects.select_for_update().get(pk=booking.pk)
        if locked.status == BookingStatus.CANCELLED:
            return locked
        if locked.slot_start <= timezone.now():
            raise Conflict("slot_started", _("The slot has already started; it can no longer be cancelled."))
        before = audit.snapshot(locked)
        locked.status = BookingStatus.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["status", "cancelled_at"])
        audit.record(
            AuditAction.UPDATE,
            locked,
            actor_id=getattr(by, "pk", None),
            before=before,
            after=audit.snapshot(locked),
            message="booking cancelled",
        )
    return locked


def may_cancel(principal: Principal, booking: SpaceBooking) -> bool:
    """HQ and managers cancel any booking they see; a guide those they made or of their members."""
    if principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER):
        return True
    return principal.user_id is not None and (
        booking.booked_by_id == principal.user_id or booking.member.guide_id == principal.user_id
    )


__all__ = [
    "NotAllowed",
    "book",
    "cancel",
    "check_in",
    "check_out",
    "check_slot",
    "create_rule",
    "create_space",
    "deactivate_space",
    "may_cancel",
    "may_manage_spaces",
    "record_occupancy",
    "tier_refusal",
    "update_space",
]
