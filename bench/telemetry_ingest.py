"""telemetry_ingest: 1,000,000 telemetry events in batches of 500 through
`POST /api/v1/devices/{id}/events/` (each device with its own credential; every event checked,
one in ten against its type's JSON Schema; dedupe by (device, seq); day counters; last seen)
against raw psycopg COPY of the same rows into devices_deviceevent, timed in the same run.

The COPY goes first, into a mirror set of devices (same seqs, types, payloads and times; the
table then holds those rows too, so the API writes into the larger table): one COPY stream,
one commit, into the same table with the same indexes and foreign keys. The ratio is the
API's events per second over COPY's. The stored count must equal the events sent.

How the API load is driven (changed 2026-11: the server does the same work as before):
8 requests in flight over 8 keep-alive HTTP/1.1 connections from a bare asyncio client
(_lean_drive) instead of httpx, each request's bytes built before the clock starts. httpx
spent ~1.7 ms of CPU per batch, on the same 2 cores the server and PostgreSQL share (the
bare client ~0.2 ms); the warm-up still goes through the harness's httpx driver. The notes
print the CPU per batch of the server process, of the load driver, and of PostgreSQL's
backends in each phase (COPY's one backend; the server pool's backends), so a run says
where the time went.

BENCH_TELEMETRY_EVENTS changes the event count (default 1,000,000; 50,000 for a quick look);
BENCH_TELEMETRY_DEVICES the number of devices (default 40); BENCH_CONCURRENCY the requests in
flight; BENCH_TELEMETRY_WORKERS the uvicorn worker processes (default 1, like every benchmark);
BENCH_TELEMETRY_DRIVER=httpx drives the API with the harness's httpx driver instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from .harness import CONCURRENCY, Bench, Comparison, LoadResult, Request, drive, register

EVENTS = int(os.environ.get("BENCH_TELEMETRY_EVENTS", "1000000"))
DEVICES = int(os.environ.get("BENCH_TELEMETRY_DEVICES", "40"))
WORKERS = os.environ.get("BENCH_TELEMETRY_WORKERS", "1")
DRIVER = os.environ.get("BENCH_TELEMETRY_DRIVER", "lean")
BATCH = 500
WARMUP_BATCHES = 20

DISPENSED = {
    "type": "object",
    "properties": {
        "member": {"type": "integer"},
        "count": {"type": "integer", "minimum": 1},
        "slot": {"type": "string", "maxLength": 8},
    },
    "required": ["count"],
    "additionalProperties": False,
}


def _event(seq: int, base: datetime) -> tuple[int, str, str, dict]:
    """The seq-th event of a device: (seq, type, occurred_at, payload)."""
    occurred = (base + timedelta(milliseconds=seq * 150)).isoformat()
    if seq % 10 == 9:
        return seq, "dispensed", occurred, {"member": 100000 + seq, "count": 1, "slot": f"A{seq % 6}"}
    return seq, "heartbeat", occurred, {"battery": 80 + seq % 20, "temp": 21.5, "rssi": -60 - seq % 15}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (Linux /proc), 0 elsewhere."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def _backends_cpu(dsn: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the bench's database (the
    server's pool; a backend that starts later counts from 0)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {pid: _cpu_seconds(pid) for (pid,) in pids}


def _batches(events: int, devices: int) -> list[tuple[int, int]]:
    """Request n → (device index, first seq): devices take turns, each with rising seqs."""
    count = events // BATCH
    return [(n % devices, (n // devices) * BATCH) for n in range(count)]


def _lean_drive(server, requests, *, label: str, count: int, concurrency: int) -> LoadResult:
    """Send requests 0..count-1 over `concurrency` keep-alive HTTP/1.1 connections, each
    request's bytes built before the clock starts; every answer's status and latency is
    recorded. A bare asyncio client: httpx spent ~1.7 ms of CPU per batch of 500 on this
    2-core machine, CPU the server and PostgreSQL then lacked (COPY's client is psycopg's C
    copy). The server sees ordinary requests either way."""
    return asyncio.run(_lean(server, requests, label, count, concurrency))


async def _lean(server, requests, label: str, count: int, concurrency: int) -> LoadResult:
    parts = urlsplit(server.base_url)
    host, port = parts.hostname, parts.port
    result = LoadResult(label=label)
    counter = iter(range(count))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in counter:
                req = requests(n)
                head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {host}:{port}"]
                head += [f"{k}: {v}" for k, v in req.headers.items()]
                head.append(f"Content-Length: {len(req.body or b'')}")
                data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                t0 = time.perf_counter()
                writer.write(data)
                if req.body:
                    writer.write(req.body)
                status, text = await _read_response(reader)
                result.latencies.append(time.perf_counter() - t0)
                result.statuses[status] += 1
                if not 200 <= status < 300 and len(result.failures) < 5:
                    result.failures.append(f"{req.method} {req.path} → {status}: {text[:300]}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


async def _read_response(reader) -> tuple[int, str]:
    """One HTTP/1.1 answer: (status, body), with Content-Length or chunked."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(c[:-2] for c in chunks)
    else:
        body = b""
    return status, body.decode("utf-8", "replace")


@register(
    "telemetry_ingest",
    goal=0.5,
    about=f"{EVENTS:,} events in batches of {BATCH} via POST /api/v1/devices/{{id}}/events/ "
    "vs psycopg COPY of the same rows",
)
def telemetry_ingest(bench: Bench) -> Comparison:
    import psycopg
    from django.conf import settings
    from django.db import connection

    from devices.models import DeviceEvent
    from devices.services.registry import define_device_type, register_device
    from retail.models import Brand, Store

    run_id = secrets.token_hex(3)
    brand = Brand.objects.create(slug=f"bench-telemetry-{run_id}", name=f"Bench telemetry {run_id}")
    store = Store.objects.create(brand=brand, code=f"BT{run_id}", name="Bench store")
    device_type = define_device_type(
        brand_id=brand.pk,
        code="bench-dispenser",
        name="Bench dispenser",
        kind="sample_dispenser",
        event_schemas={"dispensed": DISPENSED},
    )
    api_devices, mirror_ids = [], []
    for i in range(DEVICES):
        api_devices.append(register_device(store=store, device_type=device_type, serial=f"API-{run_id}-{i}"))
        mirror, _ = register_device(store=store, device_type=device_type, serial=f"COPY-{run_id}-{i}")
        mirror_ids.append(mirror.pk)
    warm_device, warm_credential = register_device(
        store=store, device_type=device_type, serial=f"WARM-{run_id}"
    )

    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    plan = _batches(EVENTS, DEVICES)
    sent = len(plan) * BATCH

    # --- the bodies, encoded before anything is timed -----------------------------------------
    def body(first: int) -> bytes:
        events = [
            {"seq": s, "occurred_at": o, "type": t, "payload": p}
            for s, t, o, p in (_event(seq, base) for seq in range(first, first + BATCH))
        ]
        return json.dumps({"events": events}).encode()

    bodies = [body(first) for _device, first in plan]
    paths = [f"/api/v1/devices/{d.pk}/events/" for d, _ in api_devices]
    headers = [
        {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
        for _d, credential in api_devices
    ]

    # --- the baseline: COPY of the same rows (mirror devices) ----------------------------------
    received = datetime.now(UTC).isoformat()
    rows = []
    for device_index, first in plan:
        for seq, event_type, occurred, payload in (_event(s, base) for s in range(first, first + BATCH)):
            rows.append(
                (brand.pk, mirror_ids[device_index], seq, event_type, occurred, received, json.dumps(payload))
            )
    db = settings.DATABASES["default"]
    dsn = psycopg.conninfo.make_conninfo(
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
    )
    with psycopg.connect(dsn) as conn:
        copy_backend = conn.info.backend_pid
        copy_cpu_before = _cpu_seconds(copy_backend)
        started = time.perf_counter()
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY devices_deviceevent (brand_id, device_id, seq, event_type, occurred_at, "
                "received_at, payload) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        copy_seconds = time.perf_counter() - started
        copy_pg_cpu = _cpu_seconds(copy_backend) - copy_cpu_before
    del rows
    copied = DeviceEvent.objects.filter(device_id__in=mirror_ids).count()
    if copied != sent:
        raise RuntimeError(f"COPY stored {copied} rows of {sent}")
    baseline = LoadResult("psycopg COPY (one stream, one commit)")
    baseline.seconds = copy_seconds
    baseline.latencies = [copy_seconds / len(plan)] * len(plan)
    baseline.statuses[200] = len(plan)
    print(f"  COPY: {sent:,} rows in {copy_seconds:.2f}s = {sent / copy_seconds:,.0f} events/s")

    # --- ours: the HTTP API ------------------------------------------------------------------
    def batch_request(n: int) -> Request:
        device_index = plan[n][0]
        return Request("POST", paths[device_index], headers=headers[device_index], body=bodies[n])

    warm_headers = {"Authorization": f"Bearer {warm_credential}", "Content-Type": "application/json"}
    warm_path = f"/api/v1/devices/{warm_device.pk}/events/"

    def warm_request(n: int) -> Request:
        return Request("POST", warm_path, headers=warm_headers, body=bodies[n % len(bodies)])

    env = {"UVICORN_WORKERS": WORKERS} if WORKERS != "1" else {}
    try:
        with bench.server(env=env) as server:
            drive(server, warm_request, label="warm-up", count=min(WARMUP_BATCHES, len(bodies)), seconds=120)
            cpu_before = _cpu_seconds(server.process.pid)
            client_before = time.process_time()
            backends_before = _backends_cpu(dsn)
            label = "POST /api/v1/devices/{id}/events/ (500 events)"
            if DRIVER == "httpx":  # the harness's driver, as before 2026-11 (for comparison)
                measured = drive(
                    server, batch_request, label=label, count=len(plan), seconds=3600, concurrency=CONCURRENCY
                )
            else:
                measured = _lean_drive(
                    server, batch_request, label=label, count=len(plan), concurrency=CONCURRENCY
                )
            server_cpu = _cpu_seconds(server.process.pid) - cpu_before
            client_cpu = time.process_time() - client_before
            api_pg_cpu = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in _backends_cpu(dsn).items())
        stored = DeviceEvent.objects.filter(device_id__in=[d.pk for d, _ in api_devices]).count()
        api_rate = stored / measured.seconds if measured.seconds else 0.0
        print(
            f"  API: {sent:,} events sent, {stored:,} stored in {measured.seconds:.2f}s = "
            f"{api_rate:,.0f} events/s ({measured.summary()})"
        )
        if stored != sent:
            raise RuntimeError(f"the API stored {stored} events of {sent} sent")
        comparison = Comparison(baseline=baseline, measured=measured)
        comparison.notes += [
            f"events: {sent:,} over {DEVICES} devices in {len(plan):,} batches of {BATCH}; "
            f"one in ten checked against a JSON Schema; concurrency {CONCURRENCY}, "
            f"uvicorn workers {WORKERS}, {DRIVER} load driver",
            f"COPY {sent / copy_seconds:,.0f} events/s; API {api_rate:,.0f} events/s; stored {stored:,}",
            f"server process CPU {server_cpu:.1f}s = {server_cpu / len(plan) * 1000:.1f} ms per batch of {BATCH} "
            f"(single worker only; children are counted when they exit)",
            f"load driver CPU {client_cpu:.1f}s = {client_cpu / len(plan) * 1000:.1f} ms per batch",
            f"PostgreSQL backend CPU per batch of {BATCH}: COPY {copy_pg_cpu / len(plan) * 1000:.1f} ms, "
            f"API {api_pg_cpu / len(plan) * 1000:.1f} ms (this database's backends; /proc)",
        ]
        return comparison
    finally:
        with connection.cursor() as cursor:
            for table in ("devices_deviceevent", "devices_deviceday"):
                cursor.execute(f"DELETE FROM {table} WHERE brand_id = %s", [brand.pk])
            cursor.execute("DELETE FROM retail_domainevent WHERE brand_id = %s", [brand.pk])
        from devices.models import Device, DeviceType
        from retail.models import AuditEvent

        Device.objects.filter(brand=brand).delete()
        DeviceType.objects.filter(brand=brand).delete()
        AuditEvent.objects.filter(brand=brand).delete()
        store.delete()
        brand.delete()
