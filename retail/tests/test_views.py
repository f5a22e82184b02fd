"""The HTML pages: each role's home, language and role switches, scoping, bounded queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from members.tests.factories import MemberFactory
from retail import audit
from retail.choices import AuditAction, Channel, Role
from retail.models import AuditEvent
from retail.tests.factories import (
    OrderFactory,
    ProductFactory,
    StaffRoleFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAGES = [
    "retail:home",
    "retail:hq_home",
    "retail:store_home",
    "retail:guide_home",
    "retail:store_list",
    "retail:product_list",
    "retail:order_list",
    "retail:audit_list",
]


# --- login and homes -------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_object_pages_also_require_login(client, store):
    response = client.get(reverse("retail:store_detail", kwargs={"store_id": store.pk}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_and_logging_in_lands_on_the_role_home(client, hq_user):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content

    response = client.post(
        reverse("login"), {"username": "hq-a", "password": "pass-1234", "next": "/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("retail:hq_home")
    assert b"Brand overview" in response.content


def test_wrong_password_shows_an_error_and_logs_nobody_in(client, hq_user):
    response = client.post(reverse("login"), {"username": "hq-a", "password": "nope", "next": "/"})
    assert response.status_code == 200
    assert b"form-errors" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("user_fixture", "home", "marker"),
    [
        ("hq_user", "retail:hq_home", b"Brand overview"),
        ("manager_user", "retail:store_home", b"My stores today"),
        ("guide_user", "guides:workbench", b"Today"),
    ],
)
def test_each_role_lands_on_its_own_home(client, request, user_fixture, home, marker):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(reverse("retail:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(home)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert marker in page.content


def test_superuser_without_role_goes_to_the_admin(client, db):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    response = client.get(reverse("retail:home"))
    assert response["Location"] == reverse("admin:index")


def test_user_without_role_gets_a_friendly_page(client, db):
    client.force_login(UserFactory(username="newbie"))
    response = client.get(reverse("retail:home"))
    assert response.status_code == 200
    assert b"no role in any brand yet" in response.content


def test_a_home_of_another_role_is_refused(client, manager_user):
    client.force_login(manager_user)
    assert client.get(reverse("retail:hq_home")).status_code == 403
    assert client.get(reverse("retail:guide_home")).status_code == 403


def test_logout_is_a_post(client, hq_user):
    client.force_login(hq_user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- language and role switches -----------------------------------------------------------


def test_language_switch_renders_pages_in_chinese(client, hq_user):
    client.force_login(hq_user)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/hq/"})
    assert response.status_code == 302
    page = client.get(reverse("retail:hq_home"))
    html = page.content.decode()
    assert 'lang="zh-hans"' in html
    assert "品牌概览" in html
    assert "订单" in html
    assert "Brand overview" not in html


def test_role_switch_changes_the_home_for_a_user_with_several_roles(client, brand, store):
    user = UserFactory(username="both")
    StaffRoleFactory(user=user, brand=brand, role=Role.HQ_ADMIN)
    guide_role = StaffRoleFactory(user=user, brand=brand, store=store, role=Role.GUIDE)
    client.force_login(user)
    assert client.get(reverse("retail:home"))["Location"] == reverse("retail:hq_home")
    assert b'name="role_id"' in client.get(reverse("retail:hq_home")).content

    response = client.post(reverse("retail:role_switch"), {"role_id": guide_role.pk})

    assert response.status_code == 302
    assert client.session["active_role_id"] == guide_role.pk
    assert client.get(reverse("retail:home"))["Location"] == reverse("guides:workbench")


def test_role_switch_refuses_a_role_of_someone_else(client, hq_user, manager_user):
    client.force_login(hq_user)
    other_role = manager_user.staff_roles.get()
    response = client.post(reverse("retail:role_switch"), {"role_id": other_role.pk})
    assert response.status_code == 404
    assert "active_role_id" not in client.session
    assert client.post(reverse("retail:role_switch"), {"role_id": "junk"}).status_code == 404
    assert client.get(reverse("retail:role_switch")).status_code == 405


# --- homes show the right figures -------------------------------------------------------------


def test_hq_home_shows_brand_kpis_gmv_in_cny_and_a_chart_without_inline_script(client, brand, store, hq_user):
    OrderFactory(brand=brand, store=store, subtotal=Decimal("1000.00"), total=Decimal("1000.00"))
    OrderFactory(brand=brand, store=store, subtotal=Decimal("234.00"), total=Decimal("234.00"))
    old = timezone.now() - timedelta(days=40)
    OrderFactory(brand=brand, store=store, total=Decimal("5000.00"), paid_at=old)
    OrderFactory(brand=StoreFactory().brand, total=Decimal("777.00"))  # another brand
    client.force_login(hq_user)

    html = client.get(reverse("retail:hq_home")).content.decode()

    assert "¥1,234.00" in html
    assert "¥777.00" not in html and "5,000.00" not in html
    assert 'id="sales-data" type="application/json"' in html
    assert "js/charts.js" in html
    # every <script> is an external file or JSON data: nothing for a CSP to forbid
    for chunk in html.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head


def test_store_manager_home_lists_today_per_managed_store_and_staff(client, brand, store, manager_user):
    other = StoreFactory(brand=brand, name="Not Mine")
    OrderFactory(brand=brand, store=store, total=Decimal("88.00"), external_id="MINE-1")
    OrderFactory(brand=brand, store=other, total=Decimal("99.00"), external_id="THEIRS-1")
    client.force_login(manager_user)

    html = client.get(reverse("retail:store_home")).content.decode()

    assert store.name in html
    assert "¥88.00" in html
    assert "MINE-1" in html
    assert "Not Mine" not in html and "THEIRS-1" not in html
    assert "manager-a" in html
    assert reverse("retail:store_detail", kwargs={"store_id": store.pk}) in html


def test_guide_home_shows_own_members_masked_and_attributed_orders(client, brand, store, guide_user):
    MemberFactory(brand=brand, store=store, guide=guide_user, phone="13812345678", name="李雷")
    MemberFactory(brand=brand, store=store, guide=None, phone="13900001111", name="韩梅梅")
    OrderFactory(brand=brand, store=store, guide=guide_user, total=Decimal("300.00"), external_id="G-1")
    OrderFactory(brand=brand, store=store, guide=None, total=Decimal("50.00"), external_id="NOT-G")
    client.force_login(guide_user)

    html = client.get(reverse("retail:guide_home")).content.decode()

    assert "138****5678" in html
    assert "13812345678" not in html
    assert "139****1111" not in html
    assert "G-1" in html and "NOT-G" not in html
    assert "¥300.00" in html


# --- object pages: scoping ---------------------------------------------------------------


def test_store_manager_cannot_open_another_store_of_the_same_brand(client, brand, store, manager_user):
    other = StoreFactory(brand=brand)
    client.force_login(manager_user)
    assert client.get(reverse("retail:store_detail", kwargs={"store_id": store.pk})).status_code == 200
    assert client.get(reverse("retail:store_detail", kwargs={"store_id": other.pk})).status_code == 404
    other_order = OrderFactory(brand=brand, store=other)
    assert client.get(reverse("retail:order_detail", kwargs={"order_id": other_order.pk})).status_code == 404


def test_another_brands_objects_are_404(client, hq_user, other_brand):
    store = StoreFactory(brand=other_brand)
    product = ProductFactory(brand=other_brand)
    order = OrderFactory(brand=other_brand, store=store)
    stranger = StaffRoleFactory(
        user=UserFactory(username="stranger"), brand=other_brand, role=Role.HQ_ADMIN
    ).user
    client.force_login(hq_user)
    for name, kwargs in [
        ("retail:store_detail", {"store_id": store.pk}),
        ("retail:product_detail", {"product_id": product.pk}),
        ("retail:order_detail", {"order_id": order.pk}),
        ("retail:audit_user", {"user_id": stranger.pk}),
    ]:
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 404, name


def test_store_detail_shows_staff_orders_and_chart(client, brand, store, hq_user, guide_user):
    OrderFactory(brand=brand, store=store, external_id="S-ORDER-1")
    client.force_login(hq_user)
    html = client.get(reverse("retail:store_detail", kwargs={"store_id": store.pk})).content.decode()
    assert "guide-a" in html
    assert "S-ORDER-1" in html
    assert 'id="store-sales-data"' in html


def test_order_detail_shows_lines_masked_member_and_guide(client, brand, store, hq_user, guide_user):
    member = MemberFactory(brand=brand, store=store, phone="13812345678")
    order = OrderFactory(brand=brand, store=store, member=member, guide=guide_user)
    client.force_login(hq_user)
    html = client.get(reverse("retail:order_detail", kwargs={"order_id": order.pk})).content.decode()
    assert "138****5678" in html and "13812345678" not in html
    assert "guide-a" in html
    assert order.lines.get().sku in html


def test_product_detail_shows_30_day_sales(client, brand, store, hq_user):
    order = OrderFactory(brand=brand, store=store, subtotal=Decimal("199.00"), total=Decimal("199.00"))
    product = order.lines.get().product
    client.force_login(hq_user)
    html = client.get(reverse("retail:product_detail", kwargs={"product_id": product.pk})).content.decode()
    assert product.sku in html
    assert "¥199.00" in html


def test_product_search_filters_and_htmx_gets_only_the_rows(client, brand, hq_user):
    ProductFactory(brand=brand, sku="TEA-001", name="Oolong tea")
    ProductFactory(brand=brand, sku="CUP-001", name="Porcelain cup")
    client.force_login(hq_user)

    full = client.get(reverse("retail:product_list"), {"q": "tea"})
    assert b"TEA-001" in full.content and b"CUP-001" not in full.content
    assert b"<html" in full.content

    partial = client.get(
        reverse("retail:product_list"),
        {"q": "cup"},
        headers={"HX-Request": "true", "HX-Target": "product-rows"},
    )
    assert b"CUP-001" in partial.content and b"TEA-001" not in partial.content
    assert b"<html" not in partial.content


def test_product_list_pages_by_50(client, brand, hq_user):
    ProductFactory.create_batch(51, brand=brand)
    client.force_login(hq_user)
    first = client.get(reverse("retail:product_list"))
    assert len(first.context["page"].items) == 50
    assert first.context["page"].has_next
    second = client.get(reverse("retail:product_list"), {"page": 2})
    assert len(second.context["page"].items) == 1
    assert not second.context["page"].has_next


def test_order_list_filters_by_channel_store_and_day(client, brand, store, hq_user):
    other = StoreFactory(brand=brand)
    OrderFactory(brand=brand, store=store, channel=Channel.STORE, external_id="IN-STORE")
    OrderFactory(brand=brand, store=other, channel=Channel.ONLINE, external_id="ONLINE-1")
    OrderFactory(
        brand=brand, store=store, external_id="LAST-WEEK", paid_at=timezone.now() - timedelta(days=7)
    )
    client.force_login(hq_user)
    url = reverse("retail:order_list")

    online = client.get(url, {"channel": "online"}).content.decode()
    assert "ONLINE-1" in online and "IN-STORE" not in online

    by_store = client.get(url, {"store": other.pk}).content.decode()
    assert "ONLINE-1" in by_store and "IN-STORE" not in by_store

    today = client.get(url, {"day": timezone.localdate().isoformat()}).content.decode()
    assert "IN-STORE" in today and "LAST-WEEK" not in today

    bad = client.get(url, {"day": "not-a-date", "channel": "online"})
    assert bad.status_code == 200
    assert b"form-errors" in bad.content
    assert b"ONLINE-1" in bad.content and b"IN-STORE" not in bad.content  # the valid filter holds


def test_order_list_store_filter_offers_only_the_managers_stores(client, brand, store, manager_user):
    other = StoreFactory(brand=brand, name="Elsewhere")
    OrderFactory(brand=brand, store=other, external_id="ELSEWHERE-1")
    client.force_login(manager_user)
    html = client.get(reverse("retail:order_list"), {"store": other.pk}).content.decode()
    assert "Elsewhere" not in html
    assert "ELSEWHERE-1" not in html


# --- audit ----------------------------------------------------------------------------------


def test_audit_trail_is_for_hq_only_and_filters_by_object_and_actor(
    client, brand, store, hq_user, manager_user
):
    product = ProductFactory(brand=brand, name="Audited tea")
    audit.record(AuditAction.UPDATE, product, actor_id=manager_user.pk, actor_label="manager-a")
    audit.record(AuditAction.UPDATE, store, actor_id=hq_user.pk, actor_label="hq-a")
    AuditEvent.objects.create(
        brand=StoreFactory().brand,
        action=AuditAction.CREATE,
        object_type="retail.store",
        object_id="999",
        object_repr="Foreign store",
    )
    client.force_login(manager_user)
    assert client.get(reverse("retail:audit_list")).status_code == 404

    client.force_login(hq_user)
    url = reverse("retail:audit_list")
    everything = client.get(url).content.decode()
    assert "Audited tea" in everything and "Foreign store" not in everything

    one_object = client.get(url, {"object_type": "retail.product", "object_id": product.pk}).content.decode()
    assert "Audited tea" in one_object and store.name not in one_object.split("<tbody>")[1]

    by_actor = client.get(url, {"actor": manager_user.pk}).content.decode()
    assert "Audited tea" in by_actor

    user_page = client.get(reverse("retail:audit_user", kwargs={"user_id": manager_user.pk}))
    assert user_page.status_code == 200
    assert b"Audited tea" in user_page.content


def test_audit_user_page_is_404_for_a_user_without_role_in_the_brand(client, hq_user):
    loner = UserFactory(username="loner")
    client.force_login(hq_user)
    assert client.get(reverse("retail:audit_user", kwargs={"user_id": loner.pk})).status_code == 404


# --- bounded queries ------------------------------------------------------------------------


def _orders(brand, stores, n, guide=None):
    for i in range(n):
        member = MemberFactory(brand=brand, store=stores[i % len(stores)], guide=guide)
        OrderFactory(brand=brand, store=stores[i % len(stores)], member=member, guide=guide)


@pytest.mark.parametrize("rows", [2, 12])
def test_list_pages_run_a_fixed_number_of_queries(
    client, brand, store, hq_user, guide_user, rows, django_assert_num_queries
):
    stores = [store, *StoreFactory.create_batch(rows - 1, brand=brand)]
    _orders(brand, stores, rows, guide=guide_user)
    for s in stores:
        audit.record(AuditAction.UPDATE, s, actor_id=hq_user.pk, actor_label="hq-a")
    client.force_login(hq_user)
    client.get(reverse("retail:store_list"))  # the user's roles are read once, then cached
    # session + user = 2 before a page's own
    expected = {
        "retail:store_list": 3,
        "retail:product_list": 3,
        "retail:order_list": 4,  # + the store filter's choices
        "retail:audit_list": 4,  # + the actor filter's choices
        "retail:hq_home": 7,
    }
    for name, count in expected.items():
        with django_assert_num_queries(count):
            assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("rows", [2, 12])
def test_role_homes_run_a_fixed_number_of_queries(
    client, brand, store, manager_user, guide_user, rows, django_assert_num_queries
):
    stores = [store, *StoreFactory.create_batch(rows - 1, brand=brand)]
    for s in stores:
        StaffRoleFactory(
            user=manager_user, brand=brand, store=s, role=Role.STORE_MANAGER
        ) if s != store else None
        StaffRoleFactory(brand=brand, store=s, role=Role.GUIDE)
    _orders(brand, stores, rows, guide=guide_user)
    client.force_login(manager_user)
    # cold caches: the user's roles and the header bell's count are read once each
    with django_assert_num_queries(8):
        assert client.get(reverse("retail:store_home")).status_code == 200
    client.force_login(guide_user)
    with django_assert_num_queries(9):
        assert client.get(reverse("retail:guide_home")).status_code == 200


def test_a_manager_of_several_stores_acts_for_all_of_them_without_a_role_switch(
    client, brand, store, manager_user
):
    second = StoreFactory(brand=brand, name="Second Store")
    StaffRoleFactory(user=manager_user, brand=brand, store=second, role=Role.STORE_MANAGER)
    client.force_login(manager_user)
    html = client.get(reverse("retail:store_home")).content.decode()
    assert 'name="role_id"' not in html
    assert "2 stores" in html
    assert store.name in html and "Second Store" in html


def test_pages_forbid_inline_scripts_through_csp(client, hq_user):
    client.force_login(hq_user)
    policy = client.get("/hq/")["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )


def test_sales_figures_are_cached_briefly_per_visible_scope(hq_user, manager_user, store, settings):
    from retail.selectors import principal_for_user, sales_summary
    from retail.tests.factories import OrderFactory

    settings.SALES_FIGURES_CACHE_SECONDS = 60
    hq = principal_for_user(user=hq_user)
    manager = principal_for_user(user=manager_user)
    OrderFactory(brand=store.brand, store=store)
    assert sales_summary(principal=hq)["orders"] == 1
    OrderFactory(brand=store.brand, store=store)
    assert sales_summary(principal=hq)["orders"] == 1  # served from the cache
    assert sales_summary(principal=manager)["orders"] == 2  # another scope, another entry
    settings.SALES_FIGURES_CACHE_SECONDS = 0
    assert sales_summary(principal=hq)["orders"] == 2


def test_livez_answers_without_asking_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200 and response.content == b"ok"
