"""The city baseline's counts: published devices within each radius of every baseline cell centre.

Exactly the geodesic (WGS 84 ellipsoid) counts PostGIS gives, without an index probe per cell:
candidate (cell, camera) pairs come from one bulk query of a planar index (shapely's STRtree over
lon/lat, boxes wide enough for the reach); a great-circle distance in numpy decides every pair
that is clearly inside or outside a radius, and only the pairs near a radius (within
SPHERE_BAND of it) get their ellipsoidal distance, from PostGIS, set-based.

Why the band is safe: over distances of a few hundred metres the ellipsoid's length of a path and
the sphere's (PostGIS's mean radius) differ by the local radius of curvature, between 6,335 and
6,400 km against 6,371 km: less than 0.6 per cent. A pair whose sphere distance is more than
SPHERE_BAND (1 per cent) from a radius is on the same side of it on the ellipsoid.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely

from camdensity.ingest.pgcopy import read_arrays, write_arrays

SPHERE_RADIUS_M = 6_371_008.8
SPHERE_BAND = 0.01
# Metres per degree of latitude are at least this anywhere on WGS 84 (the meridian at the equator).
MIN_M_PER_DEG_LAT = 110_574.0
# Baseline cells per bulk query: bounds the candidate pairs held at once.
CHUNK_CELLS = 100_000

_EXACT_SETUP = (
    "CREATE TEMP TABLE IF NOT EXISTS _band (k bigint, camera_id bigint, lon float8, lat float8)"
    " ON COMMIT DROP"
)
# The same expression, argument order included, as a per-cell query would evaluate.
_EXACT = (
    "SELECT b.k, ST_Distance(c.geom::geography,"
    " ST_SetSRID(ST_MakePoint(b.lon, b.lat), 4326)::geography)"
    " FROM _band b JOIN {table} c ON c.id = b.camera_id"
)


def sphere_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle metres (haversine) on the sphere of PostGIS's mean radius."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * SPHERE_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _boxes(lon: np.ndarray, lat: np.ndarray, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat boxes holding every point within `reach_m` (geodesic) of each centre, and which
    centre each is of (a box over the antimeridian is also given shifted by 360 degrees)."""
    dlat = reach_m / MIN_M_PER_DEG_LAT
    edge = np.minimum(np.abs(lat) + dlat, 90.0)
    cos = np.cos(np.radians(edge))
    # 1.01: the parallel's degree against the shortest path's. Near a pole: every longitude
    # (and then no shifted copy, which would count a pair twice).
    polar = edge >= 89.0
    dlon = np.where(polar, 0.0, 1.01 * dlat / np.maximum(cos, 1e-12))
    minx = np.where(polar, -180.0, lon - dlon)
    maxx = np.where(polar, 180.0, lon + dlon)
    boxes = shapely.box(minx, lat - dlat, maxx, lat + dlat)
    owner = np.arange(len(lon))
    west, east = minx < -180.0, maxx > 180.0
    extra_b = [boxes]
    extra_o = [owner]
    for wrap, shift in ((west, 360.0), (east, -360.0)):
        if wrap.any():
            extra_b.append(shapely.box(minx[wrap] + shift, lat[wrap] - dlat,
                                       maxx[wrap] + shift, lat[wrap] + dlat))
            extra_o.append(owner[wrap])
    return np.concatenate(extra_b), np.concatenate(extra_o)


def counts_within(conn: psycopg.Connection, cams: dict[str, np.ndarray], lon: np.ndarray,
                  lat: np.ndarray, radii: list[int], table: str = "camera_published") -> np.ndarray:
    """Devices (sum of `count`) of the cameras within each radius (geodesic, <=) of each centre:
    an int64 array of shape (len(lon), len(radii)). The cameras' `id`s are rows of `table` (an
    incremental build passes the published rows it changed, counts negative for those gone)."""
    out = np.zeros((len(lon), len(radii)), dtype=np.int64)
    if len(cams["id"]) == 0 or len(lon) == 0:
        return out
    reach = max(radii) * (1 + SPHERE_BAND)
    tree = shapely.STRtree(shapely.points(cams["lon"], cams["lat"]))
    conn.execute(_EXACT_SETUP)
    for start in range(0, len(lon), CHUNK_CELLS):
        stop = min(len(lon), start + CHUNK_CELLS)
        boxes, owner = _boxes(lon[start:stop], lat[start:stop], reach)
        box_i, cam = tree.query(boxes)
        cell = owner[box_i] + start
        d = sphere_m(cams["lon"][cam], cams["lat"][cam], lon[cell], lat[cell])
        keep = d <= reach
        cell, cam, d = cell[keep], cam[keep], d[keep]
        near = np.zeros(len(d), dtype=bool)
        for r in radii:
            near |= np.abs(d - r) <= SPHERE_BAND * r
        if near.any():
            d[near] = _exact(conn, cams["id"][cam[near]], lon[cell[near]], lat[cell[near]],
                             table)
        weight = cams["count"][cam].astype(np.float64)
        for k, r in enumerate(radii):
            inside = d <= r
            out[:, k] += np.bincount(cell[inside], weights=weight[inside],
                                     minlength=len(lon)).astype(np.int64)
    return out


def _exact(conn: psycopg.Connection, camera_ids: np.ndarray, lon: np.ndarray,
           lat: np.ndarray, table: str = "camera_published") -> np.ndarray:
    """Ellipsoidal metres from each camera to its point, computed by PostGIS in one statement."""
    conn.execute("TRUNCATE _band")
    write_arrays(conn, "_band", [
        ("k", "bigint", np.arange(len(camera_ids), dtype=np.int64)),
        ("camera_id", "bigint", camera_ids), ("lon", "double precision", lon),
        ("lat", "double precision", lat),
    ])
    got = read_arrays(conn, _EXACT.format(table=table), None, [("k", "bigint"), ("d", "double precision")])
    d = np.empty(len(camera_ids), dtype=np.float64)
    d[got["k"]] = got["d"]
    if len(got["k"]) != len(camera_ids):
        raise RuntimeError("a camera of the baseline's pairs is not published")
    return d


