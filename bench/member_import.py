"""member_import: a 100,000-row member CSV through the whole import (upload with sha256 and
header check, dry run with per-row validation and the new-vs-merged forecast, then the
batched import with merges, consent history and tags) against the bare minimum load of the
same rows: read the CSV, encrypt phone and name, `bulk_create` the members in batches, no
checks, no consent records, no tags. Both load into an empty brand of their own.

BENCH_IMPORT_ROWS changes the row count (default 100,000). The issue's goal: under 60 s on
PostgreSQL with flat memory; the peak RSS growth of each path is printed.
"""

from __future__ import annotations

import csv
import os
import resource
import secrets
import tempfile
import time
from pathlib import Path

from .harness import Bench, Comparison, register, timed

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
BATCH = int(os.environ.get("BENCH_IMPORT_BATCH", "5000"))  # rows per batch, both paths


def _write_csv(path: Path, rows: int, store_codes: list[str]) -> None:
    """Realistic rows: every column, 2% repeat an earlier phone (merged), 1% invalid."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["phone", "name", "external_id", "store", "joined_at", "consent_call", "consent_sms", "consent_chat", "tags"])  # fmt: skip
        for i in range(rows):
            n = i - 7 if i % 50 == 49 else i  # a repeat of a phone a few rows up
            phone = f"136{n:08d}" if i % 100 != 77 else f"12{i}"  # the odd invalid number
            writer.writerow(
                [
                    phone,
                    f"会员{n}",
                    f"EXT-{n}" if i % 3 == 0 else "",
                    store_codes[i % len(store_codes)],
                    f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    "yes" if i % 4 == 0 else "",
                    "yes" if i % 2 == 0 else "no",
                    "",
                    "VIP;新客" if i % 10 == 0 else "",
                ]
            )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@register(
    "member_import",
    goal=0.5,
    about=f"{ROWS:,}-row CSV: upload + dry run + import (merge, consent, tags) vs plain encrypt + bulk_create",
)
def member_import(bench: Bench) -> Comparison:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import override_settings
    from django.utils import timezone

    from members.choices import ImportStage, MemberSource
    from members.models import Member
    from members.services import imports
    from retail.choices import Role
    from retail.models import Brand, StaffRole, Store

    run_id = secrets.token_hex(3)
    brands = [Brand.objects.create(name=f"Bench import {label} {run_id}", slug=f"bench-import-{label}-{run_id}") for label in ("base", "ours")]  # fmt: skip
    codes = [f"S{i:03d}" for i in range(20)]
    for brand in brands:
        Store.objects.bulk_create([Store(brand=brand, code=c, name=f"Store {c}") for c in codes])
    user = get_user_model().objects.create_user(f"bench-import-{run_id}")
    StaffRole.objects.create(user=user, brand=brands[1], role=Role.HQ_ADMIN)
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "members.csv"
        _write_csv(path, ROWS, codes)
        size = path.stat().st_size
        rss_start = _peak_rss_mb()

        def baseline() -> None:
            brand = brands[0]
            store_ids = dict(Store.objects.filter(brand=brand).values_list("code", "pk"))
            now = timezone.now()
            seen: set[str] = set()
            batch: list[Member] = []
            n = 0

            def flush() -> None:
                with transaction.atomic():
                    Member.objects.bulk_create(batch)
                batch.clear()

            with path.open(newline="", encoding="utf-8") as fileobj:
                reader = csv.reader(fileobj)
                next(reader)
                for row in reader:
                    member = Member(
                        brand=brand, source=MemberSource.IMPORT, store_id=store_ids.get(row[3]), joined_at=now
                    )
                    try:
                        member.set_phone(row[0])
                    except ValueError:
                        continue
                    if member.phone_hash in seen:  # the unique index would refuse it
                        continue
                    seen.add(member.phone_hash)
                    member.set_name(row[1])
                    n += 1
                    member.member_no = f"M{n:08d}"
                    batch.append(member)
                    if len(batch) >= BATCH:
                        flush()
            if batch:
                flush()

        phases: dict[str, float] = {}

        def ours() -> None:
            with override_settings(JOBS_INLINE=True, MEDIA_ROOT=tmp, MEMBER_IMPORT_BATCH_SIZE=BATCH):
                started = time.perf_counter()
                with path.open("rb") as fileobj:
                    member_import, _unknown = imports.upload_member_import(
                        brand_id=brands[1].pk, store=None, fileobj=fileobj, filename="members.csv", size=size, uploaded_by=user
                    )  # fmt: skip
                phases["upload + dry run"] = time.perf_counter() - started
                started = time.perf_counter()
                imports.start_import(member_import=member_import)
                phases["import"] = time.perf_counter() - started
                member_import.refresh_from_db()
                if member_import.stage != ImportStage.DONE:
                    raise RuntimeError(f"import ended {member_import.stage}: {member_import.error}")
                phases["counts"] = member_import  # type: ignore[assignment]

        try:
            # DEBUG (the embedded default) would keep every SQL statement in memory
            # ours first, so the peak RSS after it is its own (the baseline then gets the
            # warmer caches: the comparison leans towards the baseline)
            with override_settings(DEBUG=False):
                measured = timed("upload + dry run + import", ours)
                rss_ours = _peak_rss_mb()
                base = timed("plain encrypt + bulk_create", baseline)
                rss_base = _peak_rss_mb()
            done = phases.pop("counts")
            created, merged, invalid = done.created_count, done.merged_count, done.rows_invalid  # type: ignore[attr-defined]
            baseline_members = Member.objects.filter(brand=brands[0]).count()
            notes.append(
                f"{ROWS:,} rows ({size / 1e6:.1f} MB CSV): ours {measured.seconds:.1f} s "
                f"({', '.join(f'{k} {v:.1f} s' for k, v in phases.items())}; goal under 60 s), "
                f"baseline {base.seconds:.1f} s"
            )
            notes.append(
                f"ours: {created:,} new, {merged:,} merged, {invalid:,} invalid; baseline loaded {baseline_members:,}"
            )
            notes.append(
                f"peak RSS {rss_start:.0f} MB before, {rss_ours:.0f} MB after ours "
                f"(+{rss_ours - rss_start:.0f} MB), {rss_base:.0f} MB after the baseline"
            )
        finally:
            from retail import demo

            for brand in brands:
                demo.wipe_brand(brand)
            user.delete()
    return Comparison(baseline=base, measured=measured, notes=notes)
