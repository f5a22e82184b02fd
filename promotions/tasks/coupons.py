"""Celery tasks of coupons: thin, idempotent, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from ..services import stockgate


@shared_task(acks_late=True)
def reconcile_stock_gates_task() -> int:
    """Set every live template's Redis stock counter from the database (the source of
    truth): repairs counters left low by a process that died mid-claim, or lost in Redis.
    Schedule every minute during a campaign; a no-op without Redis."""
    return stockgate.reconcile()
