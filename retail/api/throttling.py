"""Per-token throttling: a fixed one-minute window counter in the cache (Redis in
production), so a check costs one INCR instead of DRF's per-request history list."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle


class TokenRateThrottle(BaseThrottle):
    window = 60

    def allow_request(self, request, view) -> bool:
        client = getattr(getattr(request, "user", None), "client", None)
        if client is None:
            return True
        limit = client.rate_limit_per_minute or settings.API_DEFAULT_RATE_PER_MINUTE
        now = time.time()
        bucket = int(now // self.window)
        key = cache_key(client.pk, bucket)
        if cache.add(key, 1, timeout=self.window + 5):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=self.window + 5)
                count = 1
        self._wait = (bucket + 1) * self.window - now
        return count <= limit

    def wait(self) -> float:
        return max(1.0, self._wait)


def cache_key(client_id: int, bucket: int) -> str:
    """The counter of one API client in one window."""
    return f"throttle:api:{client_id}:{bucket}"


def reset(client_id: int) -> None:
    """Forget a client's count in the current window (tests; an operator lifting a block)."""
    bucket = int(time.time() // TokenRateThrottle.window)
    cache.delete_many([cache_key(client_id, b) for b in (bucket, bucket + 1)])
