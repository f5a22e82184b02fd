from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from retail import maintenance, tasks
from retail.models import DomainEvent, IdempotencyRecord, NotificationKind, StaffNotification
from retail.schedules import PERIODIC_TASKS
from retail.services import create_api_client

pytestmark = pytest.mark.django_db


def test_setup_periodic_tasks_writes_every_declared_task_once():
    call_command("setup_periodic_tasks")
    call_command("setup_periodic_tasks")
    rows = PeriodicTask.objects.filter(name__in=PERIODIC_TASKS)
    assert rows.count() == len(PERIODIC_TASKS)
    for row in rows:
        assert row.crontab is not None and row.interval is None  # crontab, never intervals
        assert row.task == PERIODIC_TASKS[row.name][0]


def test_every_declared_task_is_a_registered_celery_task():
    from retail.celery import app

    app.loader.import_default_modules()
    for task_name, _, _ in PERIODIC_TASKS.values():
        assert task_name in app.tasks


def test_expired_idempotency_records_are_purged(brand):
    client = create_api_client(brand=brand, name="p", scopes=["orders:write"])
    old = IdempotencyRecord.objects.create(
        client=client, key="old", method="POST", path="/", request_hash="x"
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=49))
    IdempotencyRecord.objects.create(client=client, key="new", method="POST", path="/", request_hash="x")
    assert tasks.purge_idempotency_records_task.delay() is not None
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_old_domain_events_are_purged(brand):
    DomainEvent.objects.create(
        brand=brand, name="store.created", occurred_at=timezone.now() - timedelta(days=31)
    )
    DomainEvent.objects.create(brand=brand, name="store.created", occurred_at=timezone.now())
    assert maintenance.purge_domain_events() == 1
    assert DomainEvent.objects.count() == 1


def test_old_read_or_resolved_notifications_are_purged_open_ones_stay(brand, hq_user, settings):
    settings.NOTIFICATION_RETENTION_DAYS = 90
    now, old = timezone.now(), timezone.now() - timedelta(days=91)

    def note(key, *, created, read=False, resolved=False):
        row = StaffNotification.objects.create(
            brand=brand,
            recipient=hq_user,
            kind=NotificationKind.OTHER,
            message="webhook_paused",
            dedupe_key=key,
            read_at=now if read else None,
            resolved_at=now if resolved else None,
        )
        StaffNotification.objects.filter(pk=row.pk).update(created_at=created)

    note("old-read", created=old, read=True)
    note("old-resolved", created=old, resolved=True)
    note("old-open", created=old)  # nobody acted yet: kept
    note("new-read", created=now - timedelta(days=89), read=True)
    assert tasks.purge_staff_notifications_task.delay() is not None
    assert sorted(StaffNotification.objects.values_list("dedupe_key", flat=True)) == ["new-read", "old-open"]


@pytest.mark.django_db(transaction=True)
def test_embedded_beat_runs_due_tasks_in_process(brand):
    # given an outbox row past retention and a purge job due every minute
    import time

    from django_celery_beat.models import CrontabSchedule

    from retail import embedded

    DomainEvent.objects.create(
        brand=brand, name="store.created", occurred_at=timezone.now() - timedelta(days=40)
    )
    every_minute = CrontabSchedule.objects.create(minute="*", hour="*", timezone="Asia/Shanghai")
    PeriodicTask.objects.create(
        name="test-purge",
        task="retail.tasks.purge_domain_events_task",
        crontab=every_minute,
        last_run_at=timezone.now() - timedelta(minutes=5),
    )
    # when the embedded beat runs inside this process
    service = embedded.start_embedded_beat()
    try:
        assert service is not None and embedded.start_embedded_beat() is None  # once per process
        deadline = time.monotonic() + 20
        while DomainEvent.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        embedded.stop_embedded_beat()
    # then the job ran without any broker or worker
    assert not DomainEvent.objects.exists()
