"""Django admin for the platform operator: every model browsable, writes audited, PII masked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from members.models import Member
from members.tests.factories import MemberFactory
from retail import services
from retail.admin import EstimatedCountPaginator, estimated_count
from retail.choices import AuditAction, Role
from retail.models import (
    ApiClient,
    ApiToken,
    AuditEvent,
    DomainEvent,
    IdempotencyRecord,
    Product,
    StaffRole,
    Store,
)
from retail.tests.factories import (
    OrderFactory,
    ProductFactory,
    StaffRoleFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def rows(brand, store, other_brand):
    """A few rows of every core model, in two brands."""
    ProductFactory(brand=brand)
    OrderFactory(brand=brand, store=store)
    OrderFactory(brand=other_brand)
    StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE)
    MemberFactory(brand=brand, store=store, phone="13800001234")
    MemberFactory(brand=other_brand, phone="13800001234")
    api = services.create_api_client(brand=brand, name="pos", scopes=["orders:write"])
    services.issue_api_token(client=api)
    IdempotencyRecord.objects.create(
        client=api, key="k", method="POST", path="/api/v1/orders/", request_hash="h"
    )
    services.update_store(store=store, name="Renamed")  # an audit event and a domain event
    assert AuditEvent.objects.exists() and DomainEvent.objects.exists()


def inline_management(prefix: str, initial: int = 0) -> dict:
    """The management form an inline formset posts along."""
    return {
        f"{prefix}-TOTAL_FORMS": str(initial),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def admin_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", admin_models(), ids=lambda m: m._meta.label)
def test_every_changelist_add_and_change_page_renders(operator, rows, model):
    opts = model._meta
    model_admin = admin.site._registry[model]
    changelist = operator.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    add = operator.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(changelist.wsgi_request) else 403)
    obj = model._default_manager.first()
    if obj is not None:
        change = operator.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200


def test_every_core_model_is_in_the_admin():
    from django.apps import apps

    for app_label in ("retail", "members", "devices", "shelves", "promotions", "guides"):
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__ == "OrderLine":
                continue  # inline of Order
            assert model in admin.site._registry, model


def test_every_changelist_is_fit_for_big_tables():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("retail", "members", "devices", "shelves", "promotions", "guides"):
            continue
        assert model_admin.show_full_result_count is False, model
        assert issubclass(model_admin.paginator, EstimatedCountPaginator), model
        assert not model_admin.date_hierarchy, model
        for name in (f.name for f in model._meta.get_fields() if f.many_to_one and f.concrete):
            if name in model_admin.get_readonly_fields(None) and name not in model_admin.get_fields(None):
                continue
            fk_widget = name in model_admin.raw_id_fields or name in model_admin.autocomplete_fields
            assert (
                fk_widget or name in model_admin.readonly_fields or not model_admin.has_add_permission(None)
            ), (
                model,
                name,
            )


def test_changelist_query_count_does_not_grow_with_rows(operator, brand, django_assert_max_num_queries):
    store = StoreFactory(brand=brand)
    for _ in range(3):
        OrderFactory(brand=brand, store=store)
        MemberFactory(brand=brand, store=store)
    url_orders, url_members = (
        reverse("admin:retail_order_changelist"),
        reverse("admin:members_member_changelist"),
    )
    with django_assert_max_num_queries(12) as small:
        operator.get(url_orders)
        operator.get(url_members)
    for _ in range(20):
        OrderFactory(brand=brand, store=store)
        MemberFactory(brand=brand, store=store)
    with django_assert_max_num_queries(len(small.captured_queries)):
        operator.get(url_orders)
        operator.get(url_members)


# --- member PII -----------------------------------------------------------------------------------


def test_member_search_by_exact_phone_finds_the_member(operator, brand, other_brand):
    ours = MemberFactory(brand=brand, phone="13800001234")
    MemberFactory(brand=brand, phone="13800005678")
    url = reverse("admin:members_member_changelist")
    for term in ("13800001234", "+86 138 0000 1234", "138-0000-1234"):
        response = operator.get(url, {"q": term})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [ours], term
    assert list(operator.get(url, {"q": ours.member_no}).context["cl"].result_list) == [ours]
    assert list(operator.get(url, {"q": "1380000"}).context["cl"].result_list) == []  # exact only


def test_member_admin_shows_masked_pii_only(operator, brand):
    member = MemberFactory(brand=brand, phone="13800001234", name="王小明")
    for url in (
        reverse("admin:members_member_changelist"),
        reverse("admin:members_member_change", args=[member.pk]),
    ):
        html = operator.get(url).content.decode()
        assert "138****1234" in html
        assert "13800001234" not in html and "王小明" not in html
        assert member.phone_encrypted not in html


def test_member_created_in_admin_joins_through_the_service(operator, brand, store):
    response = operator.post(
        reverse("admin:members_member_add"),
        {
            "brand": brand.pk,
            "phone": "+86 139 1234 5678",
            "name": "李雷",
            "source": "store",
            "store": store.pk,
            "consent_sms": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = Member.objects.get(brand=brand)
    assert member.phone_masked == "139****5678" and member.member_no.startswith("M")
    assert "13912345678" not in member.phone_encrypted
    assert member.consent_sms and member.store == store
    assert DomainEvent.objects.filter(name="member.joined", brand=brand).count() == 1
    assert AuditEvent.objects.filter(object_type="members.member", action=AuditAction.CREATE).count() == 1


def test_member_phone_changed_in_admin_is_reencrypted_and_audited(operator, brand):
    member = MemberFactory(brand=brand, phone="13800001234")
    url = reverse("admin:members_member_change", args=[member.pk])
    data = {
        "phone": "13900009999",
        "name": "",
        "source": member.source,
        "joined_at_0": "2025-01-01",
        "joined_at_1": "10:00:00",
    }
    response = operator.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.phone_masked == "139****9999"
    assert member.name_masked == "王**"  # a blank name keeps the current one
    event = AuditEvent.objects.get(object_type="members.member", action=AuditAction.UPDATE)
    assert event.before["phone_masked"] == "138****1234" and event.after["phone_masked"] == "139****9999"
    assert event.actor.username == "operator"


def test_member_admin_refuses_a_duplicate_or_invalid_phone(operator, brand):
    MemberFactory(brand=brand, phone="13800001234")
    url = reverse("admin:members_member_add")
    for phone in ("138 0000 1234", "12"):
        response = operator.post(url, {"brand": brand.pk, "phone": phone, "source": "store"})
        assert response.status_code == 200
        assert "phone" in response.context["adminform"].form.errors
    assert Member.objects.count() == 1


# --- writes go through services --------------------------------------------------------------------


def test_store_edit_in_admin_goes_through_the_service(operator, brand, store):
    url = reverse("admin:retail_store_change", args=[store.pk])
    data = {"code": store.code, "name": "Flagship", "city": "Beijing", "address": "", "status": "closed"}
    response = operator.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    store.refresh_from_db()
    assert store.name == "Flagship" and store.status == "closed" and store.brand == brand
    event = AuditEvent.objects.get(object_type="retail.store", action=AuditAction.UPDATE)
    assert event.before["name"] != "Flagship" and event.after["name"] == "Flagship"
    assert event.actor.username == "operator"
    assert DomainEvent.objects.filter(name="store.updated", brand=brand).count() == 1


def test_store_code_clash_in_admin_is_a_form_error(operator, brand, store):
    other = StoreFactory(brand=brand)
    url = reverse("admin:retail_store_change", args=[other.pk])
    response = operator.post(url, {"code": store.code, "name": other.name, "status": other.status})
    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors
    other.refresh_from_db()
    assert other.code != store.code


def test_product_created_in_admin_goes_through_the_service(operator, brand):
    data = {
        "brand": brand.pk,
        "sku": "NEW-1",
        "name": "New",
        "price": "9.90",
        "online_stock": 3,
        "is_active": "on",
    }
    response = operator.post(reverse("admin:retail_product_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(sku="NEW-1")
    assert product.price == Decimal("9.90")
    assert DomainEvent.objects.filter(name="product.created", brand=brand).exists()
    assert AuditEvent.objects.filter(object_type="retail.product", object_id=str(product.pk)).exists()


def test_roles_are_granted_and_revoked_in_admin_as_permission_changes(operator, brand, store):
    user = UserFactory(username="new-guide")
    data = {"user": user.pk, "brand": brand.pk, "store": store.pk, "role": Role.GUIDE}
    response = operator.post(reverse("admin:retail_staffrole_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    role = StaffRole.objects.get(user=user)
    response = operator.post(reverse("admin:retail_staffrole_delete", args=[role.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not StaffRole.objects.filter(user=user).exists()
    messages = list(
        AuditEvent.objects.filter(object_type="retail.staffrole", action=AuditAction.PERMISSION).values_list(
            "message", flat=True
        )
    )
    assert sorted(messages) == ["granted guide", "revoked"]


def test_order_status_change_in_admin_is_audited_and_nothing_else_changes(operator, brand, store):
    order = OrderFactory(brand=brand, store=store)
    url = reverse("admin:retail_order_change", args=[order.pk])
    data = {"status": "refunded", "external_id": "HACKED", "total": "0", **inline_management("lines")}
    response = operator.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.status == "refunded" and order.external_id != "HACKED" and order.total == Decimal("199.00")
    event = AuditEvent.objects.get(object_type="retail.order", action=AuditAction.UPDATE)
    assert event.before["status"] == "paid" and event.after["status"] == "refunded"


# --- partner API clients -----------------------------------------------------------------------------


def test_issue_token_action_shows_the_clear_token_once_and_it_works(operator, brand):
    api = services.create_api_client(brand=brand, name="erp", scopes=["orders:read"])
    url = reverse("admin:retail_apiclient_changelist")
    response = operator.post(url, {"action": "issue_token", "_selected_action": [api.pk]}, follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get(client=api)
    raw = response.content.decode().split("<code>")[1].split("</code>")[0]
    assert raw.startswith(f"tdk_{token.prefix}_")
    assert token.token_hash == services.hash_token(raw)
    # shown once: the next page no longer has it
    assert raw not in operator.get(url).content.decode()
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/orders/").status_code == 200
    # the change page shows the prefix, never the secret
    change = operator.get(reverse("admin:retail_apiclient_change", args=[api.pk])).content.decode()
    assert token.prefix in change and raw not in change and token.token_hash not in change


def test_revoke_actions_revoke_through_the_service(operator, brand):
    api = services.create_api_client(brand=brand, name="erp", scopes=["orders:read"])
    first, _ = services.issue_api_token(client=api)
    second, _ = services.issue_api_token(client=api)
    response = operator.post(
        reverse("admin:retail_apitoken_changelist"), {"action": "revoke", "_selected_action": [first.pk]}
    )
    assert response.status_code == 302
    first.refresh_from_db(), second.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    response = operator.post(
        reverse("admin:retail_apiclient_changelist"),
        {"action": "revoke_tokens", "_selected_action": [api.pk]},
    )
    assert response.status_code == 302
    assert not ApiToken.objects.filter(client=api, revoked_at__isnull=True).exists()
    revoked = AuditEvent.objects.filter(object_type="retail.apitoken", message="token revoked").count()
    assert revoked == 2


def test_api_client_created_in_admin_checks_its_scopes(operator, brand):
    data = {
        "brand": brand.pk,
        "name": "CRM",
        "scopes": ["members:read", "members:write"],
        "is_active": "on",
        **inline_management("tokens"),
    }
    response = operator.post(reverse("admin:retail_apiclient_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    api = ApiClient.objects.get(name="CRM")
    assert api.scopes == ["members:read", "members:write"]
    assert AuditEvent.objects.filter(object_type="retail.apiclient", action=AuditAction.PERMISSION).exists()
    response = operator.post(reverse("admin:retail_apiclient_add"), {**data, "scopes": ["root:all"]})
    assert response.status_code == 200 and "scopes" in response.context["adminform"].form.errors


def test_logs_are_read_only(operator, rows):
    for model in (AuditEvent, DomainEvent, IdempotencyRecord, ApiToken):
        opts = model._meta
        obj = model.objects.first()
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        before = model.objects.filter(pk=obj.pk).values().get()
        operator.post(url, {})
        assert model.objects.filter(pk=obj.pk).values().get() == before
        delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
        assert operator.post(delete, {"post": "yes"}).status_code == 403


def test_audit_search_finds_one_objects_history(operator, brand, store):
    services.update_store(store=store, name="A")
    other = StoreFactory(brand=brand)
    services.update_store(store=other, name="B")
    url = reverse("admin:retail_auditevent_changelist")
    results = operator.get(url, {"q": f"retail.store:{store.pk}"}).context["cl"].result_list
    assert {e.object_id for e in results} == {str(store.pk)}


# --- the paginator -----------------------------------------------------------------------------------


def test_paginator_counts_exactly_on_small_tables(brand):
    for _ in range(3):
        StoreFactory(brand=brand)
    paginator = EstimatedCountPaginator(Store.objects.all(), 2)
    assert paginator.count == 3 and paginator.num_pages == 2
    assert not paginator.is_estimate


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner estimates are PostgreSQL's")
def test_paginator_uses_the_planner_estimate_on_big_postgresql_tables(brand):
    for _ in range(30):
        StoreFactory(brand=brand)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE retail_store")
    unfiltered = estimated_count(Store.objects.all())
    filtered = estimated_count(Store.objects.filter(brand=brand, status="live"))
    assert unfiltered is not None and unfiltered > 0
    assert filtered is not None and filtered >= 1
    paginator = EstimatedCountPaginator(Store.objects.all(), 10)
    paginator.exact_below = 1  # pretend the table is big
    assert paginator.count == unfiltered and paginator.is_estimate
    # a page past an overshooting estimate is empty, not an error
    assert list(paginator.page(paginator.num_pages + 5).object_list) == []


def test_estimate_is_none_off_postgresql_or_for_distinct_queries(brand):
    assert estimated_count(Store.objects.distinct()) is None
    if connection.vendor != "postgresql":
        assert estimated_count(Store.objects.all()) is None


def test_changelist_counts_at_most_once(operator, rows):
    """show_full_result_count=False: no second COUNT(*) of the whole table next to the page's."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        operator.get(reverse("admin:retail_order_changelist"))
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) <= 1
