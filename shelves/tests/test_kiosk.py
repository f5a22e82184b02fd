"""The kiosk page of a screen: which catalog is on, the payload and its cache, QR codes,
the retired page, staff preview, heartbeats with impressions, and the live socket."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.choices import DeviceStatus
from devices.tests.factories import DeviceFactory
from retail.choices import Role
from retail.models import StoreStock
from retail.tests.factories import ProductFactory, StaffRoleFactory, StoreFactory, UserFactory
from shelves.choices import ScreenStatus, Slot
from shelves.models import ScreenHour, ShelfSettings
from shelves.selectors import kiosk as selectors
from shelves.services.scans import scan_code
from shelves.tests.factories import CatalogFactory, CatalogItemFactory, ScreenFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 10, hour, minute, tzinfo=SHANGHAI)


def page_url(screen, name="page", **kwargs):
    return reverse(f"kiosk:{name}", kwargs={"token": screen.token, **kwargs})


def payload(client, screen, **params):
    response = client.get(page_url(screen, "payload"), params)
    assert response.status_code == 200, response.content
    return response.json()


# --- which catalog is on ------------------------------------------------------------------------


@pytest.fixture
def three_slots(brand):
    store = StoreFactory(brand=brand)
    day, night, d11 = (CatalogFactory(brand=brand, name=n) for n in ("Day", "Night", "D11"))
    screen = ScreenFactory(
        brand=brand, store=store, day_catalog=day, night_catalog=night, double11_catalog=d11
    )
    return screen, day, night, d11


@pytest.mark.parametrize(
    ("hour", "minute", "slot"),
    [
        (8, 59, Slot.NIGHT),
        (9, 0, Slot.DAY),
        (13, 0, Slot.DAY),
        (21, 59, Slot.DAY),
        (22, 0, Slot.NIGHT),
        (2, 0, Slot.NIGHT),
    ],
)
def test_the_slot_follows_the_brands_hours_in_local_time(three_slots, hour, minute, slot):
    screen, day, night, _d11 = three_slots
    found = selectors.screen_for_token(screen.token)
    assert selectors.current_slot(found, now=at(hour, minute)) == slot
    expected = day if slot == Slot.DAY else night
    assert selectors.catalog_for_slot(found, slot).id == expected.pk


def test_daytime_may_wrap_past_midnight(three_slots, brand):
    # a night-shift screen: "daytime" from 20:00 to 04:00
    screen, *_ = three_slots
    ShelfSettings.objects.create(brand=brand, day_starts_at=dt.time(20), night_starts_at=dt.time(4))
    found = selectors.screen_for_token(screen.token)
    assert selectors.current_slot(found, now=at(23)) == Slot.DAY
    assert selectors.current_slot(found, now=at(3, 59)) == Slot.DAY
    assert selectors.current_slot(found, now=at(4)) == Slot.NIGHT
    assert selectors.current_slot(found, now=at(12)) == Slot.NIGHT


def test_local_time_not_utc(three_slots):
    screen, *_ = three_slots
    found = selectors.screen_for_token(screen.token)
    # 02:00 UTC is 10:00 in Shanghai: daytime
    assert selectors.current_slot(found, now=dt.datetime(2026, 11, 10, 2, tzinfo=dt.UTC)) == Slot.DAY


def test_double11_mode_wins_when_the_screen_has_a_double11_catalog(three_slots, brand):
    screen, _day, _night, d11 = three_slots
    ShelfSettings.objects.create(brand=brand, double11_on=True)
    found = selectors.screen_for_token(screen.token)
    assert selectors.current_slot(found, now=at(13)) == Slot.DOUBLE11
    assert selectors.catalog_for_slot(found, Slot.DOUBLE11).id == d11.pk
    # without a Double-11 catalog the screen keeps its day/night catalogs
    screen.double11_catalog = None
    screen.save()
    found = selectors.screen_for_token(screen.token, fresh=True)
    assert selectors.current_slot(found, now=at(13)) == Slot.DAY


def test_night_falls_back_to_the_day_catalog(brand):
    screen = ScreenFactory(brand=brand)
    found = selectors.screen_for_token(screen.token)
    assert selectors.catalog_for_slot(found, Slot.NIGHT).id == screen.day_catalog_id


def test_no_catalog_is_a_friendly_empty_payload(client, brand):
    screen = ScreenFactory(brand=brand, day_catalog=None)
    body = payload(client, screen)
    assert body["empty"] is True and body["items"] == [] and body["catalog"] is None
    page = client.get(page_url(screen))
    assert page.status_code == 200
    assert "Nothing to show yet" in page.content.decode()  # the page's strings


# --- the payload --------------------------------------------------------------------------------


@pytest.fixture
def shelf(brand):
    """A screen whose day catalog has three products, the second one featured; the store
    stocks two of them."""
    store = StoreFactory(brand=brand, name="Nanjing West Road")
    catalog = CatalogFactory(brand=brand, headline="Autumn silk")
    products = [
        ProductFactory(brand=brand, name=f"Scarf {i}", price=Decimal("1299.00") + i, online_stock=10 + i)
        for i in range(3)
    ]
    for i, product in enumerate(products):
        CatalogItemFactory(catalog=catalog, product=product, position=i, featured=(i == 1))
    screen = ScreenFactory(brand=brand, store=store, day_catalog=catalog, name="Entrance", rotate_seconds=6)
    StoreStock.objects.create(brand=brand, store=store, product=products[0], quantity=4)
    StoreStock.objects.create(brand=brand, store=store, product=products[1], quantity=0)
    return screen, catalog, products


def test_payload_lists_featured_first_then_catalog_order_with_prices_stock_and_qr(client, shelf):
    screen, catalog, products = shelf
    body = payload(client, screen, _=1)
    assert body["screen"] == {"id": screen.pk, "name": "Entrance"}
    assert body["store"]["id"] == screen.store_id and body["store"]["name"] == "Nanjing West Road"
    assert body["catalog"] == {
        "id": catalog.pk,
        "version": 1,
        "headline": "Autumn silk",
        "name": catalog.name,
    }
    assert body["rotate_seconds"] == 6 and body["slot"] in ("day", "night")
    ids = [item["id"] for item in body["items"]]
    assert ids == [products[1].pk, products[0].pk, products[2].pk]
    first, second, third = body["items"]
    assert first["featured"] is True and second["featured"] is False
    assert first["price"] == "1300.00" and first["currency"] == "CNY"
    assert first["online_stock"] == 11
    # a stock of 0 and no stock row alike: not stocked in this store (shelves.stock)
    assert first["store_stock"] is None and second["store_stock"] == 4 and third["store_stock"] is None
    assert first["qr"] == page_url(screen, "qr", product_id=products[1].pk)
    assert first["scan_url"] == "http://testserver/s/" + scan_code(screen.scan_code, products[1].pk)


def test_payload_is_cached_after_the_first_request(client, shelf, django_assert_num_queries):
    screen, catalog, products = shelf
    url = page_url(screen, "payload")
    # miss: the screen by token, the items with their products, the store's stock
    with django_assert_num_queries(3):
        assert client.get(url).status_code == 200
    # hit: nothing from the database (the screen by token is cached too)
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.status_code == 200 and len(again.json()["items"]) == 3


def test_a_catalog_change_bumps_the_version_and_the_payload_follows(client, shelf):
    screen, catalog, products = shelf
    assert len(payload(client, screen)["items"]) == 3
    catalog.items.filter(product=products[2]).delete()
    catalog.version += 1
    catalog.save()
    # the cached screen still knows the old version until it is dropped (push / heartbeat / TTL)
    selectors.forget_screen(screen.token)
    body = payload(client, screen)
    assert body["catalog"]["version"] == 2 and len(body["items"]) == 2


def test_unknown_token_is_a_404_everywhere(client, shelf):
    for name, kwargs in (("page", {}), ("payload", {}), ("qr", {"product_id": 1}), ("sw", {})):
        url = reverse(f"kiosk:{name}", kwargs={"token": "no-such-token", **kwargs})
        assert client.get(url).status_code == 404
    assert (
        client.post(
            reverse("kiosk:heartbeat", kwargs={"token": "nope"}), "{}", "application/json"
        ).status_code
        == 404
    )


def test_the_page_shows_the_screen_and_loads_its_script(client, shelf):
    screen, *_ = shelf
    response = client.get(page_url(screen), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "shelves-kiosk.js" in html and 'id="kiosk-config"' in html
    assert "Nanjing West Road" in html
    assert response["X-Frame-Options"] == "DENY"  # only the staff preview may be framed


def test_the_page_speaks_chinese_to_a_chinese_browser(client, shelf):
    screen, *_ = shelf
    html = client.get(page_url(screen), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert 'lang="zh-hans"' in html


def test_the_kiosk_url_may_name_its_language(client, shelf):
    # a TV's browser is often set to English in a Chinese store
    screen, *_ = shelf
    html = client.get(page_url(screen), {"lang": "xx"}, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert 'lang="en"' in html
    html = client.get(page_url(screen), {"lang": "zh-hans"}, HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert 'lang="zh-hans"' in html
    # the page's words come in that language (the offline badge, already translated)
    assert "离线" in html
    assert "离线" not in client.get(page_url(screen), HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    # and so do the card's words, which the page's script draws from the kiosk-strings JSON
    strings = kiosk_strings(html)
    assert strings["scanToBuy"] == "扫码购买"
    assert strings["notInStore"] == "本店无货"
    assert strings["storeStock"] == "本店：%(count)s"
    english = kiosk_strings(client.get(page_url(screen), HTTP_ACCEPT_LANGUAGE="en-US").content.decode())
    assert english["scanToBuy"] == "Scan to buy"


def kiosk_strings(html: str) -> dict:
    import re

    found = re.search(r'<script id="kiosk-strings" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_every_kiosk_card_string_is_in_the_message_catalogue():
    # makemessages extracts only the names it knows: a string marked through an alias (the
    # card strings once were, as `_lazy`) silently never reaches the catalogue
    import ast
    from pathlib import Path

    import shelves.views.kiosk as module

    tree = ast.parse(Path(module.__file__).read_text())
    known = {"gettext", "gettext_lazy", "_", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
    calls = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and (node.func.id in known or "gettext" in node.func.id or node.func.id.endswith("_lazy"))
    ]
    assert calls and set(calls) <= known, set(calls) - known


def test_the_kiosk_the_scan_page_and_the_restock_hint_agree_on_a_stock_of_zero(client, shelf, brand):
    # given a store whose stock row of the featured product says 0, and no row for the third
    from shelves.selectors import stats as stats_selectors
    from shelves.services.scans import scan_code as code_of

    screen, _catalog, products = shelf
    zero, stocked, none = products[1], products[0], products[2]
    # the kiosk card: not stocked (null), like no row at all
    items = {item["id"]: item for item in payload(client, screen)["items"]}
    assert items[zero.pk]["store_stock"] is None and items[none.pk]["store_stock"] is None
    assert items[stocked.pk]["store_stock"] == 4
    # the scan page: "Not stocked in this store" for both, the count for the stocked one
    for product in (zero, none):
        html = client.get(f"/s/{code_of(screen.scan_code, product.pk)}").content.decode()
        assert 'data-store-stock="none"' in html and "Not stocked in this store" in html
    html = client.get(f"/s/{code_of(screen.scan_code, stocked.pk)}").content.decode()
    assert "data-store-stock>4<" in html
    # the restocking hint: both scanned products the store does not stock, not the stocked one
    hq = StaffRoleFactory(user=UserFactory(username="hq-stock"), brand=brand, role=Role.HQ_ADMIN)
    from retail.tenancy import principal_for_role

    hints = stats_selectors.restock_hints(principal=principal_for_role(hq), rng=stats_selectors.stats_range())
    assert {h["product"] for h in hints} == {zero.pk, none.pk}


# --- QR codes -----------------------------------------------------------------------------------


def test_qr_code_is_an_svg_of_the_absolute_scan_url(client, shelf):
    screen, _catalog, products = shelf
    response = client.get(page_url(screen, "qr", product_id=products[0].pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "max-age=604800" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<path" in svg
    # the code encodes the scan URL (segno decodes nothing; compare with a fresh rendering)
    import io

    import segno

    expected = io.BytesIO()
    url = "http://testserver/s/" + scan_code(screen.scan_code, products[0].pk)
    segno.make(url, error="m").save(expected, kind="svg", scale=10, border=2, xmldecl=False, svgns=True)
    assert svg == expected.getvalue().decode()


def test_qr_code_is_cached_after_the_first_request(client, shelf, django_assert_num_queries):
    screen, _catalog, products = shelf
    url = page_url(screen, "qr", product_id=products[0].pk)
    with django_assert_num_queries(2):  # the screen by token, the product in its catalogs
        first = client.get(url)
    with django_assert_num_queries(0):
        again = client.get(url)
    assert first.content == again.content


def test_a_product_not_on_the_screen_has_no_qr_code(client, shelf, brand):
    screen, *_ = shelf
    elsewhere = ProductFactory(brand=brand)
    assert client.get(page_url(screen, "qr", product_id=elsewhere.pk)).status_code == 404


# --- brand isolation ----------------------------------------------------------------------------


def test_a_token_of_brand_a_never_shows_brand_b(client, shelf, brand, other_brand):
    screen, catalog, products = shelf
    theirs = ScreenFactory(brand=other_brand)
    their_product = theirs.day_catalog.items.first().product
    # a QR code URL with brand B's product id
    assert client.get(page_url(screen, "qr", product_id=their_product.pk)).status_code == 404
    # a bad row: brand B's catalog assigned to brand A's screen as night catalog and a brand-B
    # product slipped into brand A's catalog
    screen.night_catalog = theirs.day_catalog
    screen.double11_catalog = theirs.day_catalog
    screen.save()
    CatalogItemFactory(catalog=catalog, product=their_product, brand=brand, position=99)
    ShelfSettings.objects.create(brand=brand, double11_on=True)
    selectors.forget_screen(screen.token)
    for slot in ("day", "night", "double11", None):
        found = selectors.screen_for_token(screen.token)
        for s in [slot] if slot else [Slot.DAY, Slot.NIGHT]:
            catalog_on = selectors.catalog_for_slot(found, s)
            assert catalog_on is None or catalog_on.id == catalog.pk
    body = payload(client, screen)
    assert their_product.pk not in [item["id"] for item in body["items"]]
    assert body["catalog"]["id"] == catalog.pk  # Double-11 mode, but B's catalog is not shown
    assert client.get(page_url(screen, "qr", product_id=their_product.pk)).status_code == 404
    # and brand B's store stock of brand A's product in the screen's store is not read either
    assert all(item["store_stock"] in (None, 4) for item in body["items"])


def test_impressions_of_another_brands_product_are_dropped(client, shelf, other_brand):
    screen, _catalog, products = shelf
    theirs = ProductFactory(brand=other_brand)
    response = client.post(
        page_url(screen, "heartbeat"),
        json.dumps({"impressions": {str(theirs.pk): 5, str(products[0].pk): 2}}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert dict(ScreenHour.objects.values_list("product_id", "impressions")) == {products[0].pk: 2}


# --- retired ------------------------------------------------------------------------------------


def test_a_retired_screen_says_so_with_410(client, shelf):
    screen, _catalog, products = shelf
    screen.status = ScreenStatus.RETIRED
    screen.retired_at = timezone.now()
    screen.save()
    response = client.get(page_url(screen))
    assert response.status_code == 410
    assert "This screen is retired" in response.content.decode()
    assert client.get(page_url(screen, "payload")).status_code == 410
    beat = client.post(page_url(screen, "heartbeat"), "{}", content_type="application/json")
    assert beat.status_code == 410 and beat.json()["error"]["code"] == "retired"
    assert client.get(page_url(screen, "qr", product_id=products[0].pk)).status_code == 404


def test_retiring_shows_on_the_page_at_once_and_in_the_payload_within_the_screen_ttl(client, shelf):
    screen, *_ = shelf
    assert client.get(page_url(screen, "payload")).status_code == 200
    screen.status = ScreenStatus.RETIRED
    screen.save()
    # the payload's lookup is cached (at most SCREEN_TTL seconds) …
    assert client.get(page_url(screen, "payload")).status_code == 200
    assert selectors.SCREEN_TTL <= 15
    # … but the page reads the screen fresh, and refreshes the cached one with it
    assert client.get(page_url(screen)).status_code == 410
    assert client.get(page_url(screen, "payload")).status_code == 410


def test_a_rotated_token_stops_at_once_on_the_page(client, shelf):
    screen, *_ = shelf
    old = screen.token
    assert client.get(page_url(screen)).status_code == 200
    screen.token = "kiosk-token-rotated-0001"
    screen.save()
    assert client.get(reverse("kiosk:page", kwargs={"token": old})).status_code == 404
    assert client.get(page_url(screen)).status_code == 200


# --- preview ------------------------------------------------------------------------------------


def test_preview_is_for_staff_of_the_brand_and_shows_the_slot_asked(client, brand, other_brand, three_slots):
    screen, day, night, d11 = three_slots
    url = page_url(screen) + "?preview=1&slot=night"
    # anonymous: to the login page
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # staff of another brand: not found
    stranger = StaffRoleFactory(user=UserFactory(username="hq-b"), brand=other_brand, role=Role.HQ_ADMIN).user
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    assert client.get(page_url(screen, "payload"), {"preview": "1", "slot": "night"}).status_code == 404
    # a store manager of another store of the brand: not found either
    other_store = StoreFactory(brand=brand)
    manager = StaffRoleFactory(
        user=UserFactory(username="mgr-x"), brand=brand, store=other_store, role=Role.STORE_MANAGER
    ).user
    client.force_login(manager)
    assert client.get(url).status_code == 404
    # HQ of the brand: the night catalog, framable by our own pages, no heartbeat
    hq = StaffRoleFactory(user=UserFactory(username="hq-a2"), brand=brand, role=Role.HQ_ADMIN).user
    client.force_login(hq)
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    config = json.loads(
        response.content.decode().split('id="kiosk-config" type="application/json">')[1].split("<")[0]
    )
    assert config["preview"] is True and config["heartbeat"] == "" and config["serviceWorker"] == ""
    for slot, catalog in (("night", night), ("double11", d11), ("day", day)):
        body = payload(client, screen, preview="1", slot=slot)
        assert body["catalog"]["id"] == catalog.pk and body["slot"] == slot
    assert client.get(page_url(screen, "payload"), {"preview": "1", "slot": "noon"}).status_code == 404


@pytest.fixture
def hq_client(client, brand):
    hq = StaffRoleFactory(user=UserFactory(username="hq-preview"), brand=brand, role=Role.HQ_ADMIN).user
    client.force_login(hq)
    return client


def test_the_preview_slot_follows_the_same_rule_as_the_screen(three_slots, brand):
    screen, *_ = three_slots
    found = selectors.screen_for_token(screen.token)
    for when in (at(13), at(23)):
        # no tab: exactly the real screen's slot
        assert selectors.slot_shown(found, now=when) == selectors.current_slot(found, now=when)
        assert selectors.slot_shown(found, preview="day", now=when) == Slot.DAY
        assert selectors.slot_shown(found, preview="night", now=when) == Slot.NIGHT
        assert selectors.slot_shown(found, preview="double11", now=when) == Slot.DOUBLE11
    # a screen without a Double-11 catalog: in Double-11 mode it shows the hour's catalog
    screen.double11_catalog = None
    screen.save()
    found = selectors.screen_for_token(screen.token, fresh=True)
    assert selectors.slot_shown(found, preview="double11", now=at(13)) == Slot.DAY
    assert selectors.slot_shown(found, preview="double11", now=at(23)) == Slot.NIGHT


def test_a_double11_preview_without_a_double11_catalog_shows_what_the_screen_shows(
    hq_client, three_slots, brand
):
    # given a screen without a Double-11 catalog, in a brand whose Double-11 mode is on
    screen, day, night, _d11 = three_slots
    screen.double11_catalog = None
    screen.save()
    ShelfSettings.objects.create(brand=brand, double11_on=True)
    selectors.forget_screen(screen.token)
    # when staff preview the Double-11 tab and the screen fetches its payload
    real = payload(hq_client, screen)
    preview = payload(hq_client, screen, preview="1", slot="double11")
    # then both show the same catalog (the hour's, day or night), never an empty screen
    assert real["catalog"]["id"] in (day.pk, night.pk)
    assert preview["catalog"] == real["catalog"] and preview["slot"] == real["slot"]
    assert preview["catalog"] is not None
    # and the page's badge says which slot it fell back to
    html = hq_client.get(page_url(screen), {"preview": "1", "slot": "double11"}).content.decode()
    assert "data-preview-shown" in html and str(Slot(real["slot"]).label) in html


def test_a_preview_without_a_slot_is_what_the_screen_shows_now(hq_client, three_slots, brand):
    screen, _day, _night, d11 = three_slots
    assert payload(hq_client, screen, preview="1")["catalog"] == payload(hq_client, screen)["catalog"]
    html = hq_client.get(page_url(screen), {"preview": "1"}).content.decode()
    assert "Preview · Now" in html
    # in Double-11 mode, "now" is the Double-11 catalog
    ShelfSettings.objects.create(brand=brand, double11_on=True)
    selectors.forget_screen(screen.token)
    now = payload(hq_client, screen, preview="1")
    assert now["slot"] == "double11" and now["catalog"]["id"] == d11.pk


# --- heartbeat ----------------------------------------------------------------------------------


def test_heartbeat_marks_the_device_online_and_adds_impressions(client, shelf):
    screen, _catalog, products = shelf
    device = DeviceFactory(brand=screen.brand, store=screen.store)
    screen.device = device
    screen.save()
    url = page_url(screen, "heartbeat")
    body = {"impressions": {str(products[0].pk): 3, str(products[1].pk): 1}, "version": "old"}
    first = client.post(url, json.dumps(body), content_type="application/json")
    assert first.status_code == 200
    answer = first.json()
    assert answer["slot"] in ("day", "night") and answer["version"].startswith(answer["slot"] + ".")
    assert answer["version"] == payload(client, screen)["version"]
    device.refresh_from_db()
    assert device.status == DeviceStatus.ONLINE and device.last_seen_at is not None
    client.post(url, json.dumps(body), content_type="application/json")
    counts = dict(ScreenHour.objects.filter(screen=screen).values_list("product_id", "impressions"))
    assert counts == {products[0].pk: 6, products[1].pk: 2}
    row = ScreenHour.objects.get(screen=screen, product=products[0])
    assert row.brand_id == screen.brand_id and row.store_id == screen.store_id
    assert row.hour.minute == 0 and row.hour.second == 0


def test_heartbeat_caps_absurd_counts_and_ignores_junk(client, shelf):
    screen, _catalog, products = shelf
    body = {
        "impressions": {str(products[0].pk): 10**9, "x": 4, str(products[1].pk): -3, str(products[2].pk): "7"}
    }
    response = client.post(page_url(screen, "heartbeat"), json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert dict(ScreenHour.objects.values_list("product_id", "impressions")) == {products[0].pk: 1800}
    # a screen shows at most 1,800 cards an hour (one per 2 s): the hour's row stops there
    again = {"impressions": {str(products[0].pk): 500}}
    client.post(page_url(screen, "heartbeat"), json.dumps(again), content_type="application/json")
    assert ScreenHour.objects.get(product=products[0]).impressions == 1800


def test_heartbeat_without_a_device_still_answers(client, shelf):
    screen, *_ = shelf
    response = client.post(page_url(screen, "heartbeat"), "{}", content_type="application/json")
    assert response.status_code == 200 and set(response.json()) == {"version", "slot"}


def test_heartbeat_rejects_bad_json_and_huge_bodies(client, shelf):
    screen, *_ = shelf
    url = page_url(screen, "heartbeat")
    bad = client.post(url, "{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    assert client.post(url, "[1, 2]", content_type="application/json").status_code == 400
    huge = json.dumps({"impressions": {str(i): 1 for i in range(5000)}})
    assert client.post(url, huge, content_type="application/json").status_code == 413
    assert client.get(url).status_code == 405


def test_heartbeat_is_csrf_exempt(shelf):
    from django.test import Client

    screen, *_ = shelf
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(page_url(screen, "heartbeat"), "{}", content_type="application/json")
    assert response.status_code == 200


def test_heartbeat_catches_a_change_the_push_missed(client, shelf):
    screen, catalog, _products = shelf
    old = payload(client, screen)["version"]
    catalog.version += 1
    catalog.save()
    answer = client.post(page_url(screen, "heartbeat"), "{}", content_type="application/json").json()
    assert answer["version"] != old
    # the heartbeat read the screen fresh, so the page's refetch sees the new catalog at once
    assert payload(client, screen)["version"] == answer["version"]


# --- service worker -----------------------------------------------------------------------------


def test_service_worker_is_served_under_the_screens_path(client, shelf):
    screen, *_ = shelf
    response = client.get(page_url(screen, "sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    source = response.content.decode()
    shell = json.loads(source.split("self.KIOSK_SHELL = ", 1)[1].split(";\n", 1)[0])
    assert shell["page"] == page_url(screen) and shell["payload"] == page_url(screen, "payload")
    assert any(url.endswith("shelves-kiosk.js") for url in shell["static"])
    assert 'addEventListener("fetch"' in source
