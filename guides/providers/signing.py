"""HMAC signatures of provider callbacks: `X-Tiandi-Signature: t=<unix>,v1=<hex>` where
v1 = hmac-sha256(secret, f"{t}.{body}"). Stale signatures (more than five minutes off) are
refused, so a captured callback cannot be replayed later; comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings

HEADER = "X-Tiandi-Signature"
TOLERANCE_SECONDS = 300


class BadSignature(Exception):
    """The callback's signature is missing, wrong or stale: it changes nothing."""


def secret_for(kind: str) -> str:
    """The callback secret of `kind` ("telephony" / "messaging"): TELEPHONY_CALLBACK_SECRET /
    MESSAGING_CALLBACK_SECRET, or (embedded default) one derived from SECRET_KEY."""
    configured = getattr(settings, f"{kind.upper()}_CALLBACK_SECRET", "")
    if configured:
        return configured
    return hmac.new(
        settings.SECRET_KEY.encode(), f"guides.{kind}.callbacks".encode(), hashlib.sha256
    ).hexdigest()


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, at: float | None = None) -> str:
    """The header value for `body` signed now (or at `at`, a unix time)."""
    timestamp = int(at if at is not None else time.time())
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def header_value(headers: Mapping[str, Any] | Any, name: str = HEADER) -> str:
    """A header from a dict, Django's request.headers or a WSGI META, case-insensitively."""
    if headers is None:
        return ""
    for key in (name, name.lower(), "HTTP_" + name.upper().replace("-", "_")):
        value = headers.get(key) if hasattr(headers, "get") else None
        if value:
            return str(value)
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == name.lower():
                return str(value)
    return ""


def verify(secret: str, body: bytes, headers: Any, *, now: float | None = None) -> None:
    """Raise BadSignature unless `headers` carry a fresh, valid signature of `body`."""
    raw = header_value(headers)
    if not raw:
        raise BadSignature("missing signature")
    parts: dict[str, list[str]] = {}
    for item in raw.split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, IndexError):
        raise BadSignature("malformed signature") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise BadSignature("stale signature")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise BadSignature("bad signature")
