"""Call-plan pages (included at /guides/plans/), for store managers and HQ.

- GET/POST /guides/plans/                       the plans and the form to make one (a draft)
- GET      /guides/plans/<plan_id>/             a plan: progress while its tasks are made
                                                (htmx polls), tasks per guide, done per day
- GET      /guides/plans/<plan_id>/progress/    the progress partial (reloads the page when done)
- POST     /guides/plans/<plan_id>/start/       make the tasks (a background job)
- POST     /guides/plans/<plan_id>/cancel/      cancel the plan and its open tasks

Thin: reads through guides.selectors.plans, writes through guides.services.plans."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..choices import PlanStatus
from ..forms.plans import PlanForm
from ..selectors import plans as selectors
from ..services import plans as services
from .access import manager_principal

NAV = {"nav_section": "guides"}
PER_PAGE = 30


def _plan(request, plan_id: int):
    principal = manager_principal(request)
    try:
        return principal, selectors.plan_for(principal, plan_id)
    except ObjectDoesNotExist:
        raise Http404 from None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def plan_list(request):
    """The plans, newest first, and the form to make a draft."""
    principal = manager_principal(request)
    form = PlanForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.create_plan(principal, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Plan saved as a draft: check it, then start it."))
            return redirect("guides:plan_detail", plan_id=plan.pk)
    page = retail_selectors.page_of(
        selectors.plans_for(principal), page=request.GET.get("page"), per_page=PER_PAGE
    )
    return render(
        request,
        "guides/plans/list.html",
        {**NAV, "form": form, "page": page},
        status=400 if request.method == "POST" else 200,
    )


def _progress_context(plan) -> dict:
    return {
        "plan": plan,
        "running": plan.status == PlanStatus.GENERATING,
        "poll_url": reverse("guides:plan_progress", kwargs={"plan_id": plan.pk}),
    }


@never_cache
@login_required
@require_GET
def plan_detail(request, plan_id: int):
    """A plan: its state, tasks per guide (done / open / overdue) and done per day."""
    principal, plan = _plan(request, plan_id)
    guides = selectors.plan_guides(principal, plan)
    totals = selectors.plan_summary(principal, plan)
    return render(
        request,
        "guides/plans/detail.html",
        {
            **NAV,
            **_progress_context(plan),
            "guides": guides,
            "totals": totals,
            "chart": selectors.plan_done_per_day(plan),
            "may_start": plan.status in services.STARTABLE,
            "may_cancel": plan.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE, PlanStatus.FAILED),
        },
    )


@never_cache
@login_required
@require_GET
def plan_progress(request, plan_id: int):
    """The progress bar while the tasks are made; once made, htmx reloads the whole page."""
    _principal, plan = _plan(request, plan_id)
    response = render(request, "guides/plans/_progress.html", _progress_context(plan))
    if plan.status != PlanStatus.GENERATING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def plan_start(request, plan_id: int):
    principal, plan = _plan(request, plan_id)
    try:
        services.start_plan(principal, plan)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Making the plan's tasks…"))
    return redirect("guides:plan_detail", plan_id=plan.pk)


@login_required
@require_POST
def plan_cancel(request, plan_id: int):
    principal, plan = _plan(request, plan_id)
    try:
        cancelled = services.cancel_plan(principal, plan)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Plan cancelled with %(n)s open tasks.") % {"n": cancelled})
    return redirect("guides:plan_detail", plan_id=plan.pk)


urlpatterns = [
    path("", plan_list, name="plan_list"),
    path("<int:plan_id>/", plan_detail, name="plan_detail"),
    path("<int:plan_id>/progress/", plan_progress, name="plan_progress"),
    path("<int:plan_id>/start/", plan_start, name="plan_start"),
    path("<int:plan_id>/cancel/", plan_cancel, name="plan_cancel"),
]
