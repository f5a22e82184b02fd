"""The dashboards' websocket: ws/dashboards/?store=<id> or ?store=hq.

On connect: the session's user (AuthMiddlewareStack) must be allowed to see that dashboard
(retail.dashboards.selectors: HQ of the brand or the store's manager; HQ's page is HQ's
only), else the socket is closed. Then one snapshot with its sequence number, then deltas
`{"type": "deltas", "items": [{seq, store, minute, inc, devices}]}`, coalesced: at most one
frame per FLUSH_SECONDS per socket, however fast the events come. The page asks
`{"type": "resync"}` when it sees a gap in seq and gets a fresh snapshot. The socket also
joins the user's own group: `{"type": "notifications"}` tells the page to fetch the header's
bell (retail.notifications)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from ..notifications import user_group
from . import selectors
from .rollups import hq_group, store_group

FLUSH_SECONDS = 0.25  # at most ~4 frames a second per socket


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = None
        self.user_group = None
        self.buffer: list[dict[str, Any]] = []
        self.seq = 0
        self.ready = False
        self.flush_task: asyncio.Task | None = None
        self.last_flush = 0.0
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = parse_qs((self.scope.get("query_string") or b"").decode())
        target = (query.get("store") or [""])[0]
        self.target = await database_sync_to_async(self._resolve)(user, target)
        if self.target is None:
            await self.close(code=4403)
            return
        kind, value = self.target
        self.group = hq_group(value) if kind == "hq" else store_group(value.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.user_group = user_group(user.pk)  # the header's bell follows live
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        await self.send_snapshot()

    def _resolve(self, user, target: str):
        from ..selectors import principal_for_user

        session = self.scope.get("session") or {}
        principal = principal_for_user(user=user, role_id=session.get("active_role_id"))
        if target == "hq":
            return ("hq", principal.brand_id) if selectors.may_see_hq(principal) else None
        if not target.isdigit():
            return None
        store = selectors.dashboard_store(principal, int(target))
        return ("store", store) if store is not None else None

    def _snapshot(self) -> dict[str, Any]:
        kind, value = self.target
        if kind == "hq":
            return selectors.hq_snapshot(brand_id=value)
        return selectors.store_today(value)

    async def send_snapshot(self):
        self.ready = False
        snapshot = await database_sync_to_async(self._snapshot)()
        self.seq = snapshot["seq"]
        await self.send_json({"type": "snapshot", "seq": self.seq, "data": snapshot})
        self.ready = True
        self._schedule()

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send_snapshot()

    async def disconnect(self, code):
        if self.flush_task is not None:
            self.flush_task.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.user_group:
            await self.channel_layer.group_discard(self.user_group, self.channel_name)

    async def notifications_changed(self, message):
        """The user's open notifications changed: the page fetches the bell again."""
        await self.send_json({"type": "notifications"})

    async def dispatch(self, message):
        # A delta touches no database: skip Channels' close_old_connections before it, which
        # is a hop to the one sync thread per message — with 1,000 sockets, 1,000 hops in a
        # row per event, the bulk of the fan-out time (docs/benchmarks.md, ws_fanout).
        # Everything else (websocket.connect/receive/disconnect) goes the usual way; the
        # database reads in connect and resync run in database_sync_to_async, which closes
        # old connections itself.
        if message.get("type") == "dashboard.delta":
            await self.dashboard_delta(message)
            return
        await super().dispatch(message)

    @classmethod
    async def encode_json(cls, content):
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS).decode()

    async def dashboard_delta(self, message):
        self.buffer.append(message["delta"])
        if self.ready and (self.flush_task is None or self.flush_task.done()):
            if asyncio.get_running_loop().time() >= self.last_flush + FLUSH_SECONDS:
                # the usual case, nothing sent lately: send now, no task to schedule
                await self._flush(0)
                return
        self._schedule()

    def _schedule(self) -> None:
        if not self.ready or not self.buffer:
            return
        if self.flush_task is not None and not self.flush_task.done():
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self.last_flush + FLUSH_SECONDS - loop.time())
        self.flush_task = loop.create_task(self._flush(delay))

    async def _flush(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        items = sorted((d for d in self.buffer if d["seq"] > self.seq), key=lambda d: d["seq"])
        self.buffer = []
        self.last_flush = asyncio.get_running_loop().time()
        if items:
            await self.send_json({"type": "deltas", "items": items})
        self.flush_task = None
        self._schedule()  # what arrived meanwhile goes out in the next frame
