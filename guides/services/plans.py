"""Call plans: HQ or a manager builds a plan from a segment ("call every gold member before
the Double-11 warm-up"); starting it makes one task per member in a background job.

Each task goes to the member's own guide when that guide works in the member's store, else
to the store's guide with the lightest open load; a guide's due dates are spread evenly over
starts_on..due_on. Tasks are inserted in chunks with ignore_conflicts: the unique (plan,
member) makes a retried job harmless. Progress is on the plan's row."""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from itertools import groupby
from operator import itemgetter

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.choices import JobStatus
from members.models import Segment
from members.selectors.segments import segment_members
from members.services.segments import materialise_segment
from retail import audit
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput, NotFound
from retail.jobs import enqueue_job
from retail.models import StaffRole, Store
from retail.tenancy import Principal

from ..choices import PlanStatus, TaskKind, TaskStatus
from ..models import CallPlan, Task
from ..selectors.workbench import bump as bump_workbench
from .assignments import may_reassign
from .common import NotAllowed

CHUNK = 2000
DUE_HOUR = 20  # tasks are due by 20:00 local time on their day
STARTABLE = (PlanStatus.DRAFT, PlanStatus.FAILED)


def connect() -> None:
    """A plan whose last open task is done is done."""
    from retail import events

    events.subscribe("guide.task_done", _on_task_done)


def _on_task_done(event) -> None:
    plan_id = event.payload.get("plan")
    if plan_id:
        finish_plan_if_done(plan_id=plan_id)


def finish_plan_if_done(*, plan_id: int) -> bool:
    """Mark an active plan done once none of its tasks is open or snoozed. True if it did."""
    open_tasks = Task.objects.filter(plan_id=plan_id, status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED])
    if open_tasks.exists():
        return False
    return bool(
        CallPlan.objects.filter(pk=plan_id, status=PlanStatus.ACTIVE, tasks_total__gt=0).update(
            status=PlanStatus.DONE, updated_at=timezone.now()
        )
    )


def _is_hq(principal: Principal) -> bool:
    return principal.is_superuser or principal.role == Role.HQ_ADMIN


def create_plan(
    principal: Principal,
    *,
    name: str,
    segment: Segment,
    store: Store | None,
    kind: str = TaskKind.CALL,
    script: str = "",
    starts_on: dt.date,
    due_on: dt.date,
) -> CallPlan:
    """A draft plan for one store (a manager's or HQ's) or, with store None, every store of
    the brand (HQ only)."""
    if not may_reassign(principal):
        raise NotAllowed("not_allowed", _("Only a store manager or HQ can make call plans."))
    fields = {}
    if store is None and not _is_hq(principal):
        fields["store"] = [_("Choose one of your stores.")]
    if store is not None and not Store.objects.for_principal(principal).filter(pk=store.pk).exists():
        raise NotFound("not_found", _("Unknown store."), fields={"store": [_("Not found.")]})
    if not Segment.objects.for_principal(principal).filter(pk=segment.pk).exists():
        raise NotFound("not_found", _("Unknown segment."), fields={"segment": [_("Not found.")]})
    if kind not in TaskKind.values:
        fields["kind"] = [_("Unknown task kind.")]
    if not (name or "").strip():
        fields["name"] = [_("Give the plan a name.")]
    if starts_on is None or due_on is None:
        fields["due_on"] = [_("Give both dates.")]
    elif due_on < starts_on:
        fields["due_on"] = [_("The due date cannot be before the start.")]
    elif due_on < timezone.localdate():
        fields["due_on"] = [_("The due date is in the past.")]
    if fields:
        raise InvalidInput("invalid_plan", _("Check the plan."), fields=fields)
    plan = CallPlan.objects.create(
        brand_id=segment.brand_id,
        store=store,
        name=name.strip()[:120],
        segment=segment,
        kind=kind,
        script=script or "",
        starts_on=starts_on,
        due_on=due_on,
        created_by_id=principal.user_id,
    )
    audit.record(AuditAction.CREATE, plan, actor_id=principal.user_id, after=audit.snapshot(plan))
    return plan


def _may_change(principal: Principal, plan: CallPlan) -> None:
    if not may_reassign(principal):
        raise NotAllowed("not_allowed", _("Only a store manager or HQ can change call plans."))
    if plan.store_id is None and not _is_hq(principal):
        raise NotAllowed("not_allowed", _("Only HQ can change a plan for every store."))


def start_plan(principal: Principal, plan: CallPlan) -> CallPlan:
    """Start a draft (or failed) plan: it is marked generating and a background job makes
    its tasks. `plan` must come from a scoped lookup."""
    from ..tasks.plans import generate_plan_tasks_task

    _may_change(principal, plan)
    changed = CallPlan.objects.filter(pk=plan.pk, status__in=STARTABLE).update(
        status=PlanStatus.GENERATING, progress=0, error="", updated_at=timezone.now()
    )
    if not changed:
        raise Conflict("plan_started", _("This plan has already been started."))
    audit.record(AuditAction.UPDATE, plan, actor_id=principal.user_id, message="call plan started")
    enqueue_job(generate_plan_tasks_task, plan.pk)
    plan.refresh_from_db()
    return plan


def cancel_plan(principal: Principal, plan: CallPlan) -> int:
    """Cancel a plan and its open (and snoozed) tasks; done tasks stay. Returns how many
    tasks were cancelled."""
    _may_change(principal, plan)
    if plan.status in (PlanStatus.CANCELLED, PlanStatus.DONE):
        raise Conflict("plan_closed", _("This plan is already closed."))
    now = timezone.now()
    CallPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.CANCELLED, updated_at=now)
    cancelled = Task.objects.filter(plan_id=plan.pk, status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED]).update(
        status=TaskStatus.CANCELLED, updated_at=now
    )
    bump_workbench(brand_id=plan.brand_id)  # the plan's tasks leave its guides' lists
    audit.record(
        AuditAction.UPDATE, plan, actor_id=principal.user_id, message=f"call plan cancelled ({cancelled})"
    )
    plan.refresh_from_db()
    return cancelled


def _plan_principal(plan: CallPlan) -> Principal:
    """Who the job reads the segment as: the plan's brand, limited to its store."""
    return Principal(
        kind="user",
        brand_id=plan.brand_id,
        store_ids=frozenset({plan.store_id}) if plan.store_id else None,
    )


def _audience(plan: CallPlan):
    """(member id, store id, guide id) rows of the plan's members, by store then id (a
    queryset, read with a cursor). A call plan leaves out members who do not consent to
    calls (an opt-out is never called)."""
    segment = Segment.objects.get(pk=plan.segment_id)
    if segment.status != JobStatus.DONE:
        materialise_segment(segment_id=segment.pk)
        segment.refresh_from_db()
    qs: object = segment_members(principal=_plan_principal(plan), segment=segment)
    if plan.kind == TaskKind.CALL:
        qs = qs.filter(consent_call=True)
    return qs.order_by("store_id", "pk").values_list("pk", "store_id", "guide_id")


def _due_times(plan: CallPlan, count: int) -> list[dt.datetime]:
    """`count` due times spread evenly over the plan's days (20:00 local on each day)."""
    days = (plan.due_on - plan.starts_on).days + 1
    out = []
    for i in range(count):
        day = plan.starts_on + dt.timedelta(days=(i * days) // max(count, 1))
        out.append(timezone.make_aware(dt.datetime.combine(day, dt.time(DUE_HOUR))))
    return out


def assign_audience(
    audience: list[tuple[int, int | None, int | None]],
    *,
    guides_by_store: dict[int, list[int]],
    load: dict[int, int],
) -> tuple[dict[int, list[tuple[int, int]]], int]:
    """Who gets each member: {guide id: [(member id, store id)]} and how many members have
    no guide in their store. The member's own guide if they work in the member's store,
    else the store's guide with the lightest open load (ties: lowest id). `load` (open
    tasks per guide) is updated with what this assigns."""
    own = {store_id: set(guides) for store_id, guides in guides_by_store.items()}
    plan: dict[int, list[tuple[int, int]]] = defaultdict(list)
    without = 0
    rest = []
    # first the members whose own guide works in their store: they count in that guide's load
    for member_id, store_id, guide_id in audience:
        if store_id is None or not guides_by_store.get(store_id):
            without += 1
        elif guide_id is not None and guide_id in own[store_id]:
            plan[guide_id].append((member_id, store_id))
            load[guide_id] = load.get(guide_id, 0) + 1
        else:
            rest.append((member_id, store_id))
    heaps: dict[int, list[tuple[int, int]]] = {}
    for member_id, store_id in rest:
        heap = heaps.get(store_id)
        if heap is None:
            heap = heaps[store_id] = [(load.get(g, 0), g) for g in guides_by_store[store_id]]
            heapq.heapify(heap)
        current, chosen = heapq.heappop(heap)
        heapq.heappush(heap, (current + 1, chosen))
        load[chosen] = current + 1
        plan[chosen].append((member_id, store_id))
    for members in plan.values():
        members.sort()
    return plan, without


def _guides_by_store(plan: CallPlan) -> dict[int, list[int]]:
    """User ids of the guides of the plan's store (or of every store of the brand)."""
    roles = StaffRole.objects.filter(brand_id=plan.brand_id, role=Role.GUIDE)
    if plan.store_id:
        roles = roles.filter(store_id=plan.store_id)
    out: dict[int, list[int]] = defaultdict(list)
    for store_id, user_id in roles.order_by("store_id", "user_id").values_list("store_id", "user_id"):
        if not out[store_id] or out[store_id][-1] != user_id:
            out[store_id].append(user_id)
    return out


def _plan_tasks(plan: CallPlan, assigned: dict[int, list[tuple[int, int]]]) -> list[Task]:
    rows = []
    for guide_id, members in assigned.items():
        for (member_id, store_id), due_at in zip(members, _due_times(plan, len(members)), strict=True):
            rows.append(
                Task(
                    brand_id=plan.brand_id,
                    store_id=store_id,
                    guide_id=guide_id,
                    member_id=member_id,
                    plan_id=plan.pk,
                    kind=plan.kind,
                    title=plan.name[:200],
                    due_at=due_at,
                )
            )
    return rows


def generate_plan_tasks(*, plan_id: int) -> int | None:
    """Make the plan's tasks (the background job). Safe to run twice: a member already in
    the plan keeps their task. Returns the plan's task count, or None if there is nothing
    to do (unknown plan, or not generating / active).

    The audience is read with a cursor one store at a time (memory bounded by the largest
    store, not the brand), tasks inserted in chunks with ignore_conflicts."""
    plan = CallPlan.objects.filter(pk=plan_id).first()
    if plan is None or plan.status not in (PlanStatus.GENERATING, PlanStatus.ACTIVE):
        return None
    try:
        audience = _audience(plan)
        total = max(audience.count(), 1)
        guides_by_store = _guides_by_store(plan)
        all_guides = {g for guides in guides_by_store.values() for g in guides}
        load = dict(
            Task.objects.filter(guide_id__in=all_guides, status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED])
            .exclude(plan_id=plan.pk)
            .values_list("guide_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        without = 0
        seen = 0
        buffer: list[Task] = []

        def flush() -> None:
            Task.objects.bulk_create(buffer, batch_size=CHUNK, ignore_conflicts=True)
            buffer.clear()
            bump_workbench(brand_id=plan.brand_id)  # new tasks on the plan's guides' lists
            CallPlan.objects.filter(pk=plan.pk).update(
                progress=min(99, seen * 100 // total), updated_at=timezone.now()
            )

        for store_id, group in groupby(audience.iterator(chunk_size=CHUNK), key=itemgetter(1)):
            members = list(group)
            seen += len(members)
            store_guides = {store_id: guides_by_store.get(store_id, [])} if store_id is not None else {}
            assigned, store_without = assign_audience(members, guides_by_store=store_guides, load=load)
            without += store_without
            buffer.extend(_plan_tasks(plan, assigned))
            if len(buffer) >= CHUNK:
                flush()
        if buffer:
            flush()
        count = Task.objects.filter(plan_id=plan.pk).count()
        CallPlan.objects.filter(pk=plan.pk, status__in=[PlanStatus.GENERATING, PlanStatus.ACTIVE]).update(
            status=PlanStatus.ACTIVE,
            progress=100,
            tasks_total=count,
            members_without_guide=without,
            error="",
            updated_at=timezone.now(),
        )
        return count
    except Exception as exc:
        CallPlan.objects.filter(pk=plan.pk).update(
            status=PlanStatus.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
        )
        raise
