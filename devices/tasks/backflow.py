"""Celery tasks of device backflow: thin, idempotent, taking ids."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from ..services import backflow as services


@shared_task(acks_late=True, ignore_result=True)
def compute_device_days_task(day: str | None = None) -> int:
    """Nightly: score yesterday and rescore the day before (settings.TIME_ZONE; or only the
    ISO `day` given) for every brand; returns the number of device days computed. Rerunning
    recomputes the same rows."""
    when = dt.date.fromisoformat(day) if day else None
    return sum(services.compute_all_device_days(day=when).values())


@shared_task(acks_late=True, ignore_result=True)
def issue_monthly_verdicts_task(month: str | None = None) -> int:
    """Monthly: the previous month's reward / penalty notices (or the ISO `month` given's) for
    every brand; returns how many notices were issued. One per partner and month."""
    when = dt.date.fromisoformat(month) if month else None
    return sum(services.issue_all_verdicts(month=when).values())
