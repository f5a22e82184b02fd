"""Reads of the livestream schedule: upcoming and past sessions the principal may see (their
stores'), one session with its products and signups, and the members a guide may sign up."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from members.models import Member
from retail.choices import Role
from retail.models import Product, StaffRole
from retail.tenancy import Principal

from ..choices import LivestreamStatus
from ..models import Livestream, LivestreamSignup

LIST_LIMIT = 100
SEARCH_LIMIT = 20


def _base(principal: Principal) -> QuerySet[Livestream]:
    return (
        Livestream.objects.for_principal(principal)
        .select_related("store", "host")
        .annotate(signup_count=Count("signups"))
    )


def upcoming(principal: Principal) -> list[Livestream]:
    """Scheduled or live sessions that have not ended, soonest first."""
    return list(
        _base(principal)
        .filter(status__in=[LivestreamStatus.SCHEDULED, LivestreamStatus.LIVE], ends_at__gt=timezone.now())
        .order_by("starts_at", "id")[:LIST_LIMIT]
    )


def past(principal: Principal) -> list[Livestream]:
    """Ended, cancelled or over sessions, latest first."""
    return list(
        _base(principal)
        .filter(
            Q(status__in=[LivestreamStatus.ENDED, LivestreamStatus.CANCELLED])
            | Q(ends_at__lte=timezone.now())
        )
        .order_by("-starts_at", "-id")[:LIST_LIMIT]
    )


def livestream_detail(principal: Principal, livestream_id: int) -> Livestream | None:
    return (
        Livestream.objects.for_principal(principal)
        .select_related("store", "host")
        .prefetch_related("products")
        .filter(pk=livestream_id)
        .first()
    )


def signups(principal: Principal, livestream: Livestream) -> list[LivestreamSignup]:
    """A session's signups; a guide sees only their own members' (a manager: all)."""
    qs = LivestreamSignup.objects.filter(livestream_id=livestream.pk).select_related("member")
    if principal.guide_user_id is not None:
        qs = qs.filter(member__guide_id=principal.guide_user_id)
    return list(qs.order_by("created_at", "id"))


def members_to_sign_up(principal: Principal, q: str) -> list[Member]:
    """The principal's members (a guide: own) matching a member number or the last digits of
    the phone; at most SEARCH_LIMIT."""
    q = (q or "").strip()
    if not q:
        return []
    qs = Member.objects.for_principal(principal)
    match = Q(member_no__istartswith=q)
    if q.isdigit() and len(q) <= 4:
        match |= Q(phone_masked__endswith=q)
    return list(qs.filter(match).order_by("member_no")[:SEARCH_LIMIT])


def host_choices(principal: Principal) -> QuerySet[StaffRole]:
    """Guides of the principal's stores (a livestream's possible hosts)."""
    qs = StaffRole.objects.for_principal(principal).filter(role=Role.GUIDE).select_related("user", "store")
    return qs.order_by("store__code", "user__username")


def product_choices(principal: Principal) -> QuerySet[Product]:
    return Product.objects.for_principal(principal).filter(is_active=True).order_by("name")
