"""Staff pages: catalogs (included at /shelves/catalogs/) and the brand's shelf settings
(/shelves/catalogs/settings/).

Every staff role reads catalogs; HQ changes them. The catalog page edits its items with
htmx: each add / remove / move / feature answers with the re-rendered item list partial
(without htmx, a redirect back to the page). Thin: reads through shelves.selectors.catalogs,
writes through shelves.services.catalogs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail import selectors as retail_selectors
from retail.errors import DomainError
from retail.forms import add_domain_errors

from .. import forms
from ..selectors import catalogs as selectors
from ..selectors import shelf_settings
from ..services import catalogs as services

NAV = {"nav_section": "shelves"}


def _catalog(request, catalog_id: int):
    catalog = selectors.catalog_for(principal=request.principal, catalog_id=catalog_id)
    if catalog is None:
        raise Http404
    return catalog


def _brand_id(request) -> int:
    brand_id = request.principal.brand_id
    if brand_id is None:  # a superuser acting for no brand has no catalogs to make
        raise Http404
    return brand_id


def _require_hq(request) -> None:
    if not services.may_manage_catalogs(request.principal):
        raise PermissionDenied


def _is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


# --- catalogs -----------------------------------------------------------------------------------


@login_required
@require_GET
def catalog_list(request):
    """The brand's catalogs (current, or archived with ?archived=1), products counted."""
    archived = request.GET.get("archived") == "1"
    return render(
        request,
        "shelves/catalogs/list.html",
        {
            **NAV,
            "catalogs": list(selectors.catalog_list(principal=request.principal, archived=archived)),
            "archived": archived,
            "may_manage": services.may_manage_catalogs(request.principal),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def catalog_new(request):
    """HQ makes a catalog; its products are added on its page."""
    brand_id = _brand_id(request)
    _require_hq(request)
    form = forms.CatalogForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            catalog = services.create_catalog(brand_id=brand_id, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request, _("Catalog “%(name)s” created: now add its products.") % {"name": catalog.name}
            )
            return redirect("shelves:catalog_detail", catalog_id=catalog.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "shelves/catalogs/form.html", {**NAV, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def catalog_detail(request, catalog_id: int):
    """One catalog: name and headline (HQ edits them here), its ordered items, the product
    search to add more, and archive."""
    catalog = _catalog(request, catalog_id)
    may_manage = services.may_manage_catalogs(request.principal) and not catalog.is_archived
    form = forms.CatalogForm(
        request.POST or None, initial={"name": catalog.name, "headline": catalog.headline}
    )
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.update_catalog(catalog=catalog, **form.cleaned_data)
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, _("Catalog saved."))
                return redirect("shelves:catalog_detail", catalog_id=catalog.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "shelves/catalogs/detail.html",
        {
            **NAV,
            "catalog": catalog,
            "items_page": selectors.catalog_items_page(catalog=catalog, page=request.GET.get("page") or 1),
            "form": form,
            "search_form": forms.ProductSearchForm(),
            "may_manage": may_manage,
            "may_archive": services.may_manage_catalogs(request.principal) and not catalog.is_archived,
        },
        status=status,
    )


@login_required
@require_GET
def catalog_products(request, catalog_id: int):
    """The product search of a catalog's page (htmx partial): active products not yet in it."""
    catalog = _catalog(request, catalog_id)
    _require_hq(request)
    search = forms.ProductSearchForm(request.GET or None)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    page = selectors.products_to_add(
        principal=request.principal, catalog=catalog, query=query, page=request.GET.get("page") or 1
    )
    return render(
        request,
        "shelves/catalogs/_products.html",
        {"catalog": catalog, "page": page, "query": query},
    )


def _items_answer(request, catalog_id: int, *, error: str = "", page: int | str = 1):
    # htmx swaps 2xx answers only, so a refused change answers 200 with its error shown
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        url = reverse("shelves:catalog_detail", kwargs={"catalog_id": catalog_id})
        return redirect(f"{url}?page={page}" if str(page) != "1" else url)
    catalog = _catalog(request, catalog_id)
    response = render(
        request,
        "shelves/catalogs/_items.html",
        {
            "catalog": catalog,
            "items_page": selectors.catalog_items_page(catalog=catalog, page=page),
            "may_manage": services.may_manage_catalogs(request.principal) and not catalog.is_archived,
            "error": error,
        },
    )
    # the product search drops what was added; after-swap, because the clicked "Add" row may
    # already have been replaced by a search refresh, and htmx then raises the event on body
    # (a plain HX-Trigger would fire on the detached row and never reach the listener)
    response["HX-Trigger-After-Swap"] = "shelves-items-changed"
    return response


@login_required
@require_GET
def catalog_items(request, catalog_id: int):
    """One page of the catalog's items (the htmx partial the pager swaps in; its links fall
    back to the catalog page's ?page= without htmx)."""
    catalog = _catalog(request, catalog_id)
    page = request.GET.get("page") or 1
    return render(
        request,
        "shelves/catalogs/_items.html",
        {
            "catalog": catalog,
            "items_page": selectors.catalog_items_page(catalog=catalog, page=page),
            "may_manage": services.may_manage_catalogs(request.principal) and not catalog.is_archived,
        },
    )


def _item_id(request) -> int | None:
    try:
        return int(request.POST.get("item", ""))
    except ValueError:
        return None


def _item_change(request, catalog_id: int, change, *, follow: str = "page") -> object:
    """Apply a change and answer with the item list's page: the page the form was on
    (`follow="page"`), the moved item's page ("item") or the last page, where an added
    product lands ("end")."""
    catalog = _catalog(request, catalog_id)
    _require_hq(request)
    page: int | str = request.POST.get("page") or 1
    try:
        change(catalog)
    except DomainError as exc:
        return _items_answer(request, catalog.pk, error=exc.message, page=page)
    if follow == "item":
        page = selectors.item_page_of(catalog=catalog, item_id=_item_id(request))
    elif follow == "end":
        page = 10**6  # clamped to the last page
    return _items_answer(request, catalog.pk, page=page)


@login_required
@require_POST
def item_add(request, catalog_id: int):
    """Append a product (POST product=<id>) at the end of the catalog."""

    def change(catalog):
        try:
            product_id = int(request.POST.get("product", ""))
        except ValueError:
            product_id = None
        product = (
            retail_selectors.products_for(principal=request.principal).filter(pk=product_id).first()
            if product_id
            else None
        )
        if product is None:
            raise DomainError("unknown_product", _("Choose a product of the brand."), status=400)
        services.add_item(catalog=catalog, product=product, featured=request.POST.get("featured") == "1")

    return _item_change(request, catalog_id, change, follow="end")


@login_required
@require_POST
def item_remove(request, catalog_id: int):
    """Take an item (POST item=<id>) out of the catalog."""
    return _item_change(
        request, catalog_id, lambda catalog: services.remove_item(catalog=catalog, item_id=_item_id(request))
    )


@login_required
@require_POST
def item_move(request, catalog_id: int):
    """Move an item (POST item=<id>, direction=up|down) a place."""
    return _item_change(
        request,
        catalog_id,
        lambda catalog: services.move_item(
            catalog=catalog, item_id=_item_id(request), direction=request.POST.get("direction", "")
        ),
        follow="item",
    )


@login_required
@require_POST
def item_feature(request, catalog_id: int):
    """Feature an item or stop featuring it (POST item=<id>, featured=1|0)."""
    return _item_change(
        request,
        catalog_id,
        lambda catalog: services.set_featured(
            catalog=catalog, item_id=_item_id(request), featured=request.POST.get("featured") == "1"
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def catalog_archive(request, catalog_id: int):
    """Archive a catalog (GET asks to confirm). Screens still assigned to it are listed."""
    catalog = _catalog(request, catalog_id)
    _require_hq(request)
    if request.method == "POST":
        services.archive_catalog(catalog=catalog)
        messages.success(request, _("The catalog is archived."))
        return redirect("shelves:catalog_list")
    screens = services.screens_showing(catalog_ids=[catalog.pk])
    return render(
        request,
        "shelves/catalogs/archive.html",
        {**NAV, "catalog": catalog, "screen_count": len(screens)},
    )


# --- settings -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """HQ's shelf settings: day/night hours, the online store's URL, the attribution window,
    and the Double-11 switch."""
    brand_id = _brand_id(request)
    _require_hq(request)
    current = shelf_settings(brand_id=brand_id)
    form = forms.ShelfSettingsForm.for_settings(request.POST or None, current)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_shelf_settings(brand_id=brand_id, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Shelf settings saved."))
            return redirect("shelves:settings")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "shelves/settings.html",
        {**NAV, "form": form, "settings": current},
        status=status,
    )


@login_required
@require_POST
def settings_double11(request):
    """Switch Double-11 mode on or off (POST on=1|0): every screen of the brand switches to
    its Double-11 catalog at once."""
    brand_id = _brand_id(request)
    _require_hq(request)
    on = request.POST.get("on") == "1"
    services.set_double11_mode(brand_id=brand_id, on=on)
    if on:
        messages.success(request, _("Double-11 mode is on: screens show their Double-11 catalog."))
    else:
        messages.success(request, _("Double-11 mode is off: screens follow the day and night hours."))
    return redirect("shelves:settings")


urlpatterns = [
    path("", catalog_list, name="catalog_list"),
    path("new/", catalog_new, name="catalog_new"),
    path("settings/", settings_page, name="settings"),
    path("settings/double11/", settings_double11, name="settings_double11"),
    path("<int:catalog_id>/", catalog_detail, name="catalog_detail"),
    path("<int:catalog_id>/products/", catalog_products, name="catalog_products"),
    path("<int:catalog_id>/items/", catalog_items, name="catalog_items"),
    path("<int:catalog_id>/items/add/", item_add, name="item_add"),
    path("<int:catalog_id>/items/remove/", item_remove, name="item_remove"),
    path("<int:catalog_id>/items/move/", item_move, name="item_move"),
    path("<int:catalog_id>/items/feature/", item_feature, name="item_feature"),
    path("<int:catalog_id>/archive/", catalog_archive, name="catalog_archive"),
]
