"""Device registry use cases: device types, devices in stores, their credentials.

A device authenticates with its own credential, `Authorization: Bearer tdv_<prefix>_<secret>`:
the clear value is shown once (at registration and at each rotation) and only the prefix and a
SHA-256 hash are stored, like partner tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit, events
from retail.choices import AuditAction
from retail.errors import Conflict, InvalidInput
from retail.services import hash_token

from ..choices import DeviceStatus
from ..models import BackflowPolicy, Device, DeviceEvent, DeviceRejectedEvent, DeviceType

# A device is offline once it has missed this many heartbeats in a row.
MISSED_HEARTBEATS = 3
DEFAULT_RETENTION_DAYS = 30
RETENTION_BATCH = 5000

CREDENTIAL_PREFIX = "tdv"


def hash_credential(raw: str) -> str:
    """Stored like a partner token's: a SHA-256 of the whole credential."""
    return hash_token(raw)


def new_credential() -> tuple[str, str, str]:
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
    credential, shown once. A firmware, if given, must be one its type lists (when the type
    lists any). Audited."""
    serial = (serial or "").strip()
    if not serial:
        raise InvalidInput(
            "invalid", _("A device needs a serial number."), fields={"serial": [_("Required.")]}
        )
    if device_type.brand_id != store.brand_id:
        raise InvalidInput(
            "other_brand", _("Unknown device type."), fields={"device_type": [_("Not found.")]}
        )
    firmware = (firmware or "").strip()
    versions = device_type.firmware_versions
    if firmware and versions and firmware not in versions:
        message = _("Not a firmware version of this type (%(versions)s).") % {"versions": ", ".join(versions)}
        raise InvalidInput("unknown_firmware", message, fields={"firmware": [message]})
    prefix, raw, digest = new_credential()
    try:
        with transaction.atomic():
            device = Device.objects.create(
                brand_id=store.brand_id,
                store=store,
                device_type=device_type,
                serial=serial,
                name=name.strip(),
                firmware=firmware,
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
    prefix, raw, digest = new_credential()
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


def retire_device(*, device: Device) -> Device:
    """Take a device out of service for good: it keeps its history, never comes back online
    (ingestion refuses it) and is left out of the heartbeat watch. Audited, and
    `device.retired` is published (the store's live device counts drop it); a repeat is a
    no-op."""
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.status == DeviceStatus.RETIRED:
            return locked
        before = audit.snapshot(locked)
        previous = locked.status
        locked.status = DeviceStatus.RETIRED
        locked.retired_at = timezone.now()
        locked.save(update_fields=["status", "retired_at", "updated_at"])
        audit.record(
            AuditAction.UPDATE, locked, before=before, after=audit.snapshot(locked), message="device retired"
        )
        events.publish(
            "device.retired",
            brand=locked.brand_id,
            store=locked.store_id,
            device=locked.pk,
            serial=locked.serial,
            previous_status=previous,
        )
    device.status, device.retired_at = locked.status, locked.retired_at
    return locked


def mark_offline_devices(*, now: datetime | None = None) -> list[int]:
    """Mark offline every online device whose last heartbeat is older than
    MISSED_HEARTBEATS × its type's interval, in one UPDATE ... RETURNING (PostgreSQL and
    SQLite ≥ 3.35), and publish `device.offline` for each (brand and store set, so the
    store's live group hears it). Only `online` devices qualify: provisioned devices never
    seen and retired ones are left alone, and a second run finds nothing to do. Returns the
    ids marked offline."""
    now = now or timezone.now()
    intervals = sorted(set(DeviceType.objects.values_list("heartbeat_interval_seconds", flat=True)))
    if not intervals:
        return []
    late = Q()
    for seconds in intervals:
        late |= Q(
            device_type__heartbeat_interval_seconds=seconds,
            last_seen_at__lt=now - timedelta(seconds=MISSED_HEARTBEATS * seconds),
        )
    candidates = Device.objects.filter(late, status=DeviceStatus.ONLINE).values("id")
    sub_sql, sub_params = candidates.query.sql_with_params()
    table = connection.ops.quote_name(Device._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, updated_at = %s "  # noqa: S608 (names are ours)
        f"WHERE status = %s AND id IN ({sub_sql}) "
        "RETURNING id, brand_id, store_id, serial, last_seen_at"
    )
    params = [
        DeviceStatus.OFFLINE,
        connection.ops.adapt_datetimefield_value(now),
        DeviceStatus.ONLINE,
        *sub_params,
    ]
    last_seen_field = Device._meta.get_field("last_seen_at")
    converters = connection.ops.get_db_converters(last_seen_field.get_col(Device._meta.db_table))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for device_id, brand_id, store_id, serial, last_seen in sorted(rows):
            for converter in converters:
                last_seen = converter(last_seen, last_seen_field, connection)
            events.publish(
                "device.offline",
                brand=brand_id,
                store=store_id,
                device=device_id,
                serial=serial,
                last_seen_at=last_seen,
            )
    return sorted(row[0] for row in rows)


def retention_days(*, brand_id: int) -> int:
    """How many days the brand keeps raw telemetry (its backflow policy, else the default)."""
    days = BackflowPolicy.objects.filter(brand_id=brand_id).values_list("raw_event_retention_days", flat=True)
    found = list(days)
    return found[0] if found else DEFAULT_RETENTION_DAYS


def delete_expired_device_events(
    *, brand_id: int, now: datetime | None = None, batch_size: int = RETENTION_BATCH
) -> int:
    """Delete the brand's raw telemetry received before its retention window, a batch of
    ids at a time (one short DELETE per id range, so no long lock and no huge transaction);
    daily aggregates (DeviceDay) stay; the records of rejected seqs older than the window go
    too (a seq rejected that long ago counts again if it is rejected again). Idempotent.
    Returns how many raw events went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days(brand_id=brand_id))
    # the records of rejected seqs go with the raw events (few rows: one DELETE)
    rejected = DeviceRejectedEvent.objects.filter(brand_id=brand_id, rejected_at__lt=cutoff)
    rejected._raw_delete(rejected.db)
    expired = DeviceEvent.objects.filter(brand_id=brand_id, received_at__lt=cutoff)
    deleted = 0
    after = 0
    while True:
        ids = list(expired.filter(id__gt=after).order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        batch = expired.filter(id__gte=ids[0], id__lte=ids[-1])
        deleted += batch._raw_delete(batch.db)
        after = ids[-1]


def record_heartbeat(*, device: Device, now: datetime | None = None, firmware: str | None = None) -> bool:
    """A heartbeat from a device that does not go through the telemetry API (a cloud-shelf
    screen's kiosk page, say): last seen moves on, and an offline or new device comes
    online (`device.online`, once). A retired device stays retired. True when it came online."""
    from .ingest import _mark_seen

    if device.status == DeviceStatus.RETIRED:
        return False
    return _mark_seen(device, now or timezone.now(), firmware)
