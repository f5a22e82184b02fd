"""The devices step of store onboarding (registered in DevicesConfig.ready()): every device
of the store registered and each one connected — it has sent its first heartbeat and is
online now. A live check: the wizard re-runs it every few seconds."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from retail.onboarding.steps import StepState

from ..choices import DeviceStatus
from ..models import Device


def devices_step(store) -> StepState:
    """Done when the store has at least one device and every one (retired left out) has
    sent a heartbeat and is online."""
    devices = list(
        Device.objects.filter(brand_id=store.brand_id, store=store)
        .exclude(status=DeviceStatus.RETIRED)
        .select_related("device_type")
        .order_by("serial", "pk")
    )
    items, missing = [], []
    for device in devices:
        seen = device.last_seen_at
        if seen is None:
            ok, detail = False, _("Waiting for its first heartbeat")
        elif device.status != DeviceStatus.ONLINE:
            ok = False
            detail = _("Offline, last seen %(time)s") % {
                "time": timezone.localtime(seen).strftime("%m-%d %H:%M:%S")
            }
        else:
            ok = True
            detail = _("Online, last heartbeat %(time)s") % {
                "time": timezone.localtime(seen).strftime("%H:%M:%S")
            }
        label = f"{device} · {device.device_type.name}"
        items.append({"label": label, "ok": ok, "detail": detail})
        if not ok:
            missing.append(_("%(device)s: %(detail)s.") % {"device": device, "detail": detail})
    if not devices:
        missing.append(_("No device is registered in this store yet."))
    connected = sum(1 for i in items if i["ok"])
    return StepState(
        done=bool(devices) and not missing,
        missing=missing,
        data={"items": items, "connected": connected, "total": len(devices)},
    )


def devices_step_links(store) -> list[tuple[str, str]]:
    return [
        (_("Register a device"), reverse("devices:device_new")),
        (_("This store's devices"), f"{reverse('devices:device_list')}?store={store.pk}"),
    ]
