"""Telemetry ingestion through POST /api/v1/devices/{id}/events/: the device's credential,
per-event checks, dedupe by (device, seq), the day counters, last seen and online."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import make_partner
from devices.choices import DeviceStatus
from devices.models import Device, DeviceDay, DeviceEvent, DeviceRejectedEvent
from devices.services import ingest
from devices.services.registry import rotate_device_credential
from devices.tests.factories import DeviceFactory
from retail.models import DomainEvent

pytestmark = pytest.mark.django_db


def as_device(device) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {device.credential}")
    return client


def url(device_or_id) -> str:
    pk = getattr(device_or_id, "pk", device_or_id)
    return f"/api/v1/devices/{pk}/events/"


def at(minutes: float = 0) -> str:
    """An ISO time `minutes` from now (negative: in the past)."""
    return (timezone.now() + timedelta(minutes=minutes)).isoformat()


def heartbeat(seq: int, minutes: float = -1, **payload) -> dict:
    return {"seq": seq, "occurred_at": at(minutes), "type": "heartbeat", "payload": payload}


def post(device, events, client=None):
    return (client or as_device(device)).post(url(device), {"events": events}, format="json")


def stored_seqs(device) -> list[int]:
    return sorted(DeviceEvent.objects.filter(device=device).values_list("seq", flat=True))


def online_events(device) -> int:
    return DomainEvent.objects.filter(name="device.online", payload__device=device.pk).count()


@pytest.fixture
def device(brand, store):
    return DeviceFactory(brand=brand, store=store)


# --- the happy path -----------------------------------------------------------------------------


def test_a_batch_is_stored_and_answered_with_the_indexes_of_what_was_accepted(device):
    # given a device with a heartbeat and a dispense event its type's schema allows
    events = [heartbeat(1), {"seq": 2, "occurred_at": at(-1), "type": "dispensed", "payload": {"count": 1}}]
    # when it sends them
    response = post(device, events)
    # then both are accepted and stored, with the brand, the type and the receipt time
    assert response.status_code == 200, response.content
    assert response.json() == {
        "accepted": [0, 1],
        "duplicates": [],
        "rejected": [],
        "counts": {"accepted": 2, "duplicates": 0, "rejected": 0},
    }
    rows = list(DeviceEvent.objects.filter(device=device).order_by("seq"))
    assert [(r.seq, r.event_type, r.brand_id) for r in rows] == [
        (1, "heartbeat", device.brand_id),
        (2, "dispensed", device.brand_id),
    ]
    assert rows[1].payload == {"count": 1}
    assert all(r.received_at >= r.occurred_at for r in rows)


def test_the_time_an_event_occurred_is_stored_to_the_microsecond_whatever_its_offset(device):
    # given events stamped in Shanghai time, in UTC with "Z", with microseconds, and with an
    # offset in seconds (ISO 8601 allows it; it must not be rounded to the minute on the way)
    stamps = [
        "2026-11-20T10:00:00.123456+08:00",
        "2026-11-20T02:00:00.000001Z",
        "2026-11-19T21:30:00-04:30",
        "2026-11-20T07:30:15.5+05:30:15.250000",
    ]
    events = [{"seq": i, "occurred_at": s, "type": "heartbeat", "payload": {}} for i, s in enumerate(stamps)]
    # when they are stored
    assert post(device, events).json()["accepted"] == [0, 1, 2, 3]
    # then each is the same instant as sent
    stored = dict(DeviceEvent.objects.filter(device=device).values_list("seq", "occurred_at"))
    assert stored == {i: datetime.fromisoformat(s) for i, s in enumerate(stamps)}


def test_out_of_order_events_are_all_stored(device):
    # given events whose seqs arrive in no particular order, over two batches
    assert post(device, [heartbeat(5), heartbeat(2), heartbeat(9)]).status_code == 200
    # when the gap is filled later
    response = post(device, [heartbeat(3), heartbeat(1)])
    # then everything is stored
    assert response.json()["accepted"] == [0, 1]
    assert stored_seqs(device) == [1, 2, 3, 5, 9]


# --- resending and duplicates --------------------------------------------------------------------


def test_resending_the_same_batch_stores_each_event_once(device):
    # given a batch sent once
    batch = [
        heartbeat(1),
        heartbeat(2),
        {"seq": 3, "occurred_at": at(-2), "type": "dispensed", "payload": {"count": 2}},
    ]
    first = post(device, batch)
    assert first.json()["accepted"] == [0, 1, 2]
    # when the device resends it three more times (it never saw the answer)
    answers = [post(device, batch).json() for _ in range(3)]
    # then each event is stored once, and each resend reports them as duplicates
    assert stored_seqs(device) == [1, 2, 3]
    for answer in answers:
        assert answer["accepted"] == []
        assert answer["duplicates"] == [0, 1, 2]
    # and the day counted each event once
    assert sum(DeviceDay.objects.filter(device=device).values_list("received", flat=True)) == 3


def test_a_seq_repeated_within_a_batch_is_stored_once(device):
    # given a batch naming seq 7 twice
    response = post(device, [heartbeat(7), heartbeat(8), heartbeat(7)])
    # then the first is accepted, the repeat is a duplicate
    assert response.json()["accepted"] == [0, 1]
    assert response.json()["duplicates"] == [2]
    assert stored_seqs(device) == [7, 8]


def test_a_repeat_of_a_rejected_event_in_the_same_batch_may_still_be_accepted(device):
    # given a bad event and, later in the batch, a good one with the same seq
    bad = {"seq": 4, "occurred_at": "yesterday", "type": "heartbeat", "payload": {}}
    response = post(device, [bad, heartbeat(4)])
    # then the good one is stored
    assert response.json()["accepted"] == [1]
    assert [r["index"] for r in response.json()["rejected"]] == [0]
    assert stored_seqs(device) == [4]


def test_another_devices_seqs_are_its_own(brand, store, device):
    # given two devices sending the same seq numbers
    other = DeviceFactory(brand=brand, store=store)
    post(device, [heartbeat(1), heartbeat(2)])
    # when the other sends seq 1 and 2 too, then they are not duplicates
    assert post(other, [heartbeat(1), heartbeat(2)]).json()["accepted"] == [0, 1]
    assert stored_seqs(other) == [1, 2]


# --- per-event rejections -------------------------------------------------------------------------


def test_a_batch_with_bad_events_stores_the_good_ones_and_says_why_for_each_bad_one(device):
    # given a batch mixing good events with every kind of bad one
    events = [
        heartbeat(1),  # 0 good
        "not an object",  # 1
        {"seq": -1, "occurred_at": at(-1), "type": "heartbeat", "payload": {}},  # 2
        {"seq": "3", "occurred_at": at(-1), "type": "heartbeat", "payload": {}},  # 3
        {"seq": 4, "occurred_at": "2026-13-45T99:00:00Z", "type": "heartbeat", "payload": {}},  # 4
        {"seq": 5, "occurred_at": "2026-11-26T10:00:00", "type": "heartbeat", "payload": {}},  # 5 naive
        {"seq": 6, "occurred_at": at(-1), "type": "teleport", "payload": {}},  # 6
        {"seq": 7, "occurred_at": at(-1), "type": "dispensed", "payload": {"count": 0}},  # 7
        {"seq": 8, "occurred_at": at(-1), "type": "heartbeat", "payload": [1, 2]},  # 8
        {"seq": 9, "occurred_at": at(-1), "type": "heartbeat", "payload": {}, "extra": 1},  # 9
        {"seq": 10, "occurred_at": "1970-01-01T00:00:05Z", "type": "heartbeat", "payload": {}},  # 10
        {"seq": 11, "occurred_at": at(-1), "type": "dispensed", "payload": {"count": 3}},  # 11 good
        {"seq": True, "occurred_at": at(-1), "type": "heartbeat", "payload": {}},  # 12
    ]
    # when it is sent
    response = post(device, events)
    # then the good ones are stored, and each bad one is rejected by index with a reason
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == [0, 11]
    codes = {r["index"]: r["code"] for r in body["rejected"]}
    assert codes == {
        1: "invalid_event",
        2: "invalid_seq",
        3: "invalid_seq",
        4: "invalid_occurred_at",
        5: "invalid_occurred_at",
        6: "unknown_type",
        7: "schema_invalid",
        8: "invalid_payload",
        9: "unknown_field",
        10: "invalid_occurred_at",
        12: "invalid_seq",
    }
    assert body["counts"] == {"accepted": 2, "duplicates": 0, "rejected": 11}
    messages = {r["index"]: r["message"] for r in body["rejected"]}
    assert "count" in messages[7] and "minimum" in messages[7]
    assert "extra" in messages[9]
    assert stored_seqs(device) == [1, 11]


def test_an_event_more_than_five_minutes_in_the_future_is_rejected_alone(device):
    # given an event 6 minutes ahead of the server's clock next to one 4 minutes ahead
    events = [heartbeat(1, minutes=6), heartbeat(2, minutes=4), heartbeat(3, minutes=-10)]
    # when they are sent
    body = post(device, events).json()
    # then only the first is rejected, as from the future
    assert body["rejected"] == [
        {"index": 0, "code": "future_occurred_at", "message": body["rejected"][0]["message"]}
    ]
    assert "5 minutes in the future" in body["rejected"][0]["message"]
    assert body["accepted"] == [1, 2]
    assert stored_seqs(device) == [2, 3]


def test_a_changed_device_type_schema_applies_to_the_next_batch(device):
    # given a dispense event accepted under the type's first schema
    dispensed = {"seq": 1, "occurred_at": at(-1), "type": "dispensed", "payload": {"count": 1}}
    assert post(device, [dispensed]).json()["accepted"] == [0]
    # when HQ now requires a member on every dispense event
    device_type = device.device_type
    device_type.event_schemas = {"dispensed": {"type": "object", "required": ["count", "member"]}}
    device_type.save()
    # then the same kind of event without a member is rejected
    body = post(device, [{**dispensed, "seq": 2}]).json()
    assert [r["code"] for r in body["rejected"]] == ["schema_invalid"]
    assert "member" in body["rejected"][0]["message"]


# --- batch-level errors: nothing stored ------------------------------------------------------------


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_malformed_json_is_a_400_and_stores_nothing(device):
    # when a device sends a body that is not JSON
    response = as_device(device).post(
        url(device), data='{"events": [{"seq": 1,', content_type="application/json"
    )
    # then it is a 400 saying so, and nothing is stored or marked
    error = assert_error(response, 400, "malformed_json")
    assert "JSON" in error["message"]
    assert not DeviceEvent.objects.exists()
    device.refresh_from_db()
    assert device.last_seen_at is None and device.status == DeviceStatus.PROVISIONED


def test_a_payload_integer_beyond_64_bits_is_stored_exactly(device):
    # given a heartbeat whose payload holds an integer no 64-bit type holds (the fast JSON
    # reader would make it a float; such a body goes through the hardened parser instead)
    big = 123456789012345678901234567890
    response = post(device, [heartbeat(1, counter=big, temp=21.5)])
    # then it is accepted and stored to the last digit
    assert response.json()["accepted"] == [0]
    assert DeviceEvent.objects.get(device=device).payload == {"counter": big, "temp": 21.5}


def test_a_nul_character_spelled_as_an_escape_is_a_400_like_everywhere_in_the_api(device):
    body = '{"events": [{"seq": 1, "occurred_at": "%s", "type": "heartbeat", "payload": {"n": "a\\u0000"}}]}'
    response = as_device(device).post(url(device), data=body % at(-1), content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert not DeviceEvent.objects.exists()


@pytest.mark.parametrize("body", [[], {"events": "many"}, {"evts": []}, {"events": [], "extra": 1}])
def test_a_body_that_is_not_a_batch_is_a_400(device, body):
    response = as_device(device).post(url(device), body, format="json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"]
    assert not DeviceEvent.objects.exists()


def test_a_batch_over_1000_events_is_a_413_and_stores_nothing(device):
    # given 1,001 otherwise good events
    events = [heartbeat(seq) for seq in range(1001)]
    # when they are sent in one batch
    response = post(device, events)
    # then it is a 413 naming the limit, and not one event is stored
    error = assert_error(response, 413, "batch_too_large")
    assert "1000" in error["message"]
    assert not DeviceEvent.objects.exists()
    assert not DeviceDay.objects.exists()
    # while 1,000 is fine
    assert post(device, events[:1000]).json()["counts"]["accepted"] == 1000


@override_settings(API_MAX_BODY_BYTES=4096)
def test_a_body_over_the_size_cap_is_a_413_and_stores_nothing(device):
    # given a batch whose body is larger than the cap
    events = [heartbeat(seq, note="x" * 100) for seq in range(50)]
    assert len(json.dumps({"events": events})) > 4096
    # when it is sent, then it is a 413 and nothing is stored
    assert_error(post(device, events), 413, "payload_too_large")
    assert not DeviceEvent.objects.exists()


def test_an_empty_batch_is_fine(device):
    body = post(device, []).json()
    assert body["counts"] == {"accepted": 0, "duplicates": 0, "rejected": 0}


# --- credentials and isolation --------------------------------------------------------------------


def test_a_wrong_credential_is_a_401(device):
    # given credentials that are not the device's: a wrong secret, an unknown prefix, garbage
    prefix = device.credential.split("_")[1]
    for credential in (f"tdv_{prefix}_wrong", "tdv_000000000000_secret", "tdv_", "tdv__x"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
        # when one is used, then it is a 401 in the error shape
        response = client.post(url(device), {"events": [heartbeat(1)]}, format="json")
        assert_error(response, 401, "authentication_failed")
        assert response["WWW-Authenticate"] == "Bearer"
    assert not DeviceEvent.objects.exists()


def test_no_credential_is_a_401(device):
    response = APIClient().post(url(device), {"events": [heartbeat(1)]}, format="json")
    assert_error(response, 401, "not_authenticated")


def test_a_rotated_credential_stops_working_at_once(device):
    # given the manager rotated the device's credential
    old = device.credential
    device.credential = rotate_device_credential(device=device)
    # then the old one is a 401 and the new one works
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION=f"Bearer {old}")
    assert stale.post(url(device), {"events": [heartbeat(1)]}, format="json").status_code == 401
    assert post(device, [heartbeat(1)]).status_code == 200


def test_a_retired_device_is_refused_with_a_clear_message(device):
    # given a retired device
    Device.objects.filter(pk=device.pk).update(status=DeviceStatus.RETIRED, retired_at=timezone.now())
    # when it sends events, then it is a 403 saying it is retired, and nothing is stored
    error = assert_error(post(device, [heartbeat(1)]), 403, "device_retired")
    assert "retired" in error["message"]
    assert not DeviceEvent.objects.exists()


def test_a_device_may_not_send_events_as_another_device_or_an_unknown_one(brand, store, other_brand, device):
    # given another device of the same store, one of another brand, and an id that never existed
    sibling = DeviceFactory(brand=brand, store=store)
    foreign = DeviceFactory(brand=other_brand)
    missing = Device.objects.order_by("-pk").first().pk + 1000
    for target in (sibling.pk, foreign.pk, missing):
        # when the device posts to their URL with its own credential
        response = as_device(device).post(url(target), {"events": [heartbeat(1)]}, format="json")
        # then it is a 404, as for an id that does not exist, and nothing is stored anywhere
        assert_error(response, 404, "not_found")
    assert not DeviceEvent.objects.exists()
    for other in (sibling, foreign):
        other.refresh_from_db()
        assert other.last_seen_at is None


def test_a_partner_token_sends_no_devices_events(brand, other_brand, device):
    # given a partner token of the brand with every scope
    partner = make_partner(brand)
    foreign = DeviceFactory(brand=other_brand)
    # then another brand's device is a 404, its own brand's device a 403 (only the device sends)
    assert_error(partner.post(url(foreign), {"events": [heartbeat(1)]}, format="json"), 404, "not_found")
    error = assert_error(
        partner.post(url(device), {"events": [heartbeat(1)]}, format="json"), 403, "permission_denied"
    )
    assert "device" in error["message"]
    assert not DeviceEvent.objects.exists()


# --- last seen, online, firmware --------------------------------------------------------------------


def test_the_first_batch_brings_a_provisioned_device_online_and_says_so_once(
    device, django_capture_on_commit_callbacks
):
    # given a device just registered (provisioned, never seen)
    assert device.status == DeviceStatus.PROVISIONED and device.last_seen_at is None
    # when it sends a heartbeat, then another
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        post(device, [heartbeat(1)])
        post(device, [heartbeat(2)])
    # then it is online, seen now, and device.online was published once
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE
    assert device.last_seen_at >= before
    assert online_events(device) == 1
    event = DomainEvent.objects.get(name="device.online")
    assert (event.brand_id, event.store_id) == (device.brand_id, device.store_id)
    assert event.payload == {"device": device.pk, "serial": device.serial}


def test_an_offline_device_that_reports_again_is_online_and_said_so_again(device):
    # given a device that went offline after being online
    post(device, [heartbeat(1)])
    Device.objects.filter(pk=device.pk).update(status=DeviceStatus.OFFLINE)
    # when it sends again (even only old events), then it is online and announced again
    post(device, [heartbeat(2, minutes=-90)])
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE
    assert online_events(device) == 2


def test_a_heartbeat_carrying_firmware_sets_the_devices_firmware(device):
    # given heartbeats naming two firmware versions, the later one occurring last
    post(device, [heartbeat(2, minutes=-1, firmware="2.0.1"), heartbeat(1, minutes=-3, firmware="1.9.0")])
    device.refresh_from_db()
    # then the device runs the version of the latest heartbeat
    assert device.firmware == "2.0.1"
    # and a heartbeat without firmware changes nothing
    post(device, [heartbeat(3)])
    device.refresh_from_db()
    assert device.firmware == "2.0.1"


def test_a_heartbeat_naming_an_unlisted_firmware_is_stored_and_flagged(brand, store):
    from devices.tests.factories import DeviceTypeFactory

    # given a device whose type lists firmware 2.0 only
    device = DeviceFactory(
        brand=brand, store=store, device_type=DeviceTypeFactory(brand=brand, firmware_versions=["2.0"])
    )
    # when it reports 2.0, then 3.0-beta
    post(device, [heartbeat(1, firmware="2.0")])
    partner = make_partner(brand, scopes=["devices:read"])
    assert partner.get(f"/api/v1/devices/{device.pk}/").json()["firmware_known"] is True
    post(device, [heartbeat(2, firmware="3.0-beta")])
    # then the device runs 3.0-beta as reported, and the API flags it as unknown firmware
    device.refresh_from_db()
    assert device.firmware == "3.0-beta" and not device.firmware_known
    body = partner.get(f"/api/v1/devices/{device.pk}/").json()
    assert (body["firmware"], body["firmware_known"]) == ("3.0-beta", False)


# --- day counters ---------------------------------------------------------------------------------


def test_the_day_counters_count_stored_and_invalid_events_per_local_day(device):
    # given events on both sides of midnight in Shanghai (16:00 UTC) and invalid ones
    late = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # 23:59 on the 20th in Shanghai
    early = datetime(2026, 11, 20, 16, 1, tzinfo=UTC)  # 00:01 on the 21st
    events = [
        {"seq": 10, "occurred_at": late.isoformat(), "type": "heartbeat", "payload": {}},
        {"seq": 12, "occurred_at": late.isoformat(), "type": "heartbeat", "payload": {}},
        {"seq": 13, "occurred_at": early.isoformat(), "type": "heartbeat", "payload": {}},
        {"seq": 14, "occurred_at": early.isoformat(), "type": "dispensed", "payload": {}},  # no count
        {"seq": 15, "occurred_at": early.isoformat(), "type": "teleport", "payload": {}},
        {"seq": 16, "occurred_at": "garbage", "type": "heartbeat", "payload": {}},  # no day to count
    ]
    post(device, events)
    # when more arrives for the 20th, with a resend and a lower seq
    post(device, [events[0], {"seq": 3, "occurred_at": late.isoformat(), "type": "heartbeat", "payload": {}}])
    # then each day counts what was stored once, the invalid ones, and the seq range
    days = {
        d.day: (d.received, d.invalid, d.seq_min, d.seq_max, d.brand_id)
        for d in DeviceDay.objects.filter(device=device)
    }
    assert days == {
        date(2026, 11, 20): (3, 0, 3, 12, device.brand_id),
        date(2026, 11, 21): (1, 2, 13, 13, device.brand_id),
    }


def test_a_day_with_only_invalid_events_has_no_seq_range(device):
    post(device, [{"seq": 1, "occurred_at": at(-1), "type": "dispensed", "payload": {"count": "two"}}])
    day = DeviceDay.objects.get(device=device)
    assert (day.received, day.invalid, day.seq_min, day.seq_max) == (0, 1, None, None)


def test_resending_a_batch_with_bad_events_counts_each_bad_seq_once_and_accuracy_holds(device):
    from devices.services import backflow

    # given a batch with good events and bad ones (schema, unknown type, payload not an object)
    noon = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 on the 20th in Shanghai
    when = noon.isoformat()
    events = [
        {"seq": 1, "occurred_at": when, "type": "heartbeat", "payload": {}},
        {"seq": 2, "occurred_at": when, "type": "dispensed", "payload": {"count": 0}},
        {"seq": 3, "occurred_at": when, "type": "teleport", "payload": {}},
        {"seq": 4, "occurred_at": when, "type": "dispensed", "payload": []},
        {"seq": 5, "occurred_at": when, "type": "heartbeat", "payload": {}},
        {"seq": 3, "occurred_at": when, "type": "teleport", "payload": {"again": True}},  # same bad seq
    ]
    post(device, events)
    backflow.compute_device_days(brand_id=device.brand_id, day=date(2026, 11, 20))
    first = DeviceDay.objects.get(device=device)
    # when the device resends the batch three times (each answered the same way)
    for _ in range(3):
        response = post(device, events)
        assert response.json()["counts"] == {"accepted": 0, "duplicates": 2, "rejected": 4}
    backflow.compute_device_days(brand_id=device.brand_id, day=date(2026, 11, 20))
    # then each bad seq counted once and the accuracy did not move
    day = DeviceDay.objects.get(device=device)
    assert (first.received, first.invalid) == (2, 3)
    assert (day.received, day.invalid) == (2, 3)
    assert day.accuracy == first.accuracy == pytest.approx(100 * 2 / 5)


def test_a_corrected_resend_counts_as_received_and_its_rejection_no_longer_counts(device):
    # given a bad event (seq 2) counted on the 20th
    on_20th = datetime(2026, 11, 20, 4, 0, tzinfo=UTC).isoformat()
    on_21st = datetime(2026, 11, 21, 4, 0, tzinfo=UTC).isoformat()
    bad = {"seq": 2, "occurred_at": on_20th, "type": "dispensed", "payload": {"count": 0}}
    post(device, [{"seq": 1, "occurred_at": on_20th, "type": "heartbeat", "payload": {}}, bad])
    assert DeviceDay.objects.get(device=device, day=date(2026, 11, 20)).invalid == 1
    # when the device sends seq 2 again, corrected (and now dated the 21st)
    fixed = {"seq": 2, "occurred_at": on_21st, "type": "dispensed", "payload": {"count": 1}}
    response = post(device, [fixed])
    # then it is stored and received on the 21st, and the 20th's rejection is gone
    assert response.json()["accepted"] == [0]
    days = {d.day: (d.received, d.invalid) for d in DeviceDay.objects.filter(device=device)}
    assert days == {date(2026, 11, 20): (1, 0), date(2026, 11, 21): (1, 0)}
    assert not DeviceRejectedEvent.objects.filter(device=device).exists()
    # and a bad copy of a seq already stored counts nothing
    post(device, [{**bad, "seq": 1}, bad])
    days = {d.day: (d.received, d.invalid) for d in DeviceDay.objects.filter(device=device)}
    assert days == {date(2026, 11, 20): (1, 0), date(2026, 11, 21): (1, 0)}


def test_a_seq_rejected_and_accepted_in_one_batch_counts_as_accepted_only(device):
    bad = {"seq": 4, "occurred_at": at(-1), "type": "dispensed", "payload": {"count": 0}}
    response = post(device, [bad, heartbeat(4)])
    assert response.json()["accepted"] == [1]
    day = DeviceDay.objects.get(device=device)
    assert (day.received, day.invalid) == (1, 0)
    assert not DeviceRejectedEvent.objects.filter(device=device).exists()


# --- the service directly ---------------------------------------------------------------------------


def test_the_service_refuses_an_oversize_batch_before_writing(device):
    from retail.errors import DomainError

    with pytest.raises(DomainError) as caught:
        ingest.ingest_events(device=device, events=[{}] * (ingest.MAX_EVENTS + 1))
    assert caught.value.status == 413
    assert not DeviceDay.objects.exists()


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions")
@pytest.mark.django_db(transaction=True)
def test_concurrent_resends_of_a_batch_store_each_event_once_and_announce_online_once(brand, store):
    # given a new device and a batch of 200 events
    device = DeviceFactory(brand=brand, store=store)
    batch = [heartbeat(seq) for seq in range(200)]
    answers, errors = [], []
    barrier = threading.Barrier(4)

    def send():
        try:
            barrier.wait()
            fresh = Device.objects.select_related("device_type").get(pk=device.pk)
            answers.append(ingest.ingest_events(device=fresh, events=batch))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when four copies arrive at once
    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then each event is stored once, accepted by exactly one answer, and online said once
    assert not errors, errors
    assert stored_seqs(device) == list(range(200))
    accepted = sorted(i for a in answers for i in a.accepted)
    assert accepted == list(range(200))
    assert sum(len(a.duplicates) for a in answers) == 600
    assert sum(a.went_online for a in answers) == 1
    assert online_events(device) == 1
    assert DeviceDay.objects.get(device=device).received == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads from a second connection")
@pytest.mark.django_db(transaction=True)
def test_accepted_events_are_committed_before_the_answer(brand, store):
    import psycopg

    # given a device sending a batch
    device = DeviceFactory(brand=brand, store=store)
    response = post(device, [heartbeat(1), heartbeat(2)])
    assert response.json()["accepted"] == [0, 1]
    # when another connection looks right after the answer, then the events are there
    db = connection.settings_dict
    dsn = psycopg.conninfo.make_conninfo(
        host=db["HOST"] or None, port=db["PORT"] or None, dbname=db["NAME"], user=db["USER"] or None
    )
    with psycopg.connect(dsn, password=db["PASSWORD"] or None) as other:
        count = other.execute(
            "SELECT count(*) FROM devices_deviceevent WHERE device_id = %s", [device.pk]
        ).fetchone()[0]
    assert count == 2


# --- the quick schema check agrees with jsonschema -----------------------------------------------

QUICK_SCHEMAS = [
    {
        "type": "object",
        "properties": {
            "member": {"type": "integer"},
            "count": {"type": "integer", "minimum": 1, "maximum": 5},
            "slot": {"type": "string", "minLength": 1, "maxLength": 3},
            "temp": {"type": "number", "exclusiveMinimum": -40, "exclusiveMaximum": 85.5},
            "ok": {"type": "boolean"},
            "note": {"type": "null"},
            "any": {},
            "bounded": {"minimum": 0, "maxLength": 2, "description": "no type: bounds by kind"},
        },
        "required": ["count"],
        "additionalProperties": False,
        "title": "dispensed",
    },
    {"properties": {"level": {"type": "integer", "minimum": 0}}},  # others allowed
    {"required": ["a", "b"]},
]
QUICK_PAYLOADS = [
    {"count": 1},
    {"count": 5, "member": 12, "slot": "A1", "temp": 21.5, "ok": True, "note": None, "any": [1]},
    {"count": 0},
    {"count": 6},
    {"count": 1.0},  # an integer to JSON Schema: jsonschema decides
    {"count": 2.5},
    {"count": True},  # a boolean is not an integer
    {"count": "1"},
    {"count": 1, "member": False},
    {"count": 1, "slot": ""},
    {"count": 1, "slot": "ABCD"},
    {"count": 1, "slot": "点位号"},  # three code points
    {"count": 1, "temp": -40},
    {"count": 1, "temp": 85.5},
    {"count": 1, "temp": 85},
    {"count": 1, "ok": 1},
    {"count": 1, "note": 0},
    {"count": 1, "bounded": -1},
    {"count": 1, "bounded": "abc"},
    {"count": 1, "bounded": True},
    {"count": 1, "bounded": [1, 2, 3]},
    {"count": 1, "extra": 1},
    {},
    {"level": -1},
    {"level": 3, "other": "x"},
    {"a": 1},
    {"a": 1, "b": None},
]


@pytest.mark.parametrize("schema", QUICK_SCHEMAS)
def test_the_quick_schema_check_answers_exactly_like_jsonschema(schema):
    from jsonschema import Draft202012Validator

    # given a schema the quick check covers
    checker = ingest._Checker(Draft202012Validator(schema), ingest._quick_check(schema))
    assert checker.quick is not None
    full = ingest._Checker(Draft202012Validator(schema))  # jsonschema alone
    for payload in QUICK_PAYLOADS:
        # then it never passes a payload jsonschema refuses, and every answer (and message)
        # is the one jsonschema alone gives
        if checker.quick(payload):
            assert Draft202012Validator(schema).is_valid(payload), payload
        assert checker.problem(payload) == full.problem(payload), payload


@pytest.mark.parametrize(
    "schema",
    [
        {"$schema": "http://json-schema.org/draft-04/schema#", "properties": {"n": {"minimum": 1}}},
        {"properties": {"n": {"type": ["integer", "null"]}}},
        {"properties": {"n": {"enum": [1, 2]}}},
        {"properties": {"n": {"type": "object"}}},
        {"patternProperties": {"^n": {"type": "integer"}}},
        {"properties": {"n": False}},
        {"additionalProperties": {"type": "integer"}},
        {"type": "object", "minProperties": 1},
    ],
)
def test_a_schema_beyond_the_quick_check_goes_to_jsonschema_alone(schema):
    assert ingest._quick_check(schema) is None


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        ("", "application/json", 400, "invalid"),  # no body: no events
        ("events=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_is_not_json_is_refused_like_everywhere_in_the_api(
    device, data, content_type, status, code
):
    response = as_device(device).post(url(device), data=data, content_type=content_type)
    assert_error(response, status, code)
    assert not DeviceEvent.objects.exists()
