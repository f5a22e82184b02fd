"""The data-backflow pages: HQ's scorecards and policy, a manager's view of their stores, the
partner's page behind a signed, expiring link; Chinese rendering."""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from devices.models import BackflowPolicy, DeviceDay, PartnerNotice
from devices.selectors.backflow import last_scored_day
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from devices.views.backflow import share_token
from retail.models import ApiClient
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

INDEX = "/devices/backflow/"
POLICY = "/devices/backflow/policy/"
VALID_POLICY = {
    "weight_timeliness": 20,
    "weight_completeness": 50,
    "weight_accuracy": 30,
    "reward_at": 90,
    "penalty_below": 70,
    "raw_event_retention_days": 14,
}


def partner_client(brand, name):
    return ApiClient.objects.create(brand=brand, name=name, scopes=["devices:read"])


def scored_device(brand, partner, score, *, store=None, serial=None, day=None):
    device_type = DeviceTypeFactory(brand=brand, partner=partner)
    kwargs = {"serial": serial} if serial else {}
    device = DeviceFactory(
        brand=brand, device_type=device_type, store=store or StoreFactory(brand=brand), **kwargs
    )
    DeviceDay.objects.create(
        brand=brand,
        device=device,
        day=day or last_scored_day(),
        received=10,
        gaps=1,
        timeliness=score,
        completeness=score,
        accuracy=score,
        score=score,
    )
    return device


@pytest.fixture
def mirror_co(brand):
    return partner_client(brand, "Mirror Co")


@pytest.fixture
def fridge_co(brand):
    return partner_client(brand, "Fridge Co")


def partner_url(brand, partner) -> str:
    return f"/devices/backflow/partner/?t={share_token(brand_id=brand.pk, partner_id=partner.pk)}"


# --- HQ -------------------------------------------------------------------------------------


def test_hq_sees_each_makers_month_score_the_trend_and_the_devices(client, brand, hq_user, mirror_co):
    # given two Mirror Co devices scoring 90 and 70 yesterday, an in-house one scoring 100
    scored_device(brand, mirror_co, 90, serial="MIR-1")
    scored_device(brand, mirror_co, 70, serial="MIR-2")
    scored_device(brand, None, 100, serial="HOME-1")
    client.force_login(hq_user)
    # when HQ opens the page
    response = client.get(INDEX)
    # then Mirror Co averages 80, the three devices are listed, the chart has its data
    assert response.status_code == 200
    cards = {card["name"] or "in-house": card for card in response.context["cards"]}
    assert cards["Mirror Co"]["month_score"] == pytest.approx(80)
    assert cards["Mirror Co"]["day_score"] == pytest.approx(80)
    assert cards["in-house"]["day_score"] == pytest.approx(100)
    body = response.content.decode()
    assert all(serial in body for serial in ("MIR-1", "MIR-2", "HOME-1"))
    trend = response.context["trend"]
    assert len(trend["days"]) == 30 and trend["days"][-1] == last_scored_day().isoformat()
    assert {s["name"] for s in trend["series"]} == {"Mirror Co", ""}
    assert (
        json.loads(body.split('id="backflow-trend-data" type="application/json">')[1].split("</script>")[0])
        == trend
    )
    # and HQ gets a link to share with Mirror Co, and the policy form
    assert "/devices/backflow/partner/?t=" in body
    assert 'action="/devices/backflow/policy/"' in body


def test_hq_picks_an_earlier_month_and_sees_its_score_and_verdict(client, brand, hq_user, mirror_co):
    # given Mirror Co scored 40 on a day of the month before last, and was penalised for it
    earlier = (last_scored_day().replace(day=1) - dt.timedelta(days=1)).replace(day=1) - dt.timedelta(days=1)
    month = earlier.replace(day=1)
    scored_device(brand, mirror_co, 40, day=earlier)
    PartnerNotice.objects.create(brand=brand, partner=mirror_co, month=month, kind="penalty", score=40)
    client.force_login(hq_user)
    # when HQ picks that month
    response = client.get(INDEX, {"month": month.strftime("%Y-%m")})
    # then Mirror Co's month score and its penalty are shown; the month is in the picker
    [card] = response.context["cards"]
    assert (card["month_score"], card["notice"].kind) == (pytest.approx(40), "penalty")
    assert f'value="{month:%Y-%m}" selected' in response.content.decode()


def test_hq_does_not_see_another_brands_devices_or_partners(client, brand, other_brand, hq_user):
    # given a partner device of brand B
    scored_device(other_brand, partner_client(other_brand, "Their Co"), 50, serial="THEIRS-1")
    client.force_login(hq_user)
    # when brand A's HQ opens the page, then brand B is nowhere
    body = client.get(INDEX).content.decode()
    assert "THEIRS-1" not in body and "Their Co" not in body


def test_hq_sets_the_policy(client, brand, hq_user):
    client.force_login(hq_user)
    # when HQ saves new weights and lines
    response = client.post(POLICY, VALID_POLICY)
    # then the policy is stored and the page reloads
    assert response.status_code == 302
    policy = BackflowPolicy.objects.get(brand=brand)
    assert (policy.weight_timeliness, policy.weight_completeness, policy.weight_accuracy) == (20, 50, 30)
    assert (policy.reward_at, policy.penalty_below, policy.raw_event_retention_days) == (90, 70, 14)


def test_weights_not_adding_up_to_100_are_refused_on_the_page(client, brand, hq_user):
    client.force_login(hq_user)
    # when HQ posts weights adding up to 110
    response = client.post(POLICY, {**VALID_POLICY, "weight_accuracy": 40})
    # then the page answers 422 with the error, nothing stored
    assert response.status_code == 422
    assert "must add up to 100" in response.content.decode()
    assert not BackflowPolicy.objects.exists()


# --- store managers and guides --------------------------------------------------------------


def test_a_manager_sees_only_the_devices_of_their_store(client, brand, store, manager_user, mirror_co):
    # given a Mirror Co device in the manager's store scoring 60 and one elsewhere scoring 100
    scored_device(brand, mirror_co, 60, store=store, serial="MINE-1")
    scored_device(brand, mirror_co, 100, serial="ELSEWHERE-1")
    client.force_login(manager_user)
    # when the manager opens the page
    response = client.get(INDEX)
    # then only their device is there, Mirror Co's score is that of their store, no policy form
    body = response.content.decode()
    assert response.status_code == 200
    assert "MINE-1" in body and "ELSEWHERE-1" not in body
    assert [c["day_score"] for c in response.context["cards"]] == [pytest.approx(60)]
    assert "/devices/backflow/policy/" not in body and "/devices/backflow/partner/?t=" not in body


def test_a_manager_cannot_change_the_policy(client, brand, manager_user):
    client.force_login(manager_user)
    assert client.post(POLICY, VALID_POLICY).status_code == 403
    assert not BackflowPolicy.objects.exists()


def test_a_guide_may_not_open_the_backflow_page(client, brand, guide_user):
    client.force_login(guide_user)
    assert client.get(INDEX).status_code == 403


def test_the_page_needs_a_login(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and "login" in response["Location"]


# --- the partner's page ---------------------------------------------------------------------


def test_the_partners_link_shows_its_own_devices_and_verdicts_only(client, brand, mirror_co, fridge_co):
    # given devices of Mirror Co and Fridge Co, and a reward for Mirror Co last month
    scored_device(brand, mirror_co, 97, serial="MIR-1")
    scored_device(brand, fridge_co, 40, serial="FRIDGE-1")
    scored_device(brand, None, 100, serial="HOME-1")
    PartnerNotice.objects.create(
        brand=brand, partner=mirror_co, month=dt.date(2026, 10, 1), kind="reward", score=96
    )
    PartnerNotice.objects.create(
        brand=brand, partner=fridge_co, month=dt.date(2026, 10, 1), kind="penalty", score=41
    )
    # when Mirror Co opens its link, without a login
    response = client.get(partner_url(brand, mirror_co))
    # then it sees its device and its reward, nothing of the others
    body = response.content.decode()
    assert response.status_code == 200
    assert "MIR-1" in body and "FRIDGE-1" not in body and "HOME-1" not in body
    assert [n.kind for n in response.context["card"]["notices"]] == ["reward"]
    assert [s["partner"] for s in response.context["trend"]["series"]] == [mirror_co.pk]
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_tampered_or_missing_link_is_a_404(client, brand, mirror_co):
    token = share_token(brand_id=brand.pk, partner_id=mirror_co.pk)
    assert client.get(f"/devices/backflow/partner/?t={token}x").status_code == 404
    assert client.get("/devices/backflow/partner/").status_code == 404
    # a link signed for another purpose (same secret, other salt) does not open the page
    other = signing.dumps({"b": brand.pk, "p": mirror_co.pk}, salt="something-else")
    assert client.get(f"/devices/backflow/partner/?t={other}").status_code == 404


def test_a_link_for_another_brands_client_is_a_404(client, brand, other_brand):
    # given a link naming brand A but a client of brand B (a forged payload cannot be signed,
    # but a mismatched pair must not open either)
    theirs = partner_client(other_brand, "Their Co")
    token = share_token(brand_id=brand.pk, partner_id=theirs.pk)
    assert client.get(f"/devices/backflow/partner/?t={token}").status_code == 404


def test_an_expired_link_says_so(client, brand, mirror_co):
    # given a link made 31 days ago
    url = partner_url(brand, mirror_co)
    later = timezone.now() + dt.timedelta(days=31)
    # when it is opened now, then 410 Gone
    with mock.patch("time.time", return_value=later.timestamp()):
        response = client.get(url)
    assert response.status_code == 410


def test_a_deactivated_partner_loses_its_page(client, brand, mirror_co):
    url = partner_url(brand, mirror_co)
    ApiClient.objects.filter(pk=mirror_co.pk).update(is_active=False)
    assert client.get(url).status_code == 404


# --- Chinese ----------------------------------------------------------------------------------


def test_the_pages_render_in_chinese(client, brand, hq_user, mirror_co):
    # given HQ reading in Simplified Chinese, and a scored partner device
    scored_device(brand, mirror_co, 88, serial="MIR-1")
    client.force_login(hq_user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    # when they open the backflow page and the partner's page
    responses = [client.get(INDEX), client.get(partner_url(brand, mirror_co))]
    # then both render in Chinese
    for response in responses:
        assert response.status_code == 200
        assert 'lang="zh-hans"' in response.content.decode()
