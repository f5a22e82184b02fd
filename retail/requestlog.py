"""The partner-API request log: every request made with a partner token, for the console.

Hot paths (orders, telemetry) must not pay a write per request, so rows are buffered in the
process and written with one bulk INSERT every FLUSH_ROWS rows or FLUSH_SECONDS seconds
(checked when a request is recorded, from the request thread, after its transaction
commits), and once more at process exit (atexit).

What can be lost: this is a diagnostics log, not a ledger. A process that dies without
running atexit (SIGKILL, OOM, a crash) loses its unwritten rows: at most FLUSH_ROWS rows or
FLUSH_SECONDS seconds of its requests, plus the rows of an idle process since its last
partner request (the time check runs only when a request comes). A failed bulk INSERT
drops its batch (logged; rows of a partner deleted meanwhile are left out beforehand), and while flushes cannot happen at all the buffer keeps the newest MAX_BUFFER rows. A request whose transaction rolls back is still recorded (the
row is buffered, not written in that transaction).

What is recorded: every /api/ request whose Authorization carries a partner token
(`Bearer tdk_<prefix>_...`), whatever the answer: the view's answer (finalize_response), a 401
of a revoked, expired or wrong token (the row names the partner the prefix belongs to; a
prefix that names no token is left out: no partner to show it to), an unhandled error as 500
(PartnerAPIMixin.dispatch, before re-raising) and an unknown /api/ route (the JSON handler404).
Only the prefix is kept, never the secret. A valid token costs no query here (its principal
names the partner); a refused one costs one indexed lookup of its prefix.
Device credentials (telemetry batches) are not partner tokens: they are not recorded.
Retention: `purge_request_log()` deletes rows older than API_REQUEST_LOG_DAYS (default 7),
run daily by the beat schedule.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import Resolver404, resolve
from django.utils import timezone

from .models import ApiClient, ApiRequestLog, ApiToken

logger = logging.getLogger(__name__)

DEFAULT_ROWS = 100
DEFAULT_SECONDS = 2.0
DEFAULT_DAYS = 7
PURGE_BATCH = 5000
MAX_BUFFER = 10_000  # rows held at most while flushes cannot happen (the oldest go first)

_lock = threading.Lock()
_buffer: list[ApiRequestLog] = []
_oldest: float | None = None  # monotonic time of the oldest buffered row
_PARAM = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def flush_rows() -> int:
    return int(getattr(settings, "API_REQUEST_LOG_FLUSH_ROWS", DEFAULT_ROWS))


def flush_seconds() -> float:
    return float(getattr(settings, "API_REQUEST_LOG_FLUSH_SECONDS", DEFAULT_SECONDS))


def retention_days() -> int:
    return int(getattr(settings, "API_REQUEST_LOG_DAYS", DEFAULT_DAYS))


def route_template(route: str | None) -> str:
    """The URL pattern as a partner reads it: `/api/v1/orders/{pk}/`."""
    if not route:
        return ""
    text = re.sub(r"\\\.\(\?P<format>[^)]*\)", "", route)  # DRF's `.json` suffix routes
    text = _PARAM.sub(r"{\1}", text)
    text = _CONVERTER.sub(r"{\1}", text)
    text = text.replace("/?", "/").replace("^", "").replace("$", "").replace("\\", "")
    return "/" + text.lstrip("/")


def start(request) -> None:
    """Called when the API view starts: the clock for the duration."""
    request._requestlog_started = time.perf_counter()


def _raw(request):
    """The Django request under a DRF one (rows and the clock are kept on it)."""
    return getattr(request, "_request", request)


def token_prefix_of(request) -> str | None:
    """The prefix of a partner token in the Authorization header (`Bearer tdk_<prefix>_...`),
    or None: no header, another scheme, a device credential."""
    from .services import TOKEN_PREFIX

    header = _raw(request).META.get("HTTP_AUTHORIZATION", "")
    kind, _, raw = header.partition(" ")
    parts = raw.strip().split("_", 2)
    if kind != "Bearer" or len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1]:
        return None
    return parts[1][:16]


def _partner_of(request) -> tuple[int, int, str] | None:
    """(brand id, client id, token prefix) of the request's partner token, if it has one."""
    principal = getattr(request, "principal", None)
    client_id = getattr(principal, "api_client_id", None)
    if client_id is not None and getattr(principal, "kind", None) == "partner":
        token = getattr(request, "auth", None)
        return principal.brand_id, client_id, str(getattr(token, "prefix", "") or "")[:16]
    prefix = token_prefix_of(request)
    if prefix is None:
        return None
    # a refused token (revoked, expired, wrong secret, disabled client): whose prefix is it?
    found = ApiToken.objects.filter(prefix=prefix).values_list("client__brand_id", "client_id").first()
    return (found[0], found[1], prefix) if found else None


def record(request, response) -> ApiRequestLog | None:
    """Buffer one row if the request was made with a partner token; flush when due."""
    return record_status(request, response.status_code)


def record_status(request, status_code: int) -> ApiRequestLog | None:
    """Buffer the request's row with this status. A request is one row: a second call (an
    unhandled error after the view answered, e.g. at commit) updates its status."""
    raw = _raw(request)
    row = getattr(raw, "_requestlog_row", None)
    if row is not None:
        row.status_code = status_code
        return row
    try:
        who = _partner_of(request)
    except Exception:  # a diagnostics log never breaks a request (nor hides its error)
        logger.exception("API request log: could not tell the partner")
        return None
    if who is None:
        return None
    brand_id, client_id, prefix = who
    started = getattr(raw, "_requestlog_started", None)
    duration = int((time.perf_counter() - started) * 1000) if started is not None else 0
    match = getattr(raw, "resolver_match", None)
    if match is None:  # refused before URL resolution (the body-size cap): name its route anyway
        try:
            match = resolve(raw.path_info)
        except Resolver404:
            match = None
    row = ApiRequestLog(
        brand_id=brand_id,
        client_id=client_id,
        token_prefix=prefix,
        method=raw.method[:8],
        route=route_template(getattr(match, "route", ""))[:200],
        path=raw.path[:255],
        status_code=status_code,
        duration_ms=max(0, duration),
        at=timezone.now(),
        request_id=str(getattr(raw, "request_id", "") or "")[:64],
    )
    raw._requestlog_row = row
    add(row)
    return row


def add(row: ApiRequestLog) -> None:
    global _oldest
    now = time.monotonic()
    with _lock:
        _buffer.append(row)
        if len(_buffer) > MAX_BUFFER:  # the database is away: keep the newest rows only
            del _buffer[: len(_buffer) - MAX_BUFFER]
        if _oldest is None:
            _oldest = now
        due = len(_buffer) >= flush_rows() or now - _oldest >= flush_seconds()
    if due:
        _flush_when_committed()


def _flush_when_committed() -> None:
    # A POST runs in one transaction; write the batch after it commits, never inside it
    # (a rollback must not take the log with it). On rollback the callback is dropped and
    # the rows stay buffered for the next flush.
    if connection.in_atomic_block:
        transaction.on_commit(flush)
    else:
        flush()


def pending() -> int:
    with _lock:
        return len(_buffer)


def flush(*, quiet: bool = False) -> int:
    """Write the buffered rows now (one bulk INSERT); returns how many were written.
    Rows of a partner deleted since they were buffered are left out (one SELECT), so a
    foreign key never fails the batch, even where constraints are checked at commit."""
    global _buffer, _oldest
    with _lock:
        rows, _buffer, _oldest = _buffer, [], None
    if not rows:
        return 0
    try:
        alive = set(ApiClient.objects.filter(pk__in={r.client_id for r in rows}).values_list("pk", flat=True))
        rows = [r for r in rows if r.client_id in alive]
        return _insert(rows) if rows else 0
    except Exception:  # a diagnostics log never breaks a partner's request
        return _dropped(rows, quiet)


def _insert(rows: list[ApiRequestLog]) -> int:
    ApiRequestLog.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _dropped(rows: list[ApiRequestLog], quiet: bool) -> int:
    if not quiet:
        logger.exception("API request log: dropped %d rows", len(rows))
    return 0


def discard() -> None:
    """Forget the buffered rows (tests: one test's rows never reach the next)."""
    global _buffer, _oldest
    with _lock:
        _buffer, _oldest = [], None


def _flush_at_exit() -> None:
    try:
        flush(quiet=True)  # logging's streams may be closed already
    except Exception:  # the interpreter is going away; nothing more to do
        pass


atexit.register(_flush_at_exit)


def purge_request_log(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete rows older than `days` (API_REQUEST_LOG_DAYS), in batches; returns the count."""
    cutoff = (now or timezone.now()) - timedelta(days=days if days is not None else retention_days())
    deleted = 0
    while True:
        ids = list(ApiRequestLog.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return deleted
        deleted += ApiRequestLog.objects.filter(pk__in=ids).delete()[0]
