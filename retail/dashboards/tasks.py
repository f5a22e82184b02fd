"""Celery tasks of the dashboards: thin, idempotent."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import rollups


@shared_task(acks_late=True)
def recompute_rollups_task(day: str | None = None) -> dict:
    """Nightly: recompute yesterday's (or `day`'s, ISO) rollups from the ledger and report
    drift; forget folded-event ids older than the outbox's retention."""
    when = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    report = rollups.recompute_day(when)
    report["purged"] = rollups.purge_folded_events(days=getattr(settings, "DOMAIN_EVENT_RETENTION_DAYS", 30))
    return report


# the name the brief asks for
recompute_rollups = recompute_rollups_task

# the subscriber retail.apps hooks up (importing this module also registers the task)
fold_event = rollups.fold_event
