"""Exactly once under real concurrency (PostgreSQL; threads with their own connections): an
order delivered to several workers at once converts once and is counted once on its share
link."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from guides.choices import InteractionKind, Platform
from guides.models import Conversion, ShareLink, ShareLinkOrder
from guides.services import conversions, sharing
from guides.tests.factories import InteractionFactory, guide_in
from members.tests.factories import MemberFactory
from retail import services as retail_services
from retail.choices import Channel
from retail.models import DomainEvent, StaffRole
from retail.tenancy import principal_for_role
from retail.tests.concurrency import POSTGRES_ONLY, run_together
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = POSTGRES_ONLY


def test_an_order_handled_by_eight_workers_at_once_converts_once(brand):
    store = StoreFactory(brand=brand)
    guide = guide_in(store)
    member = MemberFactory(brand=brand, store=store, guide=guide)
    InteractionFactory(
        brand=brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.VISIT,
        occurred_at=timezone.now() - dt.timedelta(days=1),
    )
    product = ProductFactory(brand=brand)
    order = retail_services.record_order(
        brand=brand,
        external_id="POS-1",
        channel=Channel.STORE,
        store=store,
        member=member,
        lines=[{"product": product, "quantity": 1}],
    )
    Conversion.objects.filter(order=order).delete()  # whatever the commit hook did: start clean
    DomainEvent.objects.filter(name="guide.conversion").delete()
    results = run_together([lambda: conversions.attribute_order(order_id=order.pk) for _n in range(8)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Conversion.objects.filter(order=order).count() == 1
    assert sum(1 for r in results if r is not None) == 1
    assert DomainEvent.objects.filter(name="guide.conversion").count() == 1


def test_a_share_link_order_counted_by_eight_workers_at_once_counts_once(brand):
    store = StoreFactory(brand=brand)
    guide = guide_in(store)
    product = ProductFactory(brand=brand, price=Decimal("50.00"))
    link = sharing.create_link(
        principal_for_role(StaffRole.objects.get(user=guide)), product=product, platform=Platform.DOUYIN
    )
    order = retail_services.record_order(
        brand=brand,
        external_id="WEB-1",
        channel=Channel.ONLINE,
        lines=[{"product": product, "quantity": 2}],
        attribution_token=sharing.token_for(link.code),
    )
    ShareLink.objects.filter(pk=link.pk).update(orders=0, gmv=0)
    ShareLinkOrder.objects.filter(order=order).delete()  # whatever the commit hook did: start clean
    results = run_together([lambda: sharing.count_link_order(order_id=order.pk) for _n in range(8)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results.count(True) == 1
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (1, Decimal("100.00"))
