"""Reads of member identity, scoped by principal."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from retail.tenancy import Principal

from .. import pii
from ..choices import ConsentChannel
from ..models import ConsentRecord, Member, PointsEntry, Tier


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


# --- pages: the member list and search ----------------------------------------------------


def members_for_pages(*, principal: Principal) -> QuerySet[Member]:
    """Visible members shaped for the member pages: store, guide and tier joined."""
    return members_for(principal=principal).select_related("tier")


def member_search(*, principal: Principal, q: str) -> QuerySet[Member]:
    """Visible members matching `q` exactly: a phone in any format or a full name (blind
    indexes, never a decrypt), a member number or an external id."""
    q = (q or "").strip()
    if not q:
        return members_for_pages(principal=principal).none()
    match = Q(member_no=q) | Q(member_no=q.upper()) | Q(external_id=q)
    digest = phone_hash_or_none(q)
    if digest is not None:
        match |= Q(phone_hash=digest)
    else:
        match |= Q(name_hash=pii.name_index(q))
    return members_for_pages(principal=principal).filter(match).order_by("-id")


def member_page(
    *, principal: Principal, store_id: int | None = None, after: int | None = None, limit: int = 50
) -> tuple[list[Member], int | None]:
    """One keyset page of visible members, newest first: the rows and the id to continue
    `after` (None on the last page). One query, whatever the page or the brand's size."""
    qs = members_for_pages(principal=principal)
    if store_id:
        qs = qs.filter(store_id=store_id)
    return keyset_page(qs, after=after, limit=limit)


def keyset_page(qs: QuerySet[Member], *, after: int | None, limit: int) -> tuple[list[Member], int | None]:
    """Members of `qs` with an id below `after`, newest first: `limit` rows read with one
    query (one row more tells whether a page follows), and the id to continue after."""
    if after:
        qs = qs.filter(pk__lt=after)
    rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more else None)


# --- tiers, points and consent --------------------------------------------------------------


def tiers_of(*, brand_id: int) -> list[Tier]:
    """The brand's tiers, lowest rank first."""
    return list(Tier.objects.filter(brand_id=brand_id).order_by("rank"))


def tier_distribution(*, principal: Principal) -> list[dict]:
    """Visible members per tier of the principal's brand (lowest rank first, then members in
    no tier): [{"tier": Tier | None, "members": n, "share": percent}]. One GROUP BY."""
    from django.db.models import Count

    counts = {
        row["tier_id"]: row["n"]
        for row in members_for(principal=principal).order_by().values("tier_id").annotate(n=Count("id"))
    }
    tiers = tiers_of(brand_id=principal.brand_id) if principal.brand_id else []
    rows = [{"tier": None, "members": counts.get(None, 0)}] + [
        {"tier": tier, "members": counts.get(tier.pk, 0)} for tier in tiers
    ]
    total = sum(row["members"] for row in rows) or 1
    for row in rows:
        row["share"] = round(100 * row["members"] / total, 1)
    return rows


def points_ledger(*, member: Member) -> QuerySet[PointsEntry]:
    """A member's points entries, newest first (served by the (member, id) index)."""
    return PointsEntry.objects.filter(member_id=member.pk).order_by("-id")


def consent_history(*, member: Member) -> QuerySet[ConsentRecord]:
    """Every consent statement of a member, newest first."""
    return ConsentRecord.objects.filter(member_id=member.pk).order_by("-id")


def members_contactable(*, principal: Principal, channel: str) -> QuerySet[Member]:
    """Visible members who consent to be contacted on `channel` (call, sms, chat). Every
    feature that contacts members starts from this, so an opt-out is honoured everywhere."""
    if channel not in ConsentChannel.values:
        raise ValueError(f"unknown consent channel {channel!r}")
    return members_for(principal=principal).filter(**{f"consent_{channel}": True})


def joins_per_minute(*, start, end, exclude_sources=()) -> QuerySet:
    """Members who joined in [start, end), counted per brand, recruiting store, minute and
    source (rows of brand_id, store_id, m, source, n): the dashboards' nightly recompute."""
    from django.db.models import Count
    from django.db.models.functions import TruncMinute

    return (
        Member.objects.filter(joined_at__gte=start, joined_at__lt=end)
        .exclude(source__in=exclude_sources)
        .annotate(m=TruncMinute("joined_at"))
        .values("brand_id", "store_id", "m", "source")
        .annotate(n=Count("id"))
        .order_by()
    )
