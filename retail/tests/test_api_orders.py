from decimal import Decimal

import pytest

from members.tests.factories import MemberFactory
from retail.models import DomainEvent, Order
from retail.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_partner_records_an_order_with_lines_and_member_lookup(partner, brand, store):
    # given a product and a member of the brand
    product = ProductFactory(brand=brand, price=Decimal("100.00"))
    member = MemberFactory(brand=brand, phone="13800001234")
    # when the partner posts an order referring to them by sku, store code and phone
    body = {
        "external_id": "POS-1",
        "channel": "store",
        "store_code": store.code,
        "member_phone": "138 0000 1234",
        "discount_total": "10.00",
        "lines": [{"sku": product.sku, "quantity": 2}],
    }
    response = partner.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    # then the order is stored with computed totals and an event
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["subtotal"] == "200.00" and data["total"] == "190.00"
    order = Order.objects.get(external_id="POS-1")
    assert order.member_id == member.pk and order.store_id == store.pk
    assert DomainEvent.objects.filter(name="order.created").count() == 1
    # and a repeat with the same key replays the first answer, writing nothing
    again = partner.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201 and again.json() == data
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_same_idempotency_key_with_a_different_body_is_422(partner, brand, store):
    product = ProductFactory(brand=brand)
    body = {
        "external_id": "POS-2",
        "channel": "store",
        "store": store.pk,
        "lines": [{"product": product.pk, "quantity": 1}],
    }
    assert partner.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k2").status_code == 201
    body["external_id"] = "POS-3"
    response = partner.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Order.objects.filter(external_id="POS-3").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_of_one_idempotency_key_record_one_order(brand, store):
    # given eight clients posting the same order with the same key at the same moment
    import threading

    from django.conf import settings
    from django.db import connection

    if not settings.IS_POSTGRES:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers)")
    from conftest import make_partner

    product = ProductFactory(brand=brand)
    body = {
        "external_id": "RACE-1",
        "channel": "store",
        "store": store.pk,
        "lines": [{"product": product.pk, "quantity": 1}],
    }
    partner = make_partner(brand)
    barrier = threading.Barrier(8)
    answers = []

    def post():
        barrier.wait()
        try:
            response = partner.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="race")
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly one order exists and every repeat waited for it and replayed its 201
    assert Order.objects.filter(external_id="RACE-1").count() == 1
    order_id = Order.objects.get(external_id="RACE-1").pk
    assert answers == [(201, order_id)] * 8
