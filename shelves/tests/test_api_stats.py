"""GET /api/v1/shelf-stats/ against the crafted week: figures, grouping, scope, bad params.

Until shelves/api/urls.py routes the view, this module is its own URLconf (the route
first, then the project's), so the tests run through the real middleware and auth."""

from __future__ import annotations

import pytest
from django.urls import path

from conftest import make_partner
from retail.urls import urlpatterns as project_urlpatterns
from shelves.api.stats import ShelfStatsView

from .factories_scans import crafted_week

urlpatterns = [
    path("api/v1/shelf-stats/", ShelfStatsView.as_view(), name="shelf-stats"),
    *project_urlpatterns,
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

URL = "/api/v1/shelf-stats/"
RANGE = {"date_from": "2026-11-10", "date_to": "2026-11-11"}


@pytest.fixture
def week(brand, other_brand):
    return crafted_week(brand, other_brand)


@pytest.fixture
def reader(brand):
    return make_partner(brand, ["shelves:read"])


def test_figures_per_screen_with_totals(reader, week):
    response = reader.get(URL, RANGE)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["group_by"] == "screen" and data["timezone"] == "Asia/Shanghai"
    assert data["totals"] == {"impressions": 80, "scans": 10, "orders": 3, "gmv": "420.00", "conversion": 0.3}
    rows = {r["screen_name"]: r for r in data["results"]}
    assert set(rows) == {"X", "Y", "Z"}  # brand B's screen never appears
    assert rows["X"]["screen"] == week["x"].pk and rows["X"]["store"] == week["s1"].pk
    assert (rows["X"]["scans"], rows["X"]["orders"], rows["X"]["gmv"], rows["X"]["conversion"]) == (
        4,
        1,
        "100.00",
        0.25,
    )
    assert "product" not in rows["X"] and "hour" not in rows["X"]


def test_group_by_product_and_hour(reader, week):
    products = reader.get(URL, {**RANGE, "group_by": "product"}).json()["results"]
    assert [(r["sku"], r["scans"], r["orders"], r["gmv"]) for r in products] == [
        ("P1", 9, 3, "420.00"),
        ("P2", 1, 0, "0.00"),
    ]
    hours = reader.get(URL, {**RANGE, "group_by": "hour", "screen": week["z"].pk}).json()["results"]
    assert len(hours) == 48
    busy = [r for r in hours if r["scans"]]
    assert len(busy) == 1 and busy[0]["hour"].startswith("2026-11-11T20:00:00+08:00")
    assert (busy[0]["scans"], busy[0]["orders"], busy[0]["impressions"]) == (4, 1, 30)


def test_filters_and_another_brands_ids_match_nothing(reader, week):
    by_store = reader.get(URL, {**RANGE, "store": week["s2"].pk}).json()
    assert [r["screen_name"] for r in by_store["results"]] == ["Z"]
    foreign = reader.get(URL, {**RANGE, "screen": week["b_screen"].pk}).json()
    assert foreign["results"] == [] and foreign["totals"]["scans"] == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"group_by": "day"}, "group_by"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"store": "abc"}, "store"),
        ({"screen": "0"}, "screen"),
        ({"color": "red"}, "color"),
        ({"date_from": "2026-11-11", "date_to": "2026-11-01"}, "date_from"),
        ({"date_from": "2026-01-01", "date_to": "2026-11-01"}, "date_to"),
        ({"date_from": "9999-12-30", "date_to": "9999-12-31"}, "date_from"),
        ({"date_to": "0001-01-01"}, "date_to"),
        ({"store": ""}, "store"),
        ("store=1&store=2", "store"),
    ],
)
def test_bad_params_are_400_in_the_error_shape(reader, week, params, field):
    response = reader.get(f"{URL}?{params}") if isinstance(params, str) else reader.get(URL, params)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] and error["message"] and field in error["fields"]


def test_the_shelves_read_scope_is_needed(brand, week):
    assert make_partner(brand, ["orders:read"]).get(URL, RANGE).status_code == 403


def test_the_schema_documents_the_endpoint(reader):
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"})
    if schema.status_code != 200:
        pytest.skip("no schema endpoint")
    paths = schema.json()["paths"]
    assert URL in paths
    parameters = {p["name"] for p in paths[URL]["get"]["parameters"]}
    assert {"store", "screen", "date_from", "date_to", "group_by"} <= parameters


@pytest.mark.parametrize("group_by", ["screen", "product", "hour"])
def test_the_query_count_does_not_grow_with_the_rows(reader, week, group_by, django_assert_max_num_queries):
    # token lookup and throttling, then the grouped reads: a fixed handful whatever the data
    with django_assert_max_num_queries(7):
        assert reader.get(URL, {**RANGE, "group_by": group_by}).status_code == 200
