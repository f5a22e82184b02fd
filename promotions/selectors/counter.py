"""Reads of the coupon counter (the workbench page where guides and managers give and
redeem coupons, also offline): the stores a principal may work at, the templates claimable
now in a store, a member's coupons, the offline pack a tablet caches, a tablet's blocks."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from members.models import Member
from retail import selectors as retail_selectors
from retail.choices import Role
from retail.models import Store
from retail.tenancy import Principal

from ..choices import BlockStatus, CampaignStatus, CouponChannel, CouponStatus
from ..models import Coupon, CouponTemplate, OfflineBlock, OfflineRedemption
from ..services import coupons as coupon_services
from ..services import tokens

COUNTER_ROLES = (Role.GUIDE, Role.STORE_MANAGER, Role.HQ_ADMIN)


def may_use_counter(principal: Principal) -> bool:
    return principal.role in COUNTER_ROLES


def counter_stores(*, principal: Principal) -> QuerySet[Store]:
    """Stores the principal may work the counter at: a guide's store, a manager's stores,
    any store of the brand for HQ."""
    if not may_use_counter(principal):
        return Store.objects.none()
    return retail_selectors.stores_for(principal=principal).order_by("code", "pk")


def counter_store(*, principal: Principal, store_id: int | None) -> Store | None:
    """The store chosen (or the only one); None when a choice is needed or not allowed."""
    stores = counter_stores(principal=principal)
    if store_id is not None:
        return stores.filter(pk=store_id).first()
    found = list(stores[:2])
    return found[0] if len(found) == 1 else None


def templates_for_store(*, store: Store, now: dt.datetime | None = None) -> list[CouponTemplate]:
    """Templates whose coupons may be given in this store now: active, live campaign (or
    none), within their window, in-store channel, valid for the store, stock left."""
    now = now or timezone.now()
    candidates = (
        CouponTemplate.objects.filter(
            brand_id=store.brand_id,
            is_active=True,
            valid_until__gt=now,
            channel__in=[CouponChannel.STORE, CouponChannel.BOTH],
        )
        .filter(Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.PUBLISHED))
        .select_related("campaign")
        .prefetch_related("valid_stores", "campaign__store_links", "tiers")
        .order_by("valid_until", "name")
    )
    found = []
    for template in candidates:
        if template.claimed >= template.total_stock:
            continue
        stores = _valid_store_ids(template)
        if stores is not None and store.pk not in stores:
            continue
        found.append(template)
    return found


def _valid_store_ids(template: CouponTemplate) -> set[int] | None:
    # coupon_services.valid_store_ids, read from the prefetched relations (no query each)
    ids = {s.pk for s in template.valid_stores.all()}
    if ids:
        return ids
    if template.campaign_id:
        return {link.store_id for link in template.campaign.store_links.all()} or None
    return None


def member_coupons(*, member: Member, limit: int = 20) -> list[Coupon]:
    """A member's coupons, newest first, with their template and redemption."""
    return list(
        Coupon.objects.filter(brand_id=member.brand_id, member=member)
        .exclude(status=CouponStatus.RESERVED)
        .select_related("template", "redemption")
        .order_by("-id")[:limit]
    )


def member_benefits(*, member: Member) -> list:
    """The member's campaign benefits now (promotions.selectors.benefits, where it exists)."""
    try:
        from . import benefits as benefit_selectors
    except ImportError:  # pragma: no cover - the benefits area not wired
        return []
    finder = getattr(benefit_selectors, "benefits_for_member", None)
    return list(finder(member=member)) if finder is not None else []


def templates_for_member(templates: list[CouponTemplate], member: Member) -> list[CouponTemplate]:
    """Of the store's templates, those the member's tier may claim (tiers prefetched)."""
    found = []
    for template in templates:
        tiers = {tier.pk for tier in template.tiers.all()}
        if not tiers or member.tier_id in tiers:
            found.append(template)
    return found


def offline_pack(*, store: Store, now: dt.datetime | None = None) -> dict:
    """What a tablet keeps to work without the network: the brand's public keys (to verify
    coupon tokens), the store, and the names of the templates it may meet."""
    now = now or timezone.now()
    templates = (
        CouponTemplate.objects.filter(brand_id=store.brand_id, valid_until__gt=now)
        .filter(Q(campaign__isnull=True) | Q(campaign__status=CampaignStatus.PUBLISHED))
        .order_by("pk")
    )
    return {
        "brand": store.brand_id,
        "store": store.pk,
        "store_name": store.name,
        "keys": tokens.public_keys(store.brand_id),
        "templates": [
            {"id": t.pk, "name": t.name, "describe": coupon_services.describe(t)} for t in templates
        ],
        "generated_at": now.isoformat(),
    }


def open_blocks(*, store: Store, device_label: str = "") -> list[OfflineBlock]:
    """The store's blocks still held by tablets (one tablet's, given its label)."""
    qs = OfflineBlock.objects.filter(brand_id=store.brand_id, store=store, status=BlockStatus.OPEN)
    if device_label:
        qs = qs.filter(device_label=device_label)
    return list(qs.select_related("template").order_by("-issued_at")[:50])


def recent_offline_redemptions(*, store: Store, limit: int = 20) -> list[OfflineRedemption]:
    """The store's latest synced offline redemptions with their outcome."""
    return list(
        OfflineRedemption.objects.filter(brand_id=store.brand_id, store=store).order_by("-synced_at", "-id")[
            :limit
        ]
    )
