"""Messaging pages (included at /guides/messages/): the broadcasts list with the create form
(`broadcast_list`), one broadcast with its progress and figures (`broadcast_detail`), and the
1:1 message partial for the member card (`message_send`: GET the form, POST sends). Thin:
reads through guides.selectors.messaging, writes through guides.services.messaging."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from members.models import Member
from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..choices import BroadcastStatus
from ..forms import messaging as forms
from ..selectors import messaging as selectors
from ..services import messaging as services
from ..services.common import member_for

PER_PAGE = 25
NAV = {"nav_section": "guides"}


def _require_brand(request) -> None:
    if request.principal.brand_id is None:
        raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def broadcast_list(request):
    """Broadcasts with their counts, newest first, and the form to send a new one."""
    _require_brand(request)
    principal = request.principal
    form = forms.BroadcastForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.create_broadcast(principal, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Broadcast queued: it is being sent now."))
            return redirect("guides:broadcast_detail", broadcast_id=row.pk)
    page = retail_selectors.page_of(
        selectors.broadcasts_for(principal=principal), page=request.GET.get("page"), per_page=PER_PAGE
    )
    return render(
        request,
        "guides/messaging/list.html",
        {**NAV, "form": form, "page": page},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@login_required
@require_GET
def broadcast_detail(request, broadcast_id: int):
    """One broadcast: a progress bar while sending, then targeted / sent / skipped by reason /
    delivered / failed and a bar chart. An htmx request gets the figures partial (polled)."""
    row = selectors.broadcast_for(principal=request.principal, broadcast_id=broadcast_id)
    if row is None:
        raise Http404
    context = {
        **NAV,
        "broadcast": row,
        "figures": selectors.broadcast_figures(row),
        "live": row.status in (BroadcastStatus.QUEUED, BroadcastStatus.SENDING),
    }
    if request.htmx:
        return render(request, "guides/messaging/_figures.html", context)
    return render(request, "guides/messaging/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def message_send(request, member_id: int):
    """The member card's 1:1 message: GET the form, POST sends it under the rules and answers
    the form again with what happened (sent, or skipped and why)."""
    try:
        member = member_for(request.principal, member_id)
    except Member.DoesNotExist:
        raise Http404 from None
    form = forms.MessageForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.send_message(
                request.principal,
                member=member,
                channel=form.cleaned_data["channel"],
                body=form.cleaned_data["body"],
                client_id=form.cleaned_data.get("client_id"),
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            form = forms.MessageForm(initial={"channel": form.cleaned_data["channel"]})
    # the member card swaps the partial in; a plain link or post gets it inside a page
    template = "guides/messaging/_message_form.html" if request.htmx else "guides/messaging/send.html"
    response = render(request, template, {**NAV, "member": member, "form": form, "result": result})
    if result is not None and result.interaction_id:
        response["HX-Trigger-After-Swap"] = '{"guides-numbers-changed": {}}'
    return response


urlpatterns = [
    path("", broadcast_list, name="broadcast_list"),
    path("<int:broadcast_id>/", broadcast_detail, name="broadcast_detail"),
    path("send/<int:member_id>/", message_send, name="message_send"),
]
