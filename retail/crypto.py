"""Secrets at rest (member PII, webhook signing secrets): MultiFernet with rotating keys.

The first key in PII_ENCRYPTION_KEYS encrypts; every key decrypts (rotation: prepend a new
key, re-encrypt with `rotate`, then drop the old one). Ground floor: any app may use it.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_as_fernet_key(k)) for k in keys])


def _as_fernet_key(key: str) -> bytes:
    raw = key.encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass
    # Accept any passphrase-like secret by deriving a 32-byte key from it.
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _crypter() -> MultiFernet:
    return _fernet(tuple(settings.PII_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    if not value:
        return ""
    return _crypter().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    return _crypter().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """Re-encrypt under the newest key (no-op in meaning)."""
    if not token:
        return ""
    return _crypter().rotate(token.encode()).decode()
