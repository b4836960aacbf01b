"""An attacker with unlimited queries against the privacy bound (README: Privacy threat model).

Stores that differ only by planted private cameras are built by the real `build`, with the same
sources and build number (so the same data version), then asked the same battery of queries:
coverage on a grid of centres and radii, every site, sites in a box, tiles at every zoom with
camera filters, exports of every resolution in every format, a PMTiles extract, TileJSON and the
style, the evidence routes (comparison, report, a site's history). The attack succeeds if
any answer differs where the bound says it cannot:
- one private camera, or two in one cell: every answer is byte-identical to the store without
  them (a lone household is indistinguishable from empty land);
- k in one res-9 cell: they show, yet moving them anywhere else inside that cell changes no byte
  of any answer, so nothing locates them more finely than the cell.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import h3
import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod

from camdensity import testing
from camdensity.ingest.build import build
from camdensity.service.main import create_app
from camdensity.settings import MethodSettings

GEOD = Geod(ellps="WGS84")
K = MethodSettings().private_min_per_cell
RESOLUTIONS = MethodSettings().resolutions
# The private camera's home: a res-9 cell in central Helsinki, and points inside it.
CELL = h3.latlng_to_cell(60.1699, 24.9384, 9)
CENTRE = h3.cell_to_latlng(CELL)[::-1]  # lon, lat
FIXED_TIME = "2026-11-30 12:00:00+00"


def offset(east_m: float, north_m: float, origin: tuple[float, float] = CENTRE) -> tuple[float, float]:
    """The point east_m east and north_m north of `origin` (lon, lat), on the ellipsoid."""
    lon, lat, _ = GEOD.fwd(*origin, 90.0, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0.0, north_m)
    return lon, lat


HOME = offset(55, 25)  # the lone doorbell
NEIGHBOUR = offset(-40, 35)
K_HOMES = [HOME, NEIGHBOUR, offset(10, -60)][:K] + [offset(-70, -10 * i) for i in range(K - 3)]
K_MOVED = [offset(-60, 50), offset(70, -20), offset(0, 5)][:K] + [
    offset(20, 10 * i) for i in range(K - 3)]


@dataclass(frozen=True)
class Plant:
    """Private reports planted on top of the base store: (lon, lat, type) each."""

    name: str
    cameras: tuple[tuple[float, float, str], ...]


def seed(conn: psycopg.Connection, plant: Plant) -> None:
    """The base city (public, business and unknown cameras, a published private street, sites)
    and then the planted private cameras; everything in a fixed order."""
    rng = np.random.default_rng(8)
    source = conn.execute(
        "INSERT INTO source (name, entity, kind, licence, file_name, file_sha256, format,"
        " imported_at) VALUES ('city', 'cameras', 'crowdsourced', 'CC0-1.0', 'city.csv',"
        " md5('city'), 'csv', %s) RETURNING id", (FIXED_TIME,)).fetchone()[0]
    sites = conn.execute(
        "INSERT INTO source (name, entity, kind, file_name, file_sha256, format, imported_at)"
        " VALUES ('sites', 'sites', 'reported', 'sites.csv', md5('sites'), 'csv', %s)"
        " RETURNING id", (FIXED_TIME,)).fetchone()[0]
    reports = []
    for _ in range(80):  # the watched city around the home
        east, north = rng.uniform(-700, 700, 2)
        reports.append((*offset(east, north), str(rng.choice(["cctv", "dome", "alpr", "doorbell"])),
                        str(rng.choice(["public", "business", "unknown"])), int(rng.integers(1, 3))))
    street = offset(600, -400)  # four private households in one cell: published as an aggregate
    reports += [(*offset(12 * i, 0, street), "doorbell", "private", 1) for i in range(4)]
    reports += [(lon, lat, kind, "private", 1) for lon, lat, kind in plant.cameras]
    for lon, lat, kind, operator, count in reports:
        conn.execute(
            "INSERT INTO camera_report (source_id, camera_type, operator_type, count, geom)"
            " VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (source, kind, operator, count, lon, lat))
    for category, name, (east, north) in [("school", "school by the home", (30, 0)),
                                          ("clinic", "clinic", (-150, 90)),
                                          ("worship", "church", (400, 300))]:
        conn.execute(
            "INSERT INTO site (source_id, category, name, geom, centroid, geom_3857)"
            " SELECT %s, %s, %s, g, g, ST_Transform(g, 3857)"
            " FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g) p",
            (sites, category, name, *offset(east, north, HOME)))
    conn.commit()
    build(conn)
    # The build's clock is not data: the same time in every store, so exports match byte for byte.
    conn.execute("UPDATE build SET started_at = %s, finished_at = %s", (FIXED_TIME, FIXED_TIME))
    conn.commit()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def battery(client: TestClient) -> dict[str, tuple[int, bytes]]:
    """Every question the attacker asks, with the status and body of each answer."""
    asked: list[tuple[str, dict[str, str | int | float]]] = []
    centres = [HOME, CENTRE, *(offset(e, n, HOME) for e, n in
                               ((-60, -60), (60, -60), (25, -10), (-60, 60), (60, 60)))]
    for lon, lat in centres:
        for radius in (10, 30, 60, 150, 500):
            asked.append(("/coverage", {"lat": lat, "lon": lon, "radius": radius}))
    asked += [("/sites", {}), ("/sites", {"order": "exposure"}),
              ("/sites", {"bbox": "24.93,60.16,24.95,60.18"})]
    asked += [(f"/sites/{i}", {}) for i in (1, 2, 3)]
    filters = [{}, {"types": "doorbell"}, {"operators": "private"}]
    for z in range(17):  # the tile holding the home at every zoom; its neighbours when fine
        x, y = tile_of(*HOME, z)
        asked += [(f"/tiles/{z}/{x}/{y}.mvt", f) for f in filters]
        if z >= 14:
            asked += [(f"/tiles/{z}/{x + dx}/{y + dy}.mvt", {})
                      for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    for resolution in RESOLUTIONS:
        asked.append(("/export/hexagons.csv", {"resolution": resolution}))
        if resolution in (6, 9, 12):
            asked.append(("/export/hexagons.geojson",
                          {"resolution": resolution, "bbox": "24.935,60.168,24.942,60.172"}))
    asked += [("/export/hexagons.parquet", {"resolution": 9}),
              ("/export/provenance.json", {}), ("/tiles.json", {}),
              ("/tiles.json", {"types": "doorbell"}),
              ("/style.json", {}),
              ("/analysis/sites", {"category": "school", "radius": 500, "null_model": "cells"}),
              ("/report", {"category": "school", "radius": 500, "format": "json"}),
              ("/sites/1/history", {}),
              ("/export/tiles.pmtiles", {"bbox": "24.937,60.169,24.941,60.171", "minzoom": 12,
                                         "maxzoom": 16, "operators": "private"})]
    answers = {}
    for path, params in asked:
        r = client.get(path, params=params)
        assert r.status_code < 500, (path, params, r.text)
        answers[f"{path}?{sorted(params.items())}"] = (r.status_code, r.content)
    return answers


STORES = {
    "base": Plant("base", ()),
    "one": Plant("one", ((*HOME, "doorbell"),)),
    "two": Plant("two", ((*HOME, "doorbell"), (*NEIGHBOUR, "cctv"))),
    "k": Plant("k", tuple((*p, "doorbell") for p in K_HOMES)),
    "k_moved": Plant("k_moved", tuple((*p, "doorbell") for p in K_MOVED)),
}


@pytest.fixture(scope="module")
def answers(admin_url: str) -> Iterator[dict[str, dict[str, tuple[int, bytes]]]]:
    """Each store's answers to the battery (the databases are dropped afterwards)."""
    # The planted points are where the scenarios say: the k (and moved k) share the home's cell.
    assert all(h3.latlng_to_cell(lat, lon, 9) == CELL for lon, lat in [*K_HOMES, *K_MOVED])
    assert h3.latlng_to_cell(HOME[1], HOME[0], 9) == CELL
    urls = {}
    try:
        for name, plant in STORES.items():
            urls[name] = testing.create_database(admin_url, "camdensity_attack")
            with psycopg.connect(urls[name]) as conn:
                seed(conn, plant)
        out = {}
        for name, url in urls.items():
            with TestClient(create_app(url)) as client:
                out[name] = battery(client)
        out["_raw"] = {}
        for name, url in urls.items():  # what the stores hold, to show the attack had a target
            with psycopg.connect(url) as conn:
                out["_raw"][name] = (0, repr(conn.execute(
                    "SELECT count(*) FROM camera WHERE operator_type = 'private'"
                ).fetchone()[0]).encode())
        yield out
    finally:
        for url in urls.values():
            testing.drop_database(admin_url, url)


def differing(a: dict[str, tuple[int, bytes]], b: dict[str, tuple[int, bytes]]) -> list[str]:
    assert a.keys() == b.keys()
    return [q for q in a if a[q] != b[q]]


@pytest.mark.parametrize("store", ["one", "two"])
def test_fewer_than_k_private_cameras_are_indistinguishable_from_none(
    answers: dict[str, dict[str, tuple[int, bytes]]], store: str
) -> None:
    planted = len(STORES[store].cameras)
    assert answers["_raw"][store][1] == str(4 + planted).encode()  # they are in the store
    assert differing(answers[store], answers["base"]) == []


def test_k_private_cameras_show_but_only_as_their_cell(
    answers: dict[str, dict[str, tuple[int, bytes]]],
) -> None:
    import json

    changed = differing(answers["k"], answers["base"])
    # They are published: coverage, the school's exposure, tiles and exports all see them...
    assert any(q.startswith("/coverage") for q in changed)
    assert any(q.startswith("/tiles/") for q in changed)
    assert any(q.startswith("/export/hexagons") for q in changed)
    assert any(q.startswith("/sites/1") for q in changed)
    at_centre = next(q for q in answers["k"] if q.startswith("/coverage") and
                     f"('lat', {CENTRE[1]!r})" in q and "('radius', 10)" in q)
    cams = json.loads(answers["k"][at_centre][1])["cameras"]
    assert cams["by_operator"]["private"] == K and cams["by_type"]["doorbell"] >= K
    # ...yet the same households elsewhere in the cell give every answer byte for byte.
    assert differing(answers["k"], answers["k_moved"]) == []
