"""The monthly verdict reaches the partner: `backflow.notice_issued` is published for each new
notice (once per partner and month) and a partner's webhook subscription gets it, signed."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from devices.models import DeviceDay, PartnerNotice
from devices.services import backflow as services
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from retail import webhooks
from retail.models import ApiClient, DomainEvent
from retail.tests.factories import StoreFactory
from retail.tests.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0


@pytest.fixture
def receivers():
    found = []

    def make() -> Receiver:
        found.append(Receiver())
        return found[-1]

    yield make
    for receiver in found:
        receiver.stop()


def _partner_scoring(brand, name: str, score: float) -> ApiClient:
    partner = ApiClient.objects.create(brand=brand, name=name, scopes=["devices:read"])
    device_type = DeviceTypeFactory(brand=brand, partner=partner)
    device = DeviceFactory(brand=brand, device_type=device_type, store=StoreFactory(brand=brand))
    DeviceDay.objects.create(brand=brand, device=device, day=NOVEMBER, received=1, score=score)
    return partner


def _bodies(receiver: Receiver) -> list[dict]:
    return [json.loads(r["body"]) for r in receiver.received]


def test_each_new_notice_is_published_once_with_partner_month_verdict_and_score(brand):
    # given a partner to reward, one to penalise and one in between
    gold = _partner_scoring(brand, "Gold", 97.5)
    poor = _partner_scoring(brand, "Poor", 61.0)
    _partner_scoring(brand, "Fair", 85.0)
    # when November's verdicts are issued, twice
    notices = services.issue_monthly_verdicts(brand_id=brand.pk, month=NOVEMBER)
    services.issue_monthly_verdicts(brand_id=brand.pk, month=NOVEMBER)
    # then one event per notice, naming the partner, the month, the verdict and the score
    by_partner = {n.partner_id: n for n in notices}
    payloads = [e.payload for e in DomainEvent.objects.filter(name="backflow.notice_issued").order_by("pk")]
    assert sorted(payloads, key=lambda p: p["partner"]) == sorted(
        [
            {
                "notice": by_partner[gold.pk].pk,
                "partner": gold.pk,
                "month": "2026-11",
                "verdict": "reward",
                "score": 97.5,
            },
            {
                "notice": by_partner[poor.pk].pk,
                "partner": poor.pk,
                "month": "2026-11",
                "verdict": "penalty",
                "score": 61.0,
            },
        ],
        key=lambda p: p["partner"],
    )
    assert PartnerNotice.objects.count() == 2


def test_the_partners_webhook_carries_its_penalty_notice(brand, receivers):
    # given a partner subscribed to its notices
    poor = _partner_scoring(brand, "Poor", 61.0)
    endpoint = receivers()
    webhooks.create_subscription(brand_id=brand.pk, url=endpoint.url, event_types=["backflow.*"], client=poor)
    # when the month's verdicts are issued
    [notice] = services.issue_monthly_verdicts(brand_id=brand.pk, month=NOVEMBER)
    # then its endpoint got the notice, signed, with the verdict and score
    [body] = _bodies(endpoint)
    assert body["event"] == "backflow.notice_issued"
    assert body["payload"] == {
        "notice": notice.pk,
        "partner": poor.pk,
        "month": "2026-11",
        "verdict": "penalty",
        "score": 61.0,
    }
    assert endpoint.received[0]["headers"]["Tiandi-Signature"].startswith("t=")


def test_another_partners_webhook_does_not_get_the_notice(brand, receivers):
    # given two partners of the brand, each subscribed to notices
    poor = _partner_scoring(brand, "Poor", 61.0)
    other = ApiClient.objects.create(brand=brand, name="Other", scopes=["devices:read"])
    theirs, ours = receivers(), receivers()
    webhooks.create_subscription(brand_id=brand.pk, url=ours.url, event_types=["backflow.*"], client=poor)
    webhooks.create_subscription(brand_id=brand.pk, url=theirs.url, event_types=["*"], client=other)
    # when Poor's penalty notice is issued
    services.issue_monthly_verdicts(brand_id=brand.pk, month=NOVEMBER)
    # then only Poor's endpoint hears of it
    assert [b["event"] for b in _bodies(ours)] == ["backflow.notice_issued"]
    assert [b["event"] for b in _bodies(theirs) if b["event"] == "backflow.notice_issued"] == []
