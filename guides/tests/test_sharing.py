"""Share links: guides make them; an open of /g/<code>/ counts one click and shows the
product with a buy button carrying the token; the token attributes an online order (through
the orders API) to the guide and store and adds it to the link once; foreign, unknown and
expired tokens keep the order without attribution; the pages per role."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from conftest import make_partner
from guides.choices import Platform
from guides.models import ShareClick, ShareContent, ShareLink, ShareLinkOrder
from guides.services import sharing as services
from guides.tests.factories import ShareContentFactory, ShareLinkFactory, guide_in
from retail.choices import Role
from retail.errors import DomainError
from retail.models import DomainEvent, Order
from retail.tenancy import principal_for_role
from retail.tests.factories import BrandFactory, ProductFactory, StaffRoleFactory, StoreFactory
from shelves.selectors import shelf_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide(store):
    return guide_in(store, username="influencer-a", influencer=True)


@pytest.fixture
def product(brand):
    return ProductFactory(brand=brand, name="羊绒围巾", price=Decimal("199.00"), sku="SCARF-1")


def _principal(user):
    from retail.models import StaffRole

    return principal_for_role(StaffRole.objects.get(user=user))


def _order_body(product, token, external_id="WEB-1"):
    return {
        "external_id": external_id,
        "channel": "online",
        "lines": [{"sku": product.sku, "quantity": 1}],
        "attribution_token": token,
    }


def _post_order(brand, body, capture, key="k1"):
    partner = make_partner(brand, ["orders:write", "orders:read"])
    with capture(execute=True):
        return partner.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_guide_makes_a_link_with_a_random_unique_code(guide, product, store):
    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    other = services.create_link(_principal(guide), product=product, platform=Platform.WEIBO)
    assert (link.guide_id, link.store_id, link.brand_id) == (guide.pk, store.pk, store.brand_id)
    assert len(link.code) >= 12 and link.code != other.code
    assert services.token_for(link.code) == f"gl.{link.code}"


def test_only_guides_make_links_and_only_for_their_brands_products(guide, manager_user, other_brand, product):
    with pytest.raises(DomainError):
        services.create_link(_principal(manager_user), product=product, platform=Platform.DOUYIN)
    with pytest.raises(DomainError):
        services.create_link(_principal(guide), product=ProductFactory(brand=other_brand), platform="douyin")
    with pytest.raises(DomainError):
        services.create_link(_principal(guide), platform=Platform.DOUYIN)
    assert not ShareLink.objects.exists()


def test_opening_a_link_counts_a_click_and_shows_the_product_with_the_token(
    client, guide, product, brand, django_capture_on_commit_callbacks
):
    settings = shelf_settings(brand_id=brand.pk)
    settings.buy_url_template = "https://shop.example.com/item/{sku}?td={token}"
    settings.save()
    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(f"/g/{link.code}/", HTTP_REFERER="https://www.douyin.com/video/1")
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "羊绒围巾" in body and "¥199.00" in body
    assert f'href="https://shop.example.com/item/SCARF-1?td=gl.{link.code}"' in body
    link.refresh_from_db()
    assert link.clicks == 1
    assert ShareClick.objects.get().referrer_host == "www.douyin.com"
    assert DomainEvent.objects.filter(name="guide.share_clicked").count() == 1
    client.get(f"/g/{link.code}/")
    link.refresh_from_db()
    assert link.clicks == 2 and ShareClick.objects.count() == 2


def test_a_link_preview_and_head_count_nothing(client, guide, product):
    link = services.create_link(_principal(guide), product=product, platform=Platform.MOMENTS)
    assert client.head(f"/g/{link.code}/").status_code == 200
    assert client.get(f"/g/{link.code}/", HTTP_SEC_PURPOSE="prefetch").status_code == 503
    link.refresh_from_db()
    assert link.clicks == 0 and not ShareClick.objects.exists()


def test_an_unknown_or_turned_off_code_is_a_clear_404(client, guide, product):
    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    services.set_link_active(_principal(guide), link=link, active=False)
    for code in (link.code, "nope"):
        page = client.get(f"/g/{code}/")
        assert page.status_code == 404 and "This link is not available" in page.content.decode()
    link.refresh_from_db()
    assert link.clicks == 0


def test_a_content_link_reads_on_with_the_token(client, guide, brand):
    content = ShareContentFactory(
        brand=brand, title="秋冬搭配", url="https://example.com/looks?x=1", body="Layer up"
    )
    link = services.create_link(_principal(guide), content=content, platform=Platform.WEIBO)
    body = client.get(f"/g/{link.code}/").content.decode()
    assert "秋冬搭配" in body and f"https://example.com/looks?x=1&amp;td=gl.{link.code}" in body


def test_the_token_attributes_an_online_order_to_the_guide_and_store_and_the_link_once(
    guide, product, brand, store, django_capture_on_commit_callbacks
):
    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    token = services.token_for(link.code)
    response = _post_order(brand, _order_body(product, token), django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["store"] == store.pk and data["guide"] == guide.pk
    assert data["attribution"]["status"] == "attributed" and data["attribution"]["source"] == "share_link"
    assert Order.objects.get().attribution["share_link"] == link.pk
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (1, Decimal("199.00"))
    # the same request again (Idempotency-Key) and a redelivered event add nothing
    _post_order(brand, _order_body(product, token), django_capture_on_commit_callbacks)
    order = Order.objects.get()
    assert services.count_link_order(order_id=order.pk) is False
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (1, Decimal("199.00"))
    counted = ShareLinkOrder.objects.get()
    assert (counted.order_id, counted.link_id, counted.amount) == (order.pk, link.pk, Decimal("199.00"))
    # a second order counts
    _post_order(brand, _order_body(product, token, "WEB-2"), django_capture_on_commit_callbacks, key="k2")
    link.refresh_from_db()
    assert (link.orders, link.gmv) == (2, Decimal("398.00"))


def test_foreign_unknown_and_expired_tokens_keep_the_order_without_attribution(
    guide, product, brand, other_brand, django_capture_on_commit_callbacks
):
    theirs = ShareLinkFactory(brand=other_brand, code="THEIRS000001")
    old = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    ShareLink.objects.filter(pk=old.pk).update(
        created_at=old.created_at - dt.timedelta(days=services.LINK_DAYS + 1)
    )
    off = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    ShareLink.objects.filter(pk=off.pk).update(is_active=False)
    cases = {
        "WEB-F": (f"gl.{theirs.code}", "foreign"),
        "WEB-U": ("gl.doesnotexist", "unknown"),
        "WEB-E": (f"gl.{old.code}", "expired"),
        "WEB-O": (f"gl.{off.code}", "expired"),
    }
    for n, (external_id, (token, status)) in enumerate(cases.items()):
        response = _post_order(
            brand, _order_body(product, token, external_id), django_capture_on_commit_callbacks, key=f"x{n}"
        )
        assert response.status_code == 201
        data = response.json()
        assert data["attribution"]["status"] == status, external_id
        assert (
            data["guide"] is None
            and "share_link" not in Order.objects.get(external_id=external_id).attribution
        )
        if status == "foreign":
            assert str(other_brand.pk) not in data["attribution"]["message"]
    assert set(ShareLink.objects.values_list("orders", flat=True)) == {0}


def test_a_refunded_order_is_not_counted_for_the_link(
    guide, product, brand, django_capture_on_commit_callbacks
):
    from retail import services as retail_services
    from retail.choices import OrderStatus

    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    order = retail_services.record_order(
        brand=brand,
        external_id="W1",
        channel="online",
        lines=[{"product": product, "quantity": 1}],
        attribution_token=services.token_for(link.code),
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)
    assert services.count_link_order(order_id=order.pk) is False
    link.refresh_from_db()
    assert link.orders == 0
    assert not ShareLinkOrder.objects.exists()


# --- pages ----------------------------------------------------------------------------------


def test_a_guide_makes_a_link_on_the_page_and_sees_its_qr_code_and_poster(client, guide, product):
    client.force_login(guide)
    page = client.get(reverse("guides:link_list"))
    assert page.status_code == 200 and 'value="SCARF-1"' in page.content.decode()
    response = client.post(reverse("guides:link_list"), {"platform": "douyin", "sku": "SCARF-1"})
    link = ShareLink.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "guides:link_detail", kwargs={"link_id": link.pk}
    )
    detail = client.get(response.url).content.decode()
    assert "<svg" in detail and f"/g/{link.code}/" in detail
    assert reverse("guides:link_poster", kwargs={"link_id": link.pk}) in detail
    poster = client.get(reverse("guides:link_poster", kwargs={"link_id": link.pk}))
    assert poster.status_code == 200 and poster["Content-Type"] == "image/png"
    assert poster.content.startswith(b"\x89PNG")


def test_the_new_link_form_refuses_both_or_neither_target_and_unknown_skus(client, guide, product, brand):
    content = ShareContentFactory(brand=brand)
    client.force_login(guide)
    for data in (
        {"platform": "douyin"},
        {"platform": "douyin", "sku": "SCARF-1", "content": content.pk},
        {"platform": "douyin", "sku": "NOPE"},
    ):
        assert client.post(reverse("guides:link_list"), data).status_code == 400
    assert not ShareLink.objects.exists()


def test_a_guide_sees_only_their_links_and_a_manager_the_stores_with_totals(
    client, guide, store, manager_user, product
):
    mine = ShareLinkFactory(
        brand=store.brand, store=store, guide=guide, product=product, clicks=5, orders=1, gmv=10
    )
    colleague = guide_in(store, username="colleague")
    theirs = ShareLinkFactory(brand=store.brand, store=store, guide=colleague, product=product, clicks=2)
    elsewhere = ShareLinkFactory(brand=store.brand, store=StoreFactory(brand=store.brand))
    client.force_login(guide)
    body = client.get(reverse("guides:link_list")).content.decode()
    assert f'data-link="{mine.code}"' in body and f'data-link="{theirs.code}"' not in body
    assert client.get(reverse("guides:link_detail", kwargs={"link_id": theirs.pk})).status_code == 404
    client.force_login(manager_user)
    body = client.get(reverse("guides:link_list")).content.decode()
    assert f'data-link="{mine.code}"' in body and f'data-link="{theirs.code}"' in body
    assert f'data-link="{elsewhere.code}"' not in body and "data-link-totals" in body
    assert client.get(reverse("guides:link_detail", kwargs={"link_id": elsewhere.pk})).status_code == 404


def test_the_link_list_keeps_a_fixed_number_of_queries(
    client, guide, store, product, django_assert_max_num_queries
):
    client.force_login(guide)
    ShareLinkFactory(brand=store.brand, store=store, guide=guide, product=product)
    client.get(reverse("guides:link_list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("guides:link_list"))
    for _n in range(10):
        ShareLinkFactory(
            brand=store.brand, store=store, guide=guide, product=ProductFactory(brand=store.brand)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("guides:link_list"))


def test_hq_manages_content_and_guides_pick_from_it(client, brand, hq_user, guide):
    client.force_login(hq_user)
    response = client.post(
        reverse("guides:content_list"),
        {"title": "双十一穿搭", "url": "https://example.com/d11", "body": "看看"},
    )
    assert response.status_code == 302
    content = ShareContent.objects.get()
    assert content.brand_id == brand.pk and content.created_by_id == hq_user.pk
    client.force_login(guide)
    assert (
        client.post(reverse("guides:content_list"), {"title": "x", "url": "https://e.com"}).status_code == 404
    )
    page = client.get(reverse("guides:link_list")).content.decode()
    assert "双十一穿搭" in page
    client.force_login(hq_user)
    client.post(reverse("guides:content_toggle", kwargs={"content_id": content.pk}))
    content.refresh_from_db()
    assert not content.is_active
    client.force_login(guide)
    assert "双十一穿搭" not in client.get(reverse("guides:link_list")).content.decode()


def test_another_brands_link_is_a_404_for_hq(client, hq_user, other_brand):
    theirs = ShareLinkFactory(brand=other_brand)
    client.force_login(hq_user)
    assert client.get(reverse("guides:link_detail", kwargs={"link_id": theirs.pk})).status_code == 404
    assert client.get(reverse("guides:link_poster", kwargs={"link_id": theirs.pk})).status_code == 404


def test_the_pages_render_in_chinese(client, guide, product):
    link = ShareLinkFactory(
        brand=product.brand, store=guide.guide_profiles.get().store, guide=guide, product=product
    )
    client.force_login(guide)
    for url in (reverse("guides:link_list"), reverse("guides:link_detail", kwargs={"link_id": link.pk})):
        assert client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200


def test_hq_of_another_brand_cannot_make_links(client):
    other_hq = StaffRoleFactory(brand=BrandFactory(), role=Role.HQ_ADMIN).user
    client.force_login(other_hq)
    assert client.post(reverse("guides:link_list"), {"platform": "douyin", "sku": "x"}).status_code == 404


def test_one_client_reloading_counts_at_most_ten_clicks_an_hour_but_still_sees_the_page(
    client, guide, product
):
    from guides.views.public import CLICKS_PER_HOUR

    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    for _n in range(CLICKS_PER_HOUR + 3):
        assert client.get(f"/g/{link.code}/").status_code == 200
    link.refresh_from_db()
    assert link.clicks == CLICKS_PER_HOUR == ShareClick.objects.count()
    other = client.get(f"/g/{link.code}/", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200
    link.refresh_from_db()
    assert link.clicks == CLICKS_PER_HOUR + 1


def test_clicks_per_day_count_local_days_with_zeros(guide, product):
    from guides.selectors.sharing import clicks_per_day

    link = services.create_link(_principal(guide), product=product, platform=Platform.DOUYIN)
    for _n in range(3):
        services.open_link(link.code)
    old = ShareClick.objects.create(link=link)
    ShareClick.objects.filter(pk=old.pk).update(clicked_at=old.clicked_at - dt.timedelta(days=2))
    days = clicks_per_day(link, days=7)
    assert len(days) == 7 and days[-1]["clicks"] == 3 and days[-3]["clicks"] == 1
    assert sum(d["clicks"] for d in days) == 4
