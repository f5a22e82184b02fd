"""Staff pages: screens (included at /shelves/screens/).

HQ manages the screens of every store, store managers those of their stores, guides look.
A screen's page shows its kiosk URL (to open on the screen), its device status, its
catalogs and a live preview of each slot (an iframe of the kiosk page in preview mode).
Thin: reads through shelves.selectors.screens, writes through shelves.services.screens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from .. import forms
from ..choices import ScreenStatus, Slot
from ..selectors import kiosk as kiosk_selectors
from ..selectors import screens as selectors
from ..services import screens as services

PER_PAGE = 50
NAV = {"nav_section": "shelves"}


def stats_url(screen_id: int) -> str:
    return reverse("shelves:screen_stats", kwargs={"screen_id": screen_id})


def _screen(request, screen_id: int):
    screen = selectors.screen_detail(principal=request.principal, screen_id=screen_id)
    if screen is None:
        raise Http404
    return screen


def _require_manager(request, screen=None) -> None:
    if not services.may_manage_screens(request.principal, screen.store_id if screen else None):
        raise PermissionDenied


@login_required
@require_GET
def screen_list(request):
    """The screens the principal may see, filtered by store / status."""
    principal = request.principal
    form = forms.ScreenFilterForm(request.GET or None, principal=principal)
    filters = form.filters()
    page = retail_selectors.page_of(
        selectors.screen_list(principal=principal, **filters), page=request.GET.get("page"), per_page=PER_PAGE
    )
    for screen in page.items:
        screen.stats_url = stats_url(screen.pk)
    query = "&".join(
        f"{k}={v}" for k, v in (("store", filters["store_id"]), ("status", filters["status"])) if v
    )
    return render(
        request,
        "shelves/screens/list.html",
        {
            **NAV,
            "form": form,
            "page": page,
            "query": query,
            "may_create": services.may_manage_screens(principal),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def screen_new(request):
    """Set up a screen in one of the principal's stores; its page then shows the kiosk URL."""
    principal = request.principal
    _require_manager(request)
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    form = forms.ScreenForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        store = form.cleaned_data["store"]
        if not services.may_manage_screens(principal, store.pk):
            raise PermissionDenied
        try:
            screen = services.create_screen(store=store, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("Screen “%(name)s” is set up: open its kiosk URL on the screen.") % {"name": screen.name},
            )
            return redirect("shelves:screen_detail", screen_id=screen.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "shelves/screens/form.html", {**NAV, "form": form, "screen": None}, status=status)


@never_cache
@login_required
@require_GET
def screen_detail(request, screen_id: int):
    """One screen: kiosk URL (managers), device status and last seen, its catalogs, a live
    preview of each slot, and links to its statistics, edit, rotate and retire."""
    screen = _screen(request, screen_id)
    may_manage = services.may_manage_screens(request.principal, screen.store_id)
    kiosk_path = services.kiosk_path(screen.token)
    # the "Now" tab previews what the screen shows at this moment (the same rule as the screen)
    shown = kiosk_selectors.screen_for_token(screen.token)
    now_label = pgettext("kiosk preview tab", "Now")
    if shown is not None and not shown.retired:
        now_label = f"{now_label} · {Slot(kiosk_selectors.slot_shown(shown)).label}"
    slots = [  # (slot, tab label, catalog label, catalog)
        (Slot.DAY, Slot.DAY.label, _("Daytime catalog"), screen.day_catalog),
        (Slot.NIGHT, Slot.NIGHT.label, _("Night-time catalog"), screen.night_catalog),
        (Slot.DOUBLE11, Slot.DOUBLE11.label, _("Double-11 catalog"), screen.double11_catalog),
    ]
    return render(
        request,
        "shelves/screens/detail.html",
        {
            **NAV,
            "screen": screen,
            "device": screen.device_record,
            "may_manage": may_manage,
            "active": screen.status == ScreenStatus.ACTIVE,
            "kiosk_url": request.build_absolute_uri(kiosk_path) if may_manage else "",
            "preview_path": f"{kiosk_path}?preview=1" if may_manage else "",
            "now_label": now_label,
            "slots": slots,
            "stats_url": stats_url(screen.pk),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def screen_edit(request, screen_id: int):
    """Change a screen's name, zone, guide, seconds per card and catalogs."""
    screen = _screen(request, screen_id)
    _require_manager(request, screen)
    if screen.status != ScreenStatus.ACTIVE:
        messages.error(request, _("The screen is retired; it can no longer be changed."))
        return redirect("shelves:screen_detail", screen_id=screen.pk)
    form = forms.ScreenForm(request.POST or None, principal=request.principal, screen=screen)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_screen(screen=screen, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Screen saved; it shows the change at once."))
            return redirect("shelves:screen_detail", screen_id=screen.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "shelves/screens/form.html", {**NAV, "form": form, "screen": screen}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def screen_retire(request, screen_id: int):
    """Retire a screen for good (GET asks to confirm): its kiosk page says so, its QR codes
    stop and its device is retired."""
    screen = _screen(request, screen_id)
    _require_manager(request, screen)
    if request.method == "POST":
        services.retire_screen(screen=screen)
        messages.success(request, _("The screen is retired."))
        return redirect("shelves:screen_detail", screen_id=screen.pk)
    return render(request, "shelves/screens/retire.html", {**NAV, "screen": screen})


@never_cache
@login_required
@require_POST
def screen_rotate(request, screen_id: int):
    """A new kiosk URL for the screen; the old one stops at once. Audited."""
    screen = _screen(request, screen_id)
    _require_manager(request, screen)
    try:
        services.rotate_screen_token(screen=screen)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The screen has a new kiosk URL; the old one no longer works. Open the new one on the screen."),
        )
    return redirect("shelves:screen_detail", screen_id=screen.pk)


urlpatterns = [
    path("", screen_list, name="screen_list"),
    path("new/", screen_new, name="screen_new"),
    path("<int:screen_id>/", screen_detail, name="screen_detail"),
    path("<int:screen_id>/edit/", screen_edit, name="screen_edit"),
    path("<int:screen_id>/retire/", screen_retire, name="screen_retire"),
    path("<int:screen_id>/rotate/", screen_rotate, name="screen_rotate"),
]
