"""The public member-join page behind a store's recruitment QR code: /onboarding/join/<token>/.

No login: the signed token (retail.onboarding.services.join_token) is the authority, so the
route's kwarg is `token` and the isolation walk treats it as a capability. A forged or edited
token is a 404. Joining is rate-limited per client address and per phone (its blind index)."""

from __future__ import annotations

from django.core.cache import cache
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from members import selectors as member_selectors

from .. import audit
from ..choices import StoreStatus
from ..errors import DomainError
from ..models import Store
from . import services
from .forms import JoinForm

PHONE_ATTEMPTS_PER_HOUR = 10
IP_ATTEMPTS_PER_HOUR = 60
WINDOW_SECONDS = 3600


def _hit(key: str, limit: int) -> bool:
    """Count one attempt under `key` in a fixed window; False once over the limit."""
    if cache.add(key, 1, timeout=WINDOW_SECONDS):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= limit


def _throttled(request, store_id: int) -> bool:
    ip = audit.current_context().remote_addr or request.META.get("REMOTE_ADDR") or "unknown"
    allowed = _hit(f"throttle:storejoin:ip:{store_id}:{ip}", IP_ATTEMPTS_PER_HOUR)
    digest = member_selectors.phone_hash_or_none(request.POST.get("phone", ""))
    if digest is not None:
        allowed = _hit(f"throttle:storejoin:phone:{digest}", PHONE_ATTEMPTS_PER_HOUR) and allowed
    return not allowed


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
