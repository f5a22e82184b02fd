"""Partner API of the workbench: interactions and tasks."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from conftest import make_partner
from guides.choices import InteractionKind, InteractionSource, TaskStatus
from guides.models import Interaction, Task
from guides.tests.factories import InteractionFactory, TaskFactory, guide_in
from members.tests.factories import MemberFactory
from retail.models import DomainEvent
from retail.tests.factories import StoreFactory

URL = "/api/v1/guide-interactions/"
TASKS = "/api/v1/guide-tasks/"


@pytest.fixture
def guide(store):
    return guide_in(store)


@pytest.fixture
def member(store, guide):
    return MemberFactory(brand=store.brand, store=store, guide=guide)


def body(member, guide, **extra):
    return {"member": member.pk, "guide": guide.pk, "kind": "call", "outcome": "interested", **extra}


def test_recording_an_interaction_as_the_guide_of_the_members_store(partner, member, guide, store):
    client_id = str(uuid.uuid4())
    response = partner.post(URL, body(member, guide, client_id=client_id, note="asked for the catalogue"))
    assert response.status_code == 201, response.json()
    data = response.json()
    row = Interaction.objects.get(pk=data["id"])
    assert row.source == InteractionSource.API and row.guide_id == guide.pk and row.store_id == store.pk
    assert data["outcome"] == "interested" and data["note"] == "asked for the catalogue"
    assert "phone" not in str(data)
    assert DomainEvent.objects.filter(name="guide.interaction_recorded", payload__interaction=row.pk).exists()


def test_a_repeated_client_id_answers_200_with_the_same_row(partner, member, guide):
    client_id = str(uuid.uuid4())
    first = partner.post(URL, body(member, guide, client_id=client_id))
    again = partner.post(URL, body(member, guide, client_id=client_id, note="different"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Interaction.objects.count() == 1


def test_an_idempotency_key_replays_the_first_answer(partner, member, guide):
    payload = body(member, guide)
    first = partner.post(URL, payload, HTTP_IDEMPOTENCY_KEY="k-1")
    again = partner.post(URL, payload, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Interaction.objects.count() == 1


def test_another_brands_member_is_a_404(partner, guide, other_brand):
    theirs_store = StoreFactory(brand=other_brand)
    theirs = MemberFactory(brand=other_brand, store=theirs_store, guide=guide_in(theirs_store))
    response = partner.post(URL, body(theirs, guide))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert not Interaction.objects.exists()


def test_the_guide_must_work_in_the_members_store(partner, member, store):
    elsewhere = guide_in(StoreFactory(brand=store.brand))
    response = partner.post(URL, body(member, elsewhere))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_a_guide_of_store"
    assert "guide" in response.json()["error"]["fields"]
    assert not Interaction.objects.exists()


def test_unknown_fields_and_bad_choices_are_400(partner, member, guide):
    assert partner.post(URL, body(member, guide, phone="13800000000")).status_code == 400
    assert partner.post(URL, body(member, guide, kind="fax")).status_code == 400
    assert not Interaction.objects.exists()


def test_recording_with_a_task_finishes_it(partner, member, guide, store):
    task = TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    response = partner.post(URL, body(member, guide, task=task.pk))
    assert response.status_code == 201
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.interaction_id == response.json()["id"]


def test_scopes_are_enforced(brand, member, guide):
    reader = make_partner(brand, scopes=["guides:read"])
    assert reader.get(URL).status_code == 200
    assert reader.post(URL, body(member, guide)).status_code == 403
    nobody = make_partner(brand, scopes=["orders:read"])
    assert nobody.get(URL).status_code == 403
    assert nobody.get(TASKS).status_code == 403
    assert not Interaction.objects.exists()


def test_listing_filters_and_hides_other_brands(partner, store, guide, member, other_brand):
    mine = InteractionFactory(
        brand=store.brand, store=store, guide=guide, member=member, kind=InteractionKind.CALL
    )
    InteractionFactory(brand=store.brand, store=store, guide=guide, member=member, kind=InteractionKind.NOTE)
    InteractionFactory(brand=other_brand, kind=InteractionKind.CALL)
    response = partner.get(URL, {"kind": "call", "guide": guide.pk})
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert partner.get(URL).json()["results"].__len__() == 2
    old = (timezone.now() - dt.timedelta(days=2)).isoformat()
    assert len(partner.get(URL, {"occurred_before": old}).json()["results"]) == 0
    assert partner.get(URL, {"colour": "red"}).status_code == 400


def test_tasks_list_filter_and_retrieve(partner, store, guide, member, other_brand):
    now = timezone.now()
    soon = TaskFactory(
        brand=store.brand, store=store, guide=guide, member=member, due_at=now + dt.timedelta(hours=1)
    )
    TaskFactory(brand=store.brand, store=store, guide=guide, member=member, due_at=now + dt.timedelta(days=9))
    theirs = TaskFactory(brand=other_brand)
    due = (now + dt.timedelta(days=1)).isoformat()
    response = partner.get(TASKS, {"due_before": due, "status": "open", "store": store.pk})
    assert [row["id"] for row in response.json()["results"]] == [soon.pk]
    assert partner.get(f"{TASKS}{soon.pk}/").json()["member"] == member.pk
    assert partner.get(f"{TASKS}{theirs.pk}/").status_code == 404


def test_patching_a_task_done_and_snoozed(partner, store, guide, member, django_capture_on_commit_callbacks):
    task = TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    until = timezone.now() + dt.timedelta(days=2)
    snoozed = partner.patch(f"{TASKS}{task.pk}/", {"status": "snoozed", "snoozed_until": until.isoformat()})
    assert snoozed.status_code == 200 and snoozed.json()["status"] == "snoozed"
    too_far = partner.patch(
        f"{TASKS}{task.pk}/",
        {"status": "snoozed", "snoozed_until": (timezone.now() + dt.timedelta(days=20)).isoformat()},
    )
    assert too_far.status_code == 400 and too_far.json()["error"]["code"] == "until_too_far"
    done = partner.patch(f"{TASKS}{task.pk}/", {"status": "done"})
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["done_at"]
    again = partner.patch(f"{TASKS}{task.pk}/", {"status": "done"})
    assert again.status_code == 200
    assert DomainEvent.objects.filter(name="guide.task_done", payload__task=task.pk).count() == 1
    late = partner.patch(f"{TASKS}{task.pk}/", {"status": "snoozed", "snoozed_until": until.isoformat()})
    assert late.status_code == 409
    assert partner.patch(f"{TASKS}{task.pk}/", {"status": "cancelled"}).status_code == 400
    assert partner.patch(f"{TASKS}{task.pk}/", {"status": "snoozed"}).status_code == 400


def test_a_read_only_token_cannot_patch(brand, store, guide, member):
    task = TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    reader = make_partner(brand, scopes=["guides:read"])
    assert reader.patch(f"{TASKS}{task.pk}/", {"status": "done"}).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_the_list_takes_a_constant_number_of_queries(
    partner, store, guide, member, django_assert_max_num_queries
):
    for _ in range(30):
        TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    with django_assert_max_num_queries(12):
        response = partner.get(TASKS, {"page_size": 100})
    assert len(response.json()["results"]) == 30
    assert Task.objects.count() == 30
