"""Serializers of the cloud-shelf partner API: catalogs with their ordered items, screens.
Input serializers are strict (unknown fields are an error); references resolve only among
the caller's brand's rows. A screen's kiosk token is never serialized except once, as
`kiosk_url`, in the answer to its creation."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from retail.api.base import MAX_ID, ScopedPrimaryKeyRelatedField, StrictSerializer
from retail.models import Product, Store
from retail.tenancy import ANONYMOUS, scope

from ..models import Catalog, CatalogItem, Screen
from ..services.catalogs import MAX_ITEMS


class CatalogItemSerializer(serializers.ModelSerializer):
    """One product of a catalog, in screen order (`position` 0, 1, ...)."""

    sku = serializers.CharField(source="product.sku", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = CatalogItem
        fields = ["position", "product", "sku", "name", "featured"]
        read_only_fields = fields


class CatalogSerializer(serializers.ModelSerializer):
    """A catalog with its items in order; `version` goes up on every change."""

    items = serializers.SerializerMethodField()

    class Meta:
        model = Catalog
        fields = ["id", "name", "headline", "version", "is_archived", "items", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(CatalogItemSerializer(many=True))
    def get_items(self, catalog: Catalog):
        items = getattr(catalog, "ordered_items", None)
        if items is None:
            items = catalog.items.select_related("product").order_by("position", "id")
        return CatalogItemSerializer(items, many=True).data


class CatalogItemInSerializer(StrictSerializer):
    """A product by `product` (id) or by `sku` (one of them), and whether it is featured.
    The references are resolved for the whole list at once (`resolve_items`): one query for
    a catalog of any size, not one per item."""

    product = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    sku = serializers.CharField(required=False, max_length=64)
    featured = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if ("product" in attrs) == ("sku" in attrs):
            raise serializers.ValidationError(_("Give either product (id) or sku."))
        return attrs


def resolve_items(items: list[dict], principal) -> list[dict]:
    """Replace each item's product id / SKU by the Product (active, of the caller's brand),
    in one query; an unknown reference is an error on its item."""
    ids = {item["product"] for item in items if "product" in item}
    skus = {item["sku"] for item in items if "sku" in item}
    found = scope(Product.objects.filter(is_active=True).filter(Q(pk__in=ids) | Q(sku__in=skus)), principal)
    by_id, by_sku = {}, {}
    for product in found:
        by_id[product.pk] = product
        by_sku[product.sku] = product
    errors, missing, resolved = [], False, []
    for item in items:
        if "product" in item:
            product, field = by_id.get(item["product"]), "product"
        else:
            product, field = by_sku.get(item["sku"]), "sku"
        errors.append({} if product else {field: [_("Unknown or inactive product.")]})
        missing = missing or product is None
        resolved.append({"product": product, "featured": item.get("featured", False)})
    if missing:
        raise serializers.ValidationError(errors)
    return resolved


class _ItemsMixin:
    def validate_items(self, items):
        return resolve_items(items, getattr(self.context.get("request"), "principal", ANONYMOUS))


class CatalogInSerializer(_ItemsMixin, StrictSerializer):
    name = serializers.CharField(max_length=120)
    headline = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    items = CatalogItemInSerializer(many=True, required=False, default=list, max_length=MAX_ITEMS)


class CatalogUpdateSerializer(_ItemsMixin, StrictSerializer):
    """Any of name, headline; `items` replaces the whole list (in the order given)."""

    name = serializers.CharField(max_length=120, required=False)
    headline = serializers.CharField(max_length=200, required=False, allow_blank=True)
    items = CatalogItemInSerializer(many=True, required=False, max_length=MAX_ITEMS)


class ScreenSerializer(serializers.ModelSerializer):
    """A screen as partners see it: store, zone, catalogs, device status; never its token."""

    store_code = serializers.CharField(source="store.code", read_only=True)
    device_status = serializers.CharField(
        source="device.status", read_only=True, allow_null=True, default=None
    )
    last_seen_at = serializers.DateTimeField(
        source="device.last_seen_at", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Screen
        fields = [
            "id",
            "name",
            "store",
            "store_code",
            "zone",
            "guide",
            "day_catalog",
            "night_catalog",
            "double11_catalog",
            "rotate_seconds",
            "status",
            "scan_code",
            "device",
            "device_status",
            "last_seen_at",
            "created_at",
            "retired_at",
        ]
        read_only_fields = fields


class ScreenCreatedSerializer(ScreenSerializer):
    """The answer to a screen's creation: the one time its kiosk URL is given out."""

    kiosk_url = serializers.SerializerMethodField()

    class Meta(ScreenSerializer.Meta):
        fields = [*ScreenSerializer.Meta.fields, "kiosk_url"]
        read_only_fields = fields

    def get_kiosk_url(self, screen: Screen) -> str:
        from ..services.screens import kiosk_path

        request = self.context.get("request")
        path = kiosk_path(screen.token)
        return request.build_absolute_uri(path) if request is not None else path


def _catalog_field():
    return ScopedPrimaryKeyRelatedField(
        queryset=Catalog.objects.filter(is_archived=False), required=False, allow_null=True
    )


class ScreenUpdateSerializer(StrictSerializer):
    """Any of: name, zone, zone guide (a guide's user id, of the screen's store; null clears),
    the three catalogs (ids, null clears), seconds per card."""

    name = serializers.CharField(max_length=100, required=False)
    zone = serializers.CharField(max_length=100, required=False, allow_blank=True)
    guide = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    day_catalog = _catalog_field()
    night_catalog = _catalog_field()
    double11_catalog = _catalog_field()
    rotate_seconds = serializers.IntegerField(required=False, min_value=2, max_value=300)


class ScreenInSerializer(ScreenUpdateSerializer):
    """A new screen in one of the brand's stores (by id)."""

    store = ScopedPrimaryKeyRelatedField(queryset=Store.objects.all())
    name = serializers.CharField(max_length=100)
