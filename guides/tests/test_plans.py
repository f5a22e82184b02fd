"""Call plans: making tasks from a segment, spread over the store's guides and days."""

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from guides.choices import PlanStatus, TaskKind, TaskStatus
from guides.models import CallPlan, Task
from guides.services import plans as services
from guides.services.common import NotAllowed
from guides.tests.factories import SegmentFactory, TaskFactory, guide_in
from members.choices import JobStatus
from members.models import SegmentMember
from members.tests.factories import MemberFactory
from retail.errors import Conflict, InvalidInput
from retail.models import StaffRole
from retail.tenancy import principal_for_role
from retail.tests.factories import StoreFactory


def as_user(user):
    return principal_for_role(StaffRole.objects.filter(user=user).first())


def materialised(brand, members):
    segment = SegmentFactory(brand=brand, status=JobStatus.DONE, size=len(members))
    SegmentMember.objects.bulk_create(
        [SegmentMember(brand=brand, segment=segment, member=m) for m in members]
    )
    return segment


def make_plan(principal, segment, store, days=5, kind=TaskKind.CALL):
    today = timezone.localdate()
    return services.create_plan(
        principal,
        name="Gold care calls",
        segment=segment,
        store=store,
        kind=kind,
        script="Hello",
        starts_on=today,
        due_on=today + dt.timedelta(days=days - 1),
    )


def test_starting_a_plan_spreads_tasks_keeps_own_guides_and_counts_the_unassigned(
    store, manager_user, django_capture_on_commit_callbacks
):
    # given a store with guides a (6 own members) and b, c (no own members), 12 members
    # without a guide, and a segment of all of them plus one member of another store
    a, b, c = guide_in(store), guide_in(store), guide_in(store)
    own = [MemberFactory(brand=store.brand, store=store, guide=a, consent_call=True) for _ in range(6)]
    loose = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(12)]
    elsewhere = MemberFactory(brand=store.brand, store=StoreFactory(brand=store.brand), consent_call=True)
    segment = materialised(store.brand, [*own, *loose, elsewhere])
    plan = make_plan(as_user(manager_user), segment, store, days=5)
    assert plan.status == PlanStatus.DRAFT
    # when the manager starts it (the job runs after commit)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    plan.refresh_from_db()
    # then it is active with one task per member of the store
    assert plan.status == PlanStatus.ACTIVE and plan.progress == 100
    assert plan.tasks_total == 18 == Task.objects.filter(plan=plan).count()
    tasks = Task.objects.filter(plan=plan)
    # own members stay with their guide; the others go to the lightest loads: b and c
    assert set(tasks.filter(member__in=own).values_list("guide_id", flat=True)) == {a.pk}
    per_guide = Counter(tasks.values_list("guide_id", flat=True))
    assert per_guide == {a.pk: 6, b.pk: 6, c.pk: 6}
    # a guide's tasks are spread over the plan's days, not all due on one day
    days = Counter(timezone.localtime(t.due_at).date() for t in tasks.filter(guide=b))
    assert len(days) == 5 and max(days.values()) <= 2
    first, last = min(days), max(days)
    assert first == plan.starts_on and last == plan.due_on
    assert set(tasks.values_list("kind", flat=True)) == {TaskKind.CALL}


def test_members_with_no_guide_in_their_store_are_counted(hq_user, brand, django_capture_on_commit_callbacks):
    staffed, empty = StoreFactory(brand=brand), StoreFactory(brand=brand)
    g = guide_in(staffed)
    members = [MemberFactory(brand=brand, store=staffed, consent_call=True) for _ in range(3)]
    orphans = [MemberFactory(brand=brand, store=empty, consent_call=True) for _ in range(2)]
    nowhere = MemberFactory(brand=brand, store=None, consent_call=True)
    segment = materialised(brand, [*members, *orphans, nowhere])
    plan = make_plan(as_user(hq_user), segment, None)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(hq_user), plan)
    plan.refresh_from_db()
    assert plan.tasks_total == 3 and plan.members_without_guide == 3
    assert set(Task.objects.filter(plan=plan).values_list("guide_id", flat=True)) == {g.pk}


def test_the_lightest_open_load_gets_the_members(store, manager_user, django_capture_on_commit_callbacks):
    busy, free = guide_in(store), guide_in(store)
    for _ in range(4):
        TaskFactory(
            brand=store.brand, store=store, guide=busy, member=MemberFactory(brand=store.brand, store=store)
        )
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(6)]
    plan = make_plan(as_user(manager_user), materialised(store.brand, members), store)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    per_guide = Counter(Task.objects.filter(plan=plan).values_list("guide_id", flat=True))
    assert per_guide == {free.pk: 5, busy.pk: 1}


def test_a_call_plan_never_calls_a_member_who_opted_out(
    store, manager_user, django_capture_on_commit_callbacks
):
    guide_in(store)
    yes = MemberFactory(brand=store.brand, store=store, consent_call=True)
    no = MemberFactory(brand=store.brand, store=store, consent_call=False)
    plan = make_plan(as_user(manager_user), materialised(store.brand, [yes, no]), store)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    assert list(Task.objects.filter(plan=plan).values_list("member_id", flat=True)) == [yes.pk]


def test_a_retried_job_creates_nothing_new(store, manager_user, django_capture_on_commit_callbacks):
    guide_in(store), guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(7)]
    plan = make_plan(as_user(manager_user), materialised(store.brand, members), store)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    before = sorted(Task.objects.filter(plan=plan).values_list("pk", "guide_id", "member_id"))
    assert services.generate_plan_tasks(plan_id=plan.pk) == 7
    assert sorted(Task.objects.filter(plan=plan).values_list("pk", "guide_id", "member_id")) == before
    with pytest.raises(Conflict):
        services.start_plan(as_user(manager_user), plan)


def test_an_unmaterialised_segment_is_materialised_first(
    store, manager_user, django_capture_on_commit_callbacks
):
    guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(3)]
    segment = SegmentFactory(brand=store.brand, rules={}, status=JobStatus.PENDING)
    plan = make_plan(as_user(manager_user), segment, store)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE, plan.error
    assert set(Task.objects.filter(plan=plan).values_list("member_id", flat=True)) == {m.pk for m in members}


def test_a_failing_job_marks_the_plan_failed(
    store, manager_user, monkeypatch, django_capture_on_commit_callbacks
):
    plan = make_plan(as_user(manager_user), materialised(store.brand, []), store)

    def boom(plan):
        raise RuntimeError("segment unreadable")

    monkeypatch.setattr(services, "_audience", boom)
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED and "segment unreadable" in plan.error


def test_only_hq_makes_a_plan_for_every_store(store, manager_user):
    segment = materialised(store.brand, [])
    with pytest.raises(InvalidInput):
        make_plan(as_user(manager_user), segment, None)
    guide = guide_in(store)
    with pytest.raises(NotAllowed):
        make_plan(as_user(guide), segment, store)
    assert not CallPlan.objects.exists()


def test_dates_must_be_ordered(store, manager_user):
    today = timezone.localdate()
    with pytest.raises(InvalidInput) as exc:
        services.create_plan(
            as_user(manager_user),
            name="x",
            segment=materialised(store.brand, []),
            store=store,
            starts_on=today + dt.timedelta(days=3),
            due_on=today,
        )
    assert "due_on" in exc.value.fields


def test_cancelling_a_plan_cancels_its_open_tasks_only(
    store, manager_user, django_capture_on_commit_callbacks
):
    guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(3)]
    plan = make_plan(as_user(manager_user), materialised(store.brand, members), store)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    done = Task.objects.filter(plan=plan).first()
    Task.objects.filter(pk=done.pk).update(status=TaskStatus.DONE, done_at=timezone.now())
    assert services.cancel_plan(as_user(manager_user), plan) == 2
    assert plan.status == PlanStatus.CANCELLED
    assert Counter(Task.objects.filter(plan=plan).values_list("status", flat=True)) == {
        TaskStatus.CANCELLED: 2,
        TaskStatus.DONE: 1,
    }


def test_a_plan_is_done_when_its_last_task_is_done(store, manager_user, django_capture_on_commit_callbacks):
    from guides.services.interactions import complete_task

    guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(2)]
    plan = make_plan(as_user(manager_user), materialised(store.brand, members), store)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    first, second = Task.objects.filter(plan=plan).order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        complete_task(first)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        complete_task(second)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DONE


def test_the_chart_covers_the_plans_days_with_done_counts(
    store, manager_user, django_capture_on_commit_callbacks
):
    from guides.selectors.plans import plan_done_per_day

    guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, consent_call=True) for _ in range(3)]
    plan = make_plan(as_user(manager_user), materialised(store.brand, members), store, days=4)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_plan(as_user(manager_user), plan)
    Task.objects.filter(plan=plan).update(status=TaskStatus.DONE, done_at=timezone.now())
    rows = plan_done_per_day(plan)
    assert [r["day"] for r in rows][0] == plan.starts_on.isoformat()
    assert len(rows) == 4 and sum(r["done"] for r in rows) == 3
    assert rows[0]["done"] == 3
