"""Celery tasks of members: thin, idempotent, taking ids and calling services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from retail.events import Event

from .. import services


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def earn_order_points_task(order_id: int) -> None:
    """Credit an order's points to its member; a repeat is a no-op (one entry per order)."""
    services.earn_points_for_order(order_id=order_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def recompute_member_tiers_task(brand_id: int) -> int:
    """Re-tier every member of a brand after its tier rules changed."""
    return services.recompute_member_tiers(brand_id=brand_id)


@shared_task(acks_late=True, ignore_result=True)
def expire_lapsed_points_task() -> None:
    """Monthly: let unused points older than POINTS_EXPIRE_AFTER_DAYS lapse, brand by brand
    (each brand in its own task, so one brand's failure does not hold up the others)."""
    from retail.models import Brand

    for brand_id in Brand.objects.values_list("pk", flat=True):
        expire_brand_points_task.delay(brand_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def expire_brand_points_task(brand_id: int) -> int:
    return services.expire_lapsed_points(brand_id=brand_id)


def on_order_created(event: Event) -> None:
    """`order.created` subscriber: orders with a member earn points, in their own task so a
    transient failure (lock timeout, deadlock) is retried rather than lost."""
    order_id = event.payload.get("order")
    if order_id and event.payload.get("member"):
        earn_order_points_task.delay(order_id)


# Each area's tasks live in its own module; importing them here registers them with Celery
# (autodiscovery imports `members.tasks`).
from . import imports, profiles, segments  # noqa: E402, F401
