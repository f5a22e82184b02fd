"""Member reassignment pages (included at /guides/assignments/), for store managers and HQ.

- GET/POST /guides/assignments/              the form (store, from guide or member numbers, to
                                             guides, reason, note) and the batch history
- GET      /guides/assignments/<batch_id>/   the members a batch moved, from → to

Thin: reads through guides.selectors.assignments, writes through guides.services.assignments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..forms.assignments import ReassignForm
from ..selectors import assignments as selectors
from ..services import assignments as services
from .access import manager_principal

NAV = {"nav_section": "guides"}
PER_PAGE = 50


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def assignment_list(request):
    """The bulk reassignment form and the history of batches."""
    principal = manager_principal(request)
    form = ReassignForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.reassign_members(principal, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("%(n)s members reassigned.") % {"n": batch.members_moved})
            return redirect("guides:batch_detail", batch_id=batch.pk)
    page = retail_selectors.page_of(
        selectors.batches(principal), page=request.GET.get("page"), per_page=PER_PAGE
    )
    return render(
        request,
        "guides/assignments/list.html",
        {**NAV, "form": form, "page": page},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@login_required
@require_GET
def assignment_guides(request):
    """The chosen store's guides for the form (htmx, when the store changes): `?store=`."""
    principal = manager_principal(request)
    form = ReassignForm(principal=principal, store_id=request.GET.get("store"))
    return render(request, "guides/assignments/_guides.html", {"form": form})


@never_cache
@login_required
@require_GET
def batch_detail(request, batch_id: int):
    """One reassignment: who moved it, why, and each member from → to."""
    principal = manager_principal(request)
    try:
        batch = selectors.batch_for(principal, batch_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    page = retail_selectors.page_of(
        selectors.batch_changes(batch), page=request.GET.get("page"), per_page=PER_PAGE
    )
    return render(request, "guides/assignments/detail.html", {**NAV, "batch": batch, "page": page})


urlpatterns = [
    path("", assignment_list, name="assignment_list"),
    path("guides/", assignment_guides, name="assignment_guides"),
    path("<int:batch_id>/", batch_detail, name="batch_detail"),
]
