"""Reads of screens: the principal's screens with store, device and catalogs joined, one
screen with its device's status, and the choices of a screen form (guides of a store)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from devices.selectors import registry as device_selectors
from retail import selectors as retail_selectors
from retail.choices import Role
from retail.models import StaffRole, Store
from retail.tenancy import Principal

from ..models import Screen

JOINED = ("store", "device", "guide", "day_catalog", "night_catalog", "double11_catalog")


def screens_for(*, principal: Principal) -> QuerySet[Screen]:
    """Screens the principal may see (a manager or guide: their stores), with store, device,
    zone guide and the three catalogs joined (one query for a list)."""
    return Screen.objects.for_principal(principal).select_related(*JOINED)


def screen_list(
    *, principal: Principal, store_id: int | None = None, status: str | None = None
) -> QuerySet[Screen]:
    """The screen list page: scoped, optionally one store / one status, by store then name."""
    qs = screens_for(principal=principal)
    if store_id:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("store__code", "name", "pk")


def screen_detail(*, principal: Principal, screen_id: int) -> Screen | None:
    """One screen with its joins, and `device_record`: its registry device as the device
    registry shows it (status, last seen, type), or None."""
    screen = screens_for(principal=principal).filter(pk=screen_id).first()
    if screen is None:
        return None
    screen.device_record = (
        device_selectors.devices_for(principal=principal).filter(pk=screen.device_id).first()
        if screen.device_id
        else None
    )
    return screen


def guides_of_store(*, principal: Principal, store: Store) -> QuerySet:
    """Users who are guides of the store (the zone guide choices), by username."""
    user_ids = (
        retail_selectors.staff_for_store(principal=principal, store=store)
        .filter(role=Role.GUIDE)
        .values("user_id")
    )
    return get_user_model().objects.filter(pk__in=user_ids).order_by("username")


def guides_of_stores(*, principal: Principal) -> QuerySet:
    """Guides of every store the principal may see (the screen form before a store is chosen)."""
    user_ids = StaffRole.objects.for_principal(principal).filter(role=Role.GUIDE).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids).order_by("username")
