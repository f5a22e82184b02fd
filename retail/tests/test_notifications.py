"""Staff notifications (retail.notifications): fanned out to the roles asked for, once per
dedupe key, worded in the reader's language, read by their recipient only; the inbox page,
marking read, and the header's bell with its cached count."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from retail import notifications
from retail.choices import Role
from retail.models import NotificationKind, StaffNotification
from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory

pytestmark = pytest.mark.django_db

INBOX = "/notifications/"


@pytest.fixture(autouse=True)
def _wording():
    # msgids the Chinese catalogue holds already: the test words them in both languages
    notifications.register_message(
        "test_wording",
        title=translation.gettext_lazy("%(store)s is live."),
        body=translation.gettext_lazy("%(n)s samples left"),
    )


def send(brand, store=None, *, key="k1", roles=(Role.STORE_MANAGER, Role.HQ_ADMIN), **params):
    return notifications.notify(
        brand_id=brand.pk,
        store_id=store.pk if store else None,
        roles=roles,
        kind=NotificationKind.OTHER,
        message="test_wording",
        params={"store": "Flagship", "n": 3, **params},
        url="/devices/",
        subject="device:1",
        dedupe_key=key,
    )


def mine(user) -> list[StaffNotification]:
    return list(StaffNotification.objects.filter(recipient=user))


@pytest.fixture
def people(brand, store, hq_user, manager_user, guide_user, other_brand):
    """Brand A: HQ, the store's manager and guide, another store's manager; brand B's HQ."""
    other_store = StoreFactory(brand=brand)
    elsewhere = StaffRoleFactory(brand=brand, store=other_store, role=Role.STORE_MANAGER).user
    theirs = StaffRoleFactory(brand=other_brand, role=Role.HQ_ADMIN).user
    return {
        "hq": hq_user,
        "manager": manager_user,
        "guide": guide_user,
        "elsewhere": elsewhere,
        "theirs": theirs,
    }


# --- notify -------------------------------------------------------------------------------------


def test_a_store_alert_reaches_its_managers_and_hq_once_each_and_nobody_else(
    brand, store, people, django_capture_on_commit_callbacks
):
    # given a second manager of the store who is also HQ (one notification, not two)
    both = StaffRoleFactory(brand=brand, store=store, role=Role.STORE_MANAGER).user
    StaffRoleFactory(user=both, brand=brand, role=Role.HQ_ADMIN)
    # when the store's managers and HQ are notified
    with django_capture_on_commit_callbacks(execute=True):
        sent = send(brand, store)
    # then each of them has exactly one notification
    assert sorted(sent) == sorted([people["hq"].pk, people["manager"].pk, both.pk])
    for user in (people["hq"], people["manager"], both):
        assert len(mine(user)) == 1
    # and not the guide, another store's manager, or another brand's HQ
    for user in (people["guide"], people["elsewhere"], people["theirs"]):
        assert mine(user) == []


def test_a_repeated_dedupe_key_creates_nothing_twice(brand, store, people):
    send(brand, store, key="device.offline:42")
    send(brand, store, key="device.offline:42")
    assert StaffNotification.objects.count() == 2  # HQ + manager, once each
    send(brand, store, key="device.offline:43")
    assert StaffNotification.objects.count() == 4


def test_an_inactive_user_is_not_notified(brand, store, people):
    people["manager"].is_active = False
    people["manager"].save()
    send(brand, store)
    assert mine(people["manager"]) == [] and len(mine(people["hq"])) == 1


def test_notify_brand_hq_reaches_hq_only(brand, store, people):
    notifications.notify_brand_hq(
        brand_id=brand.pk,
        kind=NotificationKind.WEBHOOK_PAUSED,
        message="webhook_paused",
        params={"url": "https://partner.example/hook"},
        dedupe_key="webhook.paused:1",
    )
    assert [n.recipient_id for n in StaffNotification.objects.all()] == [people["hq"].pk]


def test_an_unknown_message_or_a_store_role_without_store_is_refused(brand, people):
    with pytest.raises(notifications.UnknownMessage):
        notifications.notify(
            brand_id=brand.pk, roles=[Role.HQ_ADMIN], kind="other", message="nope", dedupe_key="x"
        )
    with pytest.raises(ValueError):
        send(brand, None, roles=[Role.STORE_MANAGER])
    assert StaffNotification.objects.count() == 0


def test_resolving_takes_open_notifications_off_the_bell_and_keeps_them(brand, store, people):
    send(brand, store)
    hq = people["hq"]
    brands = {brand.pk}
    assert notifications.unread_count(user=hq, brand_ids=brands) == 1
    assert notifications.resolve(brand_id=brand.pk, subject="device:1", kinds=[NotificationKind.OTHER]) == 2
    assert notifications.unread_count(user=hq, brand_ids=brands) == 0
    assert mine(hq)[0].resolved_at is not None
    assert notifications.resolve(brand_id=brand.pk, subject="device:1") == 0  # idempotent


@pytest.mark.django_db(transaction=True)
@override_settings(ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"])
@pytest.mark.parametrize(
    "path, first",
    [("/ws/live/", "hello"), ("/ws/dashboards/?store={store}", "snapshot"), ("/ws/incidents/", "hello")],
    ids=["live", "dashboard", "incident-desk"],
)
def test_the_recipients_live_socket_hears_that_their_bell_changed(client, brand, store, people, path, first):
    from channels.testing import WebsocketCommunicator

    from retail.asgi import application

    client.force_login(people["manager"])
    cookie = client.cookies["sessionid"].value

    async def scenario():
        socket = WebsocketCommunicator(
            application,
            path.format(store=store.pk),
            headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")],
        )
        connected, _ = await socket.connect()
        assert connected
        assert (await socket.receive_json_from(timeout=5))["type"] == first
        # a notification for somebody else: nothing comes
        await database_sync_to_async(send)(brand, roles=[Role.HQ_ADMIN], key="hq-only")
        assert await socket.receive_nothing(timeout=0.3)
        # one for the manager: the page is told to fetch the bell
        await database_sync_to_async(send)(brand, store, key="store")
        assert await socket.receive_json_from(timeout=5) == {"type": "notifications"}
        await socket.disconnect()

    async_to_sync(scenario)()


# --- wording ------------------------------------------------------------------------------------


def test_a_notification_is_worded_in_the_readers_language(brand, store, people):
    send(brand, store)
    row = mine(people["manager"])[0]
    assert row.message == "test_wording" and row.params == {"store": "Flagship", "n": 3}  # data, not words
    with translation.override("en"):
        shown = notifications.word(row)
    assert (shown.title, shown.body) == ("Flagship is live.", "3 samples left")
    with translation.override("zh-hans"):
        shown = notifications.word(row)
    assert (shown.title, shown.body) == ("Flagship 已上线。", "剩余 3 份小样")


def test_times_in_params_are_shown_in_the_local_time_zone():
    shown = notifications._display_params({"last_seen_at": "2026-11-26T02:30:00+00:00", "seen_at": None})
    assert "10:30" in shown["last_seen_at"]  # Asia/Shanghai
    with translation.override("zh-hans"):
        assert notifications._display_params({"seen_at": None})["seen_at"] == "从未"


def test_a_notification_whose_wording_is_gone_still_shows(brand, store, people):
    send(brand, store)
    row = mine(people["hq"])[0]
    row.message = "unregistered"
    assert notifications.word(row).title == "Notification"


# --- reading: the inbox, marking read, the bell -------------------------------------------------


def test_the_inbox_shows_the_readers_own_notifications_only(client, brand, store, people):
    send(brand, store)
    StaffNotification.objects.filter(recipient=people["hq"]).update(params={"store": "HQ copy", "n": 1})
    client.force_login(people["manager"])
    page = client.get(INBOX)
    assert page.status_code == 200
    assert "Flagship is live." in page.content.decode()
    assert "HQ copy" not in page.content.decode()
    assert len(page.context["rows"]) == 1
    # and somebody else's notification is a 404, to read or to open
    hq_row = mine(people["hq"])[0]
    assert client.post(reverse("retail:notifications:mark_read", args=[hq_row.pk])).status_code == 404
    assert client.post(reverse("retail:notifications:open", args=[hq_row.pk])).status_code == 404
    hq_row.refresh_from_db()
    assert hq_row.read_at is None


def test_a_role_lost_in_a_brand_hides_its_notifications(client, brand, store, people):
    send(brand, store)
    manager = people["manager"]
    from retail import services
    from retail.models import StaffRole

    services.revoke_role(staff_role=StaffRole.objects.get(user=manager))
    StaffRoleFactory(user=manager, brand=BrandFactory(), role=Role.HQ_ADMIN)  # still staff elsewhere
    client.force_login(manager)
    assert client.get(INBOX).context["rows"] == []


def test_the_inbox_in_chinese(client, brand, store, people):
    send(brand, store)
    client.force_login(people["manager"])
    page = client.get(INBOX, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "Flagship 已上线。" in page.content.decode()


def test_marking_read_updates_the_bell_and_the_unread_filter(client, brand, store, people):
    send(brand, store, key="a")
    send(brand, store, key="b")
    manager = people["manager"]
    client.force_login(manager)
    assert client.get(INBOX).context["notification_bell"].count == 2
    first, second = mine(manager)
    # when one is marked read (htmx: the row comes back, the bell is told)
    answer = client.post(reverse("retail:notifications:mark_read", args=[first.pk]), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and answer["HX-Trigger"] == "notifications-changed"
    assert "data-mark-read" not in answer.content.decode()
    # then the bell counts one and the unread filter shows the other only
    unread = client.get(INBOX + "?unread=1")
    assert unread.context["notification_bell"].count == 1
    assert [r.notification.pk for r in unread.context["rows"]] == [second.pk]
    # and the full list shows the unread one first
    assert [r.notification.pk for r in client.get(INBOX).context["rows"]] == [second.pk, first.pk]
    # when all are marked read, the bell shows nothing
    assert client.post(reverse("retail:notifications:mark_all_read")).status_code == 302
    bell = client.get(reverse("retail:notifications:bell"))
    assert 'data-unread="0"' in bell.content.decode() and "data-bell-count" not in bell.content.decode()
    assert StaffNotification.objects.filter(recipient=manager, read_at__isnull=True).count() == 0


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, brand, store, people):
    send(brand, store)
    row = mine(people["manager"])[0]
    client.force_login(people["manager"])
    answer = client.post(reverse("retail:notifications:open", args=[row.pk]))
    assert answer.status_code == 302 and answer["Location"] == "/devices/"
    row.refresh_from_db()
    assert row.read_at is not None


def test_a_link_to_another_site_is_not_followed(client, brand, store, people):
    send(brand, store)
    row = mine(people["manager"])[0]
    StaffNotification.objects.filter(pk=row.pk).update(url="https://evil.example/")
    client.force_login(people["manager"])
    answer = client.post(reverse("retail:notifications:open", args=[row.pk]))
    assert answer["Location"] == INBOX


def test_the_header_bell_shows_the_count_on_every_page(client, brand, store, people):
    send(brand, store)
    client.force_login(people["manager"])
    html = client.get(reverse("retail:store_home")).content.decode()
    assert 'id="notification-bell"' in html and 'data-unread="1"' in html
    # a page without the live socket still catches up: the bell asks again every minute
    bell = html[html.index('id="notification-bell"') :].split(">", 1)[0]
    assert 'hx-trigger="notifications-changed from:body, every 60s"' in bell


def test_the_bell_count_is_cached_and_dropped_when_it_changes(
    brand, store, people, django_assert_num_queries
):
    hq, brands = people["hq"], {brand.pk}
    with django_assert_num_queries(1):
        assert notifications.unread_count(user=hq, brand_ids=brands) == 0
    with django_assert_num_queries(0):
        assert notifications.unread_count(user=hq, brand_ids=brands) == 0
    send(brand, store)
    assert notifications.unread_count(user=hq, brand_ids=brands) == 1
    notifications.mark_all_read(user=hq, brand_ids=brands)
    assert notifications.unread_count(user=hq, brand_ids=brands) == 0


def test_the_bell_caps_its_count(brand, people):
    hq = people["hq"]
    StaffNotification.objects.bulk_create(
        StaffNotification(brand=brand, recipient=hq, kind="other", message="test_wording", dedupe_key=str(i))
        for i in range(notifications.UNREAD_CAP + 5)
    )
    assert notifications.unread_count(user=hq, brand_ids={brand.pk}) == notifications.UNREAD_CAP


def test_the_inbox_takes_a_constant_number_of_queries(
    client, brand, store, people, django_assert_num_queries
):
    manager = people["manager"]
    client.force_login(manager)
    client.get(INBOX)  # the user's roles and the bell: read once, then cached
    send(brand, store, key="first")
    client.get(INBOX)  # the bell's count again (it changed)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(INBOX).status_code == 200
    for i in range(20):
        send(brand, store, key=f"more-{i}")
    client.get(INBOX)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(INBOX).context["rows"]) == 21
    assert len(many.captured_queries) == len(few.captured_queries)


def test_logged_out_the_inbox_asks_to_log_in_and_the_bell_swaps_nothing(client):
    assert client.get(INBOX).status_code == 302
    assert client.get(reverse("retail:notifications:bell")).status_code == 204
