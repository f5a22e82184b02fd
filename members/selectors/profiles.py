"""Reads of computed member profiles (会员画像): one member's profile, the R×F distribution
and score summary for the principal's members, the brand's recent runs."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Avg, Count, Q, QuerySet

from retail.tenancy import Principal

from ..choices import JobStatus
from ..models import Member, MemberProfile, ProfileRun

SCORES = (1, 2, 3, 4, 5)
OVERVIEW_TTL = 24 * 3600  # seconds; a finished run changes the key before that


def profile_of(*, member: Member) -> MemberProfile | None:
    """The member's computed profile, or None before the first computation / first order."""
    return MemberProfile.objects.filter(pk=member.pk).select_related("last_store").first()


def profiles_for(*, principal: Principal) -> QuerySet[MemberProfile]:
    """Profiles of the members the principal sees: HQ the brand's, a store manager those
    recruited by their stores, a guide their own."""
    return MemberProfile.objects.for_principal(principal)


def rfm_distribution(*, principal: Principal) -> dict:
    """Counts per R×F cell (5×5, zeros included) over the principal's profiled members:
    `cells` [{"r", "f", "n"}] for the chart and `rows` (F 5..1, each R 1..5) for the table."""
    return profile_overview(principal=principal)["distribution"]


def profile_summary(*, principal: Principal) -> dict:
    """Averages over the principal's profiled members and the members per score 1..5."""
    return profile_overview(principal=principal)["summary"]


def profile_overview(*, principal: Principal) -> dict:
    """The R×F distribution and the score summary, from one scan of the principal's profiles.
    Cached until the brand's next finished run (profiles change only through runs)."""
    latest = (
        ProfileRun.objects.filter(brand_id=principal.brand_id, status=JobStatus.DONE)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    stores = ",".join(str(s) for s in sorted(principal.store_ids)) if principal.store_ids is not None else "*"
    key = f"members:profile-overview:{principal.brand_id}:{stores}:{principal.guide_user_id}:{latest}"
    overview = cache.get(key)
    if overview is None:
        overview = _overview(principal)
        cache.set(key, overview, OVERVIEW_TTL)
    return overview


def _overview(principal: Principal) -> dict:
    figures = {
        "members": Count("pk"),
        "recency": Avg("recency_days"),
        "frequency": Avg("frequency"),
        "monetary": Avg("monetary"),
        "lifetime_value": Avg("lifetime_value"),
    }
    for r in SCORES:
        for f in SCORES:
            figures[f"rf_{r}_{f}"] = Count("pk", filter=Q(r_score=r, f_score=f))
    for field in ("r_score", "f_score", "m_score"):
        for score in SCORES:
            figures[f"{field}_{score}"] = Count("pk", filter=Q(**{field: score}))
    got = profiles_for(principal=principal).order_by().aggregate(**figures)
    cells = [{"r": r, "f": f, "n": got[f"rf_{r}_{f}"]} for f in SCORES for r in SCORES]
    rows = [{"f": f, "counts": [got[f"rf_{r}_{f}"] for r in SCORES]} for f in reversed(SCORES)]
    summary = {k: got[k] for k in ("members", "recency", "frequency", "monetary", "lifetime_value")}
    summary["by_score"] = {
        field: [got[f"{field}_{score}"] for score in SCORES] for field in ("r_score", "f_score", "m_score")
    }
    distribution = {
        "cells": cells,
        "rows": rows,
        "total": sum(c["n"] for c in cells),
        "max": max(c["n"] for c in cells),
    }
    return {"distribution": distribution, "summary": summary}


def profile_runs(*, principal: Principal, limit: int = 10) -> list[ProfileRun]:
    """The brand's newest profile runs, newest first."""
    return list(ProfileRun.objects.for_principal(principal).order_by("-id")[:limit])


def active_profile_run(*, principal: Principal) -> ProfileRun | None:
    """The brand's run still pending or running, if any."""
    return (
        ProfileRun.objects.for_principal(principal)
        .filter(status__in=(JobStatus.PENDING, JobStatus.RUNNING))
        .order_by("-id")
        .first()
    )


def profile_run(*, principal: Principal, run_id: int) -> ProfileRun | None:
    """One run of the principal's brand, or None (another brand's run is not there)."""
    return ProfileRun.objects.for_principal(principal).filter(pk=run_id).first()
