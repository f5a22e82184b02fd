"""Cloud shelves (云货架): catalogs curated by HQ, the in-store screens that show them, the
scans shoppers make of a product's QR code, and hourly impressions reported by the screens.

Sales through a scan live in the core ledger (retail.Order.shelf_scan_id, set when an order
arrives with the scan's attribution token), so the statistics join scans to orders."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retail.models import Brand, Product, Store
from retail.tenancy import TenantQuerySet

from .choices import ScreenStatus


class ShelfSettings(models.Model):
    """A brand's cloud-shelf settings: when daytime starts and ends (the rest is night-time),
    whether Double-11 mode is on (a campaign switches it), where the online store's product
    page lives, and how long a scan's attribution token is honoured."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="shelf_settings")
    day_starts_at = models.TimeField(_("daytime starts"), default=dt.time(9, 0))
    night_starts_at = models.TimeField(_("night-time starts"), default=dt.time(22, 0))
    double11_on = models.BooleanField(_("Double-11 mode on"), default=False)
    double11_switched_at = models.DateTimeField(null=True, blank=True)
    # "{sku}" and "{token}" are filled in; blank: the buy button says the shop is not linked
    buy_url_template = models.CharField(
        _("online store product URL"),
        max_length=500,
        blank=True,
        help_text=_("e.g. https://shop.example.com/item/{sku}?td={token}"),
    )
    attribution_days = models.PositiveSmallIntegerField(_("attribution window (days)"), default=7)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("cloud-shelf settings")
        verbose_name_plural = _("cloud-shelf settings")

    def __str__(self) -> str:
        return f"shelf settings of brand {self.brand_id}"


class Catalog(models.Model):
    """An ordered selection of the brand's products with a headline and featured items.
    `version` goes up on every change; kiosk payload caches are keyed by it."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="shelf_catalogs", db_index=False)
    name = models.CharField(_("name"), max_length=120)
    headline = models.CharField(_("headline"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    is_archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "name"]
        verbose_name = _("shelf catalog")
        verbose_name_plural = _("shelf catalogs")
        constraints = [
            models.UniqueConstraint(fields=["brand", "name"], name="catalog_name_unique_per_brand"),
        ]

    def __str__(self) -> str:
        return self.name


class CatalogItem(models.Model):
    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="items", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="shelf_items")
    position = models.PositiveIntegerField(_("position"), default=0)
    featured = models.BooleanField(_("featured"), default=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["catalog_id", "position", "id"]
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")
        constraints = [
            models.UniqueConstraint(fields=["catalog", "product"], name="catalogitem_product_once"),
        ]

    def __str__(self) -> str:
        return f"{self.catalog_id}#{self.position}: {self.product_id}"


class Screen(models.Model):
    """A cloud-shelf screen in a store. It opens its kiosk page by `token` (a capability
    URL: /shelf/<token>/); its QR codes carry the shorter public `scan_code`. Each screen is
    a device in the registry (devices.Device, kind shelf_screen), so heartbeats from the
    kiosk page make it online / offline there like any other hardware."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="shelf_screens", db_index=False)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="shelf_screens"
    )
    name = models.CharField(_("name"), max_length=100)
    zone = models.CharField(_("zone"), max_length=100, blank=True)
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("zone guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shelf_screens",
    )
    device = models.OneToOneField(
        "devices.Device", on_delete=models.PROTECT, null=True, blank=True, related_name="shelf_screen"
    )
    token = models.CharField(max_length=64, unique=True, editable=False)
    scan_code = models.CharField(max_length=16, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ScreenStatus.choices, default=ScreenStatus.ACTIVE
    )
    day_catalog = models.ForeignKey(
        Catalog,
        verbose_name=_("daytime catalog"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    night_catalog = models.ForeignKey(
        Catalog,
        verbose_name=_("night-time catalog"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    double11_catalog = models.ForeignKey(
        Catalog,
        verbose_name=_("Double-11 catalog"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rotate_seconds = models.PositiveSmallIntegerField(_("seconds per card"), default=8)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store_id", "name"]
        verbose_name = _("shelf screen")
        verbose_name_plural = _("shelf screens")
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="screen_name_unique_per_store"),
            models.CheckConstraint(condition=Q(rotate_seconds__gte=2), name="screen_rotate_at_least_2s"),
        ]

    def __str__(self) -> str:
        return self.name


class Scan(models.Model):
    """A shopper scanned a product's QR code on a screen (the hot path on Double-11 evening:
    one insert, no outbox row; see shelves.services.scans)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    id = models.BigAutoField(primary_key=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", db_index=False)
    screen = models.ForeignKey(Screen, on_delete=models.PROTECT, related_name="scans", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", db_index=False)
    member = models.ForeignKey(
        "members.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    scanned_at = models.DateTimeField(_("scanned at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-scanned_at", "-id"]
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        indexes = [
            models.Index(fields=["screen", "scanned_at"]),
            models.Index(fields=["store", "scanned_at"]),
        ]

    def __str__(self) -> str:
        return f"scan {self.pk}"


class ScreenHour(models.Model):
    """Impressions (cards shown) per screen, product and hour, reported by the kiosk page
    with its heartbeat and folded in with an upsert."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", db_index=False)
    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="hours", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    impressions = models.PositiveIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-hour"]
        verbose_name = _("screen hour")
        verbose_name_plural = _("screen hours")
        constraints = [
            models.UniqueConstraint(fields=["screen", "hour", "product"], name="screenhour_unique"),
        ]
        indexes = [models.Index(fields=["store", "hour"])]

    def __str__(self) -> str:
        return f"{self.screen_id} {self.hour:%Y-%m-%d %H}h {self.product_id}: {self.impressions}"
