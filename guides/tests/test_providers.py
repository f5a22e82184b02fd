"""Provider adapters: the HMAC signature scheme, parsing, and the simulated providers posting
their signed callbacks over HTTP when told to."""

from __future__ import annotations

import json
import time

import pytest

from guides.providers import messaging, signing, telephony
from guides.tasks.calls import simulate_call_task
from guides.tasks.messaging import simulate_delivery_task

BODY = b'{"event_id": "e1", "call_id": "c1", "status": "ringing"}'


def test_a_good_signature_verifies():
    header = signing.sign("s3cret", BODY)
    signing.verify("s3cret", BODY, {signing.HEADER: header})
    # header names are case-insensitive, and Django's META spelling works too
    signing.verify("s3cret", BODY, {"x-tiandi-signature": header})
    signing.verify("s3cret", BODY, {"HTTP_X_TIANDI_SIGNATURE": header})


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=abc,v1=00",
        "v1=deadbeef",
        signing.sign("other-secret", BODY),
        signing.sign("s3cret", BODY + b" "),
        signing.sign("s3cret", BODY, at=time.time() - 900),
        signing.sign("s3cret", BODY, at=time.time() + 900),
    ],
    ids=["missing", "malformed", "no-time", "wrong-secret", "other-body", "stale", "future"],
)
def test_a_bad_signature_is_refused(header):
    with pytest.raises(signing.BadSignature):
        signing.verify("s3cret", BODY, {signing.HEADER: header} if header else {})


def test_the_signature_is_hmac_sha256_of_time_dot_body():
    import hashlib
    import hmac

    header = signing.sign("k", b"{}", at=1700000000)
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_rotated_secret_may_send_two_signatures():
    header = signing.sign("old", BODY)
    new = signing.sign("new", BODY).split("v1=")[1]
    signing.verify("new", BODY, {signing.HEADER: f"{header},v1={new}"})


def test_the_callback_secret_comes_from_settings(settings):
    settings.TELEPHONY_CALLBACK_SECRET = "configured"
    assert signing.secret_for("telephony") == "configured"
    settings.TELEPHONY_CALLBACK_SECRET = ""
    assert signing.secret_for("telephony") not in ("", signing.secret_for("messaging"))


def test_parse_status_reads_a_call_update():
    update = telephony.TelephonyProvider().parse_status(
        {
            "event_id": "e9",
            "call_id": "c1",
            "status": "completed",
            "duration": "42",
            "at": "2026-11-11T12:00:00Z",
        }
    )
    assert (update.event_id, update.provider_ref, update.status, update.duration) == (
        "e9",
        "c1",
        "completed",
        42,
    )
    assert update.at.year == 2026 and update.at.tzinfo is not None


@pytest.mark.parametrize(
    "payload",
    [
        {"event_id": "e", "call_id": "c", "status": "requested"},
        {"event_id": "e", "call_id": "c", "status": "teleported"},
        {"call_id": "c", "status": "ringing"},
        {"event_id": "e", "status": "ringing"},
        {"event_id": "e", "call_id": "c", "status": "completed", "duration": "long"},
    ],
)
def test_parse_status_refuses_what_it_does_not_understand(payload):
    with pytest.raises(telephony.BadPayload):
        telephony.TelephonyProvider().parse_status(payload)


def test_parse_reports_reads_one_report_or_a_batch():
    provider = messaging.MessagingProvider()
    one = provider.parse_reports({"message_id": "m1", "status": "delivered"})
    many = provider.parse_reports({"reports": [{"message_id": "m1", "status": "failed", "error": "x"}]})
    assert [u.status for u in one + many] == ["delivered", "failed"]
    with pytest.raises(messaging.BadPayload):
        provider.parse_reports({"reports": [{"message_id": "m1", "status": "read"}]})


def test_unknown_providers_are_refused():
    with pytest.raises(telephony.ProviderError):
        telephony.get_provider("carrier-pigeon")
    with pytest.raises(messaging.ProviderError):
        messaging.get_provider("carrier-pigeon")


def test_the_simulated_call_posts_signed_callbacks_when_given_a_url(settings, receiver):
    settings.TELEPHONY_SIMULATOR_POST_URL = receiver.url
    settings.TELEPHONY_SIMULATOR_STEP_SECONDS = 0
    simulate_call_task("sim-ia-1", "ia-1", "answered")
    statuses = []
    for got in receiver.received:
        signing.verify(signing.secret_for("telephony"), got["body"], got["headers"])
        statuses.append(json.loads(got["body"])["status"])
    assert statuses == ["ringing", "answered", "completed"]


def test_the_simulated_delivery_posts_signed_reports_when_given_a_url(settings, receiver):
    settings.MESSAGING_SIMULATOR_POST_URL = receiver.url
    settings.MESSAGING_SIMULATOR_STEP_SECONDS = 0
    simulate_delivery_task([["simmsg-msg-1", "msg-1", "delivered"], ["simmsg-msg-2", "msg-2", "failed"]])
    (got,) = receiver.received
    signing.verify(signing.secret_for("messaging"), got["body"], got["headers"])
    reports = json.loads(got["body"])["reports"]
    assert [(r["message_id"], r["status"]) for r in reports] == [
        ("simmsg-msg-1", "delivered"),
        ("simmsg-msg-2", "failed"),
    ]


def test_the_simulated_scenarios_are_deterministic(settings):
    settings.TELEPHONY_SIMULATOR_SCENARIO = ""
    assert telephony.scenario_for("13900000404") == "no_answer"
    assert telephony.scenario_for("13900000909") == "busy"
    assert telephony.scenario_for("13812345678") == "answered"
    settings.TELEPHONY_SIMULATOR_SCENARIO = "busy"
    assert telephony.scenario_for("13812345678") == "busy"
