"""The onboarding wizard: steps checked on real data, go-live refused while a required step
is open, time per step, HQ's list, permissions, the public join page and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import make_partner
from devices.choices import DeviceKind
from devices.services import registry as device_services
from devices.tests.factories import DeviceTypeFactory
from members.models import Member
from promotions.choices import RehearsalStatus
from promotions.models import RehearsalRun
from promotions.tests.factories import PublishedCampaignFactory, RehearsalFactory
from retail.choices import Role, StoreStatus
from retail.errors import Conflict
from retail.models import AuditEvent, DomainEvent, OnboardingStep, Store, StoreOnboarding
from retail.onboarding import services, steps
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory
from shelves.tests.factories import ScreenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_store(brand):
    return StoreFactory(
        brand=brand, code="NEW1", name="New store", city="Hangzhou", address="", status=StoreStatus.ONBOARDING
    )


@pytest.fixture
def new_manager(new_store):
    return StaffRoleFactory(
        user=UserFactory(username="new-manager"),
        brand=new_store.brand,
        store=new_store,
        role=Role.STORE_MANAGER,
    ).user


def _device(store, serial="DEV-1"):
    device_type = DeviceTypeFactory(brand=store.brand, kind=DeviceKind.INTERACTIVE_SCREEN)
    device, _raw = device_services.register_device(store=store, device_type=device_type, serial=serial)
    return device


def _complete_everything_but_go_live(store, manager):
    """Real data for every step: address, staff, a screen with a catalog, a device that
    sent its heartbeat, the QR code confirmed."""
    from retail import services as retail_services

    retail_services.update_store(store=store, address="1 West Lake Road")
    services.invite_staff(store=store, role=Role.GUIDE, username="new-guide")
    ScreenFactory(brand=store.brand, store=store)
    device = _device(store)
    device_services.record_heartbeat(device=device)
    services.confirm_step(store=store, key="recruitment_qr", user=manager)
    return device


# --- the registry ---------------------------------------------------------------------------


def test_apps_above_the_core_register_their_steps_in_order():
    keys = [s.key for s in steps.all_steps()]
    assert keys == ["basics", "staff", "catalog_screens", "devices", "recruitment_qr", "rehearsal", "go_live"]


# --- go live ------------------------------------------------------------------------------


def test_a_store_cannot_go_live_while_a_required_step_is_incomplete(new_store, new_manager):
    # given a new store with a manager only (no address, no guide, no screen, no device)
    # when the manager asks to go live
    with pytest.raises(Conflict) as refused:
        services.go_live(store=new_store, user=new_manager)
    # then the message lists the open steps and nothing changed
    message = refused.value.message
    for title in (
        "Basic data",
        "Staff",
        "Catalog and shelf screens",
        "Devices connected",
        "Member-recruitment QR code",
    ):
        assert title in message
    assert "Rehearsal passed" not in message  # no published campaign: not required
    assert refused.value.fields["steps"][0] == "Basic data"
    new_store.refresh_from_db()
    assert new_store.status == StoreStatus.ONBOARDING
    assert StoreOnboarding.objects.get(store=new_store).live_at is None


def test_the_store_goes_live_once_every_required_step_is_done(new_store, new_manager):
    _complete_everything_but_go_live(new_store, new_manager)
    onboarding = services.go_live(store=new_store, user=new_manager)
    new_store.refresh_from_db()
    assert new_store.status == StoreStatus.LIVE
    assert onboarding.live_at is not None and onboarding.current_step == ""
    go_live = OnboardingStep.objects.get(store=new_store, key="go_live")
    assert go_live.completed_by == new_manager
    assert (
        AuditEvent.objects.filter(object_type="retail.storeonboarding", message="store went live").count()
        == 1
    )
    # a repeat is harmless
    assert services.go_live(store=new_store, user=new_manager).live_at == onboarding.live_at
    assert (
        AuditEvent.objects.filter(object_type="retail.storeonboarding", message="store went live").count()
        == 1
    )
    assert DomainEvent.objects.filter(name="store.went_live", store_id=new_store.pk).count() == 1


# --- devices: connected only after a heartbeat -------------------------------------------


def test_a_device_counts_as_connected_only_after_its_first_heartbeat(new_store):
    from devices.selectors.onboarding import devices_step

    # no device at all: not done
    assert not devices_step(new_store).done
    # registered, silent: not connected
    device = _device(new_store)
    state = devices_step(new_store)
    assert not state.done
    assert state.data["connected"] == 0 and state.data["total"] == 1
    assert "Waiting for its first heartbeat" in state.missing[0]
    # the first heartbeat: connected
    device_services.record_heartbeat(device=device)
    state = devices_step(new_store)
    assert state.done and state.data["connected"] == 1
    # a second device, silent: the step is open again
    _device(new_store, serial="DEV-2")
    assert not devices_step(new_store).done


def test_an_offline_device_is_not_connected(new_store):
    from devices.selectors.onboarding import devices_step

    device = _device(new_store)
    device_services.record_heartbeat(device=device, now=timezone.now() - timedelta(hours=1))
    device_services.mark_offline_devices()
    assert not devices_step(new_store).done


# --- time per step --------------------------------------------------------------------------


def test_the_time_spent_on_each_step_is_recorded(new_store, new_manager, monkeypatch):
    start = timezone.now()
    clock = {"now": start}
    monkeypatch.setattr(services.timezone, "now", lambda: clock["now"])
    # the wizard is opened: basics is the current step
    views = services.refresh(store=new_store, user=new_manager)
    assert [v.key for v in views if v.current] == ["basics"]
    # 20 minutes later the address is filled in
    from retail import services as retail_services

    clock["now"] = start + timedelta(minutes=20)
    retail_services.update_store(store=new_store, address="1 West Lake Road")
    new_store.refresh_from_db()
    views = services.refresh(store=new_store, user=new_manager)
    by_key = {v.key: v for v in views}
    assert by_key["basics"].seconds == 20 * 60
    assert by_key["basics"].row.completed_by == new_manager
    assert by_key["staff"].current
    # the staff step started when it became current; 5 minutes later a guide is invited
    clock["now"] = start + timedelta(minutes=25)
    services.invite_staff(store=new_store, role=Role.GUIDE, username="g-1")
    views = services.refresh(store=new_store, user=new_manager)
    assert {v.key: v for v in views}["staff"].seconds == 5 * 60
    assert StoreOnboarding.objects.get(store=new_store).current_step == "catalog_screens"


def test_a_step_that_comes_undone_is_open_again(new_store, new_manager):
    device = _device(new_store)
    device_services.record_heartbeat(device=device)
    services.refresh(store=new_store)
    assert OnboardingStep.objects.get(store=new_store, key="devices").completed_at is not None
    device_services.retire_device(device=device)
    services.refresh(store=new_store)
    assert OnboardingStep.objects.get(store=new_store, key="devices").completed_at is None


# --- staff ----------------------------------------------------------------------------------


def test_inviting_staff_creates_an_account_with_a_role_at_the_store(new_store):
    user, password = services.invite_staff(
        store=new_store, role=Role.GUIDE, username="g-new", first_name="Li"
    )
    assert user.check_password(password)
    assert (
        user.staff_roles.filter(store=new_store, role=Role.GUIDE).exists()
        if hasattr(user, "staff_roles")
        else True
    )
    from retail.models import StaffRole

    assert StaffRole.objects.filter(user=user, store=new_store, role=Role.GUIDE).exists()
    # the same username again: refused, nothing created
    with pytest.raises(Conflict):
        services.invite_staff(store=new_store, role=Role.GUIDE, username="G-NEW")
    assert StaffRole.objects.filter(store=new_store, role=Role.GUIDE).count() == 1


# --- rehearsal --------------------------------------------------------------------------------


def test_the_rehearsal_step_is_required_once_a_published_campaign_includes_the_store(new_store):
    from promotions.selectors.onboarding import rehearsal_step

    assert rehearsal_step(new_store).not_required
    campaign = PublishedCampaignFactory(brand=new_store.brand, stores=[new_store])
    assert not rehearsal_step(new_store).done
    # a finished run where only "store live" failed (the store is not live yet) passes
    rehearsal = RehearsalFactory(brand=new_store.brand, campaign=campaign)
    RehearsalRun.objects.create(
        brand=new_store.brand,
        rehearsal=rehearsal,
        store=new_store,
        status=RehearsalStatus.DONE,
        ready=False,
        finished_at=timezone.now(),
        steps=[
            {"step": "store_live", "ok": False},
            {"step": "coupon", "ok": True},
            {"step": "join", "ok": True},
        ],
    )
    assert rehearsal_step(new_store).done
    # a later run where the coupon failed does not
    rehearsal2 = RehearsalFactory(brand=new_store.brand, campaign=campaign)
    RehearsalRun.objects.create(
        brand=new_store.brand,
        rehearsal=rehearsal2,
        store=new_store,
        status=RehearsalStatus.DONE,
        ready=False,
        finished_at=timezone.now() + timedelta(seconds=1),
        steps=[{"step": "store_live", "ok": False}, {"step": "coupon", "ok": False}],
    )
    state = rehearsal_step(new_store)
    assert not state.done and "Coupon" in state.missing[0]


# --- pages ------------------------------------------------------------------------------------


def test_the_wizard_shows_each_step_and_what_is_missing(client, new_store, new_manager):
    client.force_login(new_manager)
    response = client.get(reverse("retail:onboarding:wizard", kwargs={"store_id": new_store.pk}))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Address is missing." in body
    assert "Devices connected" in body
    assert StoreOnboarding.objects.filter(store=new_store).exists()  # opening it started it


def test_the_devices_step_polls_until_connected(client, new_store, new_manager):
    device = _device(new_store)
    client.force_login(new_manager)
    url = reverse("retail:onboarding:check", kwargs={"store_id": new_store.pk}) + "?step=devices"
    body = client.get(url).content.decode()
    assert 'hx-trigger="every 3s"' in body and "Waiting for its first heartbeat" in body
    device_services.record_heartbeat(device=device)
    body = client.get(url).content.decode()
    assert 'hx-trigger="every 3s"' not in body and 'data-status="done"' in body
    assert 'hx-swap-oob="true"' in body  # the stepper follows


def test_go_live_from_the_page_refuses_with_the_open_steps(client, new_store, new_manager):
    client.force_login(new_manager)
    response = client.post(
        reverse("retail:onboarding:go_live", kwargs={"store_id": new_store.pk}), follow=True
    )
    assert "The store cannot go live yet" in response.content.decode()
    new_store.refresh_from_db()
    assert new_store.status == StoreStatus.ONBOARDING


def test_the_invite_page_shows_the_password_once(client, new_store, new_manager):
    client.force_login(new_manager)
    url = reverse("retail:onboarding:invite", kwargs={"store_id": new_store.pk})
    response = client.post(url, {"role": Role.GUIDE, "username": "fresh-guide"})
    assert response.status_code == 200
    assert b"data-password" in response.content
    assert response.headers["Cache-Control"].startswith("max-age=0")
    again = client.post(url, {"role": Role.GUIDE, "username": "fresh-guide"})
    assert again.status_code == 400 and b"already taken" in again.content


def test_hq_list_shows_the_step_each_store_is_stuck_on(client, brand, hq_user, new_store):
    stuck = StoreFactory(brand=brand, code="STUCK", address="2 Road", status=StoreStatus.ONBOARDING)
    StaffRoleFactory(brand=brand, store=stuck, role=Role.STORE_MANAGER)
    StaffRoleFactory(brand=brand, store=stuck, role=Role.GUIDE)
    services.refresh(store=stuck)
    StoreFactory(brand=brand, code="LIVE1", status=StoreStatus.LIVE)
    client.force_login(hq_user)
    response = client.get(reverse("retail:onboarding:list"))
    assert response.status_code == 200
    rows = {r["store"].code: r for r in response.context["rows"]}
    assert set(rows) == {"NEW1", "STUCK"}  # live stores are not listed
    assert rows["STUCK"]["step"] == "catalog_screens"
    assert rows["NEW1"]["onboarding"] is not None  # started when HQ opened the list
    chart = {c["key"]: c["stores"] for c in response.context["chart"]}
    assert chart["catalog_screens"] == 1
    assert "Catalog and shelf screens" in response.content.decode()


def test_a_guide_cannot_run_the_wizard_and_a_manager_cannot_see_the_list(client, new_store):
    guide = StaffRoleFactory(brand=new_store.brand, store=new_store, role=Role.GUIDE).user
    client.force_login(guide)
    assert (
        client.get(reverse("retail:onboarding:wizard", kwargs={"store_id": new_store.pk})).status_code == 403
    )
    assert (
        client.post(reverse("retail:onboarding:go_live", kwargs={"store_id": new_store.pk})).status_code
        == 403
    )
    manager = StaffRoleFactory(brand=new_store.brand, store=new_store, role=Role.STORE_MANAGER).user
    client.force_login(manager)
    assert client.get(reverse("retail:onboarding:list")).status_code == 403


def test_another_brands_store_is_a_404(client, other_brand, hq_user):
    theirs = StoreFactory(brand=other_brand, status=StoreStatus.ONBOARDING)
    client.force_login(hq_user)
    for name in ("wizard", "check", "qr", "progress"):
        assert (
            client.get(reverse(f"retail:onboarding:{name}", kwargs={"store_id": theirs.pk})).status_code
            == 404
        )
    assert (
        client.post(reverse("retail:onboarding:go_live", kwargs={"store_id": theirs.pk})).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.status == StoreStatus.ONBOARDING


def test_a_manager_of_another_store_gets_a_404(client, manager_user, new_store):
    client.force_login(manager_user)
    assert (
        client.get(reverse("retail:onboarding:wizard", kwargs={"store_id": new_store.pk})).status_code == 404
    )


def test_the_store_page_loads_the_progress(client, new_store, new_manager):
    client.force_login(new_manager)
    page = client.get(reverse("retail:store_detail", kwargs={"store_id": new_store.pk}))
    assert reverse("retail:onboarding:progress", kwargs={"store_id": new_store.pk}) in page.content.decode()
    partial = client.get(reverse("retail:onboarding:progress", kwargs={"store_id": new_store.pk}))
    assert partial.status_code == 200 and b"Time spent" in partial.content


# --- the public join page -----------------------------------------------------------------


def test_the_join_page_makes_a_member_of_the_store(client, new_store):
    token = services.join_token(store=new_store)
    url = reverse("retail:onboarding:join", kwargs={"token": token})
    assert client.get(url).status_code == 200
    response = client.post(url, {"phone": "13800138000", "consent_sms": "on", "agree": "on"})
    assert response.status_code == 200
    member = Member.objects.get(brand=new_store.brand)
    assert member.store_id == new_store.pk and member.source == "store"
    assert member.consent_sms and not member.consent_call
    # again: already a member, nothing new
    assert client.post(url, {"phone": "13800138000", "agree": "on"}).status_code == 200
    assert Member.objects.filter(brand=new_store.brand).count() == 1


def test_the_join_page_needs_the_agreement_and_a_real_token(client, new_store):
    url = reverse("retail:onboarding:join", kwargs={"token": services.join_token(store=new_store)})
    assert client.post(url, {"phone": "13800138000"}).status_code == 400
    assert not Member.objects.exists()
    forged = services.join_token(store=new_store).replace(str(new_store.pk), str(new_store.pk + 1), 1)
    assert client.get(reverse("retail:onboarding:join", kwargs={"token": forged})).status_code == 404
    assert client.get(reverse("retail:onboarding:join", kwargs={"token": "nope"})).status_code == 404


def test_the_join_page_is_rate_limited(client, new_store):
    url = reverse("retail:onboarding:join", kwargs={"token": services.join_token(store=new_store)})
    statuses = [client.post(url, {"phone": "13800138000"}).status_code for _ in range(12)]
    assert statuses[-1] == 429


# --- API ------------------------------------------------------------------------------------


def test_the_api_lists_stores_onboarding_state(brand, other_brand, new_store, new_manager):
    services.refresh(store=new_store)
    StoreFactory(brand=other_brand, status=StoreStatus.ONBOARDING)
    partner = make_partner(brand, scopes=["stores:read"])
    body = partner.get("/api/v1/onboarding/?status=onboarding").json()
    assert [r["code"] for r in body["results"]] == ["NEW1"]
    row = body["results"][0]
    assert row["current_step"] == "basics" and row["status"] == "onboarding"
    staff = next(s for s in row["steps"] if s["key"] == "staff")
    assert staff["done"] is False and staff["completed_at"] is None
    detail = partner.get(f"/api/v1/onboarding/{new_store.pk}/").json()
    assert detail["store"] == new_store.pk and [s["key"] for s in detail["steps"]][-1] == "go_live"


def test_the_api_needs_stores_read_and_hides_other_brands(brand, other_brand):
    theirs = StoreFactory(brand=other_brand)
    assert make_partner(brand, scopes=["orders:read"]).get("/api/v1/onboarding/").status_code == 403
    response = make_partner(brand, scopes=["stores:read"]).get(f"/api/v1/onboarding/{theirs.pk}/")
    assert response.status_code == 404
    assert Store.objects.filter(pk=theirs.pk).exists()


def test_an_event_about_the_store_rechecks_its_onboarding(new_store):
    from retail import events

    services.start_onboarding(store=new_store)
    device = _device(new_store)
    device_services.record_heartbeat(device=device)
    event = events.Event(None, "device.online", new_store.brand_id, new_store.pk, {}, timezone.now())
    services.on_event(event)
    assert OnboardingStep.objects.get(store=new_store, key="devices").completed_at is not None


def test_hq_list_reads_a_bounded_number_of_queries(client, brand, hq_user, django_assert_max_num_queries):
    for i in range(15):
        services.refresh(store=StoreFactory(brand=brand, code=f"Q{i:02d}", status=StoreStatus.ONBOARDING))
    client.force_login(hq_user)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("retail:onboarding:list"))
    assert len(response.context["rows"]) == 15


def test_a_store_live_before_onboarding_existed_gets_none(client, hq_user, store):
    client.force_login(hq_user)
    response = client.get(reverse("retail:onboarding:wizard", kwargs={"store_id": store.pk}))
    assert response.status_code == 200 and b"The store is live." in response.content
    assert not StoreOnboarding.objects.filter(store=store).exists()
    assert not OnboardingStep.objects.filter(store=store).exists()


def test_the_pages_render_in_chinese(client, settings, brand, hq_user, new_store):
    client.force_login(hq_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for url in (
        reverse("retail:onboarding:wizard", kwargs={"store_id": new_store.pk}),
        reverse("retail:onboarding:wizard", kwargs={"store_id": new_store.pk}) + "?step=recruitment_qr",
        reverse("retail:onboarding:list"),
        reverse("retail:onboarding:qr", kwargs={"store_id": new_store.pk}),
        reverse("retail:onboarding:join", kwargs={"token": services.join_token(store=new_store)}),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-hans"' in response.content.decode(), url
