"""Reads of catalogs: the brand's catalogs, one catalog with its ordered items, and the
products that could still be added to it. Every read is scoped by principal first."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from retail import selectors as retail_selectors
from retail.models import Product
from retail.tenancy import Principal

from ..models import Catalog, CatalogItem

PRODUCTS_PER_PAGE = 20
ITEMS_PER_PAGE = 100  # the catalog page lists a 500-product catalog in pages


def catalogs_for(*, principal: Principal) -> QuerySet[Catalog]:
    """The brand's catalogs (every staff role sees them; HQ changes them)."""
    return Catalog.objects.for_principal(principal)


def catalog_list(*, principal: Principal, archived: bool = False) -> QuerySet[Catalog]:
    """The catalog list page: current (or archived) catalogs by name, items counted."""
    return (
        catalogs_for(principal=principal)
        .filter(is_archived=archived)
        .annotate(item_count=Count("items"))
        .order_by("name", "pk")
    )


def assignable_catalogs(*, principal: Principal) -> QuerySet[Catalog]:
    """Catalogs a screen may show: the brand's, not archived, by name."""
    return catalogs_for(principal=principal).filter(is_archived=False).order_by("name", "pk")


def _ordered_items() -> Prefetch:
    return Prefetch(
        "items",
        queryset=CatalogItem.objects.select_related("product").order_by("position", "id"),
        to_attr="ordered_items",
    )


def catalogs_with_items(*, principal: Principal) -> QuerySet[Catalog]:
    """Catalogs with `ordered_items` (each with its product) prefetched: two queries."""
    return catalogs_for(principal=principal).prefetch_related(_ordered_items())


def catalog_with_items(*, principal: Principal, catalog_id: int) -> Catalog | None:
    """One catalog with `ordered_items` (product joined), or None when not visible."""
    return catalogs_with_items(principal=principal).filter(pk=catalog_id).first()


def catalog_for(*, principal: Principal, catalog_id: int) -> Catalog | None:
    """One catalog the principal may see, with `item_count` (its items are read page by
    page with `catalog_items_page`), or None."""
    return catalogs_for(principal=principal).annotate(item_count=Count("items")).filter(pk=catalog_id).first()


def catalog_items_page(*, catalog: Catalog, page: int | str = 1) -> retail_selectors.PageOf:
    """One page of the catalog's items in screen order, each with its product (one query);
    a page past the end reads as the last one."""
    total = getattr(catalog, "item_count", None)
    if total is None:
        total = CatalogItem.objects.filter(catalog=catalog).count()
    last = max(1, -(-total // ITEMS_PER_PAGE))
    try:
        number = min(max(1, int(page)), last)
    except (TypeError, ValueError):
        number = 1
    qs = (
        CatalogItem.objects.filter(catalog=catalog, brand_id=catalog.brand_id)
        .select_related("product")
        .order_by("position", "id")
    )
    return retail_selectors.page_of(qs, page=number, per_page=ITEMS_PER_PAGE)


def item_page_of(*, catalog: Catalog, item_id: int | None) -> int:
    """The page of the catalog's item list an item is on (1 when it is gone)."""
    position = (
        CatalogItem.objects.filter(catalog=catalog, pk=item_id).values_list("position", flat=True).first()
        if item_id
        else None
    )
    return 1 if position is None else position // ITEMS_PER_PAGE + 1


def catalog_items(*, catalog: Catalog) -> list[CatalogItem]:
    """The catalog's items in order, each with its product (one query)."""
    return list(
        CatalogItem.objects.filter(catalog=catalog, brand_id=catalog.brand_id)
        .select_related("product")
        .order_by("position", "id")
    )


def products_to_add(
    *, principal: Principal, catalog: Catalog, query: str = "", page: int | str = 1
) -> retail_selectors.PageOf:
    """Active products of the brand not yet in the catalog, matching `query` (SKU or name,
    case-insensitive), by SKU, one page."""
    qs = (
        Product.objects.for_principal(principal)
        .filter(brand_id=catalog.brand_id, is_active=True)
        .exclude(pk__in=CatalogItem.objects.filter(catalog=catalog).values("product_id"))
        .only("id", "sku", "name", "price", "image_url", "category")
        .order_by("sku", "pk")
    )
    query = (query or "").strip()
    if query:
        qs = qs.filter(Q(sku__icontains=query) | Q(name__icontains=query))
    return retail_selectors.page_of(qs, page=page, per_page=PRODUCTS_PER_PAGE)
