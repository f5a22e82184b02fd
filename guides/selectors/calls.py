"""Reads of the call panel: a call (scoped) with what the panel shows."""

from __future__ import annotations

from retail.tenancy import Principal

from ..choices import CallStatus, Outcome
from ..models import Interaction, Task


def call_for(*, principal: Principal, interaction_id: int | str) -> Interaction | None:
    """The interaction if the principal may see it (a guide: their own), with its member."""
    try:
        pk = int(interaction_id)
    except (TypeError, ValueError):
        return None
    return (
        Interaction.objects.for_principal(principal)
        .select_related("member", "member__brand", "task")
        .filter(pk=pk)
        .first()
    )


def task_for(*, principal: Principal, task_id: int | str, member_id: int) -> Task | None:
    """An open task of the principal's for that member (the call works it)."""
    try:
        pk = int(task_id)
    except (TypeError, ValueError):
        return None
    return Task.objects.for_principal(principal).filter(pk=pk, member_id=member_id).first()


def suggested_outcome(row: Interaction) -> str:
    """The outcome preselected when the call is over: "no answer" for a call nobody took."""
    if row.outcome:
        return row.outcome
    if row.call_status in (CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED):
        return Outcome.NO_ANSWER
    return ""
