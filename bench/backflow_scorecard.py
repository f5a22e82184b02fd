"""backflow_scorecard: the nightly data-backflow scoring of one brand's day
(devices.services.backflow.compute_device_days: per device the received count, seq range,
gaps, p95 delay by ROW_NUMBER, timeliness, completeness, accuracy from the ingestion's invalid
counters, the weighted score, upserted into DeviceDay; plus the invalid-only rows) against one
hand-written aggregate statement over the same rows in the same run (GROUP BY device with
PERCENTILE_CONT(0.95), count, min and max seq, into a temp table: no scores, no upsert), with
the same predicates (brand and the local day's occurred_at range) and the same work_mem.

Seeded by COPY: BENCH_BACKFLOW_DEVICES devices (default 10,000) of a partner's type, each with
24–100 events on the scored day (a few seqs missing, a few late), plus the same volume on
BENCH_BACKFLOW_OTHER_DAYS other days (default 8: the 7 days before and the day after), so the
day's rows are a ninth of the table, as in a table holding days of several brands; every tenth
device has schema-invalid events counted. The notes print how PostgreSQL finds the day's
events (the scan nodes of the service's statement). Seeding takes minutes; keep it with
BENCH_BACKFLOW_KEEP=1.
BENCH_BACKFLOW_ROUNDS (default 3) alternating rounds after a warm-up of each side.
BENCH_BACKFLOW_KEEP=1 keeps the seeded brand for the next run (found again by its slug).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time

from .harness import Bench, Comparison, LoadResult, register, timed

DEVICES = int(os.environ.get("BENCH_BACKFLOW_DEVICES", "10000"))
OTHER_DAYS = int(os.environ.get("BENCH_BACKFLOW_OTHER_DAYS", "8"))
ROUNDS = int(os.environ.get("BENCH_BACKFLOW_ROUNDS", "3"))
KEEP = os.environ.get("BENCH_BACKFLOW_KEEP", "") == "1"
STORES = 100
DAY = dt.date(2026, 10, 14)  # a fixed past local day (the table may hold other runs' days)

BASELINE_SQL = """
CREATE TEMPORARY TABLE bench_backflow_baseline AS
SELECT e.device_id, count(*) AS received, min(e.seq) AS seq_min, max(e.seq) AS seq_max,
       PERCENTILE_CONT(0.95) WITHIN GROUP (
           ORDER BY EXTRACT(EPOCH FROM (e.received_at - e.occurred_at))) AS p95
FROM devices_deviceevent e
WHERE e.brand_id = %(brand)s AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
GROUP BY e.device_id
"""


def _events(index: int, device_id: int, brand_id: int, day_start: dt.datetime, first_seq: int):
    """One device's day: 24–100 events spread over the day, ~4% of the seqs missing, delays
    of 1–50 s and one event in 29 arriving 15 minutes late."""
    count = 24 + (index * 37) % 77
    step = 86400 / count
    seq = first_seq
    for k in range(count):
        seq += 1
        if (seq * 7 + index) % 23 == 0:  # a gap
            seq += 1
        occurred = day_start + dt.timedelta(seconds=k * step + index % 60)
        delay = 900 if k % 29 == 0 else 1 + (index + k * 13) % 50
        received = occurred + dt.timedelta(seconds=delay)
        yield (brand_id, device_id, seq, "heartbeat", occurred, received, "{}")


@register(
    "backflow_scorecard",
    goal=0.5,
    about=f"compute_device_days for {DEVICES:,} devices × 1 day (24–100 events each) vs one "
    "hand-written GROUP BY with PERCENTILE_CONT over the same rows",
)
def backflow_scorecard(bench: Bench) -> Comparison:
    import psycopg
    from django.conf import settings
    from django.db import connection, transaction

    from devices.choices import DeviceKind, DeviceStatus
    from devices.models import Device, DeviceDay, DeviceEvent, DeviceType
    from devices.services import backflow
    from retail import demo
    from retail.models import ApiClient, Brand, Store

    slug = f"bench-backflow-{DEVICES}-{OTHER_DAYS}"
    notes: list[str] = []
    start, end = backflow.day_bounds(DAY)
    brand = Brand.objects.filter(slug=slug).first()
    if brand is None:
        t0 = time.perf_counter()
        brand = Brand.objects.create(slug=slug, name=f"Bench backflow {DEVICES:,}")
        partner = ApiClient.objects.create(brand=brand, name="Bench partner", scopes=["devices:read"])
        device_type = DeviceType.objects.create(
            brand=brand,
            code="bench-mirror",
            name="Bench mirror",
            kind=DeviceKind.MAGIC_MIRROR,
            partner=partner,
            timeliness_threshold_seconds=60,
        )
        stores = Store.objects.bulk_create(
            [Store(brand=brand, code=f"BB{i:03d}", name=f"Bench store {i}") for i in range(STORES)]
        )
        devices = Device.objects.bulk_create(
            [
                Device(
                    brand=brand,
                    store=stores[i % STORES],
                    device_type=device_type,
                    serial=f"BB-{i:06d}",
                    status=DeviceStatus.ONLINE,
                    credential_prefix=secrets.token_hex(6),
                    credential_hash="0" * 64,
                )
                for i in range(DEVICES)
            ],
            batch_size=2000,
        )
        before = [DAY - dt.timedelta(days=n) for n in range(max(0, OTHER_DAYS - 1), 0, -1)]
        days = [*before, DAY, *([DAY + dt.timedelta(days=1)] if OTHER_DAYS else [])]
        db = settings.DATABASES["default"]
        dsn = psycopg.conninfo.make_conninfo(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
        )
        rows = 0
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            with cursor.copy(
                "COPY devices_deviceevent (brand_id, device_id, seq, event_type, occurred_at, "
                "received_at, payload) FROM STDIN"
            ) as copy:
                for day in days:  # seqs rise from day to day
                    day_start = backflow.day_bounds(day)[0]
                    first_seq = 1000 * (day - DAY).days + 100_000
                    for index, device in enumerate(devices):
                        for row in _events(index, device.pk, brand.pk, day_start, first_seq):
                            copy.write_row(row)
                            rows += 1
            conn.commit()
        # ingestion's counters of schema-invalid events: every tenth device had a few
        DeviceDay.objects.bulk_create(
            [
                DeviceDay(brand=brand, device=device, day=DAY, invalid=1 + index % 3)
                for index, device in enumerate(devices)
                if index % 10 == 0
            ],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE devices_deviceevent")
            cursor.execute("ANALYZE devices_deviceday")
        notes.append(
            f"seeded {DEVICES:,} devices and {rows:,} events over {len(days)} day(s) by COPY "
            f"in {time.perf_counter() - t0:.0f} s"
        )
    else:
        notes.append("reused the seeded brand")
    day_rows = DeviceEvent.objects.filter(brand=brand, occurred_at__gte=start, occurred_at__lt=end).count()
    total_rows = DeviceEvent.objects.count()
    notes.append(f"the day's events: {day_rows:,} of {total_rows:,} rows in devices_deviceevent")

    params = backflow.day_params(brand_id=brand.pk, day=DAY)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + backflow._upsert_sql(), params)
        plan = [line for (line,) in cursor.fetchall()]
    scans = [
        line.strip().lstrip("-> ").split("  (")[0]
        for line in plan
        if "Scan" in line and ("devices_deviceevent" in line or "device_event_" in line)
    ]
    notes.append("how the service finds the day's events: " + "; ".join(scans))

    def baseline() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{backflow.PG_WORK_MEM}'")  # as the service
            cursor.execute("DROP TABLE IF EXISTS pg_temp.bench_backflow_baseline")
            cursor.execute(BASELINE_SQL, params)
            cursor.execute("DROP TABLE pg_temp.bench_backflow_baseline")

    computed: list[int] = []

    def ours() -> None:
        computed.append(backflow.compute_device_days(brand_id=brand.pk, day=DAY))

    try:
        ours()  # warm both (the first run of ours inserts the day rows; later ones update them)
        baseline()
        total_base, total_ours = LoadResult("one GROUP BY statement"), LoadResult("compute_device_days")
        for round_no in range(ROUNDS):
            base = timed("one GROUP BY statement", baseline)
            mine = timed("compute_device_days", ours)
            print(f"  round {round_no + 1}: baseline {base.seconds:.2f} s | ours {mine.seconds:.2f} s")
            total_base.merge(base)
            total_ours.merge(mine)
        if computed[-1] != DEVICES:
            raise RuntimeError(f"compute_device_days scored {computed[-1]} device days of {DEVICES}")
    finally:
        if not KEEP:
            demo.wipe_brand(brand)
    comparison = Comparison(baseline=total_base, measured=total_ours, notes=notes)
    comparison.notes.append(
        f"{DEVICES:,} devices, {day_rows:,} events on the day; ours "
        f"{total_ours.seconds / max(1, total_ours.count):.2f} s a run, baseline "
        f"{total_base.seconds / max(1, total_base.count):.2f} s; ratio = baseline time / ours"
    )
    return comparison
