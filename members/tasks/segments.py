"""Celery tasks of member segments: thin, idempotent, taking ids and calling services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from ..services import segments as segment_services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def materialise_segment_task(segment_id: int) -> int | None:
    """Rebuild a segment's members from its rules; a repeat rebuilds the same set."""
    return segment_services.materialise_segment(segment_id=segment_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def refresh_rule_tag_task(tag_id: int) -> dict:
    """Re-apply a rule tag to the brand's members; a repeat changes nothing."""
    return segment_services.refresh_rule_tag(tag_id=tag_id)


@shared_task(acks_late=True, ignore_result=True)
def refresh_all_rule_tags_task() -> int:
    """Nightly (after the profiles): re-apply every rule tag of every brand, one task each."""
    tag_ids = segment_services.rule_tag_ids()
    for tag_id in tag_ids:
        refresh_rule_tag_task.delay(tag_id)
    return len(tag_ids)
