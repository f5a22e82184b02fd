"""Reads of the kiosk page of a screen (/shelf/<token>/): which catalog is on now, the payload
the page rotates through, and whether a product may have a QR code on a screen.

The token is the capability: these reads are not scoped by a principal but by the screen the
token names, and everything they return belongs to that screen's brand (a catalog or product
of another brand, assigned by a bad row, is left out).

Caching (Django cache, Redis in production):
- the screen looked up by token, `SCREEN_TTL` seconds. Retiring a screen or reassigning its
  catalogs takes effect within that time even when nothing invalidates it; a push to the
  screen (shelves.push.notify_screens) drops it at once (the kiosk consumer forgets it before
  telling the page to refetch), and so does a heartbeat (which reads the screen fresh).
- the payload, keyed by catalog id + catalog version + store + slot (+ the screen and its
  `updated_at`, because the payload carries the screen's name and QR links, + the host the
  QR links point at), `PAYLOAD_TTL` seconds. A catalog change bumps the version, so it never
  serves an old catalog; the short TTL is for what the version does not cover: product prices,
  names and images and the store's and the online stock, which change without the catalog."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils import timezone

from retail.models import StoreStock

from ..choices import ScreenStatus, Slot
from ..models import CatalogItem, Screen, ShelfSettings
from ..stock import in_store

SCREEN_TTL = 10  # seconds: how stale a retire / reassignment may be without a push
PAYLOAD_TTL = 60  # seconds: how stale prices and stock may be
QR_TTL = 3600
CACHE_PREFIX = "shelves:kiosk"


@dataclass(frozen=True)
class KioskCatalog:
    id: int
    version: int
    name: str
    headline: str


@dataclass(frozen=True)
class KioskScreen:
    """What the kiosk needs of a screen, small enough to cache."""

    id: int
    token: str
    brand_id: int
    store_id: int
    store_name: str
    name: str
    status: str
    device_id: int | None
    scan_code: str
    rotate_seconds: int
    updated_at: str
    day_starts_at: dt.time
    night_starts_at: dt.time
    double11_on: bool
    catalogs: dict[str, KioskCatalog] = field(default_factory=dict)  # slot → catalog

    @property
    def retired(self) -> bool:
        return self.status == ScreenStatus.RETIRED

    @property
    def catalog_ids(self) -> list[int]:
        return sorted({c.id for c in self.catalogs.values()})


def _screen_key(token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()[:32]  # tokens are secrets: not in key names
    return f"{CACHE_PREFIX}:screen:{digest}"


def _load_screen(token: str) -> KioskScreen | None:
    """One query: the screen with its store, catalogs and the brand's shelf settings."""
    screen = (
        Screen.objects.select_related(
            "store", "day_catalog", "night_catalog", "double11_catalog", "brand__shelf_settings"
        )
        .filter(token=token)
        .first()
    )
    if screen is None:
        return None
    try:
        shelf = screen.brand.shelf_settings
    except ShelfSettings.DoesNotExist:
        shelf = ShelfSettings(brand_id=screen.brand_id)  # the defaults, not written on a read
    catalogs = {}
    for slot, catalog in (
        (Slot.DAY, screen.day_catalog),
        (Slot.NIGHT, screen.night_catalog),
        (Slot.DOUBLE11, screen.double11_catalog),
    ):
        # another brand's catalog (a bad row) or an archived one is never shown
        if catalog is not None and catalog.brand_id == screen.brand_id and not catalog.is_archived:
            catalogs[str(slot)] = KioskCatalog(catalog.pk, catalog.version, catalog.name, catalog.headline)
    return KioskScreen(
        id=screen.pk,
        token=screen.token,
        brand_id=screen.brand_id,
        store_id=screen.store_id,
        store_name=screen.store.name,
        name=screen.name,
        status=screen.status,
        device_id=screen.device_id,
        scan_code=screen.scan_code,
        rotate_seconds=screen.rotate_seconds,
        updated_at=screen.updated_at.isoformat(),
        day_starts_at=shelf.day_starts_at,
        night_starts_at=shelf.night_starts_at,
        double11_on=shelf.double11_on,
        catalogs=catalogs,
    )


def screen_for_token(token: str, *, fresh: bool = False) -> KioskScreen | None:
    """The screen a kiosk token names (cached `SCREEN_TTL` s; `fresh` reads the database and
    refreshes the cache). None for an unknown token (remembered too, briefly)."""
    if not token or len(token) > 64:
        return None
    key = _screen_key(token)
    if not fresh:
        found = cache.get(key)
        if found is not None:
            return found or None  # False: known to be unknown
    screen = _load_screen(token)
    cache.set(key, screen or False, SCREEN_TTL)
    return screen


def forget_screen(token: str) -> None:
    cache.delete(_screen_key(token))


async def aforget_screen(token: str) -> None:
    await cache.adelete(_screen_key(token))


# --- which catalog is on ------------------------------------------------------------------------


def is_daytime(local: dt.time, *, day_starts_at: dt.time, night_starts_at: dt.time) -> bool:
    """Daytime runs from day_starts_at to night_starts_at; either may wrap past midnight."""
    if day_starts_at == night_starts_at:
        return True  # no night-time at all
    if day_starts_at < night_starts_at:
        return day_starts_at <= local < night_starts_at
    return local >= day_starts_at or local < night_starts_at


def current_slot(screen: KioskScreen, *, now: dt.datetime | None = None, double11: bool | None = None) -> str:
    """The slot on now: Double-11 when the mode is on and the screen has a Double-11
    catalog; else daytime or night-time by the brand's hours in local time (settings.TIME_ZONE).
    `double11` overrides the brand's mode (what the screen would show were it on / off)."""
    on = screen.double11_on if double11 is None else double11
    if on and Slot.DOUBLE11 in screen.catalogs:
        return Slot.DOUBLE11
    local = timezone.localtime(now or timezone.now()).time()
    if is_daytime(local, day_starts_at=screen.day_starts_at, night_starts_at=screen.night_starts_at):
        return Slot.DAY
    return Slot.NIGHT


def slot_shown(screen: KioskScreen, *, preview: str | None = None, now: dt.datetime | None = None) -> str:
    """The slot whose catalog is on the screen: the real screen's (no `preview`), or the one a
    staff preview tab asks for, worked out by the same rule so a preview is exactly what the
    screen shows: "double11" is what the screen shows in Double-11 mode (its Double-11
    catalog, or without one the day / night slot of the hour), "day" and "night" are those
    slots (night-time falling back to the daytime catalog, see `catalog_for_slot`)."""
    if not preview:
        return current_slot(screen, now=now)
    if preview == Slot.DOUBLE11:
        return current_slot(screen, now=now, double11=True)
    return str(Slot(preview))


def catalog_for_slot(screen: KioskScreen, slot: str) -> KioskCatalog | None:
    """The catalog shown in a slot: night-time falls back to the daytime catalog; None when
    there is nothing to show."""
    catalog = screen.catalogs.get(str(slot))
    if catalog is None and slot == Slot.NIGHT:
        catalog = screen.catalogs.get(str(Slot.DAY))
    return catalog


def payload_version(screen: KioskScreen, slot: str) -> str:
    """What the page compares with the heartbeat's answer: changes with the slot, the
    catalog, its version and the screen."""
    catalog = catalog_for_slot(screen, slot)
    stamp = hashlib.sha1(screen.updated_at.encode()).hexdigest()[:8]
    return f"{slot}.{catalog.id}.{catalog.version}.{stamp}" if catalog else f"{slot}.none.{stamp}"


# --- the payload --------------------------------------------------------------------------------


def _items(screen: KioskScreen, catalog: KioskCatalog) -> list[dict]:
    """Two queries: the catalog's items with their products, then the store's stock of them."""
    rows = list(
        CatalogItem.objects.filter(
            catalog_id=catalog.id,
            brand_id=screen.brand_id,
            product__brand_id=screen.brand_id,
            product__is_active=True,
        )
        .order_by("-featured", "position", "id")
        .values_list(
            "product_id",
            "product__name",
            "product__sku",
            "product__price",
            "product__image_url",
            "product__online_stock",
            "featured",
        )
    )
    stock = {}
    if rows:
        stock = dict(
            StoreStock.objects.filter(
                store_id=screen.store_id, brand_id=screen.brand_id, product_id__in=[r[0] for r in rows]
            ).values_list("product_id", "quantity")
        )
    return [
        {
            "id": pid,
            "name": name,
            "sku": sku,
            "price": f"{price:.2f}",
            "currency": "CNY",
            "image_url": image_url or None,
            "online_stock": online_stock,
            "store_stock": in_store(stock.get(pid)),  # None: "Not stocked in this store"
            "featured": featured,
        }
        for pid, name, sku, price, image_url, online_stock, featured in rows
    ]


def kiosk_payload(
    screen: KioskScreen,
    *,
    slot: str | None = None,
    qr_url,
    scan_url,
    host: str = "",
    now: dt.datetime | None = None,
) -> bytes:
    """The kiosk page's JSON, encoded (cached `PAYLOAD_TTL` s, see the module docstring).
    `qr_url(product_id)` and `scan_url(product_id)` make the per-product links; items come
    featured first, then in catalog order. `slot` is a preview's tab (see `slot_shown`); the
    payload's "slot" is the one actually shown."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    slot = str(slot_shown(screen, preview=slot, now=now))
    catalog = catalog_for_slot(screen, slot)
    host_hash = hashlib.sha1(host.encode()).hexdigest()[:8]
    key = (
        f"{CACHE_PREFIX}:payload:{catalog.id if catalog else 'none'}:{catalog.version if catalog else 0}:"
        f"{screen.store_id}:{slot}:{screen.id}:{hashlib.sha1(screen.updated_at.encode()).hexdigest()[:8]}:"
        f"{host_hash}"
    )
    cached = cache.get(key)
    if cached is not None:
        return cached
    items = _items(screen, catalog) if catalog else []
    for item in items:
        item["qr"] = qr_url(item["id"])
        item["scan_url"] = scan_url(item["id"])
    body = {
        "version": payload_version(screen, slot),
        "screen": {"id": screen.id, "name": screen.name},
        "store": {"id": screen.store_id, "name": screen.store_name},
        "slot": slot,
        "catalog": (
            {"id": catalog.id, "version": catalog.version, "headline": catalog.headline, "name": catalog.name}
            if catalog
            else None
        ),
        "rotate_seconds": screen.rotate_seconds,
        "items": items,
        "empty": not items,
        "generated_at": timezone.now(),
    }
    encoded = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
    cache.set(key, encoded, PAYLOAD_TTL)
    return encoded


def product_on_screen(screen: KioskScreen, product_id: int) -> bool:
    """Whether a product is in one of the screen's catalogs (of the screen's brand)."""
    if not screen.catalog_ids:
        return False
    return CatalogItem.objects.filter(
        catalog_id__in=screen.catalog_ids,
        brand_id=screen.brand_id,
        product_id=product_id,
        product__brand_id=screen.brand_id,
    ).exists()


def screen_product_ids(screen: KioskScreen, product_ids) -> set[int]:
    """Of the given product ids, those in one of the screen's catalogs."""
    if not screen.catalog_ids or not product_ids:
        return set()
    return set(
        CatalogItem.objects.filter(
            catalog_id__in=screen.catalog_ids,
            brand_id=screen.brand_id,
            product_id__in=list(product_ids),
            product__brand_id=screen.brand_id,
        ).values_list("product_id", flat=True)
    )


def qr_code_svg(screen: KioskScreen, product_id: int, *, url: str) -> bytes | None:
    """The SVG QR code (segno) of a product's scan URL on the screen, cached `QR_TTL` s;
    None when the product is not in one of the screen's catalogs (checked on a miss)."""
    key = f"{CACHE_PREFIX}:qr:{screen.id}:{product_id}:{hashlib.sha1(url.encode()).hexdigest()[:12]}"
    svg = cache.get(key)
    if svg is None:
        if not product_on_screen(screen, product_id):
            return None
        import io

        import segno

        out = io.BytesIO()
        segno.make(url, error="m").save(out, kind="svg", scale=10, border=2, xmldecl=False, svgns=True)
        svg = out.getvalue()
        cache.set(key, svg, QR_TTL)
    return svg


def may_preview(principal, screen_id: int) -> bool:
    """Staff who may see the screen (their brand, their stores) may preview its slots."""
    if principal is None or not principal.is_authenticated:
        return False
    return Screen.objects.for_principal(principal).filter(pk=screen_id).exists()
