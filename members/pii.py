"""Member PII at rest: MultiFernet encryption with rotating keys and a keyed blind index.

The first key in PII_ENCRYPTION_KEYS encrypts; every key decrypts (rotation: prepend a new
key, re-encrypt with `rotate`, then drop the old one). The blind index is an HMAC-SHA256 of
the normalised value under a separate key, so an exact lookup never needs the clear text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from django.conf import settings

from retail.crypto import decrypt, encrypt, rotate  # noqa: F401  (the PII at-rest cipher)

_NON_DIGITS = re.compile(r"[^\d+]")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """Digits only, mainland numbers without +86; raises InvalidPhone for anything else."""
    value = _NON_DIGITS.sub("", str(raw or ""))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    value = value.lstrip("+")
    if not value.isdigit() or not 6 <= len(value) <= 15:
        raise InvalidPhone(raw)
    return value


def mask_phone(phone: str) -> str:
    """138****1234 for a mainland mobile; the last four otherwise."""
    if len(phone) == 11:
        return f"{phone[:3]}****{phone[-4:]}"
    return f"{'*' * (len(phone) - 4)}{phone[-4:]}"


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def blind_index(value: str) -> str:
    key = settings.PII_BLIND_INDEX_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def phone_index(raw: str) -> str:
    return blind_index(normalize_phone(raw))


def normalize_name(raw: str) -> str:
    """A name as searched: NFKC (full-width → half-width), case-folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", raw or "").casefold().split())


def name_index(raw: str) -> str:
    """Blind index of a full name ("" for no name): exact, case- and width-insensitive search
    by name without decrypting. Domain-separated from the phone index."""
    name = normalize_name(raw)
    return blind_index("name:" + name) if name else ""
