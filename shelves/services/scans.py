"""Scans (the Double-11 evening hot path) and the attribution tokens they hand out.

A token is "sh1.<scan id, base 36>:<signature>" (django.core.signing, salted): it cannot be
forged, carries no brand, and resolves (retail.attribution) to the scan's store, screen,
product and zone guide while the brand's attribution window lasts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core import signing
from django.utils.translation import gettext as _

from retail.attribution import Attribution, Status, unknown

from ..models import Scan
from ..selectors import shelf_settings

TOKEN_PREFIX = "sh1"
_SALT = "shelves.scan-token"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def scan_code(screen_scan_code: str, product_id: int) -> str:
    """The code in a product's QR URL on a screen: /s/<screen scan_code>-<product id, base 36>."""
    return f"{screen_scan_code}-{_base36(product_id)}"


def parse_scan_code(code: str) -> tuple[str, int] | None:
    """(screen scan_code, product id) from a QR code's code, or None when malformed."""
    screen_code, sep, digits = (code or "").rpartition("-")
    if not sep or not screen_code or not digits or len(digits) > 13:
        return None
    try:
        return screen_code, int(digits, 36)
    except ValueError:
        return None


def scan_token(scan_id: int) -> str:
    return _signer().sign(f"{TOKEN_PREFIX}.{_base36(scan_id)}")


def read_scan_token(token: str) -> int | None:
    """The scan id in a token we made, or None (bad format or signature)."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    prefix, _sep, digits = value.partition(".")
    if prefix != TOKEN_PREFIX or not digits:
        return None
    try:
        return int(digits, 36)
    except ValueError:
        return None


def resolve_token(brand_id: int, token: str, at: datetime) -> Attribution:
    """retail.attribution resolver for "sh1." tokens."""
    scan_id = read_scan_token(token)
    if scan_id is None:
        return unknown()
    scan = (
        Scan.objects.filter(pk=scan_id)
        .values("brand_id", "store_id", "screen_id", "product_id", "scanned_at", "screen__guide_id")
        .first()
    )
    if scan is None:
        return unknown()
    if scan["brand_id"] != brand_id:
        return Attribution(
            Status.FOREIGN,
            _("The attribution token belongs to another brand; the order is stored without attribution."),
            source="shelf_scan",
        )
    window = timedelta(days=shelf_settings(brand_id=brand_id).attribution_days)
    if at > scan["scanned_at"] + window:
        return Attribution(
            Status.EXPIRED,
            _("The scan is older than the attribution window; the order is stored without attribution."),
            source="shelf_scan",
        )
    return Attribution(
        Status.ATTRIBUTED,
        _("Attributed to the cloud-shelf scan."),
        source="shelf_scan",
        store_id=scan["store_id"],
        guide_id=scan["screen__guide_id"],
        shelf_scan_id=scan_id,
        details={"screen": scan["screen_id"], "product": scan["product_id"]},
    )
