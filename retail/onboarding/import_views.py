"""Bulk onboarding pages: the list of store imports, the upload (with a template CSV), one
import's progress, counts and refused rows (also as a CSV). HQ only; another brand's import
is a 404. Routes in `urlpatterns`, included by retail/onboarding/urls.py under
/onboarding/imports/ (namespace retail:onboarding).

Thin: reads and writes through retail.onboarding.imports; the import runs as a job.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from ..errors import DomainError
from . import imports as services

ERRORS_PER_PAGE = 100
RECENT = 50


class StoreImportForm(forms.Form):
    """The CSV file of stores."""

    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > services.max_upload_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB; split it into smaller files.")
                % {"mb": services.max_upload_bytes() // (1024 * 1024)}
            )
        return upload


def _hq(request):
    principal = request.principal
    if not services.may_import(principal):
        raise PermissionDenied
    return principal


def _import_or_404(request, onboarding_import_id: int):
    principal = _hq(request)
    return get_object_or_404(services.imports_for(principal=principal), pk=onboarding_import_id)


@login_required
@require_GET
def import_list(request):
    """The brand's store imports with their status and progress."""
    principal = _hq(request)
    imports = list(services.imports_for(principal=principal)[:RECENT])
    return render(
        request,
        "onboarding/imports/import_list.html",
        {"imports": imports, "nav_section": "stores"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request):
    """Upload a CSV of stores; a good file starts the import and opens its page, a bad one
    is a form error and nothing is stored."""
    principal = _hq(request)
    form = StoreImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and principal.brand_id is None:
        form.add_error(None, _("Act as a role of a brand to import stores."))
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            onboarding_import, unknown = services.upload_onboarding_import(
                brand_id=principal.brand_id,
                filename=upload.name,
                data=upload.read(),
                created_by=request.user,
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            if unknown:
                messages.warning(
                    request,
                    _("These columns are not known and were ignored: %(columns)s")
                    % {"columns": ", ".join(unknown)},
                )
            return redirect("retail:onboarding:import_detail", onboarding_import_id=onboarding_import.pk)
    return render(
        request,
        "onboarding/imports/import_new.html",
        {
            "form": form,
            "columns": services.COLUMNS,
            "max_mb": services.max_upload_bytes() // (1024 * 1024),
            "nav_section": "stores",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def import_template(request):
    """The header row and two example rows, to fill in."""
    _hq(request)
    response = HttpResponse(services.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="store-import-template.csv"'
    return response


def _status_context(onboarding_import) -> dict:
    return {
        "onboarding_import": onboarding_import,
        "running": services.is_running(onboarding_import),
        "poll_url": reverse(
            "retail:onboarding:import_status", kwargs={"onboarding_import_id": onboarding_import.pk}
        ),
    }


@login_required
@require_GET
def import_detail(request, onboarding_import_id: int):
    """One import: a progress bar while it runs, then its counts and the refused rows."""
    onboarding_import = _import_or_404(request, onboarding_import_id)
    page = Paginator(onboarding_import.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "onboarding/imports/import_detail.html",
        {
            **_status_context(onboarding_import),
            "page": page,
            "rows": services.describe_errors(list(page.object_list)),
            "nav_section": "stores",
        },
    )


@never_cache
@login_required
@require_GET
def import_status(request, onboarding_import_id: int):
    """The progress bar, polled by htmx every second; once the job is over the page reloads."""
    onboarding_import = _import_or_404(request, onboarding_import_id)
    context = _status_context(onboarding_import)
    if request.htmx and not context["running"]:
        return HttpResponseClientRefresh()
    return render(request, "onboarding/imports/_status.html", context)


@login_required
@require_GET
def import_errors_csv(request, onboarding_import_id: int):
    """The refused rows as a CSV (row, column, message)."""
    onboarding_import = _import_or_404(request, onboarding_import_id)
    response = HttpResponse(services.errors_csv(onboarding_import), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="store-import-{onboarding_import.pk}-errors.csv"'
    return response


urlpatterns = [
    path("", import_list, name="import_list"),
    path("new/", import_new, name="import_new"),
    path("template.csv", import_template, name="import_template"),
    path("<int:onboarding_import_id>/", import_detail, name="import_detail"),
    path("<int:onboarding_import_id>/status/", import_status, name="import_status"),
    path("<int:onboarding_import_id>/errors.csv", import_errors_csv, name="import_errors_csv"),
]
