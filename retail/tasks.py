"""Celery tasks of the core: thin, idempotent, calling services."""

from celery import shared_task

from . import events, maintenance


@shared_task(acks_late=True, ignore_result=True)
def deliver_event_task(message: dict) -> None:
    """Hand one committed domain event to every subscriber (they must be idempotent)."""
    events.deliver(events.event_from_message(message))


@shared_task(acks_late=True)
def purge_idempotency_records_task() -> int:
    return maintenance.purge_idempotency_records()


@shared_task(acks_late=True)
def purge_domain_events_task() -> int:
    return maintenance.purge_domain_events()
