"""Member profiles pages (routes in `urlpatterns`, included by members/urls.py at
/members/profiles/): the R×F chart and score summary for everyone with a role; HQ also starts
a computation (a Celery job) and watches its progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from retail.choices import Role
from retail.errors import DomainError

from ..choices import JobStatus
from ..selectors import profiles as selectors
from ..services import profiles as services


def _principal_with_brand(request):
    """Profiles are a brand's: a user acting in a role of one (a superuser picks a role)."""
    principal = request.principal
    if principal.brand_id is None:
        raise PermissionDenied
    return principal


def _may_start(principal) -> bool:
    return principal.role == Role.HQ_ADMIN


def _progress_context(run) -> dict:
    active = run.status in (JobStatus.PENDING, JobStatus.RUNNING)
    detail = run.get_status_display()
    if run.status == JobStatus.DONE:
        detail = _("%(status)s · %(count)s profiles") % {"status": detail, "count": run.profiles}
    elif run.status == JobStatus.FAILED and run.error:
        detail = f"{detail} · {run.error[:120]}"
    return {
        "run": run,
        "percent": run.progress,
        "running": active,
        "poll_url": reverse("members:profile_run", kwargs={"run_id": run.pk}),
        "label": _("Profile computation progress"),
        "detail": detail,
    }


@login_required
@require_GET
def profiles(request):
    """R×F heatmap and score summary of the principal's members; HQ: start and watch runs."""
    principal = _principal_with_brand(request)
    may_start = _may_start(principal)
    active = selectors.active_profile_run(principal=principal) if may_start else None
    overview = selectors.profile_overview(principal=principal)
    context = {
        "distribution": overview["distribution"],
        "summary": overview["summary"],
        "may_start": may_start,
        "runs": selectors.profile_runs(principal=principal) if may_start else [],
        "active": active,
        **(_progress_context(active) if active else {}),
    }
    return render(request, "members/profiles/profiles.html", context)


@never_cache
@login_required
@require_POST
def profile_run_start(request):
    """HQ starts a computation of the brand's profiles; refused while one is going."""
    principal = _principal_with_brand(request)
    if not _may_start(principal):
        raise PermissionDenied
    try:
        run = services.start_profile_run(brand_id=principal.brand_id, actor=request.user)
    except DomainError as exc:
        if request.htmx:  # the refusal, and the progress of the run that is going
            active = selectors.active_profile_run(principal=principal)
            context = {"message": exc.message, **(_progress_context(active) if active else {})}
            return render(request, "members/profiles/_refused.html", context)
        messages.error(request, exc.message)
        return redirect("members:profiles")
    run.refresh_from_db()  # inline jobs (tests, JOBS_INLINE) may have finished it already
    if request.htmx:
        return render(request, "_progress.html", _progress_context(run))
    messages.success(request, _("The profile computation has started."))
    return redirect("members:profiles")


@never_cache
@login_required
@require_GET
def profile_run(request, run_id: int):
    """A run's progress bar (polled by htmx until the run ends; then the page reloads)."""
    principal = _principal_with_brand(request)
    run = selectors.profile_run(principal=principal, run_id=run_id)
    if run is None:
        raise Http404
    context = _progress_context(run)
    response = render(request, "_progress.html", context)
    if request.htmx and not context["running"]:
        response["HX-Refresh"] = "true"  # show the new figures and the run list
    return response


urlpatterns = [
    path("", profiles, name="profiles"),
    path("runs/", profile_run_start, name="profile_run_start"),
    path("runs/<int:run_id>/", profile_run, name="profile_run"),
]
