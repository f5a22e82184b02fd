"""Reads of call plans: the plans a principal may see, one plan with its tasks per guide and
the done-per-day series of its chart."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from retail.tenancy import Principal

from ..choices import TaskStatus
from ..models import CallPlan, Task
from .tasks import plan_task_counts, plan_totals

MAX_DAYS = 92


def plans_for(principal: Principal) -> QuerySet[CallPlan]:
    """Plans the principal may see (a guide: none), newest first."""
    if principal.guide_user_id is not None:
        return CallPlan.objects.none()
    return CallPlan.objects.for_principal(principal).select_related("store", "segment", "created_by")


def plan_for(principal: Principal, plan_id: int) -> CallPlan:
    """One plan, if the principal may see it (DoesNotExist otherwise)."""
    return plans_for(principal).get(pk=plan_id)


def plan_guides(principal: Principal, plan: CallPlan, *, now: dt.datetime | None = None) -> list[dict]:
    """The plan's tasks per guide: total, done, open, overdue."""
    return plan_task_counts(plan.pk, now=now)


def plan_summary(principal: Principal, plan: CallPlan, *, now: dt.datetime | None = None) -> dict:
    """The plan's task totals: total, done, open, overdue."""
    return plan_totals(plan.pk, now=now)


def plan_done_per_day(plan: CallPlan) -> list[dict]:
    """Tasks done per local day over the plan's days (start to due date):
    [{"day": "2026-11-01", "done": 12}, ...] (one query)."""
    rows = dict(
        Task.objects.filter(plan_id=plan.pk, status=TaskStatus.DONE, done_at__isnull=False)
        .annotate(day=TruncDate("done_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    # the plan's whole span (so the chart shows the days still ahead), at most MAX_DAYS
    first = min([plan.starts_on, *rows.keys()])
    last = max([plan.due_on, *rows.keys()])
    first = max(first, last - dt.timedelta(days=MAX_DAYS - 1))
    out = []
    day = first
    while day <= last:
        out.append({"day": day.isoformat(), "done": rows.get(day, 0)})
        day += dt.timedelta(days=1)
    return out
