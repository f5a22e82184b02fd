"""Member imports pages: upload (with a template CSV), the dry run's preview with per-row
errors, the import with a progress bar, resume. Routes in `urlpatterns`, included by
members/urls.py under /members/imports/ in the `members` namespace.

Thin: reads through members.selectors.imports (scoped: another brand's import is a 404),
writes through members.services.imports; the long work runs as jobs (retail.jobs).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from retail.errors import Conflict, DomainError

from ..choices import ImportStage
from ..import_forms import MemberImportUploadForm
from ..selectors import imports as selectors
from ..services import imports as services

ERRORS_PER_PAGE = 50
RECENT = 20  # imports listed on the upload page


def _principal_who_imports(request):
    principal = request.principal
    if not selectors.may_import(principal):
        raise PermissionDenied
    return principal


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    """The upload form and the recent imports. A good upload goes to its preview (the dry run
    starts at once); a bad file is a form error and nothing is stored."""
    principal = _principal_who_imports(request)
    form = MemberImportUploadForm(request.POST or None, request.FILES or None, principal=principal)
    earlier = None
    if request.method == "POST" and principal.brand_id is None:
        form.add_error(None, _("Act as a role of a brand to import members."))
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            member_import, unknown = services.upload_member_import(
                brand_id=principal.brand_id,
                store=form.cleaned_data["store"],
                fileobj=upload,
                filename=upload.name,
                size=upload.size,
                uploaded_by=request.user,
            )
        except Conflict as exc:
            form.add_error("file", exc.message)
            earlier_id = exc.fields.get("import_id")
            earlier = selectors.imports_for(principal=principal).filter(pk=earlier_id).first()
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            if unknown:
                messages.warning(
                    request,
                    _("These columns are not known and were ignored: %(columns)s")
                    % {"columns": ", ".join(unknown)},
                )
            return redirect("members:import_detail", import_id=member_import.pk)
    imports = list(selectors.imports_for(principal=principal)[:RECENT])
    return render(
        request,
        "members/imports/import_list.html",
        {"form": form, "imports": imports, "earlier": earlier, "nav_section": "members"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def import_template(request):
    """A CSV with the header row (and one example row) to fill in."""
    _principal_who_imports(request)
    response = HttpResponse(services.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="member-import-template.csv"'
    return response


def _import_or_404(request, import_id: int):
    return get_object_or_404(selectors.imports_for(principal=request.principal), pk=import_id)


def _status_context(member_import) -> dict:
    return {
        "member_import": member_import,
        "running": selectors.is_running(member_import),
        "percent": selectors.import_percent(member_import),
        "poll_url": reverse("members:import_status", kwargs={"import_id": member_import.pk}),
    }


@login_required
@require_GET
def import_detail(request, import_id: int):
    """One import at its stage: progress while it runs; the preview (totals, new vs merged,
    row errors a page at a time) once checked; the counts once done; resume if it stopped."""
    member_import = _import_or_404(request, import_id)
    paginator = Paginator(selectors.import_row_errors(member_import=member_import), ERRORS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(e.row_number, selectors.describe_errors(e.errors)) for e in page.object_list]
    notes = selectors.import_row_errors(member_import=member_import, notes=True)
    header = services.header_of(member_import) if member_import.stage == ImportStage.CHECKED else None
    context = {
        **_status_context(member_import),
        "page": page,
        "rows": rows,
        "notes": [(e.row_number, selectors.describe_errors(e.errors)) for e in notes[:10]],
        "notes_count": notes.count() if member_import.stage in (ImportStage.CHECKED, ImportStage.DONE) else 0,
        "unknown_columns": header.unknown if header else [],
        "valid_rows": max(0, member_import.rows_total - member_import.rows_invalid),
        "may_resume": member_import.started_at is not None
        and member_import.stage in (ImportStage.FAILED, ImportStage.IMPORTING),
        "may_check": member_import.started_at is None
        and member_import.stage in (ImportStage.UPLOADED, ImportStage.FAILED, ImportStage.CHECKING),
        "nav_section": "members",
    }
    if request.htmx and request.htmx.target == "import-errors":
        return render(request, "members/imports/_errors.html", context)
    return render(request, "members/imports/import_detail.html", context)


@never_cache
@login_required
@require_GET
def import_status(request, import_id: int):
    """The progress bar (htmx polls it every second); when the stage is over, the page reloads
    to show the preview or the result."""
    member_import = _import_or_404(request, import_id)
    context = _status_context(member_import)
    if request.htmx and not context["running"]:
        return HttpResponseClientRefresh()
    return render(request, "members/imports/_status.html", context)


@login_required
@require_POST
def import_check(request, import_id: int):
    """(Re)start the dry run of an uploaded import, or of one whose check failed."""
    member_import = _import_or_404(request, import_id)
    try:
        services.start_check(member_import=member_import)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("members:import_detail", import_id=member_import.pk)


@login_required
@require_POST
def import_run(request, import_id: int):
    """Import the valid rows of a checked import, or resume one that stopped mid-way."""
    member_import = _import_or_404(request, import_id)
    try:
        services.start_import(member_import=member_import)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("members:import_detail", import_id=member_import.pk)


urlpatterns = [
    path("", import_list, name="import_list"),
    path("template.csv", import_template, name="import_template"),
    path("<int:import_id>/", import_detail, name="import_detail"),
    path("<int:import_id>/status/", import_status, name="import_status"),
    path("<int:import_id>/check/", import_check, name="import_check"),
    path("<int:import_id>/import/", import_run, name="import_run"),
]
