"""Celery tasks of the offline counter: thin, idempotent, calling services."""

from __future__ import annotations

from celery import shared_task

from ..services import offline


@shared_task(acks_late=True)
def close_expired_blocks_task() -> int:
    """Close the offline blocks whose coupons expired a day ago and whose tablet never came
    back: their unused coupons are void and the block is closed (hand-outs can no longer
    matter: the coupons cannot be redeemed). Safe to run twice. Schedule hourly."""
    return offline.close_expired_blocks()
