"""Incident desk pages (included at /promotions/incidents/).

Store staff report from a tablet (`incident_report`); HQ's desk (`incident_list`) shows the
brand's incidents live (ws/incidents/ pushes ids; the page fetches the row partial), store
staff see their stores'. An incident's page shows its comments, both offline records of a
double spend, time open; HQ assigns and resolves. The photo is served only through
`incident_detail?photo=1`, to whoever may see the incident. Thin: reads through
promotions.selectors.incidents, writes through promotions.services.incidents."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail import selectors as retail_selectors
from retail.choices import Role
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..choices import IncidentKind, IncidentStatus
from ..forms import incidents as forms
from ..selectors import incidents as selectors
from ..services import incidents as services

PER_PAGE = 50
NAV = {"nav_section": "promotions"}


def _is_hq(principal) -> bool:
    return principal.is_superuser or principal.role == Role.HQ_ADMIN


def _incident(request, incident_id: int):
    incident = selectors.incident_detail(principal=request.principal, incident_id=incident_id)
    if incident is None:
        raise Http404
    return incident


def _decorate(incidents) -> None:
    for incident in incidents:
        incident.minutes_open = selectors.minutes_open(incident)


@never_cache
@login_required
@require_GET
def incident_list(request):
    """The desk: filters (status, severity, campaign, store), newest first, live; HQ also sees
    time to resolve for the chosen campaign (or every campaign) as a chart."""
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    form = forms.IncidentFilterForm(request.GET or None, principal=principal)
    filters = form.filters()
    page = retail_selectors.page_of(
        selectors.incident_list(principal=principal, **filters),
        page=request.GET.get("page"),
        per_page=PER_PAGE,
    )
    _decorate(page.items)
    query = "&".join(f"{k}={v}" for k, v in request.GET.items() if k != "page" and v)
    stats = selectors.time_to_resolve(principal=principal, campaign_id=filters.get("campaign_id"))
    chart = [
        {
            "label": row["label"],
            "count": row["count"],
            "open": row["open"],
            "median": row["median_minutes"],
            "p90": row["p90_minutes"],
        }
        for row in stats["by_kind"]
    ]
    return render(
        request,
        "promotions/incidents/list.html",
        {
            **NAV,
            "form": form,
            "page": page,
            "query": query,
            "stats": stats,
            "chart": chart,
            "is_hq": _is_hq(principal),
            "row_url": reverse("promotions:incident_list"),
        },
    )


@never_cache
@login_required
@require_GET
def incident_row(request, incident_id: int):
    """One row of the desk (the live page asks for it when an incident opens or changes);
    204 when it does not pass the desk's current filters."""
    incident = _incident(request, incident_id)
    form = forms.IncidentFilterForm(request.GET or None, principal=request.principal)
    if not selectors.matches(incident, **form.filters()):
        return HttpResponse(status=204)
    _decorate([incident])
    return render(request, "promotions/incidents/_row.html", {"incident": incident})


@login_required
@require_http_methods(["GET", "POST"])
def incident_report(request):
    """The store's report (tablet): kind, severity, title, note, photo; the store's live
    campaign preselected."""
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    form = forms.IncidentReportForm(request.POST or None, request.FILES or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.report_incident(**form.values(), reported_by_id=request.user.pk)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Incident reported: HQ sees it now."))
            return redirect("promotions:incident_detail", incident_id=incident.pk)
    status = 400 if request.method == "POST" else 200
    live = selectors.live_campaign_by_store(principal=principal)
    return render(
        request,
        "promotions/incidents/report.html",
        {**NAV, "form": form, "live_campaigns": live},
        status=status,
    )


@never_cache
@login_required
@require_GET
def incident_detail(request, incident_id: int):
    """One incident: what, where, time open, photo, both offline records of a double spend,
    comments; HQ assigns and resolves. `?photo=1`: the photo itself (never public)."""
    incident = _incident(request, incident_id)
    if request.GET.get("photo"):
        return _photo(incident)
    is_hq = _is_hq(request.principal)
    return render(
        request,
        "promotions/incidents/detail.html",
        {
            **NAV,
            "incident": incident,
            "minutes_open": selectors.minutes_open(incident),
            "is_hq": is_hq,
            "open": incident.status != IncidentStatus.RESOLVED,
            "assign_form": forms.AssignForm(
                brand_id=incident.brand_id, initial={"assignee": incident.assignee_id}
            )
            if is_hq
            else None,
            "comment_form": forms.CommentForm(),
            "resolve_form": forms.ResolveForm() if is_hq else None,
            "double_spend": incident.kind == IncidentKind.DOUBLE_SPEND,
            "records": selectors.offline_records(incident),
        },
    )


def _photo(incident) -> FileResponse:
    if not incident.photo:
        raise Http404
    try:
        handle = incident.photo.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    content_type = mimetypes.guess_type(incident.photo.name)[0] or "application/octet-stream"
    if not content_type.startswith("image/"):
        content_type = "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


def _back(incident_id: int):
    return redirect("promotions:incident_detail", incident_id=incident_id)


@login_required
@require_POST
def incident_assign(request, incident_id: int):
    incident = _incident(request, incident_id)
    if not _is_hq(request.principal):
        raise PermissionDenied
    form = forms.AssignForm(request.POST, brand_id=incident.brand_id)
    if not form.is_valid():
        messages.error(request, _("Choose one of the brand's HQ staff."))
        return _back(incident.pk)
    try:
        services.assign_incident(
            incident=incident, assignee_id=form.cleaned_data["assignee"].pk, actor_id=request.user.pk
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Incident assigned."))
    return _back(incident.pk)


@login_required
@require_POST
def incident_comment(request, incident_id: int):
    incident = _incident(request, incident_id)
    form = forms.CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a comment first."))
        return _back(incident.pk)
    try:
        services.comment_incident(
            incident=incident, author_id=request.user.pk, body=form.cleaned_data["body"]
        )
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        messages.error(request, exc.message)
    return _back(incident.pk)


@login_required
@require_POST
def incident_resolve(request, incident_id: int):
    incident = _incident(request, incident_id)
    if not _is_hq(request.principal):
        raise PermissionDenied
    form = forms.ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what was done to resolve it."))
        return _back(incident.pk)
    try:
        services.resolve_incident(
            incident=incident, resolution=form.cleaned_data["resolution"], actor_id=request.user.pk
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Incident resolved."))
    return _back(incident.pk)


urlpatterns = [
    path("", incident_list, name="incident_list"),
    path("report/", incident_report, name="incident_report"),
    path("<int:incident_id>/", incident_detail, name="incident_detail"),
    path("<int:incident_id>/row/", incident_row, name="incident_row"),
    path("<int:incident_id>/assign/", incident_assign, name="incident_assign"),
    path("<int:incident_id>/comment/", incident_comment, name="incident_comment"),
    path("<int:incident_id>/resolve/", incident_resolve, name="incident_resolve"),
]
