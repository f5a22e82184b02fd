"""Celery tasks of messaging: broadcasts (set-based sending) and the simulated provider's
delivery reports."""

from __future__ import annotations

import json
import time

import httpx
from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True, ignore_result=True)
def send_broadcast_task(broadcast_id: int) -> None:
    """Send a broadcast (idempotent: a retried job keeps each member's message once)."""
    from ..services import messaging

    messaging.run_broadcast(broadcast_id=broadcast_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_messages_task(message_ids: list[int]) -> None:
    """Hand queued messages to their provider (1:1 sends after commit)."""
    from ..services import messaging

    messaging.deliver_messages(message_ids=message_ids)


@shared_task(acks_late=True, ignore_result=True)
def simulate_delivery_task(outcomes: list[list[str]]) -> None:
    """The simulated provider's delivery reports for [provider_ref, message_ref, status]
    rows, signed and handed to the report handler in batches (a repeat changes nothing)."""
    from ..providers import messaging as providers
    from ..providers import signing
    from ..services import messaging

    step = settings.MESSAGING_SIMULATOR_STEP_SECONDS
    post_url = settings.MESSAGING_SIMULATOR_POST_URL
    secret = signing.secret_for("messaging")
    if step:
        time.sleep(step)
    for start in range(0, len(outcomes), 1000):
        body = json.dumps(providers.simulated_reports(outcomes[start : start + 1000])).encode()
        headers = {signing.HEADER: signing.sign(secret, body)}
        if post_url:
            httpx.post(
                post_url, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=30
            )
        else:
            messaging.receive_delivery_report("simulated", body, headers)


@shared_task(acks_late=True, ignore_result=True)
def deliver_stuck_messages_task() -> int:
    """Periodic: hand over 1:1 messages whose after-commit hand-off was lost."""
    from ..services import messaging

    return messaging.deliver_stuck_messages()
