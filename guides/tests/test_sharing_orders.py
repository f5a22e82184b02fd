"""Share-link orders are counted in guides' own table: an attributed paid order adds to its
link once however often it is counted, retail's order is read and never written, and the
migration that replaced the old `share_link_counted` marker turns marked orders into rows."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guides.choices import Platform
from guides.models import ShareLink, ShareLinkOrder
from guides.services import sharing
from guides.tests.factories import ShareLinkFactory, guide_in
from retail import services as retail_services
from retail.choices import OrderStatus
from retail.models import Order, StaffRole
from retail.tenancy import principal_for_role
from retail.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("guides.migrations.0003_share_link_orders").backfill_counted_orders


@pytest.fixture
def product(brand):
    return ProductFactory(brand=brand, price=Decimal("80.00"))


@pytest.fixture
def link(store, product):
    guide = guide_in(store, username="influencer-b", influencer=True)
    principal = principal_for_role(StaffRole.objects.get(user=guide))
    return sharing.create_link(principal, product=product, platform=Platform.WEIBO)


def _order(brand, product, link, external_id="WEB-1", quantity=1):
    # no commit hooks run here (the test's transaction never commits): nothing counted yet
    return retail_services.record_order(
        brand=brand,
        external_id=external_id,
        channel="online",
        lines=[{"product": product, "quantity": quantity}],
        attribution_token=sharing.token_for(link.code),
    )


def _mark_as_counted_the_old_way(order):
    record = Order.objects.get(pk=order.pk).attribution
    Order.objects.filter(pk=order.pk).update(attribution={**record, "share_link_counted": True})


def test_an_attributed_order_counts_once_however_often_it_is_counted(brand, store, product, link):
    # given an order attributed through the link
    order = _order(brand, product, link, quantity=2)
    # when the count runs twice (a redelivered order.created)
    first = sharing.count_link_order(order_id=order.pk)
    second = sharing.count_link_order(order_id=order.pk)
    # then only the first counted
    assert (first, second) == (True, False)
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (1, Decimal("160.00"))
    row = ShareLinkOrder.objects.get()
    assert (row.brand_id, row.store_id, row.link_id, row.order_id, row.amount) == (
        brand.pk,
        store.pk,
        link.pk,
        order.pk,
        Decimal("160.00"),
    )
    assert list(link.counted_orders.all()) == [row]


def test_counting_leaves_retails_order_as_it_was(brand, product, link):
    # given an attributed order
    order = _order(brand, product, link)
    before = Order.objects.values().get(pk=order.pk)
    # when it is counted
    with CaptureQueriesContext(connection) as queries:
        assert sharing.count_link_order(order_id=order.pk) is True
    # then its row, attribution JSON included, is unchanged and never written
    after = Order.objects.values().get(pk=order.pk)
    assert after["attribution"] == before["attribution"]
    assert after == before
    assert "share_link_counted" not in after["attribution"]
    writes = [
        q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert not [sql for sql in writes if Order._meta.db_table in sql], writes


def test_an_unpaid_or_unattributed_order_or_another_brands_link_counts_nothing(
    brand, other_brand, product, link
):
    refunded = _order(brand, product, link, "WEB-R")
    Order.objects.filter(pk=refunded.pk).update(status=OrderStatus.REFUNDED)
    plain = retail_services.record_order(
        brand=brand, external_id="WEB-P", channel="online", lines=[{"product": product, "quantity": 1}]
    )
    theirs = ShareLinkFactory(brand=other_brand)
    tampered = _order(brand, product, link, "WEB-T")
    record = Order.objects.get(pk=tampered.pk).attribution
    Order.objects.filter(pk=tampered.pk).update(attribution={**record, "share_link": theirs.pk})
    for order in (refunded, plain, tampered):
        assert sharing.count_link_order(order_id=order.pk) is False
    assert sharing.count_link_order(order_id=10**9) is False
    assert not ShareLinkOrder.objects.exists()
    assert set(ShareLink.objects.values_list("orders", flat=True)) == {0}


def test_the_migration_makes_a_row_for_each_order_the_old_marker_counted(
    brand, other_brand, store, product, link
):
    # given orders counted under the old marker (one since refunded), one never counted,
    # one with a row already and one whose marker points at another brand's link
    marked = _order(brand, product, link, "WEB-M", quantity=3)
    refunded = _order(brand, product, link, "WEB-R")
    unmarked = _order(brand, product, link, "WEB-U")
    already = _order(brand, product, link, "WEB-A")
    theirs = _order(brand, product, link, "WEB-X")
    for order in (marked, refunded, already, theirs):
        _mark_as_counted_the_old_way(order)
    Order.objects.filter(pk=refunded.pk).update(status=OrderStatus.REFUNDED)
    ShareLinkOrder.objects.create(brand=brand, store=store, link=link, order=already, amount=Decimal("80.00"))
    other_link = ShareLinkFactory(brand=other_brand)
    record = Order.objects.get(pk=theirs.pk).attribution
    Order.objects.filter(pk=theirs.pk).update(attribution={**record, "share_link": other_link.pk})
    ShareLink.objects.filter(pk=link.pk).update(orders=3, gmv=Decimal("400.00"))
    # when the data step runs (twice: it is safe to repeat)
    made = backfill(apps, None)
    again = backfill(apps, None)
    # then the marked orders of the link's brand have rows, nothing twice
    assert (made, again) == (2, 0)
    rows = dict(ShareLinkOrder.objects.values_list("order_id", "amount"))
    assert rows == {
        marked.pk: Decimal("240.00"),
        refunded.pk: Decimal("80.00"),
        already.pk: Decimal("80.00"),
    }
    assert set(ShareLinkOrder.objects.values_list("brand_id", "store_id", "link_id")) == {
        (brand.pk, store.pk, link.pk)
    }
    # and a redelivered event for a migrated order adds nothing; the unmarked one still counts
    assert sharing.count_link_order(order_id=marked.pk) is False
    assert sharing.count_link_order(order_id=unmarked.pk) is True
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (4, Decimal("480.00"))
