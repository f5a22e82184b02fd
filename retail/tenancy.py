"""Tenancy: the one place that turns a principal into the brands and stores it may see.

Every queryset, form choice, API lookup and websocket group goes through `scope()` (or the
`for_principal()` queryset method, which calls it). Models say how they hang off a brand
and a store with three class attributes:

    TENANT_BRAND_FIELD = "brand"     # "pk" for Brand itself
    TENANT_STORE_FIELD = "store"     # None: brand-wide rows (products)
    TENANT_GUIDE_FIELD = "guide"     # rows a guide sees only when they are theirs

Another brand's object is simply not in the queryset, so a lookup is a 404, never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from .choices import Role


@dataclass(frozen=True)
class Principal:
    """Who is asking: a staff user acting in one role, a partner token, or a superuser."""

    kind: str  # "user" | "partner" | "anonymous"
    user_id: int | None = None
    brand_id: int | None = None  # the brand acted for; None for a superuser without role
    role: str | None = None
    role_id: int | None = None
    store_ids: frozenset[int] | None = None  # None: every store of the brand
    guide_user_id: int | None = None  # set for guides: own members only
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_superuser: bool = False
    api_client_id: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def brand_ids(self) -> frozenset[int] | None:
        if self.is_superuser and self.brand_id is None:
            return None
        return frozenset({self.brand_id}) if self.brand_id is not None else frozenset()

    def has_scope(self, scope: str) -> bool:
        return self.is_superuser or scope in self.scopes

    def may_see_store(self, store_id: int) -> bool:
        return self.store_ids is None or store_id in self.store_ids


ANONYMOUS = Principal(kind="anonymous")


def principal_for_role(role, *, manager_store_ids: frozenset[int] | None = None) -> Principal:
    """A user acting in one StaffRole. Store managers see every store they manage."""
    user = role.user
    if role.role == Role.HQ_ADMIN:
        store_ids = None
    elif role.role == Role.STORE_MANAGER:
        store_ids = manager_store_ids or frozenset({role.store_id})
    else:
        store_ids = frozenset({role.store_id})
    return Principal(
        kind="user",
        user_id=user.pk,
        brand_id=role.brand_id,
        role=role.role,
        role_id=role.pk,
        store_ids=store_ids,
        guide_user_id=user.pk if role.role == Role.GUIDE else None,
        is_superuser=False,
    )


def principal_for_superuser(user) -> Principal:
    return Principal(kind="user", user_id=user.pk, is_superuser=True)


def principal_for_api_client(client, token=None) -> Principal:
    """A partner token: one brand, every store, the client's named scopes (narrowed to the
    token's own scopes when it was issued with a subset)."""
    scopes = frozenset(client.scopes)
    if token is not None and token.scopes is not None:
        scopes &= frozenset(token.scopes)
    return Principal(
        kind="partner",
        brand_id=client.brand_id,
        scopes=scopes,
        api_client_id=client.pk,
    )


def scope(qs: models.QuerySet, principal: Principal) -> models.QuerySet:
    """Restrict any tenant-owned queryset to what the principal may see."""
    model = qs.model
    brand_field = getattr(model, "TENANT_BRAND_FIELD", None)
    if brand_field is None:
        raise TypeError(f"{model.__name__} is not tenant-owned (no TENANT_BRAND_FIELD)")
    if not principal.is_authenticated:
        return qs.none()
    brand_ids = principal.brand_ids
    if brand_ids is None:  # superuser, every brand
        return qs
    if not brand_ids:
        return qs.none()
    qs = qs.filter(**{f"{brand_field}__in": brand_ids})
    store_field = getattr(model, "TENANT_STORE_FIELD", None)
    if principal.store_ids is not None and store_field:
        qs = qs.filter(**{f"{store_field}__in": principal.store_ids})
    guide_field = getattr(model, "TENANT_GUIDE_FIELD", None)
    if principal.guide_user_id is not None and guide_field:
        qs = qs.filter(**{guide_field: principal.guide_user_id})
    return qs


class TenantQuerySet(models.QuerySet):
    def for_principal(self, principal: Principal) -> TenantQuerySet:
        return scope(self, principal)

    def for_brand(self, brand_id: int) -> TenantQuerySet:
        return self.filter(**{f"{self.model.TENANT_BRAND_FIELD}": brand_id})


def groups_for(principal: Principal) -> list[str]:
    """Channel-layer groups a principal's live pages may join."""
    if principal.brand_id is None:
        return []
    if principal.store_ids is None:
        return [brand_group(principal.brand_id)]
    return [store_group(s) for s in sorted(principal.store_ids)]


def brand_group(brand_id: int) -> str:
    return f"brand.{brand_id}"


def store_group(store_id: int) -> str:
    return f"store.{store_id}"
