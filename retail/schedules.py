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
    "pump-due-webhooks": (
        "retail.tasks.pump_due_webhooks_task",
        {"minute": "*"},
        "Webhook retries whose back-off ran out go out again (and lost pumps restart).",
    ),
    "purge-api-request-log": (
        "retail.tasks.purge_api_request_log_task",
        {"minute": "53", "hour": "3"},
        "The partner-API request log keeps API_REQUEST_LOG_DAYS (default 7) of diagnostics.",
    ),
    "recompute-dashboard-rollups": (
        "retail.dashboards.tasks.recompute_rollups_task",
        {"minute": "20", "hour": "3"},
        "Recompute yesterday's dashboard rollups from the ledger and report drift; forget folded-event ids past the outbox retention.",
    ),
    "purge-domain-events": (
        "retail.tasks.purge_domain_events_task",
        {"minute": "41", "hour": "3"},
        "The outbox keeps DOMAIN_EVENT_RETENTION_DAYS of history for replays and webhooks.",
    ),
    "purge-staff-notifications": (
        "retail.tasks.purge_staff_notifications_task",
        {"minute": "47", "hour": "3"},
        "Notifications read or resolved NOTIFICATION_RETENTION_DAYS (default 90) ago are deleted.",
    ),
    "expire-lapsed-points": (
        "members.tasks.expire_lapsed_points_task",
        {"minute": "30", "hour": "2", "day_of_month": "1"},
        "Unused points lapse POINTS_EXPIRE_AFTER_DAYS after they were credited (FIFO).",
    ),
    "compute-member-profiles": (
        "members.tasks.profiles.compute_all_profiles_task",
        {"minute": "10", "hour": "1"},
        "Nightly RFM / lifetime value / favourite categories of every brand's members.",
    ),
    "refresh-rule-tags": (
        "members.tasks.segments.refresh_all_rule_tags_task",
        {"minute": "40", "hour": "2"},
        "Rule tags follow their rules nightly, after the profiles they read are recomputed.",
    ),
    "discard-stale-member-uploads": (
        "members.tasks.imports.discard_stale_uploads_task",
        {"minute": "5", "hour": "4"},
        "Uploaded member files hold clear PII: unfinished imports lose them after 7 days.",
    ),
    "compute-device-backflow": (
        "devices.tasks.backflow.compute_device_days_task",
        {"minute": "20", "hour": "0"},
        "Devices' data-backflow scores of yesterday (and the day before again, for late events).",
    ),
    "issue-backflow-verdicts": (
        "devices.tasks.backflow.issue_monthly_verdicts_task",
        {"minute": "0", "hour": "2", "day_of_month": "2"},
        "Partners' monthly reward / penalty notices (on the 2nd: the last day is rescored by then).",
    ),
    "mark-offline-devices": (
        "devices.tasks.registry.mark_offline_devices_task",
        {"minute": "*"},
        "A device silent for more than three heartbeat intervals goes offline (device.offline).",
    ),
    "publish-shelf-scan-counts": (
        "shelves.tasks.scans.publish_scan_counts_task",
        {"minute": "*"},
        "One shelf.scans_counted per store and minute for the live dashboards (single scans are not events).",
    ),
    "delete-expired-device-events": (
        "devices.tasks.registry.delete_expired_device_events_task",
        {"minute": "20", "hour": "3"},
        "Raw telemetry is kept for the brand's retention days; daily scores stay.",
    ),
    "apply-due-campaign-phases": (
        "promotions.tasks.campaigns.apply_due_phases_task",
        {"minute": "*"},
        "Campaign phase changes that are due (each phase also has its own one-off clocked entry; this catches up a missed one).",
    ),
    "close-expired-offline-blocks": (
        "promotions.tasks.offline.close_expired_blocks_task",
        {"minute": "35"},
        "Offline coupon blocks of templates expired over a day ago: unused coupons return to stock.",
    ),
    "reconcile-coupon-stock-gates": (
        "promotions.tasks.coupons.reconcile_stock_gates_task",
        {"minute": "*"},
        "The flash-sale stock counters in Redis re-read from the database (which alone decides a claim).",
    ),
    "remind-livestreams": (
        "guides.tasks.livestreams.send_livestream_reminders_task",
        {"minute": "*"},
        "Members who signed up for a livestream get their reminder (once) shortly before it starts.",
    ),
    "reattribute-recent-conversions": (
        "guides.tasks.conversions.reattribute_recent_task",
        {"minute": "30", "hour": "3"},
        "Guide conversions of the last two days recomputed: missed events, interactions synced from offline after the order, refunds.",
    ),
    "expire-stale-calls": (
        "guides.tasks.calls.expire_stale_calls_task",
        {"minute": "*/10"},
        "Workbench calls whose provider never sent a final status after 2 hours are closed (failed, or completed if answered).",
    ),
    "deliver-stuck-messages": (
        "guides.tasks.messaging.deliver_stuck_messages_task",
        {"minute": "*/5"},
        "1:1 messages still queued 10 minutes after their hand-off (lost after commit) go to the provider.",
    ),
}
