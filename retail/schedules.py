"""Every periodic task, declared in one place, on crontab schedules (beat restarts reset
interval schedules; crontab ones do not). `manage.py setup_periodic_tasks` writes them into
django-celery-beat's tables; `make run` and the beat process call it on start."""

# name → (task, crontab fields, why)
PERIODIC_TASKS = {
    "purge-idempotency-records": (
        "retail.tasks.purge_idempotency_records_task",
        {"minute": "17", "hour": "*"},
        "Idempotency keys expire after IDEMPOTENCY_TTL_HOURS; keep the table small.",
    ),
    "purge-domain-events": (
        "retail.tasks.purge_domain_events_task",
        {"minute": "41", "hour": "3"},
        "The outbox keeps DOMAIN_EVENT_RETENTION_DAYS of history for replays and webhooks.",
    ),
}
