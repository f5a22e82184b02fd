"""The member's phone page (/c/<signed campaign token>/): public, identify by phone + consent,
claim once per form key, "my coupons" with the offline-token QR for coupons claimed here."""

import re

import pytest
from django.urls import reverse

from members.models import Member
from members.tests.factories import MemberFactory
from promotions.choices import ClaimVia
from promotions.models import Benefit, Coupon
from promotions.services import coupons, tokens
from promotions.tests.factories import (
    CampaignFactory,
    CouponTemplateFactory,
    PublishedCampaignFactory,
    phases,
)
from promotions.views import mobile

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(brand, store):
    campaign = PublishedCampaignFactory(brand=brand, stores=[store], name="Double-11 2026")
    phases(campaign)
    template = CouponTemplateFactory(brand=brand, campaign=campaign, name="Fifty off", total_stock=3)
    return {"campaign": campaign, "template": template, "url": mobile.campaign_path(campaign.pk)}


def identify(client, live, phone="13800138000", consent=True):
    data = {"phone": phone}
    if consent:
        data["consent"] = "on"
    return client.post(
        reverse("mobile_coupons:identify", args=[mobile.campaign_token(live["campaign"].pk)]), data
    )


def claim_form(page: str) -> dict:
    template = re.search(r'name="template" value="(\d+)"', page).group(1)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    return {"template": template, "key": key}


def test_the_page_lists_claimable_coupons_without_login(client, live):
    response = client.get(live["url"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Double-11 2026" in page and "Fifty off" in page and "¥50 off" in page
    assert 'name="phone"' in page  # the identify form, no claim button yet
    assert 'name="key"' not in page
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]


def test_a_forged_or_draft_campaign_link_is_a_404(client, live, brand):
    token = mobile.campaign_token(live["campaign"].pk)
    assert client.get(f"/c/{token}x/").status_code == 404
    assert client.get(f"/c/{live['campaign'].pk}/").status_code == 404
    draft = CampaignFactory(brand=brand)
    assert client.get(mobile.campaign_path(draft.pk)).status_code == 404


def test_identify_joins_a_new_member_and_needs_consent(client, live, brand):
    response = identify(client, live, consent=False)
    assert response.status_code == 422
    assert not Member.objects.filter(brand=brand).exists()
    assert identify(client, live, phone="12").status_code == 422
    response = identify(client, live)
    assert response.status_code == 302
    assert Member.objects.filter(brand=brand).count() == 1
    page = client.get(live["url"]).content.decode()
    assert "138****8000" in page and 'name="key"' in page


def test_claim_once_per_form_key_and_my_coupons_show_the_qr(client, live, brand):
    identify(client, live)
    member = Member.objects.get(brand=brand)
    form = claim_form(client.get(live["url"]).content.decode())
    claim_url = reverse("mobile_coupons:claim", args=[mobile.campaign_token(live["campaign"].pk)])
    first = client.post(claim_url, form)
    assert first.status_code == 302 and first["Location"].endswith("/mine/?claimed=1")
    again = client.post(claim_url, form)  # a double tap / resent form
    assert again.status_code == 302
    coupon = Coupon.objects.get(member=member)
    assert coupon.claim_via == ClaimVia.MOBILE
    live["template"].refresh_from_db()
    assert live["template"].claimed == 1
    mine = client.get(first["Location"]).content.decode()
    assert coupon.code in mine and "<svg" in mine
    # the QR holds the offline token the counter verifies
    assert tokens.verify(tokens.sign(coupon), brand_id=brand.pk)["c"] == coupon.code


def test_a_second_claim_over_the_limit_is_refused_clearly(client, live, brand):
    identify(client, live)
    member = Member.objects.get(brand=brand)
    coupons.claim_coupon(template=live["template"], member=member)
    page = client.get(live["url"]).content.decode()
    assert "You have this coupon" in page
    claim_url = reverse("mobile_coupons:claim", args=[mobile.campaign_token(live["campaign"].pk)])
    response = client.post(claim_url, {"template": live["template"].pk, "key": "abcdefgh12"})
    assert response.status_code == 409
    assert "already holds" in response.content.decode()
    assert Coupon.objects.filter(member=member).count() == 1


def test_another_campaigns_template_cannot_be_claimed_here(client, live, brand):
    identify(client, live)
    other = CouponTemplateFactory(brand=brand, campaign=PublishedCampaignFactory(brand=brand))
    claim_url = reverse("mobile_coupons:claim", args=[mobile.campaign_token(live["campaign"].pk)])
    response = client.post(claim_url, {"template": other.pk, "key": "abcdefgh12"})
    assert response.status_code == 400
    assert "cannot be claimed here" in response.content.decode()
    assert not Coupon.objects.exists()


def test_typing_someone_elses_phone_does_not_reveal_their_codes(client, live, brand):
    victim = MemberFactory(brand=brand, phone="13900001111")
    theirs = coupons.claim_coupon(template=live["template"], member=victim, via=ClaimVia.WORKBENCH).coupon
    identify(client, live, phone="13900001111")
    page = client.get(reverse("mobile_coupons:mine", args=[mobile.campaign_token(live["campaign"].pk)]))
    text = page.content.decode()
    assert "Fifty off" in text  # the member sees they hold it
    assert theirs.code not in text and "<svg" not in text  # but not the code to spend it


def test_the_cookie_of_another_brand_is_ignored(client, live):
    other = PublishedCampaignFactory()
    phases(other)
    CouponTemplateFactory(brand=other.brand, campaign=other)
    identify(client, live)
    page = client.get(mobile.campaign_path(other.pk)).content.decode()
    assert 'name="phone"' in page and 'name="key"' not in page


def test_identify_is_rate_limited(client, live, monkeypatch):
    monkeypatch.setattr(mobile, "IDENTIFY_PER_PHONE", 2)
    for _ in range(2):
        identify(client, live)
    response = identify(client, live)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "Too many attempts" in response.content.decode()


def test_benefits_are_listed_on_my_coupons(client, live, brand):
    identify(client, live)
    member = Member.objects.get(brand=brand)
    from members.models import Tier

    tier = Tier.objects.create(brand=brand, code="gold", name="Gold", threshold_points=1000, rank=9)
    Member.objects.filter(pk=member.pk).update(tier=tier)
    benefit = Benefit.objects.create(brand=brand, campaign=live["campaign"], kind="gift", name="Silk pouch")
    benefit.tiers.add(tier)
    page = client.get(reverse("mobile_coupons:mine", args=[mobile.campaign_token(live["campaign"].pk)]))
    assert "Silk pouch" in page.content.decode()


def test_the_page_speaks_chinese(client, live):
    client.cookies["django_language"] = "zh-hans"
    page = client.get(live["url"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in page
