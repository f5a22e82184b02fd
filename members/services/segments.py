"""Use cases of tags and segments: tag a member by hand (audited), define and refresh rule
tags, save segments and materialise them (set-based SQL, in chunks of member ids).

Materialising replaces a segment's membership in ONE transaction (delete, then INSERT ...
SELECT chunk by chunk), so readers see the old members until the new ones commit, never a
half-built segment. Progress within that transaction is published through the cache
(`materialise_progress()`); the row's status says running / done / failed.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, Min, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit
from retail.choices import AuditAction
from retail.errors import Conflict, InvalidInput
from retail.jobs import enqueue_job

from .. import rules as rule_language
from ..choices import ConsentChannel, JobStatus, TagSource
from ..models import Member, MemberTag, Segment, SegmentMember, Tag

CHUNK_IDS = 100_000  # member-id range per INSERT ... SELECT
EXPORT_ACTION = AuditAction.EXPORT


# --- tags by hand -----------------------------------------------------------------------------


def _clean_tag_name(name: Any) -> str:
    name = " ".join(str(name or "").split()) if isinstance(name, str) else ""
    if not name or len(name) > 40 or "\x00" in name:
        raise InvalidInput(
            "invalid_tag",
            _("A tag name has 1 to 40 characters."),
            fields={"name": [_("1 to 40 characters.")]},
        )
    return name


def create_tag(*, brand_id: int, name: str, rule: dict | None = None) -> Tag:
    """A new tag of the brand; a rule tag when `rule` is given (validated). A name the brand
    already uses is a Conflict."""
    name = _clean_tag_name(name)
    if rule is not None:
        rule = rule_language.validate_rules(rule, brand_id=brand_id)
    try:
        with transaction.atomic():
            tag = Tag.objects.create(brand_id=brand_id, name=name, rule=rule)
            audit.record(AuditAction.CREATE, tag, after=audit.snapshot(tag))
    except IntegrityError as exc:
        raise Conflict(
            "duplicate_tag", _("A tag with this name exists."), fields={"name": [_("Already used.")]}
        ) from exc
    return tag


def tag_member(*, member: Member, name: str, source: str = TagSource.MANUAL) -> Tag:
    """Put the tag named `name` on the member, creating the tag in the brand if new. A repeat
    changes nothing. Audited on the member."""
    name = _clean_tag_name(name)
    with transaction.atomic():
        tag = Tag.objects.filter(brand_id=member.brand_id, name=name).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(brand_id=member.brand_id, name=name)
            except IntegrityError:  # created concurrently
                tag = Tag.objects.get(brand_id=member.brand_id, name=name)
        _, created = MemberTag.objects.get_or_create(
            member_id=member.pk, tag=tag, defaults={"brand_id": member.brand_id, "source": source}
        )
        if created:
            audit.record(
                AuditAction.UPDATE, member, after={"tag_added": tag.name}, message=f"tag added: {tag.name}"
            )
    return tag


def untag_member(*, member: Member, tag: Tag) -> bool:
    """Take the tag off the member (whatever put it there); False when it was not on. Audited."""
    with transaction.atomic():
        deleted, _n = MemberTag.objects.filter(member_id=member.pk, tag_id=tag.pk).delete()
        if deleted:
            audit.record(
                AuditAction.UPDATE,
                member,
                before={"tag_removed": tag.name},
                message=f"tag removed: {tag.name}",
            )
    return bool(deleted)


# --- set-based SQL ----------------------------------------------------------------------------


def _matching_ids_sql(
    *, brand_id: int, rules: dict, channel: str, lo: int | None = None, hi: int | None = None
):
    """SELECT id FROM members matching the rules (brand-wide), optionally lo <= id < hi."""
    qs = Member.objects.filter(brand_id=brand_id).filter(rule_language.compile_rules(rules))
    if channel:
        qs = qs.filter(**{f"consent_{channel}": True})
    if lo is not None:
        qs = qs.filter(pk__gte=lo, pk__lt=hi)
    return qs.order_by().values("id").query.sql_with_params()


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- rule tags --------------------------------------------------------------------------------


def refresh_rule_tag(*, tag_id: int) -> dict[str, int]:
    """Apply a rule tag: tag matching members (source rule) and untag rule-sourced ones that no
    longer match, in two set-based statements. A member tagged by hand keeps the tag."""
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None or tag.rule is None:
        return {"added": 0, "removed": 0}
    rules = rule_language.validate_rules(tag.rule, brand_id=tag.brand_id)
    sql, params = _matching_ids_sql(brand_id=tag.brand_id, rules=rules, channel="")
    table = MemberTag._meta.db_table
    with transaction.atomic():
        # NOT EXISTS (an anti-join), not NOT IN: PostgreSQL cannot hash a big NOT IN list
        still_matching = (
            Member.objects.filter(brand_id=tag.brand_id, pk=OuterRef("member_id"))
            .filter(rule_language.compile_rules(rules))
            .values("id")
        )
        removed, _n = (
            MemberTag.objects.filter(tag_id=tag.pk, source=TagSource.RULE)
            .exclude(Exists(still_matching))
            .delete()
        )
        added = _execute(
            f"INSERT INTO {table} (brand_id, member_id, tag_id, source, created_at) "
            f"SELECT %s, m.id, %s, %s, %s FROM ({sql}) m "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.member_id = m.id AND t.tag_id = %s)",
            [tag.brand_id, tag.pk, TagSource.RULE, timezone.now(), *params, tag.pk],
        )
    return {"added": added, "removed": removed}


def rule_tag_ids() -> list[int]:
    """Every rule tag of every brand (for the nightly refresh)."""
    return list(Tag.objects.filter(rule__isnull=False).order_by("pk").values_list("pk", flat=True))


def start_tag_refresh(*, tag: Tag) -> None:
    """Refresh a rule tag in the background (members.tasks.segments)."""
    from ..tasks.segments import refresh_rule_tag_task

    enqueue_job(refresh_rule_tag_task, tag.pk)


# --- segments ---------------------------------------------------------------------------------


def _clean_segment(*, brand_id: int, name: Any, rules: Any, channel: Any) -> tuple[str, dict, str]:
    name = " ".join(str(name or "").split()) if isinstance(name, str) else ""
    if not name or len(name) > 80:
        raise InvalidInput(
            "invalid_name", _("A name has 1 to 80 characters."), fields={"name": [_("1 to 80 characters.")]}
        )
    if channel not in ("", *ConsentChannel.values):
        raise InvalidInput(
            "invalid_channel", _("Unknown channel."), fields={"channel": [_("Unknown channel.")]}
        )
    return name, rule_language.validate_rules(rules, brand_id=brand_id), channel


def save_segment(
    *,
    brand_id: int,
    name: str,
    rules: dict,
    channel: str = "",
    created_by=None,
    segment: Segment | None = None,
    materialise: bool = True,
) -> Segment:
    """Create a segment (or change `segment`) from validated rules, then materialise it in the
    background. A name the brand already uses is a Conflict. Audited."""
    name, rules, channel = _clean_segment(brand_id=brand_id, name=name, rules=rules, channel=channel)
    try:
        with transaction.atomic():
            if segment is None:
                segment = Segment.objects.create(
                    brand_id=brand_id, name=name, rules=rules, channel=channel, created_by=created_by
                )
                audit.record(AuditAction.CREATE, segment, after=audit.snapshot(segment))
            else:
                before = audit.snapshot(segment)
                segment.name, segment.rules, segment.channel = name, rules, channel
                segment.save(update_fields=["name", "rules", "channel", "updated_at"])
                audit.record(AuditAction.UPDATE, segment, before=before, after=audit.snapshot(segment))
            if materialise:
                start_materialisation(segment=segment)
    except IntegrityError as exc:
        raise Conflict(
            "duplicate_segment", _("A segment with this name exists."), fields={"name": [_("Already used.")]}
        ) from exc
    return segment


def start_materialisation(*, segment: Segment) -> Segment:
    """Mark the segment waiting and hand materialisation to a background job."""
    from ..tasks.segments import materialise_segment_task

    with transaction.atomic():
        Segment.objects.filter(pk=segment.pk).update(status=JobStatus.PENDING, progress=0, error="")
        segment.status, segment.progress, segment.error = JobStatus.PENDING, 0, ""
        enqueue_job(materialise_segment_task, segment.pk)
    return segment


def _progress_key(segment_id: int) -> str:
    return f"segment-progress:{segment_id}"


def materialise_progress(*, segment: Segment) -> int:
    """Percent done: the live figure while running (cache), else the row's."""
    if segment.status == JobStatus.RUNNING:
        return int(cache.get(_progress_key(segment.pk), segment.progress))
    return segment.progress


def materialise_segment(*, segment_id: int, chunk: int = CHUNK_IDS) -> int | None:
    """Replace the segment's members with those matching its rules now (brand-wide; a channel
    segment only members consenting on it). One transaction: delete, then INSERT ... SELECT
    per member-id range, so readers never see a half-built segment; a concurrent run waits on
    the segment's row lock. Returns the size, or None if the segment is gone."""
    if not Segment.objects.filter(pk=segment_id).update(status=JobStatus.RUNNING, progress=0, error=""):
        return None
    cache.set(_progress_key(segment_id), 0, 3600)
    try:
        with transaction.atomic():
            segment = Segment.objects.select_for_update().get(pk=segment_id)
            rules = rule_language.validate_rules(segment.rules, brand_id=segment.brand_id)
            bounds = Member.objects.filter(brand_id=segment.brand_id).aggregate(lo=Min("id"), hi=Max("id"))
            SegmentMember.objects.filter(segment_id=segment.pk).delete()
            table = SegmentMember._meta.db_table
            size = 0
            if bounds["lo"] is not None:
                lo, top = bounds["lo"], bounds["hi"] + 1
                span = max(top - lo, 1)
                while lo < top:
                    hi = min(lo + chunk, top)
                    sql, params = _matching_ids_sql(
                        brand_id=segment.brand_id, rules=rules, channel=segment.channel, lo=lo, hi=hi
                    )
                    size += _execute(
                        f"INSERT INTO {table} (brand_id, segment_id, member_id) SELECT %s, %s, m.id FROM ({sql}) m",
                        [segment.brand_id, segment.pk, *params],
                    )
                    lo = hi
                    cache.set(_progress_key(segment_id), min(99, int(100 * (hi - bounds["lo"]) / span)), 3600)
            Segment.objects.filter(pk=segment.pk).update(
                status=JobStatus.DONE,
                progress=100,
                size=size,
                materialised_at=timezone.now(),
                updated_at=timezone.now(),
            )
    except Exception as exc:
        Segment.objects.filter(pk=segment_id).update(status=JobStatus.FAILED, error=str(exc)[:2000])
        raise
    finally:
        cache.delete(_progress_key(segment_id))
    return size


def record_segment_export(*, segment: Segment, rows: int | None = None) -> None:
    """Audit an export of a segment's members (masked identity only)."""
    audit.record(EXPORT_ACTION, segment, message=f"segment exported as CSV ({segment.name})"[:255])
