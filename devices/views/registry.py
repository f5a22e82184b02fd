"""Device registry pages (routes in `urlpatterns`, included by devices/urls.py at /devices/):
the device list with its offline alert, registering a device (its credential shown once),
a device's page (recent events, rotate credential, retire), and the brand's device types.

Thin: reads through devices.selectors.registry (scoped by principal), writes through
devices.services.registry. Another brand's or store's device is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from retail import selectors as retail_selectors
from retail.choices import Role
from retail.errors import Conflict, DomainError

from .. import forms
from ..choices import DeviceStatus
from ..selectors import registry as selectors
from ..services import registry as services

PER_PAGE = 50
NAV = {"nav_section": "devices"}


def may_register_devices(principal) -> bool:
    """HQ registers devices in any store of the brand, store managers in their stores."""
    return principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)


def may_define_types(principal) -> bool:
    """Device types are brand-wide: HQ defines them."""
    return principal.brand_id is not None and (principal.is_superuser or principal.role == Role.HQ_ADMIN)


def _brand_id(request) -> int:
    brand_id = request.principal.brand_id
    if brand_id is None:  # a superuser acting for no brand has no device types
        raise Http404
    return brand_id


def _device(request, device_id: int):
    return get_object_or_404(selectors.devices_for(principal=request.principal), pk=device_id)


# --- devices ------------------------------------------------------------------------------------


@login_required
def device_list(request):
    """The devices the principal may see, filtered by store / status, with an alert when some
    are offline. Status badges follow `device.online` / `device.offline` live (static/js/devices.js)."""
    principal = request.principal
    form = forms.DeviceFilterForm(request.GET or None, principal=principal)
    filters = form.filters()
    devices = selectors.device_list(principal=principal, **filters)
    page = retail_selectors.page_of(devices, page=request.GET.get("page"), per_page=PER_PAGE)
    offline_count, offline = selectors.offline_devices(principal=principal)
    low_stock = selectors.low_stock_dispensers(principal=principal)
    query = "&".join(
        f"{k}={v}" for k, v in (("store", filters["store_id"]), ("status", filters["status"])) if v
    )
    return render(
        request,
        "devices/device_list.html",
        {
            **NAV,
            "form": form,
            "page": page,
            "query": query,
            "offline_count": offline_count,
            "offline": offline,
            "low_stock": low_stock,
            "may_register": may_register_devices(principal),
            "may_define_types": may_define_types(principal),
            "statuses": DeviceStatus.choices,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def device_new(request):
    """Register a device; the answer shows its credential, once (it is stored hashed)."""
    principal = request.principal
    if not may_register_devices(principal):
        raise PermissionDenied
    form = forms.DeviceForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device, credential = services.register_device(
                store=data["store"],
                device_type=data["device_type"],
                serial=data["serial"],
                name=data.get("name") or "",
                firmware=data["firmware"],
                sample_stock=data["sample_stock"],
                low_stock_threshold=data["low_stock_threshold"],
            )
        except Conflict as exc:
            form.add_error("serial", exc.message)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return _credential_page(request, device, credential, created=True)
    status = 400 if request.method == "POST" else 200
    return render(request, "devices/device_form.html", {**NAV, "form": form}, status=status)


def _credential_page(request, device, credential: str, *, created: bool):
    return render(
        request,
        "devices/device_credential.html",
        {**NAV, "device": device, "credential": credential, "created": created},
        status=201 if created else 200,
    )


@login_required
def device_detail(request, device_id: int):
    """One device: status, last seen, firmware, its newest events; rotate and retire."""
    device = _device(request, device_id)
    return render(
        request,
        "devices/device_detail.html",
        {
            **NAV,
            "device": device,
            "events": selectors.recent_events(device=device),
            "may_manage": may_register_devices(request.principal),
            "statuses": DeviceStatus.choices,
        },
    )


@never_cache
@login_required
@require_POST
def device_rotate(request, device_id: int):
    """Give the device a new credential (the old one stops at once); shown once. Audited."""
    device = _device(request, device_id)
    if not may_register_devices(request.principal):
        raise PermissionDenied
    if device.status == DeviceStatus.RETIRED:
        messages.error(request, _("A retired device gets no new credential."))
        return redirect("devices:device_detail", device_id=device.pk)
    credential = services.rotate_device_credential(device=device)
    return _credential_page(request, device, credential, created=False)


@login_required
@require_POST
def device_retire(request, device_id: int):
    """Take the device out of service for good (it never comes back online). Audited."""
    device = _device(request, device_id)
    if not may_register_devices(request.principal):
        raise PermissionDenied
    services.retire_device(device=device)
    messages.success(request, _("The device is retired."))
    return redirect("devices:device_detail", device_id=device.pk)


# --- device types -------------------------------------------------------------------------------


@login_required
def type_list(request):
    """The brand's device types: kind, maker, heartbeat interval, firmware versions."""
    _brand_id(request)
    return render(
        request,
        "devices/type_list.html",
        {
            **NAV,
            "types": list(selectors.device_types_for(principal=request.principal)),
            "may_define_types": may_define_types(request.principal),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def type_new(request):
    """HQ defines a new device type."""
    return _type_form(request, device_type=None)


@login_required
@require_http_methods(["GET", "POST"])
def type_edit(request, type_id: int):
    """One device type; HQ changes it (its code stays)."""
    device_type = get_object_or_404(selectors.device_types_for(principal=request.principal), pk=type_id)
    return _type_form(request, device_type=device_type)


def _type_form(request, *, device_type):
    brand_id = _brand_id(request)
    principal = request.principal
    may_define = may_define_types(principal)
    if request.method == "POST" and not may_define:
        raise PermissionDenied
    if device_type is None and not may_define:
        raise PermissionDenied
    form = forms.DeviceTypeForm(request.POST or None, principal=principal, device_type=device_type)
    if request.method == "POST" and form.is_valid():
        code = device_type.code if device_type else form.cleaned_data["code"]
        try:
            saved = services.define_device_type(brand_id=brand_id, code=code, **form.values())
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Device type “%(name)s” saved.") % {"name": saved.name})
            return redirect("devices:type_list")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "devices/type_form.html",
        {**NAV, "form": form, "device_type": device_type, "may_define_types": may_define},
        status=status,
    )


urlpatterns = [
    path("", device_list, name="device_list"),
    path("new/", device_new, name="device_new"),
    path("<int:device_id>/", device_detail, name="device_detail"),
    path("<int:device_id>/rotate/", device_rotate, name="device_rotate"),
    path("<int:device_id>/retire/", device_retire, name="device_retire"),
    path("types/", type_list, name="type_list"),
    path("types/new/", type_new, name="type_new"),
    path("types/<int:type_id>/", type_edit, name="type_edit"),
]
