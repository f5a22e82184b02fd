"""The workbench in the demo seed (retail.demo signals, connected through guides.hooks): a
seeded demo brand gets a workbench profile for every guide, the recruitment history of their
members, today's tasks, a month of calls and messages (some answered, some converted), a share
link per guide and an upcoming livestream. A wiped brand loses its workbench rows first."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from django.db import connection
from django.utils import timezone

from members import pii
from members.models import Member
from retail.choices import Role
from retail.models import Product, StaffRole

from . import models as m
from .choices import AssignmentReason, CallStatus, InteractionKind, NextStep, Outcome, Platform, TaskKind

TASKS_PER_GUIDE = 8
INTERACTIONS_PER_GUIDE = 30


def connect() -> None:
    from retail import demo

    demo.brand_seeded.connect(seed_brand_guides, dispatch_uid="guides-seed")
    demo.brand_wiping.connect(wipe_brand_guides, dispatch_uid="guides-wipe")


def seed_brand_guides(sender, *, brand, log=lambda _msg: None, **kwargs) -> None:
    rng = random.Random(brand.pk * 7)
    now = timezone.now()
    m.GuideSettings.objects.get_or_create(brand=brand)
    roles = list(
        StaffRole.objects.filter(brand=brand, role=Role.GUIDE).select_related("store").order_by("pk")
    )
    profiles = []
    for n, role in enumerate(roles, start=1):
        phone = pii.normalize_phone(f"1370{brand.pk % 1000:03d}{n:04d}")  # the phone the bridge rings
        profile, _ = m.GuideProfile.objects.get_or_create(
            brand=brand,
            user=role.user,
            defaults={
                "store": role.store,
                "tracking_code": f"D{brand.pk:03d}{n:03d}",
                "is_influencer": n % 2 == 1,
                "phone_encrypted": pii.encrypt(phone),
                "phone_masked": pii.mask_phone(phone),
            },
        )
        profiles.append(profile)
    # the recruitment history of every member who has a guide
    m.AssignmentChange.objects.bulk_create(
        m.AssignmentChange(
            brand_id=brand.pk,
            store_id=store_id,
            member_id=member_id,
            to_guide_id=guide_id,
            reason=AssignmentReason.RECRUITED,
        )
        for member_id, store_id, guide_id in Member.objects.filter(
            brand=brand, guide__isnull=False
        ).values_list("pk", "store_id", "guide_id")
    )
    products = list(Product.objects.filter(brand=brand, is_active=True).order_by("pk")[:20])
    tasks, interactions = [], []
    for profile in profiles:
        members = list(Member.objects.filter(brand=brand, guide=profile.user).order_by("pk")[:60])
        if not members:
            continue
        for member in members[:TASKS_PER_GUIDE]:
            tasks.append(
                m.Task(
                    brand_id=brand.pk,
                    store_id=profile.store_id,
                    guide_id=profile.user_id,
                    member=member,
                    kind=TaskKind.CALL,
                    title="Monthly care call",
                    due_at=now + dt.timedelta(hours=rng.randint(-30, 8)),
                )
            )
        for _ in range(INTERACTIONS_PER_GUIDE):
            member = rng.choice(members)
            when = now - dt.timedelta(days=rng.randint(0, 25), minutes=rng.randint(0, 600))
            if rng.random() < 0.7:
                answered = rng.random() < 0.6
                interactions.append(
                    m.Interaction(
                        brand_id=brand.pk,
                        store_id=profile.store_id,
                        guide_id=profile.user_id,
                        member=member,
                        kind=InteractionKind.CALL,
                        occurred_at=when,
                        client_id=uuid.uuid4(),
                        provider="simulated",
                        call_status=CallStatus.COMPLETED if answered else CallStatus.NO_ANSWER,
                        answered=answered,
                        answered_at=when + dt.timedelta(seconds=8) if answered else None,
                        ended_at=when + dt.timedelta(seconds=rng.randint(40, 400)),
                        duration_seconds=rng.randint(30, 390) if answered else 0,
                        outcome=rng.choice([Outcome.INTERESTED, Outcome.WILL_VISIT, Outcome.CALL_BACK])
                        if answered
                        else Outcome.NO_ANSWER,
                        next_step=NextStep.NONE,
                    )
                )
            else:
                interactions.append(
                    m.Interaction(
                        brand_id=brand.pk,
                        store_id=profile.store_id,
                        guide_id=profile.user_id,
                        member=member,
                        kind=rng.choice([InteractionKind.VISIT, InteractionKind.MESSAGE]),
                        occurred_at=when,
                        client_id=uuid.uuid4(),
                        outcome=Outcome.INTERESTED,
                        next_step=NextStep.NONE,
                    )
                )
        if products:
            product = products[profile.pk % len(products)]
            m.ShareLink.objects.get_or_create(
                code=f"demo{brand.pk}x{profile.pk}",
                defaults={
                    "brand_id": brand.pk,
                    "store_id": profile.store_id,
                    "guide_id": profile.user_id,
                    "product": product,
                    "platform": Platform.DOUYIN,
                },
            )
    m.Task.objects.bulk_create(tasks, ignore_conflicts=True)
    m.Interaction.objects.bulk_create(interactions)
    if profiles and products:
        host = profiles[0]
        start = (now + dt.timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
        stream, created = m.Livestream.objects.get_or_create(
            brand=brand,
            store_id=host.store_id,
            title="双11 直播预热",
            defaults={
                "host_id": host.user_id,
                "platform": Platform.DOUYIN,
                "starts_at": start,
                "ends_at": start + dt.timedelta(hours=2),
            },
        )
        if created:
            stream.products.set(products[:5])
    _attribute(brand, since=now - dt.timedelta(days=40))
    log(f"  workbench: {len(profiles)} guides, {len(tasks)} tasks, {len(interactions)} interactions")


def _attribute(brand, *, since) -> None:
    """Conversions of the seeded orders (the seed writes orders before interactions)."""
    from .services.conversions import reattribute

    reattribute(brand_id=brand.pk, since=since)


def wipe_brand_guides(sender, *, brand, **kwargs) -> None:
    """Delete the brand's workbench rows, children first."""
    m.ShareClick.objects.filter(link__brand=brand).delete()
    m.LivestreamSignup.objects.filter(livestream__brand=brand).delete()
    m.CallEvent.objects.filter(interaction__brand=brand).delete()
    for stream in m.Livestream.objects.filter(brand=brand):
        stream.products.clear()
    with connection.cursor() as cursor:
        # tasks and interactions point at each other: unlink them before deleting either
        cursor.execute(
            f"UPDATE {m.Task._meta.db_table} SET interaction_id = NULL WHERE brand_id = %s", [brand.pk]
        )
        cursor.execute(
            f"UPDATE {m.Interaction._meta.db_table} SET task_id = NULL WHERE brand_id = %s", [brand.pk]
        )
        for model in (
            m.Conversion,
            m.Message,
            m.Broadcast,
            m.Interaction,
            m.Task,
            m.AssignmentChange,
            m.ReassignmentBatch,
            m.CallPlan,
            m.ShareLink,
            m.ShareContent,
            m.Livestream,
            m.GuideProfile,
            m.GuideSettings,
        ):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE brand_id = %s", [brand.pk])
