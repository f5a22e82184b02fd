"""One rule for a store's stock of a product on every cloud-shelf surface: the kiosk card,
the scan page and the restocking hint. The store stocks a product when its stock row
(`retail.StoreStock`, pushed by the ERP) says at least `MIN_IN_STORE`; no row, 0 or a
negative count is "not stocked in this store" everywhere."""

from __future__ import annotations

from django.db.models import Q

MIN_IN_STORE = 1


def in_store(quantity: int | None) -> int | None:
    """The store's quantity to show, or None: not stocked in this store."""
    return quantity if quantity is not None and quantity >= MIN_IN_STORE else None


def stocked_rows() -> Q:
    """The StoreStock rows that count as stocked (for set-based reads such as the hints)."""
    return Q(quantity__gte=MIN_IN_STORE)
