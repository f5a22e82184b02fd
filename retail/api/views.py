"""Partner API v1 for the core: stores, products, orders. Thin: validate, call a service."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..models import Order, Product, Store, StoreStock
from .base import PartnerAPIView, PartnerViewSet
from .filters import OrderFilter, ProductFilter, StoreFilter
from .serializers import (
    OrderInSerializer,
    OrderSerializer,
    ProductSerializer,
    StockInSerializer,
    StockSerializer,
    StockWrittenSerializer,
    StoreSerializer,
)


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

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: StockSerializer(many=True)},
        summary="A store's stock levels",
    )
    @extend_schema(
        methods=["POST"],
        request=StockInSerializer,
        responses={200: StockWrittenSerializer},
        summary="Set a store's stock levels (up to 1,000 products per call)",
    )
    @action(detail=True, methods=["get", "post"], url_path="stock")
    def stock(self, request, pk=None):
        """Stock on hand in the store, per product (cloud-shelf screens show it). POST sets the
        levels of the products listed (other products keep theirs); a repeat is harmless."""
        store = self.get_object()  # another brand's store is a 404 before any validation
        if request.method == "GET":
            rows = StoreStock.objects.filter(store=store).select_related("product")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(StockSerializer(page, many=True).data)
        serializer = StockInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["items"]
        written = services.set_store_stock(
            store=store, quantities={item["product"]: item["quantity"] for item in items}
        )
        return Response({"written": written})

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
