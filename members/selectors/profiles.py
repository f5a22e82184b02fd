"""Reads of computed member profiles (会员画像)."""

from __future__ import annotations

from ..models import Member, MemberProfile


def profile_of(*, member: Member) -> MemberProfile | None:
    """The member's computed profile, or None before the first computation / first order."""
    return MemberProfile.objects.filter(pk=member.pk).select_related("last_store").first()
