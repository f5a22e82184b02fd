"""The first event consumer: every domain event goes to its brand's and store's
channel-layer groups, where live pages (dashboards, later) listen."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .events import Event
from .tenancy import brand_group, store_group


def group_send(messages: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Send each (group, message) through the channel layer (Redis or in-memory); nothing
    when no layer is configured. The one way the core and the apps reach live pages."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for group, message in messages:
        send(group, message)


def broadcast_event(event: Event) -> None:
    message = {"type": "domain.event", "event": event.as_message()}
    groups = [brand_group(event.brand_id)] + ([store_group(event.store_id)] if event.store_id else [])
    group_send((group, message) for group in groups)
