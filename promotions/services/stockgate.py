"""The stock gate: a Redis counter of each template's remaining coupons in front of the
database, for flash sales.

A claim first takes one unit from the template's counter in Redis (an atomic script: take
one if any is left). Nothing left: `sold_out` at once, without touching PostgreSQL, so the
crowd that arrives after the last coupon costs Redis round trips, not row locks on the
template. A unit taken: `coupons.claim_coupon` runs as always, and its conditional UPDATE
(`claimed + 1 <= total_stock`) still guards the stock; if the database refuses, the unit
goes back (or, on the database's own `sold_out`, the counter drops to 0).

PostgreSQL stays the source of truth. The counter only ever lets *fewer or more* claimers
reach the database than there is stock — more when it is stale (lost, reset during claims in
flight), fewer when a process died between taking a unit and giving it back. More is safe
(the database refuses), fewer undersells until the reconciliation task
(`promotions.tasks.coupons.reconcile_stock_gates_task`) sets every live template's counter
from the database again. A missing counter is initialised lazily from the database with SET
NX, so the first claimer after a Redis loss sets it and the others share it.

Without Redis (the embedded mode: no REDIS_URL, a local-memory cache) the gate passes
straight through to `claim_coupon`. `COUPON_STOCK_GATE=0` (setting or environment) turns
it off on Redis too, e.g. to compare both in the flash-sale benchmark."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from members.models import Member

from ..choices import ClaimVia
from ..models import CouponTemplate
from . import coupons

# A counter lives this long without a claim or reconciliation, then is read from the
# database again (a day: covers a campaign's busiest stretch; reconciliation refreshes it).
COUNTER_TTL_SECONDS = 24 * 3600

# Take one unit if one is left: >= 0 the units left after taking it; -1 nothing left; -2 no
# counter (initialise it, then try again).
_TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return -2 end
if tonumber(left) <= 0 then return -1 end
return redis.call('DECR', KEYS[1])
"""
# Give one unit back, only to a counter that exists (a lost one is re-read from the database).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return -2
"""

_scripts: dict[int, tuple] = {}


def enabled() -> bool:
    """Is the gate in front of the database? Only on a Redis cache, unless switched off."""
    flag = getattr(settings, "COUPON_STOCK_GATE", None)
    if flag is None:
        flag = os.environ.get("COUPON_STOCK_GATE", "1").strip().lower() not in ("0", "false", "no", "off")
    return bool(flag) and bool(getattr(settings, "REDIS_URL", "")) and _redis() is not None


def _redis():
    backend = getattr(cache, "_cache", None)
    if backend is None or not hasattr(backend, "get_client"):
        return None
    return backend.get_client(write=True)


def counter_key(template) -> str:
    # through the cache's key function: the deployment's (and a test worker's) prefix applies.
    # The brand is in the key, so asking about another brand's template finds no counter.
    return cache.make_key(f"stockgate:{template.brand_id}:{template.pk}")


def _script(client, source: str):
    entry = _scripts.get(id(client))
    if entry is None or entry[0] is not client:
        entry = (client, client.register_script(_TAKE), client.register_script(_GIVE_BACK))
        _scripts.clear()  # one client per process in practice; never keep stale ones
        _scripts[id(client)] = entry
    return entry[1] if source == "take" else entry[2]


def remaining_in_database(template_id: int) -> int:
    row = CouponTemplate.objects.filter(pk=template_id).values_list("total_stock", "claimed").first()
    return max(row[0] - row[1], 0) if row else 0


def take(template) -> bool:
    """Take one unit from the template's counter; False when none is left."""
    client = _redis()
    key = counter_key(template)
    take_script = _script(client, "take")
    left = take_script(keys=[key])
    if left == -2:
        client.set(key, remaining_in_database(template.pk), nx=True, ex=COUNTER_TTL_SECONDS)
        left = take_script(keys=[key])
    return left >= 0


def give_back(template) -> None:
    """Return one unit taken by a claim the database refused (or that replayed)."""
    _script(_redis(), "give_back")(keys=[counter_key(template)])


def mark_sold_out(template) -> None:
    """The database said sold out: the counter was stale, make it say so too."""
    _redis().set(counter_key(template), 0, ex=COUNTER_TTL_SECONDS)


def reset(template) -> int:
    """Set the counter from the database (reconciliation; after stock changes). Returns it."""
    left = remaining_in_database(template.pk)
    _redis().set(counter_key(template), left, ex=COUNTER_TTL_SECONDS)
    return left


def forget(template) -> None:
    """Drop the counter; the next claim reads it from the database (call after a template's
    stock changed, or let the reconciliation pick it up)."""
    if enabled():
        _redis().delete(counter_key(template))


def counter(template) -> int | None:
    """The counter as Redis holds it (None: not initialised)."""
    value = _redis().get(counter_key(template))
    return None if value is None else int(value)


@dataclass(frozen=True)
class TemplateRef:
    """A template named by id and brand (what a request says), before any database read."""

    pk: int
    brand_id: int


def known_sold_out(*, brand_id: int, template_id: int) -> bool:
    """Does the brand's counter for this template say 0? One Redis GET, no database: the API
    answers such claims `sold_out` before it reads anything. False when unsure (no gate, no
    counter, another brand's template)."""
    if not enabled():
        return False
    value = _redis().get(counter_key(TemplateRef(template_id, brand_id)))
    return value is not None and int(value) <= 0


def claim(
    *,
    template: CouponTemplate,
    member: Member,
    via: str = ClaimVia.API,
    key: str = "",
    staff_id: int | None = None,
    store=None,
    now=None,
) -> coupons.Claim:
    """`coupons.claim_coupon` behind the Redis stock counter (same arguments, same result,
    same errors). A replay of a key that already claimed costs no stock here either."""
    kwargs = dict(template=template, member=member, via=via, key=key, staff_id=staff_id, store=store, now=now)
    if not enabled():
        return coupons.claim_coupon(**kwargs)
    if not take(template):
        raise coupons.CouponRefused("sold_out", _("This coupon is all gone."), status=409)
    try:
        result = coupons.claim_coupon(**kwargs)
    except coupons.CouponRefused as exc:
        if exc.code == "sold_out":
            mark_sold_out(template)
        else:
            give_back(template)
        raise
    except BaseException:
        give_back(template)
        raise
    if result.replayed:
        give_back(template)
    # (a caller's transaction that rolls the claim back later loses the unit here: an
    # undersell the reconciliation repairs, never an oversell)
    return result


def reconcile(template_ids: list[int] | None = None) -> int:
    """Set the counters of the given (default: every active, unexpired) template from the
    database. Returns how many were set. A no-op without the gate."""
    if not enabled():
        return 0
    from django.utils import timezone

    live = CouponTemplate.objects.all()
    if template_ids is None:
        live = live.filter(is_active=True, valid_until__gt=timezone.now())
    else:
        live = live.filter(pk__in=template_ids)
    refs = [TemplateRef(pk, brand_id) for pk, brand_id in live.values_list("pk", "brand_id")]
    for ref in refs:
        reset(ref)
    return len(refs)
