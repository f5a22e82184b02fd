"""Reads of guide profiles: the team list of a manager's stores (or HQ's brand), one profile
to edit, a guide's own profile, and whether the call bridge has a phone to ring."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from members.models import Member
from retail.tenancy import Principal

from ..models import GuideProfile


def team_profiles(principal: Principal, *, store_id: int | None = None) -> QuerySet[GuideProfile]:
    """The guide profiles of the principal's stores (of `store_id` only, if given), by store
    and username, with user, store and the number of members each guide has."""
    members = (
        Member.objects.filter(brand_id=OuterRef("brand_id"), guide_id=OuterRef("user_id"))
        .order_by()
        .values("guide_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = GuideProfile.objects.for_principal(principal)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    return (
        qs.select_related("user", "store")
        .annotate(members_count=Coalesce(Subquery(members, output_field=IntegerField()), 0))
        .order_by("store__code", "user__username", "pk")
    )


def profile_for(principal: Principal, *, profile_id: int) -> GuideProfile | None:
    """One profile the principal may see (a manager: their stores; HQ: the brand), or None."""
    return (
        GuideProfile.objects.for_principal(principal)
        .select_related("user", "store")
        .filter(pk=profile_id)
        .first()
    )


def own_profile(principal: Principal) -> GuideProfile | None:
    """The acting guide's profile (None before it is made)."""
    if principal.guide_user_id is None or principal.brand_id is None:
        return None
    return (
        GuideProfile.objects.filter(brand_id=principal.brand_id, user_id=principal.guide_user_id)
        .select_related("store")
        .first()
    )


def guide_has_phone(principal: Principal) -> bool:
    """Whether the call bridge has a phone to ring for the acting guide (one query)."""
    if principal.guide_user_id is None or principal.brand_id is None:
        return False
    return (
        GuideProfile.objects.filter(brand_id=principal.brand_id, user_id=principal.guide_user_id)
        .exclude(phone_encrypted="")
        .exists()
    )
