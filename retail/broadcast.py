"""The first event consumer: every domain event goes to its brand's and store's
channel-layer groups, where live pages (dashboards, later) listen."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .events import Event
from .tenancy import brand_group, store_group


def broadcast_event(event: Event) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "domain.event", "event": event.as_message()}
    send = async_to_sync(layer.group_send)
    send(brand_group(event.brand_id), message)
    if event.store_id:
        send(store_group(event.store_id), message)
