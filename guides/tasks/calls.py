"""Celery tasks of calls: the simulated provider's call life (signed status callbacks)."""

from __future__ import annotations

import json
import time

import httpx
from celery import shared_task
from django.conf import settings
from django.utils import timezone


@shared_task(acks_late=True, ignore_result=True)
def simulate_call_task(provider_ref: str, call_ref: str, scenario: str) -> None:
    """Play a simulated call: each status callback is signed like a real provider's and goes
    through `services.calls.receive_callback` (or is POSTed to TELEPHONY_SIMULATOR_POST_URL).
    Safe to run twice: the callbacks' event ids repeat, so the second run changes nothing."""
    from ..providers import signing, telephony
    from ..services import calls

    step = settings.TELEPHONY_SIMULATOR_STEP_SECONDS
    post_url = settings.TELEPHONY_SIMULATOR_POST_URL
    secret = signing.secret_for("telephony")
    for event in telephony.simulated_events(provider_ref, call_ref, scenario):
        if step:
            time.sleep(step)
        event["at"] = timezone.now().isoformat()
        body = json.dumps(event).encode()
        headers = {signing.HEADER: signing.sign(secret, body)}
        if post_url:
            httpx.post(
                post_url, content=body, headers={**headers, "Content-Type": "application/json"}, timeout=10
            )
        else:
            calls.receive_callback("simulated", body, headers)


@shared_task(acks_late=True, ignore_result=True)
def expire_stale_calls_task() -> int:
    """Periodic: close calls whose provider never reported an end."""
    from ..services import calls

    return calls.expire_stale_calls()
