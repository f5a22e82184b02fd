"""GET /api/v1/shelf-stats/restock/: the restocking hints through the partner API, against the
crafted week (S1 stocks p1 (5) and p2 (0), S2 stocks nothing; brand B's store stocks
nothing): figures, filters, scope, another brand's store, bad parameters, the schema."""

from __future__ import annotations

import pytest

from conftest import make_partner

from .factories_scans import crafted_week

pytestmark = pytest.mark.django_db

URL = "/api/v1/shelf-stats/restock/"
RANGE = {"date_from": "2026-11-10", "date_to": "2026-11-11"}


@pytest.fixture
def week(brand, other_brand):
    return crafted_week(brand, other_brand)


@pytest.fixture
def reader(brand):
    return make_partner(brand, ["shelves:read"])


def test_the_brands_hints_most_scanned_first(reader, week, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        response = reader.get(URL, RANGE)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["date_from"] == "2026-11-10" and data["timezone"] == "Asia/Shanghai"
    assert [(r["store"], r["sku"], r["scans"]) for r in data["results"]] == [
        (week["s2"].pk, "P1", 4),
        (week["s1"].pk, "P2", 1),  # a stock of 0 is not stocked
    ]
    assert set(data["results"][0]) == {"store", "store_name", "product", "sku", "name", "scans"}


def test_filters_by_store_screen_and_limit(reader, week):
    by_store = reader.get(URL, {**RANGE, "store": week["s1"].pk}).json()["results"]
    assert [r["sku"] for r in by_store] == ["P2"]
    by_screen = reader.get(URL, {**RANGE, "screen": week["z"].pk}).json()["results"]
    assert [(r["sku"], r["scans"]) for r in by_screen] == [("P1", 4)]
    assert len(reader.get(URL, {**RANGE, "limit": 1}).json()["results"]) == 1


def test_another_brands_store_or_screen_matches_nothing(reader, week, other_brand):
    theirs = week["b_screen"]
    for params in ({"store": theirs.store_id}, {"screen": theirs.pk}):
        response = reader.get(URL, {**RANGE, **params})
        assert response.status_code == 200 and response.json()["results"] == []
    # and brand B's own partner sees its hint, never brand A's
    other = make_partner(other_brand, ["shelves:read"]).get(URL, RANGE).json()["results"]
    assert [(r["store"], r["scans"]) for r in other] == [(theirs.store_id, 5)]


def test_scope_and_bad_parameters(brand, reader, week):
    assert make_partner(brand, ["orders:read"]).get(URL).status_code == 403
    for params in ({"limit": 0}, {"limit": 500}, {"store": "x"}, {"colour": "red"}, {"date_from": "soon"}):
        response = reader.get(URL, params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid", params
    far = reader.get(URL, {"date_from": "2026-01-01", "date_to": "2026-11-11"})
    assert far.status_code == 400


def test_the_schema_documents_the_restock_route(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/shelf-stats/restock/"]["get"]
    assert operation["operationId"] == "shelf_stats_restock"
    assert {p["name"] for p in operation["parameters"]} >= {
        "store",
        "screen",
        "date_from",
        "date_to",
        "limit",
    }
    assert operation["security"]
