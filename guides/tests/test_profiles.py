"""Guide profiles: made when a guide role is granted (once, however often the event comes),
moved with the role, the guide's own phone (which lets the call bridge ring them), the
managers' team list and edit (their stores only), and the backfill of existing guides."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guides.choices import CallStatus
from guides.models import GuideProfile
from guides.services import calls, profiles
from guides.tests.factories import GuideProfileFactory, guide_in
from guides.tests.helpers_b import principal_of
from members import pii
from members.tests.factories import MemberFactory
from retail import events, services
from retail.choices import AuditAction, Role
from retail.errors import DomainError, InvalidInput, NotFound
from retail.models import AuditEvent, DomainEvent, StaffRole
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_simulator(settings):
    settings.TELEPHONY_SIMULATOR_STEP_SECONDS = 0
    settings.TELEPHONY_SIMULATOR_SCENARIO = ""


def _grant_guide(user, store, capture):
    with capture(execute=True):
        return services.grant_role(user=user, brand=store.brand, role=Role.GUIDE, store=store)


def _guide_without_phone(store, username="new-guide"):
    user = UserFactory(username=username)
    StaffRoleFactory(user=user, brand=store.brand, store=store, role=Role.GUIDE)
    return user


# --- the event and the profile it makes ------------------------------------------------------


def test_granting_a_guide_role_makes_a_profile_with_a_tracking_code(
    store, django_capture_on_commit_callbacks
):
    # given a new user
    user = UserFactory(username="new-guide")
    # when HQ grants them a guide role in the store (the event delivered after commit)
    role = _grant_guide(user, store, django_capture_on_commit_callbacks)
    # then the event carries ids only, and the guide has a profile in that store
    event = DomainEvent.objects.get(name="staff.role_granted")
    assert (event.brand_id, event.store_id) == (store.brand_id, store.pk)
    assert event.payload == {"user": user.pk, "role": Role.GUIDE}
    profile = GuideProfile.objects.get(brand=store.brand, user=user)
    assert profile.store_id == role.store_id
    assert len(profile.tracking_code) == profiles.CODE_LENGTH
    assert set(profile.tracking_code) <= set(profiles.CODE_ALPHABET)
    assert not profile.phone_encrypted and not profile.phone_masked
    assert AuditEvent.objects.filter(
        object_type="guides.guideprofile", object_id=str(profile.pk), action=AuditAction.CREATE
    ).exists()


def test_a_redelivered_grant_changes_nothing(store, django_capture_on_commit_callbacks):
    user = UserFactory(username="new-guide")
    _grant_guide(user, store, django_capture_on_commit_callbacks)
    first = GuideProfile.objects.get(user=user)
    # when the same event is delivered twice more
    message = DomainEvent.objects.get(name="staff.role_granted")
    event = events.Event(
        message.pk, message.name, message.brand_id, message.store_id, message.payload, message.occurred_at
    )
    events.deliver(event)
    events.deliver(event)
    # then there is still the one profile, with its code
    assert list(GuideProfile.objects.filter(user=user).values_list("pk", "tracking_code")) == [
        (first.pk, first.tracking_code)
    ]


def test_other_roles_make_no_profile_and_a_known_role_publishes_nothing(
    store, django_capture_on_commit_callbacks
):
    user = UserFactory(username="manager-b")
    with django_capture_on_commit_callbacks(execute=True):
        services.grant_role(user=user, brand=store.brand, role=Role.STORE_MANAGER, store=store)
        services.grant_role(user=user, brand=store.brand, role=Role.STORE_MANAGER, store=store)
    assert DomainEvent.objects.filter(name="staff.role_granted").count() == 1
    assert not GuideProfile.objects.filter(user=user).exists()


def test_a_code_collision_draws_again(store, monkeypatch):
    GuideProfileFactory(brand=store.brand, store=store, tracking_code="AAAAAAAA")
    codes = iter(["AAAAAAAA", "BBBBBBBB"])
    monkeypatch.setattr(profiles, "new_tracking_code", lambda: next(codes))
    user = _guide_without_phone(store)
    profile = profiles.ensure_profile(brand_id=store.brand_id, user_id=user.pk, store_id=store.pk)
    assert profile.tracking_code == "BBBBBBBB"


def test_moving_a_guides_role_to_another_store_moves_the_profile(store, django_capture_on_commit_callbacks):
    # given a guide of store A with a profile (and a phone)
    guide = guide_in(store, username="mover")
    code = GuideProfile.objects.get(user=guide).tracking_code
    other = StoreFactory(brand=store.brand)
    old_role = StaffRole.objects.get(user=guide)
    # when the role moves: granted in store B, then revoked in store A
    _grant_guide(guide, other, django_capture_on_commit_callbacks)
    assert GuideProfile.objects.get(user=guide).store_id == store.pk  # still a guide of A
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_role(staff_role=old_role)
    # then the profile is in store B, with its code and phone
    profile = GuideProfile.objects.get(user=guide)
    assert profile.store_id == other.pk
    assert profile.tracking_code == code and profile.phone_masked
    revoked = DomainEvent.objects.get(name="staff.role_revoked")
    assert revoked.payload == {"user": guide.pk, "role": Role.GUIDE}


def test_a_grant_after_the_old_role_is_gone_moves_the_profile(store, django_capture_on_commit_callbacks):
    guide = guide_in(store, username="mover")
    StaffRole.objects.filter(user=guide).delete()  # the old role went without an event
    other = StoreFactory(brand=store.brand)
    _grant_guide(guide, other, django_capture_on_commit_callbacks)
    assert GuideProfile.objects.get(user=guide).store_id == other.pk


# --- the guide's own phone -------------------------------------------------------------------


def test_a_guide_who_sets_their_phone_can_call(store, django_capture_on_commit_callbacks):
    # given a guide without a phone: the bridge refuses to call for them
    guide = _guide_without_phone(store)
    member = MemberFactory(
        brand=store.brand, store=store, guide=guide, consent_call=True, phone="13812345678"
    )
    with pytest.raises(DomainError) as refused:
        calls.start_call(principal_of(guide), member=member)
    assert refused.value.code == "no_guide_phone"
    # when the guide sets their phone
    profile = profiles.set_own_phone(principal_of(guide), phone="+86 139 0000 2222")
    # then it is stored encrypted and masked, and the call goes through
    assert profile.phone_masked == "139****2222"
    assert pii.decrypt(profile.phone_encrypted) == "13900002222"
    with django_capture_on_commit_callbacks(execute=True):
        call = calls.start_call(principal_of(guide), member=member)
    call.refresh_from_db()
    assert call.call_status == CallStatus.COMPLETED


def test_the_guide_page_saves_the_phone_and_shows_it_masked(client, store):
    guide = _guide_without_phone(store)
    client.force_login(guide)
    page = client.get(reverse("guides:my_profile"))
    assert page.status_code == 200
    assert b"data-no-phone" in page.content
    response = client.post(reverse("guides:my_profile"), {"phone": "13900002222"}, follow=True)
    assert response.status_code == 200
    assert "139****2222" in response.content.decode()
    assert "13900002222" not in response.content.decode()
    profile = GuideProfile.objects.get(user=guide)
    assert profile.phone_masked == "139****2222"
    audit = AuditEvent.objects.filter(object_type="guides.guideprofile", action=AuditAction.UPDATE).get()
    assert audit.actor_id == guide.pk and audit.after["phone_masked"] == "139****2222"
    assert "13900002222" not in str(audit.after)


def test_a_bad_phone_is_a_400_with_a_field_error_and_changes_nothing(client, store):
    guide = guide_in(store, username="guide-x", phone="13900001111")
    before = GuideProfile.objects.values().get(user=guide)
    client.force_login(guide)
    response = client.post(reverse("guides:my_profile"), {"phone": "12ab"})
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert GuideProfile.objects.values().get(user=guide) == before
    assert not AuditEvent.objects.filter(object_type="guides.guideprofile").exists()
    with pytest.raises(InvalidInput) as refused:
        profiles.set_own_phone(principal_of(guide), phone="phone")
    assert "phone" in refused.value.fields


def test_an_empty_phone_clears_it(store):
    guide = guide_in(store, username="guide-x")
    profile = profiles.set_own_phone(principal_of(guide), phone="")
    assert profile.phone_encrypted == "" and profile.phone_masked == ""


def test_the_workbench_asks_for_a_phone_until_the_guide_adds_one(client, store):
    guide = guide_in(store, username="guide-x", phone="")  # a profile, no phone
    client.force_login(guide)
    assert b"data-wb-no-phone" in client.get(reverse("guides:workbench")).content
    client.post(reverse("guides:my_profile"), {"phone": "13900002222"})
    # the cached workbench shows the change at once
    assert b"data-wb-no-phone" not in client.get(reverse("guides:workbench")).content


def test_the_call_refusal_links_the_guide_to_their_phone_page(client, store):
    guide = _guide_without_phone(store)
    member = MemberFactory(brand=store.brand, store=store, guide=guide, consent_call=True)
    client.force_login(guide)
    response = client.post(reverse("guides:call_start", kwargs={"member_id": member.pk}))
    assert reverse("guides:my_profile") in response.content.decode()


# --- managers and HQ -------------------------------------------------------------------------


def test_a_manager_sees_their_team_and_edits_a_guide_of_their_store(client, store, manager_user):
    guide = guide_in(store, username="guide-x", phone="")
    MemberFactory(brand=store.brand, store=store, guide=guide)
    profile = GuideProfile.objects.get(user=guide)
    client.force_login(manager_user)
    team = client.get(reverse("guides:team"))
    assert team.status_code == 200
    assert [row.pk for row in team.context["page"].items] == [profile.pk]
    assert team.context["page"].items[0].members_count == 1
    assert b"data-no-phone" in team.content
    # when the manager gives the guide a phone and makes them an influencer
    url = reverse("guides:profile_edit", kwargs={"profile_id": profile.pk})
    assert client.get(url).status_code == 200
    response = client.post(url, {"phone": "13900003333", "store": store.pk, "is_influencer": "on"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.phone_masked == "139****3333" and profile.is_influencer
    assert AuditEvent.objects.get(object_type="guides.guideprofile").actor_id == manager_user.pk
    # an empty phone field keeps the number; "remove" clears it
    client.post(url, {"phone": "", "store": store.pk})
    profile.refresh_from_db()
    assert profile.phone_masked == "139****3333" and not profile.is_influencer
    client.post(url, {"phone": "", "clear_phone": "on", "store": store.pk})
    profile.refresh_from_db()
    assert profile.phone_masked == "" and profile.phone_encrypted == ""


def test_a_manager_cannot_see_or_edit_another_stores_guide(client, store, manager_user):
    other_store = StoreFactory(brand=store.brand)
    theirs = GuideProfile.objects.get(user=guide_in(other_store, username="elsewhere"))
    before = GuideProfile.objects.values().get(pk=theirs.pk)
    client.force_login(manager_user)
    url = reverse("guides:profile_edit", kwargs={"profile_id": theirs.pk})
    assert client.get(url).status_code == 404
    assert client.post(url, {"phone": "13900004444", "store": store.pk}).status_code == 404
    assert theirs.pk not in [p.pk for p in client.get(reverse("guides:team")).context["page"].items]
    with pytest.raises(NotFound):
        profiles.update_profile(principal_of(manager_user), theirs, phone="13900004444")
    assert GuideProfile.objects.values().get(pk=theirs.pk) == before


def test_a_manager_cannot_move_a_guide_into_a_store_that_is_not_theirs(client, store, manager_user):
    profile = GuideProfile.objects.get(user=guide_in(store, username="guide-x"))
    other_store = StoreFactory(brand=store.brand)
    with pytest.raises(InvalidInput) as refused:
        profiles.update_profile(principal_of(manager_user), profile, store=other_store)
    assert "store" in refused.value.fields
    client.force_login(manager_user)
    url = reverse("guides:profile_edit", kwargs={"profile_id": profile.pk})
    assert client.post(url, {"store": other_store.pk}).status_code == 400
    profile.refresh_from_db()
    assert profile.store_id == store.pk


def test_a_bad_phone_from_a_manager_changes_nothing(client, store, manager_user):
    profile = GuideProfile.objects.get(user=guide_in(store, username="guide-x"))
    before = GuideProfile.objects.values().get(pk=profile.pk)
    client.force_login(manager_user)
    url = reverse("guides:profile_edit", kwargs={"profile_id": profile.pk})
    response = client.post(url, {"phone": "not a phone", "store": store.pk, "is_influencer": "on"})
    assert response.status_code == 400
    assert response.context["form"].errors["phone"]
    assert GuideProfile.objects.values().get(pk=profile.pk) == before


def test_hq_moves_a_guide_to_another_store_of_the_brand(client, store, hq_user):
    profile = GuideProfile.objects.get(user=guide_in(store, username="guide-x"))
    other_store = StoreFactory(brand=store.brand)
    client.force_login(hq_user)
    url = reverse("guides:profile_edit", kwargs={"profile_id": profile.pk})
    assert client.post(url, {"store": other_store.pk}).status_code == 302
    profile.refresh_from_db()
    assert profile.store_id == other_store.pk


def test_a_guide_cannot_open_the_team_pages(client, store):
    guide = guide_in(store, username="guide-x")
    own = GuideProfile.objects.get(user=guide)
    client.force_login(guide)
    assert client.get(reverse("guides:team")).status_code == 404
    url = reverse("guides:profile_edit", kwargs={"profile_id": own.pk})
    assert client.get(url).status_code == 404
    assert client.post(url, {"phone": "13900005555", "store": store.pk}).status_code == 404
    with pytest.raises(DomainError) as refused:
        profiles.update_profile(principal_of(guide), own, phone="13900005555")
    assert refused.value.status == 403


def test_the_team_page_runs_a_fixed_number_of_queries(client, store, manager_user, django_assert_num_queries):
    guide_in(store, username="guide-1")
    client.force_login(manager_user)
    client.get(reverse("guides:team"))  # warm the session and the principal's caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("guides:team"))
    for n in range(2, 8):
        guide = guide_in(store, username=f"guide-{n}")
        MemberFactory(brand=store.brand, store=store, guide=guide)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(reverse("guides:team")).status_code == 200


# --- the backfill ----------------------------------------------------------------------------


def test_the_backfill_makes_profiles_for_guides_without_one(store):
    backfill = importlib.import_module("guides.migrations.0002_backfill_guide_profiles").backfill_profiles
    # given a guide with a profile, one without (two roles: the newest store wins), a manager
    with_profile = guide_in(store, username="has-one")
    kept = GuideProfile.objects.get(user=with_profile)
    other_store = StoreFactory(brand=store.brand)
    without = _guide_without_phone(store, username="has-none")
    StaffRoleFactory(user=without, brand=store.brand, store=other_store, role=Role.GUIDE)
    StaffRoleFactory(user=UserFactory(), brand=store.brand, store=store, role=Role.STORE_MANAGER)
    # when the migration's function runs (twice: a second run finds nothing to do)
    assert backfill(django_apps, None) == 1
    assert backfill(django_apps, None) == 0
    # then the guide without a profile has one in their newest store, with a fresh code
    made = GuideProfile.objects.get(user=without)
    assert made.store_id == other_store.pk and made.brand_id == store.brand_id
    assert len(made.tracking_code) == 8 and made.tracking_code != kept.tracking_code
    assert not made.phone_encrypted
    assert GuideProfile.objects.get(user=with_profile) == kept
    assert GuideProfile.objects.count() == 2
