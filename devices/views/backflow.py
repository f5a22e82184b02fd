"""Data-backflow pages (routes in `urlpatterns`, included by devices/urls.py at /devices/backflow/).

- `/devices/backflow/` — HQ and store managers: makers (partners, and in-house) with their
  month score and verdict, a 30-day trend chart, the devices' scores of one day. A store
  manager sees the devices of their stores only; guides are refused (403).
- `/devices/backflow/policy/` (POST) — HQ only: weights, reward / penalty lines, retention.
- `/devices/backflow/partner/?t=<signed>` — the partner's own scorecard. Partners have no web
  login, so HQ shares a signed link (django.core.signing, salted, carrying brand and API
  client ids) shown on the HQ page; it expires after SHARE_LINK_DAYS and dies with the API
  client (deactivated or deleted). The page shows only that partner's devices. The token is
  a query parameter, not a path segment, so the link never names an object id.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from retail.choices import Role
from retail.errors import DomainError
from retail.tenancy import principal_for_api_client

from ..backflow_forms import BackflowPolicyForm
from ..selectors import backflow as selectors
from ..services import backflow as services

SHARE_LINK_SALT = "devices.backflow.partner-page"
SHARE_LINK_DAYS = 30


def _viewer(request):
    """HQ or a store manager acting in a brand (a superuser picks a role first)."""
    principal = request.principal
    if principal.brand_id is None or principal.role not in (Role.HQ_ADMIN, Role.STORE_MANAGER):
        raise PermissionDenied
    return principal


def _is_hq(principal) -> bool:
    return principal.role == Role.HQ_ADMIN


def _month(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return services.month_start(default)


def _recent_months(end: dt.date, count: int) -> list[dt.date]:
    """The first days of the `count` months up to `end`'s, newest first."""
    months = [services.month_start(end)]
    while len(months) < count:
        months.append(services.month_start(months[-1] - dt.timedelta(days=1)))
    return months


def share_token(*, brand_id: int, partner_id: int) -> str:
    return signing.dumps({"b": brand_id, "p": partner_id}, salt=SHARE_LINK_SALT)


def share_url(request, *, brand_id: int, partner_id: int) -> str:
    token = share_token(brand_id=brand_id, partner_id=partner_id)
    return request.build_absolute_uri(f"{reverse('devices:backflow_partner')}?t={token}")


def _index_context(request, principal, form=None) -> dict:
    end = selectors.last_scored_day()
    month = _month(request.GET.get("month"), end)
    cards = selectors.partner_scorecards(principal=principal, month=month, end=end)
    hq = _is_hq(principal)
    for card in cards:
        card["share_url"] = (
            share_url(request, brand_id=principal.brand_id, partner_id=card["partner_id"])
            if hq and card["partner_id"]
            else ""
        )
    policy = services.policy_for(principal.brand_id)
    return {
        "month": month,
        "months": _recent_months(end, 12),
        "day": end,
        "cards": cards,
        "trend": selectors.partner_trend(principal=principal, end=end),
        "device_days": selectors.device_scores(principal=principal, day=end),
        "policy": policy,
        "is_hq": hq,
        "form": form or (BackflowPolicyForm.for_policy(policy) if hq else None),
        "share_days": SHARE_LINK_DAYS,
    }


@login_required
@require_GET
def backflow_index(request):
    principal = _viewer(request)
    return render(request, "devices/backflow/index.html", _index_context(request, principal))


@never_cache
@login_required
@require_POST
def backflow_policy(request):
    """HQ sets the brand's standard; an invalid form shows the page again with its errors."""
    principal = _viewer(request)
    if not _is_hq(principal):
        raise PermissionDenied
    form = BackflowPolicyForm.for_policy(services.policy_for(principal.brand_id), data=request.POST)
    if form.is_valid():
        try:
            services.update_policy(brand_id=principal.brand_id, actor_id=request.user.pk, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The data-backflow policy was saved."))
            return redirect("devices:backflow")
    context = _index_context(request, principal, form=form)
    return render(request, "devices/backflow/index.html", context, status=422)


@never_cache
@require_GET
def backflow_partner(request):
    """A partner's own scorecard through a signed, expiring link (no login)."""
    try:
        data = signing.loads(
            request.GET.get("t", ""), salt=SHARE_LINK_SALT, max_age=dt.timedelta(days=SHARE_LINK_DAYS)
        )
    except signing.SignatureExpired:
        return render(request, "devices/backflow/partner_expired.html", status=410)
    except signing.BadSignature:
        raise Http404 from None
    client = selectors.shared_partner(brand_id=data.get("b"), partner_id=data.get("p"))
    if client is None:
        raise Http404
    principal = principal_for_api_client(client)
    context = {
        "partner": client,
        "card": selectors.partner_scorecard(principal=principal),
        "trend": selectors.partner_trend(principal=principal),
        "device_days": selectors.device_scores(principal=principal, day=selectors.last_scored_day()),
    }
    response = render(request, "devices/backflow/partner.html", context)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response["X-Robots-Tag"] = "noindex"
    return response


urlpatterns = [
    path("", backflow_index, name="backflow"),
    path("policy/", backflow_policy, name="backflow_policy"),
    path("partner/", backflow_partner, name="backflow_partner"),
]
