"""Celery tasks of device registry: thin, idempotent, taking ids.

Scheduled in retail/schedules.py: `mark_offline_devices_task` every minute (the heartbeat
watch), `delete_expired_device_events_task` daily (raw telemetry retention)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from retail.models import Brand

from ..services import registry as services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), max_retries=3)
def mark_offline_devices_task() -> int:
    """The heartbeat watch: online devices that missed their heartbeats go offline (and say so)."""
    return len(services.mark_offline_devices())


@shared_task(acks_late=True, ignore_result=True)
def delete_expired_device_events_task() -> None:
    """Daily: delete raw telemetry older than each brand's retention, brand by brand (each in
    its own task, so one brand's failure does not hold up the others). Device days stay."""
    for brand_id in Brand.objects.order_by("pk").values_list("pk", flat=True):
        delete_brand_device_events_task.delay(brand_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def delete_brand_device_events_task(brand_id: int) -> int:
    return services.delete_expired_device_events(brand_id=brand_id)
