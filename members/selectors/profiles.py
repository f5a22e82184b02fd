"""Reads of computed member profiles (会员画像): one member's profile, the R×F distribution
and score summary for the principal's members, the brand's recent runs."""

from __future__ import annotations

from django.db.models import Avg, Count, QuerySet

from retail.tenancy import Principal

from ..choices import JobStatus
from ..models import Member, MemberProfile, ProfileRun

SCORES = (1, 2, 3, 4, 5)


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
    counts = {
        (row["r_score"], row["f_score"]): row["n"]
        for row in profiles_for(principal=principal)
        .order_by()
        .values("r_score", "f_score")
        .annotate(n=Count("pk"))
    }
    cells = [{"r": r, "f": f, "n": counts.get((r, f), 0)} for f in SCORES for r in SCORES]
    rows = [{"f": f, "counts": [counts.get((r, f), 0) for r in SCORES]} for f in reversed(SCORES)]
    return {
        "cells": cells,
        "rows": rows,
        "total": sum(counts.values()),
        "max": max(counts.values(), default=0),
    }


def profile_summary(*, principal: Principal) -> dict:
    """Averages over the principal's profiled members and the members per score 1..5."""
    qs = profiles_for(principal=principal).order_by()
    summary = qs.aggregate(
        members=Count("pk"),
        recency=Avg("recency_days"),
        frequency=Avg("frequency"),
        monetary=Avg("monetary"),
        lifetime_value=Avg("lifetime_value"),
    )
    by_score = {}
    for field in ("r_score", "f_score", "m_score"):
        found = dict(qs.values(field).annotate(n=Count("pk")).values_list(field, "n"))
        by_score[field] = [found.get(score, 0) for score in SCORES]
    summary["by_score"] = by_score
    return summary


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
