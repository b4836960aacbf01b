"""Survey evidence, precision, stacked points and concurrent imports, against PostGIS."""

from __future__ import annotations

import csv
import json
import math
import random
import threading
import time
from pathlib import Path

import mapbox_vector_tile
import psycopg
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from camdensity.ingest.cameras import import_cameras
from camdensity.ingest.pipeline import IMPORT_LOCK, ImportResult
from camdensity.service.main import create_app
from camdensity.settings import service_settings


def volunteer_csv(path: Path, n: int = 10_000, seed: int = 7) -> Path:
    """An Amnesty-style count file: one row per intersection, half of them count 0."""
    rng = random.Random(seed)
    lines = ["intersection_id,Latitude,Longitude,Cameras"]
    for i in range(n):
        lat, lon = 40.70 + rng.random() * 0.1, -74.00 + rng.random() * 0.1
        lines.append(f"x{i},{lat:.6f},{lon:.6f},{0 if i % 2 else rng.randint(1, 4)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_volunteer_survey_keeps_count_zero_rows_as_evidence(empty_db: str,
                                                                tmp_path: Path) -> None:
    path = volunteer_csv(tmp_path / "decode.csv")
    out = run_cli("ingest", "cameras", str(path), "--source", "decode", "--lat", "Latitude",
                  "--lon", "Longitude", "--count", "Cameras", "--id", "intersection_id").output
    assert "5000 accepted" in out and "5000 surveyed with no camera (count 0)" in out
    assert "0 rejected" in out
    stats = json.loads(run_cli("stats", "--json").output)
    [source] = stats["sources"]
    assert (source["reports"], source["rejected"], source["surveyed_empty"]) == (5000, 0, 5000)
    assert run_cli("rejects", "--source", "decode").output == "no rejected rows\n"

    run_cli("build", "--resolutions", "9")
    with psycopg.connect(empty_db) as conn:
        # Every cell holding a surveyed point is flagged; cells with only count-0 points are
        # hexagons of 0 cameras ("looked, saw none"), the others carry the counted devices.
        cells = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE cameras = 0),"
            " count(*) FILTER (WHERE surveyed), sum(cameras) FROM hexagon").fetchone()
    total, empty, surveyed, devices = cells
    assert surveyed == total  # the whole file is a survey: every cell of it was looked at
    assert empty > 0 and devices == sum(
        int(line.rsplit(",", 1)[1]) for line in path.read_text().splitlines()[1:])


def test_surveyed_cells_reach_tiles_and_exports(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    # One counted camera in one place, one surveyed-empty point 2 km away, nothing elsewhere.
    path.write_text("lat,lon,count\n60.1700,24.9400,2\n60.1880,24.9400,0\n")
    run_cli("ingest", "cameras", str(path), "--source", "survey")
    other = tmp_path / "osm.csv"
    other.write_text("lat,lon\n60.2000,24.9000\n")  # a camera from a source that surveys nothing
    run_cli("ingest", "cameras", str(other), "--source", "registry")
    run_cli("build", "--resolutions", "9")
    out = tmp_path / "r9.csv"
    run_cli("export", "hexagons", "-o", str(out), "--resolution", "9")
    rows = {(float(r["centroid_lat"]) > 60.18, float(r["centroid_lat"]) > 60.195):
            (int(r["cameras"]), r["surveyed"]) for r in csv.DictReader(out.open())}
    assert rows == {(False, False): (2, "true"), (True, False): (0, "true"),
                    (True, True): (1, "false")}
    # The zoom drawn at resolution 9, and every tile over the three cells.
    z = min(k for k, r in service_settings().tile_zoom_resolutions.items() if r == 9)

    def tile_xy(lat: float, lon: float) -> tuple[int, int]:
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2
        return int((lon + 180) / 360 * 2**z), int(y * 2**z)

    (x0, y1), (x1, y0) = tile_xy(60.165, 24.895), tile_xy(60.205, 24.945)
    with TestClient(create_app(empty_db)) as client:
        cells: dict[str, tuple[int, bool]] = {}
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                tile = client.get(f"/tiles/{z}/{x}/{y}.mvt")
                if tile.status_code == 200:
                    for f in mapbox_vector_tile.decode(tile.content)["hexagons"]["features"]:
                        p = f["properties"]
                        cells[p["h3"]] = (p["cameras"], p["surveyed"])
        assert sorted(cells.values()) == [(0, True), (1, False), (2, True)]
        assert client.get("/coverage", params={"lat": 60.1880, "lon": 24.9400, "radius": 50}
                          ).json()["data_quality"]["surveyed"] is True


def test_concurrent_first_imports_of_one_source_serialise(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "cams.csv"
    path.write_text("lat,lon\n60.17,24.94\n60.18,24.95\n")
    results: list[ImportResult] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with psycopg.connect(empty_db) as conn:
                results.append(import_cameras(conn, path, source="shared").result)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with psycopg.connect(empty_db, autocommit=True) as holder:
        # Hold the source's lock so both imports are sure to arrive while the other is pending.
        holder.execute("SELECT pg_advisory_lock(%s, hashtext('cameras:shared'))", (IMPORT_LOCK,))
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                " AND datname = current_database()").fetchone()[0]
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2
        holder.execute("SELECT pg_advisory_unlock(%s, hashtext('cameras:shared'))",
                       (IMPORT_LOCK,))
        for t in threads:
            t.join(60)
    assert errors == []
    assert sorted(r.unchanged for r in results) == [False, True]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM source").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM camera_report").fetchone()[0] == 2


def test_precision_marks_cameras_low_precision(empty_db: str, tmp_path: Path) -> None:
    coarse = tmp_path / "ip_registry.csv"
    coarse.write_text("id,lat,lon\n" + "".join(f"d{i},60.1700,24.9400\n" for i in range(8)))
    out = run_cli("ingest", "cameras", str(coarse), "--source", "ip", "--precision", "5000").output
    assert "stacked coordinates: 1 points carry 8 reports" in out
    assert "--precision METRES" not in out  # already given
    exact = tmp_path / "exact.csv"
    exact.write_text("lat,lon\n60.17005,24.94005\n")  # 6 m from the stack: they fuse
    run_cli("ingest", "cameras", str(exact), "--source", "survey")
    stats = json.loads(run_cli("stats", "--json").output)
    assert {s["name"]: s["precision_m"] for s in stats["sources"]} == {"ip": 5000, "survey": None}
    with psycopg.connect(empty_db) as conn:
        conn.execute("INSERT INTO site (source_id, category, name, geom, centroid, geom_3857)"
                     " SELECT id, 'clinic', 'c', g, g, ST_Transform(g, 3857) FROM source,"
                     " LATERAL (SELECT ST_SetSRID(ST_MakePoint(24.9401, 60.1701), 4326) g) p"
                     " WHERE name = 'survey'")
    run_cli("build", "--resolutions", "9")
    with psycopg.connect(empty_db) as conn:
        # The exact report fuses with one coarse one: that camera is as precise as its best.
        assert conn.execute("SELECT uncertainty_m, count(*), sum(count) FROM camera"
                            " GROUP BY 1 ORDER BY 1 NULLS FIRST").fetchall() == [
            (None, 1, 1), (5000.0, 7, 7)]
    with TestClient(create_app(empty_db)) as client:
        [site] = client.get("/sites").json()["sites"]
        exposure = site["exposure"]
        assert (exposure["cameras_200m"], exposure["low_precision_cameras_200m"],
                exposure["ranked_cameras_200m"]) == (8, 7, 8)
        strict = client.get("/sites", params={"max_uncertainty_m": 100}).json()
        assert strict["sites"][0]["exposure"]["ranked_cameras_200m"] == 1
        assert client.get("/sites", params={"max_uncertainty_m": 0}).status_code == 422
        answer = client.get("/coverage", params={"lat": 60.1701, "lon": 24.9401,
                                                 "radius": 100}).json()
        assert answer["cameras"]["total"] == 8
        assert answer["data_quality"] == {"low_precision_cameras": 7, "low_precision_m": 100.0,
                                          "surveyed": False}


@pytest.mark.parametrize("value", ["0", "abc", "-3"])
def test_precision_must_be_metres(value: str, empty_db: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from camdensity.cli import app

    path = tmp_path / "x.csv"
    path.write_text("lat,lon\n1,2\n")
    result = CliRunner().invoke(app, ["ingest", "cameras", str(path), "--precision", value])
    assert result.exit_code == 1
    assert result.stderr == (f"error: --precision {value!r}: give the location uncertainty in "
                             "metres, e.g. 5000\n")


def test_stacked_sources_fuse_rank_by_rank(empty_db: str, tmp_path: Path) -> None:
    # Two IP-geolocated registries stack their devices on one point: fusion pairs them the way
    # the greedy rounds would (lowest report id with lowest camera id, and so on), at once
    # instead of one pair per round over every pair.
    first = tmp_path / "a.csv"
    first.write_text("id,lat,lon\n" + "".join(f"a{i},39.5,-98.35\n" for i in range(300)))
    second = tmp_path / "b.csv"
    second.write_text("id,lat,lon\n" + "".join(f"b{i},39.5,-98.35\n" for i in range(200)))
    run_cli("ingest", "cameras", str(first), "--source", "a")
    out = run_cli("ingest", "cameras", str(second), "--source", "b").output
    assert "200 fused with another source's" in out
    run_cli("build", "--resolutions", "9")
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT n_sources, count(*) FROM camera GROUP BY 1 ORDER BY 1"
                            ).fetchall() == [(1, 100), (2, 200)]
        pairs = conn.execute(
            "SELECT b.source_ref, a.source_ref FROM camera_report b"
            " JOIN camera_report a ON a.camera_id = b.camera_id AND a.id <> b.id"
            " JOIN source s ON s.id = b.source_id WHERE s.name = 'b' ORDER BY b.id").fetchall()
    assert pairs == [(f"b{i}", f"a{i}") for i in range(200)]
