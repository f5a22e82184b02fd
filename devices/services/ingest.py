"""Telemetry ingestion: a device's batch of events, checked one by one, stored once per
(device, seq) in one set-based statement, with the device's day counters and its last seen.

    result = ingest_events(device=device, events=[{"seq": 1, "occurred_at": "...Z",
                                                   "type": "heartbeat", "payload": {}}])
    result.accepted, result.duplicates, result.rejected  # indexes into `events`

- An event is rejected (with a code and a message, nothing stored) when it is not an object,
  has an unknown field, a seq that is not an integer 0..2^63-1, an `occurred_at` that is not
  an ISO 8601 time with an offset, before 2000, or more than 5 minutes in the future, a type
  its device type does not send (`heartbeat` is always allowed), or a payload that is not an
  object valid against the type's JSON Schema.
- A seq already stored, or repeated earlier in the batch, is a duplicate: ignored, reported.
  Resending a batch any number of times stores each event once.
- Accepted events are stored with INSERT ... ON CONFLICT (device, seq) DO NOTHING RETURNING,
  in the caller's transaction, so they are durable before the answer. On PostgreSQL the
  whole write is one statement (_STORE_PG): the rows travel as one JSON document written by
  orjson and bound on the server, the day counters are added from the rows the INSERT
  returned, and an online device is marked seen, in one round trip. Elsewhere (SQLite in
  development) the same writes are separate statements.
- The device's day counters (DeviceDay: events received, seq_min, seq_max, events invalid
  against the schema) are upserted for every day the batch touches. The day is the local
  date of `occurred_at` in settings.TIME_ZONE.
- An event rejected for its type or payload (COUNTS_AS_INVALID) counts against accuracy
  once per (device, seq): it is recorded in DeviceRejectedEvent (INSERT ... ON CONFLICT DO
  NOTHING, in the same statement) and only a newly recorded rejection adds to `invalid`, so
  resending a batch with bad events any number of times counts each bad seq once. A seq
  already stored valid counts nothing when a bad copy of it arrives. A seq rejected before
  and stored valid now (a corrected resend) counts as received, and its rejection is taken
  off the `invalid` counter of the day it was counted in (and its record deleted). A seq
  rejected and accepted in the same batch counts as accepted only.
- Payloads are checked with jsonschema; the usual simple schema also gets a quick check in
  plain Python that passes only what jsonschema passes (see _quick_check), so jsonschema
  runs for the payloads it does not pass and writes every rejection's message.
- The device is seen now; a provisioned or offline device becomes online and
  `device.online` is published (once, whoever wins the conditional update); a heartbeat
  carrying `firmware` (a string) sets the device's firmware.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for

from retail import events as domain_events
from retail.errors import DomainError, InvalidInput

from ..choices import DeviceStatus
from ..models import Device, DeviceEvent, DeviceRejectedEvent, DeviceType

MAX_EVENTS = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_SEQ = 2**63 - 1
HEARTBEAT = "heartbeat"
FIELDS = frozenset({"seq", "occurred_at", "type", "payload"})
MAX_MESSAGE = 300

# Reasons an event is rejected (the `code` of each entry of `rejected`).
INVALID_EVENT = "invalid_event"
UNKNOWN_FIELD = "unknown_field"
INVALID_SEQ = "invalid_seq"
INVALID_OCCURRED_AT = "invalid_occurred_at"
FUTURE_OCCURRED_AT = "future_occurred_at"
UNKNOWN_TYPE = "unknown_type"
INVALID_PAYLOAD = "invalid_payload"
SCHEMA_INVALID = "schema_invalid"
# These count against the device's accuracy (DeviceDay.invalid of the day the event occurred).
COUNTS_AS_INVALID = frozenset({UNKNOWN_TYPE, INVALID_PAYLOAD, SCHEMA_INVALID})


@dataclass
class IngestResult:
    accepted: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    went_online: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "counts": {
                "accepted": len(self.accepted),
                "duplicates": len(self.duplicates),
                "rejected": len(self.rejected),
            },
        }


# --- the schemas ------------------------------------------------------------------------------

# (device type id, updated_at) → {event type: _Checker or None (no schema: any object)}. A
# changed type has a new updated_at, so it gets new checkers; the cache is bounded by a reset.
_VALIDATORS: dict[tuple[int, datetime | None], dict[str, Any]] = {}
_VALIDATORS_MAX = 512


class _Checker:
    """A payload's check against its event type's schema. jsonschema is the authority: it
    decides every payload the quick check (see _quick_check) does not pass, and writes the
    message of every rejection. A schema jsonschema cannot compile refuses every payload."""

    __slots__ = ("broken", "quick", "validator")

    def __init__(self, validator=None, quick=None, broken: str | None = None):
        self.validator, self.quick, self.broken = validator, quick, broken

    def problem(self, payload: dict) -> str | None:
        """None when the payload is valid, else why not (at most MAX_MESSAGE characters)."""
        if self.broken is not None:
            return f"The device type's schema for this event cannot be used: {self.broken}"
        if self.quick is not None and self.quick(payload):
            return None
        validator = self.validator
        if next(validator.iter_errors(payload), None) is None:
            return None
        error = best_match(validator.iter_errors(payload))
        where = "/".join(str(p) for p in error.absolute_path)
        message = f"payload/{where}: {error.message}" if where else f"payload: {error.message}"
        return message[:MAX_MESSAGE]


def validators_for(device_type: DeviceType) -> dict[str, Any]:
    """The checker of each event type the device type sends (None: no schema, any object).
    `heartbeat` is always there."""
    key = (device_type.pk, device_type.updated_at)
    found = _VALIDATORS.get(key)
    if found is not None:
        return found
    compiled: dict[str, Any] = {HEARTBEAT: None}
    schemas = device_type.event_schemas if isinstance(device_type.event_schemas, dict) else {}
    for event_type, schema in schemas.items():
        if schema in (None, {}, True):
            compiled[event_type] = None
            continue
        try:
            cls = validator_for(schema, default=Draft202012Validator)
            cls.check_schema(schema)
            compiled[event_type] = _Checker(cls(schema), _quick_check(schema))
        except (SchemaError, TypeError, AttributeError) as exc:
            compiled[event_type] = _Checker(broken=str(getattr(exc, "message", exc))[:200])
    if len(_VALIDATORS) >= _VALIDATORS_MAX:
        _VALIDATORS.clear()
    _VALIDATORS[key] = compiled
    return compiled


# The quick check: jsonschema spends ~40 µs on even a three-property payload (a third of a
# batch's time when one event in ten has a schema). The usual device schema (an object of
# typed properties with bounds, required names, no others) is also compiled to plain Python
# that answers "valid" only where JSON Schema 2020-12 says valid too, being stricter where in
# doubt (an integer must be a Python int, so 1.0 goes to jsonschema). Anything it does not
# pass goes to jsonschema; a schema using any other keyword (or naming its $schema dialect)
# has no quick check at all.
_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default", "deprecated"})
_VALUE_KEYWORDS = frozenset(
    {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"}
)
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})
_QUICK_TYPES = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _quick_value(schema: Any):
    """A function value → True only if `value` is valid against `schema`; None when the
    schema is beyond the quick check."""
    if schema is True or schema == {}:
        return lambda value: True
    if type(schema) is not dict or not set(schema) - _ANNOTATIONS <= _VALUE_KEYWORDS:
        return None
    types = None
    if "type" in schema:
        if type(schema["type"]) is not str or schema["type"] not in _QUICK_TYPES:
            return None
        types = _QUICK_TYPES[schema["type"]]
    bounds = [schema.get(k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")]
    lengths = [schema.get(k) for k in ("minLength", "maxLength")]
    if any(b is not None and not _is_number(b) for b in bounds):
        return None
    if any(n is not None and type(n) is not int for n in lengths):
        return None
    low, high, above, below = bounds
    shortest, longest = lengths

    def check(value) -> bool:
        kind = type(value)
        if types is not None and kind not in types:
            return False
        if kind is int or kind is float:  # bounds apply to numbers only (not to booleans)
            if (low is not None and value < low) or (high is not None and value > high):
                return False
            if (above is not None and value <= above) or (below is not None and value >= below):
                return False
        elif kind is str:  # lengths apply to strings only, in code points like jsonschema
            if (shortest is not None and len(value) < shortest) or (
                longest is not None and len(value) > longest
            ):
                return False
        return True

    return check


def _quick_check(schema: Any):
    """A function payload (a dict) → True only if it is valid against `schema`; None when
    the schema is beyond the quick check."""
    if type(schema) is not dict or "$schema" in schema or not set(schema) - _ANNOTATIONS <= _OBJECT_KEYWORDS:
        return None
    if schema.get("type", "object") != "object":
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    additional = schema.get("additionalProperties", True)
    if type(properties) is not dict or type(required) is not list or additional not in (True, False):
        return None
    if not all(type(name) is str for name in required):
        return None
    checks = {name: _quick_value(sub) for name, sub in properties.items()}
    if any(check is None for check in checks.values()):
        return None
    required = tuple(required)

    def check(payload: dict) -> bool:
        for name in required:
            if name not in payload:
                return False
        for name, value in payload.items():
            value_check = checks.get(name)
            if value_check is None:
                if additional is False:
                    return False
            elif not value_check(value):
                return False
        return True

    return check


# --- the use case -----------------------------------------------------------------------------


def ingest_events(*, device: Device, events: list[Any], now: datetime | None = None) -> IngestResult:
    """Check and store a device's batch; see the module docstring. Raises a DomainError
    (413 `batch_too_large`, 400 `invalid`, 403 `device_retired`) before writing anything."""
    if not isinstance(events, list):
        raise InvalidInput(
            "invalid",
            "`events` must be a list of events.",
            fields={"events": ["A list of events is required."]},
        )
    if len(events) > MAX_EVENTS:
        raise DomainError(
            "batch_too_large",
            f"A batch holds at most {MAX_EVENTS} events; this one has {len(events)}. "
            "Nothing was stored: send it in smaller batches.",
            status=413,
        )
    if device.status == DeviceStatus.RETIRED:
        raise DomainError(
            "device_retired", "This device is retired; its credential no longer works.", status=403
        )
    now = now or timezone.now()
    tz = ZoneInfo(settings.TIME_ZONE)
    result = IngestResult()
    validators = validators_for(device.device_type)
    future_limit = now + FUTURE_TOLERANCE

    rows: list[tuple[int, int, str, datetime, Any]] = []  # (index, seq, type, occurred_at, payload)
    first_index: dict[int, int] = {}  # seq → index of its first acceptable event in the batch
    bad_seqs: dict[int, date] = {}  # seq → the local day of its first rejection in the batch
    rejected = result.rejected

    for index, event in enumerate(events):
        if type(event) is not dict:
            rejected.append(
                _reject(index, INVALID_EVENT, "An event is an object: seq, occurred_at, type, payload.")
            )
            continue
        if len(event) > 4 or not FIELDS.issuperset(event):
            unknown = ", ".join(sorted(str(k) for k in event if k not in FIELDS))
            rejected.append(_reject(index, UNKNOWN_FIELD, f"Unknown field(s): {unknown}."))
            continue
        seq = event.get("seq")
        if type(seq) is not int or seq < 0 or seq > MAX_SEQ:
            rejected.append(_reject(index, INVALID_SEQ, "seq must be an integer from 0 to 2^63-1."))
            continue
        occurred_raw = event.get("occurred_at")
        try:
            occurred_at = datetime.fromisoformat(occurred_raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            occurred_at = None
        if occurred_at is None or occurred_at.tzinfo is None:
            rejected.append(
                _reject(
                    index,
                    INVALID_OCCURRED_AT,
                    "occurred_at must be an ISO 8601 time with an offset, e.g. 2026-11-26T10:00:00+08:00.",
                )
            )
            continue
        try:
            too_early = occurred_at < EARLIEST
        except OverflowError:  # pragma: no cover - only absurd offsets at year 1
            too_early = True
        if too_early:
            rejected.append(
                _reject(
                    index, INVALID_OCCURRED_AT, "occurred_at is before 2000: the device clock looks unset."
                )
            )
            continue
        if occurred_at > future_limit:
            rejected.append(
                _reject(
                    index,
                    FUTURE_OCCURRED_AT,
                    f"occurred_at is more than 5 minutes in the future (server time {now.isoformat()}).",
                )
            )
            continue
        event_type = event.get("type")
        if type(event_type) is not str or event_type not in validators:
            rejected.append(
                _reject(index, UNKNOWN_TYPE, f"The device type does not send events of type {event_type!r}.")
            )
            bad_seqs.setdefault(seq, occurred_at.astimezone(tz).date())
            continue
        payload = event.get("payload", {})
        if type(payload) is not dict:
            rejected.append(_reject(index, INVALID_PAYLOAD, "payload must be an object."))
            bad_seqs.setdefault(seq, occurred_at.astimezone(tz).date())
            continue
        checker = validators[event_type]
        if checker is not None:
            problem = checker.problem(payload)
            if problem is not None:
                rejected.append(_reject(index, SCHEMA_INVALID, problem))
                bad_seqs.setdefault(seq, occurred_at.astimezone(tz).date())
                continue
        if seq in first_index:
            result.duplicates.append(index)
            continue
        offset = occurred_at.utcoffset()
        if offset.seconds % 60 or offset.microseconds:  # an offset in seconds: say it in UTC
            occurred_at = occurred_at.astimezone(UTC)
        first_index[seq] = index
        rows.append((index, seq, event_type, occurred_at, payload))

    firmware = _latest_firmware(rows, device.firmware)
    # a seq accepted in this batch is not a rejection, whatever else the batch said of it
    bad = sorted((seq, day) for seq, day in bad_seqs.items() if seq not in first_index)
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            stored, seen = _store_pg(device, rows, bad, now, firmware)
        else:
            stored, seen = _store_portable(device, rows, bad, now, tz), False
        if stored is None:  # every row was stored: the usual case
            result.accepted += [r[0] for r in rows]
        else:
            for row in rows:
                (result.accepted if row[1] in stored else result.duplicates).append(row[0])
        if seen:  # an online device, marked seen by the same statement
            device.last_seen_at = now
            if firmware is not None:
                device.firmware = firmware
        else:
            result.went_online = _mark_seen(device, now, firmware)
    result.accepted.sort()
    result.duplicates.sort()
    return result


def _reject(index: int, code: str, message: str) -> dict[str, Any]:
    return {"index": index, "code": code, "message": message}


def _latest_firmware(rows, current: str) -> str | None:
    """The firmware named by the batch's latest heartbeat, when it differs from the device's."""
    latest_at, latest = None, None
    for _index, _seq, event_type, occurred_at, payload in rows:
        if event_type != HEARTBEAT:
            continue
        value = payload.get("firmware")
        if isinstance(value, str) and 0 < len(value) <= 40 and (latest_at is None or occurred_at > latest_at):
            latest_at, latest = occurred_at, value
    return latest if latest is not None and latest != current else None


# --- the statements ---------------------------------------------------------------------------

_EVENT_TABLE = "devices_deviceevent"
_DAY_TABLE = "devices_deviceday"
_DEVICE_TABLE = "devices_device"

# Adds a batch's counters to the device's day rows (days in order: concurrent batches of one
# device lock them in the same order).
_DAY_CONFLICT = f"""
ON CONFLICT (device_id, day) DO UPDATE SET
    received = {_DAY_TABLE}.received + excluded.received,
    invalid = CASE WHEN {_DAY_TABLE}.invalid + excluded.invalid < 0 THEN 0
                   ELSE {_DAY_TABLE}.invalid + excluded.invalid END,
    seq_min = CASE
        WHEN excluded.seq_min IS NULL THEN {_DAY_TABLE}.seq_min
        WHEN {_DAY_TABLE}.seq_min IS NULL OR excluded.seq_min < {_DAY_TABLE}.seq_min THEN excluded.seq_min
        ELSE {_DAY_TABLE}.seq_min END,
    seq_max = CASE
        WHEN excluded.seq_max IS NULL THEN {_DAY_TABLE}.seq_max
        WHEN {_DAY_TABLE}.seq_max IS NULL OR excluded.seq_max > {_DAY_TABLE}.seq_max THEN excluded.seq_max
        ELSE {_DAY_TABLE}.seq_max END
"""

_REJECTED_TABLE = "devices_devicerejectedevent"

# PostgreSQL: the whole write of a batch in one statement (one round trip; bound on the
# server, so psycopg prepares it after a few runs). The rows travel as one JSON document,
# [[index, seq, type, occurred_at, payload], ...] written by orjson in C: no per-value work
# in Python, no quoting into the SQL text. The events not stored yet are inserted; the bad
# seqs not rejected before (nor stored) are recorded as rejected; the rejections of seqs
# stored now are cleared; the day counters are added from what those returned (+1 received
# per stored event, +1 invalid per new rejection, -1 invalid per cleared one); an online
# device is marked seen. The answer: whether the device was marked seen, how many events
# were stored, and their seqs unless all of them were.
# (All CTEs see the same snapshot: a seq both stored and rejected in one batch never reaches
# here, ingest_events drops it from the bad seqs.)
_STORE_PG = f"""
WITH stored AS (
    INSERT INTO {_EVENT_TABLE} (brand_id, device_id, seq, event_type, occurred_at, received_at, payload)
    SELECT %(brand)s, %(device)s, (e->>1)::bigint, e->>2, (e->>3)::timestamptz, %(now)s, e->4
    FROM jsonb_array_elements(%(rows)s::jsonb) AS e
    ORDER BY 3
    ON CONFLICT (device_id, seq) DO NOTHING
    RETURNING seq, occurred_at
),
rejected AS (
    INSERT INTO {_REJECTED_TABLE} (brand_id, device_id, seq, day, rejected_at)
    SELECT %(brand)s, %(device)s, b.seq, b.day, %(now)s
    FROM unnest(%(bad_seqs)s::bigint[], %(bad_days)s::date[]) AS b (seq, day)
    WHERE NOT EXISTS (
        SELECT 1 FROM {_EVENT_TABLE} e WHERE e.device_id = %(device)s AND e.seq = b.seq
    )
    ORDER BY b.seq
    ON CONFLICT (device_id, seq) DO NOTHING
    RETURNING day
),
cleared AS (
    DELETE FROM {_REJECTED_TABLE} r
    USING stored s
    WHERE r.device_id = %(device)s AND r.seq = s.seq
      AND EXISTS (SELECT 1 FROM {_REJECTED_TABLE} WHERE device_id = %(device)s)
    RETURNING r.day
),
counted AS (
    SELECT day, sum(received)::integer AS received, sum(invalid)::integer AS invalid,
           min(seq) AS seq_min, max(seq) AS seq_max
    FROM (
        SELECT (occurred_at AT TIME ZONE %(tz)s)::date AS day, 1 AS received, 0 AS invalid, seq
        FROM stored
        UNION ALL
        SELECT day, 0, 1, NULL::bigint FROM rejected
        UNION ALL
        SELECT day, 0, -1, NULL::bigint FROM cleared
    ) AS counts
    GROUP BY day
),
days AS (
    INSERT INTO {_DAY_TABLE} (brand_id, device_id, day, received, invalid, seq_min, seq_max, gaps)
    SELECT %(brand)s, %(device)s, day, received, invalid, seq_min, seq_max, 0
    FROM counted
    ORDER BY day
    {_DAY_CONFLICT}
),
seen AS (
    UPDATE {_DEVICE_TABLE}
    SET last_seen_at = %(now)s, firmware = COALESCE(%(firmware)s::varchar, firmware)
    WHERE id = %(device)s AND status = %(online)s AND %(was_online)s
    RETURNING id
)
SELECT (SELECT count(*) FROM seen), count(*),
       CASE WHEN count(*) = %(sent)s THEN NULL ELSE array_agg(seq) END
FROM stored
"""


def _store_pg(device: Device, rows, bad: list[tuple[int, date]], now: datetime, firmware):
    """Store a batch in one statement (see _STORE_PG): (None when every row was stored, else
    the seqs stored; whether the device was online and is now marked seen)."""
    params = {
        "brand": device.brand_id,
        "device": device.pk,
        "now": now,
        "rows": _dump_rows(rows),
        "tz": settings.TIME_ZONE,
        "bad_seqs": [seq for seq, _day in bad],
        "bad_days": [day.isoformat() for _seq, day in bad],
        "firmware": firmware,
        "online": DeviceStatus.ONLINE.value,
        "was_online": device.status == DeviceStatus.ONLINE,
        "sent": len(rows),
    }
    with _server_bound_cursor() as cursor:
        cursor.execute(_STORE_PG, params)
        seen, count, seqs = cursor.fetchone()
    stored = None if count == len(rows) else set(seqs or ())
    return stored, bool(seen)


def _server_bound_cursor():
    """A cursor of Django's connection that binds parameters on the server (Django's own
    cursors quote them into the SQL text): the document goes as it is, and psycopg prepares
    a statement it sees again. Wrapped like Django's cursors (errors, query log)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))


def _dump_rows(rows) -> str:
    """The rows as one JSON document; times as ISO 8601 with their offset (whole minutes:
    ingest_events moved any other offset to UTC)."""
    try:
        return orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits in a payload
        return _dumps([[i, seq, t, at.isoformat(), p] for i, seq, t, at, p in rows])


_INSERT_PORTABLE = f"""
INSERT INTO {_EVENT_TABLE} (brand_id, device_id, seq, event_type, occurred_at, received_at, payload)
VALUES {{values}}
ON CONFLICT (device_id, seq) DO NOTHING
RETURNING seq
"""

_UPSERT_DAYS = f"""
INSERT INTO {_DAY_TABLE} (brand_id, device_id, day, received, invalid, seq_min, seq_max, gaps)
VALUES {{values}}
{_DAY_CONFLICT}
"""

_INSERT_REJECTED = f"""
INSERT INTO {_REJECTED_TABLE} (brand_id, device_id, seq, day, rejected_at)
VALUES {{values}}
ON CONFLICT (device_id, seq) DO NOTHING
RETURNING day
"""


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _store_portable(device: Device, rows, bad: list[tuple[int, date]], now: datetime, tz) -> set[int]:
    """Other databases (SQLite in development): the same writes as separate statements; the
    device is marked seen by the caller."""
    stored: set[int] = set()
    ops = connection.ops
    invalid_days: dict[date, int] = defaultdict(int)
    if bad:  # new rejections (not rejected before, not stored) count +1 on their day
        known = set(
            DeviceEvent.objects.filter(device_id=device.pk, seq__in=[seq for seq, _day in bad]).values_list(
                "seq", flat=True
            )
        )
        fresh = [(seq, day) for seq, day in bad if seq not in known]
        if fresh:
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(fresh))
            params = []
            for seq, day in fresh:
                params += [
                    device.brand_id,
                    device.pk,
                    seq,
                    ops.adapt_datefield_value(day),
                    ops.adapt_datetimefield_value(now),
                ]
            with connection.cursor() as cursor:
                cursor.execute(_INSERT_REJECTED.format(values=values), params)
                for (day,) in cursor.fetchall():
                    invalid_days[_as_date(day)] += 1
    if rows:
        received = ops.adapt_datetimefield_value(now)
        params: list[Any] = []
        for _index, seq, event_type, occurred_at, payload in sorted(rows, key=lambda r: r[1]):
            params += [
                device.brand_id,
                device.pk,
                seq,
                event_type,
                ops.adapt_datetimefield_value(occurred_at),
                received,
                _dumps(payload),
            ]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_PORTABLE.format(values=values), params)
            stored = {row[0] for row in cursor.fetchall()}
    if stored and DeviceRejectedEvent.objects.filter(device_id=device.pk).exists():
        # a corrected resend: the seqs stored now no longer count as rejected
        cleared = DeviceRejectedEvent.objects.filter(device_id=device.pk, seq__in=stored)
        for day in list(cleared.values_list("day", flat=True)):
            invalid_days[day] -= 1
        cleared.delete()
    days: dict[date, list] = {}  # day → [received, invalid, seq_min, seq_max]
    for _index, seq, _event_type, occurred_at, _payload in rows:
        if seq not in stored:
            continue
        day = occurred_at.astimezone(tz).date()
        counters = days.get(day)
        if counters is None:
            days[day] = [1, 0, seq, seq]
        else:
            counters[0] += 1
            counters[2] = min(counters[2], seq)
            counters[3] = max(counters[3], seq)
    for day, count in invalid_days.items():
        if count:
            days.setdefault(day, [0, 0, None, None])[1] += count
    if days:
        params = []
        for day in sorted(days):
            received_count, invalid, seq_min, seq_max = days[day]
            params += [
                device.brand_id,
                device.pk,
                ops.adapt_datefield_value(day),
                received_count,
                invalid,
                seq_min,
                seq_max,
            ]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, 0)"] * len(days))
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_DAYS.format(values=values), params)
    return stored


def _mark_seen(device: Device, now: datetime, firmware: str | None) -> bool:
    """The device was seen now (and runs `firmware` if given). True when it came online
    (provisioned or offline before): then `device.online` is published, once."""
    changes: dict[str, Any] = {"last_seen_at": now}
    if firmware is not None:
        changes["firmware"] = firmware
    devices = Device.objects.filter(pk=device.pk)
    if device.status == DeviceStatus.ONLINE and devices.filter(status=DeviceStatus.ONLINE).update(**changes):
        came_online = False
    else:
        came_online = bool(
            devices.filter(status__in=[DeviceStatus.PROVISIONED, DeviceStatus.OFFLINE]).update(
                status=DeviceStatus.ONLINE, **changes
            )
        )
        if not came_online:  # online meanwhile (another batch), or retired: only the time
            devices.exclude(status=DeviceStatus.RETIRED).update(**changes)
    device.last_seen_at = now
    if firmware is not None:
        device.firmware = firmware
    if came_online:
        device.status = DeviceStatus.ONLINE
        domain_events.publish(
            "device.online",
            brand=device.brand_id,
            store=device.store_id,
            device=device.pk,
            serial=device.serial,
        )
    return came_online
