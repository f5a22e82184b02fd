"""Sample dispenser pages, under /devices/dispensers/.

Public (no login): the scan page a shopper opens from the dispenser's QR code,
`s/<token>/`. The signed token is the authority there (no principal, no object id in the
URL), so the route takes it positionally and the isolation walk, which walks object ids,
leaves it out; a forged or edited token is a 404 (devices/tests/test_dispensers.py).

Staff (login, scoped to the principal; another brand's or store's device is a 404): the
dispenser page with its QR code, stock and recent claims, a printable QR page, and the stock
form (managers and HQ)."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, re_path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from members import selectors as member_selectors
from retail import throttle
from retail.choices import Role
from retail.errors import DomainError

from ..dispenser_forms import ClaimForm, QrForm, StockForm
from ..selectors import dispensers as selectors
from ..services import dispensers as services

# --- throttling: claim attempts (POSTs) per window (retail.throttle), counted before
# validation, so guessing phones or hammering the form costs attempts too ------------------


def _throttled(request, device_id: int) -> bool:
    digest = member_selectors.phone_hash_or_none(request.POST.get("phone", ""))
    return throttle.phone_form_throttled(request, scope="dispenser", place_id=device_id, phone_digest=digest)


# --- the public scan page -----------------------------------------------------------------


def _scanned_device(token: str):
    found = services.read_dispenser_token(token)
    if found is None:
        raise Http404
    device_id, campaign = found
    device = selectors.device_for_scan(device_id=device_id)
    if device is None or not services.is_dispensing(device):
        raise Http404
    return device, campaign


@never_cache
@require_http_methods(["GET", "POST"])
def scan(request, token: str):
    """The mobile page behind the QR code: join and receive a sample."""
    device, campaign = _scanned_device(token)
    context = {"device": device, "store": device.store, "brand": device.brand, "campaign": campaign}
    if request.method == "GET":
        context["form"] = ClaimForm()
        context["out_of_stock"] = device.sample_stock <= 0
        return render(request, "devices/dispensers/scan.html", context)
    if _throttled(request, device.pk):
        context["form"] = ClaimForm(request.POST)
        context["error"] = _("Too many attempts. Please try again in an hour, or ask a store associate.")
        return render(request, "devices/dispensers/scan.html", context, status=429)
    form = ClaimForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "devices/dispensers/scan.html", context, status=400)
    try:
        claim = services.claim_sample(
            device=device,
            phone=form.cleaned_data["phone"],
            consents=form.consents(),
            campaign=campaign,
        )
    except services.ClaimRefused as exc:
        context["refusal"] = exc.code
        return render(request, "devices/dispensers/refused.html", context, status=409)
    except DomainError as exc:
        form.add_error("phone" if "phone" in exc.fields else None, str(exc.message))
        return render(request, "devices/dispensers/scan.html", context, status=400)
    context["claim"] = claim
    return render(request, "devices/dispensers/claimed.html", context)


# --- staff pages --------------------------------------------------------------------------


def _may_manage(principal) -> bool:
    return principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)


def _qr_svg(request, device, campaign: str) -> tuple[str, str]:
    """(scan URL, inline SVG of its QR code)."""
    token = services.dispenser_token(device=device, campaign=campaign)
    url = request.build_absolute_uri(reverse("devices:dispenser_scan", args=[token]))
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, title=str(device))
    return url, mark_safe(svg)  # noqa: S308 - segno's own markup around our URL (escaped by segno)


def _campaign(request) -> str:
    form = QrForm(request.GET or None)
    if form.is_valid():
        try:
            return services.clean_campaign(form.cleaned_data["campaign"])
        except DomainError:
            pass
    return services.DEFAULT_CAMPAIGN


@login_required
def dispenser_detail(request, device_id: int):
    """A dispenser: its QR code, sample stock (with the refill form) and recent claims."""
    device = get_object_or_404(selectors.devices_for_staff(principal=request.principal), pk=device_id)
    campaign = _campaign(request)
    url, svg = _qr_svg(request, device, campaign)
    context = {
        "device": device,
        "is_dispenser": services.is_dispensing(device),
        "campaign": campaign,
        "qr_form": QrForm(initial={"campaign": campaign}),
        "scan_url": url,
        "qr_svg": svg,
        "stock_form": StockForm(initial={"sample_stock": device.sample_stock}),
        "may_manage": _may_manage(request.principal),
        "claims": selectors.recent_claims(device=device),
        "pending_commands": selectors.pending_command_count(device=device),
        "nav_section": "devices",
    }
    return render(request, "devices/dispensers/detail.html", context)


@login_required
def dispenser_qr(request, device_id: int):
    """The QR code alone, for printing and sticking on the dispenser."""
    device = get_object_or_404(selectors.devices_for_staff(principal=request.principal), pk=device_id)
    campaign = _campaign(request)
    url, svg = _qr_svg(request, device, campaign)
    context = {
        "device": device,
        "campaign": campaign,
        "scan_url": url,
        "qr_svg": svg,
        "nav_section": "devices",
    }
    return render(request, "devices/dispensers/qr.html", context)


@login_required
@require_POST
def dispenser_stock(request, device_id: int):
    """Set the dispenser's sample stock (refill or correct). Managers and HQ; audited."""
    device = get_object_or_404(selectors.devices_for_staff(principal=request.principal), pk=device_id)
    if not _may_manage(request.principal):
        raise PermissionDenied
    form = StockForm(request.POST)
    if form.is_valid():
        try:
            services.set_sample_stock(device=device, stock=form.cleaned_data["sample_stock"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Sample stock set to %(stock)s.") % {"stock": device.sample_stock})
    else:
        messages.error(request, _("Enter a whole number from 0 to 1,000,000."))
    return redirect("devices:dispenser_detail", device_id=device.pk)


urlpatterns = [
    # positional: a signed token, not an object id (see the module docstring)
    re_path(r"^s/([A-Za-z0-9_:.\-]{1,300})/$", scan, name="dispenser_scan"),
    path("<int:device_id>/", dispenser_detail, name="dispenser_detail"),
    path("<int:device_id>/qr/", dispenser_qr, name="dispenser_qr"),
    path("<int:device_id>/stock/", dispenser_stock, name="dispenser_stock"),
]
