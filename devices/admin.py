"""Device admin, for platform operators: types and devices through the registry services;
telemetry, scores, notices, commands and claims read-only."""

from __future__ import annotations

from django.contrib import admin

from retail.admin import BrandBoundAdmin, ReadOnlyLedgerAdmin

from .models import (
    BackflowPolicy,
    Device,
    DeviceCommand,
    DeviceDay,
    DeviceEvent,
    DeviceRejectedEvent,
    DeviceType,
    PartnerNotice,
    SampleClaim,
)


@admin.register(DeviceType)
class DeviceTypeAdmin(ReadOnlyLedgerAdmin):
    list_display = ["code", "name", "kind", "brand", "partner", "heartbeat_interval_seconds"]
    list_select_related = ["brand", "partner"]
    list_filter = ["kind", "brand"]
    search_fields = ["=code"]


@admin.register(Device)
class DeviceAdmin(ReadOnlyLedgerAdmin):
    list_display = ["serial", "name", "brand", "store", "device_type", "status", "last_seen_at"]
    list_select_related = ["brand", "store", "device_type"]
    list_filter = ["status", "brand"]
    search_fields = ["=serial"]
    exclude = ["credential_hash"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["device", "seq", "event_type", "occurred_at", "received_at"]
    list_select_related = ["device"]
    raw_id_fields = ["device"]


@admin.register(DeviceRejectedEvent)
class DeviceRejectedEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["device", "seq", "day", "rejected_at"]
    list_select_related = ["device"]
    raw_id_fields = ["device"]


@admin.register(DeviceDay)
class DeviceDayAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "device",
        "day",
        "received",
        "invalid",
        "gaps",
        "timeliness",
        "completeness",
        "accuracy",
        "score",
    ]
    list_select_related = ["device"]
    raw_id_fields = ["device"]


@admin.register(BackflowPolicy)
class BackflowPolicyAdmin(BrandBoundAdmin):
    list_display = ["brand", "reward_at", "penalty_below", "raw_event_retention_days"]
    list_select_related = ["brand"]


@admin.register(PartnerNotice)
class PartnerNoticeAdmin(ReadOnlyLedgerAdmin):
    list_display = ["partner", "month", "kind", "score"]
    list_select_related = ["partner"]
    list_filter = ["kind"]


@admin.register(DeviceCommand)
class DeviceCommandAdmin(ReadOnlyLedgerAdmin):
    list_display = ["device", "name", "status", "created_at", "acknowledged_at"]
    list_select_related = ["device"]
    list_filter = ["status"]
    raw_id_fields = ["device"]


@admin.register(SampleClaim)
class SampleClaimAdmin(ReadOnlyLedgerAdmin):
    list_display = ["device", "member", "campaign", "created_at"]
    list_select_related = ["device", "member"]
    raw_id_fields = ["device", "member"]
