"""Domain events: one `publish`, one catalogue (docs/events.md mirrors CATALOGUE).

`publish` writes the event to the outbox (DomainEvent) inside the caller's transaction and,
after commit, enqueues its delivery to the subscribers (Celery task `deliver_event_task`),
so nobody hears of a write that rolled back and no request waits for the subscribers.
Apps subscribe in their AppConfig.ready(); the core never calls up into them.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# name → what it means. Later apps extend it through `register()` in their ready().
CATALOGUE: dict[str, str] = {
    "store.created": "A store was added to a brand.",
    "store.updated": "A store's details or status changed.",
    "store.went_live": "A store finished onboarding and went live (with the minutes it took).",
    "product.created": "A product (SKU) was added to the catalog.",
    "product.updated": "A product's price, stock or details changed.",
    "staff.role_granted": "A user was given a role (HQ admin, store manager, guide) in a brand or store.",
    "staff.role_revoked": "A user's role in a brand or store was taken away.",
    "member.joined": "A new member joined the brand.",
    "member.updated": "A member's identity or consent changed.",
    "order.created": "An order was recorded in the sales ledger.",
    "webhook.paused": "A webhook subscription's endpoint kept failing; the circuit breaker paused it.",
}


@dataclass(frozen=True)
class Event:
    id: int | None
    name: str
    brand_id: int
    store_id: int | None
    payload: dict[str, Any]
    occurred_at: datetime

    def as_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.name,
            "brand": self.brand_id,
            "store": self.store_id,
            "occurred_at": self.occurred_at.isoformat(),
            "payload": self.payload,
        }


Subscriber = Callable[[Event], None]
_subscribers: list[tuple[str, Subscriber]] = []


class UnknownEvent(LookupError):
    pass


def register(name: str, meaning: str) -> None:
    """Add an event to the catalogue (apps above the core call this in ready())."""
    CATALOGUE.setdefault(name, meaning)


def subscribe(pattern: str, handler: Subscriber) -> None:
    """Call `handler(event)` after commit for every event whose name matches `pattern`."""
    if (pattern, handler) not in _subscribers:
        _subscribers.append((pattern, handler))


def publish(name: str, *, brand: int, store: int | None = None, **payload: Any) -> Event:
    """Record a domain event in the outbox and deliver it to subscribers after commit."""
    from .models import DomainEvent  # ground floor; imported late to keep this importable

    if name not in CATALOGUE:
        raise UnknownEvent(name)
    clean = _jsonable(payload)
    occurred_at = timezone.now()
    row = DomainEvent.objects.create(
        brand_id=brand, name=name, store_id=store, payload=clean, occurred_at=occurred_at
    )
    event = Event(row.pk, name, brand, store, clean, occurred_at)
    transaction.on_commit(lambda: _hand_off(event))
    return event


def _hand_off(event: Event) -> None:
    """After commit: subscribers run in a Celery worker, off the request's hot path
    (in the embedded mode the task runs in-process, at once)."""
    from .tasks import deliver_event_task

    try:
        deliver_event_task.delay(event.as_message())
    except Exception:  # broker down: the outbox row remains; never fail the committed write
        logger.exception("could not enqueue %s #%s; delivering in-process", event.name, event.id)
        deliver(event)


def event_from_message(message: dict[str, Any]) -> Event:
    return Event(
        id=message["id"],
        name=message["event"],
        brand_id=message["brand"],
        store_id=message["store"],
        payload=message["payload"],
        occurred_at=datetime.fromisoformat(message["occurred_at"]),
    )


def deliver(event: Event) -> None:
    """Hand an event to every matching subscriber; one failing does not stop the others."""
    for pattern, handler in list(_subscribers):
        if fnmatch.fnmatchcase(event.name, pattern):
            try:
                handler(event)
            except Exception:  # a subscriber's failure must never undo a committed write
                logger.exception("event subscriber %r failed on %s", handler, event.name)


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
