"""Webhooks: partners (and HQ) subscribe to domain events and get them POSTed, signed.

- Every published event (retail.events) reaches `on_event` after commit, which queues one
  `WebhookDelivery` per matching subscription (unique per subscription and event: a repeat
  of the hand-off queues nothing twice) and starts the subscription's pump.
- A pump sends one subscription's deliveries in event order, one at a time (a lease on the
  subscription row keeps a second pump out). A failure schedules a retry with exponential
  back-off and holds the later deliveries back, so a receiver sees events in order; after
  WEBHOOK_MAX_ATTEMPTS the delivery goes to the dead-letter list (replayable) and the queue
  moves on. WEBHOOK_BREAKER_FAILURES failed attempts in a row pause the subscription
  (`webhook.paused`, audited) until a person resumes it; events keep being queued meanwhile.
- Each attempt has a timeout, so a slow receiver holds only its own subscription's pump;
  pumps and redeliveries run on their own Celery queue ("webhooks", its own workers), and
  one pump run stops after WEBHOOK_PUMP_BUDGET_SECONDS and queues itself again for the
  rest, so a slow receiver never keeps a worker from the other subscriptions for long.
- Order under concurrent commits (PostgreSQL): event ids are given at insert, but two
  transactions can commit out of id order. Before a first attempt the pump waits (at most
  WEBHOOK_ORDER_SETTLE_SECONDS after the event) while an older writing transaction is
  still open, then queues any earlier event of the outbox that has no delivery yet (its
  hand-off may not have run), so the head of the queue really is the oldest.
- Delivery is at least once: the body carries the event id for receivers to deduplicate.

The request a receiver gets::

    POST <url>
    Content-Type: application/json
    Tiandi-Event: order.created
    Tiandi-Event-Id: 1234
    Tiandi-Delivery: 987
    Tiandi-Signature: t=1764123456,v1=<hex>[,v1=<hex under the previous secret>]

    {"id": 1234, "event": "order.created", "brand": 1, "store": 2,
     "occurred_at": "...", "payload": {...}}

`v1` is HMAC-SHA256 of "<t>.<raw body>" under the subscription's secret, hex. Receivers
check one `v1` matches and that `t` is within their replay window (docs/webhooks.md).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, crypto, events
from .choices import AuditAction, DeliveryStatus
from .errors import InvalidInput
from .models import DomainEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Tiandi-Signature"
USER_AGENT = "Tiandi-Webhooks/1"
OPEN = [DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
LEASE = timedelta(seconds=90)
PUMP_BATCH = 100  # deliveries per pump run at most; the next run goes on
ORDER_LOOKBACK = timedelta(minutes=5)  # how far back the pump looks for events not yet queued


# --- signing ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" under `secret`, hex."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets_)])


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    found = [crypto.decrypt(subscription.secret)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires and expires > now:
        found.append(crypto.decrypt(subscription.previous_secret))
    return found


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


# --- subscriptions --------------------------------------------------------------------------------


def clean_event_types(event_types) -> list[str]:
    """Exact event names or patterns ("order.*", "*"), each matching the catalogue."""
    if not isinstance(event_types, list | tuple) or not event_types:
        raise InvalidInput(
            "invalid", _("Subscribe to at least one event type."), fields={"event_types": [_("Required.")]}
        )
    cleaned, unknown = [], []
    for name in event_types:
        name = str(name).strip()
        if not name or not fnmatch.filter(events.CATALOGUE, name):
            unknown.append(name)
        elif name not in cleaned:
            cleaned.append(name)
    if unknown:
        raise InvalidInput(
            "unknown_event_type",
            _("Unknown event types: %(names)s.") % {"names": ", ".join(unknown)},
            fields={"event_types": [_("Not in the event catalogue.")]},
        )
    return cleaned


def clean_url(url: str) -> str:
    """An http(s) URL; in production (WEBHOOK_ALLOW_PRIVATE_URLS off) it must be https and
    must not resolve to a private, loopback or link-local address (no reaching inside)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidInput(
            "invalid", _("Enter an http(s) URL."), fields={"url": [_("Enter an http(s) URL.")]}
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return url
    if parts.scheme != "https":
        raise InvalidInput("invalid", _("Webhook URLs must use https."), fields={"url": [_("Use https.")]})
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise InvalidInput(
            "invalid", _("The URL's host does not resolve."), fields={"url": [_("Unknown host.")]}
        ) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise InvalidInput(
                "invalid",
                _("The URL points at a private address."),
                fields={"url": [_("Use a public address.")]},
            )
    return url


def create_subscription(
    *, brand_id: int, url: str, event_types, client=None, description: str = ""
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret in clear (shown once). Audited."""
    if client is not None and client.brand_id != brand_id:
        raise InvalidInput("other_brand", _("Unknown partner."), fields={"client": [_("Not found.")]})
    clear = new_secret()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            brand_id=brand_id,
            client=client,
            url=clean_url(url),
            event_types=clean_event_types(event_types),
            description=(description or "").strip()[:200],
            secret=crypto.encrypt(clear),
        )
        audit.record(AuditAction.CREATE, subscription, after=_snapshot(subscription))
    return subscription, clear


def update_subscription(*, subscription: WebhookSubscription, **fields) -> WebhookSubscription:
    """Change url, event types, description or active. Audited."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        before = _snapshot(locked)
        if "url" in fields:
            locked.url = clean_url(fields["url"])
        if "event_types" in fields:
            locked.event_types = clean_event_types(fields["event_types"])
        if "description" in fields:
            locked.description = (fields["description"] or "").strip()[:200]
        if "is_active" in fields:
            locked.is_active = bool(fields["is_active"])
        locked.save()
        audit.record(AuditAction.UPDATE, locked, before=before, after=_snapshot(locked))
    if locked.is_active:
        _start_pump(locked.pk)
    return locked


def rotate_secret(*, subscription: WebhookSubscription, now: datetime | None = None) -> str:
    """A new secret (returned in clear, once); the old one keeps signing, beside the new,
    for WEBHOOK_SECRET_OVERLAP_HOURS. Audited as a permission change."""
    now = now or timezone.now()
    clear = new_secret()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
        locked.secret = crypto.encrypt(clear)
        locked.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"])
        audit.record(AuditAction.PERMISSION, locked, message="webhook secret rotated")
    subscription.secret, subscription.previous_secret = locked.secret, locked.previous_secret
    subscription.previous_secret_expires_at = locked.previous_secret_expires_at
    return clear


def resume_subscription(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Close the circuit breaker: the queued deliveries go out again, in order. Audited."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.paused_at, locked.pause_reason, locked.consecutive_failures = None, "", 0
        locked.save(update_fields=["paused_at", "pause_reason", "consecutive_failures", "updated_at"])
        audit.record(AuditAction.UPDATE, locked, message="webhook resumed")
        from .webhook_alerts import resolve_paused

        resolve_paused(locked)  # HQ's "paused" notifications leave the bell
    _start_pump(locked.pk)
    return locked


def replay_dead(*, subscription: WebhookSubscription) -> int:
    """Put the dead-letter deliveries back in the queue (in event order, fresh attempts)."""
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(subscription=subscription, status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.RETRYING, attempts=0, next_attempt_at=None
        )
        audit.record(AuditAction.UPDATE, subscription, message=f"webhook dead letters replayed: {count}")
    _start_pump(subscription.pk)
    return count


def _snapshot(subscription: WebhookSubscription) -> dict:
    return {
        "url": subscription.url,
        "event_types": subscription.event_types,
        "client": subscription.client_id,
        "is_active": subscription.is_active,
        "description": subscription.description,
    }


# --- fan-out ------------------------------------------------------------------------------------


def matches(subscription: WebhookSubscription, name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in subscription.event_types)


# Events meant for one partner (payload "partner" = its ApiClient id): its own subscriptions
# and the brand's client-less ones hear them, another partner's never do.
PARTNER_ADDRESSED = frozenset({"backflow.notice_issued"})


def addressed_to(subscription: WebhookSubscription, event: events.Event) -> bool:
    if event.name not in PARTNER_ADDRESSED or subscription.client_id is None:
        return True
    return subscription.client_id == (event.payload or {}).get("partner")


def on_event(event: events.Event) -> None:
    """Subscriber of every event (wired in RetailConfig.ready): queue its deliveries."""
    if event.id is None:
        return
    found = [
        s
        for s in WebhookSubscription.objects.filter(brand_id=event.brand_id, is_active=True)
        if matches(s, event.name) and addressed_to(s, event)
    ]
    if not found:
        return
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(brand_id=event.brand_id, subscription=s, event_id=event.id, event_name=event.name)
            for s in found
        ],
        ignore_conflicts=True,
    )
    for subscription in found:
        if subscription.paused_at is None:
            _start_pump(subscription.pk)


def _start_pump(subscription_id: int) -> None:
    """Pump after commit, off the request path (a worker; the embedded mode's job thread)."""
    from .jobs import enqueue_job
    from .tasks import pump_webhook_task

    enqueue_job(pump_webhook_task, subscription_id)


def due_subscription_ids(*, now: datetime | None = None) -> list[int]:
    """Active, unpaused subscriptions whose oldest open delivery is due now (the minutely
    safety net: retries whose back-off ran out, and pumps whose task was lost)."""
    now = now or timezone.now()
    heads = WebhookDelivery.objects.filter(subscription=OuterRef("pk"), status__in=OPEN).order_by("event_id")
    return list(
        WebhookSubscription.objects.filter(is_active=True, paused_at__isnull=True)
        .filter(Exists(heads))
        .annotate(head_at=Subquery(heads.values("next_attempt_at")[:1]))
        .filter(Q(head_at__isnull=True) | Q(head_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- sending ------------------------------------------------------------------------------------


@dataclass
class PumpResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    held: bool = False  # someone else's pump holds the subscription, or it is paused
    next_at: datetime | None = None  # when the head of the queue is due again
    more: bool = False  # the time budget (or the batch) ran out; the pump queued itself again


def backoff(attempts: int) -> timedelta:
    """Delay after the `attempts`-th failed attempt: base × 2^(attempts-1), capped."""
    seconds = settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_BACKOFF_MAX_SECONDS))


def _acquire(subscription_id: int, now: datetime) -> bool:
    return bool(
        WebhookSubscription.objects.filter(pk=subscription_id, is_active=True, paused_at__isnull=True)
        .filter(Q(pumping_until__isnull=True) | Q(pumping_until__lt=now))
        .update(pumping_until=now + LEASE)
    )


def _release(subscription_id: int) -> None:
    WebhookSubscription.objects.filter(pk=subscription_id).update(pumping_until=None)


def body_of(event: DomainEvent) -> bytes:
    message = {
        "id": event.pk,
        "event": event.name,
        "brand": event.brand_id,
        "store": event.store_id,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
    }
    return json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""


def send(
    subscription: WebhookSubscription, delivery: WebhookDelivery, event: DomainEvent, *, client: httpx.Client
) -> Outcome:
    """One signed POST. A 2xx is success; anything else (other status, timeout, refused
    connection) is a failure worth retrying."""
    body = body_of(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Tiandi-Event": event.name,
        "Tiandi-Event-Id": str(event.pk),
        "Tiandi-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(signing_secrets(subscription, timezone.now()), timestamp, body),
    }
    started = time.perf_counter()
    try:
        response = client.post(subscription.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Outcome(False, None, _ms(started), "timeout")
    except httpx.HTTPError as exc:
        return Outcome(False, None, _ms(started), f"{type(exc).__name__}: {exc}"[:300])
    ok = 200 <= response.status_code < 300
    return Outcome(
        ok,
        response.status_code,
        _ms(started),
        "" if ok else f"HTTP {response.status_code}",
        response.text[:500],
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _older_writers_open(since) -> tuple[bool, datetime | None]:
    """PostgreSQL: is another transaction that has written something (it may hold an event
    id it has not committed) and began at or before `since` (the database's clock; None:
    now) still open? Returns the answer and the database's now. Other databases: no (SQLite
    runs one writer at a time, so commits come in id order)."""
    if connection.vendor != "postgresql":
        return False, None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement_timestamp(), EXISTS (SELECT 1 FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_xid IS NOT NULL AND xact_start <= COALESCE(%s, statement_timestamp()))",
            [since],
        )
        now, found = cursor.fetchone()
    return bool(found), now


def _wait_for_earlier_commits(event: DomainEvent) -> None:
    """Hold the first attempt of a fresh event while a transaction that began before it is
    still open (it may commit an event with a smaller id), at most until the event is
    WEBHOOK_ORDER_SETTLE_SECONDS old. Usually no wait at all: nothing older is open."""
    settle = settings.WEBHOOK_ORDER_SETTLE_SECONDS
    if settle <= 0:
        return
    deadline = event.occurred_at + timedelta(seconds=settle)
    since = None
    while timezone.now() < deadline:
        busy, db_now = _older_writers_open(since)
        if not busy:
            return
        since = since or db_now  # only transactions begun before the first look count
        time.sleep(0.05)


def _queue_earlier_events(subscription: WebhookSubscription, event: DomainEvent) -> int:
    """Queue the subscription's deliveries of outbox events older than `event` (smaller id,
    within ORDER_LOOKBACK) that have none yet: committed after it, or their hand-off to
    `on_event` has not run. Returns how many were queued (the head may have changed)."""
    since = max(subscription.created_at, event.occurred_at - ORDER_LOOKBACK)
    earlier = DomainEvent.objects.filter(
        brand_id=subscription.brand_id, pk__lt=event.pk, occurred_at__gte=since
    )
    if not any(c in p for p in subscription.event_types for c in "*?["):
        earlier = earlier.filter(name__in=subscription.event_types)
    queued = WebhookDelivery.objects.filter(subscription=subscription, event_id=OuterRef("pk"))
    missing = [
        WebhookDelivery(
            brand_id=subscription.brand_id, subscription=subscription, event_id=pk, event_name=name
        )
        for pk, name in earlier.exclude(Exists(queued)).values_list("pk", "name")
        if matches(subscription, name)
    ]
    if missing:
        WebhookDelivery.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def pump(
    subscription_id: int, *, now_fn=timezone.now, transport: httpx.BaseTransport | None = None
) -> PumpResult:
    """Send the subscription's due deliveries in event order until the queue is empty, the
    head must wait for its back-off, the breaker trips, or the run's time budget
    (WEBHOOK_PUMP_BUDGET_SECONDS) or PUMP_BATCH is used up: then the pump queues itself
    again for the rest (behind the other work of the queue) and returns."""
    result = PumpResult()
    if not _acquire(subscription_id, now_fn()):
        result.held = True
        return result
    started = time.monotonic()
    try:
        timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS)
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
            for _ in range(PUMP_BATCH):
                if time.monotonic() - started >= settings.WEBHOOK_PUMP_BUDGET_SECONDS:
                    result.more = True
                    break
                subscription = WebhookSubscription.objects.get(pk=subscription_id)
                if not subscription.is_active or subscription.paused_at is not None:
                    result.held = True
                    break
                head = (
                    WebhookDelivery.objects.filter(subscription_id=subscription_id, status__in=OPEN)
                    .order_by("event_id")
                    .first()
                )
                if head is None:
                    break
                now = now_fn()
                if head.next_attempt_at and head.next_attempt_at > now:
                    result.next_at = head.next_attempt_at
                    break
                event = DomainEvent.objects.filter(pk=head.event_id).first()
                if event is None:  # purged from the outbox: nothing left to send
                    _finish(head, now, DeliveryStatus.DEAD, error="event purged")
                    result.dead += 1
                    continue
                if head.attempts == 0:  # a first attempt: make sure nothing older comes late
                    _wait_for_earlier_commits(event)
                    _queue_earlier_events(subscription, event)
                    older = WebhookDelivery.objects.filter(
                        subscription_id=subscription_id, status__in=OPEN, event_id__lt=head.event_id
                    )
                    if older.exists():
                        continue  # an older event turned up meanwhile: it goes first
                WebhookSubscription.objects.filter(pk=subscription_id).update(pumping_until=now + LEASE)
                outcome = send(subscription, head, event, client=client)
                _record(subscription, head, outcome, now_fn(), result)
                if not outcome.ok and head.status != DeliveryStatus.DEAD:
                    result.next_at = head.next_attempt_at
                    break
            else:
                result.more = True  # PUMP_BATCH sent: the rest in the next run
    finally:
        _release(subscription_id)
    if result.more:
        _start_pump(subscription_id)
    return result


def _finish(delivery: WebhookDelivery, now: datetime, status: str, *, error: str = "") -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.last_error = error
    if status == DeliveryStatus.SUCCEEDED:
        delivery.delivered_at = now
    delivery.save(update_fields=["status", "next_attempt_at", "last_error", "delivered_at"])


def _log_attempt(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> list[str]:
    """The attempt's row in the delivery log, and its figures on the delivery (not saved:
    returns the fields the caller saves)."""
    WebhookAttempt.objects.create(
        brand_id=delivery.brand_id,
        delivery=delivery,
        attempted_at=now,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
        response_excerpt=outcome.excerpt,
    )
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_duration_ms = outcome.status_code, outcome.duration_ms
    delivery.last_error = outcome.error
    fields = ["attempts", "last_status_code", "last_duration_ms", "last_error"]
    if outcome.ok and delivery.status != DeliveryStatus.SUCCEEDED:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
        fields += ["status", "delivered_at", "next_attempt_at"]
    return fields


def _record(
    subscription: WebhookSubscription,
    delivery: WebhookDelivery,
    outcome: Outcome,
    now: datetime,
    result: PumpResult,
) -> None:
    with transaction.atomic():
        fields = _log_attempt(delivery, outcome, now)
        if outcome.ok:
            result.sent += 1
            WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)
        else:
            result.failed += 1
            if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.DEAD, None
                result.dead += 1
            else:
                delivery.status = DeliveryStatus.RETRYING
                delivery.next_attempt_at = now + backoff(delivery.attempts)
            fields += ["status", "next_attempt_at"]
            _count_failure(subscription, now, outcome)
        delivery.save(update_fields=sorted(set(fields)))


def _count_failure(subscription: WebhookSubscription, now: datetime, outcome: Outcome) -> None:
    """One more failure in a row; at the threshold the breaker opens (the subscription is
    paused, HQ hears of it through `webhook.paused` and the audit trail)."""
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    locked.consecutive_failures += 1
    fields = ["consecutive_failures"]
    if locked.paused_at is None and locked.consecutive_failures >= settings.WEBHOOK_BREAKER_FAILURES:
        locked.paused_at = now
        locked.pause_reason = (
            f"{locked.consecutive_failures} failed attempts in a row; last: {outcome.error or outcome.status_code}"
        )[:200]
        fields += ["paused_at", "pause_reason"]
        audit.record(AuditAction.UPDATE, locked, message=f"webhook paused: {locked.pause_reason}")
        events.publish(
            "webhook.paused",
            brand=locked.brand_id,
            subscription=locked.pk,
            url=locked.url,
            failures=locked.consecutive_failures,
        )
    locked.save(update_fields=fields)


def redeliver(*, delivery: WebhookDelivery, transport: httpx.BaseTransport | None = None) -> WebhookDelivery:
    """Send one delivery again now, whatever its status (a partner asks after losing it).
    Out of the ordered queue by nature; recorded as an attempt. A dead delivery that now
    succeeds leaves the dead-letter list."""
    subscription = delivery.subscription
    event = DomainEvent.objects.filter(pk=delivery.event_id).first()
    if event is None:
        raise InvalidInput("gone", _("The event is no longer kept; it cannot be sent again."))
    timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS)
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
        outcome = send(subscription, delivery, event, client=client)
    with transaction.atomic():
        delivery.save(update_fields=_log_attempt(delivery, outcome, timezone.now()))
    return delivery
