"""What the workbench subscribes to and registers at start-up (called from apps.ready).

Each area adds its line here: event subscribers (domain events of the core and of members),
attribution resolvers for share-link tokens, onboarding steps, demo seed/wipe hooks."""

from __future__ import annotations


def connect() -> None:
    pass
