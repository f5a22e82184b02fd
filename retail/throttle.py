"""Fixed-window attempt counters in the cache (Redis in production) for public pages where
a shopper types a phone number (a dispenser's scan page, a store's join page): per client
address and place, and per phone (by its blind index, never the clear number)."""

from __future__ import annotations

from django.core.cache import cache

from . import audit

PHONE_ATTEMPTS_PER_HOUR = 10
IP_ATTEMPTS_PER_HOUR = 60
WINDOW_SECONDS = 3600


def hit(key: str, limit: int, *, window: int = WINDOW_SECONDS) -> bool:
    """Count one attempt under `key` in a fixed window; False once over the limit."""
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def phone_form_throttled(request, *, scope: str, place_id: int, phone_digest: str | None) -> bool:
    """Over the limit per client address (at this place) or per phone (its blind index)."""
    ip = audit.current_context().remote_addr or request.META.get("REMOTE_ADDR") or "unknown"
    allowed = hit(f"throttle:{scope}:ip:{place_id}:{ip}", IP_ATTEMPTS_PER_HOUR)
    if phone_digest is not None:
        allowed = hit(f"throttle:{scope}:phone:{phone_digest}", PHONE_ATTEMPTS_PER_HOUR) and allowed
    return not allowed
