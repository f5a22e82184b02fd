"""Interactions: what a guide did with a member (call, message, visit, note) and the outcome
and next step they recorded after it ("two taps").

`client_id` (a UUID the tablet makes) makes recording idempotent: the offline queue may send
the same interaction twice and gets the first row back. Every new interaction publishes
`guide.interaction_recorded`; finishing a task publishes `guide.task_done`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member
from retail import events
from retail.errors import DomainError
from retail.tenancy import Principal

from ..choices import InteractionKind, InteractionSource, NextStep, Outcome, TaskKind, TaskStatus
from ..models import Interaction, Task
from ..selectors.workbench import bump as bump_workbench
from .common import acting_guide

FOLLOW_UP_DAYS = 3


def record_interaction(
    principal: Principal,
    *,
    member: Member,
    kind: str,
    outcome: str = "",
    next_step: str = "",
    note: str = "",
    occurred_at: dt.datetime | None = None,
    client_id: uuid.UUID | str | None = None,
    task: Task | None = None,
    source: str = InteractionSource.WORKBENCH,
    **call_fields: Any,
) -> tuple[Interaction, bool]:
    """Record an interaction; (row, created). A repeat with the same client_id returns the
    first row unchanged. `member` must come from a scoped lookup (common.member_for)."""
    if kind not in InteractionKind.values:
        raise DomainError("bad_kind", _("Unknown interaction kind."))
    if outcome and outcome not in Outcome.values:
        raise DomainError("bad_outcome", _("Unknown outcome."))
    if next_step and next_step not in NextStep.values:
        raise DomainError("bad_next_step", _("Unknown next step."))
    if client_id is not None:
        client_id = uuid.UUID(str(client_id))
        existing = Interaction.objects.filter(brand_id=member.brand_id, client_id=client_id).first()
        if existing is not None:
            return existing, False
    if task is not None and task.member_id != member.pk:
        raise DomainError("task_member", _("The task is for another member."))
    now = timezone.now()
    when = occurred_at or now
    if when > now + dt.timedelta(minutes=5):
        raise DomainError("future", _("An interaction cannot be in the future."))
    guide_id, store_id = acting_guide(principal, member)
    try:
        with transaction.atomic():
            row = Interaction.objects.create(
                brand_id=member.brand_id,
                store_id=store_id,
                guide_id=guide_id,
                member=member,
                task=task,
                plan_id=task.plan_id if task else None,
                kind=kind,
                source=source,
                client_id=client_id,
                occurred_at=when,
                outcome=outcome,
                next_step=next_step,
                note=note,
                **call_fields,
            )
            events.publish(
                "guide.interaction_recorded",
                brand=row.brand_id,
                store=row.store_id,
                interaction=row.pk,
                guide=row.guide_id,
                member=row.member_id,
                kind=row.kind,
                source=row.source,
                outcome=row.outcome,
            )
            bump_workbench(guide_ids=[row.guide_id, task.guide_id if task else None])
            if outcome and task is not None:
                complete_task(task, interaction=row)
            if outcome:
                _follow_up(row)
            if outcome == Outcome.OPTED_OUT:
                _withdraw_consent(member)
    except IntegrityError:
        if client_id is None:
            raise
        existing = Interaction.objects.filter(brand_id=member.brand_id, client_id=client_id).first()
        if existing is None:
            raise
        return existing, False
    return row, True


def record_outcome(
    principal: Principal, interaction: Interaction, *, outcome: str, next_step: str = "", note: str = ""
) -> Interaction:
    """The guide's two taps after a call or visit: outcome, then next step (and a note).
    Finishes the interaction's task and makes the follow-up task the next step asks for.
    `interaction` must come from a scoped lookup."""
    if outcome not in Outcome.values:
        raise DomainError("bad_outcome", _("Choose an outcome."))
    if next_step and next_step not in NextStep.values:
        raise DomainError("bad_next_step", _("Unknown next step."))
    with transaction.atomic():
        row = Interaction.objects.select_for_update().get(pk=interaction.pk)
        first_time = not row.outcome
        row.outcome = outcome
        row.next_step = next_step or NextStep.NONE
        if note:
            row.note = f"{row.note}\n{note}".strip() if row.note else note
        row.save(update_fields=["outcome", "next_step", "note", "updated_at"])
        bump_workbench(guide_ids=[row.guide_id])
        if row.task_id:
            complete_task(Task.objects.get(pk=row.task_id), interaction=row)
        if first_time:
            _follow_up(row)
        if outcome == Outcome.OPTED_OUT:
            _withdraw_consent(row.member)
    return row


def complete_task(task: Task, *, interaction: Interaction | None = None) -> bool:
    """Mark a task done (once: a second call changes nothing). True if this call did it."""
    done = (
        Task.objects.filter(pk=task.pk)
        .exclude(status__in=[TaskStatus.DONE, TaskStatus.CANCELLED])
        .update(
            status=TaskStatus.DONE, done_at=timezone.now(), interaction=interaction, updated_at=timezone.now()
        )
    )
    if done:
        bump_workbench(guide_ids=[task.guide_id])
        events.publish(
            "guide.task_done",
            brand=task.brand_id,
            store=task.store_id,
            task=task.pk,
            guide=task.guide_id,
            member=task.member_id,
            plan=task.plan_id,
            interaction=interaction.pk if interaction else None,
        )
    return bool(done)


def _withdraw_consent(member: Member) -> None:
    """The member asked not to be contacted: every channel's consent is withdrawn (as evidence
    and on the member), so the workbench and broadcasts skip them from now on."""
    from members.choices import ConsentChannel, ConsentSource
    from members.services import record_consent

    for channel in ConsentChannel.values:
        record_consent(member=member, channel=channel, granted=False, source=ConsentSource.STORE)


def _follow_up(row: Interaction) -> None:
    """The next step that needs a task gets one, due in a few days."""
    kind = {
        NextStep.CALL_AGAIN: TaskKind.CALL,
        NextStep.MESSAGE: TaskKind.MESSAGE,
        NextStep.INVITE: TaskKind.VISIT,
    }.get(row.next_step)
    if kind is None:
        return
    Task.objects.create(
        brand_id=row.brand_id,
        store_id=row.store_id,
        guide_id=row.guide_id,
        member_id=row.member_id,
        kind=kind,
        title=str(NextStep(row.next_step).label),
        due_at=row.occurred_at + dt.timedelta(days=FOLLOW_UP_DAYS),
    )
