"""Counting a share-link order under real concurrency (PostgreSQL; threads with their own
connections): two workers counting the same order at once count it once."""

from decimal import Decimal

from guides.choices import Platform
from guides.models import ShareLink, ShareLinkOrder
from guides.services import sharing
from guides.tests.factories import guide_in
from retail import services as retail_services
from retail.choices import Channel
from retail.models import Order, StaffRole
from retail.tenancy import principal_for_role
from retail.tests.concurrency import POSTGRES_ONLY, run_together
from retail.tests.factories import ProductFactory, StoreFactory

pytestmark = POSTGRES_ONLY


def test_two_workers_counting_the_same_order_at_once_count_it_once(brand):
    # given an order attributed through a share link, not counted yet
    store = StoreFactory(brand=brand)
    guide = guide_in(store)
    product = ProductFactory(brand=brand, price=Decimal("30.00"))
    link = sharing.create_link(
        principal_for_role(StaffRole.objects.get(user=guide)), product=product, platform=Platform.MOMENTS
    )
    order = retail_services.record_order(
        brand=brand,
        external_id="WEB-1",
        channel=Channel.ONLINE,
        lines=[{"product": product, "quantity": 3}],
        attribution_token=sharing.token_for(link.code),
    )
    ShareLinkOrder.objects.filter(order=order).delete()  # whatever the commit hook did: start clean
    ShareLink.objects.filter(pk=link.pk).update(orders=0, gmv=0)
    attribution = Order.objects.get(pk=order.pk).attribution
    # when two workers count it at once
    results = run_together([lambda: sharing.count_link_order(order_id=order.pk) for _n in range(2)])
    # then exactly one counted it, once, and retail's order is as it was
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [False, True]
    assert ShareLinkOrder.objects.filter(order=order).count() == 1
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (1, Decimal("90.00"))
    assert Order.objects.get(pk=order.pk).attribution == attribution
