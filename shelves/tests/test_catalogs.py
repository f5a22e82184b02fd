"""Catalog and shelf-settings use cases: items replaced in order, each change a new version,
`shelf.catalog_changed` published and the screens that show the catalog pushed; only the
brand's active products; archived catalogs frozen; settings validated; Double-11 switched."""

from __future__ import annotations

from datetime import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from retail.choices import AuditAction
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import ProductFactory, StoreFactory
from shelves import push
from shelves.choices import ScreenStatus
from shelves.models import Catalog, CatalogItem
from shelves.selectors import shelf_settings
from shelves.services import catalogs as services
from shelves.tests.factories import CatalogFactory, CatalogItemFactory, ScreenFactory

pytestmark = pytest.mark.django_db


def items_of(catalog) -> list[tuple[int, int, bool]]:
    return list(
        CatalogItem.objects.filter(catalog=catalog)
        .order_by("position")
        .values_list("product_id", "position", "featured")
    )


def events(name: str, brand) -> list[dict]:
    return list(
        DomainEvent.objects.filter(brand=brand, name=name).order_by("id").values_list("payload", flat=True)
    )


# --- catalogs -----------------------------------------------------------------------------------


def test_create_catalog_with_items_keeps_their_order_and_audits(brand):
    a, b, c = (ProductFactory(brand=brand) for _ in range(3))
    catalog = services.create_catalog(
        brand_id=brand.pk,
        name=" Spring ",
        headline="New season",
        items=[{"product": c}, {"product": a, "featured": True}, {"product": b.pk}],
    )
    assert catalog.name == "Spring" and catalog.version == 1
    assert items_of(catalog) == [(c.pk, 0, False), (a.pk, 1, True), (b.pk, 2, False)]
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_id=str(catalog.pk)).exists()
    assert events("shelf.catalog_changed", brand) == [{"catalog": catalog.pk, "version": 1}]


def test_catalog_names_are_unique_per_brand_only(brand, other_brand):
    services.create_catalog(brand_id=brand.pk, name="Spring")
    services.create_catalog(brand_id=other_brand.pk, name="Spring")
    with pytest.raises(Conflict) as caught:
        services.create_catalog(brand_id=brand.pk, name="Spring")
    assert caught.value.code == "duplicate_name" and "name" in caught.value.fields


def test_set_catalog_items_replaces_the_list_bumps_the_version_and_pushes_its_screens(brand, pushed):
    catalog = CatalogFactory(brand=brand)
    CatalogItemFactory.create_batch(3, catalog=catalog)
    by_day = ScreenFactory(brand=brand, day_catalog=catalog)
    by_night = ScreenFactory(brand=brand, night_catalog=catalog, day_catalog=None)
    by_double11 = ScreenFactory(brand=brand, double11_catalog=catalog, day_catalog=None)
    ScreenFactory(brand=brand, day_catalog=catalog, status=ScreenStatus.RETIRED)  # retired: not pushed
    ScreenFactory(brand=brand)  # another catalog: not pushed
    x, y = ProductFactory(brand=brand), ProductFactory(brand=brand)

    services.set_catalog_items(catalog=catalog, items=[{"product": y, "featured": True}, {"product": x}])

    assert items_of(catalog) == [(y.pk, 0, True), (x.pk, 1, False)]
    assert Catalog.objects.get(pk=catalog.pk).version == 2
    assert events("shelf.catalog_changed", brand) == [{"catalog": catalog.pk, "version": 2}]
    assert pushed == [(sorted([by_day.pk, by_night.pk, by_double11.pk]), "catalog")]


@pytest.mark.parametrize("problem", ["other_brand", "inactive", "twice"])
def test_set_catalog_items_takes_only_the_brands_active_products_once(brand, other_brand, problem, pushed):
    catalog = CatalogFactory(brand=brand)
    mine = ProductFactory(brand=brand)
    bad = {
        "other_brand": lambda: ProductFactory(brand=other_brand),
        "inactive": lambda: ProductFactory(brand=brand, is_active=False),
        "twice": lambda: mine,
    }[problem]()
    with pytest.raises(InvalidInput) as caught:
        services.set_catalog_items(catalog=catalog, items=[{"product": mine}, {"product": bad}])
    assert "items" in caught.value.fields
    assert items_of(catalog) == [] and Catalog.objects.get(pk=catalog.pk).version == 1
    assert pushed == []


def test_add_move_feature_and_remove_each_make_a_new_version(brand, pushed):
    catalog = CatalogFactory(brand=brand)
    screen = ScreenFactory(brand=brand, day_catalog=catalog, items=0)
    a, b, c = (ProductFactory(brand=brand) for _ in range(3))
    first = services.add_item(catalog=catalog, product=a)
    second = services.add_item(catalog=catalog, product=b)
    third = services.add_item(catalog=catalog, product=c, featured=True)
    assert items_of(catalog) == [(a.pk, 0, False), (b.pk, 1, False), (c.pk, 2, True)]

    services.move_item(catalog=catalog, item_id=third.pk, direction="up")
    assert [p for p, _pos, _f in items_of(catalog)] == [a.pk, c.pk, b.pk]
    services.move_item(catalog=catalog, item_id=first.pk, direction="down")
    assert [p for p, _pos, _f in items_of(catalog)] == [c.pk, a.pk, b.pk]
    services.set_featured(catalog=catalog, item_id=second.pk, featured=True)
    services.remove_item(catalog=catalog, item_id=first.pk)
    assert items_of(catalog) == [(c.pk, 0, True), (b.pk, 1, True)]

    # 3 adds + 2 moves + 1 feature + 1 remove, each its own version and push
    assert Catalog.objects.get(pk=catalog.pk).version == 1 + 7
    assert [e["version"] for e in events("shelf.catalog_changed", brand)] == list(range(2, 9))
    assert pushed == [([screen.pk], "catalog")] * 7


def test_moves_past_either_end_and_repeated_featuring_change_nothing(brand):
    catalog = CatalogFactory(brand=brand)
    top = CatalogItemFactory(catalog=catalog, position=0)
    CatalogItemFactory(catalog=catalog, position=1, featured=True)
    bottom = CatalogItem.objects.get(catalog=catalog, position=1)
    services.move_item(catalog=catalog, item_id=top.pk, direction="up")
    services.move_item(catalog=catalog, item_id=bottom.pk, direction="down")
    services.set_featured(catalog=catalog, item_id=bottom.pk, featured=True)
    assert Catalog.objects.get(pk=catalog.pk).version == 1
    assert events("shelf.catalog_changed", brand) == []


def test_adding_a_product_twice_or_another_catalogs_item_is_refused(brand):
    catalog, other = CatalogFactory(brand=brand), CatalogFactory(brand=brand)
    item = CatalogItemFactory(catalog=catalog)
    foreign_item = CatalogItemFactory(catalog=other)
    with pytest.raises(Conflict):
        services.add_item(catalog=catalog, product=item.product)
    with pytest.raises(InvalidInput) as caught:
        services.remove_item(catalog=catalog, item_id=foreign_item.pk)
    assert caught.value.code == "unknown_item"
    assert CatalogItem.objects.filter(pk=foreign_item.pk).exists()


def test_update_catalog_changes_name_and_headline(brand, pushed):
    catalog = CatalogFactory(brand=brand, name="Old")
    screen = ScreenFactory(brand=brand, night_catalog=catalog)
    updated = services.update_catalog(catalog=catalog, name="New", headline="Autumn")
    assert (updated.name, updated.headline, updated.version) == ("New", "Autumn", 2)
    assert pushed == [([screen.pk], "catalog")]
    with pytest.raises(InvalidInput):
        services.update_catalog(catalog=catalog, name="  ")


def test_an_archived_catalog_is_frozen(brand, pushed):
    catalog = CatalogFactory(brand=brand)
    screen = ScreenFactory(brand=brand, day_catalog=catalog)
    archived = services.archive_catalog(catalog=catalog)
    assert archived.is_archived and archived.version == 2
    assert pushed == [([screen.pk], "catalog")]
    with pytest.raises(Conflict) as caught:
        services.add_item(catalog=catalog, product=ProductFactory(brand=brand))
    assert caught.value.code == "archived"
    services.archive_catalog(catalog=catalog)  # a repeat is a no-op
    assert Catalog.objects.get(pk=catalog.pk).version == 2


def test_a_change_reaches_the_screens_channel_group_after_commit(
    brand, settings, django_capture_on_commit_callbacks
):
    # given the in-memory channel layer and a channel listening on the screen's group
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    catalog = CatalogFactory(brand=brand)
    screen = ScreenFactory(brand=brand, day_catalog=catalog)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(push.screen_group(screen.pk), channel)
    # when HQ adds a product
    with django_capture_on_commit_callbacks(execute=True):
        services.add_item(catalog=catalog, product=ProductFactory(brand=brand))
    # then the screen's group heard it
    message = async_to_sync(layer.receive)(channel)
    assert message == {"type": "shelf.changed", "reason": "catalog"}
    channel_layers.backends.clear()


# --- settings -----------------------------------------------------------------------------------


def settings_values(**changes):
    values = {
        "day_starts_at": time(9, 0),
        "night_starts_at": time(21, 30),
        "buy_url_template": "https://shop.example.com/item/{sku}?td={token}",
        "attribution_days": 14,
    }
    return {**values, **changes}


def test_update_shelf_settings_saves_audits_and_pushes_the_brands_screens(brand, other_brand, pushed):
    mine = ScreenFactory(brand=brand)
    ScreenFactory(brand=other_brand)
    services.update_shelf_settings(brand_id=brand.pk, **settings_values())
    saved = shelf_settings(brand_id=brand.pk)
    assert saved.night_starts_at == time(21, 30) and saved.attribution_days == 14
    assert saved.buy_url_template == "https://shop.example.com/item/{sku}?td={token}"
    assert AuditEvent.objects.filter(object_type="shelves.shelfsettings", object_id=str(saved.pk)).exists()
    assert pushed == [([mine.pk], "settings")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"buy_url_template": "https://shop.example.com/item/{sku}"}, "buy_url_template"),
        ({"buy_url_template": "shop.example.com/{token}"}, "buy_url_template"),
        ({"buy_url_template": "https://shop.example.com/{token}/{price}"}, "buy_url_template"),
        ({"buy_url_template": "https://shop.example.com/{token"}, "buy_url_template"),
        ({"attribution_days": 0}, "attribution_days"),
        ({"attribution_days": 91}, "attribution_days"),
        ({"night_starts_at": time(9, 0)}, "night_starts_at"),
    ],
)
def test_update_shelf_settings_refuses_bad_values_with_the_field(brand, changes, field):
    with pytest.raises(InvalidInput) as caught:
        services.update_shelf_settings(brand_id=brand.pk, **settings_values(**changes))
    assert field in caught.value.fields
    assert shelf_settings(brand_id=brand.pk).attribution_days == 7


def test_a_blank_buy_url_means_the_shop_is_not_linked(brand):
    services.update_shelf_settings(brand_id=brand.pk, **settings_values(buy_url_template="  "))
    assert shelf_settings(brand_id=brand.pk).buy_url_template == ""


def test_double11_mode_switches_every_active_screen_of_the_brand_once(brand, other_brand, pushed):
    store = StoreFactory(brand=brand)
    a = ScreenFactory(brand=brand, store=store)
    b = ScreenFactory(brand=brand)
    ScreenFactory(brand=brand, status=ScreenStatus.RETIRED)
    ScreenFactory(brand=other_brand)

    found = services.set_double11_mode(brand_id=brand.pk, on=True)
    assert found.double11_on and found.double11_switched_at is not None
    services.set_double11_mode(brand_id=brand.pk, on=True)  # already on: nothing happens
    services.set_double11_mode(brand_id=brand.pk, on=False)

    assert events("shelf.double11_switched", brand) == [{"on": True}, {"on": False}]
    assert events("shelf.double11_switched", other_brand) == []
    assert pushed == [(sorted([a.pk, b.pk]), "double11")] * 2
    assert not shelf_settings(brand_id=brand.pk).double11_on


def test_only_hq_may_manage_catalogs(brand, store):
    from retail.choices import Role
    from retail.tenancy import Principal

    assert services.may_manage_catalogs(Principal(kind="user", brand_id=brand.pk, role=Role.HQ_ADMIN))
    assert not services.may_manage_catalogs(
        Principal(kind="user", brand_id=brand.pk, role=Role.STORE_MANAGER, store_ids=frozenset({store.pk}))
    )
    assert not services.may_manage_catalogs(Principal(kind="user", brand_id=brand.pk, role=Role.GUIDE))
    assert services.may_manage_catalogs(Principal(kind="user", is_superuser=True))
