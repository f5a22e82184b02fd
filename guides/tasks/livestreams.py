"""Livestream tasks: the reminders (every minute). Thin and idempotent: the service claims
each livestream and each signup by a conditional UPDATE, so overlapping runs remind nobody
twice."""

from celery import shared_task
from django.db import OperationalError

from ..services import livestreams as services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def send_livestream_reminders_task() -> int:
    """Remind the signups of livestreams starting within their reminder window."""
    return services.send_due_reminders()
