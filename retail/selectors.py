"""Reads of the retail core: scoped by the principal first, then shaped for their page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .choices import Role
from .models import ApiToken, AuditEvent, Order, Product, StaffRole, Store
from .tenancy import Principal, principal_for_role, principal_for_superuser


def roles_for_user(*, user) -> list[StaffRole]:
    """Every role a user holds, brand and store joined, HQ first."""
    order = {Role.HQ_ADMIN: 0, Role.STORE_MANAGER: 1, Role.GUIDE: 2}
    roles = list(StaffRole.objects.filter(user=user).select_related("brand", "store", "user"))
    return sorted(roles, key=lambda r: (order.get(r.role, 9), r.brand_id, r.store_id or 0))


def principal_for_user(*, user, role_id: int | None = None) -> Principal:
    """The principal of a logged-in user in the chosen (or first) role."""
    roles = roles_for_user(user=user)
    active = next((r for r in roles if r.pk == role_id), roles[0] if roles else None)
    if active is None:
        if user.is_superuser:
            return principal_for_superuser(user)
        return Principal(kind="user", user_id=user.pk)  # logged in, sees nothing
    manager_stores = None
    if active.role == Role.STORE_MANAGER:
        manager_stores = frozenset(
            r.store_id for r in roles if r.role == Role.STORE_MANAGER and r.brand_id == active.brand_id
        )
    return principal_for_role(active, manager_store_ids=manager_stores)


def token_by_prefix(*, prefix: str) -> ApiToken | None:
    return ApiToken.objects.select_related("client", "client__brand").filter(prefix=prefix).first()


def stores_for(*, principal: Principal) -> QuerySet[Store]:
    return Store.objects.for_principal(principal).select_related("brand")


def products_for(*, principal: Principal) -> QuerySet[Product]:
    return Product.objects.for_principal(principal).select_related("brand")


def orders_for(*, principal: Principal) -> QuerySet[Order]:
    """Orders with everything a list shows joined; lines prefetched."""
    return (
        Order.objects.for_principal(principal)
        .select_related("store", "member", "guide")
        .prefetch_related("lines")
    )


def staff_for_store(*, principal: Principal, store: Store) -> QuerySet[StaffRole]:
    return (
        StaffRole.objects.for_principal(principal)
        .filter(store=store)
        .select_related("user")
        .order_by("role", "user__username")
    )


def sales_summary(*, principal: Principal, days: int = 30) -> dict:
    """Orders and GMV over the last `days` days, in total and per day (for charts)."""
    since = timezone.now() - timedelta(days=days)
    qs = Order.objects.for_principal(principal).filter(paid_at__gte=since)
    totals = qs.aggregate(orders=Count("id"), gmv=Sum("total"))
    per_day = (
        qs.annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(orders=Count("id"), gmv=Sum("total"))
        .order_by("day")
    )
    return {
        "orders": totals["orders"] or 0,
        "gmv": totals["gmv"] or Decimal("0"),
        "days": [
            {"day": row["day"].isoformat(), "orders": row["orders"], "gmv": str(row["gmv"] or 0)}
            for row in per_day
        ],
    }


def sales_by_store(*, principal: Principal, days: int = 30) -> list[dict]:
    """Per store: orders and GMV over the last `days` days, best first."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Order.objects.for_principal(principal)
        .filter(paid_at__gte=since, store__isnull=False)
        .values("store_id")
        .annotate(orders=Count("id"), gmv=Sum("total"))
    )
    by_store = {row["store_id"]: row for row in rows}
    stores = Store.objects.for_principal(principal).order_by("code")
    result = [
        {
            "store": s,
            "orders": by_store.get(s.pk, {}).get("orders", 0),
            "gmv": by_store.get(s.pk, {}).get("gmv") or Decimal("0"),
        }
        for s in stores
    ]
    return sorted(result, key=lambda r: r["gmv"], reverse=True)


def audit_events_for(
    *, principal: Principal, object_type: str | None = None, object_id: str | None = None,
    actor_id: int | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail visible to a principal, filtered to one object or one actor."""
    qs = AuditEvent.objects.for_principal(principal).select_related("actor")
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    return qs
