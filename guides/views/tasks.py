"""Task pages (included at /guides/tasks/).

- GET  /guides/tasks/                      the managers' board: per guide open / due today /
                                           overdue / done this week, and the overdue list with
                                           filters (guides are sent to their workbench)
- POST /guides/tasks/<task_id>/snooze/     snooze a task (htmx: answers the task's row partial,
                                           templates/guides/tasks/_task_row.html)
- POST /guides/tasks/<task_id>/cancel/     a manager cancels a task (htmx: the row partial)

Thin: reads through guides.selectors.tasks, writes through guides.services.tasks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from retail import selectors as retail_selectors
from retail.errors import DomainError

from ..choices import TaskStatus
from ..forms.tasks import PRESETS, SnoozeForm, TaskBoardFilterForm
from ..selectors import tasks as selectors
from ..services import tasks as services

NAV = {"nav_section": "guides"}
PER_PAGE = 50


def _task(request, task_id: int):
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    try:
        return principal, selectors.task_for(principal, task_id)
    except ObjectDoesNotExist:
        raise Http404 from None


def _workbench_url() -> str | None:
    try:
        return reverse("guides:workbench")
    except NoReverseMatch:
        return None


@never_cache
@login_required
@require_GET
def task_board(request):
    """Per guide counts and the overdue tasks, for managers and HQ."""
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    if principal.guide_user_id is not None:
        target = _workbench_url()
        if target:
            return redirect(target)
        raise Http404
    form = TaskBoardFilterForm(request.GET or None, principal=principal)
    filters = form.filters()
    now = timezone.now()
    counts = selectors.task_counts(principal, now=now, store_id=filters.get("store_id"))
    page = retail_selectors.page_of(
        selectors.overdue_tasks(principal, now=now, **filters),
        page=request.GET.get("page"),
        per_page=PER_PAGE,
    )
    for task in page.items:
        task.is_overdue = True
    query = "&".join(f"{k}={v}" for k, v in request.GET.items() if k != "page" and v)
    return render(
        request,
        "guides/tasks/board.html",
        {
            **NAV,
            "form": form,
            "counts": counts,
            "page": page,
            "query": query,
            "presets": PRESETS,
            "is_manager": True,
        },
    )


def _row(request, task, *, error: str = "", status: int = 200):
    now = timezone.now()
    workable = task.status == TaskStatus.OPEN or (
        task.status == TaskStatus.SNOOZED and task.snoozed_until is not None and task.snoozed_until <= now
    )
    task.is_overdue = workable and task.due_at < now
    is_manager = request.principal.guide_user_id is None
    return render(
        request,
        "guides/tasks/_task_row.html",
        {"task": task, "error": error, "presets": PRESETS, "is_manager": is_manager},
        status=status,
    )


def _back(request):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(
        _workbench_url() if request.principal.guide_user_id is not None else reverse("guides:task_board")
    )


@login_required
@require_POST
def task_snooze(request, task_id: int):
    """Snooze a task (a preset or a time). htmx gets the updated row; a refusal is shown in
    the row (200, so htmx swaps it)."""
    principal, task = _task(request, task_id)
    form = SnoozeForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            task = services.snooze_task(principal, task, until=form.cleaned_data["until"])
        except DomainError as exc:
            error = str(exc.message)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.headers.get("HX-Request"):
        response = _row(request, task, error=error)
        if not error:
            response["HX-Trigger-After-Swap"] = "guides-task-snoozed"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Task snoozed."))
    return _back(request)


@login_required
@require_POST
def task_cancel(request, task_id: int):
    """A manager cancels a task."""
    principal, task = _task(request, task_id)
    error = ""
    try:
        task = services.cancel_task(principal, task)
    except DomainError as exc:
        error = str(exc.message)
    if request.headers.get("HX-Request"):
        return _row(request, task, error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Task cancelled."))
    return _back(request)


urlpatterns = [
    path("", task_board, name="task_board"),
    path("<int:task_id>/snooze/", task_snooze, name="task_snooze"),
    path("<int:task_id>/cancel/", task_cancel, name="task_cancel"),
]
