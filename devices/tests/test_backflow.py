"""The data-backflow standard: device-day scores from a crafted event stream (hand-computed),
accuracy from the invalid counters, weights, monthly verdicts, brand isolation, the partner API."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from devices.choices import NoticeKind
from devices.models import BackflowPolicy, DeviceDay, DeviceEvent, PartnerNotice
from devices.selectors.backflow import last_scored_day
from devices.services import backflow as services
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from retail import services as retail_services
from retail.errors import DomainError
from retail.models import ApiClient
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

SCORECARD = "/api/v1/backflow/scorecard/"
DEVICE_DAYS = "/api/v1/backflow/device-days/"

DAY = dt.date(2026, 11, 20)
LOCAL = ZoneInfo(settings.TIME_ZONE)  # days are local days, as ingestion counts them
NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=LOCAL)


def send(device, stream, *, at=NOON):
    """Store events as ingestion would: `stream` is [(seq, delay seconds)], occurring a
    minute apart from `at`."""
    DeviceEvent.objects.bulk_create(
        DeviceEvent(
            brand_id=device.brand_id,
            device=device,
            seq=seq,
            event_type="heartbeat",
            occurred_at=at + dt.timedelta(minutes=i),
            received_at=at + dt.timedelta(minutes=i, seconds=delay),
            payload={},
        )
        for i, (seq, delay) in enumerate(stream)
    )


def count_invalid(device, day, n):
    """Ingestion's counter of events the schema rejected."""
    DeviceDay.objects.update_or_create(
        device=device, day=day, defaults={"brand_id": device.brand_id, "invalid": n}
    )


def partner_client(brand, name="Mirror Co"):
    return ApiClient.objects.create(brand=brand, name=name, scopes=["devices:read"])


def partner_device(brand, partner, *, threshold=60, store=None):
    device_type = DeviceTypeFactory(brand=brand, partner=partner, timeliness_threshold_seconds=threshold)
    return DeviceFactory(brand=brand, device_type=device_type, store=store or StoreFactory(brand=brand))


def day_of(device, day=DAY) -> DeviceDay:
    return DeviceDay.objects.get(device=device, day=day)


# --- device-day scores --------------------------------------------------------------------


def test_a_crafted_stream_scores_its_gaps_and_delays_as_computed_by_hand(brand):
    # given a device whose type expects events within 60 s, sending seqs 1..10 without 4 and 7
    # (8 received, 2 missing), with delays 10, 20, 30, 40, 50, 60, 70 and 200 seconds,
    # and 2 events the schema rejected
    device = partner_device(brand, None, threshold=60)
    send(device, [(1, 10), (2, 20), (3, 30), (5, 40), (6, 50), (8, 60), (9, 70), (10, 200)])
    count_invalid(device, DAY, 2)
    # when the day is computed
    computed = services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then by hand: completeness 8 / (10 − 1 + 1) = 80 %, 2 gaps;
    # p95: pos = (8 − 1) × 0.95 = 6.65 → 70 + 0.65 × (200 − 70) = 154.5 s;
    # timeliness = 100 × (240 − 154.5) / 180 = 47.5; accuracy = 8 / (8 + 2) = 80 %;
    # score = 0.3 × 47.5 + 0.4 × 80 + 0.3 × 80 = 70.25
    assert computed == 1
    row = day_of(device)
    assert (row.received, row.invalid, row.seq_min, row.seq_max, row.gaps) == (8, 2, 1, 10, 2)
    assert row.delay_p95_seconds == pytest.approx(154.5)
    assert row.completeness == pytest.approx(80.0)
    assert row.timeliness == pytest.approx(47.5)
    assert row.accuracy == pytest.approx(80.0)
    assert row.score == pytest.approx(70.25)
    assert row.computed_at is not None


def test_a_timely_complete_stream_scores_100_and_other_days_events_do_not_count(brand):
    # given a device sending seqs 100..104 within 5 s, plus one event just before midnight
    # the day before (received after midnight) and one the next day, far late
    device = partner_device(brand, None, threshold=30)
    send(device, [(100, 5), (101, 5), (102, 5), (103, 5), (104, 5)])
    send(device, [(99, 3600)], at=dt.datetime(2026, 11, 19, 23, 59, 59, tzinfo=LOCAL))
    send(device, [(200, 9999)], at=dt.datetime(2026, 11, 21, 0, 0, tzinfo=LOCAL))
    # when the day is computed
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then only the day's five count: no gap, p95 5 s ≤ 30 s, everything 100
    row = day_of(device)
    assert (row.received, row.seq_min, row.seq_max, row.gaps) == (5, 100, 104, 0)
    assert row.delay_p95_seconds == pytest.approx(5.0)
    assert (row.timeliness, row.completeness, row.accuracy, row.score) == (100, 100, 100, 100)


def test_days_are_local_days_like_ingestions_counters(brand):
    # given an event at 17:00 UTC on 19 November, which is 01:00 on 20 November in Shanghai
    device = partner_device(brand, None)
    send(device, [(1, 2)], at=dt.datetime(2026, 11, 19, 17, 0, tzinfo=dt.UTC))
    # when 20 November is computed, then it counts there (and 19 November has nothing)
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    services.compute_device_days(brand_id=brand.pk, day=DAY - dt.timedelta(days=1))
    assert list(DeviceDay.objects.values_list("day", "received")) == [(DAY, 1)]


def test_computing_a_day_is_set_based_whatever_the_number_of_devices(brand, other_brand):
    # given brand A with 2 devices and brand B with 12, each with a few events
    from django.test.utils import CaptureQueriesContext

    for b, n in ((brand, 2), (other_brand, 12)):
        for _ in range(n):
            send(partner_device(b, None), [(1, 1), (2, 3), (4, 9)])
    # when each brand's day is computed
    counts = []
    for b in (brand, other_brand):
        with CaptureQueriesContext(connection) as queries:
            services.compute_device_days(brand_id=b.pk, day=DAY)
        counts.append(len(queries))
    # then the same few statements do it (no query per device or event)
    assert counts[0] == counts[1] <= 8
    assert DeviceDay.objects.filter(brand=other_brand, gaps=1).count() == 12


def test_timeliness_falls_linearly_to_zero_at_four_times_the_threshold(brand):
    # given three devices of a 100 s threshold whose one event is 100 s, 250 s and 500 s late
    devices = [partner_device(brand, None, threshold=100) for _ in range(3)]
    for device, delay in zip(devices, (100, 250, 500), strict=True):
        send(device, [(1, delay)])
    # when the day is computed
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then on time is 100, half way to 400 s is 50, beyond 400 s is 0
    assert [day_of(d).timeliness for d in devices] == [100, pytest.approx(50.0), 0]


def test_a_device_with_only_rejected_events_scores_zero(brand):
    # given a device whose every event that day failed the schema (no event stored)
    device = partner_device(brand, None)
    count_invalid(device, DAY, 3)
    # when the day is computed
    assert services.compute_device_days(brand_id=brand.pk, day=DAY) == 1
    # then nothing usable came back: every measure is 0, the counter is kept
    row = day_of(device)
    assert (row.received, row.invalid, row.gaps, row.delay_p95_seconds) == (0, 3, 0, None)
    assert (row.timeliness, row.completeness, row.accuracy, row.score) == (0, 0, 0, 0)


def test_recomputing_a_day_is_idempotent_and_takes_late_events(brand):
    # given a day computed with seqs 1 and 3 (one gap)
    device = partner_device(brand, None)
    send(device, [(1, 1), (3, 1)])
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    assert day_of(device).gaps == 1
    # when seq 2 arrives late and the day is computed twice more
    send(device, [(2, 1)], at=NOON + dt.timedelta(hours=1))
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then one row, complete
    assert DeviceDay.objects.filter(device=device).count() == 1
    assert (day_of(device).received, day_of(device).gaps, day_of(device).completeness) == (3, 0, 100)


def test_a_day_whose_raw_events_were_purged_keeps_its_scores(brand):
    # given a computed day whose events retention has since deleted
    device = partner_device(brand, None)
    send(device, [(1, 1), (2, 1)])
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    DeviceEvent.objects.filter(device=device).delete()
    # when the day is computed again
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then the scores stand
    assert (day_of(device).received, day_of(device).score) == (2, 100)


def test_the_policy_weights_make_the_score(brand):
    # given a policy weighing timeliness 50, completeness 25, accuracy 25
    BackflowPolicy.objects.create(
        brand=brand, weight_timeliness=50, weight_completeness=25, weight_accuracy=25
    )
    # and a device with timeliness 50 (250 s late, threshold 100), complete, accuracy 50
    device = partner_device(brand, None, threshold=100)
    send(device, [(1, 250)])
    count_invalid(device, DAY, 1)
    # when the day is computed
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then 0.5 × 50 + 0.25 × 100 + 0.25 × 50 = 62.5
    assert day_of(device).score == pytest.approx(62.5)


def test_computing_a_brand_leaves_another_brands_devices_alone(brand, other_brand):
    # given devices with events in both brands
    ours, theirs = partner_device(brand, None), partner_device(other_brand, None)
    send(ours, [(1, 1)])
    send(theirs, [(1, 1)])
    count_invalid(theirs, DAY, 4)
    # when brand A's day is computed
    services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then brand B has no score yet
    assert day_of(ours).score == 100
    assert day_of(theirs).score is None and day_of(theirs).received == 0


def test_the_daily_task_scores_yesterday_and_rescores_the_day_before(brand, other_brand):
    # given events on 20 November in two brands, scored by the night of the 21st, when seq 2
    # of brand B's device arrives late, on the 21st
    from devices.tasks.backflow import compute_device_days_task

    ours, theirs = partner_device(brand, None), partner_device(other_brand, None)
    send(ours, [(1, 1)])
    send(theirs, [(1, 1), (3, 1)])
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2026, 11, 21, 0, 30, tzinfo=LOCAL)):
        compute_device_days_task.delay()
    assert day_of(ours).completeness == 100 and day_of(theirs).gaps == 1
    send(theirs, [(2, 50_000)])
    # when the nightly task runs again the next night
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2026, 11, 22, 0, 30, tzinfo=LOCAL)):
        compute_device_days_task.delay()
    # then the 20th is rescored: complete now, the late event weighing on timeliness
    assert day_of(theirs).gaps == 0 and day_of(theirs).timeliness < 100


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PERCENTILE_CONT is PostgreSQL's")
@pytest.mark.parametrize("portable", [True, False], ids=["portable form", "postgresql form"])
def test_the_portable_p95_equals_postgresqls_percentile_cont(brand, portable):
    # given devices with irregular delays (ties, a single event, unsorted seqs)
    streams = [
        [(i, (i * 37) % 101 + (i % 3) * 0.25) for i in range(1, 58)],
        [(1, 12.5)],
        [(5, 3), (4, 3), (9, 1), (2, 400)],
    ]
    devices = [partner_device(brand, None) for _ in streams]
    for device, stream in zip(devices, streams, strict=True):
        send(device, stream)
    # when the day is computed by the portable statement (SQLite's) or PostgreSQL's own
    upsert = services._upsert_sql
    with mock.patch.object(services, "_upsert_sql", lambda: upsert(portable=portable)):
        services.compute_device_days(brand_id=brand.pk, day=DAY)
    # then each p95 equals PERCENTILE_CONT(0.95) over the same delays
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT device_id, PERCENTILE_CONT(0.95) WITHIN GROUP "
            "(ORDER BY EXTRACT(EPOCH FROM received_at - occurred_at)) "
            "FROM devices_deviceevent WHERE brand_id = %s GROUP BY device_id",
            [brand.pk],
        )
        expected = {device_id: float(value) for device_id, value in cursor.fetchall()}
    for device in devices:
        assert day_of(device).delay_p95_seconds == pytest.approx(round(expected[device.pk], 3))


# --- monthly verdicts ---------------------------------------------------------------------


def scored_day(device, day, score):
    DeviceDay.objects.create(brand_id=device.brand_id, device=device, day=day, received=1, score=score)


def test_monthly_verdicts_reward_penalise_or_leave_alone(brand):
    # given three partners whose devices averaged 96, 79 and 85 in November
    gold, poor, fair = (partner_client(brand, name) for name in ("Gold", "Poor", "Fair"))
    for partner, scores in ((gold, (100, 92)), (poor, (70, 88)), (fair, (85, 85))):
        device = partner_device(brand, partner)
        for offset, score in enumerate(scores):
            scored_day(device, dt.date(2026, 11, 1 + offset), score)
    # and a December day that does not count for November
    scored_day(partner_device(brand, fair), dt.date(2026, 12, 1), 0)
    # when November's verdicts are issued (default policy: reward ≥ 95, penalty < 80)
    notices = services.issue_monthly_verdicts(brand_id=brand.pk, month=dt.date(2026, 11, 15))
    # then Gold is rewarded, Poor gets a penalty notice, Fair nothing
    assert {(n.partner_id, n.kind, n.score) for n in notices} == {
        (gold.pk, NoticeKind.REWARD, 96.0),
        (poor.pk, NoticeKind.PENALTY, 79.0),
    }
    assert set(PartnerNotice.objects.values_list("month", flat=True)) == {dt.date(2026, 11, 1)}


def test_monthly_verdicts_are_issued_once(brand):
    # given a partner penalised for November
    partner = partner_client(brand)
    device = partner_device(brand, partner)
    scored_day(device, dt.date(2026, 11, 3), 50)
    services.issue_monthly_verdicts(brand_id=brand.pk, month=dt.date(2026, 11, 1))
    # when the verdicts are issued again, after a better day was added
    scored_day(device, dt.date(2026, 11, 4), 100)
    again = services.issue_monthly_verdicts(brand_id=brand.pk, month=dt.date(2026, 11, 1))
    # then nothing new: one notice, the first
    assert again == []
    assert list(PartnerNotice.objects.values_list("kind", "score")) == [(NoticeKind.PENALTY, 50.0)]


def test_in_house_devices_get_no_verdict_and_the_policy_lines_apply(brand):
    # given a stricter policy (reward ≥ 99, penalty < 90), an in-house device scoring 10
    # and a partner averaging 95
    BackflowPolicy.objects.create(brand=brand, reward_at=99, penalty_below=90)
    scored_day(partner_device(brand, None), dt.date(2026, 11, 2), 10)
    partner = partner_client(brand)
    scored_day(partner_device(brand, partner), dt.date(2026, 11, 2), 95)
    # when verdicts are issued
    notices = services.issue_monthly_verdicts(brand_id=brand.pk, month=dt.date(2026, 11, 1))
    # then only the partner is judged, and 95 is neither reward nor penalty now
    assert notices == []
    assert not PartnerNotice.objects.exists()


def test_the_monthly_task_judges_the_previous_month(brand):
    from devices.tasks.backflow import issue_monthly_verdicts_task

    # given a partner that scored 99 in November
    partner = partner_client(brand)
    scored_day(partner_device(brand, partner), dt.date(2026, 11, 30), 99)
    # when the monthly task runs on 2 December (after 30 November was rescored)
    with mock.patch("django.utils.timezone.now", return_value=dt.datetime(2026, 12, 2, 1, 0, tzinfo=LOCAL)):
        issue_monthly_verdicts_task.delay()
    # then November is rewarded
    notice = PartnerNotice.objects.get()
    assert (notice.partner_id, notice.month, notice.kind) == (partner.pk, dt.date(2026, 11, 1), "reward")


# --- the policy -----------------------------------------------------------------------------


def test_policy_weights_must_add_up_to_100(brand):
    # when HQ sets weights adding up to 90, then it is refused and nothing is stored
    with pytest.raises(DomainError):
        services.update_policy(
            brand_id=brand.pk,
            weight_timeliness=30,
            weight_completeness=30,
            weight_accuracy=30,
            reward_at=95,
            penalty_below=80,
            raw_event_retention_days=30,
        )
    assert not BackflowPolicy.objects.exists()


def test_policy_penalty_line_cannot_be_above_the_reward_line(brand):
    with pytest.raises(DomainError):
        services.update_policy(
            brand_id=brand.pk,
            weight_timeliness=30,
            weight_completeness=40,
            weight_accuracy=30,
            reward_at=80,
            penalty_below=90,
            raw_event_retention_days=30,
        )


# --- the partner API ------------------------------------------------------------------------


def api_as(client_row) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {retail_services.issue_api_token(client=client_row)[1]}")
    return api


def test_a_partner_reads_its_own_scorecard_and_nothing_else(brand, other_brand):
    # given Mirror Co's devices scoring 90 and 70 yesterday, Fridge Co's scoring 10, an in-house
    # device, brand B's partner device, and a reward of Mirror Co and a penalty of Fridge Co
    mirror, fridge = partner_client(brand, "Mirror Co"), partner_client(brand, "Fridge Co")
    yesterday = last_scored_day()
    mine = [partner_device(brand, mirror), partner_device(brand, mirror)]
    scored_day(mine[0], yesterday, 90)
    scored_day(mine[1], yesterday, 70)
    scored_day(mine[0], yesterday - dt.timedelta(days=40), 5)  # outside the 30 days
    scored_day(partner_device(brand, fridge), yesterday, 10)
    scored_day(partner_device(brand, None), yesterday, 100)
    scored_day(partner_device(other_brand, partner_client(other_brand, "Theirs")), yesterday, 0)
    PartnerNotice.objects.create(
        brand=brand, partner=mirror, month=dt.date(2026, 10, 1), kind="reward", score=96
    )
    PartnerNotice.objects.create(
        brand=brand, partner=fridge, month=dt.date(2026, 10, 1), kind="penalty", score=9
    )
    api = api_as(mirror)
    # when Mirror Co reads its scorecard and its device days
    card = api.get(SCORECARD)
    days = api.get(DEVICE_DAYS)
    # then it sees yesterday's average of its own two devices, its own notice only
    assert card.status_code == 200, card.content
    body = card.json()
    assert body["daily"] == [{"day": yesterday.isoformat(), "devices": 2, "score": 80.0}]
    assert body["end"] == yesterday.isoformat() and (body["reward_at"], body["penalty_below"]) == (95, 80)
    assert [(n["month"], n["kind"]) for n in body["notices"]] == [("2026-10-01", "reward")]
    # and only its own devices' days of the last 30 days
    assert days.status_code == 200, days.content
    assert sorted((r["device"], r["score"]) for r in days.json()["results"]) == sorted(
        [(mine[0].pk, 90.0), (mine[1].pk, 70.0)]
    )


def test_a_partner_filters_its_device_days_by_day(brand):
    mirror = partner_client(brand, "Mirror Co")
    device = partner_device(brand, mirror)
    yesterday = last_scored_day()
    scored_day(device, yesterday, 90)
    scored_day(device, yesterday - dt.timedelta(days=1), 60)
    response = api_as(mirror).get(DEVICE_DAYS, {"day": (yesterday - dt.timedelta(days=1)).isoformat()})
    assert [r["score"] for r in response.json()["results"]] == [60.0]


def test_a_token_without_the_devices_scope_is_refused(brand):
    # given a partner token with only the orders scope
    client_row = ApiClient.objects.create(brand=brand, name="Orders only", scopes=["orders:read"])
    api = api_as(client_row)
    # when it asks for the scorecard, then 403 in the error shape
    for url in (SCORECARD, DEVICE_DAYS):
        response = api.get(url)
        assert response.status_code == 403
        assert set(response.json()) == {"error"}


def test_the_scorecard_needs_a_token():
    assert APIClient().get(SCORECARD).status_code == 401


def test_raw_events_are_kept_long_enough_for_the_nightly_rescoring(brand):
    with pytest.raises(DomainError):
        services.update_policy(
            brand_id=brand.pk,
            weight_timeliness=30,
            weight_completeness=40,
            weight_accuracy=30,
            reward_at=95,
            penalty_below=80,
            raw_event_retention_days=2,
        )
