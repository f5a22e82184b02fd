"""Bulk reassignment on PostgreSQL: a 50,000-member store moves in seconds, and two managers
moving the same guide's members at once move each member exactly once."""

import time

from django.utils import timezone

from guides.models import AssignmentChange, ReassignmentBatch, Task
from guides.services import assignments as services
from guides.tests.factories import guide_in
from members.models import Member
from retail.models import StaffRole
from retail.tenancy import principal_for_role
from retail.tests.concurrency import POSTGRES_ONLY, run_together

pytestmark = POSTGRES_ONLY


def as_user(user):
    return principal_for_role(StaffRole.objects.filter(user=user).select_related("user").first())


def bulk_members(store, guide, count):
    now = timezone.now()
    Member.objects.bulk_create(
        [
            Member(
                brand=store.brand,
                store=store,
                guide=guide,
                member_no=f"S{i:08d}",
                phone_hash=f"hash-{store.pk}-{i}",
                phone_masked="139****0000",
                joined_at=now,
            )
            for i in range(count)
        ],
        batch_size=5000,
    )


def test_a_50000_member_store_is_reassigned_in_seconds(store, manager_user):
    # given a guide with 50,000 members, 2,000 of them with an open task
    leaving = guide_in(store)
    targets = [guide_in(store) for _ in range(3)]
    bulk_members(store, leaving, 50_000)
    ids = list(Member.objects.filter(guide=leaving).order_by("pk").values_list("pk", flat=True)[:2000])
    Task.objects.bulk_create(
        [Task(brand=store.brand, store=store, guide=leaving, member_id=m, due_at=timezone.now()) for m in ids]
    )
    # when the manager moves them all to three colleagues
    started = time.monotonic()
    batch = services.reassign_members(
        as_user(manager_user), store=store, from_guide=leaving, to_guides=targets, reason="store_closed"
    )
    elapsed = time.monotonic() - started
    # then it took seconds, not minutes, and everything moved evenly with history
    assert elapsed < 60, elapsed
    assert batch.members_moved == 50_000
    for target in targets:
        assert 16_666 <= Member.objects.filter(guide=target).count() <= 16_667
    assert AssignmentChange.objects.filter(batch=batch).count() == 50_000
    assert not Task.objects.filter(guide=leaving).exists()
    print(f"reassigned 50,000 members in {elapsed:.1f}s")


def test_two_managers_moving_the_same_members_move_each_once(store, manager_user, hq_user):
    leaving = guide_in(store)
    a, b = guide_in(store), guide_in(store)
    bulk_members(store, leaving, 3000)
    manager, hq = as_user(manager_user), as_user(hq_user)
    results = run_together(
        [
            lambda: services.reassign_members(
                manager, store=store, from_guide=leaving, to_guides=[a], reason="guide_left"
            ),
            lambda: services.reassign_members(
                hq, store=store, from_guide=leaving, to_guides=[b], reason="guide_left"
            ),
        ]
    )
    assert all(isinstance(r, ReassignmentBatch) for r in results), results
    assert sorted(r.members_moved for r in results) == [0, 3000]
    assert AssignmentChange.objects.filter(batch__isnull=False).count() == 3000
    assert Member.objects.filter(guide=leaving).count() == 0
