"""Reads of sample dispensers: the staff pages' scoped lookups and the public scan page."""

from __future__ import annotations

from django.db.models import QuerySet

from retail.tenancy import Principal

from ..choices import CommandStatus
from ..models import Device, DeviceCommand, SampleClaim

RECENT_CLAIMS = 20


def devices_for_staff(*, principal: Principal) -> QuerySet[Device]:
    """Devices the principal may see (any kind: the QR page works for every device; only a
    sample dispenser answers its scan), with store, brand and type joined."""
    return Device.objects.for_principal(principal).select_related("store", "brand", "device_type")


def device_for_scan(*, device_id: int) -> Device | None:
    """The device a signed QR token names (the token is the authority, not a principal),
    with what the public page shows; None when it does not exist."""
    return Device.objects.select_related("store", "brand", "device_type").filter(pk=device_id).first()


def recent_claims(*, device: Device, limit: int = RECENT_CLAIMS) -> list[SampleClaim]:
    """The device's newest sample claims, member (masked fields only) and command joined."""
    return list(
        SampleClaim.objects.filter(device_id=device.pk)
        .select_related("member", "command")
        .only(
            "id",
            "campaign",
            "created_at",
            "member__id",
            "member__member_no",
            "member__phone_masked",
            "command__id",
            "command__status",
        )
        .order_by("-id")[:limit]
    )


def pending_command_count(*, device: Device) -> int:
    """Commands queued for the device and not yet picked up."""
    return DeviceCommand.objects.filter(device_id=device.pk, status=CommandStatus.PENDING).count()


def commands_in_flight(*, device: Device, limit: int = 50) -> list[DeviceCommand]:
    """The device's commands not yet acknowledged (pending or delivered), oldest first."""
    return list(
        DeviceCommand.objects.filter(
            device_id=device.pk, status__in=[CommandStatus.PENDING, CommandStatus.DELIVERED]
        ).order_by("id")[:limit]
    )
