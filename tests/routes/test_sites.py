"""`/sites` and `/sites/{id}`: ranking by exposure, filters, paging, errors."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

pytest_plugins = ("routes.coverage_seed",)


def _get(coverage_client: TestClient, path: str = "/sites", **params: Any) -> Any:
    r = coverage_client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _exposure_key(site: dict[str, Any]) -> tuple[int, float]:
    e = site["exposure"]
    return e["cameras_200m"], e["effective_cameras"]


def test_most_watched_first_then_least(
    coverage_client: TestClient, coverage_db: psycopg.Connection
) -> None:
    (n_sites,) = coverage_db.execute("SELECT count(*) FROM site").fetchone()
    most = _get(coverage_client, order="-exposure")
    least = _get(coverage_client, order="exposure")
    assert most["total"] == least["total"] == n_sites == len(most["sites"])
    keys = [_exposure_key(s) for s in most["sites"]]
    assert keys == sorted(keys, reverse=True)
    assert [_exposure_key(s) for s in least["sites"]] == sorted(keys)
    top = coverage_db.execute(
        "SELECT s.name FROM site s JOIN site_exposure e ON e.site_id = s.id "
        "ORDER BY e.cameras_200m DESC, e.effective_cameras DESC, s.id LIMIT 1"
    ).fetchone()[0]
    assert most["sites"][0]["name"] == top
    assert most["data_version"] == "synthetic-1"


def test_site_figures_match_the_store(
    coverage_client: TestClient, coverage_db: psycopg.Connection
) -> None:
    for site in _get(coverage_client)["sites"]:
        row = coverage_db.execute(
            "SELECT s.category, s.name, ST_X(s.centroid), ST_Y(s.centroid), src.name, "
            "       e.cameras_50m, e.cameras_100m, e.cameras_200m, e.cameras_500m, e.by_type, "
            "       e.effective_cameras, e.percentile_category, e.percentile_city "
            "FROM site s JOIN source src ON src.id = s.source_id "
            "JOIN site_exposure e ON e.site_id = s.id WHERE s.id = %s",
            (site["id"],),
        ).fetchone()
        e = site["exposure"]
        assert (site["category"], site["name"], site["source"]) == (row[0], row[1], row[4])
        assert (site["lon"], site["lat"]) == pytest.approx((row[2], row[3]))
        assert [e[f"cameras_{r}m"] for r in (50, 100, 200, 500)] == list(row[5:9])
        assert e["by_type"] == row[9]
        assert (e["effective_cameras"], e["percentile_category"], e["percentile_city"]) == row[10:]


def test_category_and_bbox_filters(
    coverage_client: TestClient, coverage_db: psycopg.Connection
) -> None:
    schools = _get(coverage_client, category="school")["sites"]
    (n_schools,) = coverage_db.execute(
        "SELECT count(*) FROM site WHERE category = 'school'"
    ).fetchone()
    assert len(schools) == n_schools >= 2 and {s["category"] for s in schools} == {"school"}
    both = _get(coverage_client, category=["school", "clinic"])["sites"]
    assert {s["category"] for s in both} == {"school", "clinic"}

    box = (24.93, 60.16, 24.95, 60.175)
    r = coverage_client.get("/sites", params={"bbox": ",".join(map(str, box))})
    assert r.headers["cache-control"] == "no-store"  # a place asked about: no shared cache
    inside = r.json()["sites"]
    rows = coverage_db.execute(
        "SELECT name FROM site WHERE ST_X(centroid) BETWEEN %s AND %s "
        "AND ST_Y(centroid) BETWEEN %s AND %s",
        (box[0], box[2], box[1], box[3]),
    ).fetchall()
    assert sorted(s["name"] for s in inside) == sorted(r[0] for r in rows)
    assert 0 < len(inside) < _get(coverage_client)["total"]


def test_paging(coverage_client: TestClient) -> None:
    everything = _get(coverage_client, order="name")
    names = [s["name"] for s in everything["sites"]]
    assert names == sorted(names)
    page = _get(coverage_client, order="name", limit=2, offset=2)
    assert [s["name"] for s in page["sites"]] == names[2:4]
    assert page["total"] == everything["total"]
    past = _get(coverage_client, order="name", limit=2, offset=1000)
    assert past["sites"] == [] and past["total"] == everything["total"]


def test_one_site_and_unknown_id(coverage_client: TestClient) -> None:
    first = _get(coverage_client)["sites"][0]
    one = _get(coverage_client, f"/sites/{first['id']}")
    assert {k: one[k] for k in first} == first
    r = coverage_client.get("/sites/999999")
    assert r.status_code == 404 and "no site with id 999999" in r.json()["detail"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"category": "bakery"}, "unknown category bakery"),
        ({"bbox": "1,2,3"}, "four numbers"),
        ({"bbox": "24.9,60.2,24.8,60.3"}, "minlon < maxlon"),
        ({"bbox": "a,b,c,d"}, "four numbers"),
        ({"order": "cameras"}, "'exposure', '-exposure' or 'name'"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"limit": 5000}, "less than or equal to 1000"),
        ({"offset": -1}, "greater than or equal to 0"),
    ],
)
def test_bad_parameters_are_422_with_a_message(
    coverage_client: TestClient, params: dict[str, Any], needle: str
) -> None:
    r = coverage_client.get("/sites", params=params)
    assert r.status_code == 422, r.text
    assert needle in r.text


def test_helsinki_sites_ranked_by_measured_exposure(helsinki: str) -> None:
    from camdensity.service.main import create_app

    with TestClient(create_app(helsinki)) as client, psycopg.connect(helsinki) as conn:
        body = _get(client, order="-exposure", limit=1000)
        (n_sites,) = conn.execute("SELECT count(*) FROM site").fetchone()
        assert body["total"] == n_sites > 10
        measured = [s for s in body["sites"] if s["exposure"] is not None]
        assert measured and measured == body["sites"][: len(measured)]
        keys = [_exposure_key(s) for s in measured]
        assert keys == sorted(keys, reverse=True)
        assert keys[0][0] > 0  # the most watched site has cameras within 200 m
        schools = _get(client, category="school", order="exposure")["sites"]
        assert schools and {s["category"] for s in schools} == {"school"}
