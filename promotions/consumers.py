"""Live pages of promotions: the incident desk (ws/incidents/).

A logged-in user (AuthMiddlewareStack's session) joins the channel-layer groups of what
their active role may see (retail.tenancy.groups_for: HQ the brand's group, store staff
their stores' groups) — the groups retail's broadcast sends every domain event to after
commit. The desk forwards only `incident.*` events, as `{"type": "incident", "event",
"incident", "status", "store"}`; the page then fetches the row (scoped) itself, so nothing
but ids and status travels over the socket. The socket also joins the user's own group:
`{"type": "notifications"}` tells the page to fetch the header's bell (retail.notifications)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from retail.notifications import user_group
from retail.tenancy import groups_for


class IncidentDeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.groups_joined: list[str] = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        principal = await database_sync_to_async(self._principal)(user)
        groups = groups_for(principal)
        if not groups:
            await self.close(code=4403)
            return
        groups = [*groups, user_group(user.pk)]  # the header's bell follows live
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"type": "hello"})

    def _principal(self, user):
        from retail.selectors import principal_for_user

        session = self.scope.get("session") or {}
        return principal_for_user(user=user, role_id=session.get("active_role_id"))

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The desk only listens; anything the page sends is ignored."""

    async def notifications_changed(self, message):
        """The user's open notifications changed: the page fetches the bell again."""
        await self.send_json({"type": "notifications"})

    async def domain_event(self, message):
        event = message.get("event") or {}
        name = str(event.get("event") or "")
        if not name.startswith("incident."):
            return
        payload = event.get("payload") or {}
        await self.send_json(
            {
                "type": "incident",
                "event": name,
                "incident": payload.get("incident"),
                "status": payload.get("status", ""),
                "store": event.get("store"),
            }
        )
