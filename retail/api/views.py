"""Partner API v1 for the core: stores, products, orders. Thin: validate, call a service."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from .. import services
from ..models import Order, Product, Store
from .base import PartnerAPIView, PartnerViewSet
from .filters import OrderFilter, ProductFilter, StoreFilter
from .serializers import OrderInSerializer, OrderSerializer, ProductSerializer, StoreSerializer


class StoreViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Stores of the token's brand."""

    scope_resource = "stores"
    queryset = Store.objects.all()
    serializer_class = StoreSerializer
    filterset_class = StoreFilter

    def create(self, request):
        data = self._valid(request.data)
        store = services.create_store(brand=self.principal.brand_id, **data)
        return Response(StoreSerializer(store).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        store = self.get_object()  # another brand's store is a 404 before any validation
        data = self._valid(request.data, partial=True)
        store = services.update_store(store=store, **data)
        return Response(StoreSerializer(store).data)

    def _valid(self, data, partial=False):
        serializer = StoreSerializer(data=data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's product master (SKUs)."""

    scope_resource = "products"
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def create(self, request):
        data = self._valid(request.data)
        product = services.create_product(brand=self.principal.brand_id, **data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        product = self.get_object()
        data = self._valid(request.data, partial=True)
        product = services.update_product(product=product, **data)
        return Response(ProductSerializer(product).data)

    def _valid(self, data, partial=False):
        serializer = ProductSerializer(data=data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The sales ledger: POS/ERP and online orders, with lines and attribution."""

    scope_resource = "orders"
    queryset = Order.objects.prefetch_related("lines")
    serializer_class = OrderSerializer
    filterset_class = OrderFilter

    @extend_schema(request=OrderInSerializer, responses={201: OrderSerializer})
    def create(self, request):
        serializer = OrderInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        order = services.record_order(brand=self.principal.brand_id, **serializer.validated_data)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


class PingView(PartnerAPIView):
    """Who am I: checks a token and answers with its brand and scopes (no other work)."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        principal = self.principal
        return Response(
            {
                "brand": principal.brand_id,
                "client": principal.api_client_id,
                "scopes": sorted(principal.scopes),
            }
        )
