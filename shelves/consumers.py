"""The kiosk page's websocket (ws/shelf/<token>/): the token is the capability, as on the
page. An unknown or retired screen is closed; an open page joins its screen's group
(shelves.push.screen_group) and gets {"type": "shelf.changed"} when what it shows changed,
then refetches its payload."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .push import screen_group
from .selectors import kiosk as selectors

CLOSE_UNKNOWN = 4404
CLOSE_RETIRED = 4410


class KioskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.token = self.scope["url_route"]["kwargs"].get("token", "")
        self.group = None
        screen = await database_sync_to_async(selectors.screen_for_token)(self.token, fresh=True)
        if screen is None:
            await self.close(code=CLOSE_UNKNOWN)
            return
        if screen.retired:
            await self.close(code=CLOSE_RETIRED)
            return
        self.group = screen_group(screen.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "screen": screen.id})

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def shelf_changed(self, message):
        # what the screen shows changed: the cached screen (catalog versions, status) goes,
        # so the page's refetch reads it fresh
        await selectors.aforget_screen(self.token)
        await self.send_json({"type": "shelf.changed", "reason": message.get("reason", "")})
