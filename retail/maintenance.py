"""Housekeeping services run by periodic tasks."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import DomainEvent, IdempotencyRecord, StaffNotification


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


def purge_staff_notifications() -> int:
    """Delete notifications created over NOTIFICATION_RETENTION_DAYS ago that were read or
    resolved; an open one (unread and unresolved) stays until someone acts on it."""
    cutoff = timezone.now() - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    done = Q(read_at__isnull=False) | Q(resolved_at__isnull=False)
    deleted, _ = StaffNotification.objects.filter(done, created_at__lt=cutoff).delete()
    return deleted
