"""Factories of the workbench. `guide_in(store)` makes a guide (user + role + profile)."""

import datetime as dt
import uuid

import factory
from django.utils import timezone

from guides.choices import (
    AudienceKind,
    InteractionKind,
    MessageChannel,
    Platform,
    TaskKind,
)
from guides.models import (
    Broadcast,
    CallPlan,
    GuideProfile,
    Interaction,
    Livestream,
    ReassignmentBatch,
    ShareContent,
    ShareLink,
    Task,
)
from members.models import Segment
from members.tests.factories import MemberFactory
from retail.choices import Role
from retail.tests.factories import BrandFactory, ProductFactory, StaffRoleFactory, StoreFactory, UserFactory


def guide_in(store, *, username=None, phone="13900001111", influencer=False):
    """A guide of `store`: the user, their StaffRole and their GuideProfile."""
    user = UserFactory(**({"username": username} if username else {}))
    StaffRoleFactory(user=user, brand=store.brand, store=store, role=Role.GUIDE)
    return GuideProfileFactory(
        brand=store.brand, store=store, user=user, phone=phone, is_influencer=influencer
    ).user


class GuideProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuideProfile

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    user = factory.SubFactory(UserFactory)
    tracking_code = factory.Sequence(lambda n: f"G{n:05d}")

    @classmethod
    def _create(cls, model_class, *args, phone="13900001111", **kwargs):
        from members import pii

        profile = model_class(*args, **kwargs)
        if phone:
            normal = pii.normalize_phone(phone)
            profile.phone_encrypted = pii.encrypt(normal)
            profile.phone_masked = pii.mask_phone(normal)
        profile.save()
        return profile


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(dict)


class CallPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallPlan

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    name = factory.Sequence(lambda n: f"Care calls {n}")
    segment = factory.LazyAttribute(lambda o: SegmentFactory(brand=o.brand))
    starts_on = factory.LazyFunction(lambda: timezone.localdate())
    due_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    guide = factory.LazyAttribute(lambda o: guide_in(o.store))
    member = factory.LazyAttribute(lambda o: MemberFactory(brand=o.brand, store=o.store, guide=o.guide))
    kind = TaskKind.CALL
    due_at = factory.LazyFunction(timezone.now)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    guide = factory.LazyAttribute(lambda o: guide_in(o.store))
    member = factory.LazyAttribute(lambda o: MemberFactory(brand=o.brand, store=o.store, guide=o.guide))
    kind = InteractionKind.NOTE
    occurred_at = factory.LazyFunction(timezone.now)
    client_id = factory.LazyFunction(uuid.uuid4)


class BroadcastFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Broadcast

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    channel = MessageChannel.SMS
    audience = AudienceKind.STORE_MEMBERS
    body = "双十一会员专享"


class ReassignmentBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReassignmentBatch

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    reason = "guide_left"


class ShareContentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShareContent

    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Autumn look {n}")
    url = "https://example.com/looks/autumn"


class ShareLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShareLink

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    guide = factory.LazyAttribute(lambda o: guide_in(o.store))
    product = factory.LazyAttribute(lambda o: ProductFactory(brand=o.brand))
    platform = Platform.DOUYIN
    code = factory.Sequence(lambda n: f"L{n:07d}")


class LivestreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Livestream

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    host = factory.LazyAttribute(lambda o: guide_in(o.store))
    title = factory.Sequence(lambda n: f"Double-11 live {n}")
    platform = Platform.DOUYIN
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1, hours=2))
