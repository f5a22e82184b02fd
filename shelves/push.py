"""Tell open kiosk pages that what they show changed: a message to each affected screen's
channel-layer group after commit (the kiosk consumer forwards it to the page, which
refetches its payload). Works with the Redis layer and the in-memory one alike."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from retail.broadcast import group_send

logger = logging.getLogger(__name__)


def screen_group(screen_id: int) -> str:
    return f"shelf-screen-{screen_id}"


def notify_screens(screen_ids: Iterable[int], *, reason: str = "catalog") -> None:
    """After the current transaction commits, send {"type": "shelf.changed", "reason": ...}
    to every screen's group. A missing channel layer or a send failure is logged: the kiosk
    also polls on its heartbeat, so a lost push only delays the change."""
    ids = sorted(set(screen_ids))
    if not ids:
        return

    def send() -> None:
        try:
            group_send((screen_group(i), {"type": "shelf.changed", "reason": reason}) for i in ids)
        except Exception:  # a layer outage must not fail the write; the heartbeat catches up
            logger.exception("could not push a change to screens %s", ids)

    transaction.on_commit(send)
