"""Reads of the retail core: scoped by the principal first, then shaped for their page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .choices import Role, StoreStatus
from .models import ApiToken, AuditEvent, Order, OrderLine, Product, StaffRole, Store
from .tenancy import Principal, principal_for_role, principal_for_superuser


def _figures_cached(fn):
    """Aggregate figures over millions of orders cost seconds; pages may show them up to
    SALES_FIGURES_CACHE_SECONDS old. Keyed by what the principal may see, not by who asks.
    (The live dashboards issue replaces this with rollup tables fed by events.)"""

    def cached(*, principal: Principal, **kwargs):
        ttl = settings.SALES_FIGURES_CACHE_SECONDS
        if not ttl:
            return fn(principal=principal, **kwargs)
        seen = (
            principal.brand_id,
            principal.is_superuser,
            tuple(sorted(principal.store_ids)) if principal.store_ids is not None else None,
            principal.guide_user_id,
        )
        raw = f"{seen}:{sorted(kwargs.items())}:{timezone.localdate()}"
        key = f"figures:{fn.__name__}:{hashlib.sha1(raw.encode()).hexdigest()}"
        value = cache.get(key)
        if value is None:
            value = fn(principal=principal, **kwargs)
            cache.set(key, value, ttl)
        return value

    cached.__name__ = fn.__name__
    cached.__doc__ = fn.__doc__
    return cached


ROLES_CACHE_SECONDS = 600


def roles_cache_key(user_id: int) -> str:
    return f"retail:roles:u:{user_id}"


def roles_for_user(*, user) -> list[StaffRole]:
    """Every role a user holds, brand and store joined, HQ first. Read on every request (the
    principal), so kept in the cache per user; retail.signals drops the entry whenever one of
    the user's roles, their user row, or a store or brand they hold a role in changes."""
    key = roles_cache_key(user.pk)
    roles = cache.get(key)
    if roles is None:
        order = {Role.HQ_ADMIN: 0, Role.STORE_MANAGER: 1, Role.GUIDE: 2}
        roles = sorted(
            StaffRole.objects.filter(user=user).select_related("brand", "store", "user"),
            key=lambda r: (order.get(r.role, 9), r.brand_id, r.store_id or 0),
        )
        cache.set(key, roles, ROLES_CACHE_SECONDS)
    return roles


def principal_for_user(
    *, user, role_id: int | None = None, roles: list[StaffRole] | None = None
) -> Principal:
    """The principal of a logged-in user in the chosen (or first) role (`roles`: the user's
    roles when the caller has read them already)."""
    roles = roles_for_user(user=user) if roles is None else roles
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


def sales_window_start(*, days: int) -> datetime:
    """Start of the window "the last `days` days": local midnight `days - 1` days ago.

    Calendar days in the brand's time zone (Asia/Shanghai), today included, so the KPI
    totals, the per-day chart and the store ranking all count the same orders.
    """
    first = timezone.localdate() - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first, time.min))


@_figures_cached
def sales_summary(*, principal: Principal, days: int = 30, store_id: int | None = None) -> dict:
    """Orders and GMV over the last `days` calendar days, in total and per day (every day
    present, zeros included, for charts); optionally one store. One query."""
    since = sales_window_start(days=days)
    qs = Order.objects.for_principal(principal).filter(paid_at__gte=since)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    per_day = {
        row["day"]: row
        for row in qs.annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(orders=Count("id"), gmv=Sum("total"))
        .order_by("day")
    }
    first = timezone.localtime(since).date()
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = per_day.get(day, {})
        series.append(
            {"day": day.isoformat(), "orders": row.get("orders", 0), "gmv": str(row.get("gmv") or 0)}
        )
    return {
        "orders": sum(row["orders"] for row in per_day.values()),
        "gmv": sum((row["gmv"] or Decimal("0") for row in per_day.values()), Decimal("0")),
        "days": series,
    }


@_figures_cached
def sales_by_store(*, principal: Principal, days: int = 30) -> list[dict]:
    """Per store: orders and GMV over the last `days` calendar days, best first."""
    since = sales_window_start(days=days)
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
    *,
    principal: Principal,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
) -> QuerySet[AuditEvent]:
    """The audit trail visible to a principal, filtered to one object, actor or action."""
    qs = AuditEvent.objects.for_principal(principal).select_related("actor")
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    return qs


# --- pages: homes, lists and details -------------------------------------------------------


@dataclass
class PageOf:
    """One page of a list, without a COUNT: `per_page + 1` rows tell if another follows."""

    items: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def page_of(qs: QuerySet, *, page: Any = 1, per_page: int = 50) -> PageOf:
    """Slice an ordered queryset to page `page` (1-based; junk reads as 1)."""
    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(qs[offset : offset + per_page + 1])
    return PageOf(items=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Aware start and end of a local calendar day (Asia/Shanghai), end exclusive."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@_figures_cached
def brand_kpis(*, principal: Principal, days: int = 30) -> dict:
    """HQ figures over the last `days` days: orders, GMV, members, live stores, per day."""
    from members.selectors import members_for  # the ledger may read members (DESIGN.md)

    summary = sales_summary(principal=principal, days=days)
    return {
        **summary,
        "members": members_for(principal=principal).count(),
        "live_stores": Store.objects.for_principal(principal).filter(status=StoreStatus.LIVE).count(),
    }


def store_list(*, principal: Principal) -> QuerySet[Store]:
    """The stores a principal may see, ordered by code, with their staff counted."""
    return stores_for(principal=principal).annotate(staff_count=Count("staff_roles")).order_by("code")


def stores_today(*, principal: Principal) -> list[dict]:
    """Per visible store: today's orders and GMV (local day). Two queries."""
    start, end = local_day_bounds(timezone.localdate())
    rows = (
        Order.objects.for_principal(principal)
        .filter(paid_at__gte=start, paid_at__lt=end, store__isnull=False)
        .values("store_id")
        .annotate(orders=Count("id"), gmv=Sum("total"))
    )
    by_store = {row["store_id"]: row for row in rows}
    return [
        {
            "store": s,
            "orders": by_store.get(s.pk, {}).get("orders", 0),
            "gmv": by_store.get(s.pk, {}).get("gmv") or Decimal("0"),
        }
        for s in stores_for(principal=principal).order_by("code")
    ]


def latest_orders(*, principal: Principal, limit: int = 10, store_id: int | None = None) -> list[Order]:
    """The newest orders a principal may see (store, member and guide joined, no lines)."""
    qs = Order.objects.for_principal(principal).select_related("store", "member", "guide")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    return list(qs.order_by("-paid_at", "-id")[:limit])


def staff_by_store(*, principal: Principal) -> dict[int, list[StaffRole]]:
    """Store-bound staff roles of every visible store, grouped by store id. One query."""
    grouped: dict[int, list[StaffRole]] = {}
    roles = (
        StaffRole.objects.for_principal(principal)
        .filter(store__isnull=False)
        .select_related("user")
        .order_by("store_id", "role", "user__username")
    )
    for role in roles:
        grouped.setdefault(role.store_id, []).append(role)
    return grouped


def guide_month(*, principal: Principal) -> dict:
    """A guide's month so far: orders attributed to them (Order.guide) and their GMV."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today.replace(day=1), time.min))
    qs = Order.objects.for_principal(principal).filter(guide_id=principal.user_id, paid_at__gte=start)
    totals = qs.aggregate(orders=Count("id"), gmv=Sum("total"))
    return {
        "since": start,
        "orders": totals["orders"] or 0,
        "gmv": totals["gmv"] or Decimal("0"),
        "latest": list(qs.select_related("store", "member", "guide").order_by("-paid_at", "-id")[:20]),
    }


def product_search(*, principal: Principal, q: str = "") -> QuerySet[Product]:
    """The brand's products matching `q` in SKU or name, by SKU."""
    qs = products_for(principal=principal)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(sku__icontains=q) | Q(name__icontains=q))
    return qs.order_by("sku", "id")


def product_sales(*, principal: Principal, product: Product, days: int = 30) -> dict:
    """Units sold and revenue of one product in the principal's stores, last `days` days."""
    totals = (
        OrderLine.objects.for_principal(principal)
        .filter(product=product, order__paid_at__gte=sales_window_start(days=days))
        .aggregate(units=Sum("quantity"), revenue=Sum("line_total"), orders=Count("order_id", distinct=True))
    )
    return {
        "units": totals["units"] or 0,
        "revenue": totals["revenue"] or Decimal("0"),
        "orders": totals["orders"] or 0,
    }


def order_search(
    *,
    principal: Principal,
    store_id: int | None = None,
    channel: str | None = None,
    day: date | None = None,
) -> QuerySet[Order]:
    """Orders for the order list, newest first, filtered by store, channel and local day."""
    qs = Order.objects.for_principal(principal).select_related("store", "member", "guide")
    if store_id:
        qs = qs.filter(store_id=store_id)
    if channel:
        qs = qs.filter(channel=channel)
    if day:
        start, end = local_day_bounds(day)
        qs = qs.filter(paid_at__gte=start, paid_at__lt=end)
    return qs.order_by("-paid_at", "-id")


def orders_of_member(*, principal: Principal, member, limit: int = 20) -> list[Order]:
    """A member's newest orders in the principal's stores, store joined (for the member
    page's timeline)."""
    qs = Order.objects.for_principal(principal).filter(member=member).select_related("store")
    return list(qs.order_by("-paid_at", "-id")[:limit])


def order_detail(*, principal: Principal) -> QuerySet[Order]:
    """Orders shaped for their detail page: store, member, guide joined, lines prefetched."""
    return (
        Order.objects.for_principal(principal)
        .select_related("store", "member", "guide")
        .prefetch_related("lines__product")
    )


def brand_staff_users(*, principal: Principal) -> QuerySet:
    """Users holding at least one role the principal can see (for audit filters and pages)."""
    visible = StaffRole.objects.for_principal(principal).values("user_id")
    return get_user_model().objects.filter(pk__in=visible).order_by("username")
