"""Staff pages: a campaign's member-exclusive benefits (included at /promotions/benefits/).

HQ adds, edits and deletes them while the campaign is a draft; once it is published the
list is read only and shows when each segment was frozen and how many members it held.
Thin: reads through promotions.selectors.benefits, writes through
promotions.services.benefits."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..choices import CampaignStatus
from ..forms.benefits import BenefitForm
from ..selectors import benefits as selectors
from ..services import benefits as services

NAV = {"nav_section": "promotions"}


def _require_hq(request) -> None:
    if not services.may_manage_benefits(request.principal):
        raise PermissionDenied


def _campaign(request, campaign_id: int):
    campaign = selectors.campaign_for_benefits(principal=request.principal, campaign_id=campaign_id)
    if campaign is None:
        raise Http404
    _require_hq(request)
    return campaign


def _benefit(request, benefit_id: int):
    benefit = selectors.benefit_detail(principal=request.principal, benefit_id=benefit_id)
    if benefit is None:
        raise Http404
    _require_hq(request)
    return benefit


@login_required
@require_GET
def benefit_list(request, campaign_id: int):
    """A campaign's benefits: kind, audience (tiers, segment and its frozen size)."""
    campaign = _campaign(request, campaign_id)
    return render(
        request,
        "promotions/benefits/list.html",
        {
            **NAV,
            "campaign": campaign,
            "benefits": selectors.benefits_of(campaign=campaign),
            "editable": campaign.status == CampaignStatus.DRAFT,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def benefit_new(request, campaign_id: int):
    """Add a benefit to a draft campaign."""
    campaign = _campaign(request, campaign_id)
    form = BenefitForm(request.POST or None, principal=request.principal)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_benefit(campaign=campaign, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Benefit added."))
            return redirect("promotions:benefit_list", campaign_id=campaign.pk)
    return _form_page(request, form, campaign=campaign, benefit=None)


@login_required
@require_http_methods(["GET", "POST"])
def benefit_edit(request, benefit_id: int):
    """Change a benefit of a draft campaign."""
    benefit = _benefit(request, benefit_id)
    form = BenefitForm(request.POST or None, principal=request.principal, benefit=benefit)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_benefit(benefit=benefit, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Benefit saved."))
            return redirect("promotions:benefit_list", campaign_id=benefit.campaign_id)
    return _form_page(request, form, campaign=benefit.campaign, benefit=benefit)


def _form_page(request, form, *, campaign, benefit):
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "promotions/benefits/form.html",
        {
            **NAV,
            "form": form,
            "campaign": campaign,
            "benefit": benefit,
            "editable": campaign.status == CampaignStatus.DRAFT,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def benefit_delete(request, benefit_id: int):
    """Delete a benefit of a draft campaign (GET asks to confirm)."""
    benefit = _benefit(request, benefit_id)
    error = ""
    if request.method == "POST":
        try:
            services.delete_benefit(benefit=benefit)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Benefit “%(name)s” deleted.") % {"name": benefit.name})
            return redirect("promotions:benefit_list", campaign_id=benefit.campaign_id)
    return render(
        request,
        "promotions/benefits/delete.html",
        {**NAV, "benefit": benefit, "campaign": benefit.campaign, "error": error},
        status=409 if error else 200,
    )


urlpatterns = [
    path("<int:campaign_id>/", benefit_list, name="benefit_list"),
    path("<int:campaign_id>/new/", benefit_new, name="benefit_new"),
    path("edit/<int:benefit_id>/", benefit_edit, name="benefit_edit"),
    path("delete/<int:benefit_id>/", benefit_delete, name="benefit_delete"),
]
