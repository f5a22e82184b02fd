"""What the workbench subscribes to and registers at start-up (called from apps.ready).

Each area keeps its own wiring in a `connect()` function of its services module (event
subscribers, attribution resolvers, demo hooks); this calls every one that exists."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

AREAS = (
    "guides.services.assignments",
    "guides.services.plans",
    "guides.services.calls",
    "guides.services.messaging",
    "guides.services.conversions",
    "guides.services.sharing",
    "guides.services.livestreams",
    "guides.demo",
)


def connect() -> None:
    for name in AREAS:
        if find_spec(name) is None:
            continue
        connect_area = getattr(import_module(name), "connect", None)
        if connect_area is not None:
            connect_area()
