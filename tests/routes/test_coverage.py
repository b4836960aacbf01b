"""`/coverage`: geocoding with typos, camera counts against brute force, privacy."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import h3
import psycopg
import pytest
from fastapi.testclient import TestClient

from camdensity import settings as settings_mod
from camdensity.service.routes.coverage import baseline_radius, hexagon_resolution
from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES, database_settings
from routes.coverage_seed import (
    CENTER,
    GEOD,
    LONELY,
    brute_force_count,
    geodesic_m,
    offset,
)

pytest_plugins = ("routes.coverage_seed",)


def _get(coverage_client: TestClient, **params: Any) -> Any:
    r = coverage_client.get("/coverage", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


@pytest.mark.parametrize(
    ("query", "label"),
    [
        ("manerheimintie 1, helsinki", "Mannerheimintie 1, 00100 Helsinki"),  # typo, lower case
        ("Saastopankinranta 6", "Säästöpankinranta 6, 00530 Helsinki"),  # no accents
        ("YRJÖNKATU 34", "Yrjönkatu 34, 00100 Helsinki"),  # upper case
        ("Yrjonkatu 34 Helsinki", "Yrjönkatu 34, 00100 Helsinki"),
        ("Toolonlahdenkatu 2", "Töölönlahdenkatu 2, 00100 Helsinki"),
        ("00180 Helsinki, Bulevardi 21", "Bulevardi 21, 00180 Helsinki"),  # postcode first
        ("annankatu 5 b", "Annankatu 5B, 00120 Helsinki"),  # letter apart, different case
        ("Pohjoisesplanadi 12", "Pohjoisesplanadi 11-13, 00170 Helsinki"),  # inside a range
        ("pohjoisesplanadi 11-13", "Pohjoisesplanadi 11-13, 00170 Helsinki"),
    ],
)
def test_address_with_typos_is_found(
    coverage_client: TestClient, coverage_db: psycopg.Connection, query: str, label: str
) -> None:
    body = _get(coverage_client, address=query)
    loc = body["location"]
    assert loc["matched"] == label
    assert loc["precision"] == "address"
    assert 0.5 <= loc["score"] <= 1
    lon, lat = coverage_db.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM address WHERE label = %s", (label,)
    ).fetchone()
    assert (loc["lon"], loc["lat"]) == pytest.approx((lon, lat))


def test_house_number_decides_between_numbers_of_a_street(coverage_client: TestClient) -> None:
    one = _get(coverage_client, address="Mannerheimintie 1")["location"]
    ten = _get(coverage_client, address="Mannerheimintie 10")["location"]
    assert one["matched"].startswith("Mannerheimintie 1,")
    assert ten["matched"].startswith("Mannerheimintie 10,")


def test_unknown_house_number_falls_back_to_the_street(coverage_client: TestClient) -> None:
    exact = _get(coverage_client, address="Yrjönkatu 30")["location"]
    street = _get(coverage_client, address="Yrjönkatu 999")["location"]
    assert street["precision"] == "street"
    assert street["matched"] == "Yrjönkatu, Helsinki"
    assert street["score"] < exact["score"]
    # A postcode is not a house number asked for: the street matched, without the penalty.
    postcode = _get(coverage_client, address="Yrjönkatu 00100")["location"]
    assert postcode["precision"] == "street" and postcode["score"] > street["score"]


def test_unknown_address_is_404_with_suggestions(coverage_client: TestClient) -> None:
    r = coverage_client.get("/coverage", params={"address": "Mannerheimvägen 1 Stockholm"})
    assert r.status_code == 404, r.text
    detail = r.json()["detail"]
    assert "no imported address matches" in detail["message"]
    assert 1 <= len(detail["suggestions"]) <= 5
    assert any(s.startswith("Mannerheimintie") for s in detail["suggestions"])
    assert r.headers["cache-control"] == "no-store"

    r = coverage_client.get("/coverage", params={"address": "qqqq zzzz xxxx"})
    assert r.status_code == 404
    assert r.json()["detail"]["suggestions"] == []


@pytest.mark.parametrize(
    "query",
    ["Helsinki", "00100", "00100 Helsinki", "foobar 5 helsinki", "main st helsinki", "5"],
)
def test_a_city_or_postcode_alone_locates_nothing(coverage_client: TestClient, query: str) -> None:
    # Every address of the city holds these words: without a street there is no place to answer
    # for, and answering for some street of the city would mislead.
    r = coverage_client.get("/coverage", params={"address": query})
    assert r.status_code == 404, r.json()["location"]
    # Suggestions are addresses a search can match: each names a street.
    assert all(not s[0].isdigit() for s in r.json()["detail"]["suggestions"])


@pytest.mark.parametrize("radius", [60, 200, 333, 1000])
@pytest.mark.parametrize("east_north", [(0, 0), (210, -130), (-640, 480)])
def test_camera_count_equals_brute_force(
    coverage_client: TestClient,
    coverage_db: psycopg.Connection,
    radius: int,
    east_north: tuple[int, int],
) -> None:
    # Nudge the point until no camera lies within 0.5 m of the rim, where the last digit of
    # two distance computations could decide either way.
    for nudge in range(10):
        lon, lat = offset(*CENTER, east_north[0] + 1.7 * nudge, east_north[1])
        per_op, near_edge = brute_force_count(coverage_db, lon, lat, radius)
        if near_edge == 0:
            break
    assert near_edge == 0
    cams = _get(coverage_client, lat=lat, lon=lon, radius=radius)["cameras"]
    assert sum(per_op.values()) > 0
    assert cams["total"] == sum(per_op.values())
    assert sum(cams["by_type"].values()) == cams["total"]
    assert cams["by_operator"] == {op: per_op.get(op, 0) for op in OPERATOR_TYPES}
    if radius == 1000:  # private aggregates of the city are within reach and counted
        assert cams["by_operator"]["private"] > 0


def test_few_private_cameras_are_as_if_absent(
    coverage_client: TestClient, coverage_db: psycopg.Connection
) -> None:
    lon, lat = LONELY
    raw = coverage_db.execute(
        "SELECT operator_type, count(*) FROM camera WHERE ST_DWithin(geom::geography,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, 100) GROUP BY 1 ORDER BY 1",
        (lon, lat)).fetchall()
    assert raw == [("private", 2), ("public", 1)]  # the seeded corner
    cams = _get(coverage_client, lat=lat, lon=lon, radius=100)["cameras"]
    # Only the public camera: no count, type, flag or note tells that two households are there.
    assert cams == {
        "total": 1,
        "by_type": {t: int(t == "cctv") for t in CAMERA_TYPES},
        "by_operator": {o: int(o == "public") for o in OPERATOR_TYPES},
    }


def test_hexagons_cover_the_disc(coverage_client: TestClient) -> None:
    lon, lat = offset(*CENTER, 100, 100)
    body = _get(coverage_client, lat=lat, lon=lon, radius=200)
    res = body["hexagon_resolution"]
    assert res == hexagon_resolution(200)
    cells = set(body["hexagons"])
    assert all(h3.get_resolution(c) == res for c in cells)
    assert h3.latlng_to_cell(lat, lon, res) in cells
    # Points on the rim (just inside) fall in listed cells; a point well outside does not.
    for bearing in range(0, 360, 30):
        rlon, rlat, _ = GEOD.fwd(lon, lat, bearing, 195)
        assert h3.latlng_to_cell(rlat, rlon, res) in cells
    for cell in cells:
        clat, clon = h3.cell_to_latlng(cell)
        assert geodesic_m(lon, lat, clon, clat) < 200 + 2 * h3.average_hexagon_edge_length(res, "m")


def test_sites_within_reach_with_exposure(
    coverage_client: TestClient, coverage_db: psycopg.Connection
) -> None:
    body = _get(coverage_client, lat=CENTER[1], lon=CENTER[0], radius=500)
    rows = coverage_db.execute(
        "SELECT s.name, ST_X(s.centroid), ST_Y(s.centroid), e.cameras_200m "
        "FROM site s JOIN site_exposure e ON e.site_id = s.id"
    ).fetchall()
    expected = {
        name: (geodesic_m(CENTER[0], CENTER[1], x, y), cams)
        for name, x, y, cams in rows
        if geodesic_m(CENTER[0], CENTER[1], x, y) < 500
    }
    got = {s["name"]: s for s in body["sites"]}
    assert set(got) == set(expected) and len(got) >= 2
    assert body["sites_total"] == len(expected)
    for name, (dist, cams) in expected.items():
        assert got[name]["distance_m"] == pytest.approx(dist, abs=0.2)
        assert got[name]["exposure"]["cameras_200m"] == cams
        assert {"category", "lat", "lon"} <= set(got[name])
    distances = [s["distance_m"] for s in body["sites"]]
    assert distances == sorted(distances)


@pytest.mark.parametrize("radius", [200, 300])
def test_percentile_against_baseline(
    coverage_client: TestClient, coverage_db: psycopg.Connection, radius: int
) -> None:
    lon, lat = offset(*CENTER, 50, -70)
    body = _get(coverage_client, lat=lat, lon=lon, radius=radius)
    base_r = baseline_radius(radius)
    assert body["percentile_detail"]["baseline_radius_m"] == base_r
    per_op, _ = brute_force_count(coverage_db, lon, lat, base_r)
    here = sum(per_op.values())
    city = settings_mod.method_settings().city_radius_m
    cells = [
        c
        for c, x, y in coverage_db.execute(
            "SELECT cameras, ST_X(geom), ST_Y(geom) FROM baseline WHERE radius_m = %s", (base_r,)
        ).fetchall()
        if geodesic_m(lon, lat, x, y) <= city
    ]
    fewer = sum(c < here for c in cells)
    same = sum(c == here for c in cells)
    assert body["percentile_detail"]["cameras_within_baseline_radius"] == here
    assert body["percentile_detail"]["baseline_cells"] == len(cells)
    assert body["percentile"] == pytest.approx(100 * (fewer + 0.5 * same) / len(cells), abs=0.05)
    assert body["data_version"] == "synthetic-1"


def test_percentile_is_null_with_a_reason_far_from_the_city(coverage_client: TestClient) -> None:
    body = _get(coverage_client, lat=-33.9, lon=18.4, radius=200)
    assert body["percentile"] is None
    assert "no baseline cells" in body["percentile_detail"]["reason"]
    assert body["cameras"]["total"] == 0
    assert body["sites"] == []
    assert body["location"] == {
        "lat": -33.9,
        "lon": 18.4,
        "matched": None,
        "score": None,
        "precision": "point",
        "uncertainty_m": None,
        "geocoder": "none",
    }


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "give `address`, or both `lat` and `lon`"),
        ({"lat": 60.17}, "both `lat` and `lon`"),
        ({"address": "Annankatu 5", "lat": 60.1, "lon": 24.9}, "not both"),
        ({"address": "   "}, "empty"),
        ({"address": "Annankatu\x005"}, "control characters"),
        ({"lat": 91, "lon": 24.9}, "less than or equal to 90"),
        ({"lat": 60.1, "lon": -181}, "greater than or equal to -180"),
        ({"lat": 60.1, "lon": 24.9, "radius": 5}, "greater than or equal to 10"),
        ({"lat": 60.1, "lon": 24.9, "radius": 5000}, "less than or equal to 2000"),
        ({"lat": "north", "lon": 24.9}, "valid number"),
    ],
)
def test_bad_parameters_are_422_with_a_message(
    coverage_client: TestClient, params: dict[str, Any], needle: str
) -> None:
    r = coverage_client.get("/coverage", params=params)
    assert r.status_code == 422, r.text
    assert needle in json.dumps(r.json())


def test_queries_are_never_logged(
    coverage_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every log record (any logger, any level) and the server log stay free of the query."""
    address = "Manerheimintie 14, Helsinki"
    lat, lon = 60.171234, 24.945678
    pg_log = database_settings().pg_dir / "postgres.log"
    embedded = database_settings().embedded and pg_log.exists()
    start = pg_log.stat().st_size if embedded else 0
    caplog.set_level(logging.DEBUG)
    assert coverage_client.get("/coverage", params={"address": address}).status_code == 200
    assert coverage_client.get("/coverage", params={"lat": lat, "lon": lon}).status_code == 200
    assert (
        coverage_client.get("/coverage", params={"address": "Nowhere Street 7"}).status_code == 404
    )
    secrets = [
        address,
        address.lower(),
        "manerheimintie",
        "Nowhere",
        str(lat),
        str(lon),
        "60.1712",
        "24.9456",
    ]
    records = [f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
    for text in records:
        for secret in secrets:
            assert secret.lower() not in text.lower(), text
    if embedded:
        time.sleep(0.2)  # let the server flush its log
        with pg_log.open("rb") as fh:
            fh.seek(start)
            tail = fh.read().decode(errors="replace").lower()
        for secret in secrets:
            assert secret.lower() not in tail


class _Stub(BaseHTTPRequestHandler):
    """A Nominatim/Pelias stand-in: answers by path, remembers the query strings it saw."""

    seen: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        _Stub.seen.append(parse_qs(url.query))
        if url.path == "/slow":
            time.sleep(1.5)
        if url.path == "/broken":
            self.send_response(500)
            self.end_headers()
            return
        if url.path == "/pelias":
            body: Any = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [24.95, 60.17]},
                        "properties": {
                            "label": "Stub street 1",
                            "layer": "address",
                            "confidence": 0.9,
                        },
                    }
                ],
            }
        elif url.path == "/empty":
            body = []
        else:
            body = [
                {
                    "lat": "60.1700",
                    "lon": "24.9500",
                    "display_name": "Stubintie 3, Helsinki",
                    "importance": 0.42,
                    "place_rank": 30,
                    "addresstype": "house",
                }
            ]
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Silent: the stub must not log the query either."""


@pytest.fixture
def stub_geocoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local geocoder on 127.0.0.1 (no external traffic); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stub.seen.clear()
    monkeypatch.setenv("CAMDENSITY_GEOCODER_TIMEOUT_S", "0.5")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    settings_mod.service_settings.cache_clear()


def _use(monkeypatch: pytest.MonkeyPatch, url: str, kind: str = "nominatim") -> None:
    monkeypatch.setenv("CAMDENSITY_GEOCODER_URL", url)
    monkeypatch.setenv("CAMDENSITY_GEOCODER_KIND", kind)
    settings_mod.service_settings.cache_clear()


def test_external_geocoder_nominatim(
    coverage_client: TestClient, stub_geocoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, f"{stub_geocoder}/search")
    loc = _get(coverage_client, address="Stubintie 3")["location"]
    assert (loc["lat"], loc["lon"]) == (60.17, 24.95)
    assert loc["matched"] == "Stubintie 3, Helsinki"
    assert (loc["score"], loc["precision"], loc["geocoder"]) == (0.42, "address", "nominatim")
    assert _Stub.seen[-1]["q"] == ["Stubintie 3"] and _Stub.seen[-1]["format"] == ["jsonv2"]


def test_external_geocoder_pelias(
    coverage_client: TestClient, stub_geocoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, f"{stub_geocoder}/pelias", "pelias")
    loc = _get(coverage_client, address="Stub street 1")["location"]
    assert (loc["lat"], loc["lon"], loc["precision"], loc["geocoder"]) == (
        60.17,
        24.95,
        "address",
        "pelias",
    )


def test_external_geocoder_finding_nothing_falls_back_offline(
    coverage_client: TestClient, stub_geocoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, f"{stub_geocoder}/empty")
    loc = _get(coverage_client, address="Annankatu 5")["location"]
    assert (loc["geocoder"], loc["matched"]) == ("offline", "Annankatu 5, 00120 Helsinki")
    assert _Stub.seen  # it was asked first


@pytest.mark.parametrize(("path", "needle"), [("/broken", "HTTP 500"), ("/slow", "timed out")])
def test_external_geocoder_failure_is_502_without_the_query(
    coverage_client: TestClient,
    stub_geocoder: str,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    needle: str,
) -> None:
    _use(monkeypatch, f"{stub_geocoder}{path}")
    r = coverage_client.get("/coverage", params={"address": "Secret Lane 9"})
    assert r.status_code == 502
    assert needle in r.json()["detail"]
    assert "secret" not in r.text.lower()


def test_openapi_describes_every_parameter(coverage_client: TestClient) -> None:
    spec = coverage_client.get("/openapi.json").json()
    for path in ("/coverage", "/sites", "/sites/{site_id}"):
        for param in spec["paths"][path]["get"]["parameters"]:
            assert param.get("description"), f"{path} {param['name']}"


# --- The real Helsinki extract (ingested and built by the session's `helsinki` fixture) ---


@pytest.fixture(scope="module")
def helsinki_client(helsinki: str) -> Iterator[TestClient]:
    from camdensity.service.main import create_app

    with TestClient(create_app(helsinki)) as c:
        yield c


@pytest.mark.parametrize(
    ("typed", "street", "number"),
    [
        ("yrjonktu 30, helsinki", "Yrjönkatu", "30"),  # a letter missing, no accents
        ("FABIANINKATU 2", "Fabianinkatu", "2"),  # upper case
        ("Manerheimintie 5", "Mannerheimintie", "5"),  # a letter missing
    ],
)
def test_helsinki_address_with_a_typo_and_its_cameras(
    helsinki_client: TestClient, helsinki: str, typed: str, street: str, number: str
) -> None:
    body = _get(helsinki_client, address=typed, radius=200)
    loc = body["location"]
    assert loc["precision"] == "address"
    assert loc["matched"].startswith(f"{street} {number},")
    with psycopg.connect(helsinki) as conn:
        points = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM address WHERE street = %s AND housenumber = %s",
            (street, number),
        ).fetchall()
        assert any((loc["lon"], loc["lat"]) == pytest.approx((x, y), abs=1e-9) for x, y in points)
        per_op, near_edge = brute_force_count(conn, loc["lon"], loc["lat"], 200)
    cams = body["cameras"]
    expected = sum(per_op.values())
    assert expected > 0  # central Helsinki: there are cameras within 200 m
    assert expected <= cams["total"] <= expected + near_edge
