from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from rest_framework import serializers

from members.models import Member

from ..choices import Channel, Role
from ..models import Order, OrderLine, Product, StaffRole, Store, StoreStock
from ..tenancy import scope
from .base import (
    ScopedPrimaryKeyRelatedField,
    ScopedSlugRelatedField,
    StrictModelSerializer,
    StrictSerializer,
)


class StoreSerializer(StrictModelSerializer):
    class Meta:
        model = Store
        fields = [
            "id",
            "code",
            "name",
            "city",
            "address",
            "latitude",
            "longitude",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "latitude": {"min_value": Decimal("-90"), "max_value": Decimal("90")},
            "longitude": {"min_value": Decimal("-180"), "max_value": Decimal("180")},
        }
        validators = []  # uniqueness per brand is the service's (it knows the brand)


class ProductSerializer(StrictModelSerializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "category",
            "price",
            "online_stock",
            "image_url",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []


class OrderLineOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["product", "sku", "name", "quantity", "unit_price", "line_total"]


class AttributionSerializer(serializers.Serializer):
    """What an order's attribution token resolved to; empty when the order had none."""

    status = serializers.ChoiceField(
        choices=["attributed", "unknown", "expired", "foreign"], required=False, read_only=True
    )
    message = serializers.CharField(required=False, read_only=True)
    source = serializers.CharField(required=False, read_only=True, help_text="e.g. shelf_scan")
    store = serializers.IntegerField(required=False, read_only=True, allow_null=True)
    guide = serializers.IntegerField(required=False, read_only=True, allow_null=True)
    shelf_scan = serializers.IntegerField(required=False, read_only=True, allow_null=True)
    screen = serializers.IntegerField(required=False, read_only=True, allow_null=True)
    product = serializers.IntegerField(required=False, read_only=True, allow_null=True)
    order_store = serializers.IntegerField(
        required=False,
        read_only=True,
        help_text="The store the order named, when the scan's store was credited",
    )

    def to_representation(self, instance):
        # the stored record is already JSON; show the documented keys it has, nothing more
        return {key: value for key, value in (instance or {}).items() if key in self.fields}


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineOutSerializer(many=True, read_only=True)
    attribution = AttributionSerializer(read_only=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "channel",
            "status",
            "store",
            "member",
            "guide",
            "subtotal",
            "discount_total",
            "total",
            "currency",
            "paid_at",
            "created_at",
            "attribution",
            "lines",
        ]
        read_only_fields = fields

    def get_currency(self, obj) -> str:
        return "CNY"


class OrderLineInSerializer(StrictSerializer):
    """One line: a product by our id or by SKU; both are resolved for all lines at once."""

    product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    sku = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )

    def validate(self, attrs):
        if ("product" in attrs) == ("sku" in attrs):
            raise serializers.ValidationError("Give exactly one of 'product' (id) or 'sku'.")
        return attrs


def resolve_line_products(lines: list[dict], principal) -> None:
    """Replace each line's product id / SKU by the Product, in one query for the order."""
    ids = {line["product"] for line in lines if "product" in line}
    skus = {line["sku"] for line in lines if "sku" in line}
    found = scope(Product.objects.filter(Q(pk__in=ids) | Q(sku__in=skus)), principal)
    by_id, by_sku = {}, {}
    for product in found:
        by_id[product.pk] = product
        by_sku[product.sku] = product
    errors, missing = [], False
    for line in lines:
        if "product" in line:
            product, field = by_id.get(line.pop("product")), "product"
        else:
            product, field = by_sku.get(line.pop("sku")), "sku"
        line["product"] = product
        errors.append({} if product else {field: ["Unknown product."]})
        missing = missing or product is None
    if missing:
        raise serializers.ValidationError(errors)


class AttributionTokenField(serializers.CharField):
    """An order's attribution token: any string (or null) is accepted, so the token alone is
    never why an order is refused ("nothing lost"); record_order decides what it is worth.
    A non-string JSON value is kept as its JSON text (it resolves as unknown); NUL bytes and
    lone surrogates, which cannot be stored, are dropped / replaced."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        if data is None:
            return ""
        if not isinstance(data, str):
            data = json.dumps(data, ensure_ascii=False, default=str)
        return data.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()


class OrderInSerializer(StrictSerializer):
    """What a partner posts: references by our id or by their codes (store_code, sku, phone)."""

    external_id = serializers.CharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    store = ScopedPrimaryKeyRelatedField(queryset=Store.objects.all(), required=False, allow_null=True)
    store_code = ScopedSlugRelatedField(slug_field="code", queryset=Store.objects.all(), required=False)
    member = ScopedPrimaryKeyRelatedField(queryset=Member.objects.all(), required=False, allow_null=True)
    member_phone = serializers.CharField(max_length=32, required=False)
    guide = serializers.IntegerField(required=False, allow_null=True)
    paid_at = serializers.DateTimeField(required=False)
    discount_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, default=Decimal("0")
    )
    lines = OrderLineInSerializer(many=True, allow_empty=False, max_length=500)
    attribution_token = AttributionTokenField(
        help_text="A token from a cloud-shelf scan (or another attribution source). One that is "
        "unknown, expired, of another brand, too long (over 2,000 characters) or junk never fails "
        "the order: it is stored without attribution and `attribution.status` / "
        "`attribution.message` say why.",
    )

    def validate(self, attrs):
        from members.selectors import member_by_phone

        principal = self.context["request"].principal
        by_code = attrs.pop("store_code", None)
        if by_code is not None:
            if attrs.get("store") not in (None, by_code):
                raise serializers.ValidationError({"store_code": ["Contradicts 'store'."]})
            attrs["store"] = by_code
        phone = attrs.pop("member_phone", None)
        if phone:
            found = member_by_phone(brand_id=principal.brand_id, phone=phone)
            if found is None:
                raise serializers.ValidationError({"member_phone": ["No member with this phone."]})
            attrs["member"] = found
        guide_id = attrs.get("guide")
        if guide_id is not None:
            roles = StaffRole.objects.for_principal(principal).filter(user_id=guide_id, role=Role.GUIDE)
            if not roles.exists():
                raise serializers.ValidationError({"guide": ["Not a guide of this brand."]})
            attrs["guide"] = get_user_model()(pk=guide_id)
        return attrs

    def validate_lines(self, lines):
        resolve_line_products(lines, self.context["request"].principal)
        return lines


class StockLineInSerializer(StrictSerializer):
    """How many of one product the store has: a product by our id or by SKU."""

    product = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    sku = serializers.CharField(required=False, max_length=64)
    quantity = serializers.IntegerField(min_value=0, max_value=10_000_000)

    def validate(self, attrs):
        if ("product" in attrs) == ("sku" in attrs):
            raise serializers.ValidationError("Give exactly one of 'product' (id) or 'sku'.")
        return attrs


class StockInSerializer(StrictSerializer):
    """A store's stock levels from the ERP / POS: set (not add) per product."""

    items = StockLineInSerializer(many=True, allow_empty=False, max_length=1000)

    def validate_items(self, items):
        resolve_line_products(items, self.context["request"].principal)
        seen = set()
        for item in items:
            if item["product"].pk in seen:
                raise serializers.ValidationError("A product appears twice.")
            seen.add(item["product"].pk)
        return items


class StockSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = StoreStock
        fields = ["id", "product", "sku", "quantity", "updated_at"]
        read_only_fields = fields


class StockWrittenSerializer(serializers.Serializer):
    written = serializers.IntegerField(help_text="Products whose stock was set.")
