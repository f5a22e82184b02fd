"""The shopper's scan page /s/<code>: one scan per page shown, brand-bound member cookie,
retired / unknown / foreign codes, and the cached hot path's single statement."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from members.models import Member
from members.tests.factories import MemberFactory
from retail.models import StoreStock
from retail.tests.factories import ProductFactory
from shelves.choices import ScreenStatus
from shelves.models import Scan, ShelfSettings
from shelves.services import scans as services
from shelves.services.scans import forget_local, read_scan_token, scan_code
from shelves.tests.factories import ScreenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def screen(brand):
    return ScreenFactory(brand=brand)


@pytest.fixture
def product(screen):
    return screen.day_catalog.items.first().product


def url(screen, product_id: int) -> str:
    return f"/s/{scan_code(screen.scan_code, product_id)}"


def member_cookie(client: Client, *, brand_id: int, member_id: int) -> None:
    from django.http import HttpResponse

    response = HttpResponse()
    response.set_signed_cookie(
        services.MEMBER_COOKIE,
        services.member_cookie_value(brand_id=brand_id, member_id=member_id),
        salt=services.MEMBER_COOKIE_SALT,
    )
    client.cookies[services.MEMBER_COOKIE] = response.cookies[services.MEMBER_COOKIE].value


def test_a_scan_records_exactly_one_row_and_shows_the_product_with_a_buy_link(client, screen, product):
    # given a brand that links its online store, and the store stocking the product
    ShelfSettings.objects.update_or_create(
        brand=screen.brand, defaults={"buy_url_template": "https://shop.example.com/item/{sku}?td={token}"}
    )
    StoreStock.objects.create(brand=screen.brand, store=screen.store, product=product, quantity=4)
    # when a shopper opens the product's QR code
    response = client.get(url(screen, product.pk))
    # then one scan is recorded with screen, store, brand and product
    assert response.status_code == 200
    scan = Scan.objects.get()
    assert (scan.screen_id, scan.store_id, scan.brand_id, scan.product_id, scan.member_id) == (
        screen.pk,
        screen.store_id,
        screen.brand_id,
        product.pk,
        None,
    )
    # and the page shows the product and a buy link carrying the scan's token
    html = response.content.decode()
    assert product.name in html and f"¥{product.price}" in html
    assert "data-store-stock>4<" in html
    token = services.scan_token(scan.pk)
    assert (
        f'href="https://shop.example.com/item/{quote(product.sku, safe="")}?td={quote(token, safe="")}"'
        in html
    )
    assert response["Cache-Control"] == "no-store"
    # and each further open is one more scan, never two
    client.get(url(screen, product.pk))
    assert Scan.objects.count() == 2


def test_without_a_buy_url_template_the_page_shows_the_token_to_copy(client, screen, product):
    response = client.get(url(screen, product.pk))
    html = response.content.decode()
    token = services.scan_token(Scan.objects.get().pk)
    assert "online store is not linked yet" in html
    assert f'value="{token}"' in html and "Buy online" not in html
    assert read_scan_token(token) == Scan.objects.get().pk


def test_a_warm_scan_runs_one_statement_the_insert(client, screen, product):
    client.get(url(screen, product.pk))  # warms the cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(screen, product.pk))
    assert response.status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert queries[0]["sql"].startswith("INSERT INTO") and "shelves_scan" in queries[0]["sql"]


def test_a_cold_scan_runs_three_statements(client, screen, product):
    # the screen with its brand's buy URL, the product with the store's stock, the insert
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(screen, product.pk)).status_code == 200
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_unknown_codes_are_404_and_record_nothing(client, screen, product):
    for code in [
        "nothing",
        "zzzzzz-1",
        f"{screen.scan_code}-",
        f"{screen.scan_code}-%%%",
        f"{screen.scan_code}-zzzzzzzz",
    ]:
        response = client.get(f"/s/{code}")
        assert response.status_code == 404, code
        assert "This code is not known" in response.content.decode()
    assert not Scan.objects.exists()


def test_brand_a_screen_never_shows_brand_b_product(client, screen, other_brand):
    # given brand B's product id written into brand A's screen code
    foreign = ProductFactory(brand=other_brand, name="Brand B secret product")
    response = client.get(url(screen, foreign.pk))
    # then it is "not found": nothing of B shows and no scan is recorded
    assert response.status_code == 404
    assert "Brand B secret product" not in response.content.decode()
    assert not Scan.objects.exists()


def test_a_product_of_the_brand_not_in_the_catalog_still_shows(client, screen, brand):
    # the screen's catalog rotates; a printed code of a product the catalog dropped still sells
    other = ProductFactory(brand=brand)
    assert client.get(url(screen, other.pk)).status_code == 200
    assert Scan.objects.get().product_id == other.pk


def test_a_retired_screen_shows_screen_retired_and_records_nothing(client, screen, product):
    screen.status = ScreenStatus.RETIRED
    screen.save()
    response = client.get(url(screen, product.pk))
    assert response.status_code == 410
    assert "This screen has been retired" in response.content.decode()
    assert not Scan.objects.exists()


def test_retiring_takes_effect_at_once_after_forget_screen(client, screen, product):
    assert client.get(url(screen, product.pk)).status_code == 200  # cached as active
    screen.status = ScreenStatus.RETIRED
    screen.save()
    services.forget_screen(scan_code=screen.scan_code)
    assert client.get(url(screen, product.pk)).status_code == 410
    assert Scan.objects.count() == 1


def test_an_inactive_product_gets_a_friendly_page_without_a_scan(client, screen, product):
    product.is_active = False
    product.save()
    response = client.get(url(screen, product.pk))
    assert response.status_code == 200
    assert "no longer available" in response.content.decode()
    assert not Scan.objects.exists()


def test_head_and_prefetch_do_not_count(client, screen, product):
    assert client.head(url(screen, product.pk)).status_code == 200
    prefetch = client.get(url(screen, product.pk), HTTP_SEC_PURPOSE="prefetch")
    assert prefetch.status_code == 503 and prefetch["Cache-Control"] == "no-store"
    assert client.get(url(screen, product.pk), HTTP_PURPOSE="prefetch").status_code == 503
    assert not Scan.objects.exists()
    assert client.post(url(screen, product.pk)).status_code == 405
    assert not Scan.objects.exists()


def test_the_member_cookie_of_the_brand_records_the_member(client, screen, product, brand):
    member = MemberFactory(brand=brand)
    member_cookie(client, brand_id=brand.pk, member_id=member.pk)
    response = client.get(url(screen, product.pk))
    assert Scan.objects.get().member_id == member.pk
    assert "recognised as a member" in response.content.decode()


def test_another_brands_member_cookie_is_ignored(client, screen, product, other_brand):
    # given a shopper identified at brand B (their cookie names B and B's member)
    member_b = MemberFactory(brand=other_brand)
    member_cookie(client, brand_id=other_brand.pk, member_id=member_b.pk)
    # when they scan at brand A's screen, they are a stranger there
    response = client.get(url(screen, product.pk))
    assert Scan.objects.get().member_id is None
    assert "recognised as a member" not in response.content.decode()


def test_a_forged_brand_in_the_cookie_never_links_another_brands_member(client, screen, product, other_brand):
    # a validly signed cookie claiming brand A but naming brand B's member id
    member_b = MemberFactory(brand=other_brand)
    member_cookie(client, brand_id=screen.brand_id, member_id=member_b.pk)
    assert client.get(url(screen, product.pk)).status_code == 200
    assert Scan.objects.get().member_id is None  # dropped inside the INSERT, scan kept


def test_a_tampered_cookie_is_ignored(client, screen, product, brand):
    member = MemberFactory(brand=brand)
    client.cookies[services.MEMBER_COOKIE] = f"{brand.pk}.{member.pk}:forged"
    assert client.get(url(screen, product.pk)).status_code == 200
    assert Scan.objects.get().member_id is None


def test_identify_joins_a_member_links_the_scan_and_sets_the_cookie(client, screen, product, brand):
    client.get(url(screen, product.pk))
    scan = Scan.objects.get()
    token = services.scan_token(scan.pk)
    identify = f"/s/{scan_code(screen.scan_code, product.pk)}/member"
    page = client.get(identify, {"t": token})
    assert page.status_code == 200 and 'name="phone"' in page.content.decode()
    # without consent nothing happens
    refused = client.post(identify, {"t": token, "phone": "13900001111"})
    assert refused.status_code == 422 and not Member.objects.exists()
    # with consent the shopper joins (source cloud shelf, the screen's store)
    response = client.post(identify, {"t": token, "phone": "13900001111", "consent": "on"})
    assert response.status_code == 200
    member = Member.objects.get()
    assert (
        member.brand_id == brand.pk and member.source == "cloud_shelf" and member.store_id == screen.store_id
    )
    scan.refresh_from_db()
    assert scan.member_id == member.pk
    assert Scan.objects.count() == 1  # the same scan and token, nothing counted twice
    assert token in response.content.decode()
    # and the next scan knows them by the cookie
    client.get(url(screen, product.pk))
    assert Scan.objects.order_by("-id").first().member_id == member.pk


def test_identify_finds_an_existing_member(client, screen, product, brand):
    member = MemberFactory(brand=brand, phone="13900002222")
    client.get(url(screen, product.pk))
    token = services.scan_token(Scan.objects.get().pk)
    identify = f"/s/{scan_code(screen.scan_code, product.pk)}/member"
    client.post(identify, {"t": token, "phone": "139 0000 2222", "consent": "on"})
    assert Member.objects.count() == 1
    assert Scan.objects.get().member_id == member.pk


def test_identify_with_another_brands_scan_token_changes_nothing(client, screen, product, other_brand):
    # a token of brand B's scan posted on brand A's screen page
    screen_b = ScreenFactory(brand=other_brand)
    product_b = screen_b.day_catalog.items.first().product
    client.get(url(screen_b, product_b.pk))
    token_b = services.scan_token(Scan.objects.get().pk)
    identify = f"/s/{scan_code(screen.scan_code, product.pk)}/member"
    response = client.post(identify, {"t": token_b, "phone": "13900003333", "consent": "on"})
    assert response.status_code == 422
    assert not Member.objects.exists() and Scan.objects.get().member_id is None


def test_a_price_change_shows_after_the_cache_entry_expires(client, screen, product):
    client.get(url(screen, product.pk))
    product.price = Decimal("1.23")
    product.save()
    assert "¥1.23" not in client.get(url(screen, product.pk)).content.decode()  # cached
    cache.clear()  # what CACHE_SECONDS does in production ...
    forget_local()  # ... and LOCAL_SECONDS in each process
    assert "¥1.23" in client.get(url(screen, product.pk)).content.decode()


def test_the_scan_page_is_bilingual(client, screen, product):
    response = client.get(url(screen, product.pk), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


# --- the per-minute count -------------------------------------------------------------------


def test_scan_counts_are_published_once_per_store_and_minute(brand, other_brand):
    import datetime as dt

    from retail.models import DomainEvent
    from shelves.tasks.scans import publish_scan_counts_task
    from shelves.tests.factories import ScanFactory

    # given scans in one minute at two screens of store 1, one screen of store 2 (brand B)
    minute = dt.datetime(2026, 11, 11, 12, 0, tzinfo=dt.UTC)
    a1 = ScreenFactory(brand=brand)
    a2 = ScreenFactory(brand=brand, store=a1.store)
    b = ScreenFactory(brand=other_brand)
    for screen, seconds in [(a1, 1), (a1, 30), (a2, 59), (b, 10)]:
        ScanFactory(screen=screen, scanned_at=minute + dt.timedelta(seconds=seconds))
    ScanFactory(screen=a1, scanned_at=minute + dt.timedelta(minutes=1, seconds=1))  # the next minute
    # when the task runs at 12:01:05 (the minute 12:00 is complete, 12:01 is not)
    published = services.publish_scan_counts(now=minute + dt.timedelta(minutes=1, seconds=5))
    # then one event per store: store 1 with 3 scans over two screens, store 2 with 1
    events = {e.store_id: e for e in DomainEvent.objects.filter(name="shelf.scans_counted")}
    assert published == 2 and set(events) == {a1.store_id, b.store_id}
    assert events[a1.store_id].brand_id == brand.pk
    assert events[a1.store_id].payload == {
        "scans": 3,
        "by_screen": {str(a1.pk): 2, str(a2.pk): 1},
        "minute": minute.isoformat(),
    }
    assert events[b.store_id].payload["scans"] == 1 and events[b.store_id].brand_id == other_brand.pk
    # and running again (a retry, a second worker) publishes nothing twice
    assert services.publish_scan_counts(now=minute + dt.timedelta(minutes=1, seconds=30)) == 0
    # while a later run catches up the next minute once it is complete
    assert services.publish_scan_counts(now=minute + dt.timedelta(minutes=3)) == 1
    assert DomainEvent.objects.filter(name="shelf.scans_counted").count() == 3
    # the task wraps the service (nothing new by now)
    assert publish_scan_counts_task() in (0, None)


def test_a_minute_without_scans_publishes_nothing(brand):
    import datetime as dt

    from retail.models import DomainEvent

    assert services.publish_scan_counts(now=dt.datetime(2026, 11, 11, 12, 0, 5, tzinfo=dt.UTC)) == 0
    assert not DomainEvent.objects.filter(name="shelf.scans_counted").exists()
