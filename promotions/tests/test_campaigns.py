"""Campaign services: validation of campaigns and phases, publishing (clocked beat entries,
the benefits freeze, refusals), phase changes at their time when the beat runs (frozen
clock), no repetition when the beat fires twice or two workers race, catch-up of skipped
phases, the cloud shelves' Double-11 switch, ending early."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from promotions.choices import CampaignStatus, PhaseKind
from promotions.models import Campaign, CampaignPhase
from promotions.services import campaigns as services
from promotions.tasks import campaigns as tasks
from promotions.tests.factories import CampaignFactory, PublishedCampaignFactory, phases
from retail.celery import app as celery_app
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import StoreFactory
from shelves.selectors import shelf_settings

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2030, 11, 1, 0, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def changes(campaign) -> list[tuple[str, str]]:
    """The campaign's campaign.phase_changed events as (previous, phase), in order."""
    return [
        (e.payload["previous"], e.payload["phase"])
        for e in DomainEvent.objects.filter(
            name="campaign.phase_changed", payload__campaign=campaign.pk
        ).order_by("pk")
    ]


def run_beat(monkeypatch, now: dt.datetime) -> list[str]:
    """What django-celery-beat does at `now`: every enabled campaign entry whose schedule
    says it is due (asked the way the beat asks it, with its clock at `now`) runs with the
    clock frozen at `now`; a one-off entry is then disabled."""
    monkeypatch.setattr(timezone, "now", lambda: now)
    ran = []
    for entry in PeriodicTask.objects.filter(enabled=True, task=services.PHASE_TASK).select_related(
        "clocked"
    ):
        schedule = entry.schedule
        schedule.nowfun = lambda: now
        if not schedule.is_due(entry.last_run_at).is_due:
            continue
        celery_app.tasks[entry.task].apply(args=json.loads(entry.args), throw=True)
        ran.append(entry.name)
        if entry.one_off:
            PeriodicTask.objects.filter(pk=entry.pk).update(enabled=False)
    return ran


def draft(brand, *, stores=None, start=T0, hours=24, **kwargs):
    campaign = CampaignFactory(
        brand=brand, stores=stores if stores is not None else [StoreFactory(brand=brand)], **kwargs
    )
    phases(campaign, start, hours=hours)
    return campaign


# --- create / update ----------------------------------------------------------------------------


def test_create_campaign_links_the_brands_stores_and_is_audited(brand, hq_user):
    stores = StoreFactory.create_batch(2, brand=brand)
    campaign = services.create_campaign(
        brand_id=brand.pk, name="  Double-11 2030 ", stores=stores, description="Big", actor=hq_user
    )
    assert campaign.name == "Double-11 2030" and campaign.status == CampaignStatus.DRAFT
    assert sorted(campaign.stores.values_list("pk", flat=True)) == sorted(s.pk for s in stores)
    entry = AuditEvent.objects.get(object_type="promotions.campaign", object_id=str(campaign.pk))
    assert entry.action == "create" and entry.actor_id == hq_user.pk
    assert entry.after["stores"] == sorted(s.pk for s in stores)


def test_a_campaign_name_is_unique_per_brand_only(brand, other_brand):
    services.create_campaign(brand_id=brand.pk, name="D11", stores=[StoreFactory(brand=brand)])
    with pytest.raises(Conflict) as refused:
        services.create_campaign(brand_id=brand.pk, name="D11", stores=[StoreFactory(brand=brand)])
    assert refused.value.code == "duplicate_name" and "name" in refused.value.fields
    services.create_campaign(brand_id=other_brand.pk, name="D11", stores=[StoreFactory(brand=other_brand)])
    assert Campaign.objects.filter(name="D11").count() == 2


def test_another_brands_store_cannot_take_part(brand, other_brand):
    with pytest.raises(InvalidInput) as refused:
        services.create_campaign(
            brand_id=brand.pk, name="D11", stores=[StoreFactory(brand=brand), StoreFactory(brand=other_brand)]
        )
    assert refused.value.code == "unknown_store"
    with pytest.raises(InvalidInput) as empty:
        services.create_campaign(brand_id=brand.pk, name="D11", stores=[])
    assert empty.value.code == "no_stores"
    assert not Campaign.objects.exists()


def test_update_changes_stores_while_draft_but_not_once_published(brand, monkeypatch):
    a, b = StoreFactory.create_batch(2, brand=brand)
    campaign = draft(brand, stores=[a])
    services.update_campaign(campaign=campaign, name="Renamed", stores=[a, b], description="x")
    assert campaign.name == "Renamed" and campaign.stores.count() == 2
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign)
    with pytest.raises(Conflict) as refused:
        services.update_campaign(campaign=campaign, name="Renamed", stores=[a])
    assert refused.value.code == "not_draft"
    assert campaign.stores.count() == 2
    services.update_campaign(campaign=campaign, name="Renamed again", stores=[a, b], description="y")
    assert Campaign.objects.get(pk=campaign.pk).name == "Renamed again"


# --- phases -------------------------------------------------------------------------------------


def window(start_hours: float, end_hours: float):
    return (T0 + start_hours * HOUR, T0 + end_hours * HOUR)


def test_set_phases_accepts_optional_phases_in_order(brand):
    campaign = CampaignFactory(brand=brand)
    made = services.set_phases(
        campaign=campaign,
        phases={PhaseKind.WARMUP: window(0, 10), PhaseKind.MAIN: window(20, 44), PhaseKind.PRESALE: None},
    )
    assert [p.kind for p in made] == [PhaseKind.WARMUP, PhaseKind.MAIN]
    # replacing drops what is no longer given and keeps one row per kind
    services.set_phases(campaign=campaign, phases={PhaseKind.MAIN: window(30, 40)})
    assert list(CampaignPhase.objects.filter(campaign=campaign).values_list("kind", "starts_at")) == [
        (PhaseKind.MAIN, T0 + 30 * HOUR)
    ]
    assert AuditEvent.objects.filter(object_id=str(campaign.pk), message="phases set").count() == 2


@pytest.mark.parametrize(
    "given, field, words",
    [
        ({PhaseKind.MAIN: window(5, 5)}, PhaseKind.MAIN, "end must come after"),
        ({PhaseKind.MAIN: window(5, 3)}, PhaseKind.MAIN, "end must come after"),
        (
            {PhaseKind.WARMUP: window(0, 10), PhaseKind.PRESALE: window(9, 12)},
            PhaseKind.PRESALE,
            "must start",
        ),
        ({PhaseKind.PRESALE: window(20, 30), PhaseKind.MAIN: window(0, 10)}, PhaseKind.MAIN, "must start"),
        ({PhaseKind.MAIN: (T0, None)}, PhaseKind.MAIN, "both the start and the end"),
    ],
)
def test_set_phases_refuses_bad_windows_and_changes_nothing(brand, given, field, words):
    campaign = CampaignFactory(brand=brand)
    services.set_phases(campaign=campaign, phases={PhaseKind.AFTERSALE: window(100, 110)})
    with pytest.raises(InvalidInput) as refused:
        services.set_phases(campaign=campaign, phases=given)
    assert words in " ".join(refused.value.fields[field])
    assert list(CampaignPhase.objects.filter(campaign=campaign).values_list("kind", flat=True)) == [
        PhaseKind.AFTERSALE
    ]


def test_set_phases_needs_one_phase_and_a_draft(brand, monkeypatch):
    campaign = draft(brand)
    with pytest.raises(InvalidInput) as none:
        services.set_phases(campaign=campaign, phases={})
    assert none.value.code == "no_phases"
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign)
    with pytest.raises(Conflict) as published:
        services.set_phases(campaign=campaign, phases={PhaseKind.MAIN: window(0, 1)})
    assert published.value.code == "not_draft"


# --- publishing ---------------------------------------------------------------------------------


def test_publish_creates_one_clocked_beat_entry_per_phase_and_one_at_the_end(brand, hq_user, monkeypatch):
    campaign = draft(brand)
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign, actor=hq_user)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PUBLISHED
    assert campaign.published_by == hq_user and campaign.published_at == T0 - HOUR
    entries = PeriodicTask.objects.filter(name__startswith=f"campaign-{campaign.pk}-").select_related(
        "clocked"
    )
    assert {e.name: e.clocked.clocked_time for e in entries} == {
        f"campaign-{campaign.pk}-warmup": T0,
        f"campaign-{campaign.pk}-presale": T0 + 24 * HOUR,
        f"campaign-{campaign.pk}-main": T0 + 48 * HOUR,
        f"campaign-{campaign.pk}-aftersale": T0 + 72 * HOUR,
        f"campaign-{campaign.pk}-end": T0 + 96 * HOUR,
    }
    for entry in entries:
        assert entry.task == "promotions.tasks.campaigns.apply_campaign_phases_task"
        assert entry.one_off and entry.enabled and json.loads(entry.args) == [campaign.pk]
    for phase in CampaignPhase.objects.filter(campaign=campaign):
        assert phase.periodic_task.name == f"campaign-{campaign.pk}-{phase.kind}"
    assert DomainEvent.objects.filter(name="campaign.published", payload__campaign=campaign.pk).count() == 1
    assert AuditEvent.objects.filter(object_id=str(campaign.pk), message="campaign published").exists()


def test_publish_calls_the_benefits_freeze_in_its_transaction(brand, monkeypatch):
    from promotions.services import benefits

    frozen = []
    monkeypatch.setattr(
        benefits, "freeze_for_campaign", lambda *, campaign: frozen.append(campaign.pk), raising=False
    )
    campaign = draft(brand)
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign)
    assert frozen == [campaign.pk]


def test_publish_rolls_back_when_the_benefits_freeze_refuses(brand, monkeypatch):
    from promotions.services import benefits

    def refuse(*, campaign):
        raise Conflict("segment_not_ready", "The segment is not materialised.")

    monkeypatch.setattr(benefits, "freeze_for_campaign", refuse, raising=False)
    campaign = draft(brand)
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    with pytest.raises(Conflict):
        services.publish_campaign(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.published_at is None
    assert not PeriodicTask.objects.filter(name__startswith=f"campaign-{campaign.pk}-").exists()
    assert not DomainEvent.objects.filter(name="campaign.published").exists()


def test_a_gap_after_the_main_day_gets_its_own_beat_entry(brand, monkeypatch):
    campaign = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    services.set_phases(
        campaign=campaign, phases={PhaseKind.MAIN: window(0, 24), PhaseKind.AFTERSALE: window(48, 72)}
    )
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign)
    names = set(
        PeriodicTask.objects.filter(name__startswith=f"campaign-{campaign.pk}-").values_list(
            "name", flat=True
        )
    )
    assert f"campaign-{campaign.pk}-main-end" in names


@pytest.mark.parametrize("problem", ["no_phases", "no_stores", "past_phase", "published"])
def test_publish_refuses_with_a_clear_message_and_changes_nothing(brand, monkeypatch, problem):
    campaign = CampaignFactory(
        brand=brand, stores=[] if problem == "no_stores" else [StoreFactory(brand=brand)]
    )
    if problem != "no_phases":
        phases(campaign, T0)
    now = T0 + 30 * HOUR if problem == "past_phase" else T0 - HOUR
    monkeypatch.setattr(timezone, "now", lambda: now)
    if problem == "published":
        services.publish_campaign(campaign=campaign)
    before = PeriodicTask.objects.count()
    with pytest.raises(Conflict) as refused:
        services.publish_campaign(campaign=campaign)
    message = refused.value.message
    expected = {
        "no_phases": "phases first",
        "no_stores": "participating stores first",
        "past_phase": "Warm-up is already over",
        "published": "already published",
    }[problem]
    assert expected in message
    assert PeriodicTask.objects.count() == before
    campaign.refresh_from_db()
    assert campaign.status == (CampaignStatus.PUBLISHED if problem == "published" else CampaignStatus.DRAFT)


# --- phase changes ------------------------------------------------------------------------------


def published(brand, monkeypatch, **kwargs):
    campaign = draft(brand, **kwargs)
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign)
    return campaign


def test_phases_change_at_their_time_when_the_beat_runs_and_not_twice(brand, monkeypatch):
    campaign = published(brand, monkeypatch)
    # before the first start nothing is due
    assert run_beat(monkeypatch, T0 - dt.timedelta(minutes=1)) == []
    assert changes(campaign) == []
    # warm-up starts
    assert run_beat(monkeypatch, T0) == [f"campaign-{campaign.pk}-warmup"]
    campaign.refresh_from_db()
    assert campaign.current_phase == PhaseKind.WARMUP
    assert changes(campaign) == [("", "warmup")]
    # the beat fires the same entry again (a restarted beat, a redelivered task): nothing repeats
    tasks.apply_campaign_phases_task.apply(args=[campaign.pk], throw=True)
    tasks.apply_campaign_phases_task.apply(args=[campaign.pk], throw=True)
    assert changes(campaign) == [("", "warmup")]
    # pre-sale, then main day, each at its time
    run_beat(monkeypatch, T0 + 24 * HOUR)
    run_beat(monkeypatch, T0 + 48 * HOUR + dt.timedelta(seconds=5))
    campaign.refresh_from_db()
    assert campaign.current_phase == PhaseKind.MAIN
    warmup = CampaignPhase.objects.get(campaign=campaign, kind=PhaseKind.WARMUP)
    assert warmup.entered_at == T0 and warmup.left_at == T0 + 24 * HOUR
    # after-sale and the end
    run_beat(monkeypatch, T0 + 72 * HOUR)
    run_beat(monkeypatch, T0 + 96 * HOUR)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ENDED and campaign.current_phase == ""
    assert changes(campaign) == [
        ("", "warmup"),
        ("warmup", "presale"),
        ("presale", "main"),
        ("main", "aftersale"),
        ("aftersale", "ended"),
    ]
    # a late duplicate after the end changes nothing
    assert services.apply_phases(campaign_id=campaign.pk, now=T0 + 97 * HOUR) == []
    assert len(changes(campaign)) == 5


def test_a_beat_down_for_days_catches_up_every_phase_in_order_once(brand, monkeypatch):
    campaign = published(brand, monkeypatch)
    # the catch-up finds the campaign due, and enters the three started phases in order
    now = T0 + 50 * HOUR
    assert services.due_campaign_ids(now=now) == [campaign.pk]
    monkeypatch.setattr(timezone, "now", lambda: now)
    assert tasks.apply_due_phases_task.apply(throw=True).result == 3
    assert changes(campaign) == [("", "warmup"), ("warmup", "presale"), ("presale", "main")]
    campaign.refresh_from_db()
    assert campaign.current_phase == PhaseKind.MAIN
    assert list(
        CampaignPhase.objects.filter(campaign=campaign)
        .order_by("starts_at")
        .values_list("left_at", flat=True)
    ) == [now, now, None, None]
    # the beat's own (late) entries then fire: nothing more
    run_beat(monkeypatch, now)
    assert len(changes(campaign)) == 3
    assert services.due_campaign_ids(now=now) == []


def test_the_catch_up_ignores_drafts_and_campaigns_with_nothing_due(brand, monkeypatch):
    draft(brand)
    on_time = published(brand, monkeypatch, start=T0 + 100 * HOUR)
    assert services.due_campaign_ids(now=T0 + 50 * HOUR) == []
    assert services.due_campaign_ids(now=T0 + 100 * HOUR) == [on_time.pk]


def test_the_main_day_switches_the_brands_cloud_shelves(brand, monkeypatch):
    campaign = published(brand, monkeypatch)
    run_beat(monkeypatch, T0 + 24 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is False
    run_beat(monkeypatch, T0 + 48 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is True
    run_beat(monkeypatch, T0 + 72 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is False
    assert campaign.pk


def test_a_campaign_that_does_not_switch_shelves_leaves_them(brand, monkeypatch):
    published(brand, monkeypatch, switches_shelves=False)
    run_beat(monkeypatch, T0 + 48 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is False


def test_shelves_leave_double11_mode_when_the_main_day_ends_before_the_next_phase(brand, monkeypatch):
    campaign = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    services.set_phases(
        campaign=campaign, phases={PhaseKind.MAIN: window(0, 24), PhaseKind.AFTERSALE: window(48, 72)}
    )
    monkeypatch.setattr(timezone, "now", lambda: T0 - HOUR)
    services.publish_campaign(campaign=campaign)
    run_beat(monkeypatch, T0)
    assert shelf_settings(brand_id=brand.pk).double11_on is True
    run_beat(monkeypatch, T0 + 24 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is False
    campaign.refresh_from_db()
    assert campaign.current_phase == "" and campaign.status == CampaignStatus.PUBLISHED
    run_beat(monkeypatch, T0 + 48 * HOUR)
    assert changes(campaign) == [("", "main"), ("main", "aftersale")]


def test_a_skipped_main_day_does_not_leave_shelves_on(brand, monkeypatch):
    campaign = published(brand, monkeypatch)
    services.apply_phases(campaign_id=campaign.pk, now=T0 + 80 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is False
    assert changes(campaign)[-1] == ("main", "aftersale")


def test_end_campaign_now_leaves_the_phase_and_cancels_the_schedule(brand, hq_user, monkeypatch):
    campaign = published(brand, monkeypatch)
    run_beat(monkeypatch, T0 + 48 * HOUR)
    assert shelf_settings(brand_id=brand.pk).double11_on is True
    services.end_campaign(campaign=campaign, actor=hq_user)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ENDED and campaign.current_phase == ""
    assert shelf_settings(brand_id=brand.pk).double11_on is False
    assert not PeriodicTask.objects.filter(name__startswith=f"campaign-{campaign.pk}-", enabled=True).exists()
    assert changes(campaign)[-1] == ("main", "ended")
    services.end_campaign(campaign=campaign)  # a repeat is harmless
    assert len(changes(campaign)) == 4
    with pytest.raises(Conflict):
        services.end_campaign(campaign=CampaignFactory(brand=brand))


def test_drafts_never_change_phase(brand):
    campaign = draft(brand)
    assert services.apply_phases(campaign_id=campaign.pk, now=T0 + 50 * HOUR) == []
    assert changes(campaign) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_change_each_phase_once(brand):
    from django.conf import settings

    if not settings.IS_POSTGRES:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers)")
    campaign = PublishedCampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    phases(campaign, T0)
    barrier = threading.Barrier(6)
    errors = []

    def work():
        barrier.wait()
        try:
            services.apply_phases(campaign_id=campaign.pk, now=T0 + 80 * HOUR)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert changes(campaign) == [
        ("", "warmup"),
        ("warmup", "presale"),
        ("presale", "main"),
        ("main", "aftersale"),
    ]
    campaign.refresh_from_db()
    assert campaign.current_phase == PhaseKind.AFTERSALE
