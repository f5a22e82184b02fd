"""HQ hears of a paused webhook: `webhook.paused` (the circuit breaker opened) notifies the
brand's HQ admins (inbox and bell, retail.notifications) with a link to the partner's
console, or to the partner list for a subscription of HQ's own; resuming the subscription
resolves it. Wired by RetailConfig.ready; idempotent (the dedupe key is the event's id)."""

from __future__ import annotations

from django.urls import reverse

from . import events, notifications
from .models import NotificationKind, WebhookSubscription


def subject(subscription_id: int) -> str:
    return f"webhook:{subscription_id}"


def connect() -> None:
    events.subscribe("webhook.paused", on_webhook_paused)


def on_webhook_paused(event) -> None:
    subscription = WebhookSubscription.objects.filter(
        pk=event.payload.get("subscription"), brand_id=event.brand_id
    ).first()
    if subscription is None or subscription.paused_at is None:
        return  # gone, or already resumed by the time the event is handled
    if subscription.client_id:
        url = reverse("retail:partner_console", kwargs={"client_id": subscription.client_id})
    else:
        url = reverse("retail:partner_list")
    notifications.notify_brand_hq(
        brand_id=event.brand_id,
        kind=NotificationKind.WEBHOOK_PAUSED,
        message="webhook_paused",
        params={"url": event.payload.get("url", subscription.url)},
        url=url,
        subject=subject(subscription.pk),
        dedupe_key=f"webhook.paused:{event.id}",
    )


def resolve_paused(subscription: WebhookSubscription) -> int:
    """The subscription was resumed: its open pause notifications leave the bell."""
    return notifications.resolve(
        brand_id=subscription.brand_id,
        subject=subject(subscription.pk),
        kinds=[NotificationKind.WEBHOOK_PAUSED],
    )
