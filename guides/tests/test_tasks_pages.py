"""The managers' task board and the htmx snooze / cancel endpoints."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from guides.choices import TaskStatus
from guides.tests.factories import TaskFactory, guide_in
from members.tests.factories import MemberFactory
from retail.tests.factories import StoreFactory


def task_for(guide, store, **kwargs):
    member = MemberFactory(brand=store.brand, store=store, guide=guide)
    return TaskFactory(brand=store.brand, store=store, guide=guide, member=member, **kwargs)


def test_the_board_shows_counts_and_overdue_tasks_of_the_store(client, store, manager_user):
    guide = guide_in(store, username="lily")
    late = task_for(guide, store, due_at=timezone.now() - dt.timedelta(days=1))
    other = StoreFactory(brand=store.brand)
    theirs = task_for(guide_in(other), other, due_at=timezone.now() - dt.timedelta(days=1))
    client.force_login(manager_user)
    response = client.get(reverse("guides:task_board"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="task-{late.pk}"' in html and f'id="task-{theirs.pk}"' not in html
    assert f'data-guide="{guide.pk}"' in html
    filtered = client.get(reverse("guides:task_board"), {"kind": "visit"}).content.decode()
    assert f'id="task-{late.pk}"' not in filtered


def test_board_queries_do_not_grow_with_tasks(client, store, manager_user, django_assert_max_num_queries):
    guide = guide_in(store)
    for i in range(25):
        task_for(guide, store, due_at=timezone.now() - dt.timedelta(hours=i + 1))
    client.force_login(manager_user)
    client.get(reverse("guides:task_board"))
    with django_assert_max_num_queries(20):
        response = client.get(reverse("guides:task_board"))
    assert response.content.decode().count('class="gp-task ') == 25


def test_a_guide_is_sent_to_the_workbench(client, store):
    client.force_login(guide_in(store))
    response = client.get(reverse("guides:task_board"))
    assert response.status_code == 302


def test_a_guide_snoozes_a_task_through_htmx(client, store):
    guide = guide_in(store)
    task = task_for(guide, store)
    client.force_login(guide)
    response = client.post(
        reverse("guides:task_snooze", args=[task.pk]), {"preset": "tomorrow"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'data-task-status="snoozed"' in response.content.decode()
    assert response["HX-Trigger-After-Swap"] == "guides-task-snoozed"
    task.refresh_from_db()
    assert task.status == TaskStatus.SNOOZED
    local = timezone.localtime(task.snoozed_until)
    assert local.date() == timezone.localdate() + dt.timedelta(days=1) and local.hour == 10


def test_snoozing_a_done_task_shows_why_and_changes_nothing(client, store):
    guide = guide_in(store)
    task = task_for(guide, store, status=TaskStatus.DONE)
    client.force_login(guide)
    response = client.post(
        reverse("guides:task_snooze", args=[task.pk]), {"preset": "3d"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_guide_cannot_snooze_a_colleagues_task(client, store):
    colleague_task = task_for(guide_in(store), store)
    client.force_login(guide_in(store))
    response = client.post(reverse("guides:task_snooze", args=[colleague_task.pk]), {"preset": "3d"})
    assert response.status_code == 404
    colleague_task.refresh_from_db()
    assert colleague_task.status == TaskStatus.OPEN


def test_a_manager_cancels_a_task_a_guide_cannot(client, store, manager_user):
    guide = guide_in(store)
    task = task_for(guide, store)
    client.force_login(guide)
    refused = client.post(reverse("guides:task_cancel", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert 'role="alert"' in refused.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    client.force_login(manager_user)
    client.post(reverse("guides:task_cancel", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def test_a_snoozed_row_is_not_shown_as_overdue(client, store):
    guide = guide_in(store)
    task = task_for(guide, store, due_at=timezone.now() - dt.timedelta(days=1))
    client.force_login(guide)
    response = client.post(
        reverse("guides:task_snooze", args=[task.pk]), {"preset": "1h"}, HTTP_HX_REQUEST="true"
    )
    assert "gp-task-overdue" not in response.content.decode()
