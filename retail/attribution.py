"""Attribution of sales to what brought them in, resolved when an order is recorded.

An order may carry an attribution token (a shopper scanned a cloud-shelf QR code, followed a
guide's share link, ...). The core does not know what made the token: apps above it register
a resolver for their token prefix in AppConfig.ready(), and `record_order` asks `resolve`.
A token that cannot be honoured never loses the order: it is stored without attribution and
the answer says why (unknown, expired, foreign).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _


class Status:
    ATTRIBUTED = "attributed"
    UNKNOWN = "unknown"  # not a token anybody made (bad format, bad signature, no such scan)
    EXPIRED = "expired"  # made by us, but older than the attribution window
    FOREIGN = "foreign"  # made for another brand: never attributed, never revealed as such


@dataclass(frozen=True)
class Attribution:
    status: str
    message: str
    source: str = ""  # e.g. "shelf_scan"
    store_id: int | None = None
    guide_id: int | None = None
    shelf_scan_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)  # e.g. {"screen": 7, "product": 3}

    @property
    def ok(self) -> bool:
        return self.status == Status.ATTRIBUTED

    def as_record(self) -> dict[str, Any]:
        """What the order keeps (Order.attribution) and the API shows."""
        record: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.source:
            record["source"] = self.source
        if self.ok:
            record.update(store=self.store_id, guide=self.guide_id, shelf_scan=self.shelf_scan_id)
            record.update(self.details)
        return record


# resolver(brand_id, token, at) → Attribution
Resolver = Callable[[int, str, datetime], Attribution]
_resolvers: dict[str, Resolver] = {}


def register(prefix: str, resolver: Resolver) -> None:
    """Tokens that start with `prefix` + "." are resolved by `resolver`."""
    _resolvers[prefix] = resolver


def unknown() -> Attribution:
    return Attribution(
        Status.UNKNOWN, _("The attribution token is not known; the order is stored without attribution.")
    )


def resolve(*, brand_id: int, token: str, at: datetime) -> Attribution:
    prefix, _sep, _rest = (token or "").partition(".")
    resolver = _resolvers.get(prefix)
    if resolver is None:
        return unknown()
    return resolver(brand_id, token, at)
