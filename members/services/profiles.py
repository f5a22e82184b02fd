"""Computed member profiles (会员画像): recency, frequency, monetary and their scores, lifetime
value, favourite categories and last store, for a whole brand at once.

Definitions (as_of = the moment the computation starts):

- Counted orders: the brand's orders with a member, status `paid` and paid at or before as_of.
  Refunded and cancelled orders count for nothing.
- recency_days: whole days (rounded down) from the member's last counted order to as_of.
- frequency: counted orders paid in the last 365 days (as_of − 365 days < paid_at ≤ as_of).
- monetary: the sum of those orders' totals (after discounts), CNY.
- lifetime_value: the sum of the totals of all counted orders, ever (net spend: refunded and
  cancelled orders are not in it).
- r_score / f_score / m_score: NTILE(5) within the brand, 5 the best (most recent, most
  frequent, highest spend), ties broken by member id so a rerun gives the same scores.
  R is ranked over every profiled member. F and M are ranked over the members with at least
  one order in the 365-day window; a member whose orders are all older gets f = m = 1.
  With fewer than five ranked members, NTILE gives tiles 1..n.
- favourite_categories: the top 3 product categories by line spend over all counted orders
  (ROW_NUMBER by spend descending, then category name); products without a category are
  left out; line totals are before order-level discounts.
- last_store: the store of the newest counted order that has a store (in store, or a
  cloud-shelf / online order attributed to a store); None when no order has one.
- A member without any counted order has no profile row; rows left from an earlier run for
  such members are deleted.

The computation is set-based SQL (aggregates and window functions), never a loop over
members: temp tables of per-member aggregates and top categories, then, in one transaction,
a DELETE of the brand's rows and one INSERT ... SELECT that ranks the scores and writes every
row (readers see the old set until it commits). The same statements run on PostgreSQL and
on SQLite (≥ 3.30: window functions, FILTER); a few dialect fragments differ (`_Dialect`), and on
PostgreSQL the per-member aggregates take a one-pass form (`AGGREGATES_SQL_POSTGRESQL`) that
gives the same rows as the portable ROW_NUMBER form (both are tested against the definitions;
PostgreSQL also against a plain Python computation on random data).

The profile table has no database FK constraints (see MemberProfile): checking a million
inserted rows at COMMIT took longer than computing them.

Layering: members may not call retail's sales services, but may read the ledger. This module
reads the ledger tables (retail_order, retail_orderline, retail_product) by their db_table
names in raw SQL, read-only: one set-based statement cannot go through a selector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit
from retail.choices import AuditAction, OrderStatus
from retail.errors import Conflict
from retail.models import Brand, Order, OrderLine, Product

from ..choices import JobStatus
from ..models import MemberProfile, ProfileRun

logger = logging.getLogger(__name__)

WINDOW_DAYS = 365  # frequency and monetary look back this far
TOP_CATEGORIES = 3
SCORE_TILES = 5
# A run still pending or running after this long is taken for dead (its worker crashed) and no
# longer blocks a new run.
STALE_RUN_AFTER = timedelta(hours=6)
# PostgreSQL: memory for the hash aggregates and sorts of one computation (SET LOCAL, so it
# ends with each phase's transaction).
PG_WORK_MEM = "256MB"

ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)
# A brand with at least this many profiles re-analyzes the profile table after its run.
ANALYZE_FROM = 50_000

# Progress (%) reached after each phase.
PHASES = {"aggregates": 40, "categories": 75, "write": 100}


@dataclass(frozen=True)
class _Dialect:
    """The few SQL fragments that differ between PostgreSQL and SQLite."""

    json_array: str  # function building a JSON array
    empty_json: str  # literal of an empty JSON array
    days_since_last: str  # whole days from a.last_order_at to %(as_of)s
    temp_schema: str  # qualifies a temp table, so a DROP never reaches a real table
    collate: str  # byte order for category names: fast, and the same on both databases


_POSTGRESQL = _Dialect(
    json_array="jsonb_build_array",
    empty_json="'[]'::jsonb",
    days_since_last="FLOOR(EXTRACT(EPOCH FROM (%(as_of)s - a.last_order_at)) / 86400)::integer",
    temp_schema="pg_temp",
    collate='COLLATE "C"',
)
_SQLITE = _Dialect(
    json_array="json_array",
    empty_json="'[]'",
    days_since_last=(
        "CAST((CAST(strftime('%%s', %(as_of)s) AS INTEGER)"
        " - CAST(strftime('%%s', a.last_order_at) AS INTEGER)) / 86400 AS INTEGER)"
    ),
    temp_schema="temp",
    collate="COLLATE BINARY",
)

AGG_TABLE = "tiandi_profile_agg"
CAT_TABLE = "tiandi_profile_categories"


def _dialect() -> _Dialect:
    return _POSTGRESQL if connection.vendor == "postgresql" else _SQLITE


def _tables() -> dict[str, str]:
    return {
        "orders": Order._meta.db_table,
        "lines": OrderLine._meta.db_table,
        "products": Product._meta.db_table,
        "profiles": MemberProfile._meta.db_table,
        "agg": AGG_TABLE,
        "cat": CAT_TABLE,
    }


# --- the statements -----------------------------------------------------------------------------

# Counted orders of the brand (used by both temp tables).
_COUNTED = """o.brand_id = %(brand_id)s AND o.status = %(paid)s AND o.member_id IS NOT NULL
      AND o.paid_at <= %(as_of)s"""

# Per member: first/last order, window frequency and spend, lifetime value, last store.
# Portable form: the last store is the store of the member's newest store-attributed order,
# picked by ROW_NUMBER.
AGGREGATES_SQL = """
CREATE TEMPORARY TABLE {agg} AS
WITH counted AS (
    SELECT o.id, o.member_id, o.store_id, o.total, o.paid_at
    FROM {orders} o
    WHERE {counted}
),
last_store AS (
    SELECT member_id, store_id FROM (
        SELECT member_id, store_id,
               ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY paid_at DESC, id DESC) AS rn
        FROM counted
        WHERE store_id IS NOT NULL
    ) ranked
    WHERE rn = 1
),
totals AS (
    SELECT member_id,
           MIN(paid_at) AS first_order_at,
           MAX(paid_at) AS last_order_at,
           COUNT(*) FILTER (WHERE paid_at > %(since)s) AS frequency,
           COALESCE(SUM(total) FILTER (WHERE paid_at > %(since)s), 0) AS monetary,
           SUM(total) AS lifetime_value
    FROM counted
    GROUP BY member_id
)
SELECT t.member_id, t.first_order_at, t.last_order_at, t.frequency, t.monetary,
       t.lifetime_value, s.store_id AS last_store_id
FROM totals t LEFT JOIN last_store s ON s.member_id = t.member_id
"""

# PostgreSQL form, the same result in one pass (one hash aggregate, no sort, parallel-safe):
# the newest store order is the largest [paid_at in µs, id, store_id] array among the member's
# orders that have a store, i.e. ORDER BY paid_at DESC, id DESC.
AGGREGATES_SQL_POSTGRESQL = """
CREATE TEMPORARY TABLE {agg} AS
SELECT o.member_id,
       MIN(o.paid_at) AS first_order_at,
       MAX(o.paid_at) AS last_order_at,
       COUNT(*) FILTER (WHERE o.paid_at > %(since)s) AS frequency,
       COALESCE(SUM(o.total) FILTER (WHERE o.paid_at > %(since)s), 0) AS monetary,
       SUM(o.total) AS lifetime_value,
       (MAX(ARRAY[(date_part('epoch', o.paid_at) * 1000000)::bigint, o.id, o.store_id])
            FILTER (WHERE o.store_id IS NOT NULL))[3] AS last_store_id
FROM {orders} o
WHERE {counted}
GROUP BY o.member_id
"""

# Per member: the top categories by line spend, pivoted into c1..c3.
CATEGORIES_SQL = """
CREATE TEMPORARY TABLE {cat} AS
SELECT member_id,
       MAX(CASE WHEN rn = 1 THEN category END) AS c1,
       MAX(CASE WHEN rn = 2 THEN category END) AS c2,
       MAX(CASE WHEN rn = 3 THEN category END) AS c3
FROM (
    SELECT member_id, category,
           ROW_NUMBER() OVER (PARTITION BY member_id ORDER BY spend DESC, category {collate}) AS rn
    FROM (
        SELECT o.member_id, p.category, SUM(l.line_total) AS spend
        FROM {lines} l
        JOIN {orders} o ON o.id = l.order_id
        JOIN {products} p ON p.id = l.product_id
        WHERE l.brand_id = %(brand_id)s AND {counted} AND p.category <> ''
        GROUP BY o.member_id, p.category
    ) spent
) ranked
WHERE rn <= {top}
GROUP BY member_id
"""

# Scores ranked and every row written in one statement. F and M: members without an order in
# the window form their own partition and are forced to 1.
WRITE_SQL = """
INSERT INTO {profiles} (
    member_id, brand_id, first_order_at, last_order_at, last_store_id, recency_days,
    frequency, monetary, lifetime_value, r_score, f_score, m_score, favourite_categories,
    computed_at
)
SELECT a.member_id, %(brand_id)s, a.first_order_at, a.last_order_at, a.last_store_id,
       {days},
       a.frequency, a.monetary, a.lifetime_value,
       NTILE({tiles}) OVER (ORDER BY a.last_order_at, a.member_id),
       CASE WHEN a.frequency = 0 THEN 1 ELSE NTILE({tiles}) OVER (
           PARTITION BY a.frequency > 0 ORDER BY a.frequency, a.member_id) END,
       CASE WHEN a.frequency = 0 THEN 1 ELSE NTILE({tiles}) OVER (
           PARTITION BY a.frequency > 0 ORDER BY a.monetary, a.member_id) END,
       CASE WHEN c.c1 IS NULL THEN {empty_json}
            WHEN c.c2 IS NULL THEN {json_array}(c.c1)
            WHEN c.c3 IS NULL THEN {json_array}(c.c1, c.c2)
            ELSE {json_array}(c.c1, c.c2, c.c3) END,
       %(as_of)s
FROM {agg} a LEFT JOIN {cat} c ON c.member_id = a.member_id
"""

# The brand's rows go before the new ones are written (same transaction), which also removes
# the rows of members who no longer have a counted order. Faster than an upsert of every row
# plus a delete of the stale ones (measured at 1M profiles).
DELETE_BRAND_SQL = """
DELETE FROM {profiles} WHERE brand_id = %(brand_id)s
"""


def _sql(template: str) -> str:
    d = _dialect()
    return template.format(
        **_tables(),
        counted=_COUNTED,
        top=TOP_CATEGORIES,
        tiles=SCORE_TILES,
        days=d.days_since_last,
        json_array=d.json_array,
        empty_json=d.empty_json,
        collate=d.collate,
    )


def _params(brand_id: int, as_of: datetime) -> dict:
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "brand_id": brand_id,
        "paid": OrderStatus.PAID.value,
        "as_of": adapt(as_of),
        "since": adapt(as_of - timedelta(days=WINDOW_DAYS)),
    }


# --- the use cases ------------------------------------------------------------------------------


def compute_profiles(*, brand_id: int, run: ProfileRun | None = None, as_of: datetime | None = None) -> int:
    """Recompute every profile of the brand set-based (see the module docstring); returns the
    number of profiles. Progress is written to `run` after each phase, each phase committing
    on its own so a polling page sees it; the profile rows change in one transaction at the end.
    Idempotent: a rerun with the same ledger writes the same rows."""
    as_of = as_of or timezone.now()
    params = _params(brand_id, as_of)
    with connection.cursor() as cursor:
        try:
            _drop_temp_tables(cursor)
            with transaction.atomic():
                _tune(cursor)
                aggregates = (
                    AGGREGATES_SQL_POSTGRESQL if connection.vendor == "postgresql" else AGGREGATES_SQL
                )
                cursor.execute(_sql(aggregates), params)
                if connection.vendor == "postgresql":
                    cursor.execute(f"ANALYZE {AGG_TABLE}")
            _progress(run, PHASES["aggregates"])
            with transaction.atomic():
                _tune(cursor)
                cursor.execute(_sql(CATEGORIES_SQL), params)
                if connection.vendor == "postgresql":
                    cursor.execute(f"ANALYZE {CAT_TABLE}")
            _progress(run, PHASES["categories"])
            with transaction.atomic():
                _tune(cursor)
                cursor.execute(_sql(DELETE_BRAND_SQL), params)
                cursor.execute(_sql(WRITE_SQL), params)
                cursor.execute(f"SELECT COUNT(*) FROM {AGG_TABLE}")
                count = cursor.fetchone()[0]
                _progress(run, PHASES["write"], profiles=count)
            if connection.vendor == "postgresql" and count >= ANALYZE_FROM:
                # fresh statistics, or the profile pages' scoped reads plan for the old table
                # (a small brand leaves that to autovacuum: ANALYZE samples the whole table)
                cursor.execute(f"ANALYZE {MemberProfile._meta.db_table}")
        finally:
            _drop_temp_tables(cursor)
    return count


def start_profile_run(*, brand_id: int, actor=None) -> ProfileRun:
    """Create a pending run for the brand and hand it to a Celery worker once committed.
    Refused (Conflict) while another run of the brand is pending or running. `actor` is the
    staff user who asked (None for the nightly schedule); the start is audited."""
    from ..tasks.profiles import compute_profiles_task

    with transaction.atomic():
        # One run at a time per brand: starts of one brand queue up on the brand's row.
        Brand.objects.select_for_update().filter(pk=brand_id).first()
        _expire_dead_runs(brand_id)
        if ProfileRun.objects.filter(brand_id=brand_id, status__in=ACTIVE).exists():
            raise Conflict(
                "profile_run_active",
                _("A profile computation is already running for this brand; wait until it ends."),
            )
        run = ProfileRun.objects.create(brand_id=brand_id)
        audit.record(
            AuditAction.CREATE,
            run,
            actor_id=getattr(actor, "pk", None),
            actor_label="" if actor is not None else "schedule",
            message="profile computation started",
        )
        from retail.jobs import enqueue_job

        enqueue_job(compute_profiles_task, run.pk)
    return run


def run_profile_computation(*, run_id: int) -> ProfileRun | None:
    """Carry out one run: running → done (or failed, with the error). A run already finished
    is left alone, so a redelivered task does no harm; one found running (its worker died)
    is computed again, which is idempotent."""
    run = ProfileRun.objects.filter(pk=run_id).first()
    if run is None or run.status in (JobStatus.DONE, JobStatus.FAILED):
        return run
    ProfileRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING, progress=0, error="", started_at=timezone.now()
    )
    try:
        count = compute_profiles(brand_id=run.brand_id, run=run)
    except Exception as exc:
        logger.exception("profile run %s failed", run.pk)
        ProfileRun.objects.filter(pk=run.pk).update(
            status=JobStatus.FAILED,
            error=f"{exc.__class__.__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    ProfileRun.objects.filter(pk=run.pk).update(
        status=JobStatus.DONE, progress=100, profiles=count, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def start_all_profile_runs() -> list[ProfileRun]:
    """Start a run for every brand that has none going (the nightly schedule)."""
    runs = []
    for brand_id in Brand.objects.order_by("pk").values_list("pk", flat=True):
        try:
            runs.append(start_profile_run(brand_id=brand_id))
        except Conflict:
            continue
    return runs


# --- helpers ------------------------------------------------------------------------------------


def _tune(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")


def _drop_temp_tables(cursor) -> None:
    schema = _dialect().temp_schema
    for table in (AGG_TABLE, CAT_TABLE):
        cursor.execute(f"DROP TABLE IF EXISTS {schema}.{table}")


def _progress(run: ProfileRun | None, percent: int, **fields) -> None:
    if run is not None:
        ProfileRun.objects.filter(pk=run.pk).update(progress=percent, **fields)
        run.progress = percent


def _expire_dead_runs(brand_id: int) -> None:
    cutoff = timezone.now() - STALE_RUN_AFTER
    ProfileRun.objects.filter(brand_id=brand_id, status__in=ACTIVE, created_at__lt=cutoff).update(
        status=JobStatus.FAILED, error="abandoned: no progress for too long", finished_at=timezone.now()
    )
