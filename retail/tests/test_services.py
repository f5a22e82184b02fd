from decimal import Decimal

import pytest

from retail import audit, services
from retail.choices import AuditAction, Channel, Role
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent, Order, OrderLine, StaffRole
from retail.tests.factories import ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_order_totals_are_computed_from_lines_not_trusted(brand, store):
    shirt = ProductFactory(brand=brand, price=Decimal("99.90"))
    bag = ProductFactory(brand=brand, price=Decimal("300.00"))
    order = services.record_order(
        brand=brand,
        external_id="X1",
        channel=Channel.STORE,
        store=store,
        lines=[
            {"product": shirt, "quantity": 3},
            {"product": bag, "quantity": 1, "unit_price": Decimal("250")},
        ],
        discount_total=Decimal("49.70"),
    )
    assert order.subtotal == Decimal("549.70")
    assert order.total == Decimal("500.00")
    assert OrderLine.objects.filter(order=order).count() == 2


@pytest.mark.parametrize(
    "change, code",
    [
        ({"lines": []}, "no_lines"),
        ({"store": None}, "store_required"),
        ({"discount_total": Decimal("1000")}, "bad_discount"),
    ],
)
def test_refused_orders_write_nothing(brand, store, change, code):
    product = ProductFactory(brand=brand)
    kwargs = {
        "brand": brand,
        "external_id": "X2",
        "channel": Channel.STORE,
        "store": store,
        "lines": [{"product": product, "quantity": 1}],
        **change,
    }
    with pytest.raises(InvalidInput) as refused:
        services.record_order(**kwargs)
    assert refused.value.code == code
    assert not Order.objects.exists()


def test_an_order_cannot_reference_another_brands_rows(brand, other_brand, store):
    foreign = ProductFactory(brand=other_brand)
    with pytest.raises(InvalidInput):
        services.record_order(
            brand=brand,
            external_id="X3",
            channel=Channel.STORE,
            store=store,
            lines=[{"product": foreign, "quantity": 1}],
        )
    foreign_store = StoreFactory(brand=other_brand)
    with pytest.raises(InvalidInput):
        services.record_order(
            brand=brand,
            external_id="X4",
            channel=Channel.STORE,
            store=foreign_store,
            lines=[{"product": ProductFactory(brand=brand), "quantity": 1}],
        )
    assert not Order.objects.exists()


def test_external_id_is_unique_per_brand_only(brand, other_brand, store):
    line = [{"product": ProductFactory(brand=brand), "quantity": 1}]
    services.record_order(brand=brand, external_id="SAME", channel=Channel.ONLINE, lines=line)
    with pytest.raises(Conflict):
        services.record_order(brand=brand, external_id="SAME", channel=Channel.ONLINE, lines=line)
    services.record_order(
        brand=other_brand,
        external_id="SAME",
        channel=Channel.ONLINE,
        lines=[{"product": ProductFactory(brand=other_brand), "quantity": 1}],
    )
    assert Order.objects.filter(external_id="SAME").count() == 2


def test_store_changes_are_audited_with_before_and_after(brand):
    token = audit.set_context(
        audit.RequestContext(request_id="req-1", remote_addr="10.0.0.9", user_id=None, actor_label="tester")
    )
    try:
        store = services.create_store(brand=brand, code="GZ01", name="Guangzhou")
        services.update_store(store=store, name="Guangzhou Tianhe", status="live")
    finally:
        audit.reset_context(token)
    update = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(store.pk))
    assert update.before["name"] == "Guangzhou" and update.after["name"] == "Guangzhou Tianhe"
    assert (
        update.request_id == "req-1" and update.remote_addr == "10.0.0.9" and update.actor_label == "tester"
    )
    # the trail survives the object
    store.delete()
    assert AuditEvent.objects.filter(object_type="retail.store", object_id=str(update.object_id)).count() == 2


def test_duplicate_store_code_is_a_conflict(brand):
    services.create_store(brand=brand, code="BJ01", name="Beijing")
    with pytest.raises(Conflict) as refused:
        services.create_store(brand=brand, code="BJ01", name="Beijing again")
    assert refused.value.fields == {"code": ["A store with this code already exists."]}


def test_roles_are_permission_changes_in_the_audit_trail(brand, store, other_brand):
    user = UserFactory(username="new-guide")
    role = services.grant_role(user=user, brand=brand, role=Role.GUIDE, store=store)
    services.revoke_role(staff_role=role)
    assert not StaffRole.objects.filter(user=user).exists()
    assert (
        AuditEvent.objects.filter(action=AuditAction.PERMISSION, object_type="retail.staffrole").count() == 2
    )
    with pytest.raises(InvalidInput):
        services.grant_role(user=user, brand=other_brand, role=Role.GUIDE, store=store)
    with pytest.raises(InvalidInput):
        services.grant_role(user=user, brand=brand, role=Role.HQ_ADMIN, store=store)


def test_api_tokens_are_stored_hashed_and_unknown_scopes_refused(brand):
    client = services.create_api_client(brand=brand, name="POS", scopes=["orders:write"])
    token, raw = services.issue_api_token(client=client)
    assert raw.startswith("tdk_") and raw not in token.token_hash
    assert token.token_hash == services.hash_token(raw)
    with pytest.raises(InvalidInput):
        services.create_api_client(brand=brand, name="bad", scopes=["everything:write"])
