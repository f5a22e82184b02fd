"""Conversion tasks: the recompute of a period (thin, idempotent; the service does the work)."""

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from ..services import conversions as services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def reattribute_task(brand_id: int, since: str, until: str | None = None) -> dict[str, int]:
    """Recompute the brand's conversions of orders paid since `since` (ISO datetime)."""
    return services.reattribute(
        brand_id=brand_id,
        since=dt.datetime.fromisoformat(since),
        until=dt.datetime.fromisoformat(until) if until else None,
    )


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def reattribute_recent_task(days: int = 2) -> int:
    """Nightly catch-up: every brand's last `days` days (orders whose event was missed,
    interactions synced from offline after the order, refunds)."""
    from django.utils import timezone

    from retail.models import Brand

    since = timezone.now() - dt.timedelta(days=days)
    for brand_id in Brand.objects.values_list("id", flat=True).iterator():
        services.reattribute(brand_id=brand_id, since=since)
    return 0
