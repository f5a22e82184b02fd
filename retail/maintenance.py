"""Housekeeping services run by periodic tasks."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import DomainEvent, IdempotencyRecord


def purge_idempotency_records() -> int:
    """Delete idempotency records older than IDEMPOTENCY_TTL_HOURS."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def purge_domain_events() -> int:
    """Delete outbox rows older than DOMAIN_EVENT_RETENTION_DAYS."""
    cutoff = timezone.now() - timedelta(days=settings.DOMAIN_EVENT_RETENTION_DAYS)
    deleted, _ = DomainEvent.objects.filter(occurred_at__lt=cutoff).delete()
    return deleted
