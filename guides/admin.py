"""The workbench in the Django admin (platform operators): read only; writes go through the
pages and the API, which run the services (consent, caps, audit, events)."""

from django.contrib import admin

from retail.admin import ReadOnlyLedgerAdmin

from . import models as m


@admin.register(m.Interaction)
class InteractionAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "id",
        "brand",
        "store",
        "guide",
        "member",
        "kind",
        "call_status",
        "outcome",
        "occurred_at",
    ]
    list_filter = ["kind", "call_status"]
    search_fields = ["=provider_ref", "=client_id"]


@admin.register(m.Task)
class TaskAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "brand", "store", "guide", "member", "kind", "status", "due_at"]
    list_filter = ["status", "kind"]


@admin.register(m.Message)
class MessageAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "brand", "member", "channel", "status", "skip_reason", "sent_at"]
    list_filter = ["status", "channel"]


@admin.register(m.ShareLink)
class ShareLinkAdmin(ReadOnlyLedgerAdmin):
    list_display = ["code", "brand", "guide", "platform", "clicks", "orders", "gmv"]
    search_fields = ["=code"]


for model in (
    m.GuideSettings,
    m.GuideProfile,
    m.ReassignmentBatch,
    m.AssignmentChange,
    m.CallPlan,
    m.CallEvent,
    m.Broadcast,
    m.Conversion,
    m.ShareContent,
    m.ShareClick,
    m.ShareLinkOrder,
    m.Livestream,
    m.LivestreamSignup,
):
    admin.site.register(model, ReadOnlyLedgerAdmin)
