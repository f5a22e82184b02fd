"""Staff pages: coupon templates (included at /promotions/templates/).

HQ lists, creates, edits and (de)activates the brand's templates and sees each one's
figures, claims and redemptions per hour and latest coupons. Store managers and guides
read the templates valid in their stores. Thin: reads through
promotions.selectors.templates, writes through promotions.services.templates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..forms.templates import TemplateForm
from ..selectors import templates as selectors
from ..services import templates as services
from ..services.coupons import describe, valid_store_ids

NAV = {"nav_section": "promotions"}


def _template(request, template_id: int):
    template = selectors.template_detail(principal=request.principal, template_id=template_id)
    if template is None:
        raise Http404
    return template


def _require_hq(request) -> int:
    if request.principal.brand_id is None:  # a superuser acting for no brand
        raise Http404
    if not services.may_manage_templates(request.principal):
        raise PermissionDenied
    return request.principal.brand_id


@login_required
@require_GET
def template_list(request):
    """The brand's templates (HQ) or those valid in the user's stores (read only)."""
    rows = selectors.template_list(principal=request.principal)
    for row in rows:
        row.discount_text = describe(row)
        row.stock_percent = round(100 * row.claimed / row.total_stock) if row.total_stock else 0
    return render(
        request,
        "promotions/templates/list.html",
        {**NAV, "templates": rows, "may_manage": services.may_manage_templates(request.principal)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_new(request):
    """HQ makes a template (?campaign=<id> preselects the campaign)."""
    brand_id = _require_hq(request)
    initial = {"campaign": request.GET.get("campaign")} if request.GET.get("campaign", "").isdigit() else None
    form = TemplateForm(request.POST or None, principal=request.principal, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.create_template(brand_id=brand_id, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Coupon template “%(name)s” created.") % {"name": template.name})
            return redirect("promotions:template_detail", template_id=template.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "promotions/templates/form.html", {**NAV, "form": form, "template": None}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request, template_id: int):
    """HQ changes a template; after its campaign is published only the name and the stock
    (raised) stay open."""
    template = _template(request, template_id)
    _require_hq(request)
    frozen = services.frozen_reason(template)
    form = TemplateForm(
        request.POST or None, principal=request.principal, template=template, frozen=bool(frozen)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_template(template=template, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Coupon template saved."))
            return redirect("promotions:template_detail", template_id=template.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "promotions/templates/form.html",
        {**NAV, "form": form, "template": template, "frozen": frozen},
        status=status,
    )


@login_required
@require_GET
def template_detail(request, template_id: int):
    """One template: its terms; for HQ its figures, claims and redemptions per hour and the
    latest coupons (codes and phones masked)."""
    template = _template(request, template_id)
    may_manage = services.may_manage_templates(request.principal)
    stores = valid_store_ids(template)
    context = {
        **NAV,
        "template": template,
        "discount_text": describe(template),
        "may_manage": may_manage,
        "frozen": services.frozen_reason(template) if may_manage else "",
        "tiers": list(template.tiers.all()),
        "stores": list(template.valid_stores.all()),
        "campaign_stores": stores is not None and not template.valid_stores.all(),
    }
    if may_manage:
        figures = selectors.template_figures(template=template)
        context.update(
            figures=figures,
            rate_percent=round(figures["rate"] * 100, 1) if figures["rate"] is not None else None,
            stock_percent=round(100 * template.claimed / template.total_stock) if template.total_stock else 0,
            chart=selectors.template_hours(template=template),
            coupons=selectors.latest_coupons(template=template),
        )
    return render(request, "promotions/templates/detail.html", context)


@login_required
@require_POST
def template_active(request, template_id: int):
    """HQ starts (active=1) or stops (active=0) giving the template's coupons out."""
    template = _template(request, template_id)
    _require_hq(request)
    active = request.POST.get("active") == "1"
    services.set_active(template=template, active=active)
    messages.success(
        request,
        _("Coupons of this template are being given out.")
        if active
        else _("Giving out this coupon stopped."),
    )
    return redirect("promotions:template_detail", template_id=template.pk)


urlpatterns = [
    path("", template_list, name="template_list"),
    path("new/", template_new, name="template_new"),
    path("<int:template_id>/", template_detail, name="template_detail"),
    path("<int:template_id>/edit/", template_edit, name="template_edit"),
    path("<int:template_id>/active/", template_active, name="template_active"),
]
