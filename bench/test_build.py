"""`camdensity build` (resolutions 6..12) against a plain H3 aggregation of the same points.

Peer, measured in the same run on the same imported reports: read the points with binary COPY,
h3ronpy's vectorised `coordinates_to_cells` per resolution, a numpy group-by (unique + bincount)
of the devices per cell, and the (resolution, cell, devices) rows written back with binary COPY.

camdensity's build does more: fusion of the reports into cameras (rewriting `camera` and its
three spatial indexes, linking every report), type x operator breakdowns, the privacy rule,
cell polygons and areas, distances to sites, the city baseline (devices within 50..500 m of
every baseline cell) and site exposure; the ratio says what that costs at this size.
"""

from __future__ import annotations

import h3ronpy.vector as h3vec
import numpy as np
import psycopg
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Timings, bench_rounds, checkpoint, limited
from camdensity.ingest.build import BuildResult, build
from camdensity.ingest.pgcopy import read_arrays, write_arrays
from camdensity.settings import MethodSettings, method_settings

RESOLUTIONS = list(range(6, 13))
PEER_TABLE = "peer_h3_cells"
_SELECT_POINTS = "SELECT ST_X(geom), ST_Y(geom), count FROM camera_report"


def _settings() -> MethodSettings:
    return method_settings().model_copy(update={"resolutions": RESOLUTIONS})


def _reports(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM camera_report").fetchone()[0]


def _group(reports: int) -> str:
    return f"build {reports:,} reports (r{RESOLUTIONS[0]}..{RESOLUTIONS[-1]})"


def _unbuilt(url: str) -> None:
    """The state right after an import: no cameras, no build, reports linked to nothing."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE camera, hexagon, hexagon_breakdown, hexagon_withheld, baseline,"
                     " site_exposure, build")
        conn.execute("UPDATE camera_report SET camera_id = NULL WHERE camera_id IS NOT NULL")
        conn.execute("VACUUM (FULL, ANALYZE) camera_report")  # same layout every round
    checkpoint(url)


def _build(url: str) -> BuildResult:
    with psycopg.connect(url) as conn:
        return build(conn, _settings())


@pytest.mark.benchmark(group="build")
def test_camdensity_build(benchmark: BenchmarkFixture, ingested: str, timings: Timings) -> None:
    """The whole build, in its one transaction, from freshly imported reports."""
    result = benchmark.pedantic(limited(_build), args=(ingested,),
                                setup=lambda: _unbuilt(ingested),
                                rounds=bench_rounds(), iterations=1)
    reports = _reports(ingested)
    with psycopg.connect(ingested) as conn:
        shown = dict(conn.execute("SELECT resolution, sum(cameras)::bigint FROM hexagon"
                                  " GROUP BY resolution").fetchall())
    for r in RESOLUTIONS:  # shown + withheld = every device, at every resolution
        assert shown.get(r, 0) + result.withheld[r] == result.fusion.devices
    benchmark.extra_info.update(
        reports=reports, cameras=result.fusion.cameras,
        cells={str(r): n for r, n in result.cells.items()},
        baseline_cells=result.baseline_cells,
    )
    timings.record(_group(reports), "camdensity", benchmark)


def _peer_aggregate(url: str) -> dict[int, int]:
    """Devices per H3 cell at each resolution, computed in numpy; cells written per resolution."""
    cells_per_resolution: dict[int, int] = {}
    with psycopg.connect(url) as conn:
        points = read_arrays(conn, _SELECT_POINTS, None, [
            ("lon", "double precision"), ("lat", "double precision"), ("count", "integer"),
        ])
        conn.execute(f"CREATE TABLE {PEER_TABLE} (resolution smallint, h3 bigint,"
                     " cameras bigint, PRIMARY KEY (resolution, h3))")
        for resolution in RESOLUTIONS:
            cells = np.asarray(
                h3vec.coordinates_to_cells(points["lat"], points["lon"], resolution)
            ).view(np.int64)
            unique, inverse = np.unique(cells, return_inverse=True)
            devices = np.bincount(inverse, weights=points["count"]).astype(np.int64)
            write_arrays(conn, PEER_TABLE, [
                ("resolution", "smallint", np.full(len(unique), resolution, dtype=np.int16)),
                ("h3", "bigint", unique), ("cameras", "bigint", devices),
            ])
            cells_per_resolution[resolution] = len(unique)
    return cells_per_resolution


@pytest.mark.benchmark(group="build")
def test_peer_h3ronpy_numpy(benchmark: BenchmarkFixture, ingested: str,
                            timings: Timings) -> None:
    """h3ronpy + numpy group-by of the same points into cells of resolutions 6..12."""
    def fresh() -> None:
        with psycopg.connect(ingested, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {PEER_TABLE}")
        checkpoint(ingested)

    cells = benchmark.pedantic(limited(_peer_aggregate), args=(ingested,), setup=fresh,
                               rounds=bench_rounds(), iterations=1)
    reports = _reports(ingested)
    with psycopg.connect(ingested) as conn:
        devices = dict(conn.execute(f"SELECT resolution, sum(cameras)::bigint FROM {PEER_TABLE}"
                                    " GROUP BY resolution").fetchall())
        total = conn.execute("SELECT sum(count)::bigint FROM camera_report").fetchone()[0]
        conn.execute(f"DROP TABLE {PEER_TABLE}")
    assert all(devices[r] == total for r in RESOLUTIONS)
    benchmark.extra_info.update(reports=reports, cells={str(r): n for r, n in cells.items()})
    group = _group(reports)
    timings.record(group, "h3ronpy+numpy", benchmark)
    ratio = timings.ratio(group, "h3ronpy+numpy")
    if ratio is not None:
        benchmark.extra_info["ratio_camdensity_over_peer"] = round(ratio, 3)
