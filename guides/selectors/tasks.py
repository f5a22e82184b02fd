"""Reads of tasks for the workbench and the managers' board. Every read is scoped first
(a guide: own tasks; a manager: the store's) and runs a constant number of queries."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from retail.tenancy import Principal

from ..choices import TaskStatus
from ..models import Task


def local_day_end(now: dt.datetime) -> dt.datetime:
    """The end of `now`'s local calendar day (Asia/Shanghai), exclusive."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + dt.timedelta(days=1)


def local_day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def local_week_start(now: dt.datetime) -> dt.datetime:
    start = local_day_start(now)
    return start - dt.timedelta(days=start.weekday())


def _due_now(now: dt.datetime, end: dt.datetime) -> Q:
    """Open tasks due by `end`, and snoozed ones whose snooze has ended."""
    return Q(status=TaskStatus.OPEN, due_at__lt=end) | Q(status=TaskStatus.SNOOZED, snoozed_until__lte=now)


def _overdue(now: dt.datetime) -> Q:
    return Q(due_at__lt=now) & (
        Q(status=TaskStatus.OPEN) | Q(status=TaskStatus.SNOOZED, snoozed_until__lte=now)
    )


def tasks_for(principal: Principal) -> QuerySet[Task]:
    """Every task the principal may see."""
    return Task.objects.for_principal(principal)


def task_for(principal: Principal, task_id: int) -> Task:
    """One task, if the principal may see it (DoesNotExist otherwise)."""
    return tasks_for(principal).select_related("member", "plan").get(pk=task_id)


def today_tasks(principal: Principal, *, now: dt.datetime | None = None, limit: int = 50) -> list[Task]:
    """The guide's tasks to do today: open ones due by the end of the local day and snoozed
    ones whose snooze ended, overdue first (by due time), with the member (one query).
    Each task carries `is_overdue`."""
    now = now or timezone.now()
    rows = list(
        tasks_for(principal)
        .filter(_due_now(now, local_day_end(now)))
        .select_related("member", "member__tier", "plan")
        .order_by("due_at", "id")[:limit]
    )
    for task in rows:
        task.is_overdue = task.due_at < now
    return rows


def today_count(principal: Principal, *, now: dt.datetime | None = None) -> int:
    """How many tasks the principal has to do today (one query)."""
    now = now or timezone.now()
    return tasks_for(principal).filter(_due_now(now, local_day_end(now))).count()


def overdue_tasks(
    principal: Principal,
    *,
    now: dt.datetime | None = None,
    store_id: int | None = None,
    guide_id: int | None = None,
    plan_id: int | None = None,
    kind: str | None = None,
) -> QuerySet[Task]:
    """Open tasks past their due time (snoozed ones once the snooze ended), oldest first,
    with member, guide, store and plan joined — the managers' list."""
    now = now or timezone.now()
    qs = tasks_for(principal).filter(_overdue(now))
    if store_id:
        qs = qs.filter(store_id=store_id)
    if guide_id:
        qs = qs.filter(guide_id=guide_id)
    if plan_id:
        qs = qs.filter(plan_id=plan_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("member", "guide", "store", "plan").order_by("due_at", "id")


def task_counts(
    principal: Principal,
    *,
    now: dt.datetime | None = None,
    store_id: int | None = None,
    limit: int | None = 200,
) -> list[dict]:
    """Per guide: open, due today, overdue and done this week (one aggregate query plus one
    for the guides' names). Rows: {"guide_id", "guide", "open", "due_today", "overdue",
    "done_week"}, the most overdue first; at most `limit` guides (None: all)."""
    now = now or timezone.now()
    qs = tasks_for(principal)
    if store_id:
        qs = qs.filter(store_id=store_id)
    live = Q(status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED])
    counts = (
        qs.values("guide_id")
        .annotate(
            open=Count("id", filter=live),
            due_today=Count("id", filter=_due_now(now, local_day_end(now))),
            overdue=Count("id", filter=_overdue(now)),
            done_week=Count("id", filter=Q(status=TaskStatus.DONE, done_at__gte=local_week_start(now))),
        )
        .order_by("-overdue", "-open", "guide_id")
    )
    rows = list(counts[:limit] if limit is not None else counts)
    users = get_user_model().objects.in_bulk([r["guide_id"] for r in rows])
    for row in rows:
        row["guide"] = users.get(row["guide_id"])
    return rows


def _plan_counts(now: dt.datetime) -> dict:
    return {
        "total": Count("id"),
        "done": Count("id", filter=Q(status=TaskStatus.DONE)),
        "open": Count("id", filter=Q(status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED])),
        "overdue": Count("id", filter=_overdue(now)),
    }


def plan_task_counts(plan_id: int, *, now: dt.datetime | None = None, limit: int = 200) -> list[dict]:
    """Per guide of a plan: total, done, open, overdue — the most overdue first, at most
    `limit` guides (a plan for every store may have thousands). One aggregate query plus
    one for the guides' names."""
    now = now or timezone.now()
    rows = list(
        Task.objects.filter(plan_id=plan_id)
        .values("guide_id")
        .annotate(**_plan_counts(now))
        .order_by("-overdue", "-open", "guide_id")[:limit]
    )
    users = get_user_model().objects.in_bulk([r["guide_id"] for r in rows])
    for row in rows:
        row["guide"] = users.get(row["guide_id"])
    return rows


def plan_totals(plan_id: int, *, now: dt.datetime | None = None) -> dict:
    """The plan's tasks: total, done, open, overdue (one query)."""
    return Task.objects.filter(plan_id=plan_id).aggregate(**_plan_counts(now or timezone.now()))
