"""Celery tasks of the core: thin, idempotent, calling services."""

from celery import shared_task

from . import events, maintenance, requestlog, webhooks


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


@shared_task(acks_late=True)
def purge_staff_notifications_task() -> int:
    return maintenance.purge_staff_notifications()


@shared_task(acks_late=True, ignore_result=True)
def pump_webhook_task(subscription_id: int) -> None:
    """Send one subscription's due deliveries in order (a second pump at once just returns)."""
    webhooks.pump(subscription_id)


@shared_task(acks_late=True)
def pump_due_webhooks_task() -> int:
    """Every minute: restart the pumps of subscriptions with a delivery due (retries whose
    back-off ran out, and pumps whose task was lost)."""
    from .jobs import enqueue_job

    due = webhooks.due_subscription_ids()
    for subscription_id in due:
        enqueue_job(pump_webhook_task, subscription_id)
    return len(due)


@shared_task(acks_late=True, ignore_result=True)
def redeliver_webhook_task(delivery_id: int) -> None:
    from .models import WebhookDelivery

    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is not None:
        webhooks.redeliver(delivery=delivery)


@shared_task(acks_late=True)
def purge_api_request_log_task() -> int:
    """The partner-API request log keeps API_REQUEST_LOG_DAYS of diagnostics."""
    return requestlog.purge_request_log()
