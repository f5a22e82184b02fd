"""Cloud-shelf statistics pages (included by shelves/urls.py at /shelves/stats/):

- `/shelves/stats/` ("shelves:stats") — per screen with totals and a per-screen chart, the
  per-hour charts (impressions, scans, orders; GMV and conversion), the top products and
  restocking hints; filters: store, date range (brand-local days).
- `/shelves/stats/screens/<screen_id>/` ("shelves:screen_stats") — one screen: per product,
  its per-hour charts and the restocking hints of its scans.

HQ sees every store, a store manager their stores, a guide their store (the selectors scope
by the principal); another store's screen is a 404.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from retail.choices import Role
from retail.errors import InvalidInput
from retail.forms import ListedModelChoiceField

from ..selectors import stats as selectors

TOP_PRODUCTS = 10


class StatsFilterForm(forms.Form):
    """Store (the principal's stores only) and the date range."""

    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, principal, with_store: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_store:
            self.fields["store"].queryset = selectors.stats_stores(principal=principal)
        else:
            del self.fields["store"]


def _viewer(request):
    """Staff acting in a brand: HQ, a store manager or a guide (a superuser picks a role)."""
    principal = request.principal
    if principal.brand_id is None or principal.role not in (Role.HQ_ADMIN, Role.STORE_MANAGER, Role.GUIDE):
        raise PermissionDenied
    return principal


def _range(form: StatsFilterForm):
    """The form's range; a field in error (shown on the page) falls back to its default."""
    data = {}
    if form.is_bound:
        form.is_valid()  # cleaned_data keeps the fields that are valid
        data = form.cleaned_data
    try:
        return selectors.stats_range(date_from=data.get("date_from"), date_to=data.get("date_to"))
    except InvalidInput as exc:
        form.add_error(None, exc.message)
        return selectors.stats_range()


def _show_range(form: StatsFilterForm, rng) -> None:
    # an unfiltered page shows the default range in its date fields
    if not form.is_bound:
        form.initial.update(date_from=rng.date_from, date_to=rng.date_to)


def _chart(hours: list[dict]) -> list[dict]:
    # what static/js/shelves-stats.js draws: plain numbers and local "MM-DD HH:00" labels;
    # conversion in percent (null without scans)
    return [
        {
            "hour": row["hour"].strftime("%m-%d %H:00"),
            "impressions": row["impressions"],
            "scans": row["scans"],
            "orders": row["orders"],
            "gmv": str(row["gmv"]),
            "conversion": None if row["conversion"] is None else round(row["conversion"] * 100, 1),
        }
        for row in hours
    ]


SCREENS_CHARTED = 20


def _screens_chart(screens: list[dict]) -> list[dict]:
    # the busiest screens by scans, for the per-screen bar chart
    busiest = sorted(screens, key=lambda row: (-row["scans"], -row["orders"], row["screen_name"]))
    return [
        {
            "screen": row["screen_name"],
            "store": row["store_name"],
            "scans": row["scans"],
            "orders": row["orders"],
            "gmv": str(row["gmv"]),
        }
        for row in busiest[:SCREENS_CHARTED]
    ]


@login_required
@require_GET
def stats_overview(request):
    principal = _viewer(request)
    form = StatsFilterForm(request.GET or None, principal=principal)
    rng = _range(form)
    _show_range(form, rng)
    store = form.cleaned_data.get("store") if form.is_bound else None
    store_id = store.pk if store else None
    screens = selectors.screen_stats(principal=principal, rng=rng, store_id=store_id)
    context = {
        "form": form,
        "rng": rng,
        "screens": screens,
        "totals": selectors.totals(screens),
        "chart": _chart(selectors.hour_stats(principal=principal, rng=rng, store_id=store_id)),
        "screens_chart": _screens_chart(screens),
        "products": selectors.product_stats(
            principal=principal, rng=rng, store_id=store_id, limit=TOP_PRODUCTS
        ),
        "hints": selectors.restock_hints(principal=principal, rng=rng, store_id=store_id),
        "query": request.GET.urlencode(),
    }
    return render(request, "shelves/stats/overview.html", context)


@login_required
@require_GET
def screen_stats(request, screen_id: int):
    principal = _viewer(request)
    screen = selectors.stats_screen(principal=principal, screen_id=screen_id)
    if screen is None:
        raise Http404
    form = StatsFilterForm(request.GET or None, principal=principal, with_store=False)
    rng = _range(form)
    _show_range(form, rng)
    products = selectors.product_stats(principal=principal, rng=rng, screen_id=screen.pk)
    context = {
        "form": form,
        "rng": rng,
        "screen": screen,
        "products": products,
        "totals": selectors.totals(products),
        "chart": _chart(selectors.hour_stats(principal=principal, rng=rng, screen_id=screen.pk)),
        "hints": selectors.restock_hints(principal=principal, rng=rng, screen_id=screen.pk),
    }
    return render(request, "shelves/stats/screen.html", context)


urlpatterns = [
    path("", stats_overview, name="stats"),
    path("screens/<int:screen_id>/", screen_stats, name="screen_stats"),
]
