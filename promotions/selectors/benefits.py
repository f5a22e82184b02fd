"""Reads of member-exclusive benefits: a campaign's benefits (HQ's page) and the benefits a
member has now (the counter and the member's phone page)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from members.models import Member
from retail.tenancy import Principal

from ..choices import CampaignStatus
from ..models import Benefit, BenefitMember, Campaign


def campaign_for_benefits(*, principal: Principal, campaign_id: int) -> Campaign | None:
    """A visible campaign (None: not the principal's brand)."""
    return Campaign.objects.for_principal(principal).filter(pk=campaign_id).first()


def benefits_of(*, campaign: Campaign) -> list[Benefit]:
    """The campaign's benefits with their tiers and segment (three queries)."""
    return list(
        Benefit.objects.filter(campaign_id=campaign.pk)
        .select_related("segment")
        .prefetch_related("tiers")
        .order_by("id")
    )


def benefit_detail(*, principal: Principal, benefit_id: int) -> Benefit | None:
    """One visible benefit with its campaign, segment and tiers."""
    return (
        Benefit.objects.for_principal(principal)
        .select_related("campaign", "segment")
        .prefetch_related("tiers")
        .filter(pk=benefit_id)
        .first()
    )


def live_campaigns(*, brand_id: int, at: dt.datetime) -> QuerySet[Campaign]:
    """The brand's published campaigns running at `at`: from their first phase's start to
    their last phase's end."""
    return (
        Campaign.objects.filter(brand_id=brand_id, status=CampaignStatus.PUBLISHED)
        .annotate(first_start=Min("phases__starts_at"), last_end=Max("phases__ends_at"))
        .filter(first_start__lte=at, last_end__gt=at)
    )


def benefits_for_member(*, member: Member, at: dt.datetime | None = None) -> list[Benefit]:
    """The benefits `member` has at `at` (default now): benefits of the brand's published
    campaigns running then, for the member's tier or for a frozen segment the member was
    in when the campaign was published. Each with its campaign. Two queries."""
    at = at or timezone.now()
    frozen_in = BenefitMember.objects.filter(benefit_id=OuterRef("pk"), member_id=member.pk)
    audience = Q(Exists(frozen_in))
    if member.tier_id:
        audience |= Q(
            Exists(Benefit.tiers.through.objects.filter(benefit_id=OuterRef("pk"), tier_id=member.tier_id))
        )
    campaign_ids = live_campaigns(brand_id=member.brand_id, at=at).values("pk")
    return list(
        Benefit.objects.filter(brand_id=member.brand_id, campaign_id__in=campaign_ids)
        .filter(audience)
        .select_related("campaign")
        .order_by("campaign_id", "id")
    )
