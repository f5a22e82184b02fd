"""Campaigns in the demo seed (retail.demo signals, connected in PromotionsConfig.ready): a
seeded demo brand gets a published Double-11 campaign in every store (warm-up starting in
two minutes, then pre-sale, main day and after-sale), three coupon templates (满300减50, ¥30
off, 15% off for the top tier), a tier benefit, some coupons given by guides and redeemed,
and one incident on HQ's desk. A wiped brand loses its promotions rows first."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from members.models import Member, Tier
from retail.choices import Role
from retail.models import StaffRole, Store

from . import models as m
from .choices import BenefitKind, ClaimVia, DiscountKind, IncidentKind, Severity
from .services import benefits, campaigns, coupons, incidents, templates

CLAIMS = 40
REDEEMED_SHARE = 0.4


def seed_brand_promotions(sender, *, brand, log=lambda _msg: None, **kwargs) -> None:
    stores = list(Store.objects.filter(brand=brand).order_by("pk"))
    members = list(Member.objects.filter(brand=brand).order_by("pk")[:CLAIMS])
    if not stores or not members:
        return
    rng = random.Random(brand.pk)
    now = timezone.now()
    start = now + dt.timedelta(minutes=2)
    campaign = campaigns.create_campaign(
        brand_id=brand.pk,
        name="双11 Double-11",
        description="Warm-up, pre-sale, the main day and after-sale in every store.",
        stores=stores,
    )
    day = dt.timedelta(days=1)
    campaigns.set_phases(
        campaign=campaign,
        phases={
            "warmup": (start, start + 3 * day),
            "presale": (start + 3 * day, start + 5 * day),
            "main": (start + 5 * day, start + 6 * day),
            "aftersale": (start + 6 * day, start + 9 * day),
        },
    )
    window = {"valid_from": now - dt.timedelta(hours=1), "valid_until": start + 9 * day}
    made = [
        templates.create_template(
            brand_id=brand.pk,
            campaign=campaign,
            name="满300减50",
            kind=DiscountKind.THRESHOLD,
            amount_off=Decimal("50"),
            threshold=Decimal("300"),
            total_stock=500,
            per_member_limit=1,
            **window,
        ),
        templates.create_template(
            brand_id=brand.pk,
            campaign=campaign,
            name="立减30 ¥30 off",
            kind=DiscountKind.AMOUNT_OFF,
            amount_off=Decimal("30"),
            total_stock=1000,
            per_member_limit=2,
            **window,
        ),
    ]
    top = Tier.objects.filter(brand=brand).order_by("-rank").first()
    if top is not None:
        made.append(
            templates.create_template(
                brand_id=brand.pk,
                campaign=campaign,
                name=f"{top.name} 85折",
                kind=DiscountKind.PERCENT_OFF,
                percent_off=15,
                total_stock=200,
                per_member_limit=1,
                tiers=[top],
                **window,
            )
        )
        benefits.create_benefit(
            campaign=campaign,
            kind=BenefitKind.FITTING_ROOM,
            name="Exclusive fitting-room slot 专属试衣间",
            tiers=[top],
        )
    campaigns.publish_campaign(campaign=campaign)
    guides = {
        r.store_id: r.user_id for r in StaffRole.objects.filter(brand=brand, role=Role.GUIDE).order_by("pk")
    }
    given = 0
    for member in members:
        store = rng.choice(stores)
        template = made[given % 2]
        claim = coupons.claim_coupon(
            template=template,
            member=member,
            via=ClaimVia.WORKBENCH,
            staff_id=guides.get(store.pk),
            store=store,
        )
        given += 1
        if rng.random() < REDEEMED_SHARE:
            coupons.redeem_coupon(
                brand_id=brand.pk,
                code=claim.coupon.code,
                store=store,
                subtotal=Decimal(rng.choice(["329.00", "459.00", "899.00"])),
                staff_id=guides.get(store.pk),
                order_ref=f"DEMO-{claim.coupon.pk}",
            )
    hq = StaffRole.objects.filter(brand=brand, role=Role.HQ_ADMIN).order_by("pk").first()
    if hq is not None:
        incidents.report_incident(
            store=stores[0],
            kind=IncidentKind.NETWORK,
            severity=Severity.HIGH,
            title="Store WiFi drops during the rehearsal",
            note="The tablets fall back to offline mode every few minutes.",
            campaign=campaign,
            reported_by_id=hq.user_id,
        )
    log(f"{brand.name}: a published Double-11 campaign, {len(made)} coupon templates, {given} coupons")


def wipe_brand_promotions(sender, *, brand, **kwargs) -> None:
    """Delete the brand's promotions rows (children first) and its campaigns' beat entries."""
    from django_celery_beat.models import PeriodicTask

    task_ids = list(
        m.CampaignPhase.objects.filter(brand=brand, periodic_task__isnull=False).values_list(
            "periodic_task", flat=True
        )
    )
    names = [f"campaign-{pk}-" for pk in m.Campaign.objects.filter(brand=brand).values_list("pk", flat=True)]
    with connection.cursor() as cursor:
        for model in (
            m.OfflineRedemption,
            m.Redemption,
            m.IncidentComment,
            m.Incident,
            m.Coupon,
            m.MemberClaimCount,
            m.OfflineBlock,
            m.BenefitMember,
            m.RehearsalRun,
            m.Rehearsal,
        ):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE brand_id = %s", [brand.pk])
    for benefit in m.Benefit.objects.filter(brand=brand):
        benefit.tiers.clear()
    m.Benefit.objects.filter(brand=brand).delete()
    for template in m.CouponTemplate.objects.filter(brand=brand):
        template.tiers.clear()
        template.valid_stores.clear()
    m.CouponTemplate.objects.filter(brand=brand).delete()
    m.CampaignPhase.objects.filter(brand=brand).delete()
    m.CampaignStore.objects.filter(brand=brand).delete()
    m.Campaign.objects.filter(brand=brand).delete()
    m.CouponKey.objects.filter(brand=brand).delete()
    PeriodicTask.objects.filter(pk__in=task_ids).delete()
    for prefix in names:
        PeriodicTask.objects.filter(name__startswith=prefix).delete()
