"""A member's timeline: orders, points, consent, and whatever later apps add.

Apps above members (guides, promotions, shelves, devices) add their entries without members
importing them: in their AppConfig.ready they call

    from members import timeline
    timeline.register("interaction", interactions_for_timeline)

where the provider is `provider(*, member, principal, limit) -> Iterable[TimelineEntry]`,
returning that app's newest `limit` entries for the member, scoped to the principal. The
member page merges every provider's entries, newest first: one bounded query per provider,
whatever the member's history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from heapq import merge
from itertools import islice

from django.urls import reverse
from django.utils.translation import gettext as _

from retail.tenancy import Principal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # the provider's name: "order", "points", "consent", "interaction", "coupon", ...
    title: str
    detail: str = ""
    url: str = ""


Provider = Callable[..., Iterable[TimelineEntry]]
_providers: dict[str, Provider] = {}


def register(kind: str, provider: Provider) -> None:
    """Add (or replace) the provider of `kind` entries. Idempotent, so `ready()` may rerun."""
    _providers[kind] = provider


def providers() -> dict[str, Provider]:
    return dict(_providers)


def timeline_of(*, member, principal: Principal, limit: int = 30) -> list[TimelineEntry]:
    """The member's newest `limit` entries of every registered kind, newest first. A failing
    provider loses its own entries (logged), never the member page."""
    streams = []
    for kind, provider in _providers.items():
        try:
            entries = sorted(provider(member=member, principal=principal, limit=limit), key=_newest_first)
        except Exception:
            logger.exception("timeline provider %r failed", kind)
            continue
        streams.append(entries)
    return list(islice(merge(*streams, key=_newest_first), limit))


def _newest_first(entry: TimelineEntry):
    return -entry.at.timestamp()


# --- members' own providers ---------------------------------------------------------------


def order_entries(*, member, principal: Principal, limit: int) -> Iterable[TimelineEntry]:
    from retail import selectors as retail_selectors

    for order in retail_selectors.orders_of_member(principal=principal, member=member, limit=limit):
        store = order.store.name if order.store_id else _("online")
        yield TimelineEntry(
            at=order.paid_at,
            kind="order",
            title=_("Order %(number)s · ¥%(total)s") % {"number": order.external_id, "total": order.total},
            detail=store,
            url=reverse("retail:order_detail", kwargs={"order_id": order.pk}),
        )


def points_entries(*, member, principal: Principal, limit: int) -> Iterable[TimelineEntry]:
    from .selectors import points_ledger

    for entry in points_ledger(member=member)[:limit]:
        yield TimelineEntry(
            at=entry.created_at,
            kind="points",
            title=_("%(kind)s %(points)+d points")
            % {"kind": entry.get_kind_display(), "points": entry.points},
            detail=entry.reason,
        )


def consent_entries(*, member, principal: Principal, limit: int) -> Iterable[TimelineEntry]:
    from .selectors import consent_history

    for record in consent_history(member=member)[:limit]:
        verb = _("granted") if record.granted else _("withdrawn")
        yield TimelineEntry(
            at=record.created_at,
            kind="consent",
            title=_("Consent %(verb)s: %(channel)s")
            % {"verb": verb, "channel": record.get_channel_display()},
            detail=record.get_source_display(),
        )


def register_own() -> None:
    register("order", order_entries)
    register("points", points_entries)
    register("consent", consent_entries)
