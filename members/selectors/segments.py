"""Reads of tags and segments."""

from __future__ import annotations

from ..models import Member, Tag


def tags_of(*, member: Member) -> list[Tag]:
    """The member's tags, by name."""
    return list(Tag.objects.filter(member_tags__member_id=member.pk).order_by("name"))
