"""Reads of store spaces: lists scoped by principal, current use, utilisation per hour of
day, a day's slots and the member to book (found in the principal's scope)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from ..tenancy import Principal
from .models import BookingStatus, Space, SpaceBooking, SpaceRule, SpaceUse
from .services import opening_minutes

MAX_RANGE_DAYS = 92


def spaces_for(*, principal: Principal) -> QuerySet[Space]:
    """Spaces the principal may see (brand, and their stores), store joined."""
    return Space.objects.for_principal(principal).select_related("store")


def space_list(
    *, principal: Principal, store_id: int | None = None, active_only: bool = False
) -> QuerySet[Space]:
    """Spaces for the list page, with the people in each now (one query)."""
    qs = spaces_for(principal=principal).annotate(
        people_now=Sum("uses__people", filter=Q(uses__ended_at__isnull=True)),
        open_uses=Count("uses", filter=Q(uses__ended_at__isnull=True)),
    )
    if store_id:
        qs = qs.filter(store_id=store_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("store__code", "name")


def open_uses(*, space: Space) -> list[SpaceUse]:
    """The space's uses still open (people in it now), oldest first."""
    return list(
        SpaceUse.objects.filter(space=space, ended_at__isnull=True)
        .select_related("staff", "member")
        .order_by("started_at")
    )


def recent_uses(*, space: Space, limit: int = 10) -> list[SpaceUse]:
    return list(
        SpaceUse.objects.filter(space=space, ended_at__isnull=False)
        .select_related("staff")
        .order_by("-started_at")[:limit]
    )


def rules_of(*, space: Space) -> list[SpaceRule]:
    """The space's rules, newest window first, with their tier."""
    return list(SpaceRule.objects.filter(space=space).select_related("tier").order_by("-starts_at"))


def bookings_for(*, principal: Principal) -> QuerySet[SpaceBooking]:
    return SpaceBooking.objects.for_principal(principal).select_related("space", "member", "rule")


# --- utilisation --------------------------------------------------------------------------------


def _merged(intervals: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Overlapping uses counted once: the space is in use or not, whatever the head count."""
    out: list[list[dt.datetime]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _overlap(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def utilisation(*, space: Space, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> dict:
    """Utilisation of the space by hour of day over local days `start`..`end` (inclusive):
    for each hour, the minutes it was open (its hours; none after `now`), the minutes it was
    in use within them (overlapping uses counted once) and their ratio. One query."""
    if end < start:
        start, end = end, start
    end = min(end, start + dt.timedelta(days=MAX_RANGE_DAYS - 1))
    now = now or timezone.now()
    tz = timezone.get_default_timezone()
    range_start = timezone.make_aware(dt.datetime.combine(start, dt.time()), tz)
    range_end = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()), tz)
    rows = SpaceUse.objects.filter(space=space, started_at__lt=range_end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=range_start)
    )
    uses = _merged(
        [
            (max(u.started_at, range_start), min(u.ended_at or now, range_end, now))
            for u in rows.only("started_at", "ended_at")
            if (u.ended_at or now) > u.started_at
        ]
    )
    opens, closes = opening_minutes(space)
    open_s = [0.0] * 24
    used_s = [0.0] * 24
    first = 0  # uses ending before the current hour are never looked at again
    day = start
    while day <= end:
        day_start = timezone.make_aware(dt.datetime.combine(day, dt.time()), tz)
        open_from = day_start + dt.timedelta(minutes=opens)
        open_to = min(day_start + dt.timedelta(minutes=closes), now)
        for hour in range(24):
            h0 = day_start + dt.timedelta(hours=hour)
            h1 = h0 + dt.timedelta(hours=1)
            lo, hi = max(h0, open_from), min(h1, open_to)
            if hi <= lo:
                continue
            open_s[hour] += (hi - lo).total_seconds()
            while first < len(uses) and uses[first][1] <= lo:
                first += 1
            i = first
            while i < len(uses) and uses[i][0] < hi:
                used_s[hour] += _overlap(lo, hi, *uses[i])
                i += 1
        day += dt.timedelta(days=1)
    hours = [
        {
            "hour": h,
            "open_minutes": round(open_s[h] / 60, 1),
            "used_minutes": round(used_s[h] / 60, 1),
            "rate": round(used_s[h] / open_s[h], 4) if open_s[h] else None,
        }
        for h in range(24)
    ]
    total_open, total_used = sum(open_s), sum(used_s)
    return {
        "space": space.pk,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "hours": hours,
        "open_minutes": round(total_open / 60, 1),
        "used_minutes": round(total_used / 60, 1),
        "rate": round(total_used / total_open, 4) if total_open else None,
    }


# --- slots and bookings ------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    rule: SpaceRule
    booking: SpaceBooking | None
    past: bool

    @property
    def free(self) -> bool:
        return self.booking is None and not self.past


def slots(*, space: Space, day: dt.date, now: dt.datetime | None = None) -> list[Slot]:
    """The day's slots of every rule of the space, within its hours, with their booking
    (member joined) or free. Two queries."""
    now = now or timezone.now()
    tz = timezone.get_default_timezone()
    day_start = timezone.make_aware(dt.datetime.combine(day, dt.time()), tz)
    day_end = day_start + dt.timedelta(days=1)
    opens, closes = opening_minutes(space)
    open_from = day_start + dt.timedelta(minutes=opens)
    open_to = day_start + dt.timedelta(minutes=closes)
    rules = list(
        SpaceRule.objects.filter(space=space, starts_at__lt=day_end, ends_at__gt=day_start)
        .select_related("tier")
        .order_by("starts_at")
    )
    if not rules:
        return []
    booked = {
        b.slot_start: b
        for b in SpaceBooking.objects.filter(
            space=space, status=BookingStatus.BOOKED, slot_start__gte=day_start, slot_start__lt=day_end
        ).select_related("member", "member__tier")
    }
    out: list[Slot] = []
    for rule in rules:
        step = dt.timedelta(minutes=rule.slot_minutes)
        first = max(rule.starts_at, open_from)
        # the first slot boundary of the rule at or after `first`
        k = -(-int((first - rule.starts_at).total_seconds()) // int(step.total_seconds()))
        at = rule.starts_at + k * step
        while at + step <= min(rule.ends_at, open_to):
            out.append(Slot(start=at, end=at + step, rule=rule, booking=booked.get(at), past=at <= now))
            at += step
    return out


def exclusive_spaces(
    *, principal: Principal, store_id: int, now: dt.datetime | None = None
) -> list[SpaceRule]:
    """The store's rules running now or later (tier-exclusive first), space and tier joined:
    the "Exclusive spaces" a guide can offer members."""
    now = now or timezone.now()
    return list(
        SpaceRule.objects.for_principal(principal)
        .filter(store_id=store_id, ends_at__gt=now, space__is_active=True)
        .select_related("space", "tier")
        .order_by("starts_at", "space__name")[:20]
    )


def member_to_book(*, principal: Principal, phone: str):
    """The member with this exact phone among those the principal may see (a guide: their
    own), tier joined; None when not found or not theirs."""
    from members.selectors import members_for, phone_hash_or_none

    digest = phone_hash_or_none(phone or "")
    if digest is None:
        return None
    return members_for(principal=principal).select_related("tier").filter(phone_hash=digest).first()


def bookings_of_member(*, principal: Principal, member, limit: int = 30) -> list[SpaceBooking]:
    """The member's newest bookings the principal may see (space and rule joined)."""
    return list(
        SpaceBooking.objects.for_principal(principal)
        .filter(member=member)
        .select_related("space", "rule", "rule__tier")
        .order_by("-created_at")[:limit]
    )


__all__ = [
    "Slot",
    "bookings_for",
    "bookings_of_member",
    "exclusive_spaces",
    "member_to_book",
    "open_uses",
    "recent_uses",
    "rules_of",
    "slots",
    "space_list",
    "spaces_for",
    "utilisation",
]
