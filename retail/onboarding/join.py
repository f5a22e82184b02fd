"""The public member-join page behind a store's recruitment QR code: /onboarding/join/<token>/.

No login: the signed token (retail.onboarding.services.join_token) is the authority, so the
route's kwarg is `token` and the isolation walk treats it as a capability. A forged or edited
token is a 404. Joining is rate-limited per client address and per phone (its blind index)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from members import selectors as member_selectors

from .. import throttle
from ..choices import StoreStatus
from ..errors import DomainError
from ..models import Store
from . import services
from .forms import JoinForm


def _throttled(request, store_id: int) -> bool:
    digest = member_selectors.phone_hash_or_none(request.POST.get("phone", ""))
    return throttle.phone_form_throttled(request, scope="storejoin", place_id=store_id, phone_digest=digest)


def _store(token: str) -> Store:
    store_id = services.read_join_token(token)
    store = Store.objects.select_related("brand").filter(pk=store_id).first() if store_id else None
    if store is None or store.status == StoreStatus.CLOSED:
        raise Http404
    return store


@never_cache
@require_http_methods(["GET", "POST"])
def join(request, token: str):
    """Join the brand's membership at this store."""
    store = _store(token)
    context = {"store": store, "brand": store.brand}
    if request.method == "GET":
        context["form"] = JoinForm()
        return render(request, "onboarding/join.html", context)
    form = JoinForm(request.POST)
    context["form"] = form
    if _throttled(request, store.pk):
        context["error"] = _("Too many attempts. Please try again in an hour, or ask a store associate.")
        return render(request, "onboarding/join.html", context, status=429)
    if not form.is_valid():
        return render(request, "onboarding/join.html", context, status=400)
    try:
        member = services.join_store_member(
            store=store,
            phone=form.cleaned_data["phone"],
            name=form.cleaned_data["name"],
            consents=form.consents(),
        )
    except DomainError as exc:
        if exc.code == "duplicate_phone":
            context["already"] = True
            return render(request, "onboarding/joined.html", context, status=200)
        form.add_error("phone" if "phone" in exc.fields else None, str(exc.message))
        return render(request, "onboarding/join.html", context, status=400)
    context["member"] = member
    return render(request, "onboarding/joined.html", context)
