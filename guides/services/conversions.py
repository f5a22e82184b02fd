"""Conversion attribution: an order by a member within the brand's window (GuideSettings.
attribution_days, default 7) after a guide's interaction that reached the member is
attributed to that guide and that interaction (the latest one inside the window).

Which interactions qualify (`selectors.conversions.reached_q`): answered calls, visits, and
messages that were not skipped or failed. Unanswered calls and notes never do.

Exactly once: `Conversion.order` is one-to-one, so the row is created with
get_or_create inside a savepoint and a second delivery of `order.created` (or a race of two
workers on PostgreSQL) finds the row or hits the unique index and does nothing; only the
call that created the row publishes `guide.conversion`. A refunded or cancelled order never
converts. `reattribute` recomputes a period (orders the event missed, interactions synced
from offline after the order, refunds) and is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from retail import events
from retail.attribution import Status
from retail.choices import OrderStatus
from retail.events import Event
from retail.models import Order

from ..models import Conversion, Interaction
from ..selectors.conversions import reached_q
from ..selectors.workbench import bump as bump_workbench
from .common import settings_for

logger = logging.getLogger(__name__)

REATTRIBUTE_BATCH = 500


def connect() -> None:
    events.subscribe("order.created", on_order_created)


def on_order_created(event: Event) -> None:
    """`order.created` subscriber: the guide conversion, then the share link's count."""
    order_id = event.payload.get("order")
    if not order_id:
        return
    if event.payload.get("member"):
        attribute_order(order_id=order_id)
    if event.payload.get("attribution") == Status.ATTRIBUTED:
        from .sharing import count_link_order

        count_link_order(order_id=order_id)


def qualifying_interaction(*, brand_id: int, member_id: int, paid_at: dt.datetime) -> Interaction | None:
    """The member's latest interaction that reached them in [paid_at − N days, paid_at]."""
    window = dt.timedelta(days=settings_for(brand_id).attribution_days)
    return (
        Interaction.objects.filter(
            brand_id=brand_id,
            member_id=member_id,
            occurred_at__gte=paid_at - window,
            occurred_at__lte=paid_at,
        )
        .filter(reached_q())
        .order_by("-occurred_at", "-id")
        .only("id", "brand_id", "store_id", "guide_id", "plan_id", "member_id")
        .first()
    )


def attribute_order(*, order_id: int) -> Conversion | None:
    """Attribute one order (idempotent): the Conversion made now, or None when the order
    does not convert or was attributed before."""
    order = (
        Order.objects.filter(pk=order_id)
        .only("id", "brand_id", "member_id", "status", "total", "paid_at")
        .first()
    )
    if order is None or order.member_id is None or order.status != OrderStatus.PAID:
        return None
    if Conversion.objects.filter(order_id=order.pk).exists():
        return None
    interaction = qualifying_interaction(
        brand_id=order.brand_id, member_id=order.member_id, paid_at=order.paid_at
    )
    if interaction is None:
        return None
    return _create(order, interaction)


def _create(order: Order, interaction: Interaction) -> Conversion | None:
    try:
        with transaction.atomic():
            conversion, created = Conversion.objects.get_or_create(
                order_id=order.pk,
                defaults={
                    "brand_id": order.brand_id,
                    "store_id": interaction.store_id,
                    "guide_id": interaction.guide_id,
                    "member_id": order.member_id,
                    "interaction_id": interaction.pk,
                    "plan_id": interaction.plan_id,
                    "amount": order.total,
                    "ordered_at": order.paid_at,
                },
            )
            if not created:
                return None
            _publish(conversion)
    except IntegrityError:  # a concurrent delivery created it first
        return None
    return conversion


def _publish(conversion: Conversion) -> None:
    bump_workbench(guide_ids=[conversion.guide_id])
    events.publish(
        "guide.conversion",
        brand=conversion.brand_id,
        store=conversion.store_id,
        conversion=conversion.pk,
        order=conversion.order_id,
        interaction=conversion.interaction_id,
        guide=conversion.guide_id,
        member=conversion.member_id,
        plan=conversion.plan_id,
        amount=str(conversion.amount),
        ordered_at=conversion.ordered_at,
    )


def reattribute(*, brand_id: int, since: dt.datetime, until: dt.datetime | None = None) -> dict[str, int]:
    """Recompute the conversions of the brand's orders paid in [since, until): a paid order
    gets the latest qualifying interaction (created, or moved to it), a refunded or
    cancelled one, or one with no qualifying interaction any more, loses its conversion.
    Idempotent: a second run changes nothing. Returns counts per change."""
    until = until or timezone.now()
    counts = {"created": 0, "moved": 0, "removed": 0, "unchanged": 0}
    orders = (
        Order.objects.filter(brand_id=brand_id, paid_at__gte=since, paid_at__lt=until, member__isnull=False)
        .only("id", "brand_id", "member_id", "status", "total", "paid_at")
        .order_by("id")
    )
    last_id = 0
    while True:
        batch = list(orders.filter(pk__gt=last_id)[:REATTRIBUTE_BATCH])
        if not batch:
            break
        last_id = batch[-1].pk
        existing = {c.order_id: c for c in Conversion.objects.filter(order_id__in=[o.pk for o in batch])}
        for order in batch:
            current = existing.get(order.pk)
            best = (
                qualifying_interaction(brand_id=brand_id, member_id=order.member_id, paid_at=order.paid_at)
                if order.status == OrderStatus.PAID
                else None
            )
            if best is None:
                if current is not None:
                    Conversion.objects.filter(pk=current.pk).delete()
                    bump_workbench(guide_ids=[current.guide_id])
                    counts["removed"] += 1
                continue
            if current is None:
                counts["created" if _create(order, best) else "unchanged"] += 1
            elif current.interaction_id != best.pk or current.amount != order.total:
                Conversion.objects.filter(pk=current.pk).update(
                    interaction_id=best.pk,
                    guide_id=best.guide_id,
                    store_id=best.store_id,
                    plan_id=best.plan_id,
                    amount=order.total,
                )
                bump_workbench(guide_ids=[current.guide_id, best.guide_id])
                counts["moved"] += 1
            else:
                counts["unchanged"] += 1
    logger.info("reattributed brand %s since %s: %s", brand_id, since, counts)
    return counts
