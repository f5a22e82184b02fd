"""Reads of tags and segments: who matches rules (count and a keyset preview), a materialised
segment's members (consent re-checked at read time), tags with their member counts."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from retail.tenancy import Principal

from .. import rules as rule_language
from ..models import Member, Segment, SegmentMember, Tag
from . import keyset_page, members_contactable, members_for_pages

PREVIEW_SIZE = 20


def tags_of(*, member: Member) -> list[Tag]:
    """The member's tags, by name."""
    return list(Tag.objects.filter(member_tags__member_id=member.pk).order_by("name"))


def tags_for(*, principal: Principal) -> QuerySet[Tag]:
    """The brand's tags, by name."""
    return Tag.objects.for_principal(principal).order_by("name")


def tags_with_counts(*, principal: Principal) -> list[Tag]:
    """The brand's tags with `members`: how many visible members carry each (one query)."""
    tags = tags_for(principal=principal)
    if principal.store_ids is not None:
        tags = tags.annotate(
            members=Count("member_tags", filter=_visible_tag_members(principal), distinct=True)
        )
    else:
        tags = tags.annotate(members=Count("member_tags"))
    return list(tags)


def _visible_tag_members(principal: Principal) -> Q:
    return Q(member_tags__member__store_id__in=principal.store_ids)


def matching_members(*, principal: Principal, rules: dict, channel: str = "") -> QuerySet[Member]:
    """Visible members matching validated rules; with a channel, only those who consent on it
    (through members_contactable, the one consent gate)."""
    base = (
        members_contactable(principal=principal, channel=channel)
        if channel
        else members_for_pages(principal=principal)
    )
    return base.filter(rule_language.compile_rules(rules))


def count_matching(*, principal: Principal, rules: dict, channel: str = "") -> int:
    """How many visible members match (one query)."""
    return matching_members(principal=principal, rules=rules, channel=channel).order_by().count()


def preview_matching(
    *,
    principal: Principal,
    rules: dict,
    channel: str = "",
    after: int | None = None,
    limit: int = PREVIEW_SIZE,
) -> tuple[list[Member], int | None]:
    """One keyset page of matching members, newest id first: rows and the id to continue after.
    One query, whatever the page or the brand's size."""
    qs = matching_members(principal=principal, rules=rules, channel=channel).select_related("tier", "store")
    return keyset_page(qs, after=after, limit=limit)


def segments_for(*, principal: Principal) -> QuerySet[Segment]:
    """The brand's segments, newest first."""
    return Segment.objects.for_principal(principal).select_related("created_by").order_by("-id")


def segment_members(*, principal: Principal, segment: Segment, after: int | None = None) -> QuerySet[Member]:
    """Visible members of a materialised segment (with `after`, those of lower id). A segment
    for a channel re-checks consent now, so a member who opted out since is left out."""
    entries = SegmentMember.objects.filter(segment_id=segment.pk)
    if after:
        # bound the entries too: the (segment, member) index then starts at `after`
        entries = entries.filter(member_id__lt=after)
    entries = entries.values("member_id")
    base = (
        members_contactable(principal=principal, channel=segment.channel)
        if segment.channel
        else members_for_pages(principal=principal)
    )
    qs = base.filter(pk__in=entries)
    return qs.filter(pk__lt=after) if after else qs


def segment_member_page(
    *, principal: Principal, segment: Segment, after: int | None = None, limit: int = 50
) -> tuple[list[Member], int | None]:
    """One keyset page of a segment's members, newest id first (one query)."""
    qs = segment_members(principal=principal, segment=segment, after=after).select_related("tier", "store")
    return keyset_page(qs, after=None, limit=limit)  # `after` already bounds the entries


def segments_of(*, principal: Principal, member: Member) -> QuerySet[Segment]:
    """Materialised segments the member belongs to; a channel segment only while the member
    still consents on its channel."""
    consenting = Q(channel="")
    for channel in ("call", "sms", "chat"):
        consenting |= Q(channel=channel, **{f"entries__member__consent_{channel}": True})
    # one filter() call: the consent is read from the same joined entry's member row
    qs = Segment.objects.for_principal(principal).filter(consenting, entries__member_id=member.pk)
    return qs.order_by("-id")


def tagged_members(*, principal: Principal, tag: Tag) -> QuerySet[Member]:
    """Visible members carrying the tag."""
    return members_for_pages(principal=principal).filter(member_tags__tag_id=tag.pk)


def tagged_count(*, principal: Principal, tag: Tag) -> int:
    return tagged_members(principal=principal, tag=tag).order_by().count()


def tagged_member_page(
    *, principal: Principal, tag: Tag, after: int | None = None, limit: int = 50
) -> tuple[list[Member], int | None]:
    """One keyset page of the tag's members, newest id first (one query)."""
    return keyset_page(tagged_members(principal=principal, tag=tag), after=after, limit=limit)
