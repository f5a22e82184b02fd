"""The incident desk's services and selectors: lifecycle, permissions, photo checks, events,
time to resolve."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from promotions.choices import IncidentKind, IncidentStatus, Severity
from promotions.models import Incident, IncidentComment
from promotions.selectors import incidents as selectors
from promotions.services import incidents as services
from promotions.tests.factories import IncidentFactory, PublishedCampaignFactory
from retail.choices import Role
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent, DomainEvent
from retail.tenancy import principal_for_role
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _report(store, user, **kwargs):
    values = {
        "store": store,
        "kind": IncidentKind.NETWORK,
        "severity": Severity.HIGH,
        "title": "WiFi down at the till",
        "note": "",
        "reported_by_id": user.pk,
    }
    return services.report_incident(**{**values, **kwargs})


def test_a_guide_reports_an_incident_linked_to_the_live_campaign(store, guide_user):
    # given a published campaign the store takes part in
    campaign = PublishedCampaignFactory(brand=store.brand, stores=[store])
    # when the store's guide reports an incident with a photo
    photo = SimpleUploadedFile("till.png", PNG, content_type="image/png")
    incident = _report(store, guide_user, photo=photo)
    # then it is open, linked to the campaign, its photo stored under a neutral name
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN
    assert incident.campaign_id == campaign.pk
    assert incident.photo.name.startswith("incidents/") and incident.photo.name.endswith(".png")
    assert "till" not in incident.photo.name
    # and it is audited and announced with ids and status
    event = DomainEvent.objects.get(name="incident.opened")
    assert event.payload["incident"] == incident.pk and event.payload["status"] == "open"
    assert event.store_id == store.pk and event.payload["title"] == "WiFi down at the till"
    assert AuditEvent.objects.filter(object_type="promotions.incident", object_id=str(incident.pk)).exists()


def test_a_fake_image_is_refused_and_nothing_is_stored(store, guide_user):
    fake = SimpleUploadedFile("evil.png", b"<?php echo 1; ?>" * 8, content_type="image/png")
    with pytest.raises(InvalidInput) as caught:
        _report(store, guide_user, photo=fake)
    assert "photo" in caught.value.fields
    assert not Incident.objects.exists()
    assert not DomainEvent.objects.filter(name="incident.opened").exists()


def test_a_non_image_content_type_and_an_oversize_photo_are_refused(store, guide_user):
    pdf = SimpleUploadedFile("a.pdf", b"%PDF-1.4" + b"0" * 40, content_type="application/pdf")
    with pytest.raises(InvalidInput):
        _report(store, guide_user, photo=pdf)
    big = SimpleUploadedFile("big.jpg", JPEG + b"0" * services.PHOTO_MAX_BYTES, content_type="image/jpeg")
    with pytest.raises(InvalidInput) as caught:
        _report(store, guide_user, photo=big)
    assert "5 MB" in caught.value.message
    assert not Incident.objects.exists()


def test_a_guide_of_another_store_may_not_report_for_this_store(store):
    other = StoreFactory(brand=store.brand)
    guide = StaffRoleFactory(brand=store.brand, store=other, role=Role.GUIDE).user
    with pytest.raises(services.PermissionRefused):
        _report(store, guide)
    assert not Incident.objects.exists()


def test_hq_reports_for_any_store_of_the_brand_but_not_another_brand(store, hq_user, other_brand):
    assert _report(store, hq_user).store_id == store.pk
    with pytest.raises(services.PermissionRefused):
        _report(StoreFactory(brand=other_brand), hq_user)


def test_lifecycle_assign_comment_resolve(store, hq_user, guide_user):
    incident = _report(store, guide_user)
    # HQ assigns it to one of its people
    colleague = StaffRoleFactory(brand=store.brand, role=Role.HQ_ADMIN).user
    assigned = services.assign_incident(incident=incident, assignee_id=colleague.pk, actor_id=hq_user.pk)
    assert assigned.status == IncidentStatus.ASSIGNED and assigned.assignee_id == colleague.pk
    # assigning again to the same person changes nothing (no second event)
    services.assign_incident(incident=incident, assignee_id=colleague.pk, actor_id=hq_user.pk)
    assert DomainEvent.objects.filter(name="incident.updated").count() == 1
    # the guide comments, HQ resolves
    services.comment_incident(incident=incident, author_id=guide_user.pk, body="Router rebooted")
    resolved = services.resolve_incident(incident=incident, resolution="ISP fixed it", actor_id=hq_user.pk)
    assert resolved.status == IncidentStatus.RESOLVED and resolved.resolved_at is not None
    assert IncidentComment.objects.filter(incident=incident).count() == 1
    actions = list(
        DomainEvent.objects.filter(name="incident.updated").values_list("payload__change", flat=True)
    )
    assert sorted(actions) == ["assigned", "commented", "resolved"]
    # a resolved incident is closed
    with pytest.raises(Conflict):
        services.resolve_incident(incident=incident, resolution="again", actor_id=hq_user.pk)
    with pytest.raises(Conflict):
        services.assign_incident(incident=incident, assignee_id=colleague.pk, actor_id=hq_user.pk)


def test_only_hq_assigns_and_resolves_and_the_assignee_must_be_hq(store, hq_user, guide_user, manager_user):
    incident = _report(store, guide_user)
    with pytest.raises(services.PermissionRefused):
        services.assign_incident(incident=incident, assignee_id=hq_user.pk, actor_id=manager_user.pk)
    with pytest.raises(services.PermissionRefused):
        services.resolve_incident(incident=incident, resolution="done", actor_id=guide_user.pk)
    with pytest.raises(InvalidInput):
        services.assign_incident(incident=incident, assignee_id=guide_user.pk, actor_id=hq_user.pk)
    other_hq = StaffRoleFactory(role=Role.HQ_ADMIN).user  # HQ of another brand
    with pytest.raises(InvalidInput):
        services.assign_incident(incident=incident, assignee_id=other_hq.pk, actor_id=hq_user.pk)
    with pytest.raises(InvalidInput):
        services.resolve_incident(incident=incident, resolution="  ", actor_id=hq_user.pk)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN and incident.assignee_id is None


def test_bad_input_is_refused_with_a_field(store, guide_user):
    with pytest.raises(InvalidInput) as caught:
        _report(store, guide_user, title="  ")
    assert "title" in caught.value.fields
    with pytest.raises(InvalidInput):
        _report(store, guide_user, kind="meteor")
    assert not Incident.objects.exists()


def test_time_to_resolve_per_campaign_and_kind(store):
    campaign = PublishedCampaignFactory(brand=store.brand, stores=[store])
    other = PublishedCampaignFactory(brand=store.brand, stores=[store])
    now = timezone.now()

    def make(kind, minutes, campaign=campaign):
        incident = IncidentFactory(brand=store.brand, store=store, campaign=campaign, kind=kind)
        opened = now - dt.timedelta(hours=5)
        resolved = opened + dt.timedelta(minutes=minutes) if minutes is not None else None
        Incident.objects.filter(pk=incident.pk).update(
            opened_at=opened,
            resolved_at=resolved,
            status=IncidentStatus.RESOLVED if resolved else IncidentStatus.OPEN,
        )

    for minutes in (10, 20, 30, 40, 100):
        make(IncidentKind.NETWORK, minutes)
    make(IncidentKind.PAYMENT, 60)
    make(IncidentKind.PAYMENT, None)  # still open
    make(IncidentKind.NETWORK, 1000, campaign=other)  # another campaign: not counted
    hq = principal_for_role(StaffRoleFactory(brand=store.brand, role=Role.HQ_ADMIN))
    stats = selectors.time_to_resolve(principal=hq, campaign_id=campaign.pk)
    assert (stats["count"], stats["open"], stats["resolved"]) == (7, 1, 6)
    assert stats["median_minutes"] == 35.0  # 10 20 30 40 60 100
    network = next(row for row in stats["by_kind"] if row["kind"] == "network")
    assert network["count"] == 5 and network["median_minutes"] == 30.0
    assert network["p90_minutes"] == 76.0  # 40 + 0.6 * 60
    payment = next(row for row in stats["by_kind"] if row["kind"] == "payment")
    assert (payment["count"], payment["open"], payment["median_minutes"]) == (2, 1, 60.0)


def test_store_staff_see_only_their_stores_incidents(store, guide_user):
    mine = IncidentFactory(brand=store.brand, store=store)
    IncidentFactory(brand=store.brand, store=StoreFactory(brand=store.brand))
    IncidentFactory()  # another brand
    role = guide_user.staff_roles.get()
    seen = list(selectors.incident_list(principal=principal_for_role(role)))
    assert seen == [mine]
    assert UserFactory  # keeps the factory import honest for other tests


def test_the_same_report_sent_twice_is_one_incident(store, guide_user):
    first = _report(store, guide_user)
    again = _report(store, guide_user)
    assert again.pk == first.pk
    assert Incident.objects.count() == 1
    assert DomainEvent.objects.filter(name="incident.opened").count() == 1
    other = _report(store, guide_user, title="Printer jammed")
    assert other.pk != first.pk
