import django_filters

from ..models import Order, Product, Store


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

    class Meta:
        model = Order
        fields = {"external_id": ["exact"], "channel": ["exact"], "store": ["exact"], "member": ["exact"], "status": ["exact"]}
