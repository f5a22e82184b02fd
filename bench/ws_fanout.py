"""ws_fanout: one event reaching BENCH_FANOUT_SOCKETS (default 1,000) dashboard sockets on one
server over the Redis channel layer, against a raw channels_redis group_send to as many bare
consumers (the /ws/live/ consumer, which forwards a group message as it comes).

Measured: the HQ command centre's sockets (ws/dashboards/?store=hq); the bench process folds
an order event (retail.dashboards.rollups.fold_event: the rollup upsert, then the delta to
the brand's dashboard group) and times each socket's delta. Baseline: /ws/live/ sockets of
the same user; the bench process group_sends one message to the brand group. Each of
BENCH_FANOUT_EVENTS events is a round; latencies are per socket and event. The printed
ratio is deliveries per second of fan-out time (ours over the baseline's); the notes give
p50/p99 latency (goal: p99 under 250 ms and within 2x of the baseline).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

from .harness import Bench, Comparison, LoadResult, collect_static, log_in, redis_url, register
from .member_list import PASSWORD

SOCKETS = int(os.environ.get("BENCH_FANOUT_SOCKETS", "1000"))
EVENTS = int(os.environ.get("BENCH_FANOUT_EVENTS", "20"))
CLIENTS = max(1, int(os.environ.get("BENCH_FANOUT_CLIENTS", "2")))  # client processes
BATCH = 50  # sockets opened at once
TIMEOUT = 15.0  # seconds an event may take to reach every socket


def _seed():
    from django.contrib.auth import get_user_model

    from retail.choices import Role
    from retail.models import Brand, StaffRole, Store

    brand, _ = Brand.objects.get_or_create(slug="bench-fanout", defaults={"name": "Bench fan-out"})
    store, _ = Store.objects.get_or_create(brand=brand, code="F001", defaults={"name": "Fan-out store"})
    user, _ = get_user_model().objects.get_or_create(username=f"bench-fanout-hq-{brand.pk}")
    user.set_password(PASSWORD)
    user.save()
    StaffRole.objects.get_or_create(user=user, brand=brand, store=None, role=Role.HQ_ADMIN)
    return brand, store, user


def _layer():
    """The server's Redis channel layer (its prefix), installed as this process's default
    so the fold's group_send reaches the server's sockets."""
    from channels.layers import channel_layers
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    # the same kind of layer as the server's (CHANNEL_LAYER=core|pubsub reaches both)
    backend = {"core": RedisChannelLayer, "pubsub": RedisPubSubChannelLayer}[
        os.environ.get("CHANNEL_LAYER", "pubsub")
    ]
    layer = backend(hosts=[redis_url()], prefix="tiandi-bench")
    channel_layers.backends["default"] = layer
    return layer


async def _open(ws_url: str, path: str, cookie: str, origin: str, count: int) -> list:
    from websockets.asyncio.client import connect

    sockets = []
    for first in range(0, count, BATCH):
        batch = await asyncio.gather(
            *(
                connect(
                    f"{ws_url}{path}", additional_headers={"Cookie": cookie, "Origin": origin}, max_size=None
                )
                for _ in range(min(BATCH, count - first))
            )
        )
        for ws in batch:
            await ws.recv()  # the snapshot (dashboards) or hello (live)
        sockets.extend(batch)
    return sockets


def _client_main(conn, ws_url: str, path: str, cookie: str, origin: str, count: int) -> None:
    """One client process: holds `count` sockets and, per round, reports when each socket got
    its frame (time.monotonic, one clock for every process of the machine)."""
    import uvloop

    async def main():
        loop = asyncio.get_running_loop()
        sockets = await _open(ws_url, path, cookie, origin, count)
        conn.send("open")
        while await loop.run_in_executor(None, conn.recv) == "arm":
            got: list[float] = []
            done = asyncio.Event()

            async def read(ws, got=got, done=done):
                await ws.recv()
                got.append(time.monotonic())
                if len(got) == len(sockets):
                    done.set()

            readers = [asyncio.create_task(read(ws)) for ws in sockets]
            await asyncio.sleep(0.02)  # every reader waits in recv()
            conn.send("armed")
            try:
                await asyncio.wait_for(done.wait(), TIMEOUT)
            except TimeoutError:
                pass
            for task in readers:
                task.cancel()
            conn.send(got)
        for ws in sockets:
            await ws.close()

    uvloop.run(main())


class Clients:
    """CLIENTS processes holding SOCKETS sockets between them: one Python process reading
    1,000 sockets measures its own event loop more than the server's fan-out."""

    def __init__(self, ws_url: str, path: str, cookie: str, origin: str):
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no copy of the parent's DB connections
        self.conns, self.processes = [], []
        shares = [SOCKETS // CLIENTS + (1 if n < SOCKETS % CLIENTS else 0) for n in range(CLIENTS)]
        for share in shares:
            parent, child = context.Pipe()
            process = context.Process(target=_client_main, args=(child, ws_url, path, cookie, origin, share))
            process.start()
            self.conns.append(parent)
            self.processes.append(process)

    async def _each(self, message=None) -> list:
        loop = asyncio.get_running_loop()
        if message is not None:
            for conn in self.conns:
                conn.send(message)
        return await asyncio.gather(*(loop.run_in_executor(None, conn.recv) for conn in self.conns))

    async def opened(self) -> None:
        await self._each()

    async def rounds(self, fire, label: str) -> LoadResult:
        """Fire EVENTS events one after the other; time each socket's first frame after each."""
        result = LoadResult(label=label)
        for _ in range(EVENTS):
            await self._each("arm")
            t0 = time.monotonic()
            await fire()
            got = [t for times in await self._each() for t in times]
            if len(got) < SOCKETS:
                result.failures.append(f"{SOCKETS - len(got)} sockets missed an event")
            result.latencies += [t - t0 for t in got]
            result.seconds += (max(got) - t0) if got else TIMEOUT
            result.statuses += Counter({200: len(got), 599: SOCKETS - len(got)})
            await asyncio.sleep(0.4)  # past the dashboards' coalescing window: each event is a frame
        return result

    async def close(self) -> None:
        for conn in self.conns:
            conn.send("close")
        loop = asyncio.get_running_loop()
        for process in self.processes:
            await loop.run_in_executor(None, process.join, 30)


@register(
    "ws_fanout",
    goal=0.5,
    about="one event to 1,000 dashboard sockets (Redis layer) vs a raw group_send to 1,000 bare consumers",
)
def ws_fanout(bench: Bench) -> Comparison:
    from asgiref.sync import sync_to_async
    from django.utils import timezone

    from retail.dashboards.rollups import fold_event
    from retail.events import Event
    from retail.models import DomainEvent
    from retail.tenancy import brand_group

    if not redis_url():
        raise SystemExit("bench ws_fanout: needs Redis (REDIS_URL)")
    brand, store, user = _seed()
    collect_static()
    layer = _layer()

    def fold_one():
        now = timezone.now()
        payload = {"order": 0, "channel": "store", "total": "1.00", "items": 1, "paid_at": now.isoformat()}
        row = DomainEvent.objects.create(
            brand=brand, store_id=store.pk, name="order.created", payload=payload, occurred_at=now
        )
        fold_event(Event(row.pk, row.name, brand.pk, store.pk, payload, now))

    async def fold():
        await sync_to_async(fold_one, thread_sensitive=False)()

    async def raw():
        await layer.group_send(
            brand_group(brand.pk),
            {"type": "domain.event", "event": {"id": 0, "event": "bench", "brand": brand.pk, "payload": {}}},
        )

    async def scenario(base_url: str, cookie: str):
        ws_url = base_url.replace("http://", "ws://")
        bare = Clients(ws_url, "/ws/live/", cookie, base_url)
        await bare.opened()
        baseline = await bare.rounds(raw, f"raw group_send to {SOCKETS} /ws/live/ sockets")
        await bare.close()
        ours = Clients(ws_url, "/ws/dashboards/?store=hq", cookie, base_url)
        await ours.opened()
        measured = await ours.rounds(fold, f"order event folded → {SOCKETS} dashboard sockets")
        await ours.close()
        return baseline, measured

    with bench.server() as server:
        cookie = log_in(server.base_url, user.get_username(), PASSWORD)
        import uvloop

        baseline, measured = uvloop.run(scenario(server.base_url, cookie))

    def p(result: LoadResult, q: float) -> str:
        return f"{result.percentile(q) * 1000:.1f} ms"

    p99_ratio = baseline.percentile(99) / measured.percentile(99) if measured.percentile(99) else 0.0
    comparison = Comparison(baseline=baseline, measured=measured)
    comparison.notes += [
        f"{SOCKETS} sockets in {CLIENTS} client processes, {EVENTS} events each way",
        f"delivery latency: dashboards p50 {p(measured, 50)}, p99 {p(measured, 99)}; "
        f"raw p50 {p(baseline, 50)}, p99 {p(baseline, 99)} (goal: p99 < 250 ms)",
        f"p99 ratio raw/ours {p99_ratio:.2f} (goal ≥ 0.5: within 2x of the raw baseline)",
    ]
    return comparison
