"""What the workbench subscribes to and registers at start-up (called from apps.ready):
each area keeps its own wiring in a `connect()` of its module (event subscribers, the
share-link attribution resolver, demo seed/wipe hooks)."""

from __future__ import annotations


def connect() -> None:
    from . import demo
    from .services import assignments, conversions, plans, profiles, sharing

    for area in (assignments, plans, conversions, sharing, profiles, demo):
        area.connect()
