"""The workbench home page's cached sections: fresh at once after every write through the
services (a call, a note, a task done or snoozed, a conversion, a reassignment), per guide,
and the reader's own CSRF token in the cached rows."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guides.choices import AssignmentReason, InteractionKind, Outcome
from guides.models import Task
from guides.selectors import workbench as selectors
from guides.services.interactions import record_interaction
from guides.services.tasks import snooze_task
from guides.tests.factories import TaskFactory, guide_in
from guides.views.workbench import CSRF_MARK
from members.tests.factories import MemberFactory
from retail.tenancy import principal_for_role

pytestmark = pytest.mark.django_db

HOME = "guides:workbench"


@pytest.fixture
def guide(store):
    return guide_in(store, username="wbc-guide")


@pytest.fixture
def other_guide(store):
    return guide_in(store, username="wbc-other", phone="13900002222")


def _principal(user):
    return principal_for_role(user.staff_roles.get())


def _home(client) -> str:
    response = client.get(reverse(HOME))
    assert response.status_code == 200
    return response.content.decode()


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-wb-figure="{name}">([^<]*)<', html).group(1)


def _tables(queries) -> str:
    return " ".join(q["sql"] for q in queries)


def test_the_second_view_reads_the_sections_from_the_cache(client, store, guide):
    member = MemberFactory(brand=store.brand, store=store, guide=guide)
    TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    client.force_login(guide)
    first = _home(client)
    with CaptureQueriesContext(connection) as second:
        again = _home(client)
    sql = _tables(second.captured_queries)
    assert "guides_task" not in sql and "members_member" not in sql and "guides_interaction" not in sql
    assert f'data-wb-member="{member.pk}"' in again and 'data-wb-task="' in again
    assert CSRF_MARK not in first and CSRF_MARK not in again


def test_a_recorded_call_moves_my_numbers_and_last_contact_at_once(client, store, guide):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_call=True)
    client.force_login(guide)
    html = _home(client)
    assert _figure(html, "calls") == "0"
    record_interaction(
        _principal(guide), member=member, kind=InteractionKind.CALL, answered=True, outcome=Outcome.INTERESTED
    )
    html = _home(client)
    assert _figure(html, "calls") == "1" and _figure(html, "answer_rate") == "100%"
    assert "wb-me" in html  # my line on the board
    row = html.split(f'data-wb-member="{member.pk}"', 1)[1].split("</li>", 1)[0]
    assert "wb-small" in row  # "Last contact …" now shows


def test_a_task_done_or_snoozed_leaves_the_cached_list_at_once(client, store, guide):
    done, snoozed, kept = (TaskFactory(brand=store.brand, store=store, guide=guide) for _ in range(3))
    client.force_login(guide)
    html = _home(client)
    assert all(f'data-wb-task="{t.pk}"' in html for t in (done, snoozed, kept))
    client.post(reverse("guides:workbench_task_done", kwargs={"task_id": done.pk}))
    snooze_task(_principal(guide), snoozed, until=timezone.now() + timezone.timedelta(days=1))
    html = _home(client)
    assert f'data-wb-task="{done.pk}"' not in html and f'data-wb-task="{snoozed.pk}"' not in html
    assert f'data-wb-task="{kept.pk}"' in html


def test_a_follow_up_task_shows_at_once(client, store, guide):
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_call=True)
    client.force_login(guide)
    _home(client)
    record_interaction(
        _principal(guide),
        member=member,
        kind=InteractionKind.NOTE,
        outcome=Outcome.INTERESTED,
        next_step="call_again",
    )
    follow_up = Task.objects.get(member=member)
    # due in a few days: not on today's list, but the member's row now offers the task's call
    assert follow_up.due_at > timezone.now()
    html = _home(client)
    row = html.split(f'data-wb-member="{member.pk}"', 1)[1].split("</li>", 1)[0]
    assert f'name="task" value="{follow_up.pk}"' in row


def test_each_guide_sees_only_their_own_cached_sections(store, guide, other_guide):
    mine = MemberFactory(brand=store.brand, store=store, guide=guide)
    theirs = MemberFactory(brand=store.brand, store=store, guide=other_guide)
    my_task = TaskFactory(brand=store.brand, store=store, guide=guide, member=mine)
    their_task = TaskFactory(brand=store.brand, store=store, guide=other_guide, member=theirs)
    me, them = Client(), Client()
    me.force_login(guide)
    them.force_login(other_guide)
    for _ in range(2):  # fresh, then cached
        mine_html, theirs_html = _home(me), _home(them)
        assert f'data-wb-member="{mine.pk}"' in mine_html and f'data-wb-member="{theirs.pk}"' not in mine_html
        assert (
            f'data-wb-task="{my_task.pk}"' in mine_html and f'data-wb-task="{their_task.pk}"' not in mine_html
        )
        assert (
            f'data-wb-member="{theirs.pk}"' in theirs_html
            and f'data-wb-member="{mine.pk}"' not in theirs_html
        )


def test_the_cached_rows_carry_the_readers_csrf_token(store, guide):
    task = TaskFactory(brand=store.brand, store=store, guide=guide)
    tablet, phone = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tablet.force_login(guide)
    phone.force_login(guide)
    _home(tablet)  # fills the cache with the tablet's token
    html = _home(phone)  # cached: the phone's own token must be in the rows
    token = re.search(
        rf'action="{re.escape(reverse("guides:workbench_task_done", kwargs={"task_id": task.pk}))}".*?'
        r'name="csrfmiddlewaretoken" value="([^"]+)"',
        html,
    ).group(1)
    url = reverse("guides:workbench_task_done", kwargs={"task_id": task.pk})
    response = phone.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "done"


def test_a_search_reads_fresh_and_the_cached_first_page_stays_whole(client, store, guide):
    first = MemberFactory(brand=store.brand, store=store, guide=guide, member_no="WBC0001")
    second = MemberFactory(brand=store.brand, store=store, guide=guide, member_no="WBC0002")
    client.force_login(guide)
    _home(client)
    html = client.get(reverse(HOME), {"q": "WBC0001"}).content.decode()
    assert f'data-wb-member="{first.pk}"' in html and f'data-wb-member="{second.pk}"' not in html
    html = _home(client)
    assert f'data-wb-member="{first.pk}"' in html and f'data-wb-member="{second.pk}"' in html


def test_bump_gives_new_versions_for_a_guide_or_the_whole_brand(store, guide, other_guide):
    me, them = _principal(guide), _principal(other_guide)
    mine, theirs = selectors.section_versions(me), selectors.section_versions(them)
    assert selectors.section_versions(me) == mine  # stable until a write
    selectors.bump(guide_ids=[guide.pk])
    assert selectors.section_versions(me) != mine and selectors.section_versions(them) == theirs
    mine = selectors.section_versions(me)
    selectors.bump(brand_id=store.brand_id)
    assert selectors.section_versions(me) != mine and selectors.section_versions(them) != theirs


def test_a_reassignment_moves_the_member_between_cached_lists(store, guide, other_guide):
    from guides.services.assignments import reassign_members
    from retail.choices import Role
    from retail.tests.factories import StaffRoleFactory, UserFactory

    member = MemberFactory(brand=store.brand, store=store, guide=guide)
    me, them = Client(), Client()
    me.force_login(guide)
    them.force_login(other_guide)
    assert f'data-wb-member="{member.pk}"' in _home(me)
    assert f'data-wb-member="{member.pk}"' not in _home(them)
    manager = UserFactory()
    role = StaffRoleFactory(user=manager, brand=store.brand, store=store, role=Role.STORE_MANAGER)
    reassign_members(
        principal_for_role(role),
        store=store,
        member_ids=[member.pk],
        to_guides=[other_guide.pk],
        reason=AssignmentReason.REBALANCE,
    )
    assert f'data-wb-member="{member.pk}"' not in _home(me)
    assert f'data-wb-member="{member.pk}"' in _home(them)


def test_the_whole_page_is_cached_with_the_readers_token_in_every_form(store, guide):
    tablet, phone = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tablet.force_login(guide)
    phone.force_login(guide)
    _home(tablet)  # renders the page (chrome included) into the cache
    with CaptureQueriesContext(connection) as cached:
        html = _home(phone)
    assert CSRF_MARK not in html
    assert "guides_" not in _tables(cached.captured_queries)  # no query of the sections ran
    logout = re.search(
        rf'action="{re.escape(reverse("logout"))}".*?name="csrfmiddlewaretoken" value="([^"]+)"', html, re.S
    ).group(1)
    assert phone.post(reverse("logout"), {"csrfmiddlewaretoken": logout}).status_code == 302
    assert phone.get(reverse(HOME)).status_code == 302  # logged out: the cached token was valid


def test_a_flash_message_shows_on_the_cached_page(client, store, guide):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.http import HttpRequest

    client.force_login(guide)
    _home(client)  # the page is cached now
    storage = CookieStorage(HttpRequest())  # a message left by a redirecting view
    client.cookies[storage.cookie_name] = storage._encode([Message(constants.SUCCESS, "Flash for the guide")])
    assert "Flash for the guide" in _home(client)
    assert "Flash for the guide" not in _home(client)  # shown once; the cached page again


def test_a_new_role_shows_the_role_switch_on_the_cached_page(client, store, guide):
    from retail import services as retail_services
    from retail.choices import Role
    from retail.tests.factories import StoreFactory

    client.force_login(guide)
    assert 'action="{}"'.format(reverse("retail:role_switch")) not in _home(client)
    other = StoreFactory(brand=store.brand)
    retail_services.grant_role(user=guide, brand=store.brand, role=Role.GUIDE, store=other)
    assert 'action="{}"'.format(reverse("retail:role_switch")) in _home(client)
