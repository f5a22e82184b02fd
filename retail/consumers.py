"""Live events over websockets: a logged-in user joins the groups of what they may see."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .notifications import user_group
from .tenancy import groups_for


class LiveEventsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes domain events of the user's brand (HQ) or stores (managers, guides)."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        principal = await database_sync_to_async(self._principal)(user)
        self.groups_joined = groups_for(principal)
        if not self.groups_joined:
            await self.close(code=4403)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.user_group = user_group(user.pk)  # the user's own: their bell (retail.notifications)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "groups": self.groups_joined})

    def _principal(self, user):
        from .selectors import principal_for_user

        session = self.scope.get("session") or {}
        return principal_for_user(user=user, role_id=session.get("active_role_id"))

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "user_group", None):
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def domain_event(self, message):
        await self.send_json({"type": "event", **message["event"]})

    async def notifications_changed(self, message):
        """The user's bell count changed: the page fetches the bell again."""
        await self.send_json({"type": "notifications"})
