"""Reads of device registry: device types and devices, scoped by principal and shaped for
their pages (one query per list)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from retail.models import ApiClient
from retail.tenancy import Principal

from ..choices import DeviceKind, DeviceStatus
from ..models import Device, DeviceEvent, DeviceType

RECENT_EVENTS = 50


def device_types_for(*, principal: Principal) -> QuerySet[DeviceType]:
    """The brand's device types with their maker, by code."""
    return DeviceType.objects.for_principal(principal).select_related("partner").order_by("code")


def partners_for(*, principal: Principal) -> QuerySet[ApiClient]:
    """The brand's partners (API clients) that may make device types."""
    return ApiClient.objects.for_principal(principal).filter(is_active=True).order_by("name")


def devices_for(*, principal: Principal) -> QuerySet[Device]:
    """Devices the principal may see (a manager: their stores), with store and type joined."""
    return Device.objects.for_principal(principal).select_related("store", "device_type")


def device_list(
    *, principal: Principal, store_id: int | None = None, status: str | None = None
) -> QuerySet[Device]:
    """The device list page: scoped, optionally one store / one status, by store then serial."""
    qs = devices_for(principal=principal)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("store__code", "serial", "pk")


def offline_devices(*, principal: Principal, limit: int = 20) -> tuple[int, list[Device]]:
    """How many of the principal's devices are offline, and the longest-silent of them (alert)."""
    qs = devices_for(principal=principal).filter(status=DeviceStatus.OFFLINE)
    rows = list(qs.order_by("last_seen_at", "pk")[: limit + 1])
    count = len(rows) if len(rows) <= limit else qs.count()
    return count, rows[:limit]


def low_stock_dispensers(*, principal: Principal, limit: int = 20) -> list[Device]:
    """The principal's sample dispensers (not retired) at or below their low-stock threshold,
    emptiest first: the store manager's refill alert."""
    qs = (
        devices_for(principal=principal)
        .filter(device_type__kind=DeviceKind.SAMPLE_DISPENSER, sample_stock__lte=F("low_stock_threshold"))
        .exclude(status=DeviceStatus.RETIRED)
        .select_related("store")
    )
    return list(qs.order_by("sample_stock", "pk")[:limit])


def recent_events(*, device: Device, limit: int = RECENT_EVENTS) -> list[DeviceEvent]:
    """The device's newest events (by occurrence), one query."""
    return list(
        DeviceEvent.objects.filter(device=device, brand_id=device.brand_id)
        .only("id", "seq", "event_type", "occurred_at", "received_at", "payload")
        .order_by("-occurred_at", "-seq")[:limit]
    )
