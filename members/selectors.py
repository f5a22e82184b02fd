"""Reads of member identity, scoped by principal."""

from __future__ import annotations

from django.db.models import QuerySet

from retail.tenancy import Principal

from . import pii
from .models import Member


def members_for(*, principal: Principal) -> QuerySet[Member]:
    """Members a principal may see: brand, stores, and for guides their own."""
    return Member.objects.for_principal(principal).select_related("store", "guide")


def member_by_phone(*, brand_id: int, phone: str) -> Member | None:
    """Exact lookup through the blind index; None for an unknown or invalid number."""
    try:
        digest = pii.phone_index(phone)
    except pii.InvalidPhone:
        return None
    return Member.objects.filter(brand_id=brand_id, phone_hash=digest).first()


def phone_hash_or_none(phone: str) -> str | None:
    try:
        return pii.phone_index(phone)
    except pii.InvalidPhone:
        return None
