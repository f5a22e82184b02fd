"""The catalog API (`shelves:read` / `shelves:write`): the brand's cloud-shelf catalogs with
their ordered items.

    GET   /api/v1/shelf-catalogs/?is_archived=false
    GET   /api/v1/shelf-catalogs/{id}/
    POST  /api/v1/shelf-catalogs/          {"name", "headline", "items": [{"product" | "sku", "featured"}]}
    PATCH /api/v1/shelf-catalogs/{id}/     any of name, headline; "items" replaces the list
"""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from retail.api.base import PartnerViewSet

from ..models import Catalog, CatalogItem
from ..services import catalogs as services
from .serializers import CatalogInSerializer, CatalogSerializer, CatalogUpdateSerializer


class CatalogFilter(django_filters.FilterSet):
    class Meta:
        model = Catalog
        fields = ["is_archived", "name"]


class CatalogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's catalogs, newest first, each with its items in screen order."""

    scope_resource = "shelves"
    queryset = Catalog.objects.prefetch_related(
        Prefetch(
            "items",
            queryset=CatalogItem.objects.select_related("product").order_by("position", "id"),
            to_attr="ordered_items",
        )
    )
    serializer_class = CatalogSerializer
    filterset_class = CatalogFilter

    def _fresh(self, pk: int) -> Catalog:
        return self.get_queryset().get(pk=pk)

    @extend_schema(request=CatalogInSerializer, responses={201: CatalogSerializer})
    def create(self, request):
        serializer = CatalogInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        catalog = services.create_catalog(brand_id=self.principal.brand_id, **serializer.validated_data)
        return Response(CatalogSerializer(self._fresh(catalog.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CatalogUpdateSerializer, responses={200: CatalogSerializer})
    def partial_update(self, request, pk=None):
        catalog = self.get_object()  # another brand's catalog is a 404 before any validation
        serializer = CatalogUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():  # details and items change together, or not at all
            if "name" in data or "headline" in data:
                catalog = services.update_catalog(
                    catalog=catalog, name=data.get("name"), headline=data.get("headline")
                )
            if "items" in data:
                catalog = services.set_catalog_items(catalog=catalog, items=data["items"])
        return Response(CatalogSerializer(self._fresh(catalog.pk)).data)
