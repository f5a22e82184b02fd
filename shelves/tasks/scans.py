"""Celery tasks of scans.

Scheduled in retail/schedules.py: `publish_scan_counts_task` every minute (one
`shelf.scans_counted` event per store and minute; single scans are not events: the scan is
the Double-11 hot path)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from ..services import scans as services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def publish_scan_counts_task() -> int:
    """Publish the scans of the last complete minutes per store (idempotent: a store-minute
    already published is skipped, so a retry or a second run does no harm)."""
    return services.publish_scan_counts()
