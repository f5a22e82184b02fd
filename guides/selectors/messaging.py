"""Reads of messaging pages: the principal's broadcasts, one broadcast with its figures."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from retail.tenancy import Principal

from ..models import Broadcast, Message


def broadcasts_for(*, principal: Principal) -> QuerySet[Broadcast]:
    """The broadcasts the principal may see (a guide: their own), newest first."""
    qs = Broadcast.objects.for_principal(principal).select_related("store", "segment", "tier", "created_by")
    if principal.guide_user_id is not None:
        qs = qs.filter(guide_id=principal.guide_user_id)
    return qs.order_by("-created_at", "-id")


def broadcast_for(*, principal: Principal, broadcast_id: int) -> Broadcast | None:
    return broadcasts_for(principal=principal).filter(pk=broadcast_id).first()


def broadcast_figures(broadcast: Broadcast) -> list[dict]:
    """The bars of a broadcast's chart: targeted, sent, skipped per reason, delivered, failed."""
    return [
        {"key": "targeted", "label": _("Targeted"), "value": broadcast.targeted},
        {"key": "sent", "label": _("Sent"), "value": broadcast.sent},
        {
            "key": "skipped_no_consent",
            "label": _("Skipped: no consent"),
            "value": broadcast.skipped_no_consent,
        },
        {
            "key": "skipped_quiet_hours",
            "label": _("Skipped: quiet hours"),
            "value": broadcast.skipped_quiet_hours,
        },
        {
            "key": "skipped_frequency",
            "label": _("Skipped: frequency cap"),
            "value": broadcast.skipped_frequency,
        },
        {"key": "delivered", "label": _("Delivered"), "value": broadcast.delivered},
        {"key": "failed", "label": _("Failed"), "value": broadcast.failed},
    ]


def recent_messages(*, principal: Principal, member_id: int, limit: int = 5) -> list[Message]:
    """A member's latest messages the principal may see (the member card's history)."""
    return list(
        Message.objects.for_principal(principal)
        .filter(member_id=member_id)
        .order_by("-created_at", "-id")[:limit]
    )
