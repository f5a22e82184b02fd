"""The cloud-shelf staff pages: catalogs (HQ edits, others read; htmx item partials),
shelf settings (HQ only, with the Double-11 switch), screens (managers in their stores,
guides read only; the screen page with kiosk URL, device status and slot previews)."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse

from retail.choices import Role
from retail.tests.factories import ProductFactory, StaffRoleFactory, StoreFactory
from shelves.choices import ScreenStatus, Slot
from shelves.models import Catalog, CatalogItem, Screen
from shelves.selectors import shelf_settings
from shelves.services import screens as screen_services
from shelves.tests.factories import CatalogFactory, CatalogItemFactory, ScreenFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def skus(catalog) -> list[str]:
    return list(
        CatalogItem.objects.filter(catalog=catalog)
        .order_by("position")
        .values_list("product__sku", flat=True)
    )


# --- catalogs -----------------------------------------------------------------------------------


def test_hq_lists_creates_and_opens_a_catalog(client, brand, hq_user, django_assert_max_num_queries):
    CatalogFactory.create_batch(3, brand=brand)
    client.force_login(hq_user)
    with django_assert_max_num_queries(12):
        listed = client.get(reverse("shelves:catalog_list"))
    assert listed.status_code == 200 and b"New catalog" in listed.content
    created = client.post(reverse("shelves:catalog_new"), {"name": "Spring", "headline": "New season"})
    catalog = Catalog.objects.get(brand=brand, name="Spring")
    assert created.status_code == 302 and created["Location"] == reverse(
        "shelves:catalog_detail", kwargs={"catalog_id": catalog.pk}
    )
    page = client.get(created["Location"])
    assert page.status_code == 200
    assert b'id="catalog-items"' in page.content and b"Add products" in page.content


def test_a_duplicate_catalog_name_is_a_form_error(client, brand, hq_user):
    CatalogFactory(brand=brand, name="Spring")
    client.force_login(hq_user)
    response = client.post(reverse("shelves:catalog_new"), {"name": "Spring"})
    assert response.status_code == 400 and "Already taken" in response.content.decode()


def test_htmx_item_changes_answer_with_the_item_list(client, brand, hq_user):
    catalog = CatalogFactory(brand=brand)
    a = ProductFactory(brand=brand, sku="SKU-A")
    b = ProductFactory(brand=brand, sku="SKU-B")
    client.force_login(hq_user)
    kw = {"catalog_id": catalog.pk}

    added = client.post(reverse("shelves:item_add", kwargs=kw), {"product": a.pk}, **HTMX)
    assert added.status_code == 200 and added["HX-Trigger-After-Swap"] == "shelves-items-changed"
    assert b'id="catalog-items"' in added.content and b"SKU-A" in added.content
    assert b"<html" not in added.content  # a partial, not the page
    client.post(reverse("shelves:item_add", kwargs=kw), {"product": b.pk}, **HTMX)
    assert skus(catalog) == ["SKU-A", "SKU-B"]

    item_b = CatalogItem.objects.get(catalog=catalog, product=b)
    moved = client.post(
        reverse("shelves:item_move", kwargs=kw), {"item": item_b.pk, "direction": "up"}, **HTMX
    )
    assert moved.status_code == 200 and skus(catalog) == ["SKU-B", "SKU-A"]
    client.post(reverse("shelves:item_feature", kwargs=kw), {"item": item_b.pk, "featured": "1"}, **HTMX)
    assert CatalogItem.objects.get(pk=item_b.pk).featured
    removed = client.post(reverse("shelves:item_remove", kwargs=kw), {"item": item_b.pk}, **HTMX)
    assert removed.status_code == 200 and b"SKU-B" not in removed.content
    assert skus(catalog) == ["SKU-A"]
    assert Catalog.objects.get(pk=catalog.pk).version == 1 + 5


def test_a_refused_item_change_shows_its_error_in_the_partial(client, brand, other_brand, hq_user):
    catalog = CatalogFactory(brand=brand)
    theirs = ProductFactory(brand=other_brand)
    client.force_login(hq_user)
    response = client.post(
        reverse("shelves:item_add", kwargs={"catalog_id": catalog.pk}), {"product": theirs.pk}, **HTMX
    )
    assert response.status_code == 200 and b'role="alert"' in response.content
    assert not CatalogItem.objects.filter(catalog=catalog).exists()


def test_without_htmx_an_item_change_redirects_to_the_catalog(client, brand, hq_user):
    catalog = CatalogFactory(brand=brand)
    product = ProductFactory(brand=brand)
    client.force_login(hq_user)
    response = client.post(
        reverse("shelves:item_add", kwargs={"catalog_id": catalog.pk}), {"product": product.pk}
    )
    assert (
        response.status_code == 302 and CatalogItem.objects.filter(catalog=catalog, product=product).exists()
    )


def test_the_product_search_finds_products_not_yet_in_the_catalog(client, brand, hq_user):
    catalog = CatalogFactory(brand=brand)
    inside = ProductFactory(brand=brand, sku="SCARF-1", name="Silk scarf")
    CatalogItemFactory(catalog=catalog, product=inside)
    ProductFactory(brand=brand, sku="SCARF-2", name="Wool scarf")
    ProductFactory(brand=brand, sku="BAG-1", name="Tote bag")
    ProductFactory(brand=brand, sku="SCARF-3", name="Old scarf", is_active=False)
    client.force_login(hq_user)
    response = client.get(
        reverse("shelves:catalog_products", kwargs={"catalog_id": catalog.pk}), {"q": "scarf"}, **HTMX
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "SCARF-2" in text and "SCARF-1" not in text and "BAG-1" not in text and "SCARF-3" not in text


@pytest.mark.parametrize("who", ["manager_user", "guide_user"])
def test_only_hq_changes_catalogs(client, brand, who, request):
    catalog = CatalogFactory(brand=brand, name="Spring")
    item = CatalogItemFactory(catalog=catalog)
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("shelves:catalog_detail", kwargs={"catalog_id": catalog.pk}))
    assert page.status_code == 200 and b"Add products" not in page.content  # reads, no edit forms
    kw = {"catalog_id": catalog.pk}
    assert client.get(reverse("shelves:catalog_new")).status_code == 403
    assert client.post(reverse("shelves:catalog_detail", kwargs=kw), {"name": "Mine"}).status_code == 403
    assert (
        client.post(reverse("shelves:item_remove", kwargs=kw), {"item": item.pk}, **HTMX).status_code == 403
    )
    assert client.post(reverse("shelves:catalog_archive", kwargs=kw)).status_code == 403
    assert client.get(reverse("shelves:settings")).status_code == 403
    assert client.post(reverse("shelves:settings_double11"), {"on": "1"}).status_code == 403
    assert (
        Catalog.objects.get(pk=catalog.pk).name == "Spring"
        and CatalogItem.objects.filter(pk=item.pk).exists()
    )
    assert not shelf_settings(brand_id=brand.pk).double11_on


def test_hq_archives_a_catalog_after_confirming(client, brand, hq_user):
    catalog = CatalogFactory(brand=brand)
    ScreenFactory(brand=brand, day_catalog=catalog)
    client.force_login(hq_user)
    url = reverse("shelves:catalog_archive", kwargs={"catalog_id": catalog.pk})
    confirm = client.get(url)
    assert confirm.status_code == 200 and "1 active screen still shows" in confirm.content.decode()
    assert client.post(url).status_code == 302
    assert Catalog.objects.get(pk=catalog.pk).is_archived


# --- settings -----------------------------------------------------------------------------------


def test_hq_saves_settings_and_switches_double11(client, brand, hq_user):
    client.force_login(hq_user)
    url = reverse("shelves:settings")
    page = client.get(url)
    assert page.status_code == 200 and b"Switch Double-11 mode on" in page.content
    saved = client.post(
        url,
        {
            "day_starts_at": "08:30",
            "night_starts_at": "21:00",
            "buy_url_template": "https://shop.example.com/i/{sku}?td={token}",
            "attribution_days": "10",
        },
    )
    assert saved.status_code == 302
    current = shelf_settings(brand_id=brand.pk)
    assert (current.day_starts_at, current.night_starts_at, current.attribution_days) == (
        time(8, 30),
        time(21, 0),
        10,
    )
    switched = client.post(reverse("shelves:settings_double11"), {"on": "1"}, follow=True)
    assert shelf_settings(brand_id=brand.pk).double11_on
    assert b"Switch Double-11 mode off" in switched.content


def test_a_buy_url_without_token_is_a_form_error(client, brand, hq_user):
    client.force_login(hq_user)
    response = client.post(
        reverse("shelves:settings"),
        {
            "day_starts_at": "09:00",
            "night_starts_at": "22:00",
            "buy_url_template": "https://x.example/{sku}",
            "attribution_days": "7",
        },
    )
    assert response.status_code == 400 and "{token}" in response.content.decode()
    assert shelf_settings(brand_id=brand.pk).buy_url_template == ""


# --- screens ------------------------------------------------------------------------------------


def test_a_manager_sets_up_a_screen_in_their_store(client, brand, store, manager_user):
    catalog = CatalogFactory(brand=brand)
    guide = StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user
    client.force_login(manager_user)
    form = client.get(reverse("shelves:screen_new"))
    assert form.status_code == 200
    response = client.post(
        reverse("shelves:screen_new"),
        {
            "store": store.pk,
            "name": "Entrance",
            "zone": "Front",
            "guide": guide.pk,
            "day_catalog": catalog.pk,
            "rotate_seconds": "8",
        },
    )
    screen = Screen.objects.get(store=store, name="Entrance")
    assert response.status_code == 302
    assert (screen.guide_id, screen.day_catalog_id, screen.device.store_id) == (
        guide.pk,
        catalog.pk,
        store.pk,
    )


def test_a_manager_cannot_set_up_a_screen_in_another_store(client, brand, manager_user):
    other = StoreFactory(brand=brand)
    client.force_login(manager_user)
    response = client.post(
        reverse("shelves:screen_new"), {"store": other.pk, "name": "X", "rotate_seconds": "8"}
    )
    assert response.status_code == 400 and not Screen.objects.exists()


def test_the_screen_page_shows_kiosk_url_device_status_and_previews(client, brand, store, manager_user):
    screen = screen_services.create_screen(
        store=store, name="Entrance", day_catalog=CatalogFactory(brand=brand)
    )
    client.force_login(manager_user)
    response = client.get(reverse("shelves:screen_detail", kwargs={"screen_id": screen.pk}))
    text = response.content.decode()
    assert response.status_code == 200
    assert f"http://testserver/shelf/{screen.token}/" in text
    # the preview opens on "Now": the slot the screen shows at this moment, by the screen's rule
    assert f'src="/shelf/{screen.token}/?preview=1"' in text
    assert 'data-slot="" aria-selected="true" data-preview-now' in text
    from shelves.selectors import kiosk as kiosk_selectors

    shown = kiosk_selectors.slot_shown(kiosk_selectors.screen_for_token(screen.token))
    assert f"Now · {Slot(shown).label}" in text
    assert 'data-slot="day"' in text and 'data-slot="night"' in text and 'data-slot="double11"' in text
    assert "Provisioned" in text and screen.device.serial in text
    assert f"/shelves/stats/screens/{screen.pk}/" in text


def test_a_guide_reads_screens_but_changes_nothing_and_never_sees_the_kiosk_url(
    client, brand, store, guide_user
):
    screen = screen_services.create_screen(store=store, name="Entrance")
    client.force_login(guide_user)
    listed = client.get(reverse("shelves:screen_list"))
    assert listed.status_code == 200 and b"Entrance" in listed.content and b"New screen" not in listed.content
    page = client.get(reverse("shelves:screen_detail", kwargs={"screen_id": screen.pk}))
    assert page.status_code == 200 and screen.token not in page.content.decode()
    kw = {"screen_id": screen.pk}
    assert client.get(reverse("shelves:screen_new")).status_code == 403
    assert client.post(reverse("shelves:screen_edit", kwargs=kw), {"name": "Mine"}).status_code == 403
    assert client.post(reverse("shelves:screen_retire", kwargs=kw)).status_code == 403
    assert client.post(reverse("shelves:screen_rotate", kwargs=kw)).status_code == 403
    assert Screen.objects.get(pk=screen.pk).status == ScreenStatus.ACTIVE


def test_the_screen_list_filters_by_store(client, brand, store, hq_user, django_assert_max_num_queries):
    ScreenFactory(brand=brand, store=store, name="Mine")
    ScreenFactory.create_batch(3, brand=brand)
    client.force_login(hq_user)
    with django_assert_max_num_queries(12):
        everything = client.get(reverse("shelves:screen_list"))
    assert everything.content.count(b"data-screen-id=") == 4
    only = client.get(reverse("shelves:screen_list"), {"store": store.pk})
    assert only.content.count(b"data-screen-id=") == 1 and b"Mine" in only.content


def test_edit_retire_and_rotate_a_screen(client, brand, store, manager_user):
    screen = screen_services.create_screen(store=store, name="Entrance")
    night = CatalogFactory(brand=brand)
    client.force_login(manager_user)
    kw = {"screen_id": screen.pk}
    edited = client.post(
        reverse("shelves:screen_edit", kwargs=kw),
        {"name": "Entrance", "zone": "Back", "night_catalog": night.pk, "rotate_seconds": "5"},
    )
    assert edited.status_code == 302
    screen.refresh_from_db()
    assert (screen.zone, screen.night_catalog_id, screen.rotate_seconds) == ("Back", night.pk, 5)
    old = screen.token
    assert client.post(reverse("shelves:screen_rotate", kwargs=kw)).status_code == 302
    screen.refresh_from_db()
    assert screen.token != old
    assert client.get(reverse("shelves:screen_retire", kwargs=kw)).status_code == 200
    assert client.post(reverse("shelves:screen_retire", kwargs=kw)).status_code == 302
    screen.refresh_from_db()
    assert screen.status == ScreenStatus.RETIRED
    after = client.get(reverse("shelves:screen_detail", kwargs=kw)).content.decode()
    assert screen.token not in after and "Retired" in after


def test_pages_render_in_chinese(client, brand, store, hq_user):
    screen = ScreenFactory(brand=brand, store=store)
    client.force_login(hq_user)
    for url in (
        reverse("shelves:catalog_list"),
        reverse("shelves:screen_list"),
        reverse("shelves:screen_detail", kwargs={"screen_id": screen.pk}),
        reverse("shelves:settings"),
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, url


@pytest.mark.parametrize("size", [2, 30])
def test_catalog_and_screen_pages_read_in_a_fixed_number_of_queries(
    client, brand, store, hq_user, size, django_assert_max_num_queries
):
    # the same query count for 2 items as for 30: items come with their products in one prefetch
    catalog = CatalogFactory(brand=brand)
    CatalogItemFactory.create_batch(size, catalog=catalog)
    screen = screen_services.create_screen(store=store, name="A", day_catalog=catalog, night_catalog=catalog)
    client.force_login(hq_user)
    with django_assert_max_num_queries(8):
        assert (
            client.get(reverse("shelves:catalog_detail", kwargs={"catalog_id": catalog.pk})).status_code
            == 200
        )
    with django_assert_max_num_queries(8):
        assert (
            client.get(reverse("shelves:screen_detail", kwargs={"screen_id": screen.pk})).status_code == 200
        )
