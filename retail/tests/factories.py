"""Factories for the core. Tests arrange with these, never with JSON fixtures."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from retail import services
from retail.choices import Channel, Role, StoreStatus
from retail.models import Brand, Order, OrderLine, Product, StaffRole, Store


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    brand = factory.SubFactory(BrandFactory)
    code = factory.Sequence(lambda n: f"S{n:04d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    city = "Shanghai"
    status = StoreStatus.LIVE


class StaffRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffRole

    user = factory.SubFactory(UserFactory)
    brand = factory.SubFactory(BrandFactory)
    role = Role.HQ_ADMIN
    store = None


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    brand = factory.SubFactory(BrandFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = "apparel"
    price = Decimal("199.00")
    online_stock = 100


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    brand = factory.SubFactory(BrandFactory)
    external_id = factory.Sequence(lambda n: f"EXT-{n:06d}")
    channel = Channel.STORE
    store = factory.SubFactory(StoreFactory, brand=factory.SelfAttribute("..brand"))
    subtotal = Decimal("199.00")
    total = Decimal("199.00")
    paid_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def lines(obj, create, extracted, **kwargs):
        if not create:
            return
        product = ProductFactory(brand=obj.brand)
        OrderLine.objects.create(
            brand=obj.brand,
            order=obj,
            product=product,
            sku=product.sku,
            name=product.name,
            quantity=1,
            unit_price=obj.subtotal,
            line_total=obj.subtotal,
        )


def api_token(brand, scopes=None, rate_limit_per_minute=None) -> str:
    """A partner token of `brand` with the given scopes (every core scope by default)."""
    from retail.choices import API_SCOPES

    client = services.create_api_client(
        brand=brand,
        name="test partner",
        scopes=scopes if scopes is not None else list(API_SCOPES),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    _, raw = services.issue_api_token(client=client)
    return raw


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "retail.Space"

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    kind = "fitting_room"
    name = factory.Sequence(lambda n: f"Fitting room {n}")
    capacity = 1


class SpaceRuleFactory(factory.django.DjangoModelFactory):
    """Exclusive for the next week, 30-minute slots, no tier (every member) unless given."""

    class Meta:
        model = "retail.SpaceRule"

    brand = factory.SubFactory(BrandFactory)
    space = factory.LazyAttribute(lambda o: SpaceFactory(brand=o.brand))
    store = factory.LazyAttribute(lambda o: o.space.store)
    name = factory.Sequence(lambda n: f"Gold fitting room {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(minute=0, second=0, microsecond=0))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(days=7))


class SpaceBookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "retail.SpaceBooking"

    brand = factory.SubFactory(BrandFactory)
    space = factory.LazyAttribute(lambda o: SpaceFactory(brand=o.brand))
    store = factory.LazyAttribute(lambda o: o.space.store)
    member = factory.LazyAttribute(lambda o: _member(o.brand))
    slot_start = factory.Sequence(
        lambda n: timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=n + 1)
    )
    slot_end = factory.LazyAttribute(lambda o: o.slot_start + dt.timedelta(minutes=30))


def _member(brand):
    from members.tests.factories import MemberFactory

    return MemberFactory(brand=brand)
