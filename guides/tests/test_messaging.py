"""Messaging: send_to_member / send_message under the send-time rules (consent, quiet hours
wrapping midnight, frequency cap), the simulated and HTTP providers, signed delivery reports,
and the 1:1 message partial."""

from __future__ import annotations

import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from guides.choices import InteractionKind, MessageStatus, SkipReason
from guides.models import GuideSettings, Interaction, Message
from guides.services import messaging
from guides.tests.factories import guide_in
from guides.tests.helpers_b import principal_of, signed
from members.tests.factories import MemberFactory
from retail.errors import DomainError

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _no_quiet_hours(store, settings):
    settings.MESSAGING_SIMULATOR_STEP_SECONDS = 0
    settings.MESSAGING_SIMULATOR_OUTCOME = ""
    GuideSettings.objects.update_or_create(
        brand=store.brand,
        defaults={"quiet_start": dt.time(0, 0), "quiet_end": dt.time(0, 0), "frequency_cap": 2},
    )


@pytest.fixture
def guide(store):
    return guide_in(store, username="guide-m")


@pytest.fixture
def member(store, guide):
    return MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=True, consent_chat=True)


def _send(member, channel="sms", body="秋季新品到店"):
    return messaging.send_to_member(brand_id=member.brand_id, member=member, channel=channel, body=body)


def _quiet_now(store):
    """Quiet hours around the current time, wrapping midnight when that is where we are."""
    local = timezone.now().astimezone(SHANGHAI)
    start = (local - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    GuideSettings.objects.filter(brand=store.brand).update(quiet_start=start, quiet_end=end)


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ("20:59", False),
        ("21:00", True),
        ("23:59", True),
        ("00:00", True),
        ("08:59", True),
        ("09:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_wrap_midnight(local, quiet):
    cfg = GuideSettings(quiet_start=dt.time(21, 0), quiet_end=dt.time(9, 0))
    hour, minute = map(int, local.split(":"))
    at = dt.datetime(2026, 11, 11, hour, minute, tzinfo=SHANGHAI)
    assert messaging.in_quiet_hours(cfg, at) is quiet


def test_quiet_hours_inside_one_day_and_none():
    cfg = GuideSettings(quiet_start=dt.time(12, 0), quiet_end=dt.time(14, 0))
    assert messaging.in_quiet_hours(cfg, dt.datetime(2026, 11, 11, 13, 0, tzinfo=SHANGHAI))
    assert not messaging.in_quiet_hours(cfg, dt.datetime(2026, 11, 11, 14, 0, tzinfo=SHANGHAI))
    # quiet hours are in Asia/Shanghai even when the instant is given in UTC (05:00 UTC = 13:00)
    assert messaging.in_quiet_hours(cfg, dt.datetime(2026, 11, 11, 5, 0, tzinfo=dt.UTC))
    off = GuideSettings(quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0))
    assert not messaging.in_quiet_hours(off, dt.datetime(2026, 11, 11, 3, 0, tzinfo=SHANGHAI))


def test_a_member_without_consent_on_the_channel_is_skipped(store, guide):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=False, consent_chat=True)
    sms = _send(member, "sms")
    assert sms.status == MessageStatus.SKIPPED and sms.skip_reason == SkipReason.NO_CONSENT
    assert sms.provider == "" and sms.sent_at is None
    chat = _send(member, "chat")
    assert chat.status != MessageStatus.SKIPPED


def test_consent_is_read_at_send_time_not_from_a_stale_row(member):
    stale = type(member).objects.get(pk=member.pk)
    type(member).objects.filter(pk=member.pk).update(consent_sms=False)
    assert _send(stale).skip_reason == SkipReason.NO_CONSENT


def test_quiet_hours_skip_a_message(store, member):
    _quiet_now(store)
    row = _send(member)
    assert row.status == MessageStatus.SKIPPED and row.skip_reason == SkipReason.QUIET_HOURS


def test_consent_is_checked_before_quiet_hours(store, guide):
    _quiet_now(store)
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=False)
    assert _send(member).skip_reason == SkipReason.NO_CONSENT


def test_the_frequency_cap_counts_sent_messages_in_the_window(
    store, member, django_capture_on_commit_callbacks
):
    # cap 2 per 7 days; an old message and a skipped one do not count
    old = _send(member)
    Message.objects.filter(pk=old.pk).update(sent_at=timezone.now() - dt.timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=True):
        first = _send(member)
        second = _send(member)
    third = _send(member)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status in (MessageStatus.SENT, MessageStatus.DELIVERED)
    assert second.status in (MessageStatus.SENT, MessageStatus.DELIVERED)
    assert third.status == MessageStatus.SKIPPED and third.skip_reason == SkipReason.FREQUENCY_CAP
    # a failed message frees its slot
    Message.objects.filter(pk=second.pk).update(status=MessageStatus.FAILED)
    assert _send(member).status == MessageStatus.QUEUED


def test_a_broadcast_message_reaches_a_member_once(store, member):
    from guides.tests.factories import BroadcastFactory

    broadcast = BroadcastFactory(brand=store.brand, store=store)
    first = messaging.send_to_member(
        brand_id=store.brand_id, member=member, channel="sms", body="hi", broadcast=broadcast
    )
    again = messaging.send_to_member(
        brand_id=store.brand_id, member=member, channel="sms", body="hi", broadcast=broadcast
    )
    assert first.pk == again.pk
    assert Message.objects.count() == 1


def test_an_empty_message_or_an_unknown_channel_is_refused(member):
    with pytest.raises(DomainError):
        _send(member, body="   ")
    with pytest.raises(DomainError):
        _send(member, channel="fax")
    assert not Message.objects.exists()


# --- the simulated provider and delivery reports ---------------------------------------------


def test_the_simulated_provider_delivers_through_signed_reports(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = _send(member)
    row.refresh_from_db()
    assert row.status == MessageStatus.DELIVERED and row.delivered_at
    assert row.provider == "simulated" and row.provider_ref == f"simmsg-msg-{row.pk}"


def test_the_simulated_provider_fails_some_numbers(store, guide, django_capture_on_commit_callbacks):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=True, phone="13900000505")
    with django_capture_on_commit_callbacks(execute=True):
        row = _send(member)
    row.refresh_from_db()
    assert row.status == MessageStatus.FAILED and row.error


def _sent(member):
    row = _send(member)
    Message.objects.filter(pk=row.pk).update(
        status=MessageStatus.SENT, provider="simulated", provider_ref="p-1"
    )
    return row


def test_a_delivery_report_with_a_bad_signature_changes_nothing(client, member):
    row = _sent(member)
    body, headers = signed(
        "messaging", {"reports": [{"message_id": "p-1", "status": "delivered"}]}, secret="wrong"
    )
    response = client.post(
        "/hooks/messaging/simulated/", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    stale_body, stale_headers = signed(
        "messaging", {"reports": [{"message_id": "p-1", "status": "delivered"}]}, at=time.time() - 600
    )
    stale = client.post(
        "/hooks/messaging/simulated/", stale_body, content_type="application/json", headers=stale_headers
    )
    assert stale.status_code == 401
    row.refresh_from_db()
    assert row.status == MessageStatus.SENT


def test_a_repeated_delivery_report_is_harmless(client, member):
    row = _sent(member)
    body, headers = signed(
        "messaging", {"reports": [{"event_id": "d1", "message_id": "p-1", "status": "delivered"}]}
    )
    first = client.post("/hooks/messaging/simulated/", body, content_type="application/json", headers=headers)
    second = client.post(
        "/hooks/messaging/simulated/", body, content_type="application/json", headers=headers
    )
    assert first.json()["applied"] == 1 and second.json()["applied"] == 0
    # a late "failed" never moves a delivered message back
    late_body, late_headers = signed("messaging", {"reports": [{"message_id": "p-1", "status": "failed"}]})
    client.post(
        "/hooks/messaging/simulated/", late_body, content_type="application/json", headers=late_headers
    )
    row.refresh_from_db()
    assert row.status == MessageStatus.DELIVERED


def test_the_http_provider_gets_the_message_with_the_full_number(
    store, member, settings, receiver, django_capture_on_commit_callbacks
):
    settings.MESSAGING_HTTP_URL = receiver.url
    settings.MESSAGING_HTTP_API_KEY = "m-key"
    GuideSettings.objects.filter(brand=store.brand).update(messaging_provider="http")
    with django_capture_on_commit_callbacks(execute=True):
        row = _send(member, body="会员日")
    sent = json.loads(receiver.received[0]["body"])["messages"][0]
    from members import pii

    assert sent["to"] == pii.decrypt(member.phone_encrypted) and sent["body"] == "会员日"
    assert receiver.received[0]["headers"]["Authorization"] == "Bearer m-key"
    row.refresh_from_db()
    assert row.status == MessageStatus.SENT and row.provider_ref == f"msg-{row.pk}"


def test_an_unreachable_http_provider_fails_the_message(
    store, member, settings, receiver, django_capture_on_commit_callbacks
):
    receiver.stop()
    settings.MESSAGING_HTTP_URL = receiver.url
    GuideSettings.objects.filter(brand=store.brand).update(messaging_provider="http")
    with django_capture_on_commit_callbacks(execute=True):
        row = _send(member)
    row.refresh_from_db()
    assert row.status == MessageStatus.FAILED


# --- 1:1 from the workbench -------------------------------------------------------------------


def test_a_guides_message_is_an_interaction(member, guide):
    row = messaging.send_message(principal_of(guide), member=member, channel="chat", body="您好")
    assert row.interaction is not None
    assert row.interaction.kind == InteractionKind.MESSAGE and row.interaction.guide_id == guide.pk
    assert row.guide_id == guide.pk


def test_a_skipped_message_records_no_interaction(store, guide):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_chat=False)
    row = messaging.send_message(principal_of(guide), member=member, channel="chat", body="您好")
    assert row.status == MessageStatus.SKIPPED and row.interaction is None
    assert not Interaction.objects.exists()


def test_a_repeat_with_the_same_client_id_sends_once(member, guide):
    cid = "6b0c8d1e-7d1c-4a57-9d3a-222222222222"
    first = messaging.send_message(
        principal_of(guide), member=member, channel="chat", body="a", client_id=cid
    )
    again = messaging.send_message(
        principal_of(guide), member=member, channel="chat", body="a", client_id=cid
    )
    assert first.pk == again.pk
    assert Message.objects.count() == 1 and Interaction.objects.count() == 1


def test_the_member_card_form_says_why_a_message_was_skipped(client, store, guide):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=False)
    client.force_login(guide)
    form = client.get(reverse("guides:message_send", args=[member.pk]))
    assert form.status_code == 200 and 'name="body"' in form.content.decode()
    response = client.post(
        reverse("guides:message_send", args=[member.pk]), {"channel": "sms", "body": "hello"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-message-status="skipped"' in html and "No consent on this channel" in html
    assert "HX-Trigger-After-Swap" not in response


def test_the_member_card_sends_and_tells_the_page(client, member, guide):
    client.force_login(guide)
    response = client.post(
        reverse("guides:message_send", args=[member.pk]), {"channel": "chat", "body": "hello"}
    )
    assert 'data-message-status="queued"' in response.content.decode()
    assert "guides-numbers-changed" in response["HX-Trigger-After-Swap"]
    assert "<html" in response.content.decode()  # a plain post gets a page
    fragment = client.post(
        reverse("guides:message_send", args=[member.pk]),
        {"channel": "chat", "body": "again"},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in fragment.content.decode() and "data-message-box" in fragment.content.decode()
    assert Message.objects.filter(interaction__kind=InteractionKind.MESSAGE).count() == 2


def test_another_guides_member_cannot_be_messaged(client, store, member):
    other = guide_in(store, username="guide-n", phone="13900003333")
    client.force_login(other)
    assert (
        client.post(
            reverse("guides:message_send", args=[member.pk]), {"channel": "chat", "body": "x"}
        ).status_code
        == 404
    )
    assert not Message.objects.exists()


def test_a_message_whose_hand_off_was_lost_is_sent_later(member):
    row = _send(member)  # the after-commit hand-off never runs inside this test's transaction
    assert row.status == MessageStatus.QUEUED
    assert messaging.deliver_stuck_messages() == 0  # too fresh
    Message.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(minutes=11))
    assert messaging.deliver_stuck_messages() == 1
    row.refresh_from_db()
    assert row.status in (MessageStatus.SENT, MessageStatus.DELIVERED)
