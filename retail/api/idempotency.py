"""Idempotency-Key for every POST: the same key answers with the first stored response;
the same key with a different body is a 422; a key whose first request is still running
is a 409. Keys belong to one API client and expire after IDEMPOTENCY_TTL_HOURS."""

from __future__ import annotations

import hashlib
import json
import re

from django.db import IntegrityError, transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..errors import Conflict, DomainError, InvalidInput
from ..models import IdempotencyRecord

HEADER = "Idempotency-Key"
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


class Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


def request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request._request.body)
    return digest.hexdigest()


def begin(request) -> IdempotencyRecord | None:
    """Claim the key for this request, or raise Replay / a DomainError."""
    key = request.headers.get(HEADER)
    client_id = getattr(getattr(request, "principal", None), "api_client_id", None)
    if key is None or client_id is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not _PRINTABLE_ASCII.fullmatch(key):
        raise InvalidInput(
            "invalid_idempotency_key",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
        )
    digest = request_hash(request)
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                client_id=client_id,
                key=key,
                method=request.method,
                path=request.path[:255],
                request_hash=digest,
            )
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(client_id=client_id, key=key).first()
    if record is None:  # the first request failed and released the key just now
        raise Conflict("request_in_progress", "A request with this Idempotency-Key is in progress; retry.")
    if record.request_hash != digest:
        raise DomainError(
            "idempotency_key_reused",
            f"This {HEADER} was used with a different request.",
            status=422,
        )
    if record.status_code is None:
        raise Conflict("request_in_progress", "A request with this Idempotency-Key is in progress; retry.")
    response = Response(record.response_body, status=record.status_code)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    raise Replay(response)


def finish(record: IdempotencyRecord, response) -> None:
    """Store the answer; server errors and throttling release the key for a retry."""
    if response.status_code >= 500 or response.status_code in (409, 429):
        release(record)
        return
    data = getattr(response, "data", None)
    record.status_code = response.status_code
    record.response_body = json.loads(JSONRenderer().render(data)) if data is not None else None
    record.response_headers = {k: response[k] for k in ("Location",) if response.has_header(k)}
    record.save(update_fields=["status_code", "response_body", "response_headers"])


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()
