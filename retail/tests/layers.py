"""Listening to a channel-layer group in a test, on either Redis layer (core or pub/sub) or
the in-memory one: subscribe, run the (sync) action, then receive — all in one event loop,
as the pub/sub layer needs (it only delivers to channels subscribed in its own loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer


def message_after(group: str, action: Callable[[], Any], *, timeout: float = 5.0) -> tuple[Any, dict]:
    """(what `action()` returned, the first message the group got after it)."""
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            result = await sync_to_async(action)()
            message = await asyncio.wait_for(layer.receive(channel), timeout)
        finally:
            await layer.group_discard(group, channel)
        return result, message

    return async_to_sync(scenario)()
