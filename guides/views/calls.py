"""Call panel partials the workbench embeds (included at /guides/calls/).

POST `call_start` (a member's "call" button; optional `task` and `client_id`) answers the
call panel; the panel polls `call_status` every second until the call is over, then shows the
two-tap outcome form posting to `call_outcome`, which answers a "done" partial that tells the
page (HX-Trigger-After-Swap) to refresh its numbers and task list. Refusals (no consent, no
phone on the guide's profile, provider down) come back as the panel showing why. Thin: reads
through guides.selectors.calls, writes through guides.services.calls / interactions."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from members.models import Member
from retail.errors import DomainError

from ..choices import NextStep, Outcome
from ..models import Interaction
from ..selectors import calls as selectors
from ..services import calls as services
from ..services.common import member_for


def _call(request, interaction_id: int) -> Interaction:
    row = selectors.call_for(principal=request.principal, interaction_id=interaction_id)
    if row is None:
        raise Http404
    return row


PANEL_TEMPLATE = "guides/calls/_panel.html"
START_TEMPLATE = "guides/calls/_start.html"  # the panel plus its stylesheet, once


def _panel(
    request, row: Interaction, *, error: str = "", form_error: str = "", template: str = PANEL_TEMPLATE
):
    return render(
        request,
        template,
        {
            "call": row,
            "final": services.is_final(row),
            "caller_name": services.caller_name_for(row.member),
            "outcomes": Outcome.choices,
            "next_steps": NextStep.choices,
            "suggested_outcome": selectors.suggested_outcome(row),
            "error": error,
            "form_error": form_error,
        },
    )


@login_required
@require_POST
def call_start(request, member_id: int):
    """Call the member through the brand's telephony provider; the call panel."""
    try:
        member = member_for(request.principal, member_id)
    except Member.DoesNotExist:
        raise Http404 from None
    task = None
    task_id = request.POST.get("task", "")
    if task_id:
        task = selectors.task_for(principal=request.principal, task_id=task_id, member_id=member.pk)
        if task is None:
            raise Http404
    try:
        row = services.start_call(
            request.principal, member=member, task=task, client_id=request.POST.get("client_id") or None
        )
    except DomainError as exc:
        failed_id = getattr(exc, "interaction_id", None)
        if failed_id:
            return _panel(request, _call(request, failed_id), error=exc.message, template=START_TEMPLATE)
        return render(
            request,
            "guides/calls/_refused.html",
            {"member": member, "error": exc.message, "code": exc.code},
        )
    except ValueError:  # a malformed client_id
        return render(request, "guides/calls/_refused.html", {"member": member, "error": "bad client id"})
    return _panel(
        request,
        selectors.call_for(principal=request.principal, interaction_id=row.pk),
        template=START_TEMPLATE,
    )


@never_cache
@login_required
@require_GET
def call_status(request, interaction_id: int):
    """The call panel as it is now (polled every second until the call is over)."""
    return _panel(request, _call(request, interaction_id))


@login_required
@require_POST
def call_outcome(request, interaction_id: int):
    """The two taps: outcome, then next step (and an optional note)."""
    row = _call(request, interaction_id)
    outcome = request.POST.get("outcome", "")
    next_step = request.POST.get("next_step", "") or NextStep.NONE
    note = request.POST.get("note", "").strip()[:2000]
    try:
        row = services.record_call_outcome(
            request.principal, row, outcome=outcome, next_step=next_step, note=note
        )
    except DomainError as exc:
        return _panel(request, row, form_error=exc.message)
    row = _call(request, row.pk)
    response = render(
        request, "guides/calls/_done.html", {"call": row, "caller_name": services.caller_name_for(row.member)}
    )
    response["HX-Trigger-After-Swap"] = json.dumps(
        {
            "guides-numbers-changed": {"interaction": row.pk},
            "guides-task-done": {"task": row.task_id, "interaction": row.pk, "member": row.member_id},
        }
    )
    return response


urlpatterns = [
    path("start/<int:member_id>/", call_start, name="call_start"),
    path("<int:interaction_id>/", call_status, name="call_status"),
    path("<int:interaction_id>/outcome/", call_outcome, name="call_outcome"),
]
