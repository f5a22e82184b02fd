"""telemetry_ingest: 1,000,000 telemetry events in batches of 500 through
`POST /api/v1/devices/{id}/events/` (each device with its own credential; every event checked,
one in ten against its type's JSON Schema; dedupe by (device, seq); day counters; last seen)
against raw psycopg COPY of the same rows into devices_deviceevent, timed in the same run.

The COPY goes first, into a mirror set of devices (same seqs, types, payloads and times; the
table then holds those rows too, so the API writes into the larger table). The ratio is the
API's events per second over COPY's. The stored count must equal the events sent.

BENCH_TELEMETRY_EVENTS changes the event count (default 1,000,000; 50,000 for a quick look);
BENCH_TELEMETRY_DEVICES the number of devices (default 40); BENCH_CONCURRENCY the requests in
flight; BENCH_TELEMETRY_WORKERS the uvicorn worker processes (default 1, like every benchmark).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime, timedelta

from .harness import CONCURRENCY, Bench, Comparison, LoadResult, Request, drive, register

EVENTS = int(os.environ.get("BENCH_TELEMETRY_EVENTS", "1000000"))
DEVICES = int(os.environ.get("BENCH_TELEMETRY_DEVICES", "40"))
WORKERS = os.environ.get("BENCH_TELEMETRY_WORKERS", "1")
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


def _batches(events: int, devices: int) -> list[tuple[int, int]]:
    """Request n → (device index, first seq): devices take turns, each with rising seqs."""
    count = events // BATCH
    return [(n % devices, (n // devices) * BATCH) for n in range(count)]


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
    del rows
    copied = DeviceEvent.objects.filter(device_id__in=mirror_ids).count()
    if copied != sent:
        raise RuntimeError(f"COPY stored {copied} rows of {sent}")
    baseline = LoadResult("psycopg COPY (batches of 500 rows)")
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
            measured = drive(
                server,
                batch_request,
                label="POST /api/v1/devices/{id}/events/ (500 events)",
                count=len(plan),
                seconds=3600,
                concurrency=CONCURRENCY,
            )
            server_cpu = _cpu_seconds(server.process.pid) - cpu_before
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
            f"uvicorn workers {WORKERS}",
            f"COPY {sent / copy_seconds:,.0f} events/s; API {api_rate:,.0f} events/s; stored {stored:,}",
            f"server process CPU {server_cpu:.1f}s = {server_cpu / len(plan) * 1000:.1f} ms per batch of {BATCH} "
            f"(single worker only; children are counted when they exit)",
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
