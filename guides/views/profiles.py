"""Guide profile pages: the team of a manager's stores (HQ: the brand) and the edit of one
guide's profile (included at /guides/team/); a guide's own phone is /guides/me/ (wired in
guides/urls.py from `me_urlpatterns`).

- GET      /guides/team/               the guides with store, masked phone (or "no phone"),
                                       tracking code, influencer, members (managers, HQ)
- GET/POST /guides/team/<profile_id>/  phone, store, influencer of one guide
- GET/POST /guides/me/                 a guide's own phone (the number the call bridge rings)

Guides get a 404 on the team pages, as does a profile of another brand or store. Thin: reads
through guides.selectors.profiles, writes through guides.services.profiles."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..forms.profiles import OwnPhoneForm, ProfileEditForm, TeamFilterForm
from ..selectors import profiles as selectors
from ..services import profiles as services

NAV = {"nav_section": "guides"}
PER_PAGE = 50


def _manager(request):
    principal = request.principal
    if not services.may_manage(principal):
        raise Http404
    return principal


@never_cache
@login_required
@require_GET
def team(request):
    """The guides of the principal's stores, 50 a page, optionally of one store."""
    principal = _manager(request)
    form = TeamFilterForm(request.GET or None, principal=principal)
    store_id = form.store_id()
    page = retail_selectors.page_of(
        selectors.team_profiles(principal, store_id=store_id), page=request.GET.get("page"), per_page=PER_PAGE
    )
    query = f"store={store_id}" if store_id else ""
    return render(request, "guides/profiles/team.html", {**NAV, "form": form, "page": page, "query": query})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request, profile_id: int):
    """One guide's phone, store and influencer flag."""
    principal = _manager(request)
    profile = selectors.profile_for(principal, profile_id=profile_id)
    if profile is None:
        raise Http404
    form = ProfileEditForm(request.POST or None, principal=principal, profile=profile)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(principal, profile, **form.values())
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from None
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The guide's profile is saved."))
            return redirect("guides:team")
    return render(
        request,
        "guides/profiles/edit.html",
        {**NAV, "form": form, "profile": profile},
        status=400 if request.method == "POST" else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def my_profile(request):
    """A guide's own phone (shown masked) and tracking code."""
    principal = request.principal
    if principal.guide_user_id is None:
        if services.may_manage(principal):
            return redirect("guides:team")
        raise Http404
    form = OwnPhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.set_own_phone(principal, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            if profile.phone_masked:
                messages.success(
                    request,
                    _("Your phone is saved: calls will ring %(phone)s.") % {"phone": profile.phone_masked},
                )
            else:
                messages.success(request, _("Your phone is removed."))
            return redirect("guides:my_profile")
    return render(
        request,
        "guides/profiles/me.html",
        {**NAV, "form": form, "profile": selectors.own_profile(principal)},
        status=400 if request.method == "POST" else 200,
    )


urlpatterns = [
    path("", team, name="team"),
    path("<int:profile_id>/", profile_edit, name="profile_edit"),
]

me_urlpatterns = [path("", my_profile, name="my_profile")]
