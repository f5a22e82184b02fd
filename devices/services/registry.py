"""Device registry use cases: device types, devices in stores, their credentials.

A device authenticates with its own credential, `Authorization: Bearer tdv_<prefix>_<secret>`:
the clear value is shown once (at registration and at each rotation) and only the prefix and a
SHA-256 hash are stored, like partner tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit
from retail.choices import AuditAction
from retail.errors import Conflict, InvalidInput

from ..models import Device, DeviceType

CREDENTIAL_PREFIX = "tdv"


def hash_credential(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_credential() -> tuple[str, str, str]:
    """(prefix, clear credential, hash)."""
    prefix = secrets.token_hex(6)
    raw = f"{CREDENTIAL_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return prefix, raw, hash_credential(raw)


def register_device(
    *,
    store,
    device_type: DeviceType,
    serial: str,
    name: str = "",
    firmware: str = "",
    sample_stock: int = 0,
    low_stock_threshold: int = 10,
) -> tuple[Device, str]:
    """Register a device in a store (serial unique per brand); returns it with its clear
    credential, shown once. Audited."""
    serial = (serial or "").strip()
    if not serial:
        raise InvalidInput(
            "invalid", _("A device needs a serial number."), fields={"serial": [_("Required.")]}
        )
    if device_type.brand_id != store.brand_id:
        raise InvalidInput(
            "other_brand", _("Unknown device type."), fields={"device_type": [_("Not found.")]}
        )
    prefix, raw, digest = _new_credential()
    try:
        with transaction.atomic():
            device = Device.objects.create(
                brand_id=store.brand_id,
                store=store,
                device_type=device_type,
                serial=serial,
                name=name.strip(),
                firmware=firmware.strip(),
                sample_stock=sample_stock,
                low_stock_threshold=low_stock_threshold,
                credential_prefix=prefix,
                credential_hash=digest,
            )
            audit.record(AuditAction.CREATE, device, after=audit.snapshot(device))
    except IntegrityError as exc:
        raise Conflict(
            "duplicate_serial",
            _("The brand already has a device with this serial number."),
            fields={"serial": [_("Already registered.")]},
        ) from exc
    return device, raw


def rotate_device_credential(*, device: Device) -> str:
    """Replace the device's credential (the old one stops working at once); returns the new
    clear value, shown once. Audited as a permission change."""
    prefix, raw, digest = _new_credential()
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        locked.credential_prefix, locked.credential_hash = prefix, digest
        locked.credential_rotated_at = timezone.now()
        locked.save(
            update_fields=["credential_prefix", "credential_hash", "credential_rotated_at", "updated_at"]
        )
        audit.record(AuditAction.PERMISSION, locked, message="device credential rotated")
    device.credential_prefix, device.credential_hash = prefix, digest
    return raw


def define_device_type(*, brand_id: int, code: str, **fields: Any) -> DeviceType:
    """Create or change (by code) a device type of the brand. Audited. Event schemas are
    checked to be valid JSON Schemas by the caller's validation (see devices.schemas)."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("invalid", _("A device type needs a code."), fields={"code": [_("Required.")]})
    with transaction.atomic():
        device_type = DeviceType.objects.select_for_update().filter(brand_id=brand_id, code=code).first()
        before = audit.snapshot(device_type) if device_type else None
        if device_type is None:
            device_type = DeviceType(brand_id=brand_id, code=code)
        for key, value in fields.items():
            setattr(device_type, key, value)
        device_type.save()
        audit.record(
            AuditAction.UPDATE if before else AuditAction.CREATE,
            device_type,
            before=before,
            after=audit.snapshot(device_type),
        )
    return device_type
