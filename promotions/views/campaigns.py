"""Staff pages of campaigns (/promotions/campaigns/): the list, a campaign's page (phase
timeline, stores, coupon templates, benefits, audit excerpt), HQ's create / edit / phases /
publish / end pages and the time-travel preview.

HQ (and superusers) change campaigns; store managers and guides read the campaigns that
include their stores. Thin: reads through promotions.selectors.campaigns, writes through
promotions.services.campaigns."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..choices import CampaignStatus
from ..forms.campaigns import CampaignForm, PhasesForm, PreviewForm
from ..selectors import campaigns as selectors
from ..services import campaigns as services

NAV = {"section": "campaigns"}


def _campaign(request, campaign_id: int):
    campaign = selectors.campaign_detail(principal=request.principal, campaign_id=campaign_id)
    if campaign is None:
        raise Http404
    return campaign


def _require_hq(request) -> None:
    if not services.may_manage_campaigns(request.principal):
        raise PermissionDenied


def _brand_id(request) -> int:
    brand_id = request.principal.brand_id
    if brand_id is None:  # a superuser acting for no brand makes no campaigns
        raise Http404
    return brand_id


def _benefits_url(campaign_id: int) -> str:
    # the benefits pages are another area's; link them once they exist
    try:
        return reverse("promotions:benefit_list", kwargs={"campaign_id": campaign_id})
    except NoReverseMatch:
        return ""


def _status(request) -> int:
    return 400 if request.method == "POST" else 200


@login_required
@require_GET
def campaign_list(request):
    """The campaigns the principal may see: status, current phase, next change, stores."""
    return render(
        request,
        "promotions/campaigns/list.html",
        {
            **NAV,
            "rows": selectors.campaign_list(principal=request.principal),
            "may_manage": services.may_manage_campaigns(request.principal),
            "now": timezone.now(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request):
    """HQ makes a draft campaign; its phases are set next."""
    brand_id = _brand_id(request)
    _require_hq(request)
    form = CampaignForm(
        request.POST or None,
        stores=selectors.brand_stores(campaign_brand_id=brand_id),
        initial={"switches_shelves": True},
    )
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.create_campaign(
                brand_id=brand_id, actor=request.user, **form.service_kwargs()
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request, _("Campaign “%(name)s” created: now set its phases.") % {"name": campaign.name}
            )
            return redirect("promotions:campaign_phases", campaign_id=campaign.pk)
    return render(
        request,
        "promotions/campaigns/form.html",
        {**NAV, "form": form, "campaign": None},
        status=_status(request),
    )


@login_required
@require_GET
def campaign_detail(request, campaign_id: int):
    """One campaign: phase timeline with now, stores, coupon templates, benefits, the
    publish button (HQ, draft) and the latest audit entries."""
    campaign = _campaign(request, campaign_id)
    may_manage = services.may_manage_campaigns(request.principal)
    now = timezone.now()
    phases = campaign.ordered_phases
    when, label = selectors.next_change(phases, now)
    return render(
        request,
        "promotions/campaigns/detail.html",
        {
            **NAV,
            "campaign": campaign,
            "phases": phases,
            "timeline": selectors.timeline(phases, now),
            "next_change": when,
            "next_label": label,
            "templates": selectors.campaign_templates(campaign=campaign),
            "benefits_url": _benefits_url(campaign.pk),
            "audit": selectors.campaign_audit(principal=request.principal, campaign=campaign)
            if may_manage
            else [],
            "may_manage": may_manage,
            "is_draft": campaign.status == CampaignStatus.DRAFT,
            "is_live": campaign.status == CampaignStatus.PUBLISHED,
            "problems": services.publish_problems(campaign=campaign, now=now)
            if may_manage and campaign.status == CampaignStatus.DRAFT
            else [],
            "now": now,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, campaign_id: int):
    """HQ changes the campaign's name, description, stores (while draft) and shelf switch."""
    campaign = _campaign(request, campaign_id)
    _require_hq(request)
    if campaign.status == CampaignStatus.ENDED:
        messages.error(request, _("The campaign has ended; it can no longer be changed."))
        return redirect("promotions:campaign_detail", campaign_id=campaign.pk)
    form = CampaignForm(
        request.POST or None,
        stores=selectors.brand_stores(campaign_brand_id=campaign.brand_id),
        initial={
            "name": campaign.name,
            "description": campaign.description,
            "stores": [s.pk for s in campaign.participating],
            "switches_shelves": campaign.switches_shelves,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_campaign(campaign=campaign, actor=request.user, **form.service_kwargs())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("promotions:campaign_detail", campaign_id=campaign.pk)
    return render(
        request,
        "promotions/campaigns/form.html",
        {**NAV, "form": form, "campaign": campaign},
        status=_status(request),
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_phases(request, campaign_id: int):
    """HQ sets the phases' starts and ends (Asia/Shanghai) while the campaign is a draft."""
    campaign = _campaign(request, campaign_id)
    _require_hq(request)
    editable = campaign.status == CampaignStatus.DRAFT
    form = PhasesForm(request.POST or None, initial=PhasesForm.initial_for(campaign.ordered_phases))
    if request.method == "POST":
        if not editable:
            messages.error(request, _("The campaign is published: its phases can no longer change."))
            return redirect("promotions:campaign_detail", campaign_id=campaign.pk)
        if form.is_valid():
            try:
                services.set_phases(campaign=campaign, phases=form.phases(), actor=request.user)
            except DomainError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Phases saved."))
                return redirect("promotions:campaign_detail", campaign_id=campaign.pk)
    return render(
        request,
        "promotions/campaigns/phases.html",
        {**NAV, "campaign": campaign, "form": form, "editable": editable},
        status=_status(request),
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_publish(request, campaign_id: int):
    """Publish (GET asks to confirm and lists what still stops it)."""
    campaign = _campaign(request, campaign_id)
    _require_hq(request)
    error = ""
    if request.method == "POST":
        try:
            services.publish_campaign(campaign=campaign, actor=request.user)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("The campaign is published: its phases will change on schedule."))
            return redirect("promotions:campaign_detail", campaign_id=campaign.pk)
    return render(
        request,
        "promotions/campaigns/publish.html",
        {
            **NAV,
            "campaign": campaign,
            "phases": campaign.ordered_phases,
            "problems": services.publish_problems(campaign=campaign),
            "error": error,
        },
        status=409 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_end(request, campaign_id: int):
    """End a published campaign now (GET asks to confirm)."""
    campaign = _campaign(request, campaign_id)
    _require_hq(request)
    if request.method == "POST":
        try:
            services.end_campaign(campaign=campaign, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The campaign has ended."))
        return redirect("promotions:campaign_detail", campaign_id=campaign.pk)
    return render(request, "promotions/campaigns/end.html", {**NAV, "campaign": campaign})


@login_required
@require_GET
def campaign_preview(request, campaign_id: int):
    """Time travel (HQ): the campaign, its coupons and example prices as they will be at
    ?at=<datetime-local> (default now). Nothing is changed."""
    campaign = _campaign(request, campaign_id)
    _require_hq(request)
    form = PreviewForm(request.GET or None)
    at = None
    if form.is_bound and form.is_valid():
        at = form.cleaned_data.get("at")
    if at is None:
        at = timezone.now()
        if not form.is_bound or not form.errors:
            form = PreviewForm(initial={"at": at})
    preview = selectors.campaign_preview(principal=request.principal, campaign=campaign, at=at)
    return render(
        request,
        "promotions/campaigns/preview.html",
        {
            **NAV,
            "campaign": campaign,
            "form": form,
            "preview": preview,
            "timeline": selectors.timeline(campaign.ordered_phases, at),
        },
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("", campaign_list, name="campaign_list"),
    path("new/", campaign_new, name="campaign_new"),
    path("<int:campaign_id>/", campaign_detail, name="campaign_detail"),
    path("<int:campaign_id>/edit/", campaign_edit, name="campaign_edit"),
    path("<int:campaign_id>/phases/", campaign_phases, name="campaign_phases"),
    path("<int:campaign_id>/publish/", campaign_publish, name="campaign_publish"),
    path("<int:campaign_id>/end/", campaign_end, name="campaign_end"),
    path("<int:campaign_id>/preview/", campaign_preview, name="campaign_preview"),
]
