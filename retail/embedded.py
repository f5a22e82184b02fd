"""Embedded mode: run django-celery-beat's database scheduler in a thread of the server
process, so scheduled jobs work without a broker (tasks themselves run eagerly)."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)
_started = threading.Event()


def start_embedded_beat() -> bool:
    """Start the beat loop once per process; returns False when it was already running."""
    if _started.is_set():
        return False
    _started.set()

    def run() -> None:
        from celery.beat import Service

        from .celery import app

        try:
            Service(app, scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler").start(
                embedded_process=True
            )
        except Exception:  # never take the web server down with it
            logger.exception("embedded beat stopped")

    threading.Thread(target=run, name="tiandi-embedded-beat", daemon=True).start()
    logger.info("embedded beat started (tasks run in-process)")
    return True
