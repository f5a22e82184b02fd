"""Campaign pages: HQ lists, creates (all stores), sets phases in Asia/Shanghai, publishes
with a confirm step and previews a time; store managers and guides read the campaigns of
their stores only; another brand's campaign is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from promotions.choices import CampaignStatus, PhaseKind
from promotions.models import Campaign, CampaignPhase
from promotions.tests.factories import CampaignFactory, CouponTemplateFactory, phases
from retail.tests.factories import ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUTURE = dt.datetime(2030, 11, 1, 0, 0, tzinfo=SHANGHAI)


def url(name: str, campaign=None) -> str:
    return reverse(f"promotions:{name}", kwargs={"campaign_id": campaign.pk} if campaign else None)


def test_hq_creates_a_campaign_for_all_stores_sets_phases_and_publishes(
    client, brand, hq_user, django_assert_max_num_queries
):
    stores = StoreFactory.create_batch(3, brand=brand)
    StoreFactory(brand=CampaignFactory().brand)  # another brand's store is not offered
    client.force_login(hq_user)
    form = client.get(url("campaign_new"))
    assert form.status_code == 200 and form.content.count(b'name="stores"') == 3
    created = client.post(
        url("campaign_new"), {"name": "Double-11", "all_stores": "on", "switches_shelves": "on"}
    )
    campaign = Campaign.objects.get(brand=brand, name="Double-11")
    assert created.status_code == 302 and created["Location"] == url("campaign_phases", campaign)
    assert sorted(campaign.stores.values_list("pk", flat=True)) == sorted(s.pk for s in stores)
    # phases typed as local (Asia/Shanghai) datetime-local values
    saved = client.post(
        url("campaign_phases", campaign),
        {
            "warmup_starts_at": "2030-11-01T00:00",
            "warmup_ends_at": "2030-11-10T00:00",
            "main_starts_at": "2030-11-11T00:00",
            "main_ends_at": "2030-11-12T00:00",
        },
    )
    assert saved.status_code == 302
    main = CampaignPhase.objects.get(campaign=campaign, kind=PhaseKind.MAIN)
    assert main.starts_at == dt.datetime(2030, 11, 11, tzinfo=SHANGHAI)
    with django_assert_max_num_queries(20):
        page = client.get(url("campaign_detail", campaign))
    body = page.content.decode()
    assert page.status_code == 200
    assert "data-campaign-timeline" in body and "2030-11-11 00:00" in body
    assert url("campaign_publish", campaign) in body
    confirm = client.get(url("campaign_publish", campaign))
    assert confirm.status_code == 200 and "Yes, publish" in confirm.content.decode()
    published = client.post(url("campaign_publish", campaign))
    assert published.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PUBLISHED
    assert set(
        PeriodicTask.objects.filter(name__startswith=f"campaign-{campaign.pk}-").values_list(
            "name", flat=True
        )
    ) == {f"campaign-{campaign.pk}-{what}" for what in ("warmup", "warmup-end", "main", "end")}
    # a second publish is refused with the reason, nothing changes
    again = client.post(url("campaign_publish", campaign))
    assert again.status_code == 409 and "already published" in again.content.decode()
    with django_assert_max_num_queries(12):
        listed = client.get(url("campaign_list"))
    assert listed.status_code == 200 and "Double-11" in listed.content.decode()
    assert "data-countdown" in listed.content.decode()


def test_a_phase_that_overlaps_is_a_form_error_and_nothing_is_saved(client, brand, hq_user):
    campaign = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    client.force_login(hq_user)
    response = client.post(
        url("campaign_phases", campaign),
        {
            "warmup_starts_at": "2030-11-01T00:00",
            "warmup_ends_at": "2030-11-10T00:00",
            "presale_starts_at": "2030-11-09T00:00",
            "presale_ends_at": "2030-11-10T12:00",
        },
    )
    assert response.status_code == 400
    assert "must start at or after the end of Warm-up" in response.content.decode()
    assert not CampaignPhase.objects.filter(campaign=campaign).exists()


def test_a_duplicate_name_or_no_store_is_a_form_error(client, brand, hq_user):
    StoreFactory(brand=brand)
    CampaignFactory(brand=brand, name="Double-11")
    client.force_login(hq_user)
    taken = client.post(url("campaign_new"), {"name": "Double-11", "all_stores": "on"})
    assert taken.status_code == 400 and "Already taken" in taken.content.decode()
    none = client.post(url("campaign_new"), {"name": "Spring"})
    assert none.status_code == 400 and "Choose at least one store" in none.content.decode()
    assert Campaign.objects.filter(brand=brand).count() == 1


def test_store_staff_read_the_campaigns_of_their_stores_only(client, brand, store, manager_user, guide_user):
    mine = CampaignFactory(brand=brand, stores=[store], name="Ours")
    phases(mine, FUTURE)
    elsewhere = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)], name="Theirs")
    for user in (manager_user, guide_user):
        client.force_login(user)
        listed = client.get(url("campaign_list")).content.decode()
        assert "Ours" in listed and "Theirs" not in listed and "New campaign" not in listed
        page = client.get(url("campaign_detail", mine))
        assert page.status_code == 200
        assert "HQ runs campaigns" in page.content.decode()
        assert url("campaign_publish", mine) not in page.content.decode()
        assert client.get(url("campaign_detail", elsewhere)).status_code == 404
        for name in (
            "campaign_edit",
            "campaign_phases",
            "campaign_publish",
            "campaign_end",
            "campaign_preview",
        ):
            assert client.get(url(name, mine)).status_code == 403, name
        assert client.post(url("campaign_publish", mine)).status_code == 403
        assert client.get(url("campaign_new")).status_code == 403
    mine.refresh_from_db()
    assert mine.status == CampaignStatus.DRAFT


def test_another_brands_campaign_is_not_found(client, brand, hq_user, other_brand):
    theirs = CampaignFactory(brand=other_brand, stores=[StoreFactory(brand=other_brand)], name="Theirs")
    client.force_login(hq_user)
    for name in (
        "campaign_detail",
        "campaign_edit",
        "campaign_phases",
        "campaign_publish",
        "campaign_preview",
    ):
        assert client.get(url(name, theirs)).status_code == 404, name
    assert client.post(url("campaign_publish", theirs)).status_code == 404
    assert "Theirs" not in client.get(url("campaign_list")).content.decode()


def test_the_preview_shows_phase_coupons_and_prices_at_the_chosen_time(client, brand, hq_user):
    campaign = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    phases(campaign, FUTURE, hours=24)
    CouponTemplateFactory(
        brand=brand,
        campaign=campaign,
        name="Main day 50",
        amount_off=Decimal("50"),
        valid_from=FUTURE + dt.timedelta(hours=48),
        valid_until=FUTURE + dt.timedelta(hours=72),
    )
    CouponTemplateFactory(
        brand=brand,
        campaign=campaign,
        name="Ten percent",
        kind="percent_off",
        amount_off=None,
        percent_off=10,
        valid_from=FUTURE + dt.timedelta(hours=48),
        valid_until=FUTURE + dt.timedelta(hours=72),
    )
    ProductFactory(brand=brand, sku="COAT", name="Coat", price=Decimal("1000.00"))
    ProductFactory(brand=brand, sku="SOCK", name="Socks", price=Decimal("80.00"))
    client.force_login(hq_user)
    during = client.get(url("campaign_preview", campaign), {"at": "2030-11-03T12:00"})
    body = during.content.decode()
    assert during.status_code == 200
    assert "Preview of 2030-11-03 12:00" in body and "nothing is changed" in body
    assert "Main day" in body and 'data-preview-state="in_phase"' in body
    assert 'data-final="900.00"' in body  # 10% beats 50 off on the coat
    assert 'data-final="30.00"' in body  # 50 off beats 10% on the socks
    before = client.get(url("campaign_preview", campaign), {"at": "2030-11-01T12:00"}).content.decode()
    assert 'data-final="1000.00"' in before and 'data-final="80.00"' in before
    assert "Warm-up" in before
    # nothing was changed by looking
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.current_phase == ""
    bad = client.get(url("campaign_preview", campaign), {"at": "not a time"})
    assert bad.status_code == 400


def test_hq_ends_a_live_campaign_from_its_page(client, brand, hq_user):
    from promotions.services import campaigns as services

    campaign = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    phases(campaign, FUTURE)
    services.publish_campaign(campaign=campaign)
    client.force_login(hq_user)
    page = client.get(url("campaign_detail", campaign)).content.decode()
    assert url("campaign_end", campaign) in page
    assert client.get(url("campaign_end", campaign)).status_code == 200
    assert client.post(url("campaign_end", campaign)).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ENDED


def test_pages_speak_chinese(client, brand, hq_user):
    campaign = CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)])
    client.force_login(hq_user)
    client.cookies["django_language"] = "zh-hans"
    listed = client.get(url("campaign_list"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert listed.status_code == 200 and "状态" in listed.content.decode()
    assert client.get(url("campaign_detail", campaign), HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200


def test_a_superuser_without_a_brand_sees_campaigns_but_makes_none(client, brand):
    CampaignFactory(brand=brand, stores=[StoreFactory(brand=brand)], name="Seen")
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert "Seen" in client.get(url("campaign_list")).content.decode()
    assert client.get(url("campaign_new")).status_code == 404
