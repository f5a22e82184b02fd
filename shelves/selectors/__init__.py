"""Reads of cloud shelves, one module per area (catalogs, screens, kiosk, stats).
`shelf_settings` is shared by all of them."""

from __future__ import annotations

from ..models import ShelfSettings


def shelf_settings(*, brand_id: int) -> ShelfSettings:
    """The brand's cloud-shelf settings (made with the defaults on first use)."""
    found, _created = ShelfSettings.objects.get_or_create(brand_id=brand_id)
    return found
