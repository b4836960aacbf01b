"""The city baseline's counts: published devices within each radius of every baseline cell centre.

Exactly the geodesic (WGS 84 ellipsoid) counts PostGIS gives, without an index probe per cell:
candidate (cell, camera) pairs come from a grid of the cameras sorted by (latitude row, longitude)
(rows as tall as the reach, so a centre's candidates are a longitude range in at most three rows,
found by binary search). The straight-line (ECEF) distance between the two points on the
ellipsoid decides every pair that is clearly inside or outside a radius; only the pairs within
EXACT_BAND_M of a radius get their ellipsoidal distance, from PostGIS, set-based (a handful).
Everything is numpy arrays (no geometry objects), taken in chunks of a bounded number of pairs.

Why the chord decides: a geodesic is at least as long as the chord c between its ends, and, its
curvature in space being at most the ellipsoid's largest (1 / (a (1 - e^2)), the meridian at the
equator: radius RHO_MIN), at most the arc of that curvature over the same chord,
2 RHO_MIN asin(c / (2 RHO_MIN)) (Schur's comparison theorem): at 500 m, 0.13 micrometres more.
PostGIS measures with GeographicLib (nanometres). So a pair whose chord is more than EXACT_BAND_M
(a millimetre) beyond a radius is outside it, one whose arc bound is that much inside is inside.
"""

from __future__ import annotations

import numpy as np
import psycopg

from camdensity.ingest.pgcopy import read_arrays, write_arrays

# WGS 84.
A_M = 6_378_137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
RHO_MIN_M = A_M * (1 - E2)
# Pairs whose distance may lie this close to a radius get PostGIS's own distance.
EXACT_BAND_M = 0.001
# The grid's reach over the largest radius (its boxes only need to hold every candidate; an
# incremental build widens its own reach by it too, ingest/incremental.py).
SPHERE_BAND = 0.01
# PostGIS's mean radius: the sphere of sphere_m, a prefilter's measure (ingest/incremental.py).
SPHERE_RADIUS_M = 6_371_008.8
# Metres per degree of latitude are at least this anywhere on WGS 84 (the meridian at the equator).
MIN_M_PER_DEG_LAT = 110_574.0
# Candidate (cell, camera) pairs per chunk: bounds the arrays held at once (~100 bytes a pair
# with the gathered coordinates), whatever the number of cameras.
CHUNK_PAIRS = 1_000_000
# Cells whose candidate slices are found at once (about 9 slices of 3 int64 each, with temporaries).
CHUNK_CELLS = 100_000
# A grid key is row * _ROW_STRIDE + (longitude + 180): rows never overlap (360 < 512).
_ROW_STRIDE = 512.0
# Widening of every longitude range, degrees: far above the keys' rounding (~1e-8 degrees), far
# below anything that matters (the candidates are a superset; distances decide).
_KEY_EPS = 1e-6

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
    """Great-circle metres (haversine) on the sphere of PostGIS's mean radius: within 0.5 % of the
    geodesic distance, for prefilters that add a margin (never for a count's decision)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * SPHERE_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the WGS 84 ellipsoid as earth-centred cartesian metres, shape (n, 3)."""
    p, lam = np.radians(lat), np.radians(lon)
    sin, cos = np.sin(p), np.cos(p)
    n = A_M / np.sqrt(1 - E2 * sin * sin)
    return np.stack([n * cos * np.cos(lam), n * cos * np.sin(lam), n * (1 - E2) * sin], axis=1)


def _inside_chord(metres: np.ndarray) -> np.ndarray:
    """The longest chord whose geodesic is surely no longer than `metres` (see the docstring)."""
    return 2 * RHO_MIN_M * np.sin(metres / (2 * RHO_MIN_M))


class _Grid:
    """Cameras sorted by (latitude row of height `dlat` degrees, longitude)."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, dlat: float) -> None:
        self.dlat = dlat
        key = self._row(lat) * _ROW_STRIDE + (lon + 180.0)
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]

    def _row(self, lat: np.ndarray) -> np.ndarray:
        return np.floor((lat + 90.0) / self.dlat)

    def ranges(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner, lo, hi): slices of the sorted cameras holding every camera within the reach
        (`dlat` of latitude) of each centre; a centre has up to three rows, each with a shifted
        copy where its box crosses the antimeridian, and the whole row near a pole."""
        dlat = self.dlat
        edge = np.minimum(np.abs(lat) + dlat, 90.0)
        # 1.01: the parallel's degree against the shortest path's.
        polar = edge >= 89.0
        dlon = np.where(polar, 0.0, 1.01 * dlat / np.maximum(np.cos(np.radians(edge)), 1e-12))
        minx = np.where(polar, -180.0, lon - dlon)
        maxx = np.where(polar, 180.0, lon + dlon)
        first, last = self._row(lat - dlat), self._row(lat + dlat)
        owner = np.arange(len(lon))
        spans = [(np.maximum(minx, -180.0), np.minimum(maxx, 180.0), np.ones(len(lon), bool))]
        spans.append((minx + 360.0, np.full(len(lon), 180.0), minx < -180.0))
        spans.append((np.full(len(lon), -180.0), maxx - 360.0, maxx > 180.0))
        owners, los, his = [], [], []
        spans = [span for span in spans if span[2].any()]
        for step in range(3):
            row = first + step
            in_rows = row <= last
            for a, b, use in spans:
                sel = in_rows & use
                base = row[sel] * _ROW_STRIDE + 180.0
                owners.append(owner[sel])
                los.append(np.searchsorted(self.key, base + a[sel] - _KEY_EPS, side="left"))
                his.append(np.searchsorted(self.key, base + b[sel] + _KEY_EPS, side="right"))
        return np.concatenate(owners), np.concatenate(los), np.concatenate(his)


def _expand(owner: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (owner, position) of the slices lo[i]:hi[i]."""
    n = hi - lo
    total = int(n.sum())
    ends = np.cumsum(n)
    pos = np.arange(total, dtype=np.int64) + np.repeat(lo - (ends - n), n)
    return np.repeat(owner, n), pos


def counts_within(conn: psycopg.Connection, cams: dict[str, np.ndarray], lon: np.ndarray,
                  lat: np.ndarray, radii: list[int], table: str = "camera_published") -> np.ndarray:
    """Devices (sum of `count`) of the cameras within each radius (geodesic, <=) of each centre:
    an int64 array of shape (len(lon), len(radii)). The cameras' `id`s are rows of `table` (an
    incremental build passes the published rows it changed, counts negative for those gone)."""
    k = len(radii)
    out = np.zeros((len(lon), k), dtype=np.int64)
    if len(cams["id"]) == 0 or len(lon) == 0:
        return out
    radii_a = np.asarray(radii, dtype=np.float64)
    if np.any(np.diff(radii_a) <= 0):
        raise ValueError("radii must be increasing")
    grid = _Grid(cams["lon"], cams["lat"], radii_a[-1] * (1 + SPHERE_BAND) / MIN_M_PER_DEG_LAT)
    order = grid.order
    cam_xyz = ecef(cams["lon"][order], cams["lat"][order])
    weight = cams["count"][order].astype(np.float64)
    cam_id = cams["id"][order]
    cell_xyz = ecef(lon, lat)
    # Squared chords: surely inside radius k up to inside[k], surely outside beyond outside[k].
    inside = _inside_chord(radii_a - EXACT_BAND_M) ** 2
    outside = (radii_a + EXACT_BAND_M) ** 2

    conn.execute(_EXACT_SETUP)
    for block in range(0, len(lon), CHUNK_CELLS):
        cells = slice(block, min(len(lon), block + CHUNK_CELLS))
        owner, lo, hi = grid.ranges(lon[cells], lat[cells])
        by_cell = np.argsort(owner, kind="stable")
        owner, lo, hi = owner[by_cell] + block, lo[by_cell], hi[by_cell]
        per_query = np.cumsum(hi - lo)
        start = 0
        while start < len(owner):
            done = per_query[start - 1] if start else 0
            stop = max(int(np.searchsorted(per_query, done + CHUNK_PAIRS, side="right")),
                       start + 1)
            while stop < len(owner) and owner[stop] == owner[stop - 1]:
                stop += 1  # whole cells per chunk (a cell's slices are adjacent)
            cell, cam = _expand(owner[start:stop], lo[start:stop], hi[start:stop])
            first, start = start, stop
            diff = cam_xyz[cam] - cell_xyz[cell]
            c2 = np.einsum("ij,ij->i", diff, diff)  # squared chords, metres
            near = c2 <= outside[-1]
            cell, cam, c2 = cell[near], cam[near], c2[near]
            level = np.searchsorted(outside, c2, side="left")  # first radius the pair may be in
            band = np.zeros(len(c2), dtype=bool)
            for lo_k, hi_k in zip(inside, outside):
                band |= (c2 > lo_k) & (c2 <= hi_k)
            if band.any():
                d = _exact(conn, cam_id[cam[band]], lon[cell[band]], lat[cell[band]], table)
                level[band] = np.searchsorted(radii_a, d, side="left")
            # The chunk's cells are one run of the sorted owners: count into that slice only.
            c0, c1 = int(owner[first]), int(owner[start - 1]) + 1
            sums = np.bincount((cell - c0) * (k + 1) + level, weights=weight[cam],
                               minlength=(c1 - c0) * (k + 1)).reshape(c1 - c0, k + 1)
            out[c0:c1] += np.cumsum(sums[:, :k], axis=1).astype(np.int64)
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
    got = read_arrays(conn, _EXACT.format(table=table), None,
                      [("k", "bigint"), ("d", "double precision")])
    d = np.empty(len(camera_ids), dtype=np.float64)
    d[got["k"]] = got["d"]
    if len(got["k"]) != len(camera_ids):
        raise RuntimeError("a camera of the baseline's pairs is not published")
    return d
