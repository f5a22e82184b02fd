"""Incident desk pages: report form (store staff), desk (HQ: brand; staff: their stores),
detail with actions, the scoped photo, another brand's incident is a 404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from promotions.choices import IncidentKind, IncidentStatus, Severity
from promotions.models import Incident
from promotions.tests.factories import IncidentFactory, PublishedCampaignFactory
from retail.choices import Role
from retail.tests.factories import StaffRoleFactory, StoreFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _post_report(client, store, **extra):
    data = {
        "store": store.pk,
        "kind": IncidentKind.PAYMENT,
        "severity": Severity.CRITICAL,
        "title": "Card terminal down",
        "note": "Both tills",
        **extra,
    }
    return client.post(reverse("promotions:incident_report"), data)


def test_a_guide_reports_from_the_tablet_form_with_the_live_campaign_preselected(client, store, guide_user):
    campaign = PublishedCampaignFactory(brand=store.brand, stores=[store])
    client.force_login(guide_user)
    page = client.get(reverse("promotions:incident_report"))
    assert page.status_code == 200
    assert f'<option value="{campaign.pk}" selected>' in page.content.decode()
    photo = SimpleUploadedFile("t.png", PNG, content_type="image/png")
    response = _post_report(client, store, campaign=campaign.pk, photo=photo)
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/incidents/{incident.pk}/")
    assert (incident.kind, incident.severity, incident.campaign_id) == ("payment", "critical", campaign.pk)
    # the photo is served to whoever sees the incident, never publicly
    photo_page = client.get(
        reverse("promotions:incident_detail", kwargs={"incident_id": incident.pk}) + "?photo=1"
    )
    assert photo_page.status_code == 200 and photo_page["Content-Type"] == "image/png"
    assert b"".join(photo_page.streaming_content) == PNG
    client.logout()
    anonymous = client.get(
        reverse("promotions:incident_detail", kwargs={"incident_id": incident.pk}) + "?photo=1"
    )
    assert anonymous.status_code == 302  # to the login page


def test_a_fake_photo_gets_a_clear_message_and_nothing_is_saved(client, store, guide_user):
    client.force_login(guide_user)
    fake = SimpleUploadedFile("x.jpg", b"MZ\x90\x00 not an image" * 4, content_type="image/jpeg")
    response = _post_report(client, store, photo=fake)
    assert response.status_code == 400
    assert "not a photo" in response.content.decode()
    assert not Incident.objects.exists()


def test_a_guide_cannot_report_for_another_store(client, store, guide_user):
    other = StoreFactory(brand=store.brand)
    client.force_login(guide_user)
    response = _post_report(client, other)
    assert response.status_code == 400  # not a choice of theirs
    assert not Incident.objects.exists()


def test_the_desk_shows_the_brand_to_hq_and_their_stores_to_staff(
    client, store, hq_user, guide_user, other_brand, django_assert_max_num_queries
):
    mine = IncidentFactory(brand=store.brand, store=store, title="Till frozen")
    elsewhere = IncidentFactory(brand=store.brand, store=StoreFactory(brand=store.brand), title="Queue long")
    IncidentFactory(brand=other_brand, title="Not yours")
    client.force_login(hq_user)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("promotions:incident_list"))
    body = page.content.decode()
    assert "Till frozen" in body and "Queue long" in body and "Not yours" not in body
    assert 'data-ws="/ws/incidents/"' in body
    filtered = client.get(reverse("promotions:incident_list"), {"store": elsewhere.store_id}).content.decode()
    assert "Queue long" in filtered and "Till frozen" not in filtered
    client.force_login(guide_user)
    body = client.get(reverse("promotions:incident_list")).content.decode()
    assert "Till frozen" in body and "Queue long" not in body
    # the live row partial answers 204 when the incident does not pass the filters
    row = reverse("promotions:incident_row", kwargs={"incident_id": mine.pk})
    assert client.get(row).status_code == 200
    assert client.get(row, {"status": IncidentStatus.RESOLVED}).status_code == 204


def test_hq_assigns_comments_and_resolves_through_the_pages(client, store, hq_user):
    incident = IncidentFactory(brand=store.brand, store=store)
    client.force_login(hq_user)
    kwargs = {"incident_id": incident.pk}
    client.post(reverse("promotions:incident_assign", kwargs=kwargs), {"assignee": hq_user.pk})
    client.post(reverse("promotions:incident_comment", kwargs=kwargs), {"body": "On it"})
    client.post(reverse("promotions:incident_resolve", kwargs=kwargs), {"resolution": "Rebooted"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED and incident.assignee_id == hq_user.pk
    detail = client.get(reverse("promotions:incident_detail", kwargs=kwargs)).content.decode()
    assert "On it" in detail and "Rebooted" in detail


def test_store_staff_may_not_assign_or_resolve(client, store, manager_user):
    incident = IncidentFactory(brand=store.brand, store=store)
    client.force_login(manager_user)
    kwargs = {"incident_id": incident.pk}
    assert (
        client.post(reverse("promotions:incident_assign", kwargs=kwargs), {"assignee": 1}).status_code == 403
    )
    assert (
        client.post(reverse("promotions:incident_resolve", kwargs=kwargs), {"resolution": "x"}).status_code
        == 403
    )
    assert (
        client.post(reverse("promotions:incident_comment", kwargs=kwargs), {"body": "Seen"}).status_code
        == 302
    )
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.OPEN


def test_another_brands_incident_is_a_404(client, hq_user, other_brand):
    theirs = IncidentFactory(brand=other_brand)
    client.force_login(hq_user)
    kwargs = {"incident_id": theirs.pk}
    assert client.get(reverse("promotions:incident_detail", kwargs=kwargs)).status_code == 404
    assert client.get(reverse("promotions:incident_row", kwargs=kwargs)).status_code == 404
    assert (
        client.post(reverse("promotions:incident_resolve", kwargs=kwargs), {"resolution": "x"}).status_code
        == 404
    )


def test_a_double_spend_shows_both_offline_records(client, store, hq_user):
    other = StoreFactory(brand=store.brand, name="Nanjing Road")
    incident = IncidentFactory(
        brand=store.brand,
        store=store,
        kind=IncidentKind.DOUBLE_SPEND,
        details={
            "code": "ABCD2345",
            "records": [
                {
                    "store": store.pk,
                    "device": "Tablet 1",
                    "order_ref": "R-1",
                    "subtotal": "300.00",
                    "discount": "50.00",
                    "redeemed_at": "2026-11-11T02:00:00+00:00",
                    "standing": True,
                },
                {
                    "store": other.pk,
                    "device": "Tablet 9",
                    "order_ref": "R-2",
                    "subtotal": "320.00",
                    "discount": "50.00",
                    "redeemed_at": "2026-11-11T02:05:00+00:00",
                    "standing": False,
                },
            ],
        },
    )
    client.force_login(hq_user)
    body = client.get(
        reverse("promotions:incident_detail", kwargs={"incident_id": incident.pk})
    ).content.decode()
    assert "ABCD2345" in body and "Tablet 9" in body and "Nanjing Road" in body
    assert "2026-11-11 10:05:00" in body  # tablet time shown in Asia/Shanghai


def test_hq_of_another_store_role_sees_its_staff_only(client, store):
    manager = StaffRoleFactory(
        brand=store.brand, store=StoreFactory(brand=store.brand), role=Role.STORE_MANAGER
    )
    incident = IncidentFactory(brand=store.brand, store=store)
    client.force_login(manager.user)
    assert (
        client.get(reverse("promotions:incident_detail", kwargs={"incident_id": incident.pk})).status_code
        == 404
    )
