"""Rehearsal pages (included at /promotions/rehearsals/), HQ only.

`rehearsal_list`: the brand's rehearsals and the start form (campaign + stores);
`rehearsal_detail`: the report — a progress bar while the stores run (htmx polls
`rehearsal_progress`, which refreshes the page once done), then the stores, not ready
first, with the failing steps' reasons and every step's time. Thin: reads through
promotions.selectors.rehearsals, writes through promotions.services.rehearsals."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..forms import rehearsals as forms
from ..models import CampaignStore
from ..selectors import rehearsals as selectors
from ..services import rehearsals as services

PER_PAGE = 30
NAV = {"nav_section": "promotions"}


def _require_hq(request) -> None:
    if not services.may_rehearse(request.principal):
        raise PermissionDenied


def _rehearsal(request, rehearsal_id: int):
    rehearsal = selectors.rehearsal_detail(principal=request.principal, rehearsal_id=rehearsal_id)
    if rehearsal is None:
        raise Http404
    _require_hq(request)
    return rehearsal


@login_required
@require_http_methods(["GET", "POST"])
def rehearsal_list(request):
    """The brand's rehearsals, newest first, and the form that starts one."""
    principal = request.principal
    _require_hq(request)
    form = forms.RehearsalStartForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        try:
            rehearsal = services.start_rehearsal(
                campaign=form.cleaned_data["campaign"],
                store_ids=[s.pk for s in form.cleaned_data["stores"]],
                started_by_id=request.user.pk,
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Rehearsal started: each store walks the flow now."))
            return redirect("promotions:rehearsal_detail", rehearsal_id=rehearsal.pk)
    page = retail_selectors.page_of(
        selectors.rehearsals_for(principal=principal), page=request.GET.get("page"), per_page=PER_PAGE
    )
    campaign_stores: dict[str, list[int]] = {}
    for campaign_id, store_id in CampaignStore.objects.for_principal(principal).values_list(
        "campaign_id", "store_id"
    ):
        campaign_stores.setdefault(str(campaign_id), []).append(store_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "promotions/rehearsals/list.html",
        {**NAV, "form": form, "page": page, "query": "", "campaign_stores": campaign_stores},
        status=status,
    )


def _progress_context(rehearsal) -> dict:
    return {
        "running": selectors.is_running(rehearsal),
        "percent": rehearsal.progress,
        "poll_url": reverse("promotions:rehearsal_progress", kwargs={"rehearsal_id": rehearsal.pk}),
        "label": _("Rehearsal progress"),
        "detail": _("%(done)s of %(total)s stores")
        % {"done": rehearsal.ready_count + rehearsal.not_ready_count, "total": rehearsal.run_count},
    }


@never_cache
@login_required
@require_GET
def rehearsal_detail(request, rehearsal_id: int):
    """The report: progress while running; stores not ready first, failing steps and times."""
    rehearsal = _rehearsal(request, rehearsal_id)
    runs = selectors.rehearsal_runs(rehearsal=rehearsal)
    return render(
        request,
        "promotions/rehearsals/detail.html",
        {
            **NAV,
            **_progress_context(rehearsal),
            "rehearsal": rehearsal,
            "runs": runs,
            "step_labels": [selectors.step_label(s) for s in services.STEP_ORDER],
        },
    )


@never_cache
@login_required
@require_GET
def rehearsal_progress(request, rehearsal_id: int):
    """The progress bar (htmx polls it); once finished the page reloads to show the report."""
    rehearsal = _rehearsal(request, rehearsal_id)
    context = _progress_context(rehearsal)
    response = render(request, "_progress.html", context)
    if not context["running"]:
        response["HX-Refresh"] = "true"
    return response


urlpatterns = [
    path("", rehearsal_list, name="rehearsal_list"),
    path("<int:rehearsal_id>/", rehearsal_detail, name="rehearsal_detail"),
    path("<int:rehearsal_id>/progress/", rehearsal_progress, name="rehearsal_progress"),
]
