"""Embedded mode: run django-celery-beat's database scheduler in a thread of the server
process, so scheduled jobs work without a broker (tasks themselves run eagerly)."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_service = None


def start_embedded_beat():
    """Start the beat loop once per process; returns the running beat Service (or None
    when it was already running)."""
    global _service
    from celery.beat import Service

    from .celery import app

    with _lock:
        if _service is not None:
            return None
        _service = Service(app, scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler")
        service = _service

    def run() -> None:
        try:
            service.start(embedded_process=True)
        except Exception:  # never take the web server down with it
            logger.exception("embedded beat stopped")

    threading.Thread(target=run, name="tiandi-embedded-beat", daemon=True).start()
    logger.info("embedded beat started (tasks run in-process)")
    return service


def stop_embedded_beat() -> None:
    global _service
    with _lock:
        if _service is not None:
            _service.stop()
            _service = None
