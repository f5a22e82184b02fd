"""django-filter filtersets of the core API.

References to other rows filter by id (`IdFilter`) rather than ModelChoiceFilter: a choice
field would validate the id against every brand's rows and so answer differently for another
brand's id (200, empty) than for one that never existed (400).
"""

import django_filters
from django.db.models import Exists, OuterRef

from ..models import Order, OrderLine, Product, Store
from ..tenancy import ANONYMOUS
from .base import IdFilter


class StoreFilter(django_filters.FilterSet):
    class Meta:
        model = Store
        fields = {"code": ["exact"], "status": ["exact"], "city": ["exact"]}


class ProductFilter(django_filters.FilterSet):
    class Meta:
        model = Product
        fields = {"sku": ["exact"], "category": ["exact"], "is_active": ["exact"]}


class OrderFilter(django_filters.FilterSet):
    paid_after = django_filters.IsoDateTimeFilter(field_name="paid_at", lookup_expr="gte")
    paid_before = django_filters.IsoDateTimeFilter(field_name="paid_at", lookup_expr="lt")
    store = IdFilter(field_name="store_id")
    store_code = django_filters.CharFilter(field_name="store__code", label="Store code")
    member = IdFilter(field_name="member_id")
    member_phone = django_filters.CharFilter(method="filter_member_phone", label="Member's exact phone")
    sku = django_filters.CharFilter(method="filter_sku", label="Orders with a line of this SKU")

    class Meta:
        model = Order
        fields = {"external_id": ["exact"], "channel": ["exact"], "status": ["exact"]}

    def filter_member_phone(self, queryset, name, value):
        from members.selectors import phone_hash_or_none

        digest = phone_hash_or_none(value)
        return queryset.filter(member__phone_hash=digest) if digest else queryset.none()

    def filter_sku(self, queryset, name, value):
        # Through the product (brand + SKU is indexed), then its lines (product_id is indexed).
        principal = getattr(self.request, "principal", ANONYMOUS)
        products = Product.objects.for_principal(principal).filter(sku=value)
        lines = OrderLine.objects.filter(order=OuterRef("pk"), product__in=products)
        return queryset.filter(Exists(lines))
