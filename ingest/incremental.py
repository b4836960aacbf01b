"""Incremental builds: recompute only what the camera sources changed since the newest build reach.

A full build costs the same whatever changed; importing one small source would redo every
hexagon, baseline cell and site. Here a build finds what changed and rewrites only that, in the
live tables, inside the build's transaction (readers keep the previous build until commit):

- what changed: each build records a fingerprint per camera source (its reports, ids included,
  and its source row) and of the other map inputs (build_incr_inputs.sql). The camera sources
  before the first changed one (by id) fuse exactly as last time, so their reports' links stand.
- fusion: only the sources from the first changed one on are fused again, matched against the
  cameras as the newest build left them (those that held a report of a re-fused source are
  taken back to their prefix-only state); the cameras that come out differently are replaced
  (_incr_old: the rows that went, _incr_new: the rows that came).
- privacy rule: the changed non-private cameras are published again, and the private aggregates
  of every cell of `private_resolution` a changed private camera was or is in are redone by the
  full build's own statement over just those cells. Every published row that goes or comes is
  in _incr_pub (-1 / +1).
- hexagons: counts are sums, so each published row that went or came changes its cell at each
  resolution by its devices (hexagon_breakdown); those cells' hexagon rows are rewritten by the
  full build's statements over just those cells (distances, surveyed flags included).
- baseline: cells whose membership can change (the ring around a changed row's cell) are
  checked, new cells counted whole, and the cells in reach of a changed row get its devices
  added or taken (the same geodesic decisions as ingest/baseline.py, exactly).
- sites within reach of a changed row (exposure) or changed camera (facing) are measured again
  by the full build's statements over just those sites; the percentiles are redone whole.

The full build's statements are reused by shadowing a table they read (`site`, `camera`,
`hexagon_breakdown`, `hexagon`) with a temporary table of the same name holding only the rows to
redo: a temporary table comes first in PostgreSQL's search path. So the two paths cannot drift
apart; tests/test_incremental_build.py checks that both leave every public table identical.

A full build runs instead when the parameters, sites, survey points or other non-address
sources changed, when a changed source records surveyed locations, when the newest build's
cameras are not in `camera` any more, or when the sources to fuse again hold more than
MAX_SHARE of the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h3.api.basic_int as h3int
import h3ronpy
import h3ronpy.vector as h3vec
import numpy as np
import psycopg
import pyarrow as pa

from camdensity.ingest import baseline
from camdensity.ingest import fuse as fusion
from camdensity.ingest.cells import Cells, as_h3, cell_distances, cells_of, centres
from camdensity.ingest.fuse import FuseResult
from camdensity.ingest.pgcopy import read_arrays, write_arrays
from camdensity.settings import SITE_CATEGORIES, MethodSettings
from camdensity.sql import query, statements

# Above this share of the reports to fuse again, the full build is about as fast and simpler.
MAX_SHARE = 0.2
# Degrees added around a cell's polygon when searching points in it by box: the true cell's
# edges are great-circle arcs, within millimetres of the polygon's straight ones at these sizes.
BOX_MARGIN_DEG = 1e-3

_PREVIOUS = (
    "SELECT params, source_inputs FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
)
_CAMERAS = "SELECT count(*)::bigint, coalesce(sum(count), 0)::bigint FROM camera"
_SOURCES = (
    "SELECT id FROM source WHERE entity = 'cameras' AND id >= %s"
    " AND EXISTS (SELECT 1 FROM camera_report r WHERE r.source_id = source.id) ORDER BY id"
)
_SURVEYING = "SELECT EXISTS (SELECT 1 FROM survey_point WHERE source_id = ANY(%s))"
_LONLAT = [("lon", "double precision"), ("lat", "double precision")]

Say = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """An incremental build: the camera sources from `first` (by id) on are fused again."""

    first: int


def _run(conn: psycopg.Connection, name: str, params: dict[str, Any] | None = None) -> None:
    """The statements of sql/queries/<name>.sql one by one, with `params` where they take any."""
    for statement in statements(name):
        conn.execute(statement, params if "%(" in statement else None)


def inputs(conn: psycopg.Connection) -> dict[str, Any]:
    """The fingerprints a build records (build_incr_inputs.sql), to compare with the next."""
    return conn.execute(query("build_incr_inputs")).fetchone()[0]


def cameras_now(conn: psycopg.Connection) -> list[int]:
    """Fused cameras and devices in `camera` (recorded with a build; checked by the next)."""
    return [int(v) for v in conn.execute(_CAMERAS).fetchone()]


def plan(conn: psycopg.Connection, params: dict[str, Any], now: dict[str, Any]) -> Plan | None:
    """The incremental build from the newest build to the store's inputs `now`; None when a
    full build must run (see the module's docstring)."""
    row = conn.execute(_PREVIOUS).fetchone()
    if row is None or row[1] is None or row[0] != params:
        return None
    before = row[1]
    if (before.get("rest") != now["rest"] or before.get("addresses") != now["addresses"]
            or before.get("cameras") != cameras_now(conn)):
        return None
    old, new = before["sources"], now["sources"]
    changed = sorted(int(k) for k in set(old) | set(new) if old.get(k) != new.get(k))
    if not changed:
        return None
    first = changed[0]
    again = sum(max(old.get(k, [0])[0], new.get(k, [0])[0])
                for k in set(old) | set(new) if int(k) >= first)
    if again > MAX_SHARE * max(1, sum(v[0] for v in new.values())):
        return None
    if conn.execute(_SURVEYING, (changed,)).fetchone()[0]:
        return None  # its reports are surveyed locations: the surveyed cells change
    return Plan(first=first)


def apply(conn: psycopg.Connection, settings: MethodSettings, todo: Plan, radii: list[int],
          say: Say) -> tuple[FuseResult, int]:
    """Fuse, publish and update hexagons, baseline and site exposure for the changes of `todo`,
    after build_setup.sql; the fusion's totals and the baseline's cells."""
    say("fusing the changed camera sources again")
    _fuse(conn, settings, todo)
    say("publishing the changed cameras by the privacy rule")
    _publish(conn, settings)
    pub = read_arrays(
        conn, "SELECT id::bigint, coalesce(h3, -1), ST_X(geom), ST_Y(geom) FROM _incr_pub",
        None, [("id", "bigint"), ("snapped", "bigint"), *_LONLAT])
    say("updating the hexagons the changes fall in")
    # The cells and baseline rows touched are a few thousand rows looked up by key in tables of
    # millions: the planner, guessing, would rather hash whole tables.
    conn.execute("SET LOCAL enable_hashjoin = off")
    conn.execute("SET LOCAL enable_mergejoin = off")
    _hexagons(conn, settings, pub)
    say("updating the baseline cells in reach")
    cells = _baseline(conn, settings, pub, radii)
    conn.execute("SET LOCAL enable_hashjoin = on")
    conn.execute("SET LOCAL enable_mergejoin = on")
    say("measuring the sites in reach")
    _sites(conn, settings)
    cameras, devices = cameras_now(conn)
    return FuseResult(cameras=cameras, devices=devices), cells


# --- fusion -------------------------------------------------------------------------------------


def _fuse(conn: psycopg.Connection, settings: MethodSettings, todo: Plan) -> None:
    """ingest/fuse.py's fusion from source `todo.first` on, over the unchanged prefix's cameras."""
    fusion.setup(conn)
    _run(conn, "build_incr_fuse_setup", {"first": todo.first})
    sources = [r[0] for r in conn.execute(_SOURCES, (todo.first,))]
    for n, source_id in enumerate(sources):
        params = {"source_id": source_id, "distance": settings.fusion_distance_m,
                  "first": todo.first}
        fusion.match_source(conn, "build_incr_fuse_pairs", params)
        conn.execute(query("build_fuse_new"), params)
        if n < len(sources) - 1:
            conn.execute(query("build_incr_fuse_refresh"), params)
    _run(conn, "build_incr_fuse_replace", {"first": todo.first})
    conn.execute(query("build_fuse_cameras"))
    _run(conn, "build_incr_fuse_apply")
    conn.execute(query("build_fuse_links"))


# --- the privacy rule ---------------------------------------------------------------------------


def _stage_boxes(conn: psycopg.Connection, table: str, cells: np.ndarray) -> None:
    """A temporary table `table` of the cells and their polygons' boxes, widened a little."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TEMP TABLE {table} (h3 bigint, wkb bytea, box geometry) ON COMMIT DROP")
    write_arrays(conn, table, [("h3", "bigint", cells),
                               ("wkb", "bytea", pa.array(h3vec.cells_to_wkb_polygons(as_h3(cells))))])
    conn.execute(f"UPDATE {table} SET box = ST_Expand(ST_Envelope(ST_SetSRID("
                 f"ST_GeomFromWKB(wkb), 4326)), {BOX_MARGIN_DEG})")
    conn.execute(f"CREATE INDEX ON {table} USING gist (box)")
    conn.execute(f"ANALYZE {table}")


def _publish(conn: psycopg.Connection, settings: MethodSettings) -> None:
    """camera_published for the changed cameras (build_incr_published.sql) and the private
    aggregates of their cells; hexagon_withheld moved by what those cells withhold."""
    _run(conn, "build_incr_published")
    res, k = settings.private_resolution, settings.private_min_per_cell
    old = read_arrays(conn, "SELECT id, ST_X(geom), ST_Y(geom), count FROM _incr_old"
                      " WHERE operator_type = 'private'", None,
                      [("id", "bigint"), *_LONLAT, ("count", "integer")])
    new = read_arrays(conn, "SELECT id FROM _incr_new WHERE operator_type = 'private'", None,
                      [("id", "bigint")])
    new_lonlat = read_arrays(conn, "SELECT ST_X(geom), ST_Y(geom) FROM _incr_new"
                             " WHERE operator_type = 'private'", None, _LONLAT)
    cells = np.unique(np.concatenate([cells_of(old["lon"], old["lat"], res),
                                      cells_of(new_lonlat["lon"], new_lonlat["lat"], res)]))
    if len(cells) == 0:
        return
    conn.execute(
        "WITH gone AS (DELETE FROM camera_published p WHERE p.camera_id IS NULL AND p.h3 = ANY(%s)"
        " RETURNING p.camera_type, p.operator_type, p.count, p.h3, p.geom)"
        " INSERT INTO _incr_pub (sign, camera_type, operator_type, count, h3, geom)"
        " SELECT -1, camera_type, operator_type, count, h3, geom FROM gone", (cells.tolist(),))
    # The private cameras now in those cells, staged as privacy.publish stages them all.
    _stage_boxes(conn, "_incr_pcell", cells)
    found = read_arrays(conn, query("build_incr_private_cells"), None,
                        [("id", "bigint"), *_LONLAT, ("count", "integer")])
    found_cells = cells_of(found["lon"], found["lat"], res)
    inside = np.isin(found_cells, cells)
    now = {key: v[inside] for key, v in found.items()}
    now_cells = found_cells[inside]
    conn.execute("DROP TABLE IF EXISTS _private")
    conn.execute("CREATE TEMP TABLE _private (camera_id bigint PRIMARY KEY, h3 bigint NOT NULL,"
                 " lon double precision NOT NULL, lat double precision NOT NULL) ON COMMIT DROP")
    if len(now_cells):
        centres = pa.record_batch(h3vec.cells_to_coordinates(as_h3(now_cells)))
        write_arrays(conn, "_private", [
            ("camera_id", "bigint", now["id"]), ("h3", "bigint", now_cells),
            ("lon", "double precision", np.asarray(centres.column("lng"))),
            ("lat", "double precision", np.asarray(centres.column("lat"))),
        ])
    conn.execute("ANALYZE _private")
    _shadow(conn, "camera", "SELECT * FROM public.camera WHERE id IN (SELECT camera_id FROM _private)")
    conn.execute(query("build_published"), {"min_private": k, "step": settings.private_count_step})
    _unshadow(conn, "camera")
    conn.execute(
        "INSERT INTO _incr_pub (sign, camera_type, operator_type, count, h3, geom)"
        " SELECT 1, camera_type, operator_type, count, h3, geom FROM camera_published"
        " WHERE camera_id IS NULL AND h3 = ANY(%s)", (cells.tolist(),))
    # Withheld devices: those of cells below the minimum, before and after, in these cells.
    before_mask = ~np.isin(now["id"], new["id"])
    old_cells = cells_of(old["lon"], old["lat"], res)
    before = _withheld(np.concatenate([now_cells[before_mask], old_cells]),
                       np.concatenate([now["count"][before_mask], old["count"]]), k)
    after = _withheld(now_cells, now["count"], k)
    conn.execute("UPDATE hexagon_withheld SET cameras = cameras + %s", (after - before,))


def _withheld(cells: np.ndarray, counts: np.ndarray, k: int) -> int:
    """Devices of the cells holding fewer than `k` points."""
    if len(cells) == 0:
        return 0
    unique, index, points = np.unique(cells, return_inverse=True, return_counts=True)
    devices = np.bincount(index, weights=counts.astype(np.float64), minlength=len(unique))
    return int(devices[points < k].sum())


def _shadow(conn: psycopg.Connection, table: str, select: str) -> None:
    """A temporary `table` of the rows of `select`: the full build's statements that read
    `table` see only these (pg_temp comes first in the search path)."""
    conn.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {select}")
    conn.execute(f"ANALYZE pg_temp.{table}")


def _unshadow(conn: psycopg.Connection, table: str) -> None:
    conn.execute(f"DROP TABLE pg_temp.{table}")


# --- hexagons -----------------------------------------------------------------------------------


def _hexagons(conn: psycopg.Connection, settings: MethodSettings, pub: dict[str, np.ndarray]) -> None:
    """hexagon_breakdown moved by each changed published row at each resolution; the hexagon
    rows of those cells rewritten (build_incr_breakdown.sql, then the full build's statements)."""
    from camdensity.ingest.build import _cell_columns  # the full build's cell staging

    conn.execute("DROP TABLE IF EXISTS _incr_pub_cell")
    conn.execute("CREATE TEMP TABLE _incr_pub_cell (id bigint, resolution smallint, h3 bigint)"
                 " ON COMMIT DROP")
    snapped = pub["snapped"] >= 0
    per_res = {}
    for resolution in settings.resolutions:
        cells = cells_of(pub["lon"], pub["lat"], resolution)
        if resolution < settings.private_resolution and snapped.any():
            parents = h3ronpy.change_resolution(as_h3(pub["snapped"][snapped]), resolution)
            cells[snapped] = np.asarray(parents).view(np.int64)
        per_res[resolution] = np.unique(cells)
        write_arrays(conn, "_incr_pub_cell", [
            ("id", "bigint", pub["id"]),
            ("resolution", "smallint", np.full(len(cells), resolution, dtype=np.int16)),
            ("h3", "bigint", cells)])
    conn.execute("ANALYZE _incr_pub_cell")
    _run(conn, "build_incr_breakdown")
    for resolution, unique in per_res.items():
        if len(unique):
            write_arrays(conn, "_cell", _cell_columns(unique, resolution))
    conn.execute("ANALYZE _cell")
    _shadow(conn, "hexagon_breakdown",
            "SELECT b.* FROM public.hexagon_breakdown b JOIN _incr_cells c USING (resolution, h3)")
    # Distances of the cells that still hold a camera (as the full build: a cell that only
    # was surveyed has none).
    held = read_arrays(conn, "SELECT DISTINCT resolution, h3 FROM hexagon_breakdown", None,
                       [("resolution", "smallint"), ("h3", "bigint")])
    shown = []
    for resolution in settings.resolutions:
        h3s = np.unique(held["h3"][held["resolution"] == resolution])
        shown.append(Cells(resolution, h3s, *centres(h3s)))
    cell_distances(conn, shown, list(SITE_CATEGORIES), settings.site_distance_limit_m)
    conn.execute(query("build_cell_nearest"))
    conn.execute(query("build_hexagons_from_breakdown"))
    _unshadow(conn, "hexagon_breakdown")
    conn.execute(query("build_survey_setup"))
    conn.execute("INSERT INTO _survey_cell SELECT c.* FROM _cell c"
                 " JOIN _incr_surveyed s USING (resolution, h3)")
    conn.execute(query("build_hexagons_surveyed"))


# --- baseline -----------------------------------------------------------------------------------


def _held(conn: psycopg.Connection, cells: np.ndarray, settings: MethodSettings) -> np.ndarray:
    """Which of `cells` (the rings around the changed rows' cells) hold a published camera, a
    site or an address (baseline cells are these and their neighbours: ingest/build.py
    _stage_baseline)."""
    resolution = settings.baseline_resolution
    found = [read_arrays(conn, "SELECT ST_X(centroid), ST_Y(centroid) FROM site", None, _LONLAT)]
    held = [cells_of(found[0]["lon"], found[0]["lat"], resolution)]  # sites are few: all of them
    boxed = ["address"] if conn.execute("SELECT EXISTS (SELECT 1 FROM address)").fetchone()[0] \
        else []
    if resolution in settings.resolutions and resolution >= settings.private_resolution:
        # At this resolution a published row counts in its point's cell: the breakdown (updated
        # already) holds exactly the cells with one.
        conn.execute("DROP TABLE IF EXISTS _incr_ring2")
        conn.execute("CREATE TEMP TABLE _incr_ring2 (h3 bigint) ON COMMIT DROP")
        write_arrays(conn, "_incr_ring2", [("h3", "bigint", cells)])
        held.append(read_arrays(conn, "SELECT DISTINCT r.h3 FROM _incr_ring2 r"
                                " JOIN hexagon_breakdown b ON b.resolution = %s AND b.h3 = r.h3",
                                (resolution,), [("h3", "bigint")])["h3"])
    else:
        boxed.append("camera_published")
    if boxed:
        _stage_boxes(conn, "_incr_bcell", cells)
        for table in boxed:
            points = read_arrays(conn, "SELECT ST_X(p.g), ST_Y(p.g) FROM (SELECT DISTINCT x.geom"
                                 f" AS g FROM _incr_bcell b JOIN {table} x ON x.geom && b.box) p",
                                 None, _LONLAT)
            held.append(cells_of(points["lon"], points["lat"], resolution))
    return np.isin(cells, np.unique(np.concatenate(held)))


def _baseline(conn: psycopg.Connection, settings: MethodSettings, pub: dict[str, np.ndarray],
              radii: list[int]) -> int:
    """Baseline cells that enter or leave with the changed rows, and the counts of those in
    reach of them moved by their devices; the baseline's cells."""
    resolution = settings.baseline_resolution
    first_radius = radii[0]
    if len(pub["id"]):
        changed = np.unique(cells_of(pub["lon"], pub["lat"], resolution))
        ring1 = np.unique(np.asarray(h3ronpy.grid_disk(as_h3(changed), 1, flatten=True)
                                     ).view(np.int64))
        ring2 = np.unique(np.asarray(h3ronpy.grid_disk(as_h3(changed), 2, flatten=True)
                                     ).view(np.int64))
        held = set(ring2[_held(conn, ring2, settings)].tolist())
        member = np.array([any(c in held for c in h3int.grid_disk(cell, 1))
                           for cell in ring1.tolist()], dtype=bool)
        conn.execute("DROP TABLE IF EXISTS _incr_ring")
        conn.execute("CREATE TEMP TABLE _incr_ring (h3 bigint) ON COMMIT DROP")
        write_arrays(conn, "_incr_ring", [("h3", "bigint", ring1)])
        conn.execute("ANALYZE _incr_ring")
        was = read_arrays(conn, "SELECT b.h3 FROM _incr_ring r JOIN baseline b"
                          " ON b.radius_m = %s AND b.h3 = r.h3", (first_radius,),
                          [("h3", "bigint")])["h3"]
        was_member = np.isin(ring1, was)
        gone = ring1[was_member & ~member]
        added = ring1[member & ~was_member]
        if len(gone):
            conn.execute("DELETE FROM baseline WHERE h3 = ANY(%s)", (gone.tolist(),))
        _baseline_moved(conn, pub, radii)
        if len(added):
            _baseline_added(conn, added, radii)
    return conn.execute("SELECT count(*)::integer FROM baseline WHERE radius_m = %s",
                        (first_radius,)).fetchone()[0]


def _baseline_moved(conn: psycopg.Connection, pub: dict[str, np.ndarray], radii: list[int]) -> None:
    """Kept baseline cells in reach of a changed published row: its devices added (+1) or taken
    (-1) within each radius, decided as ingest/baseline.py decides (geodesic, exactly)."""
    reach = max(radii) * (1 + 2 * baseline.SPHERE_BAND)
    near = read_arrays(conn, "SELECT DISTINCT b.h3, ST_X(b.geom), ST_Y(b.geom) FROM baseline b"
                       " JOIN _incr_pub p ON b.radius_m = %s"
                       " AND ST_DWithin(b.geom::geography, p.geom::geography, %s)",
                       (radii[0], reach), [("h3", "bigint"), *_LONLAT])
    if len(near["h3"]) == 0:
        return
    signed = read_arrays(conn, "SELECT id::bigint, ST_X(geom), ST_Y(geom), sign * count"
                         " FROM _incr_pub ORDER BY id", None,
                         [("id", "bigint"), *_LONLAT, ("count", "integer")])
    counts = baseline.counts_within(conn, signed, near["lon"], near["lat"], radii,
                                    table="_incr_pub")
    conn.execute("DROP TABLE IF EXISTS _incr_bdelta")
    conn.execute("CREATE TEMP TABLE _incr_bdelta (h3 bigint, radius_m integer, cameras bigint)"
                 " ON COMMIT DROP")
    for k, radius in enumerate(radii):
        moved = counts[:, k] != 0
        write_arrays(conn, "_incr_bdelta", [
            ("h3", "bigint", near["h3"][moved]),
            ("radius_m", "integer", np.full(int(moved.sum()), radius)),
            ("cameras", "bigint", counts[moved, k])])
    conn.execute("ANALYZE _incr_bdelta")
    # A few thousand rows by key: the planner would rather hash the whole baseline.
    conn.execute("SET LOCAL enable_hashjoin = off")
    conn.execute("SET LOCAL enable_mergejoin = off")
    conn.execute("UPDATE baseline b SET cameras = b.cameras + d.cameras FROM _incr_bdelta d"
                 " WHERE b.h3 = d.h3 AND b.radius_m = d.radius_m")
    conn.execute("SET LOCAL enable_hashjoin = on")
    conn.execute("SET LOCAL enable_mergejoin = on")


def _baseline_added(conn: psycopg.Connection, cells: np.ndarray, radii: list[int]) -> None:
    """Baseline cells new to the set: their counts whole, from the published cameras in reach."""
    batch = pa.record_batch(h3vec.cells_to_coordinates(as_h3(cells)))
    lon, lat = np.asarray(batch.column("lng")), np.asarray(batch.column("lat"))
    conn.execute("DROP TABLE IF EXISTS _incr_bnew")
    conn.execute("CREATE TEMP TABLE _incr_bnew (lon float8, lat float8) ON COMMIT DROP")
    write_arrays(conn, "_incr_bnew", [("lon", "double precision", lon),
                                      ("lat", "double precision", lat)])
    reach = max(radii) * (1 + 2 * baseline.SPHERE_BAND)
    cams = read_arrays(
        conn, "SELECT DISTINCT c.id, ST_X(c.geom), ST_Y(c.geom), c.count FROM _incr_bnew n"
        " JOIN camera_published c ON ST_DWithin(c.geom::geography,"
        " ST_SetSRID(ST_MakePoint(n.lon, n.lat), 4326)::geography, %s)", (reach,),
        [("id", "bigint"), *_LONLAT, ("count", "integer")])
    counts = baseline.counts_within(conn, cams, lon, lat, radii)
    for k, radius in enumerate(radii):
        write_arrays(conn, "_base", [
            ("h3", "bigint", cells), ("radius_m", "integer", np.full(len(cells), radius)),
            ("cameras", "bigint", counts[:, k]), ("lon", "double precision", lon),
            ("lat", "double precision", lat)])
    conn.execute(query("build_baseline"))


# --- sites --------------------------------------------------------------------------------------


def _sites(conn: psycopg.Connection, settings: MethodSettings) -> None:
    """Exposure of the sites in reach of a changed published row or camera, by the full build's
    statements over those sites; camera_uncertain for the changed cameras."""
    reach = max(max(settings.exposure_radii_m), 500,
                settings.effective_buffer_m + settings.effective_disc_m)
    _run(conn, "build_incr_sites", {"reach_m": reach})
    _shadow(conn, "site", "SELECT * FROM public.site WHERE id IN (SELECT id FROM _incr_site)")
    conn.execute(query("build_site_near"), {"reach_m": reach})
    conn.execute("ANALYZE _near")
    conn.execute(query("build_site_exposure"), {
        "radii": settings.exposure_radii_m, "disc_m": settings.effective_disc_m,
        "buffer_m": settings.effective_buffer_m})
    _unshadow(conn, "site")
    conn.execute(query("build_site_uncertain"))
    conn.execute(query("build_site_percentile_category"))


def percentile_city(conn: psycopg.Connection, settings: MethodSettings, radii: list[int]) -> None:
    """build_site_percentile_city.sql over the sites whose figure can have moved: those measured
    again, and those with a baseline cell within `city_radius_m` that a change reached (its
    count moved, or it entered or left the baseline: within two rings of a changed row's cell).
    Sites in reach are found on the sphere with a margin (taking a few more is harmless)."""
    edge_m = h3int.average_hexagon_edge_length(settings.baseline_resolution, "m")
    reach = settings.city_radius_m + max(radii) + 10 * edge_m
    sites = read_arrays(conn, "SELECT id, ST_X(centroid), ST_Y(centroid) FROM site", None,
                        [("id", "bigint"), *_LONLAT])
    pub = read_arrays(conn, "SELECT ST_X(geom), ST_Y(geom) FROM _incr_pub", None, _LONLAT)
    near = np.zeros(len(sites["id"]), dtype=bool)
    for start in range(0, len(pub["lon"]), 1000):
        lon, lat = pub["lon"][start:start + 1000], pub["lat"][start:start + 1000]
        d = baseline.sphere_m(sites["lon"][:, None], sites["lat"][:, None], lon[None, :],
                              lat[None, :])
        near |= (d <= reach * (1 + baseline.SPHERE_BAND)).any(axis=1)
    conn.execute("CREATE TEMP TABLE _incr_city (id bigint) ON COMMIT DROP")
    write_arrays(conn, "_incr_city", [("id", "bigint", sites["id"][near])])
    _shadow(conn, "site", "SELECT * FROM public.site WHERE id IN (SELECT id FROM _incr_site)"
            " OR id IN (SELECT id FROM _incr_city)")
    conn.execute(query("build_site_percentile_city"), {"city_m": settings.city_radius_m})
    _unshadow(conn, "site")


# --- evidence -----------------------------------------------------------------------------------


def record_evidence(conn: psycopg.Connection, build_id: int, method: MethodSettings,
                    say: Say) -> list[str]:
    """evidence/record.py's steps over the changed cameras, sites and cells only."""
    from camdensity.evidence.record import prune, record_shapes
    from camdensity.settings import evidence_settings

    settings = evidence_settings()
    say("judging which cameras face the sites in reach")
    conn.execute("DELETE FROM camera_fov WHERE camera_id IN (SELECT cam FROM _incr_cam)")
    conn.execute("DELETE FROM camera_view WHERE camera_id IN (SELECT cam FROM _incr_cam)")
    conn.execute("DELETE FROM site_facing WHERE site_id IN (SELECT id FROM _incr_site)")
    _shadow(conn, "camera", "SELECT * FROM public.camera WHERE id IN (SELECT cam FROM _incr_cam)")
    conn.execute(query("evidence_camera_view"), {"fov": method.fov_deg})
    conn.execute(query("evidence_camera_fov"), {"radius_m": settings.fov_draw_radius_m})
    _unshadow(conn, "camera")
    _shadow(conn, "site", "SELECT * FROM public.site WHERE id IN (SELECT id FROM _incr_site)")
    conn.execute(query("evidence_site_facing"), {
        "radii": method.exposure_radii_m, "max_radius": max(method.exposure_radii_m)})
    _unshadow(conn, "site")
    say("recording the history")
    conn.execute(query("evidence_history"), {"build_id": build_id})
    _run(conn, "build_incr_history", {"build_id": build_id})
    record_shapes(conn, build_id)
    return prune(conn, settings.history_keep_builds)
