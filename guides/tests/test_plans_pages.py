"""Call-plan pages: the list with its form, a plan's page with progress, start and cancel."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from guides.choices import PlanStatus, TaskStatus
from guides.models import CallPlan, Task
from guides.tests.factories import CallPlanFactory, SegmentFactory, guide_in
from members.choices import JobStatus
from members.models import SegmentMember
from members.tests.factories import MemberFactory
from retail.tests.factories import StoreFactory


def test_a_manager_makes_a_draft_then_starts_it(
    client, store, manager_user, django_capture_on_commit_callbacks
):
    guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(4)]
    segment = SegmentFactory(brand=store.brand, status=JobStatus.DONE)
    SegmentMember.objects.bulk_create(
        [SegmentMember(brand=store.brand, segment=segment, member=m) for m in members]
    )
    client.force_login(manager_user)
    assert client.get(reverse("guides:plan_list")).status_code == 200
    today = timezone.localdate()
    response = client.post(
        reverse("guides:plan_list"),
        {
            "name": "Double-11 warm-up",
            "segment": segment.pk,
            "store": store.pk,
            "kind": "call",
            "script": "Hi!",
            "starts_on": today.isoformat(),
            "due_on": (today + dt.timedelta(days=3)).isoformat(),
        },
    )
    plan = CallPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "guides:plan_detail", args=[plan.pk]
    )
    assert plan.status == PlanStatus.DRAFT
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Double-11 warm-up" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("guides:plan_start", args=[plan.pk]))
    assert started.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and plan.tasks_total == 4
    detail = client.get(reverse("guides:plan_detail", args=[plan.pk])).content.decode()
    assert 'data-chart="plan-done"' in detail and "plan-done-data" in detail


def test_bad_dates_show_on_the_form(client, store, manager_user):
    client.force_login(manager_user)
    today = timezone.localdate()
    response = client.post(
        reverse("guides:plan_list"),
        {
            "name": "x",
            "segment": SegmentFactory(brand=store.brand).pk,
            "store": store.pk,
            "kind": "call",
            "starts_on": today.isoformat(),
            "due_on": (today - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert not CallPlan.objects.exists()


def test_progress_polls_while_generating_and_reloads_when_done(client, store, manager_user):
    plan = CallPlanFactory(brand=store.brand, store=store, status=PlanStatus.GENERATING, progress=40)
    client.force_login(manager_user)
    url = reverse("guides:plan_progress", args=[plan.pk])
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in running.content.decode() and "HX-Refresh" not in running
    CallPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.ACTIVE, progress=100)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_cancel_from_the_page(client, store, manager_user):
    plan = CallPlanFactory(brand=store.brand, store=store, status=PlanStatus.ACTIVE)
    guide = guide_in(store)
    member = MemberFactory(brand=store.brand, store=store, guide=guide)
    Task.objects.create(
        brand=store.brand, store=store, guide=guide, member=member, plan=plan, due_at=timezone.now()
    )
    client.force_login(manager_user)
    client.post(reverse("guides:plan_cancel", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert Task.objects.get().status == TaskStatus.CANCELLED


def test_another_stores_plan_is_a_404_for_a_manager_and_guides_are_refused(client, store, manager_user):
    theirs = CallPlanFactory(brand=store.brand, store=StoreFactory(brand=store.brand))
    client.force_login(manager_user)
    assert client.get(reverse("guides:plan_detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("guides:plan_start", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == PlanStatus.DRAFT
    client.force_login(guide_in(store))
    assert client.get(reverse("guides:plan_list")).status_code == 403


def test_the_pages_speak_chinese(client, store, manager_user):
    client.force_login(manager_user)
    response = client.get(reverse("guides:plan_list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200


def test_the_plan_page_shows_totals_per_guide_in_constant_queries(
    client, store, manager_user, django_assert_max_num_queries
):
    plan = CallPlanFactory(brand=store.brand, store=store, status=PlanStatus.ACTIVE)
    guides = [guide_in(store) for _ in range(6)]
    for guide in guides:
        for j in range(3):
            member = MemberFactory(brand=store.brand, store=store, guide=guide)
            Task.objects.create(
                brand=store.brand,
                store=store,
                guide=guide,
                member=member,
                plan=plan,
                due_at=timezone.now() - dt.timedelta(days=1),
                status=TaskStatus.DONE if j == 0 else TaskStatus.OPEN,
            )
    client.force_login(manager_user)
    client.get(reverse("guides:plan_detail", args=[plan.pk]))
    with django_assert_max_num_queries(20):
        response = client.get(reverse("guides:plan_detail", args=[plan.pk]))
    assert response.context["totals"] == {"total": 18, "done": 6, "open": 12, "overdue": 12}
    assert len(response.context["guides"]) == 6
