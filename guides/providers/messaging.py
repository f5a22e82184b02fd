"""Messaging adapters: SMS and work-chat messages to members, with delivery reports.

`send(channel=, to_phone= or to_member_ref=, body=, message_ref=)` hands over one message and
returns the provider's reference; `send_batch` hands over many (a broadcast). Delivery
reports come back signed like telephony callbacks (guides.providers.signing, secret
MESSAGING_CALLBACK_SECRET) to /hooks/messaging/<provider>/, one report or a batch:
`{"reports": [{"event_id", "message_id", "message_ref", "status": "delivered"|"failed", "at", "error"}]}`.

- "http": POSTs `{"messages": [...]}` to MESSAGING_HTTP_URL with MESSAGING_HTTP_API_KEY.
- "simulated": accepts at once, then a job (guides.tasks.messaging) reports each message
  delivered — or failed for numbers / member refs ending in 0505 — through the same
  `services.messaging.receive_delivery_report` the endpoint calls (or POSTs the report to
  MESSAGING_SIMULATOR_POST_URL)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import signing


class ProviderError(Exception):
    """The provider could not be reached or refused the request."""


class BadPayload(ValueError):
    """A signed report whose body we do not understand."""


@dataclass(frozen=True)
class Outgoing:
    message_ref: str
    channel: str
    body: str
    to_phone: str = ""
    to_member_ref: str = ""


@dataclass(frozen=True)
class DeliveryUpdate:
    event_id: str
    provider_ref: str
    status: str  # "delivered" | "failed"
    at: dt.datetime
    error: str = ""


class MessagingProvider:
    """The interface every messaging provider implements."""

    name = ""

    def send(
        self, *, channel: str, body: str, message_ref: str, to_phone: str = "", to_member_ref: str = ""
    ) -> str:
        return self.send_batch(
            [
                Outgoing(
                    message_ref=message_ref,
                    channel=channel,
                    body=body,
                    to_phone=to_phone,
                    to_member_ref=to_member_ref,
                )
            ]
        )[message_ref]

    def send_batch(self, messages: list[Outgoing]) -> dict[str, str]:
        """{message_ref: provider_ref} for every message handed over; raises ProviderError."""
        raise NotImplementedError

    def verify_callback(self, body: bytes, headers: Any) -> dict:
        signing.verify(signing.secret_for("messaging"), body, headers)
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadPayload("not JSON") from exc
        if not isinstance(payload, dict):
            raise BadPayload("not an object")
        return payload

    def parse_reports(self, payload: dict) -> list[DeliveryUpdate]:
        reports = payload.get("reports", [payload])
        if not isinstance(reports, list):
            raise BadPayload("reports must be a list")
        updates = []
        for report in reports:
            if not isinstance(report, dict):
                raise BadPayload("a report must be an object")
            status = report.get("status")
            if status not in ("delivered", "failed"):
                raise BadPayload(f"unknown status {status!r}")
            ref = str(report.get("message_id") or "")[:64]
            if not ref:
                raise BadPayload("message_id is required")
            at = parse_datetime(str(report.get("at") or "")) or timezone.now()
            if timezone.is_naive(at):
                at = timezone.make_aware(at, dt.UTC)
            updates.append(
                DeliveryUpdate(
                    event_id=str(report.get("event_id") or "")[:64],
                    provider_ref=ref,
                    status=status,
                    at=at,
                    error=str(report.get("error") or "")[:200],
                )
            )
        return updates


class HttpMessaging(MessagingProvider):
    name = "http"

    def send_batch(self, messages: list[Outgoing]) -> dict[str, str]:
        url = settings.MESSAGING_HTTP_URL
        if not url:
            raise ProviderError("MESSAGING_HTTP_URL is not set")
        body = {
            "messages": [
                {
                    "message_ref": m.message_ref,
                    "channel": m.channel,
                    "to": m.to_phone or m.to_member_ref,
                    "body": m.body,
                }
                for m in messages
            ]
        }
        try:
            response = httpx.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {settings.MESSAGING_HTTP_API_KEY}"},
                timeout=settings.MESSAGING_HTTP_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise ProviderError(type(exc).__name__) from None
        if response.status_code >= 300:
            raise ProviderError(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = {}
        given = {}
        if isinstance(data, dict):
            for row in data.get("results") or []:
                if isinstance(row, dict) and row.get("message_ref") and row.get("message_id"):
                    given[str(row["message_ref"])] = str(row["message_id"])[:64]
        # a provider that answers without ids of its own is tracked by our message_ref
        return {m.message_ref: given.get(m.message_ref, m.message_ref) for m in messages}


class SimulatedMessaging(MessagingProvider):
    name = "simulated"

    def send_batch(self, messages: list[Outgoing]) -> dict[str, str]:
        from retail.jobs import enqueue_job

        from ..tasks.messaging import simulate_delivery_task

        refs = {m.message_ref: f"simmsg-{m.message_ref}" for m in messages}
        # only references and outcomes go to the job: no phone number in a broker message
        outcomes = [[refs[m.message_ref], m.message_ref, outcome_for(m)] for m in messages]
        enqueue_job(simulate_delivery_task, outcomes)
        return refs


def outcome_for(message: Outgoing) -> str:
    forced = settings.MESSAGING_SIMULATOR_OUTCOME
    if forced in ("delivered", "failed"):
        return forced
    return "failed" if (message.to_phone or message.to_member_ref).endswith("0505") else "delivered"


def simulated_reports(outcomes: list[list[str]]) -> dict:
    now = timezone.now().isoformat()
    return {
        "reports": [
            {
                "event_id": f"{provider_ref}-{status}",
                "message_id": provider_ref,
                "message_ref": message_ref,
                "status": status,
                "at": now,
                "error": "unreachable" if status == "failed" else "",
            }
            for provider_ref, message_ref, status in outcomes
        ]
    }


PROVIDERS: dict[str, type[MessagingProvider]] = {"simulated": SimulatedMessaging, "http": HttpMessaging}


def get_provider(name: str) -> MessagingProvider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ProviderError(f"unknown messaging provider {name!r}") from None
