"""The member page's timeline: a member's space bookings (the benefit of an exclusive
space shows where the member's history is read). Registered in retail/apps.py ready()."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.timeline import TimelineEntry

from ..tenancy import Principal
from . import selectors
from .models import BookingStatus


def booking_entries(*, member, principal: Principal, limit: int) -> Iterable[TimelineEntry]:
    """The member's newest `limit` bookings the principal may see: one query."""
    for booking in selectors.bookings_of_member(principal=principal, member=member, limit=limit):
        start = timezone.localtime(booking.slot_start)
        end = timezone.localtime(booking.slot_end)
        rule = booking.rule
        title = _("Booked %(space)s · %(day)s %(start)s–%(end)s") % {
            "space": booking.space.name,
            "day": start.strftime("%Y-%m-%d"),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
        }
        details = []
        if rule is not None:
            details.append(rule.name)
            if rule.tier is not None:
                details.append(_("%(tier)s members and above") % {"tier": rule.tier.name})
        if booking.status == BookingStatus.CANCELLED:
            details.append(_("cancelled"))
        yield TimelineEntry(
            at=booking.created_at,
            kind="space_booking",
            title=title,
            detail=" · ".join(details),
            url=reverse("retail:spaces:booking_page", kwargs={"space_id": booking.space_id})
            + f"?day={start.date().isoformat()}",
        )
