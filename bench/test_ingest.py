"""`camdensity ingest cameras FILE.csv --source bench` against plain loads of the same file.

Peers, measured in the same run on the same CSV and server:
- ogr2ogr: GDAL's CSV -> PostGIS load (COPY, point geometry, GiST index), no validation.
- COPY+INSERT: COPY into an untyped staging table, then one INSERT ... SELECT ST_MakePoint of
  the rows with usable coordinates, GiST index built afterwards: the lower bound of any loader.

camdensity does more than either (validation with a reason per reject, every attribute kept as
JSONB, type/operator normalisation, source versioning, fusion measurement); the ratios say
what that costs at this size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import (
    Timings,
    bench_rounds,
    checkpoint,
    empty_store,
    import_bench,
    limited,
)
from bench.synthetic import Synthetic

OGR_TABLE = "peer_ogr_cameras"
COPY_STAGE = "peer_copy_stage"
COPY_TABLE = "peer_copy_cameras"
# A decimal number as text; anything else is not a coordinate (no cast may fail mid-statement).
NUMBER = r"'^\s*-?[0-9]+(\.[0-9]*)?\s*$'"


def _group(csv: Synthetic) -> str:
    return f"ingest {csv.rows:,} reports"


def _drop(url: str, *tables: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def _record(benchmark: BenchmarkFixture, timings: Timings, group: str, name: str) -> None:
    """Keep the round's time and put the ratio camdensity / this peer into extra_info."""
    timings.record(group, name, benchmark)
    ratio = timings.ratio(group, name)
    if ratio is not None and name != "camdensity":
        benchmark.extra_info["ratio_camdensity_over_peer"] = round(ratio, 3)


@pytest.mark.benchmark(group="ingest")
def test_camdensity_ingest(benchmark: BenchmarkFixture, bench_url: str, camera_csv: Synthetic,
                           timings: Timings) -> None:
    """The whole import: read, validate, stage, normalise, measure fusion, commit."""
    result = benchmark.pedantic(limited(import_bench), args=(bench_url, camera_csv.path),
                                setup=lambda: empty_store(bench_url),
                                rounds=bench_rounds(), iterations=1)
    assert not result.result.unchanged
    assert result.result.accepted + result.result.rejected == camera_csv.rows
    benchmark.extra_info.update(rows=camera_csv.rows, accepted=result.result.accepted,
                                rejected=result.result.rejected)
    _record(benchmark, timings, _group(camera_csv), "camdensity")


# --- ogr2ogr ------------------------------------------------------------------------------------


def _ogr2ogr() -> str:
    """Path of ogr2ogr; installs gdal-bin with apt-get when missing and we are root, else skips."""
    found = shutil.which("ogr2ogr")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("ogr2ogr peer skipped: GDAL's ogr2ogr is not installed "
                    "(apt-get install gdal-bin as root to measure it)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "gdal-bin"]):
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            pytest.skip(f"ogr2ogr peer skipped: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    found = shutil.which("ogr2ogr")
    if not found:
        pytest.skip("ogr2ogr peer skipped: gdal-bin installed but ogr2ogr is not on PATH")
    return found


def _ogr_connection(url: str) -> str:
    """GDAL's PG:"..." datasource for a libpq URL (key=value form; socket hosts work too)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return "PG:" + psycopg.conninfo.make_conninfo("", **info)


def _run_ogr2ogr(ogr2ogr: str, url: str, csv_path: Path) -> None:
    cmd = [
        ogr2ogr, "-f", "PostgreSQL", _ogr_connection(url), str(csv_path),
        "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat", "-a_srs", "EPSG:4326",
        "-nln", OGR_TABLE, "-lco", "SPATIAL_INDEX=GIST", "-lco", "GEOMETRY_NAME=geom",
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ogr2ogr failed ({done.returncode}):\n{done.stderr[-4000:]}")


@pytest.mark.benchmark(group="ingest")
def test_peer_ogr2ogr(benchmark: BenchmarkFixture, bench_url: str, camera_csv: Synthetic,
                      timings: Timings) -> None:
    """`ogr2ogr -f PostgreSQL PG:... FILE.csv -oo X_POSSIBLE_NAMES=lon -oo Y_POSSIBLE_NAMES=lat`."""
    ogr2ogr = _ogr2ogr()

    def fresh() -> None:
        _drop(bench_url, OGR_TABLE)
        checkpoint(bench_url)

    benchmark.pedantic(limited(_run_ogr2ogr), args=(ogr2ogr, bench_url, camera_csv.path),
                       setup=fresh, rounds=bench_rounds(), iterations=1)
    with psycopg.connect(bench_url) as conn:
        loaded = conn.execute(f"SELECT count(*) FROM {OGR_TABLE}").fetchone()[0]
    _drop(bench_url, OGR_TABLE)
    assert loaded == camera_csv.rows  # every row, usable or not: ogr2ogr validates nothing
    benchmark.extra_info["rows"] = loaded
    _record(benchmark, timings, _group(camera_csv), "ogr2ogr")


# --- COPY + INSERT ... SELECT -------------------------------------------------------------------


def _copy_insert(url: str, csv_path: Path) -> int:
    """COPY the file into text columns, INSERT the usable points, index them; rows inserted."""
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE {COPY_STAGE}"
                     " (id text, lat text, lon text, type text, operator text)")
        with conn.cursor() as cur, csv_path.open("rb") as f, cur.copy(
                f"COPY {COPY_STAGE} FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while block := f.read(1 << 20):
                copy.write(block)
        conn.execute(f"CREATE TABLE {COPY_TABLE} (id text, type text, operator text,"
                     " geom geometry(Point, 4326) NOT NULL)")
        inserted = conn.execute(f"""
            INSERT INTO {COPY_TABLE} (id, type, operator, geom)
            SELECT id, type, operator, ST_SetSRID(ST_MakePoint(x, y), 4326)
            FROM (SELECT id, type, operator,
                         CASE WHEN lon ~ {NUMBER} THEN lon::float8 END AS x,
                         CASE WHEN lat ~ {NUMBER} THEN lat::float8 END AS y
                  FROM {COPY_STAGE}) s
            WHERE x BETWEEN -180 AND 180 AND y BETWEEN -90 AND 90""").rowcount
        conn.execute(f"CREATE INDEX ON {COPY_TABLE} USING gist (geom)")
        conn.execute(f"DROP TABLE {COPY_STAGE}")
    return inserted


@pytest.mark.benchmark(group="ingest")
def test_peer_copy_insert(benchmark: BenchmarkFixture, bench_url: str, camera_csv: Synthetic,
                          timings: Timings) -> None:
    """COPY into an untyped staging table, then one INSERT ... SELECT ST_MakePoint(...)."""
    def fresh() -> None:
        _drop(bench_url, COPY_STAGE, COPY_TABLE)
        checkpoint(bench_url)

    inserted = benchmark.pedantic(limited(_copy_insert), args=(bench_url, camera_csv.path),
                                  setup=fresh, rounds=bench_rounds(), iterations=1)
    _drop(bench_url, COPY_STAGE, COPY_TABLE)
    assert inserted == camera_csv.rows - camera_csv.invalid
    benchmark.extra_info["rows"] = inserted
    _record(benchmark, timings, _group(camera_csv), "COPY+INSERT")
