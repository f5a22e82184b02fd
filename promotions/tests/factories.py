import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from promotions.choices import BenefitKind, CampaignStatus, DiscountKind, IncidentKind, PhaseKind
from promotions.models import (
    Benefit,
    Campaign,
    CampaignPhase,
    CampaignStore,
    CouponTemplate,
    Incident,
    OfflineBlock,
    Rehearsal,
)
from retail.tests.factories import BrandFactory, StoreFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    """A draft campaign; `stores=[...]` links participating stores."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Double-11 {n}")

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        for store in extracted or []:
            CampaignStore.objects.create(brand_id=self.brand_id, campaign=self, store=store)


class PublishedCampaignFactory(CampaignFactory):
    status = CampaignStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


def phases(campaign, start=None, *, hours=24):
    """The four phases back to back from `start` (default: now), `hours` each."""
    start = start or timezone.now()
    made = []
    for n, kind in enumerate([PhaseKind.WARMUP, PhaseKind.PRESALE, PhaseKind.MAIN, PhaseKind.AFTERSALE]):
        made.append(
            CampaignPhase.objects.create(
                brand_id=campaign.brand_id,
                campaign=campaign,
                kind=kind,
                starts_at=start + dt.timedelta(hours=hours * n),
                ends_at=start + dt.timedelta(hours=hours * (n + 1)),
            )
        )
    return made


class CouponTemplateFactory(factory.django.DjangoModelFactory):
    """50 off, no threshold, stock 100, one per member, valid from an hour ago for a week,
    in store and online, in every store of the campaign (or brand, without a campaign)."""

    class Meta:
        model = CouponTemplate

    brand = factory.SubFactory(BrandFactory)
    campaign = None
    name = factory.Sequence(lambda n: f"Coupon {n}")
    kind = DiscountKind.AMOUNT_OFF
    amount_off = Decimal("50.00")
    threshold = Decimal("0")
    total_stock = 100
    per_member_limit = 1
    valid_from = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    kind = IncidentKind.NETWORK
    title = factory.Sequence(lambda n: f"WiFi down {n}")


class BenefitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Benefit

    brand = factory.SubFactory(BrandFactory)
    campaign = factory.LazyAttribute(lambda o: CampaignFactory(brand=o.brand))
    kind = BenefitKind.GIFT
    name = factory.Sequence(lambda n: f"Silk pouch {n}")


class RehearsalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rehearsal

    brand = factory.SubFactory(BrandFactory)
    campaign = factory.LazyAttribute(lambda o: CampaignFactory(brand=o.brand))


class OfflineBlockFactory(factory.django.DjangoModelFactory):
    """A block row only (services.offline.issue_block takes the stock and makes coupons)."""

    class Meta:
        model = OfflineBlock

    brand = factory.SubFactory(BrandFactory)
    template = factory.LazyAttribute(lambda o: CouponTemplateFactory(brand=o.brand))
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    size = 10
