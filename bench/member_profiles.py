"""member_profiles: the set-based profile computation (members.services.profiles.compute_profiles:
aggregates, categories, scores, then delete + insert of the brand's rows, with progress between phases)
against the one hand-written SQL statement that computes the same profiles and scores into a
temp table (CTEs + ROW_NUMBER + NTILE), on the same seeded brand and the same work_mem.

Size from the environment: BENCH_PROFILE_MEMBERS (default 1,000,000) and BENCH_PROFILE_ORDERS
(default 5,000,000); BENCH_PROFILE_ROUNDS (default 2) alternating rounds. The first round of
ours writes into an empty profile table, later rounds replace the brand's rows.
BENCH_PROFILE_KEEP=1 keeps the seeded brand for the next run (it is found again by its slug),
else it is wiped at the end.
"""

from __future__ import annotations

import os
import time

from .harness import Bench, Comparison, LoadResult, register, timed

MEMBERS = int(os.environ.get("BENCH_PROFILE_MEMBERS", "1000000"))
ORDERS = int(os.environ.get("BENCH_PROFILE_ORDERS", "5000000"))
ROUNDS = int(os.environ.get("BENCH_PROFILE_ROUNDS", "2"))
KEEP = os.environ.get("BENCH_PROFILE_KEEP", "") == "1"

# The baseline: everything the service computes, with the same techniques (hash aggregate with
# the array-max pick of the last store, ROW_NUMBER for categories, NTILE for scores), in one
# statement into a temp table (no WAL, no index, no progress, no upsert): the floor for the work.
BASELINE_SQL = """
CREATE TEMPORARY TABLE bench_profiles_baseline AS
WITH counted AS (
    SELECT o.id, o.member_id, o.store_id, o.total, o.paid_at
    FROM retail_order o
    WHERE o.brand_id = %(brand_id)s AND o.status = 'paid' AND o.member_id IS NOT NULL
      AND o.paid_at <= %(as_of)s
),
totals AS (
    SELECT member_id, MIN(paid_at) AS first_order_at, MAX(paid_at) AS last_order_at,
           COUNT(*) FILTER (WHERE paid_at > %(since)s) AS frequency,
           COALESCE(SUM(total) FILTER (WHERE paid_at > %(since)s), 0) AS monetary,
           SUM(total) AS lifetime_value,
           (MAX(ARRAY[(date_part('epoch', paid_at) * 1000000)::bigint, id, store_id])
                FILTER (WHERE store_id IS NOT NULL))[3] AS last_store_id
    FROM counted GROUP BY member_id
),
categories AS (
    SELECT member_id, jsonb_agg(category ORDER BY rn) AS favourite_categories FROM (
        SELECT member_id, category,
               ROW_NUMBER() OVER (
                   PARTITION BY member_id ORDER BY spend DESC, category COLLATE "C") AS rn
        FROM (
            SELECT o.member_id, p.category, SUM(l.line_total) AS spend
            FROM retail_orderline l
            JOIN counted o ON o.id = l.order_id
            JOIN retail_product p ON p.id = l.product_id
            WHERE l.brand_id = %(brand_id)s AND p.category <> ''
            GROUP BY o.member_id, p.category
        ) spent
    ) ranked WHERE rn <= 3 GROUP BY member_id
)
SELECT t.member_id, t.first_order_at, t.last_order_at, t.last_store_id,
       FLOOR(EXTRACT(EPOCH FROM (%(as_of)s - t.last_order_at)) / 86400)::integer AS recency_days,
       t.frequency, t.monetary, t.lifetime_value,
       NTILE(5) OVER (ORDER BY t.last_order_at, t.member_id) AS r_score,
       CASE WHEN t.frequency = 0 THEN 1 ELSE NTILE(5) OVER (
           PARTITION BY t.frequency > 0 ORDER BY t.frequency, t.member_id) END AS f_score,
       CASE WHEN t.frequency = 0 THEN 1 ELSE NTILE(5) OVER (
           PARTITION BY t.frequency > 0 ORDER BY t.monetary, t.member_id) END AS m_score,
       COALESCE(c.favourite_categories, '[]'::jsonb) AS favourite_categories
FROM totals t
LEFT JOIN categories c ON c.member_id = t.member_id
"""


@register(
    "member_profiles",
    goal=0.67,
    about="compute_profiles (set-based, phases, delete + insert) vs one hand-written SQL statement",
)
def member_profiles(bench: Bench) -> Comparison:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from members.models import MemberProfile, ProfileRun
    from members.services import profiles
    from retail import demo
    from retail.models import Brand

    spec = demo.BrandSpec(
        slug=f"bench-profiles-{MEMBERS}-{ORDERS}",
        name=f"Bench profiles {MEMBERS:,}/{ORDERS:,}",
        sku_prefix="BP",
        phone_prefix="136",
        categories=demo.FASHION.categories,
        styles=demo.FASHION.styles,
        stores=demo.FASHION.stores,
    )
    notes = []
    brand = Brand.objects.filter(slug=spec.slug).first()
    if brand is None:
        t0 = time.perf_counter()
        brand = demo.seed_brand(spec, members=MEMBERS, orders=ORDERS, seed=1).brand
        with connection.cursor() as cursor:
            for table in ("retail_order", "retail_orderline", "members_member", "retail_product"):
                cursor.execute(f"ANALYZE {table}")
        notes.append(f"seeded {MEMBERS:,} members and {ORDERS:,} orders in {time.perf_counter() - t0:.0f} s")
    else:
        notes.append("reused the seeded brand")
    MemberProfile.objects.filter(brand=brand).delete()

    def baseline() -> None:
        as_of = timezone.now()
        params = {"brand_id": brand.pk, "as_of": as_of, "since": as_of - timedelta(days=365)}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{profiles.PG_WORK_MEM}'")
            cursor.execute("DROP TABLE IF EXISTS pg_temp.bench_profiles_baseline")
            cursor.execute(BASELINE_SQL, params)
            cursor.execute("DROP TABLE pg_temp.bench_profiles_baseline")

    counts = []

    def ours() -> None:
        counts.append(profiles.compute_profiles(brand_id=brand.pk))

    try:
        total_base, total_ours = LoadResult("one SQL statement"), LoadResult("compute_profiles")
        for round_no in range(ROUNDS):
            base = timed("one SQL statement", baseline)
            mine = timed("compute_profiles", ours)
            what = "first" if round_no == 0 else "replace"
            print(
                f"  round {round_no + 1}: baseline {base.seconds:.1f} s | ours {mine.seconds:.1f} s ({what})"
            )
            total_base.merge(base)
            total_ours.merge(mine)
    finally:
        if not KEEP:
            MemberProfile.objects.filter(brand=brand).delete()
            ProfileRun.objects.filter(brand=brand).delete()
            demo.wipe_brand(brand, usernames=demo.brand_usernames(spec))
    comparison = Comparison(baseline=total_base, measured=total_ours, notes=notes)
    comparison.notes.append(
        f"{MEMBERS:,} members, {ORDERS:,} orders, {counts[-1] if counts else 0:,} profiles; "
        f"ours {total_ours.seconds / max(1, total_ours.count):.1f} s per run, "
        f"baseline {total_base.seconds / max(1, total_base.count):.1f} s (goal: ours under 60 s)"
    )
    return comparison
