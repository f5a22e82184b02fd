"""Celery tasks of the core: thin, idempotent, calling services."""

from celery import shared_task

from . import maintenance


@shared_task(acks_late=True)
def purge_idempotency_records_task() -> int:
    return maintenance.purge_idempotency_records()


@shared_task(acks_late=True)
def purge_domain_events_task() -> int:
    return maintenance.purge_domain_events()
