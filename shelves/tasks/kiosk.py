"""Celery tasks of the kiosk area: none. The kiosk needs no background work: payloads are
built on the first request and cached (shelves.selectors.kiosk), impressions are folded in by
the heartbeat itself (one upsert), and a silent screen goes offline through the device
registry's own heartbeat watch (devices.services.registry.mark_offline_devices)."""
