"""The offline queue's sync: created / duplicate / rejected per item, the tablet's time
clamped, another guide's member rejected; and the snapshot the tablet caches."""

import datetime as dt
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from guides.choices import InteractionSource, TaskStatus
from guides.models import Interaction
from guides.services import offline
from guides.tests.factories import TaskFactory, guide_in
from members.tests.factories import MemberFactory
from retail.models import DomainEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide(store):
    return guide_in(store, username="off-guide")


@pytest.fixture
def member(store, guide):
    return MemberFactory(brand=store.brand, store=store, guide=guide, phone="13812345678")


def _sync(client, items):
    return client.post(reverse("guides:offline_sync"), json.dumps(items), content_type="application/json")


def _item(member, **extra):
    return {
        "client_id": str(uuid.uuid4()),
        "member_id": member.pk,
        "kind": "note",
        "note": "offline note",
        **extra,
    }


def test_a_queued_note_is_created_once_however_often_it_is_synced(client, guide, member):
    client.force_login(guide)
    item = _item(member, occurred_at=(timezone.now() - dt.timedelta(hours=2)).isoformat())
    first = _sync(client, [item]).json()["results"]
    again = _sync(client, [item, item]).json()["results"]
    assert [r["status"] for r in first] == ["created"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    row = Interaction.objects.get(member=member)
    assert row.source == InteractionSource.OFFLINE and row.note == "offline note"
    assert str(row.client_id) == item["client_id"]
    assert timezone.now() - row.occurred_at > dt.timedelta(hours=1)  # the tablet's time kept
    assert DomainEvent.objects.filter(name="guide.interaction_recorded").count() == 1


def test_a_future_time_is_clamped_to_now_and_an_old_one_to_seven_days(client, guide, member):
    client.force_login(guide)
    future = _item(member, occurred_at=(timezone.now() + dt.timedelta(days=2)).isoformat())
    ancient = _item(member, occurred_at="2020-01-01T08:00:00+08:00")
    results = _sync(client, [future, ancient]).json()["results"]
    assert [r["status"] for r in results] == ["created", "created"]
    now = timezone.now()
    by_id = {str(r.client_id): r for r in Interaction.objects.filter(member=member)}
    assert by_id[future["client_id"]].occurred_at <= now
    assert now - by_id[future["client_id"]].occurred_at < dt.timedelta(minutes=1)
    age = now - by_id[ancient["client_id"]].occurred_at
    assert dt.timedelta(days=6, hours=23) < age <= dt.timedelta(days=7, minutes=1)


def test_another_guides_member_is_rejected_per_item_and_the_rest_syncs(client, store, guide, member):
    theirs = MemberFactory(brand=store.brand, store=store, guide=guide_in(store, phone="13900002222"))
    elsewhere = MemberFactory(brand=store.brand, store=StoreFactory(brand=store.brand))
    client.force_login(guide)
    items = [_item(theirs), _item(member), _item(elsewhere), {"client_id": "nope", "member_id": member.pk}]
    response = _sync(client, items)
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["rejected", "created", "rejected", "rejected"]
    assert all(r["error"] for r in response.json()["results"] if r["status"] == "rejected")
    assert not Interaction.objects.filter(member__in=[theirs, elsewhere]).exists()
    assert Interaction.objects.filter(member=member).count() == 1


def test_a_bad_outcome_is_rejected_with_its_reason(client, guide, member):
    client.force_login(guide)
    result = _sync(client, [_item(member, outcome="teleported")]).json()["results"][0]
    assert result["status"] == "rejected" and result["error"]
    assert not Interaction.objects.exists()


def test_an_offline_outcome_on_a_task_finishes_the_task(client, store, guide, member):
    task = TaskFactory(brand=store.brand, store=store, guide=guide, member=member)
    client.force_login(guide)
    item = _item(member, kind="visit", task_id=task.pk, outcome="will_visit", next_step="none")
    assert _sync(client, [item]).json()["results"][0]["status"] == "created"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_sync_refuses_what_is_not_a_list_and_non_guides(client, guide, manager_user):
    client.force_login(guide)
    assert (
        client.post(reverse("guides:offline_sync"), "{", content_type="application/json").status_code == 400
    )
    assert _sync(client, {"items": "x"}).status_code == 400
    client.force_login(manager_user)
    assert _sync(client, []).status_code == 403


def test_the_service_answers_per_item_with_the_sync_contract(store, guide, member):
    from retail.tenancy import principal_for_role

    principal = principal_for_role(guide.staff_roles.get())
    results = offline.sync(principal, [_item(member)])
    assert set(results[0]) == {"client_id", "status", "error", "interaction"}


def test_the_snapshot_has_todays_tasks_and_recent_members_without_a_full_phone(client, store, guide, member):
    TaskFactory(brand=store.brand, store=store, guide=guide, member=member, title="care call")
    theirs = MemberFactory(brand=store.brand, store=store, guide=guide_in(store, phone="13900004444"))
    client.force_login(guide)
    response = client.get(reverse("guides:offline_snapshot"))
    body = response.content.decode()
    data = response.json()
    assert "13812345678" not in body
    assert member.phone_masked in body
    assert [t["title"] for t in data["tasks"]] == ["care call"]
    assert [m["id"] for m in data["members"]] == [member.pk]
    assert theirs.pk not in [m["id"] for m in data["members"]]
    assert data["generated_at"]


def test_the_service_worker_is_served_under_the_workbench(client, guide):
    client.force_login(guide)
    response = client.get(reverse("guides:workbench_sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "WORKBENCH_SHELL" in response.content.decode()


def test_an_opted_out_outcome_withdraws_every_consent_and_hides_the_call_button(client, guide, member):
    member.consent_call = member.consent_sms = member.consent_chat = True
    member.save()
    client.force_login(guide)
    item = _item(member, kind="visit", outcome="opted_out", next_step="none")
    assert _sync(client, [item]).json()["results"][0]["status"] == "created"
    member.refresh_from_db()
    assert (member.consent_call, member.consent_sms, member.consent_chat) == (False, False, False)
    html = client.get(reverse("guides:member_card", kwargs={"member_id": member.pk})).content.decode()
    assert "data-wb-call" not in html and "data-wb-no-call" in html


def test_an_item_sent_while_online_is_a_workbench_interaction(client, guide, member):
    client.force_login(guide)
    online = _item(member, offline=False)
    waited = _item(member, offline=True)
    _sync(client, [online, waited])
    sources = {str(r.client_id): r.source for r in Interaction.objects.filter(member=member)}
    assert sources == {
        online["client_id"]: InteractionSource.WORKBENCH,
        waited["client_id"]: InteractionSource.OFFLINE,
    }
