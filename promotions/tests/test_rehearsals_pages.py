"""Rehearsal pages: HQ only, start form, report with stores not ready first, progress
polling, another brand's rehearsal is a 404."""

import pytest
from django.urls import reverse

from promotions.choices import RehearsalStatus
from promotions.models import Rehearsal
from promotions.tests.factories import CampaignFactory, CouponTemplateFactory, RehearsalFactory
from retail.choices import Role
from retail.tests.factories import ProductFactory, StaffRoleFactory, StoreFactory


@pytest.fixture
def campaign(brand):
    ready, bare = (
        StoreFactory(brand=brand, code="A1", name="Ready"),
        StoreFactory(brand=brand, code="B1", name="Bare"),
    )
    campaign = CampaignFactory(brand=brand, stores=[ready, bare])
    CouponTemplateFactory(brand=brand, campaign=campaign)
    StaffRoleFactory(brand=brand, store=ready, role=Role.GUIDE)
    ProductFactory(brand=brand)
    campaign.ready, campaign.bare = ready, bare
    return campaign


def test_hq_starts_a_rehearsal_and_reads_the_report_not_ready_first(
    client, hq_user, campaign, django_capture_on_commit_callbacks
):
    client.force_login(hq_user)
    page = client.get(reverse("promotions:rehearsal_list"))
    assert page.status_code == 200 and "Bare" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("promotions:rehearsal_list"),
            {"campaign": campaign.pk, "stores": [campaign.ready.pk, campaign.bare.pk]},
        )
    rehearsal = Rehearsal.objects.get()
    assert response.status_code == 302
    report = client.get(reverse("promotions:rehearsal_detail", kwargs={"rehearsal_id": rehearsal.pk}))
    body = report.content.decode()
    assert body.index("B1 · Bare") < body.index("A1 · Ready")
    assert "No active guide or store manager at this store." in body
    progress = client.get(reverse("promotions:rehearsal_progress", kwargs={"rehearsal_id": rehearsal.pk}))
    assert progress["HX-Refresh"] == "true" and "100%" in progress.content.decode()


def test_the_report_reads_in_chinese(client, hq_user, campaign, django_capture_on_commit_callbacks):
    client.force_login(hq_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("promotions:rehearsal_list"), {"campaign": campaign.pk, "stores": [campaign.bare.pk]}
        )
    rehearsal = Rehearsal.objects.get()
    url = reverse("promotions:rehearsal_detail", kwargs={"rehearsal_id": rehearsal.pk})
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200


def test_a_running_rehearsal_polls(client, hq_user, brand):
    rehearsal = RehearsalFactory(brand=brand, status=RehearsalStatus.RUNNING, progress=40)
    client.force_login(hq_user)
    progress = client.get(reverse("promotions:rehearsal_progress", kwargs={"rehearsal_id": rehearsal.pk}))
    assert 'hx-trigger="every 1s"' in progress.content.decode() and "HX-Refresh" not in progress


def test_a_store_outside_the_campaign_is_refused_with_a_message(client, hq_user, campaign):
    outsider = StoreFactory(brand=campaign.brand)
    other = CampaignFactory(brand=campaign.brand, stores=[outsider])
    client.force_login(hq_user)
    response = client.post(
        reverse("promotions:rehearsal_list"), {"campaign": campaign.pk, "stores": [outsider.pk]}
    )
    assert response.status_code == 400
    assert "Only stores taking part in the campaign" in response.content.decode()
    assert not Rehearsal.objects.exists() and other


def test_store_staff_may_not_open_rehearsals(client, manager_user, guide_user, brand):
    rehearsal = RehearsalFactory(brand=brand)
    for user in (manager_user, guide_user):
        client.force_login(user)
        assert client.get(reverse("promotions:rehearsal_list")).status_code == 403
        assert (
            client.get(
                reverse("promotions:rehearsal_detail", kwargs={"rehearsal_id": rehearsal.pk})
            ).status_code
            == 403
        )


def test_another_brands_rehearsal_is_a_404(client, hq_user, other_brand):
    theirs = RehearsalFactory(brand=other_brand)
    client.force_login(hq_user)
    for name in ("promotions:rehearsal_detail", "promotions:rehearsal_progress"):
        assert client.get(reverse(name, kwargs={"rehearsal_id": theirs.pk})).status_code == 404


def test_the_pages_read_in_a_fixed_number_of_queries(
    client, hq_user, campaign, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client.force_login(hq_user)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("promotions:rehearsal_list"),
                {"campaign": campaign.pk, "stores": [campaign.ready.pk, campaign.bare.pk]},
            )
    assert Rehearsal.objects.count() == 3
    with django_assert_max_num_queries(14):
        assert client.get(reverse("promotions:rehearsal_list")).status_code == 200
    with django_assert_max_num_queries(14):
        url = reverse("promotions:rehearsal_detail", kwargs={"rehearsal_id": Rehearsal.objects.first().pk})
        assert client.get(url).status_code == 200
