"""The dashboard pages: the first snapshot is rendered into the page (json_script), then
static/js/dashboards.js keeps it live over ws/dashboards/. `?wall=1`: the big-screen mode
(larger type, no navigation)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ..models import Store
from ..rows import row_url, url_pattern
from ..templatetags.tiandi import cny
from . import selectors

# One row of the command centre's store table (hq.html); static/js/dashboards.js patches the
# cells by their data-col as deltas come.
STORE_ROW = (
    '<tr data-store-id="{id}"><td><a href="{url}">{name}</a></td><td>{city}</td>'
    '<td class="num" data-col="gmv">{gmv}</td><td class="num" data-col="orders">{orders}</td>'
    '<td class="num" data-col="aov">{aov}</td><td class="num" data-col="members">{members}</td>'
    '<td class="num" data-col="scans">{scans}</td><td class="num" data-col="redeemed">{redeemed}</td>'
    '<td class="num" data-col="incidents">{incidents}</td>'
    '<td class="num" data-col="devices">{online} / {offline}</td></tr>'
)


def store_rows(stores: list[dict]) -> SafeString:
    """The store table's rows, every value escaped by format_html: written in Python because
    100 stores × 10 cells through the template engine were most of the page's time."""
    url = url_pattern("retail:dashboards:store", "store_id")
    return mark_safe(  # noqa: S308 — joined format_html output
        "".join(
            format_html(
                STORE_ROW,
                id=s["id"],
                url=row_url(url, s["id"]),
                name=s["name"],
                city=s["city"] or "—",
                gmv=cny(s["gmv"]),
                orders=s["orders"],
                aov=cny(s["aov"]),
                members=s["members"]["total"],
                scans=s["scans"],
                redeemed=s["coupons"]["redeemed"],
                incidents=s["incidents"]["opened"],
                online=s["devices"]["online"],
                offline=s["devices"]["offline"],
            )
            for s in stores
        )
    )


def _wall(request) -> bool:
    return request.GET.get("wall") in ("1", "true", "yes")


def _context(request, snapshot, **extra):
    wall = _wall(request)
    return {
        "snapshot": snapshot,
        "wall": wall,
        "base_template": "dashboards/wall.html" if wall else "base.html",
        "nav_section": "dashboards",
        **extra,
    }


@login_required
def store_dashboard(request, store_id: int):
    """A store's today: HQ of its brand and the store's managers. Another brand's store (or
    one the manager does not run) is a 404; a guide may not open it (403)."""
    principal = request.principal
    store = get_object_or_404(Store.objects.for_principal(principal), pk=store_id)
    if selectors.dashboard_store(principal, store.pk) is None:
        raise PermissionDenied
    snapshot = selectors.store_today(store)
    return render(
        request,
        "dashboards/store.html",
        _context(request, snapshot, store=store, socket_target=str(store.pk)),
    )


@login_required
def hq_dashboard(request):
    """HQ's command centre: every store of the brand; HQ only."""
    principal = request.principal
    if not selectors.may_see_hq(principal):
        raise PermissionDenied
    sort = request.GET.get("sort", "gmv")
    snapshot = selectors.hq_snapshot(brand_id=principal.brand_id, sort=sort)
    by_id = {s["id"]: s for s in snapshot["stores"]}
    return render(
        request,
        "dashboards/hq.html",
        _context(
            request,
            snapshot,
            socket_target="hq",
            sorts=selectors.SORTS,
            store_rows=store_rows(snapshot["stores"]),
            top=[by_id[i] for i in snapshot["top"]],
            lagging=[by_id[i] for i in snapshot["lagging"]],
        ),
    )


@login_required
def my_dashboard(request):
    """The main navigation's "Live" link: HQ's command centre for HQ, the store's today for
    a store manager (their first store; the others are a click away on the stores page)."""
    principal = request.principal
    if selectors.may_see_hq(principal):
        return redirect("retail:dashboards:hq")
    store = Store.objects.for_principal(principal).order_by("code").first()
    if store is None or selectors.dashboard_store(principal, store.pk) is None:
        raise PermissionDenied
    return redirect("retail:dashboards:store", store_id=store.pk)
