"""Telephony adapters: a masked call bridges the guide and the member and shows the brand's
name, so the guide never needs the member's number.

Every provider answers three things: `place_call` (start the bridge; returns the provider's
reference), `verify_callback` (the status callback's HMAC signature; raises BadSignature and
nothing changes) and `parse_status` (the callback's payload as a `CallUpdate`).

- "http": POSTs JSON to TELEPHONY_HTTP_URL with TELEPHONY_HTTP_API_KEY; its status callbacks
  to /hooks/telephony/http/ are signed with TELEPHONY_CALLBACK_SECRET.
- "simulated": bridges nothing but lives a real call: a job (guides.tasks.calls) produces the
  signed status callbacks — ringing, then answered + completed with a duration, or no_answer /
  busy — and hands them to the same `services.calls.receive_callback` the endpoint calls (or
  POSTs them to TELEPHONY_SIMULATOR_POST_URL). The scenario comes from the member's number
  (…0404: no answer, …0909: busy, anything else: answered) unless TELEPHONY_SIMULATOR_SCENARIO
  names one."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..choices import CallStatus
from . import signing

SCENARIOS = ("answered", "no_answer", "busy")


class ProviderError(Exception):
    """The provider could not be reached or refused the request."""


class BadPayload(ValueError):
    """A signed callback whose body is not a status we understand."""


@dataclass(frozen=True)
class CallUpdate:
    event_id: str
    provider_ref: str
    status: str
    at: dt.datetime
    duration: int = 0
    call_ref: str = ""


class TelephonyProvider:
    """The interface every telephony provider implements."""

    name = ""

    def place_call(
        self, *, call_ref: str, guide_phone: str, member_phone: str, caller_name: str, callback_url: str
    ) -> str:
        raise NotImplementedError

    def verify_callback(self, body: bytes, headers: Any) -> dict:
        """The callback's payload; raises signing.BadSignature (or BadPayload) first."""
        signing.verify(signing.secret_for("telephony"), body, headers)
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadPayload("not JSON") from exc
        if not isinstance(payload, dict):
            raise BadPayload("not an object")
        return payload

    def parse_status(self, payload: dict) -> CallUpdate:
        status = str(payload.get("status", ""))
        if status not in CallStatus.values or status == CallStatus.REQUESTED:
            raise BadPayload(f"unknown status {status!r}")
        event_id = str(payload.get("event_id") or "")[:64]
        provider_ref = str(payload.get("call_id") or "")[:64]
        if not event_id or not (provider_ref or payload.get("call_ref")):
            raise BadPayload("event_id and call_id are required")
        at = parse_datetime(str(payload.get("at") or "")) or timezone.now()
        if timezone.is_naive(at):
            at = timezone.make_aware(at, dt.UTC)
        try:
            duration = max(0, int(payload.get("duration") or 0))
        except (TypeError, ValueError):
            raise BadPayload("duration must be a number") from None
        return CallUpdate(
            event_id=event_id,
            provider_ref=provider_ref,
            status=status,
            at=at,
            duration=duration,
            call_ref=str(payload.get("call_ref") or "")[:64],
        )


class HttpTelephony(TelephonyProvider):
    """A carrier's masked-call API over HTTP (JSON in, `{"call_id": ...}` out)."""

    name = "http"

    def place_call(
        self, *, call_ref: str, guide_phone: str, member_phone: str, caller_name: str, callback_url: str
    ) -> str:
        url = settings.TELEPHONY_HTTP_URL
        if not url:
            raise ProviderError("TELEPHONY_HTTP_URL is not set")
        body = {
            "call_ref": call_ref,
            "caller": guide_phone,
            "callee": member_phone,
            "display_name": caller_name,
            "status_callback": callback_url,
        }
        timeout = settings.TELEPHONY_HTTP_TIMEOUT_SECONDS
        try:
            response = httpx.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {settings.TELEPHONY_HTTP_API_KEY}"},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise ProviderError(
                type(exc).__name__
            ) from None  # never the exception text: it may echo the body
        if response.status_code >= 300:
            raise ProviderError(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = {}
        # a provider that answers without an id of its own is tracked by our call_ref,
        # which it echoes on every status callback
        ref = data.get("call_id") if isinstance(data, dict) else None
        return str(ref or call_ref)[:64]


class SimulatedTelephony(TelephonyProvider):
    """Drives a real call life through signed status callbacks (see the module docstring)."""

    name = "simulated"

    def place_call(
        self, *, call_ref: str, guide_phone: str, member_phone: str, caller_name: str, callback_url: str
    ) -> str:
        from retail.jobs import enqueue_job

        from ..tasks.calls import simulate_call_task

        provider_ref = f"sim-{call_ref}"
        # only the scenario's name goes to the job: no phone number in a broker message
        enqueue_job(simulate_call_task, provider_ref, call_ref, scenario_for(member_phone))
        return provider_ref


def scenario_for(member_phone: str) -> str:
    forced = settings.TELEPHONY_SIMULATOR_SCENARIO
    if forced in SCENARIOS:
        return forced
    if member_phone.endswith("0404"):
        return "no_answer"
    if member_phone.endswith("0909"):
        return "busy"
    return "answered"


def simulated_events(provider_ref: str, call_ref: str, scenario: str) -> list[dict]:
    """The status callbacks a simulated call produces, in order."""
    steps: list[tuple[str, int]] = [(CallStatus.RINGING, 0)]
    if scenario == "no_answer":
        steps.append((CallStatus.NO_ANSWER, 0))
    elif scenario == "busy":
        steps.append((CallStatus.BUSY, 0))
    else:
        duration = 30 + sum(ord(c) for c in call_ref) % 90
        steps += [(CallStatus.ANSWERED, 0), (CallStatus.COMPLETED, duration)]
    return [
        {
            "event_id": f"{provider_ref}-{i}-{status}",
            "call_id": provider_ref,
            "call_ref": call_ref,
            "status": str(status),
            "duration": duration,
        }
        for i, (status, duration) in enumerate(steps)
    ]


PROVIDERS: dict[str, type[TelephonyProvider]] = {"simulated": SimulatedTelephony, "http": HttpTelephony}


def get_provider(name: str) -> TelephonyProvider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ProviderError(f"unknown telephony provider {name!r}") from None
