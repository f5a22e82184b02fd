"""Rehearsals: a ready store passes every step and leaves nothing behind; a store missing a
coupon or staff fails with the reason; progress and the finished event."""

import pytest

from members.models import Member
from promotions.choices import RehearsalStatus
from promotions.models import Coupon, CouponTemplate, MemberClaimCount, Redemption, Rehearsal, RehearsalRun
from promotions.selectors import rehearsals as selectors
from promotions.services import rehearsals as services
from promotions.tests.factories import CampaignFactory, CouponTemplateFactory
from retail.choices import Role, StoreStatus
from retail.errors import Conflict, DomainError, InvalidInput
from retail.models import AuditEvent, DomainEvent, Order
from retail.tests.factories import ProductFactory, StaffRoleFactory, StoreFactory

ALL_STEPS = ["store_live", "coupon", "staff", "devices", "shelves", "join", "claim", "order", "redeem"]


@pytest.fixture
def setup(brand, hq_user):
    """A draft campaign with two stores: `ready` has a guide, `bare` has no staff; one
    template of the campaign with stock, one product."""
    ready, bare = StoreFactory(brand=brand, code="A1"), StoreFactory(brand=brand, code="B1")
    campaign = CampaignFactory(brand=brand, stores=[ready, bare])
    template = CouponTemplateFactory(brand=brand, campaign=campaign, total_stock=5)
    StaffRoleFactory(brand=brand, store=ready, role=Role.GUIDE)
    ProductFactory(brand=brand)
    return {"campaign": campaign, "ready": ready, "bare": bare, "template": template, "hq": hq_user}


def _counts():
    return {
        "coupons": Coupon.objects.count(),
        "claims": MemberClaimCount.objects.count(),
        "redemptions": Redemption.objects.count(),
        "orders": Order.objects.count(),
        "members": Member.objects.count(),
        "events": DomainEvent.objects.exclude(name="rehearsal.finished").count(),
    }


def _start(setup, stores, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.start_rehearsal(
            campaign=setup["campaign"], store_ids=[s.pk for s in stores], started_by_id=setup["hq"].pk
        )


def test_a_ready_store_passes_every_step_and_leaves_no_rows(setup, django_capture_on_commit_callbacks):
    # given a store with a coupon, a guide and a product; counts before
    before = _counts()
    claimed_before = setup["template"].claimed
    # when HQ rehearses it (the job runs right after commit)
    rehearsal = _start(setup, [setup["ready"]], django_capture_on_commit_callbacks)
    # then its run passed every step, each timed
    run = RehearsalRun.objects.get(rehearsal=rehearsal)
    assert run.status == RehearsalStatus.DONE and run.ready is True
    assert [s["step"] for s in run.steps] == ALL_STEPS
    assert all(s["ok"] for s in run.steps), run.steps
    assert all(s["ms"] >= 0 for s in run.steps)
    # and nothing the walk wrote stayed: no coupon, claim, order, member or event
    assert _counts() == before
    setup["template"].refresh_from_db()
    assert setup["template"].claimed == claimed_before
    # the rehearsal is done, 100 %, and announced once
    rehearsal.refresh_from_db()
    assert (rehearsal.status, rehearsal.progress) == (RehearsalStatus.DONE, 100)
    finished = DomainEvent.objects.get(name="rehearsal.finished")
    assert finished.payload["ready"] == 1 and finished.payload["not_ready"] == []
    assert AuditEvent.objects.filter(object_type="promotions.rehearsal").count() == 1


def test_a_store_without_staff_fails_with_the_reason(setup, django_capture_on_commit_callbacks):
    rehearsal = _start(setup, [setup["ready"], setup["bare"]], django_capture_on_commit_callbacks)
    bare = RehearsalRun.objects.get(rehearsal=rehearsal, store=setup["bare"])
    assert bare.ready is False
    failed = {s["step"]: s["reason"] for s in bare.steps if not s["ok"]}
    assert set(failed) == {"staff"}
    assert "guide or store manager" in failed["staff"]
    # the report lists the store that is not ready first
    runs = selectors.rehearsal_runs(rehearsal=rehearsal)
    assert [r.store_id for r in runs] == [setup["bare"].pk, setup["ready"].pk]
    assert runs[0].failed_steps[0]["label"] == "Staff on duty"
    finished = DomainEvent.objects.get(name="rehearsal.finished")
    assert finished.payload["not_ready"] == [setup["bare"].pk]


def test_a_store_without_a_valid_coupon_fails_with_the_reason(setup, django_capture_on_commit_callbacks):
    # given the only template is sold out and another is valid only in another store
    CouponTemplate.objects.filter(pk=setup["template"].pk).update(claimed=5)
    rehearsal = _start(setup, [setup["ready"]], django_capture_on_commit_callbacks)
    run = RehearsalRun.objects.get(rehearsal=rehearsal)
    steps = {s["step"]: s for s in run.steps}
    assert run.ready is False
    assert not steps["coupon"]["ok"] and "out of stock" in steps["coupon"]["reason"]
    assert not steps["claim"]["ok"] and not steps["redeem"]["ok"]
    assert steps["staff"]["ok"] and steps["join"]["ok"]


def test_a_coupon_valid_only_elsewhere_and_a_closed_store_are_reported(
    setup, django_capture_on_commit_callbacks
):
    setup["template"].valid_stores.add(setup["bare"])
    type(setup["ready"]).objects.filter(pk=setup["ready"].pk).update(status=StoreStatus.CLOSED)
    rehearsal = _start(setup, [setup["ready"]], django_capture_on_commit_callbacks)
    steps = {s["step"]: s for s in RehearsalRun.objects.get(rehearsal=rehearsal).steps}
    assert steps["coupon"]["reason"].startswith("No coupon template of the campaign is valid")
    assert not steps["store_live"]["ok"] and steps["store_live"]["params"] == {"status": "closed"}


def test_a_store_in_onboarding_rehearses_before_it_goes_live(setup, django_capture_on_commit_callbacks):
    type(setup["ready"]).objects.filter(pk=setup["ready"].pk).update(status=StoreStatus.ONBOARDING)
    rehearsal = _start(setup, [setup["ready"]], django_capture_on_commit_callbacks)
    run = RehearsalRun.objects.get(rehearsal=rehearsal)
    assert {s["step"]: s["ok"] for s in run.steps}["store_live"] is True


def test_only_participating_stores_and_only_hq(setup, guide_user, other_brand):
    outsider = StoreFactory(brand=setup["campaign"].brand)
    with pytest.raises(InvalidInput):
        services.start_rehearsal(
            campaign=setup["campaign"], store_ids=[outsider.pk], started_by_id=setup["hq"].pk
        )
    with pytest.raises(InvalidInput):
        services.start_rehearsal(campaign=setup["campaign"], store_ids=[], started_by_id=setup["hq"].pk)
    with pytest.raises(DomainError):
        services.start_rehearsal(
            campaign=setup["campaign"], store_ids=[setup["ready"].pk], started_by_id=guide_user.pk
        )
    assert not Rehearsal.objects.exists()


def test_a_second_start_while_running_is_refused_and_a_finished_run_is_not_rerun(setup):
    # no on-commit execution: the runs stay queued
    rehearsal = services.start_rehearsal(
        campaign=setup["campaign"], store_ids=[setup["ready"].pk], started_by_id=setup["hq"].pk
    )
    with pytest.raises(Conflict):
        services.start_rehearsal(
            campaign=setup["campaign"], store_ids=[setup["ready"].pk], started_by_id=setup["hq"].pk
        )
    run = RehearsalRun.objects.get(rehearsal=rehearsal)
    services.run_store_rehearsal(run_id=run.pk)
    first = RehearsalRun.objects.get(pk=run.pk)
    services.run_store_rehearsal(run_id=run.pk)  # a repeated job changes nothing
    again = RehearsalRun.objects.get(pk=run.pk)
    assert again.finished_at == first.finished_at and again.steps == first.steps
    assert DomainEvent.objects.filter(name="rehearsal.finished").count() == 1


def test_offline_devices_and_screens_without_a_catalog_are_reported(
    setup, django_capture_on_commit_callbacks
):
    from devices.choices import DeviceStatus
    from devices.tests.factories import DeviceFactory
    from shelves.tests.factories import ScreenFactory

    brand, store = setup["campaign"].brand, setup["ready"]
    DeviceFactory(brand=brand, store=store, status=DeviceStatus.ONLINE)
    DeviceFactory(brand=brand, store=store, serial="TILL-7", status=DeviceStatus.OFFLINE)
    DeviceFactory(brand=brand, store=store, status=DeviceStatus.RETIRED)  # not counted
    ScreenFactory(brand=brand, store=store, name="Window", day_catalog=None)
    ScreenFactory(brand=brand, store=store, name="Entrance")  # has a daytime catalog
    rehearsal = _start(setup, [store], django_capture_on_commit_callbacks)
    run = RehearsalRun.objects.get(rehearsal=rehearsal)
    steps = {s["step"]: s for s in run.steps}
    assert run.ready is False
    assert steps["devices"]["params"]["down"] == 1 and steps["devices"]["params"]["total"] == 2
    assert "TILL-7" in steps["devices"]["params"]["names"]
    assert not steps["shelves"]["ok"] and steps["shelves"]["params"]["names"] == "Window"
    # the flow itself still passed: the report says exactly what is missing
    assert all(steps[s]["ok"] for s in ("join", "claim", "order", "redeem"))
    shown = selectors.rehearsal_runs(rehearsal=rehearsal)[0].failed_steps
    assert "1 of 2 devices are not online: TILL-7" in [s["reason"] for s in shown]
