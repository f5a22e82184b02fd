"""Catalogs (HQ curates them) and the brand's shelf settings.

Every change to a catalog runs in one transaction holding the catalog's row lock, bumps
`Catalog.version` (kiosk payload caches are keyed by it), is audited, publishes
`shelf.catalog_changed` and pushes a refresh to the active screens showing the catalog.
Who may call them (HQ only) is the caller's check: `may_manage_catalogs`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import time
from string import Formatter
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit, events
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.models import Product
from retail.tenancy import Principal

from .. import push
from ..choices import ScreenStatus
from ..models import Catalog, CatalogItem, Screen, ShelfSettings

MAX_ITEMS = 1000  # a flagship catalog is ~500 products; the payload is cached (selectors.kiosk)
MAX_ATTRIBUTION_DAYS = 90
URL_FIELDS = frozenset({"sku", "token"})


def may_manage_catalogs(principal: Principal) -> bool:
    """Catalogs and shelf settings are brand-wide: HQ (and superusers) change them."""
    return principal.is_superuser or (principal.brand_id is not None and principal.role == Role.HQ_ADMIN)


# --- helpers ------------------------------------------------------------------------------------


def screens_showing(*, catalog_ids: Iterable[int]) -> list[int]:
    """Ids of the active screens whose day, night or Double-11 catalog is one of these."""
    ids = list(catalog_ids)
    if not ids:
        return []
    qs = Screen.objects.filter(status=ScreenStatus.ACTIVE)
    found: set[int] = set()
    for field in ("day_catalog_id", "night_catalog_id", "double11_catalog_id"):
        found.update(qs.filter(**{f"{field}__in": ids}).values_list("id", flat=True))
    return sorted(found)


def _lock(catalog: Catalog, *, allow_archived: bool = False) -> Catalog:
    locked = Catalog.objects.select_for_update().get(pk=catalog.pk)
    if locked.is_archived and not allow_archived:
        raise Conflict("archived", _("The catalog is archived; it can no longer be changed."))
    return locked


def _changed(catalog: Catalog, *, before: dict | None, message: str, reason: str = "catalog") -> None:
    """Bump the version, audit, publish and push; call inside the change's transaction."""
    Catalog.objects.filter(pk=catalog.pk).update(version=F("version") + 1, updated_at=timezone.now())
    catalog.refresh_from_db(fields=["version", "updated_at", "name", "headline", "is_archived"])
    after = audit.snapshot(catalog)
    after["items"] = _item_summary(catalog)
    audit.record(AuditAction.UPDATE, catalog, before=before, after=after, message=message)
    events.publish(
        "shelf.catalog_changed", brand=catalog.brand_id, catalog=catalog.pk, version=catalog.version
    )
    push.notify_screens(screens_showing(catalog_ids=[catalog.pk]), reason=reason)


def _item_summary(catalog: Catalog) -> list[list[Any]]:
    return [
        [product_id, featured]
        for product_id, featured in CatalogItem.objects.filter(catalog=catalog)
        .order_by("position", "id")
        .values_list("product_id", "featured")
    ]


def _snapshot(catalog: Catalog) -> dict:
    data = audit.snapshot(catalog)
    data["items"] = _item_summary(catalog)
    return data


def _product_ids(values: Sequence[Any]) -> list[int]:
    return [v.pk if isinstance(v, Product) else int(v) for v in values]


def _check_products(brand_id: int, product_ids: Sequence[int], *, field: str = "items") -> None:
    """Every product is the brand's and active; none twice."""
    if len(set(product_ids)) != len(product_ids):
        raise InvalidInput(
            "duplicate_product",
            _("A product can be in a catalog only once."),
            fields={field: [_("A product is listed twice.")]},
        )
    if len(product_ids) > MAX_ITEMS:
        raise InvalidInput(
            "too_many_items",
            _("A catalog holds at most %(n)d products.") % {"n": MAX_ITEMS},
            fields={field: [_("Too many products.")]},
        )
    found = set(
        Product.objects.filter(brand_id=brand_id, pk__in=product_ids, is_active=True).values_list(
            "pk", flat=True
        )
    )
    missing = [pk for pk in product_ids if pk not in found]
    if missing:
        raise InvalidInput(
            "unknown_product",
            _("Only active products of the brand can be shown on shelves."),
            fields={
                field: [_("Unknown or inactive product: %(ids)s.") % {"ids": ", ".join(map(str, missing))}]
            },
        )


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("invalid", _("A catalog needs a name."), fields={"name": [_("Required.")]})
    if len(name) > 120:
        raise InvalidInput(
            "invalid", _("The name is too long."), fields={"name": [_("At most 120 characters.")]}
        )
    return name


def _clean_headline(headline: str) -> str:
    headline = (headline or "").strip()
    if len(headline) > 200:
        raise InvalidInput(
            "invalid", _("The headline is too long."), fields={"headline": [_("At most 200 characters.")]}
        )
    return headline


def _duplicate_name() -> Conflict:
    return Conflict(
        "duplicate_name",
        _("The brand already has a catalog with this name."),
        fields={"name": [_("Already taken.")]},
    )


# --- catalogs -----------------------------------------------------------------------------------


def create_catalog(
    *, brand_id: int, name: str, headline: str = "", items: Sequence[dict] | None = None
) -> Catalog:
    """A new catalog of the brand (name unique per brand), optionally with its items
    ([{"product": Product or id, "featured": bool}], in order). Audited; publishes
    `shelf.catalog_changed` at version 1."""
    name, headline = _clean_name(name), _clean_headline(headline)
    items = list(items or [])
    product_ids = _product_ids([item["product"] for item in items])
    _check_products(brand_id, product_ids)
    try:
        with transaction.atomic():
            catalog = Catalog.objects.create(brand_id=brand_id, name=name, headline=headline)
            _write_items(catalog, product_ids, [bool(item.get("featured")) for item in items])
            audit.record(AuditAction.CREATE, catalog, after=_snapshot(catalog))
            events.publish(
                "shelf.catalog_changed", brand=brand_id, catalog=catalog.pk, version=catalog.version
            )
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return catalog


def update_catalog(*, catalog: Catalog, name: str | None = None, headline: str | None = None) -> Catalog:
    """Rename the catalog or change its headline."""
    try:
        with transaction.atomic():
            locked = _lock(catalog)
            before = _snapshot(locked)
            if name is not None:
                locked.name = _clean_name(name)
            if headline is not None:
                locked.headline = _clean_headline(headline)
            locked.save(update_fields=["name", "headline", "updated_at"])
            _changed(locked, before=before, message="catalog details changed")
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return locked


def _write_items(catalog: Catalog, product_ids: Sequence[int], featured: Sequence[bool]) -> None:
    CatalogItem.objects.bulk_create(
        CatalogItem(brand_id=catalog.brand_id, catalog=catalog, product_id=pk, position=i, featured=f)
        for i, (pk, f) in enumerate(zip(product_ids, featured, strict=True))
    )


def set_catalog_items(*, catalog: Catalog, items: Sequence[dict]) -> Catalog:
    """Replace the catalog's items with these ([{"product": Product or id, "featured": bool}],
    in order; positions become 0..n-1)."""
    items = list(items)
    product_ids = _product_ids([item["product"] for item in items])
    _check_products(catalog.brand_id, product_ids)
    with transaction.atomic():
        locked = _lock(catalog)
        before = _snapshot(locked)
        CatalogItem.objects.filter(catalog=locked).delete()
        _write_items(locked, product_ids, [bool(item.get("featured")) for item in items])
        _changed(locked, before=before, message="catalog items replaced")
    return locked


def add_item(*, catalog: Catalog, product: Product, featured: bool = False) -> CatalogItem:
    """Append one product at the end of the catalog."""
    _check_products(catalog.brand_id, [product.pk], field="product")
    with transaction.atomic():
        locked = _lock(catalog)
        if CatalogItem.objects.filter(catalog=locked, product=product).exists():
            raise Conflict(
                "duplicate_product",
                _("The product is already in the catalog."),
                fields={"product": [_("Already in the catalog.")]},
            )
        count = CatalogItem.objects.filter(catalog=locked).count()
        if count >= MAX_ITEMS:
            raise InvalidInput(
                "too_many_items",
                _("A catalog holds at most %(n)d products.") % {"n": MAX_ITEMS},
                fields={"product": [_("Too many products.")]},
            )
        before = _snapshot(locked)
        item = CatalogItem.objects.create(
            brand_id=locked.brand_id, catalog=locked, product=product, position=count, featured=featured
        )
        _changed(locked, before=before, message="catalog item added")
    return item


def _item(locked: Catalog, item_id: int) -> CatalogItem:
    item = CatalogItem.objects.filter(catalog=locked, pk=item_id).first()
    if item is None:
        raise InvalidInput(
            "unknown_item", _("The item is not in this catalog."), fields={"item": [_("Not found.")]}
        )
    return item


def _renumber(catalog: Catalog, ordered_ids: Sequence[int]) -> None:
    rows = []
    for position, item_id in enumerate(ordered_ids):
        rows.append(CatalogItem(pk=item_id, position=position))
    CatalogItem.objects.bulk_update(rows, ["position"])


def remove_item(*, catalog: Catalog, item_id: int) -> Catalog:
    """Take one item out; the ones after it move up."""
    with transaction.atomic():
        locked = _lock(catalog)
        before = _snapshot(locked)
        _item(locked, item_id).delete()
        ids = list(
            CatalogItem.objects.filter(catalog=locked).order_by("position", "id").values_list("id", flat=True)
        )
        _renumber(locked, ids)
        _changed(locked, before=before, message="catalog item removed")
    return locked


def move_item(*, catalog: Catalog, item_id: int, direction: str) -> Catalog:
    """Move one item a place up or down (at either end: no change, no new version)."""
    if direction not in ("up", "down"):
        raise InvalidInput("invalid", _("Move up or down."), fields={"direction": [_("Up or down.")]})
    with transaction.atomic():
        locked = _lock(catalog)
        item = _item(locked, item_id)
        ids = list(
            CatalogItem.objects.filter(catalog=locked).order_by("position", "id").values_list("id", flat=True)
        )
        at = ids.index(item.pk)
        to = at - 1 if direction == "up" else at + 1
        if to < 0 or to >= len(ids):
            return locked
        before = _snapshot(locked)
        ids[at], ids[to] = ids[to], ids[at]
        _renumber(locked, ids)
        _changed(locked, before=before, message=f"catalog item moved {direction}")
    return locked


def set_featured(*, catalog: Catalog, item_id: int, featured: bool) -> CatalogItem:
    """Feature an item (a larger card on the screens) or stop featuring it."""
    with transaction.atomic():
        locked = _lock(catalog)
        item = _item(locked, item_id)
        if item.featured == featured:
            return item
        before = _snapshot(locked)
        item.featured = featured
        item.save(update_fields=["featured"])
        _changed(
            locked, before=before, message="catalog item featured" if featured else "catalog item unfeatured"
        )
    return item


def archive_catalog(*, catalog: Catalog) -> Catalog:
    """Archive a catalog: it can no longer be changed nor assigned; screens that still show
    it are told to refresh (the kiosk treats an archived catalog as none). A repeat is a no-op."""
    with transaction.atomic():
        locked = _lock(catalog, allow_archived=True)
        if locked.is_archived:
            return locked
        before = _snapshot(locked)
        locked.is_archived = True
        locked.save(update_fields=["is_archived", "updated_at"])
        _changed(locked, before=before, message="catalog archived")
    return locked


# --- settings -----------------------------------------------------------------------------------


def _settings_locked(brand_id: int) -> ShelfSettings:
    ShelfSettings.objects.get_or_create(brand_id=brand_id)
    return ShelfSettings.objects.select_for_update().get(brand_id=brand_id)


def brand_screen_ids(*, brand_id: int) -> list[int]:
    """The brand's active screens."""
    return list(
        Screen.objects.filter(brand_id=brand_id, status=ScreenStatus.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )


def validate_buy_url_template(template: str) -> str:
    """Blank (the shop is not linked) or an http(s) URL with a {token} placeholder; {sku} and
    {token} are the only placeholders."""
    template = (template or "").strip()
    if not template:
        return ""

    def refuse(message: str):
        raise InvalidInput("invalid", message, fields={"buy_url_template": [message]})

    if len(template) > 500:
        refuse(_("At most 500 characters."))
    if not template.startswith(("https://", "http://")):
        refuse(_("The URL must start with https:// or http://."))
    try:
        names = {name for _text, name, _spec, _conv in Formatter().parse(template) if name is not None}
    except ValueError:
        refuse(_("The URL has an unmatched brace."))
    if "token" not in names:
        refuse(_("The URL must contain {token}, so orders can be attributed to the scan."))
    unknown = names - URL_FIELDS
    if unknown:
        refuse(_("Only {sku} and {token} can be filled in."))
    return template


def update_shelf_settings(
    *,
    brand_id: int,
    day_starts_at: time,
    night_starts_at: time,
    buy_url_template: str,
    attribution_days: int,
) -> ShelfSettings:
    """Change the brand's day/night hours, buy URL and attribution window. Audited; the
    brand's screens are told to refresh (the slot may have changed)."""
    errors: dict[str, list[str]] = {}
    if day_starts_at == night_starts_at:
        errors["night_starts_at"] = [_("Night-time must start at another time than daytime.")]
    if not isinstance(attribution_days, int) or not 1 <= attribution_days <= MAX_ATTRIBUTION_DAYS:
        errors["attribution_days"] = [_("Between 1 and %(n)d days.") % {"n": MAX_ATTRIBUTION_DAYS}]
    try:
        buy_url_template = validate_buy_url_template(buy_url_template)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidInput("invalid", _("The settings have invalid fields."), fields=errors)
    with transaction.atomic():
        found = _settings_locked(brand_id)
        before = audit.snapshot(found)
        found.day_starts_at, found.night_starts_at = day_starts_at, night_starts_at
        found.buy_url_template, found.attribution_days = buy_url_template, attribution_days
        found.save()
        audit.record(AuditAction.UPDATE, found, before=before, after=audit.snapshot(found))
        push.notify_screens(brand_screen_ids(brand_id=brand_id), reason="settings")
    return found


def set_double11_mode(*, brand_id: int, on: bool) -> ShelfSettings:
    """Switch the brand's screens into (or out of) Double-11 mode: each shows its Double-11
    catalog. Public for campaigns (promotions). Publishes `shelf.double11_switched` and
    pushes to every active screen of the brand; a repeat of the current mode is a no-op."""
    with transaction.atomic():
        found = _settings_locked(brand_id)
        if found.double11_on == on:
            return found
        before = audit.snapshot(found)
        found.double11_on = on
        found.double11_switched_at = timezone.now()
        found.save(update_fields=["double11_on", "double11_switched_at", "updated_at"])
        audit.record(
            AuditAction.UPDATE,
            found,
            before=before,
            after=audit.snapshot(found),
            message="Double-11 mode on" if on else "Double-11 mode off",
        )
        events.publish("shelf.double11_switched", brand=brand_id, on=on)
        push.notify_screens(brand_screen_ids(brand_id=brand_id), reason="double11")
    return found
