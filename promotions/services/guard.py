"""Code-guessing limits: how many FAILED coupon lookups / redemptions by code a user, an API
client (token) and a store may make in a window before they are refused for a while.

Fixed-window counters in the cache (Redis in production, like retail/api/throttling.py): a
check is one GET_MANY, a failure one INCR per bucket. Only failures count, so a busy till
that scans real coupons all day is never slowed down; a script walking the code space is
stopped after a few dozen wrong guesses (12 characters of a 31-letter alphabet: ~10^18
codes). The refusal is `RateLimited` (429 with `retry_after` seconds) and says nothing about
any code; callers answer every unknown, other-member or other-brand code with the one
`coupons.not_found()`.

The same module counts attempts of the member's phone page (`hit`), where every POST counts,
not only failures."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from retail.errors import DomainError

# Failed attempts allowed per window, per kind of bucket (settings.COUPON_GUESS_LIMITS
# overrides any of them). A user (a guide or cashier) mistypes a few codes a day; a partner
# token fronts many tills; a store has several tills.
DEFAULT_LIMITS = {"user": 10, "client": 60, "store": 30}
DEFAULT_WINDOW_SECONDS = 600


class RateLimited(DomainError):
    """Too many failed attempts; try again in `retry_after` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, message: str = ""):
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            "rate_limited",
            message
            or _("Too many wrong coupon codes. Try again in %(minutes)s minutes.")
            % {"minutes": max(1, -(-self.retry_after // 60))},
        )


def window_seconds() -> int:
    return int(getattr(settings, "COUPON_GUESS_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS))


def limits() -> dict[str, int]:
    return {**DEFAULT_LIMITS, **getattr(settings, "COUPON_GUESS_LIMITS", {})}


def _buckets(*, user_id=None, api_client_id=None, store_id=None) -> list[tuple[str, object]]:
    return [
        (kind, ident)
        for kind, ident in (("user", user_id), ("client", api_client_id), ("store", store_id))
        if ident is not None
    ]


def _key(kind: str, ident, window: int) -> str:
    return f"guard:code:{kind}:{ident}:{window}"


def _window() -> tuple[int, float]:
    """(the current window's number, seconds until it ends)."""
    size = window_seconds()
    now = time.time()
    number = int(now // size)
    return number, (number + 1) * size - now


def check_code_attempt(*, user_id=None, api_client_id=None, store_id=None) -> None:
    """Raise RateLimited when any given bucket has used up its failed attempts in this
    window. Call before looking a code up; call `record_code_failure` when it fails."""
    buckets = _buckets(user_id=user_id, api_client_id=api_client_id, store_id=store_id)
    if not buckets:
        return
    number, left = _window()
    keys = {_key(kind, ident, number): kind for kind, ident in buckets}
    counts = cache.get_many(list(keys))
    allowed = limits()
    for key, kind in keys.items():
        if int(counts.get(key) or 0) >= allowed[kind]:
            raise RateLimited(int(left) + 1)


def record_code_failure(*, user_id=None, api_client_id=None, store_id=None) -> None:
    """Count one failed attempt (unknown code, another member's or brand's) in each bucket."""
    number, _left = _window()
    timeout = window_seconds() + 5
    for kind, ident in _buckets(user_id=user_id, api_client_id=api_client_id, store_id=store_id):
        _incr(_key(kind, ident, number), timeout)


def reset_code_failures(*, user_id=None, api_client_id=None, store_id=None) -> None:
    """Forget the buckets' counts (tests; an operator lifting a block)."""
    number, _left = _window()
    cache.delete_many(
        [
            _key(kind, ident, n)
            for kind, ident in _buckets(user_id=user_id, api_client_id=api_client_id, store_id=store_id)
            for n in (number, number + 1)
        ]
    )


def _incr(key: str, timeout: int) -> int:
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def hit(name: str, ident, *, limit: int, window: int) -> None:
    """Count one attempt of `name` by `ident` in a fixed window of `window` seconds; raise
    RateLimited once more than `limit` were made (every attempt counts, not only failures)."""
    now = time.time()
    number = int(now // window)
    count = _incr(f"guard:{name}:{ident}:{number}", window + 5)
    if count > limit:
        raise RateLimited(
            int((number + 1) * window - now) + 1,
            _("Too many attempts. Please try again later, or ask a store associate."),
        )
