"""Campaign tasks: the phase changes. Thin and idempotent: the service enters each phase
by a conditional UPDATE, so a beat entry firing twice, or beside the catch-up, repeats
nothing."""

from celery import shared_task
from django.db import OperationalError

from ..services import campaigns as services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def apply_campaign_phases_task(campaign_id: int) -> list[str]:
    """One campaign's due phase changes (run by its one-off beat entries)."""
    return [t.phase for t in services.apply_phases(campaign_id=campaign_id)]


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def apply_due_phases_task() -> int:
    """Catch-up every minute: phase changes a lost beat entry or a beat outage missed."""
    return len(services.apply_due_phases())
