"""Device alerts: the store's managers and the brand's HQ admins are notified (their inbox
and the header's bell, retail.notifications) when a device goes offline or a sample
dispenser runs low; a device back online resolves its offline alerts, a retired one all of
its alerts.

Subscribers of `device.offline`, `device.online`, `device.low_stock` and `device.retired` (wired by
`connect()` from DevicesConfig.ready). Each is idempotent: a notification's dedupe key is
the event's outbox id, so a redelivered event notifies nobody twice. The params are data
(names, serial, stock, times); the wording is registered here and applied when read, in the
reader's language."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from retail import events, notifications
from retail.models import NotificationKind

from .choices import DeviceStatus
from .models import Device

OFFLINE = "device_offline"
LOW_STOCK = "device_low_stock"


def connect() -> None:
    notifications.register_message(
        OFFLINE,
        title=_("%(device)s is offline"),
        body=_("Serial %(serial)s in %(store)s. Last seen: %(last_seen_at)s"),
    )
    notifications.register_message(
        LOW_STOCK,
        title=_("%(device)s is running low on samples"),
        body=ngettext_lazy(
            "%(stock)d sample left in %(store)s. Refill it soon.",
            "%(stock)d samples left in %(store)s. Refill it soon.",
            "stock",
        ),
    )
    events.subscribe("device.offline", on_device_offline)
    events.subscribe("device.online", on_device_online)
    events.subscribe("device.low_stock", on_device_low_stock)
    events.subscribe("device.retired", on_device_retired)


def _device(device_id) -> Device | None:
    return Device.objects.select_related("store").filter(pk=device_id).first()


def _params(device: Device, **more) -> dict:
    return {"device": str(device), "serial": device.serial, "store": device.store.name, **more}


def subject(device_id: int) -> str:
    return f"device:{device_id}"


def on_device_offline(event) -> None:
    """Alert the store's managers and HQ, with a link to the device's page. Not when the
    device is no longer offline (its `device.online` may have been delivered first)."""
    device = _device(event.payload.get("device"))
    if device is None or device.status != DeviceStatus.OFFLINE:
        return
    notifications.notify(
        brand_id=device.brand_id,
        store_id=device.store_id,
        roles=notifications.DEVICE_ALERT_ROLES,
        kind=NotificationKind.DEVICE_OFFLINE,
        message=OFFLINE,
        params=_params(device, last_seen_at=event.payload.get("last_seen_at")),
        url=reverse("devices:device_detail", kwargs={"device_id": device.pk}),
        subject=subject(device.pk),
        dedupe_key=f"device.offline:{event.id}",
    )


def on_device_online(event) -> None:
    """The device is back: its open offline alerts are resolved (they leave the bell)."""
    device_id = event.payload.get("device")
    if device_id:
        notifications.resolve(
            brand_id=event.brand_id, subject=subject(device_id), kinds=[NotificationKind.DEVICE_OFFLINE]
        )


def on_device_low_stock(event) -> None:
    """A dispenser's stock fell to its threshold (once per crossing): the store's managers
    and HQ hear how many samples are left, with a link to the dispenser's page."""
    device = _device(event.payload.get("device"))
    if device is None:
        return
    notifications.notify(
        brand_id=device.brand_id,
        store_id=device.store_id,
        roles=notifications.DEVICE_ALERT_ROLES,
        kind=NotificationKind.DEVICE_LOW_STOCK,
        message=LOW_STOCK,
        params=_params(device, stock=int(event.payload.get("stock", device.sample_stock))),
        url=reverse("devices:dispenser_detail", kwargs={"device_id": device.pk}),
        subject=subject(device.pk),
        dedupe_key=f"device.low_stock:{event.id}",
    )


def on_device_retired(event) -> None:
    """A retired device needs nobody any more: its open alerts (offline, low stock) leave the
    bell (kept in the inboxes, resolved)."""
    device_id = event.payload.get("device")
    if device_id:
        notifications.resolve(brand_id=event.brand_id, subject=subject(device_id))
