"""Broadcasts: who may send to whom, the rules applied set-based in SQL (consent, quiet hours,
frequency cap) with exact counts per reason, retries, delivery counters, the pages; and on
PostgreSQL a 100,000-member broadcast and concurrent broadcasts that never exceed the cap."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from guides.choices import AudienceKind, BroadcastStatus, SkipReason
from guides.models import Broadcast, GuideSettings, Message
from guides.services import messaging
from guides.services.common import NotAllowed
from guides.tests.factories import BroadcastFactory, SegmentFactory, guide_in
from guides.tests.helpers_b import principal_of
from members.models import Member, SegmentMember
from members.tests.factories import MemberFactory
from retail.errors import DomainError
from retail.models import DomainEvent
from retail.tests.concurrency import POSTGRES_ONLY, run_together
from retail.tests.factories import StoreFactory

CAP = 2


def _rules(brand, **extra):
    GuideSettings.objects.update_or_create(
        brand=brand,
        defaults={"quiet_start": dt.time(0, 0), "quiet_end": dt.time(0, 0), "frequency_cap": CAP, **extra},
    )


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.MESSAGING_SIMULATOR_STEP_SECONDS = 0
    settings.MESSAGING_SIMULATOR_OUTCOME = ""


@pytest.fixture
def guide(store):
    _rules(store.brand)
    return guide_in(store, username="guide-bc")


def _earlier_messages(member, n):
    now = timezone.now()
    for _ in range(n):
        Message.objects.create(
            brand_id=member.brand_id,
            member=member,
            channel="sms",
            body="earlier",
            status="delivered",
            sent_at=now,
        )


def test_a_guides_broadcast_reaches_their_consenting_members_under_the_cap(
    store, guide, django_capture_on_commit_callbacks
):
    # given five members of the guide: one without SMS consent, one already at the cap
    mine = [MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=True) for _ in range(5)]
    Member.objects.filter(pk=mine[0].pk).update(consent_sms=False)
    _earlier_messages(mine[1], CAP)
    someone_elses = MemberFactory(brand=store.brand, store=store, guide=guide_in(store, phone="13900004444"))
    # when the guide broadcasts to their members
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(
            principal_of(guide), channel="sms", audience="my_members", body="新品"
        )
    row.refresh_from_db()
    # then the counts are exact and the members without consent or over the cap were skipped
    assert row.status == BroadcastStatus.DONE and row.progress == 100
    assert (row.targeted, row.sent, row.skipped_no_consent, row.skipped_frequency) == (5, 3, 1, 1)
    assert row.skipped_quiet_hours == 0
    assert row.delivered == 3 and row.failed == 0
    assert not Message.objects.filter(broadcast=row, member=someone_elses).exists()
    assert Message.objects.get(broadcast=row, member=mine[0]).skip_reason == SkipReason.NO_CONSENT
    assert Message.objects.get(broadcast=row, member=mine[1]).skip_reason == SkipReason.FREQUENCY_CAP
    finished = DomainEvent.objects.get(name="guide.broadcast_finished")
    assert finished.payload["sent"] == 3 and finished.payload["skipped_frequency"] == 1


def test_a_retried_broadcast_job_sends_nobody_twice(store, guide, django_capture_on_commit_callbacks):
    for _ in range(3):
        MemberFactory(brand=store.brand, store=store, guide=guide)
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(principal_of(guide), channel="sms", audience="my_members", body="x")
    # the worker died after the work but before marking it done; the job runs again
    Broadcast.objects.filter(pk=row.pk).update(status=BroadcastStatus.SENDING)
    with django_capture_on_commit_callbacks(execute=True):
        messaging.run_broadcast(broadcast_id=row.pk)
    row.refresh_from_db()
    assert Message.objects.filter(broadcast=row).count() == 3
    assert (row.targeted, row.sent, row.delivered) == (3, 3, 3)


def test_quiet_hours_skip_the_whole_broadcast(store, guide, django_capture_on_commit_callbacks):
    local = timezone.localtime()
    _rules(
        store.brand,
        quiet_start=(local - dt.timedelta(hours=1)).time(),
        quiet_end=(local + dt.timedelta(hours=1)).time(),
    )
    MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=True)
    MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(principal_of(guide), channel="sms", audience="my_members", body="x")
    row.refresh_from_db()
    assert (row.targeted, row.sent, row.skipped_no_consent, row.skipped_quiet_hours) == (2, 0, 1, 1)


def test_delivery_failures_are_counted(store, guide, django_capture_on_commit_callbacks):
    MemberFactory(brand=store.brand, store=store, guide=guide, phone="13900000505")
    MemberFactory(brand=store.brand, store=store, guide=guide, phone="13900000506")
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(principal_of(guide), channel="sms", audience="my_members", body="x")
    row.refresh_from_db()
    assert (row.sent, row.delivered, row.failed) == (2, 1, 1)


def test_the_chat_channel_uses_chat_consent(store, guide, django_capture_on_commit_callbacks):
    MemberFactory(brand=store.brand, store=store, guide=guide, consent_sms=True, consent_chat=False)
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(principal_of(guide), channel="chat", audience="my_members", body="x")
    row.refresh_from_db()
    assert (row.targeted, row.skipped_no_consent) == (1, 1)


def test_a_guide_broadcasts_to_their_own_members_only(guide):
    with pytest.raises(NotAllowed):
        messaging.create_broadcast(principal_of(guide), channel="sms", audience="store_members", body="x")
    assert not Broadcast.objects.exists()


def test_a_manager_broadcasts_to_a_segment_within_their_store(
    store, manager_user, django_capture_on_commit_callbacks
):
    _rules(store.brand)
    elsewhere = StoreFactory(brand=store.brand)
    segment = SegmentFactory(brand=store.brand)
    here = MemberFactory(brand=store.brand, store=store)
    there = MemberFactory(brand=store.brand, store=elsewhere)
    outside = MemberFactory(brand=store.brand, store=store)
    for m in (here, there):
        SegmentMember.objects.create(brand=store.brand, segment=segment, member=m)
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(
            principal_of(manager_user), channel="sms", audience="segment", segment=segment, body="x"
        )
    row.refresh_from_db()
    assert row.store_id == store.pk
    assert set(Message.objects.filter(broadcast=row).values_list("member_id", flat=True)) == {here.pk}
    assert outside.pk not in set(Message.objects.values_list("member_id", flat=True))
    with pytest.raises(DomainError):
        messaging.create_broadcast(
            principal_of(manager_user), channel="sms", audience="store_members", store=elsewhere, body="x"
        )


def test_hq_broadcasts_brand_wide_to_a_tier(brand, hq_user, store, django_capture_on_commit_callbacks):
    from members.models import Tier

    _rules(brand)
    gold = Tier.objects.create(brand=brand, code="gold", name="Gold", threshold_points=1000, rank=3)
    a = MemberFactory(brand=brand, store=store)
    b = MemberFactory(brand=brand, store=StoreFactory(brand=brand))
    MemberFactory(brand=brand, store=store)
    Member.objects.filter(pk__in=[a.pk, b.pk]).update(tier=gold)
    with django_capture_on_commit_callbacks(execute=True):
        row = messaging.create_broadcast(
            principal_of(hq_user), channel="sms", audience="tier", tier=gold, body="x"
        )
    row.refresh_from_db()
    assert row.targeted == 2 and row.store_id is None


# --- pages ------------------------------------------------------------------------------------


def test_a_manager_sends_a_broadcast_from_the_page_and_sees_the_figures(
    client, store, manager_user, django_capture_on_commit_callbacks
):
    _rules(store.brand)
    MemberFactory(brand=store.brand, store=store)
    MemberFactory(brand=store.brand, store=store, consent_sms=False)
    client.force_login(manager_user)
    assert client.get(reverse("guides:broadcast_list")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("guides:broadcast_list"),
            {"channel": "sms", "audience": "store_members", "store": store.pk, "body": "店庆"},
        )
    row = Broadcast.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "guides:broadcast_detail", args=[row.pk]
    )
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-figure="skipped_no_consent"><strong>1<' in html
    assert 'data-figure="sent"><strong>1<' in html
    partial = client.get(response["Location"], headers={"HX-Request": "true"})
    assert "data-broadcast-figures" in partial.content.decode() and "<html" not in partial.content.decode()
    listing = client.get(reverse("guides:broadcast_list")).content.decode()
    assert reverse("guides:broadcast_detail", args=[row.pk]) in listing


def test_a_broadcast_with_no_message_is_refused_on_the_page(client, store, manager_user):
    client.force_login(manager_user)
    response = client.post(
        reverse("guides:broadcast_list"), {"channel": "sms", "audience": "store_members", "body": ""}
    )
    assert response.status_code == 400
    assert not Broadcast.objects.exists()


def test_a_guide_sees_only_their_own_broadcasts(client, store, guide):
    theirs = BroadcastFactory(brand=store.brand, store=store, audience=AudienceKind.STORE_MEMBERS)
    mine = BroadcastFactory(brand=store.brand, store=store, guide=guide, audience=AudienceKind.MY_MEMBERS)
    client.force_login(guide)
    assert client.get(reverse("guides:broadcast_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("guides:broadcast_detail", args=[mine.pk])).status_code == 200


def test_a_live_broadcast_page_polls_its_figures(client, store, manager_user):
    row = BroadcastFactory(brand=store.brand, store=store, status=BroadcastStatus.SENDING, progress=40)
    client.force_login(manager_user)
    html = client.get(reverse("guides:broadcast_detail", args=[row.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and 'value="40"' in html


# --- PostgreSQL: scale and concurrency --------------------------------------------------------

BIG = 100_000


def _bulk_members(brand, store, n, *, prefix="P"):
    """n members in one INSERT … SELECT over generate_series (PostgreSQL): distinct member
    numbers and phone hashes, every tenth without SMS consent."""
    template = Member(
        brand=brand,
        store=store,
        member_no="x",
        phone_hash="x",
        phone_encrypted="",
        phone_masked="139****0000",
        joined_at=timezone.now(),
    )
    template.created_at = template.updated_at = timezone.now()
    columns, values, params = [], [], []
    for field in Member._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.name == "member_no":
            values.append(f"'{prefix}' || lpad(i::text, 7, '0')")
        elif field.name == "phone_hash":
            values.append(f"'{prefix}-hash-' || i")
        elif field.name == "consent_sms":
            values.append("(i %% 10 <> 0)")
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(template, add=True), connection))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO members_member ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM generate_series(0, %s) AS i",
            [*params, n - 1],
        )
    return list(
        Member.objects.filter(brand=brand, member_no__startswith=prefix)
        .order_by("member_no")
        .values_list("pk", flat=True)
    )


def _over_the_cap(brand_id, cap):
    since = timezone.now() - dt.timedelta(days=7)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT member_id FROM guides_message
               WHERE brand_id = %s AND sent_at >= %s AND status IN ('queued', 'sent', 'delivered')
               GROUP BY member_id HAVING COUNT(*) > %s LIMIT 5""",
            [brand_id, since, cap],
        )
        return cursor.fetchall()


@POSTGRES_ONLY[0]
@POSTGRES_ONLY[1]
def test_a_broadcast_to_100000_members_respects_the_cap_exactly(brand, store):
    _rules(brand)
    ids = _bulk_members(brand, store, BIG)
    # members i % 20 == 1 already got CAP messages this week, i % 20 == 2 one message
    now = timezone.now()
    earlier = []
    for i, pk in enumerate(ids):
        n = CAP if i % 20 == 1 else 1 if i % 20 == 2 else 0
        earlier += [
            Message(brand=brand, member_id=pk, channel="sms", body="earlier", status="delivered", sent_at=now)
            for _ in range(n)
        ]
    Message.objects.bulk_create(earlier, batch_size=5000)
    row = BroadcastFactory(brand=brand, store=store, audience=AudienceKind.STORE_MEMBERS)
    started = time.monotonic()
    messaging.run_broadcast(broadcast_id=row.pk)
    elapsed = time.monotonic() - started
    print(f"broadcast to {BIG} members: {elapsed:.1f}s")
    row.refresh_from_db()
    no_consent = sum(1 for i in range(BIG) if i % 10 == 0)
    at_cap = sum(1 for i in range(BIG) if i % 20 == 1 and i % 10 != 0)
    assert row.status == BroadcastStatus.DONE
    assert row.targeted == BIG
    assert row.skipped_no_consent == no_consent
    assert row.skipped_frequency == at_cap
    assert row.skipped_quiet_hours == 0
    assert row.sent == BIG - no_consent - at_cap
    assert row.sent + row.skipped_no_consent + row.skipped_frequency == row.targeted
    assert Message.objects.filter(broadcast=row).count() == BIG
    assert row.delivered == row.sent  # the simulated provider reported every one
    assert _over_the_cap(brand.pk, CAP) == []
    assert elapsed < 60, f"the broadcast took {elapsed:.1f}s"


@POSTGRES_ONLY[0]
@POSTGRES_ONLY[1]
def test_concurrent_broadcasts_and_1to1_sends_never_exceed_the_cap(brand, store):
    _rules(brand, frequency_cap=1)
    ids = _bulk_members(brand, store, 3000, prefix="Q")
    first = BroadcastFactory(brand=brand, store=store, audience=AudienceKind.STORE_MEMBERS)
    second = BroadcastFactory(brand=brand, store=store, audience=AudienceKind.STORE_MEMBERS)
    singles = [Member.objects.get(pk=pk) for pk in ids[1:40:3]]  # consenting members
    calls = [
        lambda: messaging.run_broadcast(broadcast_id=first.pk),
        lambda: messaging.run_broadcast(broadcast_id=second.pk),
        *[
            (lambda m=m: messaging.send_to_member(brand_id=brand.pk, member=m, channel="sms", body="1:1"))
            for m in singles
        ],
    ]
    results = run_together(calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    first.refresh_from_db()
    second.refresh_from_db()
    consenting = sum(1 for i in range(3000) if i % 10 != 0)
    singles_sent = Message.objects.filter(
        broadcast__isnull=True, status__in=["queued", "sent", "delivered"]
    ).count()
    # every consenting member got exactly one message, from one of the three senders
    assert first.sent + second.sent + singles_sent == consenting
    assert first.targeted == second.targeted == 3000
    assert first.skipped_frequency + second.skipped_frequency == 2 * consenting - first.sent - second.sent
    assert _over_the_cap(brand.pk, 1) == []
    counted = (
        Message.objects.filter(brand=brand, status__in=["queued", "sent", "delivered"])
        .values("member_id")
        .distinct()
        .count()
    )
    assert counted == consenting


def test_a_failed_broadcast_can_run_again(store, guide, django_capture_on_commit_callbacks):
    MemberFactory(brand=store.brand, store=store, guide=guide)
    row = BroadcastFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        audience=AudienceKind.MY_MEMBERS,
        status=BroadcastStatus.FAILED,
    )
    with django_capture_on_commit_callbacks(execute=True):
        messaging.run_broadcast(broadcast_id=row.pk)
    row.refresh_from_db()
    assert row.status == BroadcastStatus.DONE and row.sent == 1 and row.error == ""


def _queries(client, url, **kw):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(conn) as ctx:
        assert client.get(url, **kw).status_code == 200
    return len(ctx.captured_queries)


def test_the_broadcast_list_takes_a_constant_number_of_queries(client, store, manager_user):
    segment = SegmentFactory(brand=store.brand)
    client.force_login(manager_user)
    client.get(reverse("guides:broadcast_list"))  # the user's roles: read once, then cached
    BroadcastFactory(brand=store.brand, store=store, audience=AudienceKind.SEGMENT, segment=segment)
    few = _queries(client, reverse("guides:broadcast_list"))
    for _ in range(8):
        BroadcastFactory(brand=store.brand, store=store, audience=AudienceKind.SEGMENT, segment=segment)
    assert _queries(client, reverse("guides:broadcast_list")) == few
