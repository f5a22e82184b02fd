"""Share-link pages (included at /guides/links/): the guide's links with clicks, orders and
GMV and a create form (`link_list`; managers see their stores' guides' links with a total per
guide), one link with its QR code, copy button, poster and clicks per day (`link_detail`),
its poster PNG (`link_poster`), and HQ's content pieces (`content_list`, `content_toggle`).
Thin: reads through guides.selectors.sharing, writes through guides.services.sharing."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail.choices import Role
from retail.errors import DomainError
from retail.forms import add_domain_errors

from .. import poster
from ..forms import sharing as forms
from ..selectors import sharing as selectors
from ..services import sharing as services

NAV: dict = {}  # the nav section comes from the context processor (guides namespace)


def _require_brand(principal) -> None:
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404


def _is_hq(principal) -> bool:
    return principal.is_superuser or principal.role == Role.HQ_ADMIN


def _link(request, link_id: int):
    link = selectors.link_detail(request.principal, link_id)
    if link is None:
        raise Http404
    return link


def _absolute_link_url(request, link) -> str:
    return request.build_absolute_uri(reverse("share_open", kwargs={"code": link.code}))


@login_required
@require_http_methods(["GET", "POST"])
def link_list(request):
    principal = request.principal
    _require_brand(principal)
    is_guide = principal.guide_user_id is not None
    form = forms.LinkForm(request.POST or None, principal=principal) if is_guide else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                link = services.create_link(principal, **form.values())
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Your link is ready: share it, or post its poster."))
                return redirect("guides:link_detail", link_id=link.pk)
    return render(
        request,
        "guides/sharing/list.html",
        {
            **NAV,
            "form": form,
            "links": selectors.links_for(principal),
            "totals": None if is_guide else selectors.totals_by_guide(principal),
            "is_guide": is_guide,
            "is_hq": _is_hq(principal),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def link_detail(request, link_id: int):
    link = _link(request, link_id)
    if request.method == "POST":
        active = request.POST.get("active") == "1"
        services.set_link_active(request.principal, link=link, active=active)
        messages.success(request, _("The link is on again.") if active else _("The link is turned off."))
        return redirect("guides:link_detail", link_id=link.pk)
    import segno

    url = _absolute_link_url(request, link)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=2, xmldecl=False, svgns=True)
    return render(
        request,
        "guides/sharing/detail.html",
        {
            **NAV,
            "link": link,
            "url": url,
            "qr_svg": out.getvalue().decode(),
            "token": services.token_for(link.code),
            "clicks": selectors.clicks_per_day(link),
            "tracking_code": selectors.tracking_code(brand_id=link.brand_id, guide_id=link.guide_id),
        },
    )


@login_required
@require_GET
def link_poster(request, link_id: int):
    link = _link(request, link_id)
    png = poster.poster_for_link(
        link,
        link_url=_absolute_link_url(request, link),
        tracking_code=selectors.tracking_code(brand_id=link.brand_id, guide_id=link.guide_id),
    )
    response = HttpResponse(png, content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="poster-{link.code}.png"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def content_list(request):
    principal = request.principal
    _require_brand(principal)
    is_hq = _is_hq(principal)
    form = forms.ContentForm(request.POST or None) if is_hq else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                services.create_content(principal, **form.cleaned_data)
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Guides can share it now."))
                return redirect("guides:content_list")
    return render(
        request,
        "guides/sharing/content_list.html",
        {
            **NAV,
            "form": form,
            "contents": selectors.contents_for(principal, active_only=not is_hq),
            "is_hq": is_hq,
            "is_guide": principal.guide_user_id is not None,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def content_toggle(request, content_id: int):
    content = selectors.content_detail(request.principal, content_id)
    if content is None:
        raise Http404
    try:
        services.set_content_active(request.principal, content=content, active=not content.is_active)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("guides:content_list")


urlpatterns = [
    path("", link_list, name="link_list"),
    path("content/", content_list, name="content_list"),
    path("content/<int:content_id>/toggle/", content_toggle, name="content_toggle"),
    path("<int:link_id>/", link_detail, name="link_detail"),
    path("<int:link_id>/poster.png", link_poster, name="link_poster"),
]
