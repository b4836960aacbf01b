"""The per-cell part of a full build, computed with numpy and written with binary COPY.

Why not SQL: the build used to COPY every camera's cell at every resolution (cameras x
resolutions rows), join them back to camera_published and GROUP BY twice (breakdown, then
hexagon), and find each cell's nearest site by one geography KNN lookup per cell and category
(about 80 % of the per-cell time). Here the camera arrays the build already holds are grouped
once per resolution in numpy, the breakdown is COPYed sorted into hexagon_breakdown, the hexagon
counts into an unindexed working table `_hex`, and distances to sites are measured geodesically
in SQL only for the few (cell, site) pairs that can be the nearest (`cell_distances`).

The figures are the same as the SQL method's: counts are integer sums of the same rows, areas,
centres and polygons come from the same H3 library calls, and every distance is PostGIS's
geodesic ST_Distance to the nearest site within the limit (a brute force over all sites gives the
same minimum: the pairs skipped provably cannot be it).
"""

from __future__ import annotations

from dataclasses import dataclass

import h3ronpy
import h3ronpy.vector as h3vec
import numpy as np
import psycopg
import pyarrow as pa

from camdensity.ingest.baseline import sphere_m
from camdensity.ingest.pgcopy import read_arrays, write_arrays
from camdensity.sql import query

# The hexagon table's per-type and per-operator columns (anything else counts as unknown).
CAMERA_TYPES = ("cctv", "doorbell", "alpr", "dome", "ptz", "traffic", "speed", "gunshot")
OPERATOR_TYPES = ("public", "business", "private")

_VOCABULARY = (
    "SELECT coalesce(array_agg(DISTINCT camera_type), '{}'),"
    " coalesce(array_agg(DISTINCT operator_type), '{}') FROM camera_published"
)
# Every published camera with its type and operator as positions in the vocabulary above; a
# private aggregate carries its cell (ingest/privacy.py), -1 for the others.
_SELECT_CAMERAS = (
    "SELECT id, ST_X(geom), ST_Y(geom), coalesce(h3, -1), count,"
    " array_position(%(types)s::text[], camera_type) - 1,"
    " array_position(%(operators)s::text[], operator_type) - 1"
    " FROM camera_published ORDER BY id"
)
_CAMERA_COLUMNS = [("id", "bigint"), ("lon", "double precision"), ("lat", "double precision"),
                   ("snapped", "bigint"), ("count", "integer"), ("type", "integer"),
                   ("operator", "integer")]

# Sites as points with a reach: every point of the site's geometry lies within `reach` metres
# (geodesic, measured to its vertices) of the point. 0 for point sites.
_SELECT_SITES = (
    "SELECT s.id, ST_X(s.centroid), ST_Y(s.centroid), array_position(%(categories)s::text[],"
    " s.category) - 1, CASE WHEN GeometryType(s.geom) = 'POINT' THEN 0 ELSE coalesce(("
    "SELECT max(ST_Distance(s.centroid::geography, d.geom::geography))"
    " FROM ST_DumpPoints(s.geom) d), 0) END"
    " FROM site s WHERE s.category = ANY(%(categories)s::text[]) ORDER BY s.id"
)
_SITE_COLUMNS = [("id", "bigint"), ("lon", "double precision"), ("lat", "double precision"),
                 ("category", "integer"), ("reach", "double precision")]

# Bounds on the geodesic distance from haversine distances (baseline.sphere_m, the mean radius): the
# WGS84 geodesic differs from it by less than 0.6 % (meridional radius 6,335 km at the equator,
# normal radius 6,400 km at the poles); 1 % and a metre leave room for rounding.
_REL = 0.01
_ABS_M = 1.0


@dataclass(frozen=True)
class Cells:
    """The distinct cells of one resolution holding a published camera, sorted by index."""

    resolution: int
    h3: np.ndarray     # int64
    lon: np.ndarray    # centre
    lat: np.ndarray


def as_h3(cells: np.ndarray) -> pa.Array:
    return pa.array(cells.view(np.uint64))


def cells_of(lon: np.ndarray, lat: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cells of points as int64 (an H3 index's top bit is 0, so it fits a signed bigint)."""
    if len(lon) == 0:
        return np.empty(0, dtype=np.int64)
    return np.asarray(h3vec.coordinates_to_cells(lat, lon, resolution)).view(np.int64)


def centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of cell centres."""
    if len(cells) == 0:
        return np.empty(0), np.empty(0)
    batch = pa.record_batch(h3vec.cells_to_coordinates(as_h3(cells)))
    return np.asarray(batch.column("lng")), np.asarray(batch.column("lat"))


def parents(cells: np.ndarray, resolution: int) -> np.ndarray:
    if len(cells) == 0:
        return cells
    return np.asarray(h3ronpy.change_resolution(as_h3(cells), resolution)).view(np.int64)


def read_cameras(conn: psycopg.Connection) -> dict[str, np.ndarray | list[str]]:
    """The published cameras as arrays, with the type and operator vocabularies (`types`,
    `operators`: the texts the integer columns `type` and `operator` index)."""
    types, operators = conn.execute(_VOCABULARY).fetchone()
    cams: dict[str, np.ndarray | list[str]] = dict(read_arrays(
        conn, _SELECT_CAMERAS, {"types": types, "operators": operators}, _CAMERA_COLUMNS))
    cams["types"], cams["operators"] = list(types), list(operators)
    return cams


def stage_cells(conn: psycopg.Connection, cams: dict, resolutions: list[int],
                private_resolution: int) -> list[Cells]:
    """Each resolution's cells: the breakdown COPYed into hexagon_breakdown, and the hexagon
    rows (counts, area, density, polygon) into `_hex` (build_hexagons.sql makes them hexagons).

    A private aggregate sits on its cell's centre, which can lie exactly on the edge of a coarser
    cell; there it counts in its cell's parent (by index, so no last bit of a float decides).
    """
    types, operators = cams["types"], cams["operators"]
    n_ops = max(1, len(operators))
    combo = cams["type"].astype(np.int64) * n_ops + cams["operator"]
    count = cams["count"].astype(np.int64)
    snapped = cams["snapped"] >= 0
    # Hexagon column of each type / operator code (the last column: unknown).
    type_col = np.array([CAMERA_TYPES.index(t) if t in CAMERA_TYPES else len(CAMERA_TYPES)
                         for t in types], dtype=np.int64)
    op_col = np.array([OPERATOR_TYPES.index(o) if o in OPERATOR_TYPES else len(OPERATOR_TYPES)
                       for o in operators], dtype=np.int64)
    out = []
    for resolution in resolutions:
        cells = cells_of(cams["lon"], cams["lat"], resolution)
        if resolution < private_resolution and snapped.any():
            cells[snapped] = parents(cams["snapped"][snapped], resolution)
        if len(cells) == 0:
            out.append(Cells(resolution, cells, np.empty(0), np.empty(0)))
            continue
        order = np.lexsort((combo, cells))
        c, k, w = cells[order], combo[order], count[order]
        first = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (k[1:] != k[:-1])])
        g_cell, g_combo, g_sum = c[first], k[first], np.add.reduceat(w, first)
        write_arrays(conn, "hexagon_breakdown", [
            ("resolution", "smallint", np.full(len(first), resolution, dtype=np.int16)),
            ("h3", "bigint", g_cell),
            # text goes in binary COPY as its bytes, as bytea does
            ("camera_type", "bytea", _texts(types, g_combo // n_ops)),
            ("operator_type", "bytea", _texts(operators, g_combo % n_ops)),
            ("cameras", "bigint", g_sum),
        ])
        unique, at = np.unique(g_cell, return_inverse=True)
        m = len(unique)
        by_type = np.zeros((len(CAMERA_TYPES) + 1, m), dtype=np.int64)
        by_op = np.zeros((len(OPERATOR_TYPES) + 1, m), dtype=np.int64)
        np.add.at(by_type, (type_col[g_combo // n_ops], at), g_sum)
        np.add.at(by_op, (op_col[g_combo % n_ops], at), g_sum)
        total = by_type.sum(axis=0)
        area = np.asarray(h3ronpy.cells_area_km2(as_h3(unique)))
        lon, lat = centres(unique)
        write_arrays(conn, "_hex", [
            ("resolution", "smallint", np.full(m, resolution, dtype=np.int16)),
            ("h3", "bigint", unique), ("cameras", "bigint", total),
            *[(f"n_{t}", "bigint", by_type[i]) for i, t in enumerate(CAMERA_TYPES)],
            ("n_unknown", "bigint", by_type[-1]),
            *[(f"op_{o}", "bigint", by_op[i]) for i, o in enumerate(OPERATOR_TYPES)],
            ("op_unknown", "bigint", by_op[-1]),
            ("area_km2", "double precision", area),
            ("density_km2", "double precision", total.astype(np.float64) / area),
            ("wkb", "bytea", pa.array(h3vec.cells_to_wkb_polygons(as_h3(unique)))),
        ])
        out.append(Cells(resolution, unique, lon, lat))
    return out


def _texts(vocabulary: list[str], codes: np.ndarray) -> pa.Array:
    """The vocabulary's texts at `codes`, as binary (UTF-8)."""
    return pa.array(vocabulary, type=pa.large_string()).take(pa.array(codes)).cast(
        pa.large_binary())


def _group_min(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.inf)
    np.minimum.at(out, keys, values)
    return out


def cell_distances(conn: psycopg.Connection, cells: list[Cells], categories: list[str],
                   limit_m: float) -> None:
    """Fill _cell_dist (build_setup.sql): metres (geodesic, PostGIS ST_Distance) from each cell's
    centre to the nearest site of each category, no row when none is within `limit_m`.

    The nearest site is searched down the H3 tree of the cells: the coarsest level finds, per
    node, the sites that can be nearest to any cell below it (build_cell_candidates.sql: one
    KNN and one radius search on site_geog_idx per node); each finer level keeps of its parent's
    sites those that still can, by distance bounds (the triangle inequality, with haversine
    distances widened to bound the geodesic ones); the pairs left for a cell are measured
    exactly (build_cell_distances.sql). A site is dropped only when its lower bound exceeds an
    upper bound of the nearest distance (or the limit), so it can be neither the nearest nor a
    tie with it.
    """
    cells = [c for c in sorted(cells, key=lambda c: c.resolution) if len(c.h3)]
    if not cells or not categories:
        return
    sites = read_arrays(conn, _SELECT_SITES, {"categories": categories}, _SITE_COLUMNS)
    if len(sites["id"]) == 0:
        return
    reach = sites["reach"] * (1 + _REL) + _ABS_M
    resolutions = [c.resolution for c in cells]
    # The tree: level i holds the ancestors at resolution i of every cell at least as fine.
    nodes: list[np.ndarray] = []
    for i, r in enumerate(resolutions):
        nodes.append(np.unique(np.concatenate([parents(c.h3, r) for c in cells[i:]])))
    lonlat = [centres(n) for n in nodes]
    # Each node's parent (index into the level above), and a bound on the geodesic distance
    # from its centre to any centre below it (bottom-up, by the triangle inequality).
    up: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for i in range(1, len(nodes)):
        up.append(np.searchsorted(nodes[i - 1], parents(nodes[i], resolutions[i - 1])))
    below = [np.zeros(len(n)) for n in nodes]
    for i in range(len(nodes) - 1, 0, -1):
        step = sphere_m(*lonlat[i], lonlat[i - 1][0][up[i]], lonlat[i - 1][1][up[i]])
        np.maximum.at(below[i - 1], up[i], step * (1 + _REL) + _ABS_M + below[i])

    # Level 0: candidates by SQL, exactly (geodesic), per node and category.
    conn.execute(query("build_cell_candidates_setup"))
    write_arrays(conn, "_cand_node", [
        ("h3", "bigint", nodes[0]), ("lon", "double precision", lonlat[0][0]),
        ("lat", "double precision", lonlat[0][1]), ("below", "double precision", below[0]),
    ])
    pairs = read_arrays(conn, query("build_cell_candidates"),
                        {"categories": categories, "limit_m": limit_m},
                        [("node", "bigint"), ("site", "bigint")])
    node = np.searchsorted(nodes[0], pairs["node"])
    site = np.searchsorted(sites["id"], pairs["site"])
    category = sites["category"]
    n_cat = len(categories)

    out_res, out_h3, out_lon, out_lat, out_site = [], [], [], [], []
    for i, level in enumerate(nodes):
        if i > 0:  # this level's nodes inherit their parent's sites
            order = np.argsort(node, kind="stable")
            node, site = node[order], site[order]
            counts = np.bincount(node, minlength=len(nodes[i - 1]))
            starts = np.cumsum(counts) - counts
            lengths = counts[up[i]]
            child = np.repeat(np.arange(len(level)), lengths)
            offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            site = site[np.repeat(starts[up[i]], lengths) + offset]
            node = child
        if len(node) == 0:
            break
        lon, lat = lonlat[i]
        d = sphere_m(lon[node], lat[node], sites["lon"][site], sites["lat"][site])
        low = d * (1 - _REL) - _ABS_M - reach[site]
        high = d * (1 + _REL) + _ABS_M + reach[site]
        key = node * n_cat + category[site]
        nearest = _group_min(key, high, len(level) * n_cat)[key]
        # Pairs measured exactly: this level's own cells (those holding a camera).
        own = cells[i].h3
        is_cell = np.isin(level, own)
        exact = is_cell[node] & (low <= np.minimum(nearest, limit_m))
        n_exact = int(exact.sum())
        out_res.append(np.full(n_exact, resolutions[i], dtype=np.int16))
        out_h3.append(level[node[exact]])
        out_lon.append(lon[node[exact]])
        out_lat.append(lat[node[exact]])
        out_site.append(sites["id"][site[exact]])
        # Pairs kept for the levels below.
        b = below[i][node]
        keep = low <= np.minimum(nearest + 2 * b, limit_m + b)
        node, site = node[keep], site[keep]
    if not out_h3:
        return
    write_arrays(conn, "_cand", [
        ("resolution", "smallint", np.concatenate(out_res)),
        ("h3", "bigint", np.concatenate(out_h3)),
        ("lon", "double precision", np.concatenate(out_lon)),
        ("lat", "double precision", np.concatenate(out_lat)),
        ("site_id", "bigint", np.concatenate(out_site)),
    ])
    conn.execute(query("build_cell_distances"), {"limit_m": limit_m})
