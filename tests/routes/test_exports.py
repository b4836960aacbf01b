"""Hexagon exports (GeoParquet, GeoJSON, CSV) from the API and the CLI, read back and checked against the store."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import geopandas
import h3
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from conftest import run_cli
from fastapi.testclient import TestClient
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from camdensity import testing
from camdensity.service import exports
from camdensity.service.main import create_app
from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES, SITE_CATEGORIES

CENTER = (60.1699, 24.9384)  # lat, lon: central Helsinki
RESOLUTIONS = {8: 4, 9: 9}   # resolution -> grid_disk radius of the synthetic city
SNAPSHOT = "20261122T090000Z-test"
SOURCES = [
    {"name": "osm-helsinki", "entity": "cameras", "kind": "crowdsourced",
     "sha256": "ab" * 32, "imported_at": "2026-11-22T08:00:00+00:00",
     "licence": "ODbL-1.0", "data_date": "2019-04-01"},
]
PARAMS = {"resolutions": sorted(RESOLUTIONS), "fusion_distance_m": 15.0,
          "exposure_radii_m": [50, 100, 200, 500], "private_min_per_cell": 3,
          "private_resolution": 9}
WITHHELD = {8: 2, 9: 7}
COUNT_COLUMNS = ["cameras", *(f"n_{t}" for t in CAMERA_TYPES), *(f"op_{o}" for o in OPERATOR_TYPES)]
BBOX = (24.930, 60.165, 24.945, 60.172)  # a part of the synthetic city


def _cells(resolution: int) -> list[str]:
    centre = h3.latlng_to_cell(*CENTER, resolution)
    return sorted(h3.grid_disk(centre, RESOLUTIONS[resolution]))


def _polygon(cell: str) -> Polygon:
    """The cell's boundary as a lon/lat polygon, computed independently of the store."""
    return Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])


def seed(conn: psycopg.Connection) -> None:
    """A finished build and hexagons with varied counts and distances (some NULL), by SQL."""
    rnd = random.Random(20261122)
    rows: list[tuple[Any, ...]] = []
    for resolution in RESOLUTIONS:
        for cell in _cells(resolution):
            types = [rnd.choice((0, 0, 1, 2, 5)) for _ in CAMERA_TYPES]
            cameras = sum(types)
            ops = [0] * len(OPERATOR_TYPES)
            for _ in range(cameras):
                ops[rnd.randrange(len(OPERATOR_TYPES))] += 1
            area = h3.cell_area(cell, "km^2")
            dists = [None if rnd.random() < 0.2 else round(rnd.uniform(5, 3000), 1)
                     for _ in SITE_CATEGORIES]
            rows.append((h3.str_to_int(cell), resolution, cameras, *types, *ops, area,
                         cameras / area, *dists, _polygon(cell).wkt))
    columns = ["h3", "resolution", "cameras", *(f"n_{t}" for t in CAMERA_TYPES),
               *(f"op_{o}" for o in OPERATOR_TYPES), "area_km2", "density_km2",
               *(f"d_{c}" for c in SITE_CATEGORIES)]
    placeholders = ", ".join(["%s"] * len(columns))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO hexagon ({', '.join(columns)}, geom, geom_3857) "
            f"SELECT {placeholders}, g, ST_Transform(g, 3857) "
            "FROM ST_GeomFromText(%s, 4326) AS g",
            rows,
        )
        cur.executemany("INSERT INTO hexagon_withheld (resolution, cameras) VALUES (%s, %s)",
                        list(WITHHELD.items()))
        cur.execute(
            "INSERT INTO build (snapshot, started_at, finished_at, params, sources) "
            "VALUES (%s, now(), now(), %s, %s)",
            (SNAPSHOT, json.dumps(PARAMS), json.dumps(SOURCES)),
        )
    conn.commit()


@pytest.fixture(scope="module")
def store(admin_url: str) -> Iterator[str]:
    """A database of its own with the synthetic build; DATABASE_URL points the CLI at it."""
    from conftest import seeded_database

    for url in seeded_database(admin_url, seed):
        with testing.pointed_at(url):
            yield url


@pytest.fixture(scope="module")
def client(store: str) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as c:
        yield c


def db_truth(url: str, resolution: int) -> dict[str, Any]:
    """What the store holds for a resolution: cells with their counts, and the column sums."""
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            "SELECT h3, " + ", ".join(COUNT_COLUMNS) + ", ST_AsBinary(geom) FROM hexagon "
            "WHERE resolution = %s", (resolution,))
        rows = cur.fetchall()
        extent = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom)::geometry AS e FROM hexagon WHERE resolution = %s) s",
            (resolution,)).fetchone()
    return {
        "cells": {h3.int_to_str(r[0]): dict(zip(COUNT_COLUMNS, r[1:-1])) for r in rows},
        "geoms": {h3.int_to_str(r[0]): shapely.from_wkb(r[-1]) for r in rows},
        "sums": {c: sum(r[1 + i] for r in rows) for i, c in enumerate(COUNT_COLUMNS)},
        "extent": list(extent),
    }


def assert_provenance(prov: dict[str, Any], resolution: int, bbox: Any = None) -> None:
    """The provenance names the snapshot, the sources with licences and dates, and the method."""
    assert prov["snapshot"] == SNAPSHOT
    assert prov["built_at"]
    assert prov["sources"] == SOURCES
    assert prov["params"] == PARAMS
    assert prov["export"]["resolution"] == resolution
    assert prov["export"]["bbox"] == (list(bbox) if bbox else None)
    # The privacy rule in words with its parameters; no count of what it left out (a city total
    # that moves with one private camera would tell that it exists).
    assert "at least 3 share an H3 resolution 9 cell" in prov["privacy"]
    assert "withheld" not in json.dumps(prov)
    assert set(prov["columns"]) >= {"h3", "cameras", "density_km2", "d_clinic"}


def assert_rows_match(records: list[dict[str, Any]], truth: dict[str, Any]) -> None:
    """Same cells as the store, each with the same counts; hence the same sums."""
    by_cell = {str(r["h3"]): r for r in records}
    assert len(by_cell) == len(records) == len(truth["cells"])
    assert set(by_cell) == set(truth["cells"])
    for cell, counts in truth["cells"].items():
        assert {c: int(by_cell[cell][c]) for c in COUNT_COLUMNS} == counts, cell
    sums = {c: sum(int(r[c]) for r in records) for c in COUNT_COLUMNS}
    assert sums == truth["sums"]
    assert sums["cameras"] > 0


def same_polygon(got: Any, stored: Any, decimals: int | None = None) -> bool:
    """The store's polygon: exactly, or within the rounding of a text format."""
    if decimals is None:
        return bool(got.equals(stored))
    return bool(shapely.hausdorff_distance(got, stored) <= 10.0**-decimals)


def cells_in_bbox(resolution: int, bbox: tuple[float, float, float, float]) -> set[str]:
    """Brute force: the synthetic cells whose polygon intersects the box."""
    area = box(*bbox)
    return {c for c in _cells(resolution) if _polygon(c).intersects(area)}


# --- GeoParquet ------------------------------------------------------------------------------


def test_geoparquet_reads_back_with_geopandas_and_duckdb(
    client: TestClient, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BATCH_ROWS", 100)  # several row groups: it really streams
    resp = client.get("/export/hexagons.parquet", params={"resolution": 9})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/vnd.apache.parquet"
    assert SNAPSHOT in resp.headers["content-disposition"]
    assert resp.headers["content-disposition"].endswith('.parquet"')
    assert resp.headers["etag"].startswith(f'"{SNAPSHOT}-')
    assert resp.headers["x-camdensity-snapshot"] == SNAPSHOT
    path = tmp_path / "hexagons.parquet"
    path.write_bytes(resp.content)
    truth = db_truth(store, 9)

    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == -(-len(truth["cells"]) // 100) > 1
    geo = json.loads(meta.metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Polygon"]
    assert "crs" not in column  # absent means OGC:CRS84
    assert column["bbox"] == pytest.approx(truth["extent"], abs=1e-12)
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert_provenance(json.loads(meta.metadata[b"camdensity"]), 9)

    gdf = geopandas.read_parquet(path)
    assert gdf.crs is not None and gdf.crs.to_string() == "OGC:CRS84"
    assert gdf.geometry.name == "geometry"
    assert_rows_match(gdf.drop(columns=["geometry", "bbox"], errors="ignore").to_dict("records"), truth)
    # The polygons are the store's, rings counter-clockwise, coordinates lon/lat.
    for cell, geom in zip(gdf["h3"], gdf.geometry):
        assert geom.equals(truth["geoms"][cell]), cell
        assert geom.exterior.is_ccw
        lat, lon = h3.cell_to_latlng(cell)
        assert geom.centroid.x == pytest.approx(lon, abs=1e-6)
        assert geom.centroid.y == pytest.approx(lat, abs=1e-6)
    assert list(gdf.total_bounds) == pytest.approx(truth["extent"], abs=1e-12)

    con = duckdb.connect()
    sums = con.execute(
        "SELECT count(*), " + ", ".join(f"sum({c})" for c in COUNT_COLUMNS)
        + ", count(DISTINCT h3), min(bbox.xmin), max(bbox.ymax) FROM read_parquet(?)",
        [str(path)]).fetchone()
    assert sums[0] == sums[-3] == len(truth["cells"])
    assert dict(zip(COUNT_COLUMNS, sums[1:-3])) == truth["sums"]
    assert [sums[-2], sums[-1]] == pytest.approx([truth["extent"][0], truth["extent"][3]])
    kv = dict(con.execute(
        "SELECT decode(key), decode(value) FROM parquet_kv_metadata(?)", [str(path)]).fetchall())
    assert json.loads(kv["geo"])["version"] == "1.1.0"
    wkb = con.execute("SELECT h3, geometry FROM read_parquet(?)", [str(path)]).fetchall()
    assert all(shapely.from_wkb(g).equals(truth["geoms"][c]) for c, g in wkb)


# --- GeoJSON ---------------------------------------------------------------------------------


def test_geojson_is_rfc7946_with_provenance(client: TestClient, store: str, tmp_path: Path) -> None:
    resp = client.get("/export/hexagons.geojson", params={"resolution": 8})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/geo+json"
    doc = resp.json()
    truth = db_truth(store, 8)
    assert doc["type"] == "FeatureCollection"
    assert_provenance(doc["camdensity"], 8)
    assert doc["bbox"] == pytest.approx(truth["extent"], abs=1e-12)
    assert_rows_match([f["properties"] for f in doc["features"]], truth)
    for feature in doc["features"]:
        assert feature["type"] == "Feature" and feature["id"] == feature["properties"]["h3"]
        geometry = feature["geometry"]
        assert geometry["type"] == "Polygon" and len(geometry["coordinates"]) == 1
        ring = geometry["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4           # closed
        assert shapely.LinearRing(ring).is_ccw                   # exterior counter-clockwise
        lat, lon = h3.cell_to_latlng(feature["id"])              # [lon, lat] order
        poly = shapely.geometry.shape(geometry)
        assert (poly.centroid.x, poly.centroid.y) == pytest.approx((lon, lat), abs=1e-6)
        assert same_polygon(poly, truth["geoms"][feature["id"]], decimals=7)
    # GDAL reads it too (pyogrio is GDAL), as the same number of polygons.
    path = tmp_path / "hexagons.geojson"
    path.write_bytes(resp.content)
    gdf = geopandas.read_file(path)
    assert len(gdf) == len(truth["cells"]) and int(gdf["cameras"].sum()) == truth["sums"]["cameras"]


# --- CSV -------------------------------------------------------------------------------------


def test_csv_rows_and_sums_equal_the_store(client: TestClient, store: str, tmp_path: Path) -> None:
    resp = client.get("/export/hexagons.csv", params={"resolution": 9})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["x-camdensity-snapshot"] == SNAPSHOT
    link = resp.headers["link"]
    assert link.startswith("</export/provenance.json?resolution=9>") and 'rel="describedby"' in link
    records = list(csv.DictReader(io.StringIO(resp.text)))
    truth = db_truth(store, 9)
    assert_rows_match(records, truth)
    header = next(csv.reader(io.StringIO(resp.text)))
    assert header[:3] == ["h3", "resolution", "cameras"] and header[-1] == "wkt"
    assert {"density_km2", "centroid_lat", "centroid_lon", "d_clinic", "d_shelter"} <= set(header)
    for r in records:
        assert same_polygon(shapely.from_wkt(r["wkt"]), truth["geoms"][r["h3"]], decimals=7)
        lat, lon = h3.cell_to_latlng(r["h3"])
        assert (float(r["centroid_lat"]), float(r["centroid_lon"])) == pytest.approx((lat, lon),
                                                                                     abs=1e-6)
    assert any(r["d_clinic"] == "" for r in records)  # NULL distance: an empty field
    # The provenance the Link points at describes this export.
    prov = client.get(link[1:link.index(">")])
    assert prov.status_code == 200
    assert_provenance(prov.json(), 9)
    assert prov.json()["export"]["rows"] == len(records)
    # GDAL's CSV driver takes the `wkt` column as the geometry.
    path = tmp_path / "hexagons.csv"
    path.write_bytes(resp.content)
    gdf = geopandas.read_file(path)
    assert len(gdf) == len(records) and gdf.geometry.iloc[0].geom_type == "Polygon"


# --- selection, validation, caching ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "geojson", "csv"])
def test_bbox_restricts_rows_to_intersecting_cells(client: TestClient, fmt: str,
                                                   tmp_path: Path) -> None:
    expected = cells_in_bbox(9, BBOX)
    assert 0 < len(expected) < len(_cells(9))
    resp = client.get(f"/export/hexagons.{fmt}",
                      params={"resolution": 9, "bbox": ",".join(map(str, BBOX))})
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"  # a place asked about: no shared cache
    if fmt == "parquet":
        path = tmp_path / "b.parquet"
        path.write_bytes(resp.content)
        got = set(geopandas.read_parquet(path)["h3"])
        prov = json.loads(pq.ParquetFile(path).metadata.metadata[b"camdensity"])
        assert_provenance(prov, 9, BBOX)
    elif fmt == "geojson":
        got = {f["id"] for f in resp.json()["features"]}
        assert_provenance(resp.json()["camdensity"], 9, BBOX)
    else:
        got = {r["h3"] for r in csv.DictReader(io.StringIO(resp.text))}
    assert got == expected
    assert resp.headers["x-camdensity-rows"] == str(len(expected))


def test_empty_selection_is_a_valid_empty_export(client: TestClient, tmp_path: Path) -> None:
    far = {"resolution": 9, "bbox": "-10,-10,-9,-9"}
    doc = client.get("/export/hexagons.geojson", params=far).json()
    assert doc["features"] == [] and "bbox" not in doc
    path = tmp_path / "empty.parquet"
    path.write_bytes(client.get("/export/hexagons.parquet", params=far).content)
    assert len(geopandas.read_parquet(path)) == 0
    assert client.get("/export/hexagons.csv", params=far).text.count("\n") == 1  # header only


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"resolution": 9, "bbox": "24.9,60.1,25.0"}, "4 comma-separated"),
        ({"resolution": 9, "bbox": "a,b,c,d"}, "must be numbers"),
        ({"resolution": 9, "bbox": "25,60,24,61"}, "minlon < maxlon"),
        ({"resolution": 9, "bbox": "24,95,25,96"}, "latitudes"),
        ({"resolution": 9, "bbox": "-190,60,25,61"}, "longitudes"),
        ({"resolution": 9, "bbox": "nan,60,25,61"}, "finite"),
        ({"resolution": 7}, "resolution 7 was not built; built resolutions: 8, 9"),
        ({"resolution": 16}, "less than or equal to 15"),
    ],
)
def test_bad_parameters_are_422_with_a_message(client: TestClient, params: dict[str, Any],
                                               message: str) -> None:
    for path in ("/export/hexagons.csv", "/export/provenance.json"):
        resp = client.get(path, params=params)
        assert resp.status_code == 422, resp.text
        assert message in json.dumps(resp.json()["detail"])


def test_unknown_format_is_rejected(client: TestClient) -> None:
    resp = client.get("/export/hexagons.xlsx", params={"resolution": 9})
    assert resp.status_code == 422
    assert "parquet" in resp.text


def test_etag_depends_on_params_and_gives_304(client: TestClient) -> None:
    first = client.get("/export/hexagons.csv", params={"resolution": 9})
    other = client.get("/export/hexagons.csv", params={"resolution": 8})
    boxed = client.get("/export/hexagons.csv", params={"resolution": 9, "bbox": "24,60,25,61"})
    tag = first.headers["etag"]
    assert SNAPSHOT in tag and len({tag, other.headers["etag"], boxed.headers["etag"]}) == 3
    again = client.get("/export/hexagons.csv", params={"resolution": 9},
                       headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""


def test_openapi_describes_every_export_parameter(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/export/hexagons.{fmt}", "/export/provenance.json"):
        params = paths[path]["get"]["parameters"]
        assert params and all(p.get("description") for p in params), path


def test_no_build_yet_is_503(empty_db: str) -> None:
    with TestClient(create_app(empty_db)) as c:
        for path in ("/export/hexagons.parquet?resolution=9", "/export/provenance.json"):
            resp = c.get(path)
            assert resp.status_code == 503 and "build" in resp.json()["detail"]


# --- CLI -------------------------------------------------------------------------------------


def test_cli_exports_the_same_rows(store: str, tmp_path: Path) -> None:
    truth = db_truth(store, 9)
    out = tmp_path / "h.parquet"
    result = run_cli("export", "hexagons", "--format", "parquet", "-o", str(out),
                     "--resolution", "9")
    assert f"wrote {len(truth['cells'])} hexagons" in result.output and SNAPSHOT in result.output
    assert_rows_match(geopandas.read_parquet(out).drop(columns=["geometry", "bbox"], errors="ignore")
                      .to_dict("records"), truth)
    assert not list(tmp_path.glob("*.partial"))

    out = tmp_path / "h.geojson"  # format from the suffix
    run_cli("export", "hexagons", "-o", str(out), "--resolution", "9")
    doc = json.loads(out.read_bytes())
    assert_rows_match([f["properties"] for f in doc["features"]], truth)
    assert_provenance(doc["camdensity"], 9)

    out = tmp_path / "h.csv"
    run_cli("export", "hexagons", "--format", "csv", "-o", str(out), "--resolution", "9",
            "--bbox", ",".join(map(str, BBOX)))
    with out.open(newline="") as fh:
        assert {r["h3"] for r in csv.DictReader(fh)} == cells_in_bbox(9, BBOX)
    sidecar = json.loads((tmp_path / "h.csv.provenance.json").read_text())
    assert_provenance(sidecar, 9, BBOX)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolution", "6"], "resolution 6 was not built"),
        (["--resolution", "9", "--bbox", "1,2"], "4 comma-separated"),
        (["--format", "xlsx"], "unknown format"),
    ],
)
def test_cli_bad_arguments_fail_clearly(store: str, tmp_path: Path, args: list[str],
                                        message: str) -> None:
    from camdensity.cli import app

    out = tmp_path / "x.parquet"
    result = CliRunner().invoke(app, ["export", "hexagons", "-o", str(out), *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert not out.exists() and not list(tmp_path.iterdir())


def test_streaming_keeps_memory_bounded(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each chunk holds at most one batch: the export is never assembled in memory."""
    monkeypatch.setattr(exports, "BATCH_ROWS", 50)
    request = exports.ExportRequest(resolution=9)
    with psycopg.connect(store, autocommit=True) as conn, exports.snapshot_transaction(conn):
        plan = exports.plan_export(conn, request)
        chunks = list(exports.iter_export(conn, plan, exports.ExportFormat.geojson))
    features = b"".join(chunks).count(b'"type":"Feature",')
    assert features == plan.rows == len(_cells(9))
    # header, one chunk per batch, footer
    assert len(chunks) == 2 + -(-plan.rows // 50)
    assert max(c.count(b'"type":"Feature",') for c in chunks) == 50



# --- over a real build ----------------------------------------------------------------------


def test_export_of_a_real_build_accounts_for_every_camera(empty_db: str, tmp_path: Path) -> None:
    """Reports -> `camdensity build` -> export: shown cameras + withheld private = all devices."""
    rng = random.Random(7)
    n = 400
    lons = [CENTER[1] + rng.uniform(-0.01, 0.01) for _ in range(n)]
    lats = [CENTER[0] + rng.uniform(-0.005, 0.005) for _ in range(n)]
    kinds = [rng.choice(CAMERA_TYPES) for _ in range(n)]
    operators = [rng.choice(OPERATOR_TYPES) for _ in range(n)]
    counts = [rng.choice((1, 1, 2, 3)) for _ in range(n)]
    with psycopg.connect(empty_db) as conn:
        source = conn.execute(
            "INSERT INTO source (name, entity, kind, licence, file_name, file_sha256, format, "
            "data_date) VALUES ('synthetic-cams', 'cameras', 'crowdsourced', 'CC0-1.0', "
            "'cams.csv', md5('cams'), 'csv', '2026-11-01') RETURNING id").fetchone()[0]
        conn.execute(
            "INSERT INTO camera_report (source_id, camera_type, operator_type, count, geom) "
            "SELECT %s, t, o, c, ST_SetSRID(ST_MakePoint(x, y), 4326) "
            "FROM unnest(%s::float8[], %s::float8[], %s::text[], %s::text[], %s::int[]) "
            "AS u(x, y, t, o, c)", (source, lons, lats, kinds, operators, counts))
        conn.commit()
    run_cli("build", "--resolutions", "8,9")
    with psycopg.connect(empty_db) as conn:
        snapshot = conn.execute("SELECT snapshot FROM build").fetchone()[0]
        devices = conn.execute("SELECT sum(count) FROM camera").fetchone()[0]
        withheld = dict(conn.execute("SELECT resolution, cameras FROM hexagon_withheld").fetchall())
        cells = dict(conn.execute(
            "SELECT resolution, count(*) FROM hexagon GROUP BY resolution").fetchall())

    out = tmp_path / "r9.parquet"
    result = run_cli("export", "hexagons", "-o", str(out), "--resolution", "9")
    assert f"wrote {cells[9]} hexagons" in result.output and snapshot in result.output
    gdf = geopandas.read_parquet(out)
    assert len(gdf) == cells[9]
    assert int(gdf["cameras"].sum()) + withheld.get(9, 0) == devices
    prov = json.loads(pq.ParquetFile(out).metadata.metadata[b"camdensity"])
    assert prov["snapshot"] == snapshot
    assert prov["params"]["resolutions"] == [8, 9]
    assert prov["params"]["fusion_distance_m"] > 0
    assert [(s["name"], s["licence"], s["data_date"]) for s in prov["sources"]] == [
        ("synthetic-cams", "CC0-1.0", "2026-11-01")]

    with TestClient(create_app(empty_db)) as c:
        doc = c.get("/export/hexagons.geojson", params={"resolution": 8}).json()
        assert doc["camdensity"]["snapshot"] == snapshot
        assert len(doc["features"]) == cells[8]
        shown = sum(f["properties"]["cameras"] for f in doc["features"])
        assert shown + withheld.get(8, 0) == devices
        # Per-type counts add up to the cameras of each cell.
        for f in doc["features"]:
            p = f["properties"]
            assert sum(p[f"n_{t}"] for t in CAMERA_TYPES) == p["cameras"]
            assert sum(p[f"op_{o}"] for o in OPERATOR_TYPES) == p["cameras"]
        resp = c.get("/export/hexagons.csv", params={"resolution": 10})
        assert resp.status_code == 422 and "built resolutions: 8, 9" in resp.json()["detail"]


def test_copy_split_keeps_cells_of_every_shape(empty_db: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Pentagons (shorter WKB) between hexagons: every row comes back whole, in h3 order, with
    NULL distances as nulls, re-cut into batches of BATCH_ROWS across runs of each shape."""
    pentagon = sorted(h3.get_pentagons(9))[3]
    cells = sorted({pentagon, *h3.grid_disk(pentagon, 2)}, key=h3.str_to_int)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for n, cell in enumerate(cells):
            ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]
            wkt = "POLYGON((" + ", ".join(f"{x!r} {y!r}" for x, y in [*ring, ring[0]]) + "))"
            conn.execute(
                "INSERT INTO hexagon (h3, resolution, cameras, n_alpr, area_km2, density_km2,"
                " d_school, geom, geom_3857) SELECT %s, 9, %s, %s, 0.1, %s * 10.0,"
                " CASE WHEN %s %% 2 = 0 THEN 12.34 END, g, ST_Transform(g, 3857)"
                " FROM ST_GeomFromText(%s, 4326) g",
                (h3.str_to_int(cell), n, n, n, n, wkt))
        monkeypatch.setattr(exports, "BATCH_ROWS", 4)
        split, cut = exports.CopyBatches(), exports.Rebatch()
        statement, params = exports._copy_statement(exports.ExportRequest(resolution=9))
        batches: list[pa.RecordBatch] = []
        with conn.cursor() as cur, cur.copy(statement, params) as copy:
            for data in copy:  # small pieces: rows and runs are cut anywhere
                batches += cut.push(split.feed(data))
        batches += cut.push(split.close()) + cut.rest()
    assert [b.num_rows for b in batches] == [4] * (len(cells) // 4) + (
        [len(cells) % 4] if len(cells) % 4 else [])
    table = pa.Table.from_batches(batches)
    assert table.column("h3").to_pylist() == cells
    assert table.column("cameras").to_pylist() == list(range(len(cells)))
    assert table.column("d_school").to_pylist() == [
        12.3 if n % 2 == 0 else None for n in range(len(cells))]
    shapes = [shapely.from_wkb(w) for w in table.column("geometry").to_pylist()]
    assert len({len(s.exterior.coords) for s in shapes}) > 1  # WKB of more than one length
    for cell, shape in zip(cells, shapes):
        expected = Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])
        assert shape.equals_exact(expected, 1e-12) or shape.equals(expected)


# The columns the exporter derives client-side, as PostGIS and PostgreSQL compute them: the
# export must hold exactly these values (sql/queries/export_hexagons.sql says why).
DERIVED_BY_SQL = (
    "SELECT ltrim(lpad(to_hex(h3), 16, '0'), '0'), "
    + ", ".join(f"round(d_{c}::numeric, 1)::float8" for c in SITE_CATEGORIES)
    + ", ST_Y(ST_Centroid(geom)), ST_X(ST_Centroid(geom)), ST_XMin(geom), ST_YMin(geom),"
    " ST_XMax(geom), ST_YMax(geom), ST_AsBinary(ST_ForcePolygonCCW(geom), 'NDR') "
    "FROM hexagon WHERE resolution = 9 ORDER BY h3"
)
DERIVED = ["h3", *(f"d_{c}" for c in SITE_CATEGORIES), "centroid_lat", "centroid_lon",
           "xmin", "ymin", "xmax", "ymax", "geometry"]
# float4 distances where rounding through numeric is subtle: ties at the 6th significant digit
# and at the first decimal, tiny and huge values, zero, NULL.
TRICKY = [0.0, 0.05, 0.04999, 0.15, 123.45, 2.25, 12345.25, 99999.95, 999999.5, 1e-7, 5e-6,
          3.4e37, 1e7, None]


def _decode_all(conn: psycopg.Connection) -> pa.Table:
    split, cut = exports.CopyBatches(), exports.Rebatch()
    statement, params = exports._copy_statement(exports.ExportRequest(resolution=9))
    batches: list[pa.RecordBatch] = []
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        for data in copy:
            batches += cut.push(split.feed(data))
    batches += cut.push(split.close()) + cut.rest()
    return pa.Table.from_batches(batches)


def test_derived_columns_equal_what_postgis_computes(empty_db: str) -> None:
    """Hex text, rounded distances, centroid, bounds and counter-clockwise WKB, decoded by the
    exporter, equal bit for bit what the SQL functions give; clockwise rings stored are turned
    round, a polygon with a hole (never an H3 cell) comes out right too."""
    rnd = random.Random(9)
    pentagon = sorted(h3.get_pentagons(9))[5]
    cells = sorted({pentagon, *h3.grid_disk(pentagon, 3), *_cells(9)}, key=h3.str_to_int)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        for n, cell in enumerate(cells):
            ring = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]
            if n % 3 == 0:
                ring.reverse()  # stored clockwise
            hole = ""
            if n == 7:  # a hole around the centroid
                lat, lon = h3.cell_to_latlng(cell)
                d = 1e-4
                hole = (f", ({lon - d!r} {lat - d!r}, {lon - d!r} {lat + d!r}, "
                        f"{lon + d!r} {lat + d!r}, {lon + d!r} {lat - d!r}, {lon - d!r} {lat - d!r})")
            wkt = ("POLYGON((" + ", ".join(f"{x!r} {y!r}" for x, y in [*ring, ring[0]]) + ")"
                   + hole + ")")
            dists = [TRICKY[(n + i) % len(TRICKY)] if i % 2 else
                     rnd.choice([None, rnd.uniform(0, 50_000), round(rnd.uniform(0, 500), 2)])
                     for i in range(len(SITE_CATEGORIES))]
            conn.execute(
                "INSERT INTO hexagon (h3, resolution, cameras, area_km2, density_km2, "
                + ", ".join(f"d_{c}" for c in SITE_CATEGORIES) + ", geom, geom_3857) "
                "SELECT %s, 9, 1, 0.1, 10.0, " + ", ".join(["%s::real"] * len(SITE_CATEGORIES))
                + ", g, ST_Transform(g, 3857) FROM ST_GeomFromText(%s, 4326) g",
                (h3.str_to_int(cell), *dists, wkt))
        truth = conn.execute(DERIVED_BY_SQL).fetchall()
        table = _decode_all(conn)

    got = list(zip(*(table.column(c).to_pylist() for c in DERIVED)))
    assert len(got) == len(truth) == len(cells)
    for n, (row, want) in enumerate(zip(got, truth)):
        want = (*want[:-1], bytes(want[-1]))
        if n == 7:  # the holed polygon goes through GEOS in shapely: centroid to rounding
            assert row[:8] == want[:8] and row[10:] == want[10:]
            assert row[8:10] == pytest.approx(want[8:10], abs=1e-12)
        else:
            assert row == want, cells[n]
    assert all(shapely.from_wkb(g).exterior.is_ccw for g in table.column("geometry").to_pylist())


def test_export_stopped_early_leaves_the_connection_usable(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that goes away mid-export: the COPY read ahead in a thread ends with it."""
    monkeypatch.setattr(exports, "COPY_READ_BYTES", 1000)  # the reader waits with more to read
    monkeypatch.setattr(exports, "READ_AHEAD_BLOCKS", 1)
    monkeypatch.setattr(exports, "BATCH_ROWS", 10)
    request = exports.ExportRequest(resolution=9)
    with psycopg.connect(store, autocommit=True) as conn:
        with exports.snapshot_transaction(conn):
            plan = exports.plan_export(conn, request)
            chunks = exports.iter_export(conn, plan, exports.ExportFormat.parquet)
            next(chunks)
            next(chunks)
            chunks.close()
        assert conn.execute("SELECT count(*) FROM hexagon").fetchone()[0] > 0


def test_export_query_errors_reach_the_caller(store: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "_copy_statement",
                        lambda request: ("COPY (SELECT 1/0) TO STDOUT (FORMAT BINARY)", {}))
    with psycopg.connect(store, autocommit=True) as conn, exports.snapshot_transaction(conn):
        plan = exports.plan_export(conn, exports.ExportRequest(resolution=9))
        with pytest.raises(psycopg.errors.DivisionByZero):
            list(exports.iter_export(conn, plan, exports.ExportFormat.csv))


def test_api_export_read_in_many_blocks_equals_the_cli_export(
    client: TestClient, store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API decodes one block in a thread while reading the next: with many small blocks
    its file holds exactly the rows of the CLI's (read ahead by a thread of its own)."""
    monkeypatch.setattr(exports, "COPY_READ_BYTES", 2000)
    monkeypatch.setattr(exports, "BATCH_ROWS", 30)
    resp = client.get("/export/hexagons.parquet", params={"resolution": 9})
    assert resp.status_code == 200, resp.text
    api = tmp_path / "api.parquet"
    api.write_bytes(resp.content)
    cli = tmp_path / "cli.parquet"
    run_cli("export", "hexagons", "-o", str(cli), "--resolution", "9")
    got, want = pq.read_table(api), pq.read_table(cli)
    assert got.num_rows == len(_cells(9)) and got.equals(want)
    assert pq.ParquetFile(api).metadata.num_row_groups == -(-len(_cells(9)) // 30)
