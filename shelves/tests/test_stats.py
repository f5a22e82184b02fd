"""Statistics selectors and pages against a crafted week with hand-computed figures
(shelves/tests/factories_scans.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from retail.choices import Role
from retail.errors import InvalidInput
from retail.tenancy import principal_for_role
from retail.tests.factories import StaffRoleFactory, UserFactory
from shelves.selectors import stats as selectors

from .factories_scans import DAY_FROM, DAY_TO, SH, crafted_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(brand, other_brand):
    return crafted_week(brand, other_brand)


@pytest.fixture
def rng():
    return selectors.stats_range(date_from=DAY_FROM, date_to=DAY_TO)


def hq(brand):
    return principal_for_role(StaffRoleFactory(user=UserFactory(), brand=brand, role=Role.HQ_ADMIN))


def manager(store):
    return principal_for_role(
        StaffRoleFactory(user=UserFactory(), brand=store.brand, store=store, role=Role.STORE_MANAGER)
    )


def figures(row):
    return (row["impressions"], row["scans"], row["orders"], row["gmv"], row["conversion"])


def test_per_screen_figures_equal_the_hand_computed_ones(week, brand, rng):
    rows = {r["screen_name"]: r for r in selectors.screen_stats(principal=hq(brand), rng=rng)}
    assert set(rows) == {"X", "Y", "Z"}  # never brand B's screen
    assert figures(rows["X"]) == (50, 4, 1, Decimal("100.00"), 0.25)
    assert figures(rows["Y"]) == (0, 2, 1, Decimal("20.00"), 0.5)
    assert figures(rows["Z"]) == (30, 4, 1, Decimal("300.00"), 0.25)


def test_per_product_figures_and_order(week, brand, rng):
    rows = selectors.product_stats(principal=hq(brand), rng=rng)
    assert [r["sku"] for r in rows] == ["P1", "P2"]  # most scanned first
    assert figures(rows[0]) == (70, 9, 3, Decimal("420.00"), round(3 / 9, 4))
    assert figures(rows[1]) == (10, 1, 0, Decimal("0.00"), 0.0)


def test_per_hour_figures_count_orders_in_their_scans_hour(week, brand, rng):
    rows = selectors.hour_stats(principal=hq(brand), rng=rng)
    assert len(rows) == 48  # every local hour of two days, quiet ones included
    by_hour = {r["hour"].astimezone(SH).strftime("%m-%d %H"): r for r in rows}
    assert figures(by_hour["11-10 10"]) == (40, 5, 2, Decimal("120.00"), 0.4)
    assert figures(by_hour["11-10 11"]) == (10, 1, 0, Decimal("0.00"), 0.0)
    assert figures(by_hour["11-11 20"]) == (30, 4, 1, Decimal("300.00"), 0.25)
    assert figures(by_hour["11-10 09"]) == (0, 0, 0, Decimal("0.00"), None)
    assert sum(r["scans"] for r in rows) == 10


def test_totals_of_every_grouping_agree(week, brand, rng):
    for group_by in ("screen", "product", "hour"):
        totals = selectors.stats(principal=hq(brand), rng=rng, group_by=group_by)["totals"]
        assert figures(totals) == (80, 10, 3, Decimal("420.00"), 0.3), group_by


def test_a_manager_sees_only_their_stores_screens(week, rng):
    principal = manager(week["s1"])
    rows = selectors.screen_stats(principal=principal, rng=rng)
    assert [r["screen_name"] for r in rows] == ["X", "Y"]
    totals = selectors.stats(principal=principal, rng=rng, group_by="product")["totals"]
    assert (totals["scans"], totals["orders"], totals["gmv"]) == (6, 2, Decimal("120.00"))
    # asking for another store's figures gives nothing, not that store's figures
    assert selectors.screen_stats(principal=principal, rng=rng, store_id=week["s2"].pk) == []


def test_filters_by_store_and_screen(week, brand, rng):
    principal = hq(brand)
    by_store = selectors.stats(principal=principal, rng=rng, group_by="screen", store_id=week["s2"].pk)
    assert [r["screen_name"] for r in by_store["results"]] == ["Z"]
    one = selectors.product_stats(principal=principal, rng=rng, screen_id=week["x"].pk)
    assert [(r["sku"], r["scans"], r["orders"]) for r in one] == [("P1", 3, 1), ("P2", 1, 0)]


def test_restock_hints_list_scanned_products_the_store_does_not_stock(week, brand, rng):
    hints = selectors.restock_hints(principal=hq(brand), rng=rng)
    assert [(h["store_name"], h["sku"], h["scans"]) for h in hints] == [
        (week["s2"].name, "P1", 4),  # S2 stocks nothing
        (week["s1"].name, "P2", 1),  # S1 has a stock row of 0
    ]
    # a manager of S1 sees only S1's hint
    hints_s1 = selectors.restock_hints(principal=manager(week["s1"]), rng=rng)
    assert [(h["sku"], h["scans"]) for h in hints_s1] == [("P2", 1)]


def test_the_default_range_is_the_last_seven_days_and_today():
    rng = selectors.stats_range()
    assert rng.days == 8 and rng.date_to - rng.date_from == dt.timedelta(days=7)


def test_bad_ranges_are_refused():
    with pytest.raises(InvalidInput):
        selectors.stats_range(date_from=DAY_TO, date_to=DAY_FROM)
    with pytest.raises(InvalidInput):
        selectors.stats_range(date_from=DAY_FROM, date_to=DAY_FROM + dt.timedelta(days=200))


# --- pages ----------------------------------------------------------------------------------

RANGE = {"date_from": "2026-11-10", "date_to": "2026-11-11"}


def login_as(client, brand, *, role, store=None):
    user = UserFactory()
    StaffRoleFactory(user=user, brand=brand, store=store, role=role)
    client.force_login(user)
    return user


def test_hq_overview_shows_every_screen_totals_products_and_hints(
    client, week, brand, django_assert_max_num_queries
):
    login_as(client, brand, role=Role.HQ_ADMIN)
    with django_assert_max_num_queries(25):
        response = client.get("/shelves/stats/", RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    for screen in ("X", "Y", "Z"):
        assert f'data-screen="{week[screen.lower()].pk}"' in html
    assert 'data-total="scans">10<' in html and 'data-total="gmv">¥420.00<' in html
    assert 'data-total="conversion">30%<' in html
    assert "shelf-hours-data" in html  # the chart's data
    assert "Restocking hints" in html and week["s2"].name in html
    assert week["b_screen"].name not in html


def test_a_manager_overview_hides_another_store(client, week, brand):
    login_as(client, brand, role=Role.STORE_MANAGER, store=week["s1"])
    html = client.get("/shelves/stats/", RANGE).content.decode()
    assert f'data-screen="{week["x"].pk}"' in html and f'data-screen="{week["y"].pk}"' in html
    assert f'data-screen="{week["z"].pk}"' not in html
    assert week["s2"].name not in html  # neither in the store filter nor in the hints
    assert 'data-total="scans">6<' in html
    # another store's screen page is a 404, its store a refused filter
    assert client.get(f"/shelves/stats/screens/{week['z'].pk}/", RANGE).status_code == 404
    filtered = client.get("/shelves/stats/", {**RANGE, "store": week["s2"].pk})
    assert 'data-total="scans">6<' in filtered.content.decode()  # the bad choice is ignored


def test_a_guide_sees_their_stores_statistics(client, week, brand):
    login_as(client, brand, role=Role.GUIDE, store=week["s2"])
    html = client.get("/shelves/stats/", RANGE).content.decode()
    assert f'data-screen="{week["z"].pk}"' in html and f'data-screen="{week["x"].pk}"' not in html


def test_the_screen_page_shows_per_product_figures(client, week, brand):
    login_as(client, brand, role=Role.HQ_ADMIN)
    response = client.get(f"/shelves/stats/screens/{week['x'].pk}/", RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-product="{week["p1"].pk}"' in html and f'data-product="{week["p2"].pk}"' in html
    assert 'data-total="scans">4<' in html and 'data-total="orders">1<' in html
    assert 'data-total="gmv">¥100.00<' in html


def test_another_brands_screen_page_is_a_404(client, week, brand):
    login_as(client, brand, role=Role.HQ_ADMIN)
    assert client.get(f"/shelves/stats/screens/{week['b_screen'].pk}/").status_code == 404


def test_a_bad_range_shows_an_error_and_the_default_range(client, week, brand):
    login_as(client, brand, role=Role.HQ_ADMIN)
    response = client.get("/shelves/stats/", {"date_from": "2026-11-11", "date_to": "2026-11-01"})
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()
    garbage = client.get("/shelves/stats/", {"date_from": "yesterday"})
    assert garbage.status_code == 200 and "form-errors" in garbage.content.decode()


def test_the_pages_are_bilingual(client, week, brand):
    from django.utils import translation

    login_as(client, brand, role=Role.HQ_ADMIN)
    with translation.override("zh-hans"):
        response = client.get("/shelves/stats/", RANGE, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/shelves/stats/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def chart_rows(html: str, source: str) -> list[dict]:
    import json
    import re

    found = re.search(rf'<script id="{source}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_hour_chart_carries_gmv_and_conversion_and_the_overview_a_screen_chart(client, week, brand):
    login_as(client, brand, role=Role.HQ_ADMIN)
    html = client.get("/shelves/stats/", RANGE).content.decode()
    assert 'data-chart="shelf-sales"' in html and 'data-chart="shelf-screens"' in html
    hours = {row["hour"]: row for row in chart_rows(html, "shelf-hours-data")}
    # 11-10 10h: 5 scans (X 3, Y 2), orders 100 (X) and 20 refunded (Y); 50 cancelled excluded
    assert (hours["11-10 10:00"]["orders"], hours["11-10 10:00"]["gmv"]) == (2, "120.00")
    assert hours["11-10 10:00"]["conversion"] == 40.0
    assert hours["11-10 11:00"]["conversion"] == 0.0
    screens = chart_rows(html, "shelf-screens-data")
    assert [(row["screen"], row["scans"], row["orders"]) for row in screens] == [
        ("X", 4, 1),
        ("Z", 4, 1),
        ("Y", 2, 1),
    ]


def test_the_screen_page_shows_its_charts_and_the_restocking_hints_of_its_scans(client, week, brand):
    login_as(client, brand, role=Role.HQ_ADMIN)
    html = client.get(f"/shelves/stats/screens/{week['x'].pk}/", RANGE).content.decode()
    assert 'data-chart="shelf-hours"' in html and 'data-chart="shelf-sales"' in html
    # X's store S1 stocks p2 at 0: a hint; p1 (5) is stocked
    assert "Restocking hints" in html
    assert f'data-hint-product="{week["p2"].pk}"' in html
    assert f'data-hint-product="{week["p1"].pk}"' not in html
    # Z (S2 stocks nothing): p1 is a hint there, scanned 4 times at Z
    z = client.get(f"/shelves/stats/screens/{week['z'].pk}/", RANGE).content.decode()
    assert f'data-hint-product="{week["p1"].pk}"' in z and f'data-hint-product="{week["p2"].pk}"' not in z


def test_restock_hints_by_screen(week, brand, rng):
    hints = selectors.restock_hints(principal=hq(brand), rng=rng, screen_id=week["y"].pk)
    assert hints == []  # Y's scans are all of p1, which S1 stocks
