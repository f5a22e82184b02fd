"""Livestreams: managers schedule (host a guide of the store, brand products, future, ends
after start); guides sign up their members who agreed on the channel; reminders go out once
(two runs, a late signup), through the messaging rules (consent, quiet hours), counted sent vs
skipped; the pages per role."""

import datetime as dt
from datetime import time

import pytest
from django.urls import reverse
from django.utils import timezone

from guides.choices import LivestreamStatus, MessageChannel, MessageStatus, Platform
from guides.models import GuideSettings, Livestream, LivestreamSignup, Message
from guides.services import livestreams as services
from guides.tests.factories import LivestreamFactory, guide_in
from members.tests.factories import MemberFactory
from retail.errors import DomainError
from retail.models import DomainEvent, StaffRole
from retail.tenancy import principal_for_role
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def _principal(user):
    return principal_for_role(StaffRole.objects.get(user=user))


@pytest.fixture
def host(store):
    return guide_in(store, username="host-guide")


@pytest.fixture
def no_quiet_hours(brand):
    return GuideSettings.objects.create(brand=brand, quiet_start=time(0, 0), quiet_end=time(0, 0))


@pytest.fixture
def member(store, host):
    return MemberFactory(brand=store.brand, store=store, guide=host, consent_sms=True, consent_chat=False)


def _schedule(manager_user, store, host, **extra):
    fields = {
        "store": store,
        "host_id": host.pk,
        "title": "双十一直播",
        "platform": Platform.DOUYIN,
        "starts_at": timezone.now() + dt.timedelta(hours=2),
        "ends_at": timezone.now() + dt.timedelta(hours=4),
        "products": [ProductFactory(brand=store.brand)],
        **extra,
    }
    return services.schedule_livestream(_principal(manager_user), **fields)


def test_a_manager_schedules_a_livestream_with_products(manager_user, store, host):
    livestream = _schedule(manager_user, store, host)
    assert (livestream.store_id, livestream.host_id, livestream.status) == (store.pk, host.pk, "scheduled")
    assert livestream.products.count() == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"starts_at": timezone.now() - dt.timedelta(minutes=1)}, "starts_at"),
        ({"ends_at": timezone.now() + dt.timedelta(hours=1)}, "ends_at"),
        ({"host": "manager"}, "host"),
        ({"host": "other_store_guide"}, "host"),
        ({"products": "other_brand"}, "products"),
    ],
)
def test_scheduling_refuses_bad_details(manager_user, store, host, other_brand, change, field):
    if change.get("host") == "manager":
        change = {"host_id": manager_user.pk}
    elif change.get("host") == "other_store_guide":
        change = {"host_id": guide_in(StoreFactory(brand=store.brand)).pk}
    elif change.get("products") == "other_brand":
        change = {"products": [ProductFactory(brand=other_brand)]}
    with pytest.raises(DomainError) as refused:
        _schedule(manager_user, store, host, **change)
    assert field in refused.value.fields
    assert not Livestream.objects.exists()


def test_a_guide_cannot_schedule(host, store):
    with pytest.raises(DomainError):
        _schedule(host, store, host)


def test_status_moves_only_forward(manager_user, store, host):
    livestream = _schedule(manager_user, store, host)
    services.set_status(_principal(manager_user), livestream=livestream, status=LivestreamStatus.LIVE)
    with pytest.raises(DomainError):
        services.set_status(
            _principal(manager_user), livestream=livestream, status=LivestreamStatus.CANCELLED
        )
    services.set_status(_principal(manager_user), livestream=livestream, status=LivestreamStatus.ENDED)
    livestream.refresh_from_db()
    assert livestream.status == "ended"


def test_a_guide_signs_up_a_member_only_on_a_channel_they_agreed_to(host, store, member):
    livestream = LivestreamFactory(brand=store.brand, store=store, host=host)
    with pytest.raises(DomainError) as refused:
        services.sign_up(_principal(host), livestream=livestream, member=member, channel=MessageChannel.CHAT)
    assert refused.value.code == "no_consent"
    signup = services.sign_up(
        _principal(host), livestream=livestream, member=member, channel=MessageChannel.SMS
    )
    again = services.sign_up(
        _principal(host), livestream=livestream, member=member, channel=MessageChannel.SMS
    )
    assert signup.pk == again.pk and LivestreamSignup.objects.count() == 1


def test_sign_ups_close_when_the_livestream_started(host, store, member):
    livestream = LivestreamFactory(
        brand=store.brand, store=store, host=host, starts_at=timezone.now() - dt.timedelta(minutes=1)
    )
    with pytest.raises(DomainError):
        services.sign_up(_principal(host), livestream=livestream, member=member, channel=MessageChannel.SMS)


def _due_livestream(store, host, members, *, minutes=20, remind=30):
    livestream = LivestreamFactory(
        brand=store.brand,
        store=store,
        host=host,
        starts_at=timezone.now() + dt.timedelta(minutes=minutes),
        ends_at=timezone.now() + dt.timedelta(minutes=minutes + 60),
        remind_minutes_before=remind,
    )
    for m, channel in members:
        LivestreamSignup.objects.create(livestream=livestream, member=m, channel=channel)
    return livestream


def test_reminders_go_out_once_and_count_sent_and_skipped(
    store, host, member, no_quiet_hours, django_capture_on_commit_callbacks
):
    # given: two members who agreed to SMS and one who withdrew consent after signing up
    agreed = MemberFactory(brand=store.brand, store=store, guide=host, consent_sms=True)
    withdrew = MemberFactory(brand=store.brand, store=store, guide=host, consent_sms=False)
    livestream = _due_livestream(store, host, [(member, "sms"), (agreed, "sms"), (withdrew, "sms")])
    later = _due_livestream(store, host, [(member, "sms")], minutes=90)  # not due yet
    # when: the beat runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = services.send_due_reminders()
    second = services.send_due_reminders()
    # then: three handled once, two sent, one skipped for consent; nothing twice
    assert (first, second) == (3, 0)
    livestream.refresh_from_db()
    assert (livestream.reminders_sent, livestream.reminders_skipped) == (2, 1)
    assert livestream.reminded_at is not None
    messages = Message.objects.filter(member__in=[member, agreed, withdrew])
    assert messages.count() == 3
    assert messages.get(member=withdrew).status == MessageStatus.SKIPPED
    assert livestream.title in messages.get(member=member).body
    assert DomainEvent.objects.filter(name="livestream.reminded").count() == 1
    assert not LivestreamSignup.objects.filter(livestream=later, reminded_at__isnull=False).exists()


def test_a_late_signup_is_reminded_by_the_next_run_without_repeating_the_others(
    store, host, member, no_quiet_hours
):
    livestream = _due_livestream(store, host, [(member, "sms")])
    services.send_due_reminders()
    late = MemberFactory(brand=store.brand, store=store, guide=host, consent_sms=True)
    services.sign_up(_principal(host), livestream=livestream, member=late, channel="sms")
    assert services.send_due_reminders() == 1
    assert Message.objects.filter(member=member).count() == 1
    assert Message.objects.filter(member=late).count() == 1
    assert DomainEvent.objects.filter(name="livestream.reminded").count() == 1


def test_quiet_hours_skip_the_reminder(store, host, member, brand):
    GuideSettings.objects.create(brand=brand, quiet_start=time(0, 0), quiet_end=time(23, 59, 59))
    livestream = _due_livestream(store, host, [(member, "sms")])
    services.send_due_reminders()
    livestream.refresh_from_db()
    assert (livestream.reminders_sent, livestream.reminders_skipped) == (0, 1)


def test_cancelled_livestreams_are_not_reminded(store, host, member, no_quiet_hours):
    livestream = _due_livestream(store, host, [(member, "sms")])
    Livestream.objects.filter(pk=livestream.pk).update(status=LivestreamStatus.CANCELLED)
    assert services.send_due_reminders() == 0
    assert not Message.objects.exists()


def test_the_task_runs_the_reminders(store, host, member, no_quiet_hours):
    from guides.tasks.livestreams import send_livestream_reminders_task

    _due_livestream(store, host, [(member, "sms")])
    send_livestream_reminders_task.apply(throw=True)
    assert Message.objects.filter(member=member).count() == 1


# --- pages ----------------------------------------------------------------------------------


def test_a_manager_schedules_on_the_page_and_marks_it_live(client, manager_user, store, host):
    client.force_login(manager_user)
    assert client.get(reverse("guides:livestream_list")).status_code == 200
    start = timezone.localtime() + dt.timedelta(days=1)
    response = client.post(
        reverse("guides:livestream_list"),
        {
            "store": store.pk,
            "host": StaffRole.objects.get(user=host).pk,
            "title": "Autumn live",
            "platform": "douyin",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "remind_minutes_before": 30,
        },
    )
    livestream = Livestream.objects.get()
    assert response.status_code == 302 and livestream.title == "Autumn live"
    url = reverse("guides:livestream_detail", kwargs={"livestream_id": livestream.pk})
    client.post(url, {"action": "live"})
    livestream.refresh_from_db()
    assert livestream.status == "live"


def test_a_bad_schedule_is_a_400_with_the_message(client, manager_user, store, host):
    client.force_login(manager_user)
    past = timezone.localtime() - dt.timedelta(days=1)
    response = client.post(
        reverse("guides:livestream_list"),
        {
            "store": store.pk,
            "host": StaffRole.objects.get(user=host).pk,
            "title": "Too late",
            "platform": "douyin",
            "starts_at": past.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (past + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "remind_minutes_before": 30,
        },
    )
    assert response.status_code == 400 and "starts in the future" in response.content.decode()
    assert not Livestream.objects.exists()


def test_a_guide_finds_their_member_and_signs_them_up_on_the_page(client, host, store, member):
    other_guide = guide_in(store, username="other-guide")
    theirs = MemberFactory(brand=store.brand, store=store, guide=other_guide, consent_sms=True)
    livestream = LivestreamFactory(brand=store.brand, store=store, host=host)
    url = reverse("guides:livestream_detail", kwargs={"livestream_id": livestream.pk})
    client.force_login(host)
    page = client.get(url, {"q": member.member_no}).content.decode()
    assert f'name="member" value="{member.pk}"' in page and "Remind by SMS" in page
    page = client.get(url, {"q": theirs.member_no}).content.decode()
    assert f'value="{theirs.pk}"' not in page
    assert client.post(url, {"action": "signup", "member": member.pk, "channel": "sms"}).status_code == 302
    assert client.post(url, {"action": "signup", "member": theirs.pk, "channel": "sms"}).status_code == 404
    assert list(LivestreamSignup.objects.values_list("member_id", flat=True)) == [member.pk]
    assert f'data-signup="{member.pk}"' in client.get(url).content.decode()
    # a guide does not mark it live
    assert client.post(url, {"action": "live"}).status_code == 404


def test_another_stores_livestream_is_a_404_for_a_guide_and_the_list_shows_only_theirs(client, host, store):
    mine = LivestreamFactory(brand=store.brand, store=store, host=host)
    elsewhere = LivestreamFactory(brand=store.brand, store=StoreFactory(brand=store.brand))
    client.force_login(host)
    page = client.get(reverse("guides:livestream_list")).content.decode()
    assert f'data-livestream="{mine.pk}"' in page and f'data-livestream="{elsewhere.pk}"' not in page
    url = reverse("guides:livestream_detail", kwargs={"livestream_id": elsewhere.pk})
    assert client.get(url).status_code == 404


def test_hq_sees_the_pages_in_chinese(client, hq_user, store, host):
    livestream = LivestreamFactory(brand=store.brand, store=store, host=host)
    client.force_login(hq_user)
    for url in (
        reverse("guides:livestream_list"),
        reverse("guides:livestream_detail", kwargs={"livestream_id": livestream.pk}),
    ):
        assert client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200
