"""Reads of onboarding: who may run a store's wizard, HQ's list of stores in onboarding
(stuck step, time since start) with its chart, and the stored state of stores' steps for
the store page and the partner API."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from ..choices import Role, StoreStatus
from ..models import OnboardingStep, Store, StoreOnboarding
from ..tenancy import Principal
from . import steps as registry

SORTS = {
    "started": ("onboarding__started_at", "pk"),
    "-started": ("-onboarding__started_at", "-pk"),
    "code": ("code", "pk"),
    "-code": ("-code", "-pk"),
    "step": ("onboarding__current_step", "code"),
    "-step": ("-onboarding__current_step", "code"),
}
LIST_LIMIT = 500


def stores_for_onboarding(*, principal: Principal) -> QuerySet[Store]:
    """Stores whose wizard the principal may open: HQ every store of the brand, a manager
    their stores (a guide none; the page says 403 for them, another brand's store is 404)."""
    return Store.objects.for_principal(principal).select_related("brand")


def may_onboard(principal: Principal, store: Store) -> bool:
    """HQ of the store's brand, or a manager of the store."""
    if principal.is_superuser:
        return True
    if principal.brand_id != store.brand_id:
        return False
    if principal.role == Role.HQ_ADMIN:
        return True
    return principal.role == Role.STORE_MANAGER and principal.may_see_store(store.pk)


def is_hq(principal: Principal) -> bool:
    return principal.is_superuser or principal.role == Role.HQ_ADMIN


def titles() -> dict[str, str]:
    return {s.key: str(s.title) for s in registry.all_steps()}


def onboarding_list(*, principal: Principal, sort: str = "started") -> list[dict[str, Any]]:
    """Stores in onboarding (status onboarding), each with the step it is stuck on, since
    when, and how long since its onboarding started; one query for stores, one for steps."""
    order = SORTS.get(sort, SORTS["started"])
    stores = list(
        Store.objects.for_principal(principal)
        .filter(status=StoreStatus.ONBOARDING)
        .select_related("onboarding")
        .order_by(*order)[:LIST_LIMIT]
    )
    started = {
        (r.store_id, r.key): r.started_at
        for r in OnboardingStep.objects.filter(store__in=[s.pk for s in stores]).only(
            "store_id", "key", "started_at"
        )
    }
    names = titles()
    order_of = {s.key: i for i, s in enumerate(registry.all_steps())}
    now = timezone.now()
    rows = []
    for store in stores:
        onboarding = getattr(store, "onboarding", None)
        key = onboarding.current_step if onboarding else ""
        since = started.get((store.pk, key)) if key else None
        if key and since is None and onboarding:  # not re-checked since it started
            since = onboarding.started_at
        rows.append(
            {
                "store": store,
                "onboarding": onboarding,
                "step": key,
                "step_title": names.get(key, key),
                "step_index": order_of.get(key, len(order_of)),
                "stuck_seconds": int((now - since).total_seconds()) if since else None,
                "total_seconds": int((now - onboarding.started_at).total_seconds()) if onboarding else None,
            }
        )
    return rows


def stuck_chart(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stores per stuck step, in wizard order (every step listed, zeros too)."""
    counts = Counter(r["step"] for r in rows)
    return [
        {"step": str(s.title), "key": s.key, "stores": counts.get(s.key, 0)} for s in registry.all_steps()
    ]


def stored_steps(*, store_ids: list[int]) -> dict[int, dict[str, OnboardingStep]]:
    """The recorded steps of the stores, by store and key (one query)."""
    found: dict[int, dict[str, OnboardingStep]] = {pk: {} for pk in store_ids}
    for row in OnboardingStep.objects.filter(store_id__in=store_ids).order_by("store_id", "started_at"):
        found.setdefault(row.store_id, {})[row.key] = row
    return found


def state_of(store: Store, rows: dict[str, OnboardingStep]) -> dict[str, Any]:
    """A store's onboarding as recorded (for the API and the store page), no checks run."""
    try:
        onboarding = store.onboarding
    except StoreOnboarding.DoesNotExist:
        onboarding = None
    steps = []
    for step in registry.all_steps():
        row = rows.get(step.key)
        done = bool(row and row.completed_at)
        seconds = None
        if row and row.completed_at:
            seconds = max(0, int((row.completed_at - row.started_at).total_seconds()))
        steps.append(
            {
                "key": step.key,
                "title": str(step.title),
                "required": step.required,
                "done": done,
                "started_at": row.started_at if row else None,
                "completed_at": row.completed_at if row else None,
                "seconds": seconds,
            }
        )
    return {
        "store": store.pk,
        "code": store.code,
        "status": store.status,
        "started_at": onboarding.started_at if onboarding else None,
        "live_at": onboarding.live_at if onboarding else None,
        "current_step": onboarding.current_step if onboarding else "",
        "steps": steps,
        "done_count": sum(1 for s in steps if s["done"]),
        "total": len(steps),
    }


def duration(seconds: int | None) -> str:
    """A duration for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    from django.utils.translation import gettext as _

    if seconds is None:
        return "—"
    if seconds < 60:
        return _("%(n)s s") % {"n": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return _("%(n)s min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
