"""Reads of telemetry ingestion: the device behind a credential, a device's recent events."""

from __future__ import annotations

from ..models import Device


def device_for_credential_prefix(*, prefix: str) -> Device | None:
    """The device whose credential starts `tdv_<prefix>_` (its type loaded: ingestion
    validates against it), or None. The caller compares the hash."""
    if not prefix or len(prefix) > 16:
        return None
    return Device.objects.select_related("device_type").filter(credential_prefix=prefix).order_by().first()
