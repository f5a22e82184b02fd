"""The data-backflow standard: daily scores per device, monthly verdicts per partner, the policy.

Definitions (for a device and a day — the date of `occurred_at` in settings.TIME_ZONE,
Asia/Shanghai, the same day ingestion files its `invalid` counter under):

- The day's events are the DeviceEvent rows of the device with `occurred_at` in
  [day 00:00, next day 00:00) local time. (device, seq) is unique: one row per seq. The
  brand's day is found through the (brand, occurred_at) index (device_event_brand_occurred).
- `received`, `seq_min`, `seq_max`, `gaps` and `delay_p95_seconds` are computed from those
  events, set-based (one INSERT ... SELECT ... ON CONFLICT DO UPDATE for the whole brand and
  day). `invalid` is read from DeviceDay, where ingestion counts the events the schema
  rejected; this module never writes it.
- delay of an event = received_at − occurred_at, in seconds (may be negative for a device
  whose clock runs fast; it is used as is).
- delay p95 = PERCENTILE_CONT(0.95) over the day's delays: sort the n delays ascending
  (d_0 … d_{n−1}), pos = (n − 1) × 0.95, lo = ⌊pos⌋, frac = pos − lo;
  p95 = d_lo + frac × (d_{lo+1} − d_lo) (d_lo alone when lo = n − 1). PostgreSQL computes
  it with PERCENTILE_CONT(0.95) itself (each device's delays sorted alone); SQLite with
  ROW_NUMBER() and integer arithmetic (the portable form; a PostgreSQL test checks it against
  PERCENTILE_CONT). Rounded to 3 decimals.
- timeliness (0..100): with T = the device type's `timeliness_threshold_seconds`,
  100 when p95 ≤ T; else 100 × (4T − p95) / 3T, linearly down to 0 at p95 = 4T; 0 beyond.
- completeness (0..100): received / (seq_max − seq_min + 1) × 100 — the share of the
  sequence numbers of the day's range that arrived; gaps = (seq_max − seq_min + 1) −
  received. Only the day's own range counts (a gap across midnight is not seen).
- accuracy (0..100): received / (received + invalid) × 100.
- score = (w_t × timeliness + w_c × completeness + w_a × accuracy) / 100, the weights of the
  brand's BackflowPolicy (30 / 40 / 30 without a policy row; they sum to 100).
- A device with only rejected events that day (a DeviceDay row with invalid > 0 and no
  event) scores 0 on all three: nothing usable came back. A device that sent nothing has no
  day row and is not scored that day (silence is the offline alarm's business).
- The nightly task scores yesterday and rescores the day before, so events arriving up to a
  day late still count for completeness (and against timeliness); verdicts for a month run on
  the 2nd, after its last day was rescored. Raw events must outlive that (retention ≥ 3 days).
- Recomputing a day is idempotent. A row whose events were since purged by retention keeps
  its scores (rows with `received` > 0 are never reset for want of events).

Partner roll-up (selectors/backflow.py): a partner is the ApiClient named as `partner` of a
DeviceType. A partner's day score = the plain average of its devices' day scores (each
device counts once, whatever its volume); its month score = the average of all its device
days in the month. Verdicts (`issue_monthly_verdicts`): month score ≥ policy.reward_at →
a reward notice, < policy.penalty_below → a penalty notice, else none; one notice per
partner and month (a rerun changes nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count
from django.utils import timezone

from retail import audit, events
from retail.choices import AuditAction
from retail.errors import DomainError
from retail.models import Brand

from ..choices import NoticeKind
from ..models import BackflowPolicy, DeviceDay, PartnerNotice

DEFAULT_WEIGHTS = (30, 40, 30)  # timeliness, completeness, accuracy
TIMELINESS_ZERO_AT = 4  # × the threshold: timeliness reaches 0 there
RESCORED_DAYS = 2  # the nightly run scores yesterday and rescores the day before (late events)
MIN_RETENTION_DAYS = RESCORED_DAYS + 1  # raw events outlive every rescoring


@dataclass(frozen=True)
class Weights:
    timeliness: int
    completeness: int
    accuracy: int


def policy_for(brand_id: int) -> BackflowPolicy:
    """The brand's policy, or an unsaved one with the defaults."""
    policy = BackflowPolicy.objects.filter(brand_id=brand_id).first()
    return policy or BackflowPolicy(brand_id=brand_id)


def local_today() -> dt.date:
    return timezone.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The day's [start, end) in settings.TIME_ZONE (the days ingestion counts under)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def _delay_sql() -> str:
    if connection.vendor == "postgresql":
        return "EXTRACT(EPOCH FROM (e.received_at - e.occurred_at))::double precision"
    return "(julianday(e.received_at) - julianday(e.occurred_at)) * 86400.0"


def _round3(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"ROUND(CAST({expr} AS numeric), 3)::double precision"
    return f"ROUND({expr}, 3)"


# PostgreSQL: the day's sort and aggregates in memory (10,000 devices × 100 events spill
# to disk at the default 4MB), for the scoring transaction only.
PG_WORK_MEM = "64MB"

# PostgreSQL: the per-device stats with PERCENTILE_CONT itself (each device's delays sorted
# alone, no window over the whole day); the same figures as the portable form below.
_STATS_PG = """
stats AS (
    SELECT a.device_id, a.received, a.seq_min, a.seq_max, a.p95,
           t.timeliness_threshold_seconds AS threshold
    FROM (
        SELECT e.device_id, COUNT(*) AS received, MIN(e.seq) AS seq_min, MAX(e.seq) AS seq_max,
               PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY {delay}) AS p95
        FROM devices_deviceevent e
        WHERE e.brand_id = %(brand)s AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
        GROUP BY e.device_id
    ) AS a
    JOIN devices_device d ON d.id = a.device_id
    JOIN devices_devicetype t ON t.id = d.device_type_id
),"""

# Portable (SQLite; and checked against PERCENTILE_CONT on PostgreSQL by a test): the p95 by
# ROW_NUMBER and integer arithmetic.
_STATS_PORTABLE = """
ev AS (
    SELECT e.device_id, e.seq, {delay} AS delay
    FROM devices_deviceevent e
    WHERE e.brand_id = %(brand)s AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
),
ranked AS (
    SELECT device_id, seq, delay,
           ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY delay, seq) - 1 AS idx,
           COUNT(*) OVER (PARTITION BY device_id) AS n
    FROM ev
),
stats AS (
    SELECT r.device_id,
           COUNT(*) AS received,
           MIN(r.seq) AS seq_min,
           MAX(r.seq) AS seq_max,
           SUM(CASE
                 WHEN r.idx = ((r.n - 1) * 95) / 100
                   THEN r.delay * (1.0 - (((r.n - 1) * 95) %% 100) / 100.0)
                 WHEN r.idx = ((r.n - 1) * 95) / 100 + 1
                   THEN r.delay * ((((r.n - 1) * 95) %% 100) / 100.0)
                 ELSE 0.0
               END) AS p95,
           MAX(t.timeliness_threshold_seconds) AS threshold
    FROM ranked r
    JOIN devices_device d ON d.id = r.device_id
    JOIN devices_devicetype t ON t.id = d.device_type_id
    GROUP BY r.device_id
),"""


def _upsert_sql(*, portable: bool | None = None) -> str:
    """One statement for the brand and day: per device, the events' stats joined to the
    existing day row (its `invalid` counter) and the type's threshold, upserted. PostgreSQL
    takes PERCENTILE_CONT unless `portable` (the ROW_NUMBER form SQLite runs)."""
    if portable is None:
        portable = connection.vendor != "postgresql"
    delay = _delay_sql()
    p95 = _round3("st.p95")
    thr = "CAST(st.threshold AS double precision)"
    timeliness = (
        f"CASE WHEN {p95} <= {thr} THEN 100.0 "
        f"WHEN {p95} >= {TIMELINESS_ZERO_AT} * {thr} THEN 0.0 "
        f"ELSE 100.0 * ({TIMELINESS_ZERO_AT} * {thr} - {p95}) / ({TIMELINESS_ZERO_AT - 1} * {thr}) END"
    )
    completeness = "100.0 * st.received / (st.seq_max - st.seq_min + 1)"
    accuracy = "100.0 * st.received / (st.received + COALESCE(dd.invalid, 0))"
    stats = (_STATS_PORTABLE if portable else _STATS_PG).format(delay=delay)
    return f"""
WITH {stats}
scored AS (
    SELECT st.device_id, st.received, st.seq_min, st.seq_max,
           (st.seq_max - st.seq_min + 1) - st.received AS gaps,
           {p95} AS p95,
           {timeliness} AS timeliness,
           {completeness} AS completeness,
           {accuracy} AS accuracy
    FROM stats st
    LEFT JOIN devices_deviceday dd ON dd.device_id = st.device_id AND dd.day = %(day)s
)
INSERT INTO devices_deviceday (
    brand_id, device_id, day, received, invalid, seq_min, seq_max, gaps, delay_p95_seconds,
    timeliness, completeness, accuracy, score, computed_at
)
SELECT %(brand)s, s.device_id, %(day)s, s.received, 0, s.seq_min, s.seq_max, s.gaps, s.p95,
       s.timeliness, s.completeness, s.accuracy,
       (%(wt)s * s.timeliness + %(wc)s * s.completeness + %(wa)s * s.accuracy) / 100.0,
       %(now)s
FROM scored s
WHERE true
ON CONFLICT (device_id, day) DO UPDATE SET
    received = excluded.received,
    seq_min = excluded.seq_min,
    seq_max = excluded.seq_max,
    gaps = excluded.gaps,
    delay_p95_seconds = excluded.delay_p95_seconds,
    timeliness = excluded.timeliness,
    completeness = excluded.completeness,
    accuracy = excluded.accuracy,
    score = excluded.score,
    computed_at = excluded.computed_at
"""


# Rows with only rejected events (no event stored for the day): all three measures are 0.
# `received = 0` guards rows computed earlier from events that retention has since purged.
_INVALID_ONLY_SQL = """
UPDATE devices_deviceday
SET seq_min = NULL, seq_max = NULL, gaps = 0, delay_p95_seconds = NULL,
    timeliness = 0.0, completeness = 0.0, accuracy = 0.0, score = 0.0, computed_at = %(now)s
WHERE brand_id = %(brand)s AND day = %(day)s AND received = 0 AND invalid > 0
"""


def day_params(*, brand_id: int, day: dt.date, now: dt.datetime | None = None) -> dict:
    """The parameters of the day's statements (the brand's weights, the day's bounds)."""
    policy = policy_for(brand_id)
    start, end = day_bounds(day)
    ops = connection.ops
    return {
        "brand": brand_id,
        "day": ops.adapt_datefield_value(day),
        "start": ops.adapt_datetimefield_value(start),
        "end": ops.adapt_datetimefield_value(end),
        "now": ops.adapt_datetimefield_value(now or timezone.now()),
        "wt": policy.weight_timeliness,
        "wc": policy.weight_completeness,
        "wa": policy.weight_accuracy,
    }


def compute_device_days(*, brand_id: int, day: dt.date) -> int:
    """Score every device of the brand for the (local) day, set-based; returns how many device
    days were computed (devices with events, plus devices with only rejected events)."""
    now = timezone.now()
    params = day_params(brand_id=brand_id, day=day, now=now)
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
            cursor.execute(_INVALID_ONLY_SQL, params)
            cursor.execute(_upsert_sql(), params)
        # (SQLite reports no rowcount for a statement starting with WITH: count the rows)
        return DeviceDay.objects.filter(brand_id=brand_id, day=day, computed_at=now).count()


def compute_all_device_days(*, day: dt.date | None = None) -> dict[int, int]:
    """Score `day` for every brand — by default yesterday and, again, the day before (local
    time; each brand's days in its own transaction); brand id → device days computed."""
    today = local_today()
    days = [day] if day else [today - dt.timedelta(days=n) for n in range(RESCORED_DAYS, 0, -1)]
    result = {}
    for brand_id in Brand.objects.order_by("pk").values_list("pk", flat=True):
        result[brand_id] = sum(compute_device_days(brand_id=brand_id, day=d) for d in days)
    return result


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def partner_month_scores(*, brand_id: int, month: dt.date) -> dict[int, float]:
    """partner id → the average of its devices' day scores in the month (one GROUP BY)."""
    month = month_start(month)
    rows = (
        DeviceDay.objects.filter(
            brand_id=brand_id,
            day__gte=month,
            day__lt=next_month(month),
            score__isnull=False,
            device__device_type__partner__isnull=False,
        )
        .values("device__device_type__partner")
        .annotate(score=Avg("score"), days=Count("pk"))
    )
    return {row["device__device_type__partner"]: row["score"] for row in rows}


def verdict_for(score: float, policy: BackflowPolicy) -> str | None:
    if score >= policy.reward_at:
        return NoticeKind.REWARD
    if score < policy.penalty_below:
        return NoticeKind.PENALTY
    return None


def issue_monthly_verdicts(*, brand_id: int, month: dt.date) -> list[PartnerNotice]:
    """Reward or penalty notices for the brand's partners for the month (its first day, or
    any day in it); returns the notices created now. One per partner and month: a rerun,
    or a partner already judged, changes nothing. Each new notice publishes
    `backflow.notice_issued` (partner = the ApiClient id, month, verdict, score) after
    commit, so the partner's webhooks carry it."""
    month = month_start(month)
    policy = policy_for(brand_id)
    scores = partner_month_scores(brand_id=brand_id, month=month)
    notices = []
    for partner_id, score in sorted(scores.items()):
        kind = verdict_for(score, policy)
        if kind is None:
            continue
        notices.append(
            PartnerNotice(
                brand_id=brand_id, partner_id=partner_id, month=month, kind=kind, score=round(score, 2)
            )
        )
    if not notices:
        return []
    fresh = []
    with transaction.atomic():
        already = set(
            PartnerNotice.objects.filter(
                month=month, partner_id__in=[n.partner_id for n in notices]
            ).values_list("partner_id", flat=True)
        )
        for notice in notices:  # a few partners: one row each (a concurrent run's wins)
            if notice.partner_id in already:
                continue
            try:
                with transaction.atomic():
                    notice.save(force_insert=True)
            except IntegrityError:
                continue
            fresh.append(notice)
            events.publish(
                "backflow.notice_issued",
                brand=brand_id,
                notice=notice.pk,
                partner=notice.partner_id,
                month=f"{month:%Y-%m}",
                verdict=str(notice.kind),
                score=notice.score,
            )
    return fresh


def issue_all_verdicts(*, month: dt.date | None = None) -> dict[int, int]:
    """The previous month's verdicts (by default) for every brand; brand id → notices made."""
    if month is None:
        month = month_start(month_start(local_today()) - dt.timedelta(days=1))
    return {
        brand_id: len(issue_monthly_verdicts(brand_id=brand_id, month=month))
        for brand_id in Brand.objects.order_by("pk").values_list("pk", flat=True)
    }


def update_policy(
    *,
    brand_id: int,
    weight_timeliness: int,
    weight_completeness: int,
    weight_accuracy: int,
    reward_at: float,
    penalty_below: float,
    raw_event_retention_days: int,
    actor_id: int | None = None,
) -> BackflowPolicy:
    """HQ sets the brand's standard. Weights sum to 100; the penalty line is not above the
    reward line; raw events are kept at least MIN_RETENTION_DAYS days. New weights apply to days computed
    from now on (past days keep their scores)."""
    if weight_timeliness + weight_completeness + weight_accuracy != 100:
        raise DomainError("The three weights must add up to 100.")
    if min(weight_timeliness, weight_completeness, weight_accuracy) < 0:
        raise DomainError("Weights cannot be negative.")
    if not (0 <= penalty_below <= reward_at <= 100):
        raise DomainError("Scores run from 0 to 100 and the penalty line cannot be above the reward line.")
    if raw_event_retention_days < MIN_RETENTION_DAYS:
        raise DomainError(
            f"Raw events are kept at least {MIN_RETENTION_DAYS} days (the nightly scoring reads them)."
        )
    with transaction.atomic():
        policy, _ = BackflowPolicy.objects.select_for_update().get_or_create(brand_id=brand_id)
        policy.weight_timeliness = weight_timeliness
        policy.weight_completeness = weight_completeness
        policy.weight_accuracy = weight_accuracy
        policy.reward_at = reward_at
        policy.penalty_below = penalty_below
        policy.raw_event_retention_days = raw_event_retention_days
        policy.save()
        audit.record(AuditAction.UPDATE, policy, actor_id=actor_id, message="data-backflow policy")
    return policy
