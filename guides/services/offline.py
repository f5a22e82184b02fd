"""The workbench's offline queue: notes, visits and outcomes a guide recorded on the tablet
while the store's network was down, synced when it returns.

Each item carries a client-generated UUID, so a retried sync never duplicates: the first
sync creates the interaction, every later one answers `duplicate`. Items are judged one by
one: a bad item (another guide's member, an unknown outcome) is `rejected` with the reason
and the rest of the batch still syncs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from retail.errors import DomainError
from retail.tenancy import Principal

from ..choices import InteractionKind, InteractionSource, TaskStatus
from ..models import Task
from .common import member_for
from .interactions import record_interaction

MAX_ITEMS = 200
MAX_AGE = dt.timedelta(days=7)
MAX_NOTE = 4000
OFFLINE_KINDS = (InteractionKind.NOTE, InteractionKind.VISIT, InteractionKind.CALL, InteractionKind.MESSAGE)


def clamp_time(raw: Any, *, now: dt.datetime) -> dt.datetime:
    """The tablet's time of an item, clamped: never in the future, never older than 7 days
    (a tablet's clock may be wrong; a missing or unreadable time is now)."""
    when = parse_datetime(raw) if isinstance(raw, str) and raw else None
    if when is None:
        return now
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return max(min(when, now), now - MAX_AGE)


def sync(principal: Principal, items: list[dict]) -> list[dict]:
    """Record each queued item; answer per item {client_id, status, error, interaction}
    with status created, duplicate or rejected. Never raises for one bad item."""
    if not isinstance(items, list):
        raise DomainError("bad_batch", _("Send a list of items."), status=400)
    if len(items) > MAX_ITEMS:
        raise DomainError("too_many", _("Too many items at once: sync in smaller batches."), status=413)
    now = timezone.now()
    return [_sync_one(principal, item, now=now) for item in items]


def _sync_one(principal: Principal, item: Any, *, now: dt.datetime) -> dict:
    client_id = str(item.get("client_id", "")) if isinstance(item, dict) else ""
    answer = {"client_id": client_id, "status": "rejected", "error": "", "interaction": None}
    try:
        client_uuid = uuid.UUID(client_id)
    except ValueError:
        answer["error"] = _("The item has no valid client id.")
        return answer
    kind = item.get("kind") or InteractionKind.NOTE
    if kind not in OFFLINE_KINDS:
        answer["error"] = _("Unknown interaction kind.")
        return answer
    note = str(item.get("note") or "")[:MAX_NOTE]
    try:
        member = member_for(principal, int(item.get("member_id")))
    except (TypeError, ValueError, ObjectDoesNotExist):
        answer["error"] = _("This member is not one of yours.")
        return answer
    task = None
    if item.get("task_id"):
        try:
            task = Task.objects.for_principal(principal).get(pk=int(item["task_id"]), member_id=member.pk)
        except (TypeError, ValueError, ObjectDoesNotExist):
            answer["error"] = _("The task is not one of yours.")
            return answer
        if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
            task = None  # done meanwhile (online, or another sync): the note still counts
    try:
        row, created = record_interaction(
            principal,
            member=member,
            kind=kind,
            outcome=str(item.get("outcome") or ""),
            next_step=str(item.get("next_step") or ""),
            note=note,
            occurred_at=clamp_time(item.get("occurred_at"), now=now),
            client_id=client_uuid,
            task=task,
            # the page sends everything through this queue; only what waited for the network
            # is "synced from offline" (an item says so; an old tablet's items do not)
            source=InteractionSource.WORKBENCH if item.get("offline") is False else InteractionSource.OFFLINE,
        )
    except DomainError as exc:
        answer["error"] = str(exc.message)
        return answer
    if not created and row.guide_id != (principal.guide_user_id or row.guide_id):
        answer["error"] = _("This item was already recorded by someone else.")
        return answer
    answer.update(status="created" if created else "duplicate", interaction=row.pk)
    return answer
