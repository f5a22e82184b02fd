"""Livestream pages (included at /guides/livestreams/): the schedule, upcoming and past, with
a create form for managers (`livestream_list`), and one session (`livestream_detail`): its
products, signups and reminders sent / skipped; a guide signs up one of their members (search
among their own), a manager marks it live / ended or cancels it. Thin: reads through
guides.selectors.livestreams, writes through guides.services.livestreams."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from members.models import Member
from retail.choices import Role
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..forms import livestreams as forms
from ..selectors import livestreams as selectors
from ..services import livestreams as services
from ..services.common import member_for


def _is_manager(principal) -> bool:
    return principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)


@login_required
@require_http_methods(["GET", "POST"])
def livestream_list(request):
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    is_manager = _is_manager(principal)
    form = forms.LivestreamForm(request.POST or None, principal=principal) if is_manager else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                livestream = services.schedule_livestream(principal, **form.values())
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Livestream scheduled. Guides can sign their members up now."))
                return redirect("guides:livestream_detail", livestream_id=livestream.pk)
    return render(
        request,
        "guides/livestreams/list.html",
        {
            "form": form,
            "upcoming": selectors.upcoming(principal),
            "past": selectors.past(principal),
            "is_manager": is_manager,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def livestream_detail(request, livestream_id: int):
    principal = request.principal
    livestream = selectors.livestream_detail(principal, livestream_id)
    if livestream is None:
        raise Http404
    is_manager = _is_manager(principal)
    signup_form = forms.SignupForm(request.POST if request.POST.get("action") == "signup" else None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "signup":
                if not signup_form.is_valid():
                    raise DomainError("invalid", _("Choose a member and a channel."))
                try:
                    member = member_for(principal, signup_form.cleaned_data["member"])
                except Member.DoesNotExist as exc:  # not one of the principal's members
                    raise Http404 from exc
                services.sign_up(
                    principal,
                    livestream=livestream,
                    member=member,
                    channel=signup_form.cleaned_data["channel"],
                )
                messages.success(request, _("Signed up: they will be reminded before it starts."))
            elif action in ("live", "ended", "cancelled") and is_manager:
                services.set_status(principal, livestream=livestream, status=action)
                messages.success(request, _("Livestream updated."))
            else:
                raise Http404
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            return redirect("guides:livestream_detail", livestream_id=livestream.pk)
    query = request.GET.get("q", "")
    return render(
        request,
        "guides/livestreams/detail.html",
        {
            "livestream": livestream,
            "signups": selectors.signups(principal, livestream),
            "found": selectors.members_to_sign_up(principal, query),
            "q": query,
            "signup_form": signup_form,
            "is_manager": is_manager,
            "can_sign_up": principal.guide_user_id is not None or is_manager,
        },
        status=status,
    )


urlpatterns = [
    path("", livestream_list, name="livestream_list"),
    path("<int:livestream_id>/", livestream_detail, name="livestream_detail"),
]
