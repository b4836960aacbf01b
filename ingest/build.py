"""The build: fuse cameras, aggregate them into H3 hexagons, the city baseline and site exposure.

Everything happens in one transaction, so readers keep seeing the previous build until the new
one commits (results are replaced with DELETE + INSERT; TRUNCATE would block readers). The
newest finished `build` row is the data version; its snapshot id is announced on the
`camdensity_build` channel (NOTIFY is delivered at commit).

The method, in short (the SQL files named build_*.sql hold the details):
- privacy (ingest/privacy.py): the published cameras are computed first, private ones only as
  aggregates of at least `private_min_per_cell` points per cell of `private_resolution`, at the
  cell's centre. Everything below reads `camera_published`, never `camera`.
- hexagons: every published camera is placed in its H3 cell at each resolution; counts are
  devices (count). The private devices the rule left out go to hexagon_withheld (for `stats`
  only), so shown + withheld = all devices while `private_count_step` is 1.
- d_<category>: geodesic metres from the cell centre to the nearest site of the category (its
  polygon where known), NULL beyond `site_distance_limit_m`.
- baseline ("the city"): cells of `baseline_resolution` holding a camera, site or address, plus
  their neighbours, with the devices within each radius of the cell centre.
- exposure: devices within 50/100/200/500 m of the site's geometry; effective cameras by the
  120 m overlap method; percentile ranks (ties count half) in the site's category and against
  the baseline cells within `city_radius_m`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h3ronpy
import h3ronpy.vector as h3vec
import numpy as np
import psycopg
import pyarrow as pa

from camdensity.evidence.record import record as record_evidence
from camdensity.ingest import baseline, incremental, privacy
from camdensity.ingest.cells import (
    as_h3,
    cell_distances,
    cells_of,
    centres,
    read_cameras,
    stage_cells,
)
from camdensity.ingest.fuse import FUSE_LOCK, FuseResult, fuse
from camdensity.ingest.pgcopy import read_arrays, write_arrays
from camdensity.settings import SITE_CATEGORIES, MethodSettings, method_settings
from camdensity.sql import query

NOTIFY_CHANNEL = "camdensity_build"
# The fixed exposure columns (cameras_<r>m) and the baseline radius the city percentile uses.
CITY_PERCENTILE_RADIUS_M = 200

_LONLAT = [("lon", "double precision"), ("lat", "double precision")]
_SELECT_SITE_POINTS = "SELECT ST_X(centroid), ST_Y(centroid) FROM site"
_SELECT_ADDRESS_POINTS = "SELECT ST_X(geom), ST_Y(geom) FROM address"
# Surveyed locations: count-0 rows, and every report of a source that records them (a survey
# that counted cameras somewhere looked there too).
_SELECT_SURVEYED = (
    "SELECT ST_X(geom), ST_Y(geom) FROM survey_point UNION ALL"
    " SELECT ST_X(r.geom), ST_Y(r.geom) FROM camera_report r"
    " WHERE r.source_id IN (SELECT source_id FROM survey_point)"
)
_LATEST_SNAPSHOT = (
    "SELECT snapshot FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
)
_LATEST_BUILD = (
    "SELECT params, map_inputs FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
)
_INSERT_BUILD = (
    "INSERT INTO build (id, snapshot, params, sources, map_inputs, finished_at)"
    " VALUES (%s, %s, %s, %s, %s, clock_timestamp())"
)

Step = Callable[[str], None]


class BuildError(ValueError):
    """A build that cannot run as asked (bad parameters)."""


@dataclass(frozen=True)
class BuildResult:
    """What a build produced, for the command's summary."""

    build_id: int
    snapshot: str
    fusion: FuseResult
    cells: dict[int, int]      # resolution -> hexagons shown
    withheld: dict[int, int]   # resolution -> private devices withheld
    baseline_cells: int
    sites: int                 # sites with an exposure row
    seconds: float
    map_kept: bool = False     # only addresses changed: hexagons and site counts were kept
    incremental: bool = False  # only what changed camera sources reach was recomputed


def build(conn: psycopg.Connection, settings: MethodSettings | None = None,
          step: Step | None = None, *, full: bool = False) -> BuildResult:
    """Rebuild cameras, hexagons, baseline and site exposure in one transaction; a new data version.

    Only what changed since the newest build is recomputed when that is little
    (ingest/incremental.py); `full` recomputes everything whatever changed."""
    settings = settings or method_settings()
    _check(settings)
    say = step or (lambda _: None)
    started = time.perf_counter()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (FUSE_LOCK,))
        # The geography functions make the planner's costs look huge, so JIT would compile every
        # statement, spending more time than the statements take.
        conn.execute("SET LOCAL jit = off")
        build_id = conn.execute("SELECT nextval(pg_get_serial_sequence('build', 'id'))").fetchone()[0]
        source_inputs = incremental.inputs(conn)
        inputs = _map_inputs(source_inputs)
        map_kept = not full and _map_unchanged(conn, settings, inputs)
        params = json.loads(json.dumps(settings.model_dump(mode="json")))
        todo = None if map_kept or full else incremental.plan(conn, params, source_inputs)
        radii = sorted(set(settings.exposure_radii_m) | {CITY_PERCENTILE_RADIUS_M})
        conn.execute(query("build_setup"))
        if todo is not None:
            say("only some camera sources changed: updating what they reach")
            fusion, baseline_cells = incremental.apply(conn, settings, todo, radii, say)
        elif map_kept:
            # Only addresses changed since the newest build: cameras, hexagons and site counts
            # stay as they are (not rewritten); the baseline, which addresses extend, is redone.
            say("cameras, sites and parameters unchanged: keeping the map")
            fusion = _current_fusion(conn)
            conn.execute(query("build_clear_baseline"))
        else:
            say("fusing camera reports")
            fusion = fuse(conn, settings)
            conn.execute(query("build_clear"))
            say("publishing cameras by the privacy rule")
            withheld_devices = privacy.publish(conn, settings)
        if todo is None:
            cams = read_cameras(conn)
        if not map_kept and todo is None:
            say("computing H3 cells")
            shown = stage_cells(conn, cams, settings.resolutions, settings.private_resolution)
            _stage_survey_cells(conn, settings.resolutions)
            say("aggregating hexagons")
            # Fresh rows of this transaction: without statistics readers' plans would guess
            # (the table's statistics are published with the commit).
            conn.execute("ANALYZE hexagon_breakdown")
            conn.execute(query("build_withheld_totals"),
                         {"resolutions": settings.resolutions, "withheld": withheld_devices})
            say("measuring distances to sites")
            cell_distances(conn, shown, list(SITE_CATEGORIES), settings.site_distance_limit_m)
            conn.execute(query("build_cell_nearest"))
            conn.execute(query("build_hexagons"))
            conn.execute(query("build_hexagons_surveyed"))

        if todo is None:
            say("computing the city baseline")
            baseline_cells = _stage_baseline(conn, cams, settings.baseline_resolution, radii)
            conn.execute(query("build_baseline"))
            conn.execute("ANALYZE baseline")  # the city percentile joins it (as hexagon_breakdown)

        if not map_kept and todo is None:
            say("measuring site exposure")
            reach = max(max(settings.exposure_radii_m), 500,
                        settings.effective_buffer_m + settings.effective_disc_m)
            conn.execute(query("build_site_near"), {"reach_m": reach})
            conn.execute("ANALYZE _near")
            conn.execute(query("build_site_exposure"), {
                "radii": settings.exposure_radii_m, "disc_m": settings.effective_disc_m,
                "buffer_m": settings.effective_buffer_m,
            })
            # Fresh rows: without statistics (an emptied table's are "no rows") the percentile
            # updates below were planned as nested loops recomputing their subquery per site.
            conn.execute("ANALYZE site_exposure")
            conn.execute(query("build_site_uncertain"))
            conn.execute(query("build_camera_uncertain"))
            conn.execute(query("build_site_percentile_category"))
        if todo is not None:
            incremental.percentile_city(conn, settings, radii)
        else:
            conn.execute(query("build_site_percentile_city"), {"city_m": settings.city_radius_m})

        say("recording the data version")
        sources = conn.execute(query("build_sources")).fetchone()[0]
        params = settings.model_dump(mode="json")
        snapshot = _snapshot_id(build_id, sources, params)
        conn.execute(_INSERT_BUILD,
                     (build_id, snapshot, json.dumps(params), json.dumps(sources), inputs))
        source_inputs["cameras"] = incremental.cameras_now(conn)
        conn.execute("UPDATE build SET source_inputs = %s WHERE id = %s",
                     (json.dumps(source_inputs), build_id))
        if todo is not None:  # facing and view cones of what changed, history
            incremental.record_evidence(conn, build_id, settings, say)
        else:
            record_evidence(conn, build_id, settings, say=say)  # facing, view cones, history
        conn.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, snapshot))

        cells = dict(conn.execute(
            "SELECT resolution, count(*)::integer FROM hexagon GROUP BY resolution"
        ).fetchall())
        withheld = dict(conn.execute("SELECT resolution, cameras FROM hexagon_withheld").fetchall())
        sites = conn.execute("SELECT count(*)::integer FROM site_exposure").fetchone()[0]
    return BuildResult(map_kept=map_kept, incremental=todo is not None,
        build_id=build_id, snapshot=snapshot, fusion=fusion,
        cells={r: cells.get(r, 0) for r in settings.resolutions},
        withheld={r: withheld.get(r, 0) for r in settings.resolutions},
        baseline_cells=baseline_cells, sites=sites, seconds=time.perf_counter() - started,
    )


def _map_inputs(source_inputs: dict[str, Any]) -> str:
    """A fingerprint of everything the map is computed from: camera reports (not their camera
    link, which the build writes), sites, survey points and the non-address sources (addresses
    only extend the baseline), from build_incr_inputs.sql's per-source fingerprints."""
    parts = {"sources": source_inputs["sources"], "rest": source_inputs["rest"]}
    return hashlib.md5(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _map_unchanged(conn: psycopg.Connection, settings: MethodSettings, inputs: str) -> bool:
    """True when the newest build was made with these parameters from the same camera reports,
    sites, survey points and their sources (`inputs`, _map_inputs): its cameras,
    hexagons and site counts are what a new build would compute again."""
    row = conn.execute(_LATEST_BUILD).fetchone()
    # As stored: through JSON (a dict's integer keys come back as strings).
    params = json.loads(json.dumps(settings.model_dump(mode="json")))
    return row is not None and row[0] == params and row[1] == inputs


def _current_fusion(conn: psycopg.Connection) -> FuseResult:
    """What the kept cameras hold (the fusion of the newest build, not run again)."""
    cameras, devices = conn.execute(
        "SELECT count(*)::integer, coalesce(sum(count), 0)::bigint FROM camera").fetchone()
    return FuseResult(cameras=cameras, devices=devices)


def _check(settings: MethodSettings) -> None:
    """Refuse parameters H3 or the schema cannot honour."""
    bad = [r for r in [*settings.resolutions, settings.baseline_resolution,
                       settings.private_resolution] if not 0 <= r <= 15]
    if bad or not settings.resolutions:
        raise BuildError(f"H3 resolutions must be 0..15 (got {bad or 'none'})")
    if len(set(settings.resolutions)) != len(settings.resolutions):
        raise BuildError("a resolution is given twice")
    if settings.private_min_per_cell < 1:
        raise BuildError("private_min_per_cell must be at least 1")
    if settings.private_count_step < 1:
        raise BuildError("private_count_step must be at least 1")


def _cell_columns(unique: np.ndarray, resolution: int) -> list[tuple[str, str, Any]]:
    """The _cell columns (resolution, h3, area, centre, polygon) of distinct cells (the
    incremental build stages the cells it rewrites with them)."""
    lon, lat = centres(unique)
    return [
        ("resolution", "smallint", np.full(len(unique), resolution, dtype=np.int16)),
        ("h3", "bigint", unique),
        ("area_km2", "double precision", np.asarray(h3ronpy.cells_area_km2(as_h3(unique)))),
        ("lon", "double precision", lon), ("lat", "double precision", lat),
        ("wkb", "bytea", pa.array(h3vec.cells_to_wkb_polygons(as_h3(unique)))),
    ]


def _stage_survey_cells(conn: psycopg.Connection, resolutions: list[int]) -> None:
    """COPY the cells holding a surveyed location per resolution (build_hexagons_surveyed.sql
    makes those without a camera hexagons of 0 cameras)."""
    conn.execute(query("build_survey_setup"))
    points = read_arrays(conn, _SELECT_SURVEYED, None, _LONLAT)
    for resolution in resolutions:
        unique = np.unique(cells_of(points["lon"], points["lat"], resolution))
        if len(unique):
            write_arrays(conn, "_survey_cell", _cell_columns(unique, resolution))
    conn.execute("ANALYZE _survey_cell")


def _stage_baseline(conn: psycopg.Connection, cams: dict[str, np.ndarray], resolution: int,
                    radii: list[int]) -> int:
    """COPY the baseline cells (those holding a camera, site or address, and their neighbours)
    with the published devices within each radius of their centres (ingest/baseline.py)."""
    sites = read_arrays(conn, _SELECT_SITE_POINTS, None, _LONLAT)
    addresses = read_arrays(conn, _SELECT_ADDRESS_POINTS, None, _LONLAT)
    held = np.unique(np.concatenate([
        cells_of(points["lon"], points["lat"], resolution) for points in (cams, sites, addresses)
    ]))
    if len(held) == 0:
        return 0
    cells = np.unique(np.asarray(h3ronpy.grid_disk(as_h3(held), 1, flatten=True)).view(np.int64))
    lon, lat = centres(cells)
    counts = baseline.counts_within(conn, cams, lon, lat, radii)
    for k, radius in enumerate(radii):
        write_arrays(conn, "_base", [
            ("h3", "bigint", cells), ("radius_m", "integer", np.full(len(cells), radius)),
            ("cameras", "bigint", counts[:, k]), ("lon", "double precision", lon),
            ("lat", "double precision", lat),
        ])
    return len(cells)


# What of a source goes into the digest: what it holds and what exports say of it (not when it
# was imported: the same file imported again is the same input).
_DIGEST_KEYS = ("name", "entity", "kind", "sha256", "licence", "attribution", "data_date")


def _digest(sources: list[dict], params: dict) -> str:
    """A short digest of a build's inputs: the sources as exports describe them, and the method."""
    inputs = json.dumps({"sources": [[s.get(k) for k in _DIGEST_KEYS] for s in sources],
                         "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(inputs.encode()).hexdigest()[:10]


def _snapshot_id(build_id: int, sources: list[dict], params: dict) -> str:
    """A short unique data version: the build's number and the digest of its inputs."""
    return f"{build_id}-{_digest(sources, params)}"


def up_to_date(conn: psycopg.Connection, settings: MethodSettings | None = None) -> str | None:
    """The newest build's snapshot id when it was made from exactly the store's sources and
    these parameters (a new build would only repeat it); None when a build is due."""
    settings = settings or method_settings()
    row = conn.execute(_LATEST_SNAPSHOT).fetchone()
    if row is None:
        return None
    sources = conn.execute(query("build_sources")).fetchone()[0]
    digest = _digest(sources, settings.model_dump(mode="json"))
    return row[0] if row[0].split("-", 1)[-1] == digest else None
