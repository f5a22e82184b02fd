"""Devices and the demo seed: a wiped demo (or benchmark) brand loses its devices first
(retail.demo.brand_wiping, connected in DevicesConfig.ready)."""

from __future__ import annotations

from django.db import connection

from .models import (
    DeviceCommand,
    DeviceDay,
    DeviceEvent,
    DeviceRejectedEvent,
    DeviceType,
    PartnerNotice,
    SampleClaim,
)


def wipe_brand_devices(sender, *, brand, **kwargs) -> None:
    """Delete every device row of the brand: the big tables with plain DELETEs, then the rest."""
    with connection.cursor() as cursor:
        for model in (DeviceEvent, DeviceRejectedEvent, DeviceDay, SampleClaim, DeviceCommand, PartnerNotice):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE brand_id = %s", [brand.pk])
        # foreign keys are checked at commit: the cloud-shelf screens pointing at these
        # devices go in the same transaction (shelves' receiver)
        cursor.execute("DELETE FROM devices_device WHERE brand_id = %s", [brand.pk])
    DeviceType.objects.filter(brand=brand).delete()
