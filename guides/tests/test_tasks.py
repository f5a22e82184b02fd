"""Tasks: snoozing, cancelling, and the workbench's today list and the managers' counts."""

import datetime as dt

import pytest
from django.utils import timezone

from guides.choices import TaskStatus
from guides.selectors import tasks as selectors
from guides.services import tasks as services
from guides.services.common import NotAllowed
from guides.tests.factories import TaskFactory, guide_in
from members.tests.factories import MemberFactory
from retail.errors import InvalidInput
from retail.models import StaffRole
from retail.tenancy import principal_for_role
from retail.tests.factories import StoreFactory


def as_user(user):
    return principal_for_role(StaffRole.objects.filter(user=user).first())


def task_for(guide, store, **kwargs):
    member = MemberFactory(brand=store.brand, store=store, guide=guide)
    return TaskFactory(brand=store.brand, store=store, guide=guide, member=member, **kwargs)


def test_snoozing_puts_an_open_task_away_until_later(store):
    guide = guide_in(store)
    task = task_for(guide, store)
    until = timezone.now() + dt.timedelta(days=2)
    services.snooze_task(as_user(guide), task, until=until)
    task.refresh_from_db()
    assert task.status == TaskStatus.SNOOZED and task.snoozed_until == until
    assert task not in selectors.today_tasks(as_user(guide))


@pytest.mark.parametrize(
    "offset, code",
    [(dt.timedelta(minutes=-1), "until_past"), (dt.timedelta(days=14, minutes=1), "until_too_far")],
)
def test_snooze_must_be_in_the_next_14_days(store, offset, code):
    guide = guide_in(store)
    task = task_for(guide, store)
    with pytest.raises(InvalidInput) as exc:
        services.snooze_task(as_user(guide), task, until=timezone.now() + offset)
    assert exc.value.code == code
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_a_done_task_cannot_be_snoozed(store):
    guide = guide_in(store)
    task = task_for(guide, store, status=TaskStatus.DONE)
    with pytest.raises(services.TaskClosed):
        services.snooze_task(as_user(guide), task, until=timezone.now() + dt.timedelta(days=1))
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.snoozed_until is None


def test_a_snoozed_task_comes_back_when_the_snooze_ends(store):
    guide = guide_in(store)
    now = timezone.now()
    task = task_for(guide, store, due_at=now - dt.timedelta(days=1))
    services.snooze_task(as_user(guide), task, until=now + dt.timedelta(hours=3), now=now)
    assert selectors.today_tasks(as_user(guide), now=now) == []
    later = now + dt.timedelta(hours=4)
    assert [t.pk for t in selectors.today_tasks(as_user(guide), now=later)] == [task.pk]


def test_today_lists_overdue_first_and_leaves_out_later_done_and_others(store):
    guide, other = guide_in(store), guide_in(store)
    now = timezone.now()
    end = selectors.local_day_end(now)
    overdue = task_for(guide, store, due_at=now - dt.timedelta(days=2))
    today = task_for(guide, store, due_at=end - dt.timedelta(minutes=1))
    task_for(guide, store, due_at=end + dt.timedelta(minutes=1))  # tomorrow
    task_for(guide, store, due_at=now - dt.timedelta(hours=1), status=TaskStatus.DONE)
    task_for(other, store, due_at=now - dt.timedelta(hours=1))  # a colleague's
    rows = selectors.today_tasks(as_user(guide), now=now)
    assert [t.pk for t in rows] == [overdue.pk, today.pk]
    assert rows[0].is_overdue and not rows[1].is_overdue


@pytest.mark.parametrize("count", [5, 50])
def test_today_takes_one_query_whatever_the_number_of_tasks(store, count, django_assert_num_queries):
    guide = guide_in(store)
    for i in range(count):
        task_for(guide, store, due_at=timezone.now() - dt.timedelta(minutes=i))
    principal = as_user(guide)
    with django_assert_num_queries(1):
        rows = selectors.today_tasks(principal, limit=100)
        for task in rows:
            assert task.member.phone_masked
            str(task.member.tier) if task.member.tier_id else None
    assert len(rows) == count


def test_a_manager_sees_the_stores_overdue_tasks_and_counts(store, manager_user):
    a, b = guide_in(store), guide_in(store)
    now = timezone.now()
    late = task_for(a, store, due_at=now - dt.timedelta(days=1))
    task_for(a, store, due_at=now + dt.timedelta(days=3))
    task_for(b, store, due_at=now - dt.timedelta(hours=2), status=TaskStatus.DONE, done_at=now)
    other_store = StoreFactory(brand=store.brand)
    task_for(guide_in(other_store), other_store, due_at=now - dt.timedelta(days=1))
    principal = as_user(manager_user)
    assert [t.pk for t in selectors.overdue_tasks(principal, now=now)] == [late.pk]
    counts = {row["guide_id"]: row for row in selectors.task_counts(principal, now=now)}
    assert set(counts) == {a.pk, b.pk}
    assert (counts[a.pk]["open"], counts[a.pk]["overdue"], counts[a.pk]["due_today"]) == (2, 1, 1)
    assert counts[b.pk]["done_week"] == 1 and counts[b.pk]["open"] == 0
    # a guide's counts are their own
    assert [row["guide_id"] for row in selectors.task_counts(as_user(b), now=now)] == [b.pk]


def test_only_a_manager_cancels_a_task(store, manager_user):
    guide = guide_in(store)
    task = task_for(guide, store)
    with pytest.raises(NotAllowed):
        services.cancel_task(as_user(guide), task)
    services.cancel_task(as_user(manager_user), task)
    assert task.status == TaskStatus.CANCELLED
