"""Use cases of the onboarding wizard: start, re-check, confirm a manual step, invite staff,
go live; and the public join page's member sign-up.

A step's time is `completed_at - started_at`: a step starts when it becomes the store's
current step (the first one not done) or, for a step found done before its turn, when it is
first seen done (time 0). Once the store is live its steps are frozen as they were.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import audit, events
from .. import services as retail_services
from ..choices import AuditAction, Role, StoreStatus
from ..errors import Conflict, InvalidInput
from ..models import OnboardingStep, Store, StoreOnboarding
from . import steps as registry

User = get_user_model()

JOIN_SALT = "retail.onboarding.join"
WENT_LIVE_EVENT = "store.went_live"


@dataclass
class StepView:
    """One step as the wizard, HQ's list and the API show it."""

    step: registry.Step
    state: registry.StepState
    row: OnboardingStep | None
    current: bool = False

    @property
    def key(self) -> str:
        return self.step.key

    @property
    def done(self) -> bool:
        return self.state.done

    @property
    def seconds(self) -> int | None:
        """Time spent on the step: until done, or until now while it is being worked on."""
        if self.row is None:
            return None
        end = self.row.completed_at or (timezone.now() if self.current else None)
        if end is None:
            return None
        return max(0, int((end - self.row.started_at).total_seconds()))


# --- starting -----------------------------------------------------------------------------


def start_onboarding(*, store: Store, user=None) -> StoreOnboarding:
    """The store's onboarding, started now unless it was already (idempotent)."""
    found = StoreOnboarding.objects.filter(store=store).first()
    if found is not None:
        return found
    first = registry.all_steps()[0].key if registry.all_steps() else ""
    try:
        with transaction.atomic():
            return StoreOnboarding.objects.create(
                brand_id=store.brand_id,
                store=store,
                started_at=timezone.now(),
                started_by=user if getattr(user, "pk", None) else None,
                current_step=first if store.status == StoreStatus.ONBOARDING else "",
            )
    except IntegrityError:  # started by someone else a moment ago
        return StoreOnboarding.objects.get(store=store)


def start_missing_onboardings(*, brand_id: int) -> int:
    """Start onboarding for every store of the brand in status onboarding that has none yet
    (one statement; a repeat is harmless). Returns how many were started."""
    have = StoreOnboarding.objects.filter(brand_id=brand_id).values("store_id")
    missing = list(
        Store.objects.filter(brand_id=brand_id, status=StoreStatus.ONBOARDING)
        .exclude(pk__in=have)
        .values_list("pk", flat=True)
    )
    if not missing:
        return 0
    now = timezone.now()
    first = registry.all_steps()[0].key
    StoreOnboarding.objects.bulk_create(
        [
            StoreOnboarding(brand_id=brand_id, store_id=pk, started_at=now, current_step=first)
            for pk in missing
        ],
        ignore_conflicts=True,
    )
    return len(missing)


# --- checking -----------------------------------------------------------------------------


def check_all(*, store: Store) -> list[tuple[registry.Step, registry.StepState]]:
    """Every step's check on the store's data now (reads only)."""
    store = Store.objects.get(pk=store.pk)  # the row as it is, not a caller's stale copy
    return [(step, step.check(store)) for step in registry.all_steps()]


def _first_open(states: list[tuple[registry.Step, registry.StepState]]) -> str:
    for step, state in states:
        if not state.done:
            return step.key
    return ""


def refresh(*, store: Store, user=None) -> list[StepView]:
    """Run every check and record what it saw: a step's start, completion (by whom) and data;
    the store's current step. Live (or closed) stores are left as they were: a store that
    went live before it was ever onboarded gets no onboarding."""
    store = Store.objects.get(pk=store.pk)
    if store.status == StoreStatus.ONBOARDING:
        start_onboarding(store=store, user=user)
    states = check_all(store=store)
    with transaction.atomic():
        onboarding = StoreOnboarding.objects.select_for_update().filter(store=store).first()
        rows = {r.key: r for r in OnboardingStep.objects.filter(store=store)}
        if onboarding is None or onboarding.live_at is not None or store.status != StoreStatus.ONBOARDING:
            return _views(states, rows, current="")
        now = timezone.now()
        current = _first_open(states)
        by = user if getattr(user, "pk", None) else None
        for step, state in states:
            is_current = step.key == current
            row = rows.get(step.key)
            data = {
                **state.data,
                "missing": [str(m) for m in state.missing],
                "not_required": state.not_required,
            }
            if row is None:
                if not (state.done or is_current):
                    continue  # a later step nobody has reached yet
                row = OnboardingStep(
                    brand_id=store.brand_id,
                    store=store,
                    key=step.key,
                    started_at=now,
                    completed_at=now if state.done else None,
                    completed_by=by if state.done else None,
                    data=_merge(data, {}),
                )
                row.save()
                rows[step.key] = row
            else:
                changed = []
                if state.done and row.completed_at is None:
                    row.completed_at, row.completed_by = now, by
                    changed += ["completed_at", "completed_by"]
                elif not state.done and row.completed_at is not None:
                    row.completed_at, row.completed_by = None, None  # it came undone (a device went offline)
                    changed += ["completed_at", "completed_by"]
                merged = _merge(data, row.data)
                if merged != row.data:
                    row.data = merged
                    changed.append("data")
                if changed:
                    row.save(update_fields=changed)
        if onboarding.current_step != current:
            onboarding.current_step = current
            onboarding.save(update_fields=["current_step"])
    return _views(states, rows, current=current)


def _merge(data: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The check's data, keeping what people recorded on the step (a confirmation)."""
    kept = {k: v for k, v in (before or {}).items() if k.startswith("confirmed")}
    return {**data, **kept}


def _views(states, rows, *, current: str) -> list[StepView]:
    return [StepView(step, state, rows.get(step.key), step.key == current) for step, state in states]


def confirm_step(*, store: Store, key: str, user) -> list[StepView]:
    """A person confirms a manual step (the QR code is printed). A repeat changes nothing."""
    step = registry.get(key)
    if step is None or not step.manual:
        raise InvalidInput("unknown_step", _("This step cannot be confirmed by hand."))
    start_onboarding(store=store, user=user)
    with transaction.atomic():
        # the onboarding's lock, as `refresh` takes it: one writer of the store's steps at a time
        StoreOnboarding.objects.select_for_update().filter(store=store).first()
        row, created = OnboardingStep.objects.select_for_update().get_or_create(
            store=store, key=key, defaults={"brand_id": store.brand_id, "started_at": timezone.now()}
        )
        if not (row.data or {}).get("confirmed"):
            row.data = {
                **(row.data or {}),
                "confirmed": True,
                "confirmed_by": getattr(user, "pk", None),
                "confirmed_at": timezone.now().isoformat(),
            }
            row.save(update_fields=["data"])
            audit.record(
                AuditAction.UPDATE, row, brand_id=store.brand_id, message=f"onboarding step {key} confirmed"
            )
    return refresh(store=store, user=user)


# --- staff --------------------------------------------------------------------------------

INVITE_ROLES = (Role.STORE_MANAGER, Role.GUIDE)


def invite_staff(
    *, store: Store, role: str, username: str, first_name: str = "", last_name: str = "", email: str = ""
) -> tuple[Any, str]:
    """Create a staff account with a one-time password (returned once, never stored in
    clear) and give it `role` at the store. A taken username is refused, nothing created."""
    username = (username or "").strip()
    if role not in INVITE_ROLES:
        raise InvalidInput(
            "invalid_role", _("Invite a store manager or a guide."), fields={"role": [_("Not allowed.")]}
        )
    if not username:
        raise InvalidInput("invalid", _("A username is required."), fields={"username": [_("Required.")]})
    if User.objects.filter(username__iexact=username).exists():
        message = _("This username is already taken.")
        raise Conflict("duplicate_username", message, fields={"username": [message]})
    password = secrets.token_urlsafe(9)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username,
                email=(email or "").strip(),
                password=password,
                first_name=(first_name or "").strip()[:150],
                last_name=(last_name or "").strip()[:150],
            )
            retail_services.grant_role(user=user, brand=store.brand_id, role=role, store=store)
    except IntegrityError as exc:
        message = _("This username is already taken.")
        raise Conflict("duplicate_username", message, fields={"username": [message]}) from exc
    return user, password


# --- going live ---------------------------------------------------------------------------


def incomplete_required(*, store: Store) -> list[registry.Step]:
    """Required steps whose check fails now."""
    store = Store.objects.get(pk=store.pk)
    return [
        step
        for step, state in ((s, s.check(store)) for s in registry.prerequisites())
        if step.required and not state.done
    ]


def go_live(*, store: Store, user) -> StoreOnboarding:
    """Turn the store live once every required step is done; otherwise refuse with the
    list of steps still open and change nothing. Live already: nothing happens."""
    store = Store.objects.get(pk=store.pk)
    onboarding = start_onboarding(store=store, user=user)
    if store.status == StoreStatus.LIVE:  # a repeat, or live before onboarding existed
        return onboarding
    if store.status == StoreStatus.CLOSED:
        raise Conflict("store_closed", _("A closed store cannot go live."))
    open_steps = incomplete_required(store=store)
    if open_steps:
        titles = [str(s.title) for s in open_steps]
        message = _("The store cannot go live yet. Steps not done: %(steps)s.") % {"steps": ", ".join(titles)}
        raise Conflict("steps_incomplete", message, fields={"steps": titles})
    refresh(store=store, user=user)  # record the last completions before freezing
    with transaction.atomic():
        onboarding = StoreOnboarding.objects.select_for_update().get(pk=onboarding.pk)
        if (
            onboarding.live_at is not None
            and Store.objects.filter(pk=store.pk, status=StoreStatus.LIVE).exists()
        ):
            return onboarding
        now = timezone.now()
        retail_services.update_store(store=store, status=StoreStatus.LIVE)
        store.status = StoreStatus.LIVE
        onboarding.live_at = now
        onboarding.current_step = ""
        onboarding.save(update_fields=["live_at", "current_step"])
        by = user if getattr(user, "pk", None) else None
        OnboardingStep.objects.update_or_create(
            store=store,
            key=registry.GO_LIVE,
            defaults={"brand_id": store.brand_id, "completed_at": now, "completed_by": by},
            create_defaults={
                "brand_id": store.brand_id,
                "started_at": now,
                "completed_at": now,
                "completed_by": by,
            },
        )
        minutes = int((now - onboarding.started_at).total_seconds() // 60)
        audit.record(
            AuditAction.UPDATE,
            onboarding,
            brand_id=store.brand_id,
            after={"live_at": now.isoformat(), "minutes": minutes},
            message="store went live",
        )
        events.publish(WENT_LIVE_EVENT, brand=store.brand_id, store=store.pk, minutes=minutes)
    return onboarding


# --- the public join page -----------------------------------------------------------------


def join_token(*, store: Store) -> str:
    """The signed capability in the store's recruitment QR code (no expiry: it is printed)."""
    return signing.Signer(salt=JOIN_SALT).sign(f"{store.brand_id}.{store.pk}")


def read_join_token(token: str) -> int | None:
    """The store id a join token names, or None for a forged or edited one."""
    try:
        value = signing.Signer(salt=JOIN_SALT).unsign(token or "")
        _brand, _sep, store_id = value.partition(".")
        return int(store_id)
    except (signing.BadSignature, ValueError):
        return None


def join_store_member(*, store: Store, phone: str, name: str = "", consents: dict[str, bool]):
    """A shopper joins the brand as a member of this store (source "store")."""
    from members import services as member_services

    if store.status == StoreStatus.CLOSED:
        raise Conflict("store_closed", _("This store is closed."))
    return member_services.join_member(
        brand_id=store.brand_id,
        phone=phone,
        name=name,
        source="store",
        store=store,
        **{f"consent_{k}": bool(v) for k, v in consents.items() if k in ("call", "sms", "chat")},
    )


# --- keeping HQ's list current --------------------------------------------------------------

# Events after which a store's onboarding is re-checked (HQ's list shows the stuck step as
# last recorded). The lead subscribes `on_event` to these in retail/apps.py.
REFRESH_ON = (
    "store.created",
    "store.updated",
    "device.online",
    "device.offline",
    "shelf.screen_changed",
    "rehearsal.finished",
)


def on_event(event) -> None:
    """Re-check the onboarding of the store an event names, while it is in onboarding
    (a new store in onboarding is started)."""
    if event.name == "rehearsal.finished":
        return refresh_stores(brand_id=event.brand_id)
    if not event.store_id:
        return None
    store = Store.objects.filter(pk=event.store_id, status=StoreStatus.ONBOARDING).first()
    if store is not None:
        refresh(store=store)
    return None


def refresh_stores(*, brand_id: int, limit: int = 1000) -> int:
    """Re-check every store of the brand in onboarding (the first `limit`)."""
    stores = list(
        Store.objects.filter(brand_id=brand_id, status=StoreStatus.ONBOARDING).order_by("pk")[:limit]
    )
    for store in stores:
        refresh(store=store)
    return len(stores)
