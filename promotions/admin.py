"""Campaigns and coupons in the Django admin (platform operators): read only; writes go
through the pages and the API, which run the services (stock, limits, audit, events)."""

from django.contrib import admin

from retail.admin import ReadOnlyLedgerAdmin

from . import models as m


@admin.register(m.Campaign)
class CampaignAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "status", "current_phase", "published_at"]
    list_filter = ["status"]
    search_fields = ["name"]


@admin.register(m.CouponTemplate)
class CouponTemplateAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "campaign", "kind", "total_stock", "claimed", "per_member_limit"]
    search_fields = ["name"]


@admin.register(m.Coupon)
class CouponAdmin(ReadOnlyLedgerAdmin):
    list_display = ["code", "brand", "template", "member", "status", "claim_via", "claimed_at"]
    list_filter = ["status"]
    search_fields = ["code"]


@admin.register(m.Redemption)
class RedemptionAdmin(ReadOnlyLedgerAdmin):
    list_display = ["coupon", "brand", "store", "source", "discount", "redeemed_at"]


@admin.register(m.Incident)
class IncidentAdmin(ReadOnlyLedgerAdmin):
    list_display = ["title", "brand", "store", "kind", "severity", "status", "opened_at"]
    list_filter = ["status", "severity"]


for model in (
    m.CampaignStore,
    m.CampaignPhase,
    m.MemberClaimCount,
    m.OfflineBlock,
    m.OfflineRedemption,
    m.CouponKey,
    m.Benefit,
    m.BenefitMember,
    m.Rehearsal,
    m.RehearsalRun,
    m.IncidentComment,
):
    admin.site.register(model, ReadOnlyLedgerAdmin)
