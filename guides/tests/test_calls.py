"""Calls: start_call, the simulated provider's signed call life, status callbacks (bad
signatures, repeats, out of order), the HTTP provider, and the call panel pages."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from guides.choices import CallStatus, InteractionKind, TaskStatus
from guides.models import CallEvent, GuideProfile, GuideSettings, Interaction
from guides.services import calls
from guides.tests.factories import InteractionFactory, TaskFactory, guide_in
from guides.tests.helpers_b import principal_of, signed
from members import pii
from members.tests.factories import MemberFactory
from retail.errors import DomainError
from retail.models import DomainEvent
from retail.tests.factories import StoreFactory

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _fast_simulator(settings):
    settings.TELEPHONY_SIMULATOR_STEP_SECONDS = 0
    settings.TELEPHONY_SIMULATOR_SCENARIO = ""


@pytest.fixture
def guide(store):
    return guide_in(store, username="guide-b")


@pytest.fixture
def member(store, guide):
    return MemberFactory(brand=store.brand, store=store, guide=guide, consent_call=True, phone=PHONE)


def _call(member, guide, *, status=CallStatus.REQUESTED, provider="simulated", ref="sim-ref-1"):
    return InteractionFactory(
        brand=member.brand,
        store=member.store,
        guide=guide,
        member=member,
        kind=InteractionKind.CALL,
        call_status=status,
        provider=provider,
        provider_ref=ref,
    )


def _hook(client, provider, payload, **kw):
    body, headers = signed("telephony", payload, **kw)
    return client.post(
        f"/hooks/telephony/{provider}/",
        body,
        content_type="application/json",
        headers=headers,
    )


def test_simulated_call_rings_is_answered_and_completes_through_signed_callbacks(
    member, guide, django_capture_on_commit_callbacks
):
    # given a guide with a phone and a member who agreed to calls
    # when the guide calls
    with django_capture_on_commit_callbacks(execute=True):
        call = calls.start_call(principal_of(guide), member=member)
    # then the simulated provider's signed callbacks drove the call to its end
    call.refresh_from_db()
    assert call.kind == InteractionKind.CALL
    assert call.call_status == CallStatus.COMPLETED
    assert call.answered and call.answered_at and call.ended_at
    assert call.duration_seconds >= 30
    assert call.provider_ref == f"sim-ia-{call.pk}"
    assert list(CallEvent.objects.filter(interaction=call).values_list("status", flat=True)) == [
        "ringing",
        "answered",
        "completed",
    ]
    assert DomainEvent.objects.filter(name="guide.call_updated").count() == 3
    assert DomainEvent.objects.filter(name="guide.interaction_recorded").count() == 1


@pytest.mark.parametrize("scenario", ["no_answer", "busy"])
def test_a_simulated_call_nobody_takes_ends_unanswered(
    scenario, settings, member, guide, django_capture_on_commit_callbacks
):
    settings.TELEPHONY_SIMULATOR_SCENARIO = scenario
    with django_capture_on_commit_callbacks(execute=True):
        call = calls.start_call(principal_of(guide), member=member)
    call.refresh_from_db()
    assert call.call_status == scenario
    assert not call.answered and call.duration_seconds == 0 and call.ended_at


def test_the_scenario_comes_from_the_members_number(store, guide, django_capture_on_commit_callbacks):
    member = MemberFactory(
        brand=store.brand, store=store, guide=guide, consent_call=True, phone="13900000404"
    )
    with django_capture_on_commit_callbacks(execute=True):
        call = calls.start_call(principal_of(guide), member=member)
    call.refresh_from_db()
    assert call.call_status == CallStatus.NO_ANSWER


def test_a_member_without_call_consent_is_never_called(store, guide, django_capture_on_commit_callbacks):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_call=False)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError) as refused:
        calls.start_call(principal_of(guide), member=member)
    assert refused.value.code == "no_consent"
    assert not Interaction.objects.exists()
    assert not CallEvent.objects.exists()


def test_a_guide_without_a_phone_gets_a_clear_refusal(store, guide, member):
    GuideProfile.objects.filter(user=guide).update(phone_encrypted="", phone_masked="")
    with pytest.raises(DomainError) as refused:
        calls.start_call(principal_of(guide), member=member)
    assert refused.value.code == "no_guide_phone"
    assert not Interaction.objects.exists()


def test_a_repeat_with_the_same_client_id_calls_once(member, guide, django_capture_on_commit_callbacks):
    client_id = "5b0c8d1e-7d1c-4a57-9d3a-111111111111"
    with django_capture_on_commit_callbacks(execute=True):
        first = calls.start_call(principal_of(guide), member=member, client_id=client_id)
        second = calls.start_call(principal_of(guide), member=member, client_id=client_id)
    assert first.pk == second.pk
    assert CallEvent.objects.count() == 3


# --- the status callback endpoint ------------------------------------------------------------


def test_a_callback_with_a_bad_signature_changes_nothing(client, member, guide):
    call = _call(member, guide)
    payload = {"event_id": "e1", "call_id": "sim-ref-1", "status": "answered"}
    response = _hook(client, "simulated", payload, secret="not-the-secret")
    assert response.status_code == 401
    body = json.dumps(payload).encode()
    unsigned = client.post("/hooks/telephony/simulated/", body, content_type="application/json")
    assert unsigned.status_code == 401
    call.refresh_from_db()
    assert call.call_status == CallStatus.REQUESTED and not call.answered
    assert not CallEvent.objects.exists()
    assert not DomainEvent.objects.filter(name="guide.call_updated").exists()


def test_a_stale_signature_is_refused(client, member, guide):
    call = _call(member, guide)
    payload = {"event_id": "e1", "call_id": "sim-ref-1", "status": "ringing"}
    response = _hook(client, "simulated", payload, at=time.time() - 301)
    assert response.status_code == 401
    call.refresh_from_db()
    assert call.call_status == CallStatus.REQUESTED


def test_a_tampered_body_is_refused(client, member, guide):
    call = _call(member, guide)
    body, headers = signed("telephony", {"event_id": "e1", "call_id": "sim-ref-1", "status": "ringing"})
    tampered = body.replace(b"ringing", b"answered")
    response = client.post(
        "/hooks/telephony/simulated/", tampered, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    call.refresh_from_db()
    assert call.call_status == CallStatus.REQUESTED


def test_a_repeated_callback_is_harmless(client, member, guide):
    call = _call(member, guide)
    payload = {"event_id": "e-answered", "call_id": "sim-ref-1", "status": "answered"}
    first = _hook(client, "simulated", payload)
    second = _hook(client, "simulated", payload)
    assert first.status_code == 200 and first.json() == {"result": "ok"}
    assert second.status_code == 200 and second.json() == {"result": "repeat"}
    assert CallEvent.objects.count() == 1
    assert DomainEvent.objects.filter(name="guide.call_updated").count() == 1
    call.refresh_from_db()
    assert call.call_status == CallStatus.ANSWERED and call.answered


def test_out_of_order_callbacks_never_move_a_finished_call_back(client, member, guide):
    call = _call(member, guide)
    done = {"event_id": "e3", "call_id": "sim-ref-1", "status": "completed", "duration": 75}
    late_ringing = {"event_id": "e1", "call_id": "sim-ref-1", "status": "ringing"}
    late_answered = {"event_id": "e2", "call_id": "sim-ref-1", "status": "answered"}
    assert _hook(client, "simulated", done).json() == {"result": "ok"}
    assert _hook(client, "simulated", late_ringing).json() == {"result": "ignored"}
    assert _hook(client, "simulated", late_answered).json() == {"result": "ignored"}
    call.refresh_from_db()
    assert call.call_status == CallStatus.COMPLETED
    assert call.answered and call.duration_seconds == 75
    assert CallEvent.objects.count() == 3  # kept, but applied only once


def test_a_callback_for_an_unknown_call_is_a_404(client, member, guide):
    _call(member, guide)
    response = _hook(client, "simulated", {"event_id": "x", "call_id": "nope", "status": "ringing"})
    assert response.status_code == 404
    assert not CallEvent.objects.exists()


def test_a_callback_with_a_bad_payload_is_a_400(client, member, guide):
    _call(member, guide)
    response = _hook(client, "simulated", {"event_id": "x", "call_id": "sim-ref-1", "status": "exploded"})
    assert response.status_code == 400
    assert not CallEvent.objects.exists()


# --- the HTTP provider ------------------------------------------------------------------------


def test_the_http_provider_bridges_with_the_full_numbers_and_callbacks_drive_the_call(
    client, settings, receiver, store, member, guide, django_capture_on_commit_callbacks
):
    settings.TELEPHONY_HTTP_URL = receiver.url
    settings.TELEPHONY_HTTP_API_KEY = "key-123"
    GuideSettings.objects.update_or_create(
        brand=store.brand, defaults={"telephony_provider": "http", "caller_name": "天地美妆"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        call = calls.start_call(principal_of(guide), member=member)
    # the provider got both numbers and the brand's display name, with the API key
    assert len(receiver.received) == 1
    sent = json.loads(receiver.received[0]["body"])
    assert sent["callee"] == PHONE and sent["caller"] == "13900001111"
    assert sent["display_name"] == "天地美妆" and sent["call_ref"] == f"ia-{call.pk}"
    assert sent["status_callback"].endswith("/hooks/telephony/http/")
    assert receiver.received[0]["headers"]["Authorization"] == "Bearer key-123"
    call.refresh_from_db()
    assert call.provider == "http" and call.provider_ref == f"ia-{call.pk}"
    # and its signed callbacks move the call
    for i, status in enumerate(["ringing", "answered", "completed"]):
        payload = {"event_id": f"h{i}", "call_id": call.provider_ref, "status": status, "duration": 20}
        assert _hook(client, "http", payload).status_code == 200
    call.refresh_from_db()
    assert call.call_status == CallStatus.COMPLETED and call.duration_seconds == 20


def test_an_unreachable_http_provider_fails_the_call(
    settings, receiver, store, member, guide, django_capture_on_commit_callbacks
):
    receiver.stop()
    settings.TELEPHONY_HTTP_URL = receiver.url
    GuideSettings.objects.update_or_create(brand=store.brand, defaults={"telephony_provider": "http"})
    with pytest.raises(DomainError) as refused, django_capture_on_commit_callbacks(execute=True):
        calls.start_call(principal_of(guide), member=member)
    assert refused.value.code == "provider_unavailable"
    call = Interaction.objects.get(pk=refused.value.interaction_id)
    assert call.call_status == CallStatus.FAILED and call.ended_at


def test_an_http_provider_error_status_fails_the_call(
    settings, receiver, store, member, guide, django_capture_on_commit_callbacks
):
    receiver.status = 503
    settings.TELEPHONY_HTTP_URL = receiver.url
    GuideSettings.objects.update_or_create(brand=store.brand, defaults={"telephony_provider": "http"})
    with pytest.raises(DomainError), django_capture_on_commit_callbacks(execute=True):
        calls.start_call(principal_of(guide), member=member)
    assert Interaction.objects.get().call_status == CallStatus.FAILED


# --- the call panel pages ---------------------------------------------------------------------


def test_a_guide_calls_from_the_panel_records_two_taps_and_the_task_is_done(
    client, store, guide, member, django_capture_on_commit_callbacks
):
    task = TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    client.force_login(guide)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("guides:call_start", args=[member.pk]), {"task": task.pk})
    assert started.status_code == 200
    html = started.content.decode()
    assert member.phone_masked in html and PHONE not in html
    assert store.brand.name in html  # the name the member sees
    call = Interaction.objects.get()
    assert call.task_id == task.pk
    status = client.get(reverse("guides:call_status", args=[call.pk]))
    page = status.content.decode()
    assert status.status_code == 200
    assert 'hx-trigger="every 1s"' not in page  # the call is over: no more polling
    assert 'name="outcome"' in page and 'name="next_step"' in page
    done = client.post(
        reverse("guides:call_outcome", args=[call.pk]),
        {"outcome": "interested", "next_step": "invite", "note": "wants the autumn set"},
    )
    assert done.status_code == 200
    triggers = json.loads(done["HX-Trigger-After-Swap"])
    assert {"guides-numbers-changed", "guides-task-done"} <= set(triggers)
    call.refresh_from_db()
    task.refresh_from_db()
    assert call.outcome == "interested" and call.next_step == "invite" and "autumn" in call.note
    assert task.status == TaskStatus.DONE


def test_the_panel_polls_while_the_call_is_live(client, member, guide):
    call = _call(member, guide, status=CallStatus.RINGING)
    client.force_login(guide)
    page = client.get(reverse("guides:call_status", args=[call.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'name="outcome"' not in page


def test_the_page_never_calls_a_member_without_consent(
    client, store, guide, django_capture_on_commit_callbacks
):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_call=False)
    client.force_login(guide)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("guides:call_start", args=[member.pk]))
    assert response.status_code == 200
    assert "data-call-refused" in response.content.decode()
    assert 'data-code="no_consent"' in response.content.decode()
    assert not Interaction.objects.exists()


def test_an_outcome_without_a_choice_is_refused_and_changes_nothing(client, member, guide):
    call = _call(member, guide, status=CallStatus.COMPLETED)
    client.force_login(guide)
    response = client.post(reverse("guides:call_outcome", args=[call.pk]), {"next_step": "none"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "HX-Trigger-After-Swap" not in response
    call.refresh_from_db()
    assert call.outcome == ""


def test_another_guides_member_and_call_are_404(client, store, member, guide):
    other_guide = guide_in(store, username="guide-other", phone="13900002222")
    call = _call(member, guide, status=CallStatus.COMPLETED)
    client.force_login(other_guide)
    assert client.post(reverse("guides:call_start", args=[member.pk])).status_code == 404
    assert client.get(reverse("guides:call_status", args=[call.pk])).status_code == 404
    assert (
        client.post(reverse("guides:call_outcome", args=[call.pk]), {"outcome": "interested"}).status_code
        == 404
    )


def test_another_stores_member_is_404_for_a_manager(client, brand, manager_user):
    elsewhere = StoreFactory(brand=brand)
    member = MemberFactory(brand=brand, store=elsewhere, consent_call=True)
    client.force_login(manager_user)
    assert client.post(reverse("guides:call_start", args=[member.pk])).status_code == 404
    assert not Interaction.objects.exists()


def test_the_members_number_is_decrypted_only_for_the_provider(member):
    assert pii.decrypt(member.phone_encrypted) == PHONE
    assert PHONE not in member.phone_masked


def test_a_call_whose_provider_went_silent_is_closed_later(member, guide):
    import datetime as dt

    from django.utils import timezone

    silent = _call(member, guide, status=CallStatus.RINGING)
    talking = _call(member, guide, status=CallStatus.ANSWERED, ref="sim-ref-2")
    fresh = _call(member, guide, status=CallStatus.RINGING, ref="sim-ref-3")
    Interaction.objects.filter(pk__in=[silent.pk, talking.pk]).update(
        occurred_at=timezone.now() - dt.timedelta(hours=3), answered=False
    )
    Interaction.objects.filter(pk=talking.pk).update(answered=True)
    assert calls.expire_stale_calls() == 2
    assert calls.expire_stale_calls() == 0
    statuses = dict(Interaction.objects.values_list("pk", "call_status"))
    assert statuses == {silent.pk: "failed", talking.pk: "completed", fresh.pk: "ringing"}


def test_the_call_panel_poll_is_cheap(client, django_assert_max_num_queries, member, guide):
    call = _call(member, guide, status=CallStatus.RINGING)
    client.force_login(guide)
    client.get(reverse("guides:call_status", args=[call.pk]))
    with django_assert_max_num_queries(8):
        assert client.get(reverse("guides:call_status", args=[call.pk])).status_code == 200


def test_a_member_who_asks_not_to_be_contacted_is_never_called_or_messaged_again(
    client, store, member, guide, django_capture_on_commit_callbacks
):
    from guides.services import messaging
    from members.models import ConsentRecord

    member.__class__.objects.filter(pk=member.pk).update(consent_sms=True, consent_chat=True)
    call = _call(member, guide, status=CallStatus.COMPLETED)
    withdrawn_before = ConsentRecord.objects.filter(member=member, granted=False).count()
    client.force_login(guide)
    response = client.post(
        reverse("guides:call_outcome", args=[call.pk]), {"outcome": "opted_out", "next_step": "call_again"}
    )
    assert response.status_code == 200
    member.refresh_from_db()
    assert not (member.consent_call or member.consent_sms or member.consent_chat)
    assert ConsentRecord.objects.filter(member=member, granted=False).count() == withdrawn_before + 3
    call.refresh_from_db()
    assert call.next_step == "none"  # no follow-up task for a member who opted out
    from guides.models import Task

    assert not Task.objects.filter(member=member).exists()
    with pytest.raises(DomainError):
        calls.start_call(principal_of(guide), member=member)
    skipped = messaging.send_message(principal_of(guide), member=member, channel="chat", body="hi")
    assert skipped.skip_reason == "no_consent"


@pytest.mark.django_db(transaction=True)
def test_in_the_embedded_mode_the_simulated_call_runs_in_the_background(client, settings):
    # given the embedded default: jobs run in a background thread of the server process
    from retail.tests.factories import BrandFactory

    settings.JOBS_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.TELEPHONY_SIMULATOR_STEP_SECONDS = 0.05
    brand = BrandFactory()
    store = StoreFactory(brand=brand)
    guide = guide_in(store, username="guide-embedded")
    member = MemberFactory(brand=brand, store=store, guide=guide, consent_call=True, phone=PHONE)
    client.force_login(guide)
    # when the guide taps call, the page answers at once and the panel polls
    started = client.post(reverse("guides:call_start", args=[member.pk]))
    assert started.status_code == 200
    call = Interaction.objects.get(member=member)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        page = client.get(reverse("guides:call_status", args=[call.pk])).content.decode()
        if 'data-call-status="completed"' in page:
            break
        time.sleep(0.1)
    # then the call was driven to its end by the background job's signed callbacks
    assert 'data-call-status="completed"' in page and 'name="outcome"' in page


def test_a_callback_never_stores_the_numbers_a_provider_adds(client, member, guide):
    _call(member, guide)
    payload = {
        "event_id": "e1",
        "call_id": "sim-ref-1",
        "status": "ringing",
        "callee": PHONE,
        "caller": "13900001111",
    }
    assert _hook(client, "simulated", payload).status_code == 200
    stored = CallEvent.objects.get().payload
    assert stored == {"event_id": "e1", "call_id": "sim-ref-1", "status": "ringing"}
    assert PHONE not in json.dumps(stored)
