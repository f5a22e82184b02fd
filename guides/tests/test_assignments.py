"""Member assignment: recruitment history and the managers' bulk reassignment."""

import pytest

from guides.choices import AssignmentReason, TaskStatus
from guides.models import AssignmentChange, ReassignmentBatch
from guides.selectors.assignments import assignment_history, batches
from guides.services import assignments as services
from guides.services.common import NotAllowed
from guides.tests.factories import TaskFactory, guide_in
from members.models import Member
from members.services import join_member
from members.tests.factories import MemberFactory
from retail.choices import Role
from retail.errors import InvalidInput, NotFound
from retail.models import AuditEvent, DomainEvent, StaffRole
from retail.tenancy import principal_for_role
from retail.tests.factories import StoreFactory


def as_user(user, store=None):
    role = StaffRole.objects.filter(user=user).first()
    return principal_for_role(role)


def test_a_member_who_joins_with_a_guide_is_assigned_to_them(store, django_capture_on_commit_callbacks):
    guide = guide_in(store)
    with django_capture_on_commit_callbacks(execute=True):
        member = join_member(brand_id=store.brand_id, phone="13812345678", store=store, guide=guide)
    changes = list(AssignmentChange.objects.filter(member=member))
    assert len(changes) == 1
    assert changes[0].reason == AssignmentReason.RECRUITED
    assert changes[0].to_guide_id == guide.pk and changes[0].from_guide_id is None
    assert changes[0].store_id == store.pk


def test_a_guide_changed_by_a_member_edit_goes_into_the_history_once(
    store, django_capture_on_commit_callbacks
):
    from members.services import update_member

    first, second = guide_in(store), guide_in(store, username="edit-second")
    with django_capture_on_commit_callbacks(execute=True):
        member = join_member(brand_id=store.brand_id, phone="13812345679", store=store, guide=first)
    with django_capture_on_commit_callbacks(execute=True):
        update_member(member=member, guide=second)
    changes = list(AssignmentChange.objects.filter(member=member).order_by("id"))
    assert [(c.reason, c.from_guide_id, c.to_guide_id) for c in changes] == [
        (AssignmentReason.RECRUITED, None, first.pk),
        (AssignmentReason.OTHER, first.pk, second.pk),
    ]
    # an edit that leaves the guide alone (consent), or the event delivered again: nothing new
    with django_capture_on_commit_callbacks(execute=True):
        update_member(member=member, consent_sms=not member.consent_sms)
    assert services.record_edited_guide(member_id=member.pk) is None
    assert AssignmentChange.objects.filter(member=member).count() == 2
    # the guide taken away by an edit is a change too
    with django_capture_on_commit_callbacks(execute=True):
        update_member(member=member, guide=None)
    last = AssignmentChange.objects.filter(member=member).order_by("-id").first()
    assert (last.from_guide_id, last.to_guide_id) == (second.pk, None)


def test_recruitment_is_recorded_once_when_the_event_is_redelivered(store):
    guide = guide_in(store)
    member = MemberFactory(brand=store.brand, store=store, guide=guide)
    first = services.record_recruitment(
        member_id=member.pk, guide_id=guide.pk, store_id=store.pk, brand_id=store.brand_id
    )
    again = services.record_recruitment(
        member_id=member.pk, guide_id=guide.pk, store_id=store.pk, brand_id=store.brand_id
    )
    assert first.pk == again.pk
    assert AssignmentChange.objects.filter(member=member).count() == 1


def test_a_member_who_joins_without_a_guide_has_no_history(store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        member = join_member(brand_id=store.brand_id, phone="13812345679", store=store)
    assert not AssignmentChange.objects.filter(member=member).exists()


@pytest.fixture
def leaving(store):
    """A guide who leaves with 10 members (3 of them with open tasks, 1 with a done task)."""
    guide = guide_in(store)
    members = [MemberFactory(brand=store.brand, store=store, guide=guide) for _ in range(10)]
    open_tasks = [TaskFactory(brand=store.brand, store=store, guide=guide, member=m) for m in members[:3]]
    done = TaskFactory(brand=store.brand, store=store, guide=guide, member=members[3], status=TaskStatus.DONE)
    return guide, members, open_tasks, done


def test_manager_moves_a_leaving_guides_members_evenly_with_history(store, manager_user, leaving):
    # given a guide leaving with 10 members and two colleagues
    guide, members, open_tasks, done = leaving
    a, b = guide_in(store), guide_in(store)
    # when the manager moves all of the guide's members to the two colleagues
    batch = services.reassign_members(
        as_user(manager_user),
        store=store,
        from_guide=guide,
        to_guides=[a, b],
        reason=AssignmentReason.GUIDE_LEFT,
        note="left in November",
    )
    # then every member moved, five each, with one history row each in the batch
    assert batch.members_moved == 10
    assert Member.objects.filter(guide=guide).count() == 0
    assert Member.objects.filter(guide=a).count() == 5
    assert Member.objects.filter(guide=b).count() == 5
    changes = AssignmentChange.objects.filter(batch=batch)
    assert changes.count() == 10
    assert set(changes.values_list("from_guide_id", flat=True)) == {guide.pk}
    assert batch.from_guide_id == guide.pk and batch.created_by_id == manager_user.pk
    # the open tasks follow their members; the done task stays with who did it
    for task in open_tasks:
        task.refresh_from_db()
        member = Member.objects.get(pk=task.member_id)
        assert task.guide_id == member.guide_id != guide.pk
    done.refresh_from_db()
    assert done.guide_id == guide.pk
    # and it is an event and an audit entry
    event = DomainEvent.objects.get(name="guide.members_reassigned")
    assert event.payload["members_moved"] == 10 and event.payload["batch"] == batch.pk
    assert AuditEvent.objects.filter(object_type="guides.reassignmentbatch", object_id=str(batch.pk)).exists()
    history = assignment_history(members[0])
    assert history[0].batch_id == batch.pk


def test_selected_members_move_to_one_guide(store, manager_user, leaving):
    guide, members, _open, _done = leaving
    target = guide_in(store)
    batch = services.reassign_members(
        as_user(manager_user),
        store=store,
        member_ids=[members[0].pk, members[1].pk],
        to_guides=[target],
        reason=AssignmentReason.REBALANCE,
    )
    assert batch.members_moved == 2
    assert set(Member.objects.filter(guide=target).values_list("pk", flat=True)) == {
        members[0].pk,
        members[1].pk,
    }
    assert Member.objects.filter(guide=guide).count() == 8


def test_a_guide_cannot_reassign(store, leaving):
    guide, _members, _open, _done = leaving
    other = guide_in(store)
    with pytest.raises(NotAllowed):
        services.reassign_members(
            as_user(guide), store=store, from_guide=guide, to_guides=[other], reason=AssignmentReason.OTHER
        )
    assert Member.objects.filter(guide=guide).count() == 10
    assert not ReassignmentBatch.objects.exists()


def test_a_guide_of_another_store_is_refused_as_target(store, manager_user, leaving):
    guide, _members, _open, _done = leaving
    elsewhere = guide_in(StoreFactory(brand=store.brand))
    with pytest.raises(InvalidInput) as exc:
        services.reassign_members(
            as_user(manager_user),
            store=store,
            from_guide=guide,
            to_guides=[elsewhere],
            reason=AssignmentReason.GUIDE_LEFT,
        )
    assert exc.value.code == "not_a_guide_of_store"
    assert Member.objects.filter(guide=guide).count() == 10


def test_another_stores_members_cannot_be_selected(store, manager_user):
    target = guide_in(store)
    other_store = StoreFactory(brand=store.brand)
    theirs = MemberFactory(brand=store.brand, store=other_store, guide=guide_in(other_store))
    with pytest.raises(NotFound):
        services.reassign_members(
            as_user(manager_user),
            store=store,
            member_ids=[theirs.pk],
            to_guides=[target],
            reason=AssignmentReason.REBALANCE,
        )
    theirs.refresh_from_db()
    assert theirs.guide_id != target.pk


def test_a_manager_cannot_reassign_in_another_brands_store(store, manager_user, other_brand):
    theirs = StoreFactory(brand=other_brand)
    guide = guide_in(theirs)
    member = MemberFactory(brand=other_brand, store=theirs, guide=guide)
    with pytest.raises(NotFound):
        services.reassign_members(
            as_user(manager_user),
            store=theirs,
            from_guide=guide,
            to_guides=[guide_in(theirs)],
            reason=AssignmentReason.GUIDE_LEFT,
        )
    member.refresh_from_db()
    assert member.guide_id == guide.pk


def test_a_manager_sees_only_their_stores_batches(store, manager_user, hq_user, leaving):
    guide, *_ = leaving
    services.reassign_members(
        as_user(manager_user), store=store, from_guide=guide, to_guides=[guide_in(store)], reason="guide_left"
    )
    other = StoreFactory(brand=store.brand)
    og = guide_in(other)
    MemberFactory(brand=store.brand, store=other, guide=og)
    services.reassign_members(
        as_user(hq_user), store=other, from_guide=og, to_guides=[guide_in(other)], reason="other"
    )
    assert batches(as_user(manager_user)).count() == 1
    assert batches(as_user(hq_user)).count() == 2
    assert batches(as_user(guide)).count() == 0


def test_moving_many_members_takes_a_constant_number_of_queries(
    store, manager_user, django_assert_max_num_queries
):
    guide = guide_in(store)
    targets = [guide_in(store), guide_in(store)]
    Member.objects.bulk_create(
        [
            Member(
                brand=store.brand,
                store=store,
                guide=guide,
                member_no=f"B{i:07d}",
                phone_hash=f"h{i}",
                phone_masked="139****0000",
                joined_at=store.created_at,
            )
            for i in range(600)
        ]
    )
    with django_assert_max_num_queries(30):
        batch = services.reassign_members(
            as_user(manager_user), store=store, from_guide=guide, to_guides=targets, reason="store_closed"
        )
    assert batch.members_moved == 600
    assert AssignmentChange.objects.filter(batch=batch).count() == 600
    assert StaffRole.objects.filter(role=Role.GUIDE, store=store).count() == 3


def test_an_empty_selection_or_moving_to_the_same_guide_is_refused(store, manager_user, leaving):
    guide, *_ = leaving
    with pytest.raises(InvalidInput):
        services.reassign_members(
            as_user(manager_user), store=store, member_ids=[], to_guides=[guide_in(store)], reason="rebalance"
        )
    with pytest.raises(InvalidInput):
        services.reassign_members(
            as_user(manager_user), store=store, from_guide=guide, to_guides=[guide], reason="rebalance"
        )
    assert not ReassignmentBatch.objects.exists()


def test_when_a_store_closes_its_members_go_to_a_guide_of_another_store_with_their_tasks(
    store, hq_user, leaving
):
    # given a store that closes, with a guide's 10 members (3 with open tasks)
    guide, members, open_tasks, done = leaving
    other_store = StoreFactory(brand=store.brand)
    there = guide_in(other_store)
    # when HQ moves them to a guide of another store
    batch = services.reassign_members(
        as_user(hq_user),
        store=store,
        from_guide=guide,
        to_guides=[there],
        reason=AssignmentReason.STORE_CLOSED,
    )
    # then they (and their open tasks) belong to that guide and that store; history kept
    assert batch.members_moved == 10
    assert set(Member.objects.filter(pk__in=[m.pk for m in members]).values_list("guide_id", "store_id")) == {
        (there.pk, other_store.pk)
    }
    for task in open_tasks:
        task.refresh_from_db()
        assert (task.guide_id, task.store_id) == (there.pk, other_store.pk)
    done.refresh_from_db()
    assert (done.guide_id, done.store_id) == (guide.pk, store.pk)
    assert AssignmentChange.objects.filter(batch=batch, from_guide=guide, to_guide=there).count() == 10
