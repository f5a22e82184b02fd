"""Tasks: a guide snoozes one (it comes back when the snooze ends), a manager cancels one.
Completing a task is guides.services.interactions.complete_task (recording an outcome does it)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retail.errors import DomainError, InvalidInput
from retail.tenancy import Principal

from ..choices import TaskStatus
from ..models import Task
from ..selectors.workbench import bump as bump_workbench
from .assignments import may_reassign
from .common import NotAllowed

MAX_SNOOZE = dt.timedelta(days=14)
LIVE_STATUSES = (TaskStatus.OPEN, TaskStatus.SNOOZED)


class TaskClosed(DomainError):
    status = 409
    code = "task_closed"


def snooze_task(
    principal: Principal, task: Task, *, until: dt.datetime, now: dt.datetime | None = None
) -> Task:
    """Put an open task away until `until` (in the future, at most 14 days ahead); it shows
    again in the guide's today list when the snooze ends. `task` must come from a scoped
    lookup. A done or cancelled task is refused (TaskClosed)."""
    now = now or timezone.now()
    if until is None or timezone.is_naive(until):
        raise InvalidInput(
            "bad_until", _("Choose when the task comes back."), fields={"until": [_("Required.")]}
        )
    if until <= now:
        raise InvalidInput(
            "until_past",
            _("Snooze until a time in the future."),
            fields={"until": [_("Must be in the future.")]},
        )
    if until > now + MAX_SNOOZE:
        raise InvalidInput(
            "until_too_far",
            _("A task can be snoozed for at most 14 days."),
            fields={"until": [_("At most 14 days ahead.")]},
        )
    with transaction.atomic():
        changed = Task.objects.filter(pk=task.pk, status__in=LIVE_STATUSES).update(
            status=TaskStatus.SNOOZED, snoozed_until=until, updated_at=timezone.now()
        )
        if not changed:
            raise TaskClosed("task_closed", _("This task is already done or cancelled."))
        bump_workbench(guide_ids=[task.guide_id])
    task.refresh_from_db()
    return task


def cancel_task(principal: Principal, task: Task) -> Task:
    """A manager (or HQ) cancels an open or snoozed task. `task` must come from a scoped lookup."""
    if not may_reassign(principal):
        raise NotAllowed("not_allowed", _("Only a store manager or HQ can cancel tasks."))
    changed = Task.objects.filter(pk=task.pk, status__in=LIVE_STATUSES).update(
        status=TaskStatus.CANCELLED, updated_at=timezone.now()
    )
    if not changed:
        raise TaskClosed("task_closed", _("This task is already done or cancelled."))
    bump_workbench(guide_ids=[task.guide_id])
    task.refresh_from_db()
    return task


def reopen_snoozed(principal: Principal, task: Task) -> Task:
    """Bring a snoozed task back now (the guide changed their mind)."""
    changed = Task.objects.filter(pk=task.pk, status=TaskStatus.SNOOZED).update(
        status=TaskStatus.OPEN, snoozed_until=None, updated_at=timezone.now()
    )
    if not changed:
        raise TaskClosed("task_closed", _("Only a snoozed task can be brought back."))
    bump_workbench(guide_ids=[task.guide_id])
    task.refresh_from_db()
    return task
