"""Offline coupon tokens: a coupon's facts signed with the brand's key, so a tablet without
the network can tell a genuine coupon from a forged one.

ECDSA P-256 / SHA-256 (not an HMAC: the tablet holds only the public key, so a stolen
tablet cannot mint coupons). The token is `cp1.<kid>.<payload>.<signature>`, base64url,
the signature raw r||s (what WebCrypto's ECDSA verify takes). Payload (compact JSON):
  {"c": code, "b": brand, "m": member id, "mm": member's masked phone, "t": template id,
   "n": template name, "k": kind, "a": amount off, "p": percent off, "h": threshold,
   "s": valid store ids or null, "f": valid from (epoch s), "x": valid until (epoch s)}
Keys rotate: the newest signs, every key of the brand verifies (`public_keys`)."""

from __future__ import annotations

import base64
import json
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from retail import crypto
from retail.errors import InvalidInput

from ..models import Coupon, CouponKey
from . import coupons as coupon_services

PREFIX = "cp1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return _b64(value.to_bytes(32, "big"))


def create_key(brand_id: int) -> CouponKey:
    """A new signing key for the brand (it becomes the one that signs)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    numbers = private.public_key().public_numbers()
    kid = secrets.token_hex(6)
    jwk = {"kty": "EC", "crv": "P-256", "x": _int_b64(numbers.x), "y": _int_b64(numbers.y), "kid": kid}
    return CouponKey.objects.create(
        brand_id=brand_id, kid=kid, private_key_encrypted=crypto.encrypt(pem), public_jwk=jwk
    )


def signing_key(brand_id: int) -> CouponKey:
    key = CouponKey.objects.filter(brand_id=brand_id).order_by("-created_at", "-id").first()
    if key is not None:
        return key
    try:
        with transaction.atomic():
            return create_key(brand_id)
    except IntegrityError:  # pragma: no cover - kid collision
        return create_key(brand_id)


def public_keys(brand_id: int) -> list[dict]:
    """Every verifying key of the brand as JWKs (newest first); creates the first one."""
    signing_key(brand_id)
    return [k.public_jwk for k in CouponKey.objects.filter(brand_id=brand_id).order_by("-created_at", "-id")]


def payload_for(coupon: Coupon) -> dict:
    template = coupon.template
    stores = coupon_services.valid_store_ids(template)
    return {
        "c": coupon.code,
        "b": coupon.brand_id,
        "m": coupon.member_id,
        "mm": coupon.member.phone_masked if coupon.member_id else "",
        "t": template.pk,
        "n": template.name,
        "k": template.kind,
        "a": str(template.amount_off) if template.amount_off is not None else None,
        "p": template.percent_off,
        "h": str(template.threshold),
        "s": sorted(stores) if stores is not None else None,
        "f": int(template.valid_from.timestamp()),
        "x": int(template.valid_until.timestamp()),
    }


def sign(coupon: Coupon) -> str:
    """The offline token of a coupon."""
    key = signing_key(coupon.brand_id)
    private = serialization.load_pem_private_key(crypto.decrypt(key.private_key_encrypted).encode(), None)
    body = _b64(json.dumps(payload_for(coupon), separators=(",", ":"), ensure_ascii=False).encode())
    signed = f"{PREFIX}.{key.kid}.{body}"
    der = private.sign(signed.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signed}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def verify(token: str, *, brand_id: int) -> dict:
    """The payload of a genuine token of the brand; InvalidInput otherwise (the same answer
    for a forged token, another brand's, or garbage)."""
    refused = InvalidInput("invalid_token", _("This is not a valid coupon of this brand."))
    try:
        prefix, kid, body, sig = str(token).strip().split(".")
        raw = _unb64(sig)
    except ValueError:
        raise refused from None
    if prefix != PREFIX or len(raw) != 64:
        raise refused
    key = CouponKey.objects.filter(brand_id=brand_id, kid=kid).first()
    if key is None:
        raise refused
    jwk = key.public_jwk
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_unb64(jwk["x"]), "big"), int.from_bytes(_unb64(jwk["y"]), "big"), ec.SECP256R1()
    ).public_key()
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{prefix}.{kid}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        payload = json.loads(_unb64(body))
    except (InvalidSignature, ValueError):
        raise refused from None
    if payload.get("b") != brand_id:
        raise refused
    return payload
