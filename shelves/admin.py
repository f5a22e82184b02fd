"""Cloud shelves in the Django admin (platform operators): read mostly; writes go through
the pages and the API, which run the services."""

from django.contrib import admin

from retail.admin import BrandBoundAdmin, ReadOnlyLedgerAdmin

from .models import Catalog, CatalogItem, Scan, Screen, ScreenHour, ShelfSettings


@admin.register(Catalog)
class CatalogAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "headline", "version", "is_archived"]
    list_filter = ["is_archived"]
    search_fields = ["name"]


@admin.register(Screen)
class ScreenAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "store", "status", "day_catalog"]
    list_filter = ["status"]
    search_fields = ["name", "scan_code"]
    readonly_fields = ["token", "scan_code", "device"]


@admin.register(ShelfSettings)
class ShelfSettingsAdmin(BrandBoundAdmin):
    list_display = ["brand", "day_starts_at", "night_starts_at", "double11_on"]


@admin.register(Scan)
class ScanAdmin(ReadOnlyLedgerAdmin):
    list_display = ["id", "brand", "store", "screen", "product", "scanned_at"]


@admin.register(ScreenHour)
class ScreenHourAdmin(ReadOnlyLedgerAdmin):
    list_display = ["screen", "hour", "product", "impressions"]


@admin.register(CatalogItem)
class CatalogItemAdmin(ReadOnlyLedgerAdmin):
    list_display = ["catalog", "position", "product", "featured"]
