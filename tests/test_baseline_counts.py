"""The baseline's counts (ingest/baseline.py) against PostGIS's geodesic brute force, exactly."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import pytest

from camdensity.ingest import baseline
from camdensity.ingest.pgcopy import read_arrays

RADII = [50, 100, 200, 500]
# Helsinki, the antimeridian (Fiji) and near the north pole: boxes that wrap or widen.
CENTRES = ((24.9384, 60.1699), (179.9990, -16.5), (-179.9995, -16.5), (10.0, 89.995))
# Per radius: the devices within it of each centre, one cell centre at a time, as PostGIS sees it.
BRUTE_FORCE = """
SELECT coalesce(sum(c.count) FILTER (WHERE ST_Distance(c.geom::geography, p.g) <= r.radius), 0)
FROM unnest(%(radii)s::integer[]) WITH ORDINALITY AS r(radius, k)
CROSS JOIN (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g) p
LEFT JOIN camera_published c ON ST_DWithin(c.geom::geography, p.g, %(reach)s)
GROUP BY r.k ORDER BY r.k
"""


@pytest.fixture
def db(empty_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        yield conn


def _scatter(conn: psycopg.Connection, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Published cameras around each centre (some at a radius to within centimetres); the centres
    and more points around them to count at."""
    lons, lats = [], []
    for lon, lat in CENTRES:
        # Distances concentrated at the radii, so the band and the exact refinement are exercised.
        dist = np.concatenate([rng.uniform(0, 600, 150),
                               np.repeat(RADII, 20) + rng.normal(0, 0.05, 20 * len(RADII))])
        angle = rng.uniform(0, 2 * np.pi, len(dist))
        m_lon = 111_320.0 * np.cos(np.radians(lat))
        lons.append(((lon + dist * np.sin(angle) / m_lon) + 180) % 360 - 180)
        lats.append(lat + dist * np.cos(angle) / 110_574.0)
    cam_lon, cam_lat = np.concatenate(lons), np.clip(np.concatenate(lats), -90, 90)
    conn.execute(
        "INSERT INTO camera_published (camera_type, operator_type, count, points, geom, geom_3857)"
        " SELECT 'cctv', 'public', 1 + (k %% 3), 1, g, ST_SetSRID(ST_MakePoint(0, 0), 3857)"
        " FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, k)"
        " CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS g) q",
        (cam_lon.tolist(), np.minimum(cam_lat, 89.9999).tolist()))
    centres = np.array(CENTRES)
    jitter = rng.normal(0, 0.0005, (40, 2))
    points = np.concatenate([centres, centres[np.arange(40) % len(CENTRES)] + jitter])
    return (points[:, 0] + 180) % 360 - 180, np.minimum(points[:, 1], 89.9999)


def test_counts_equal_the_geodesic_brute_force(db: psycopg.Connection,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    lon, lat = _scatter(db, np.random.default_rng(7))
    cams = read_arrays(db, "SELECT id, ST_X(geom), ST_Y(geom), count FROM camera_published",
                       None, [("id", "bigint"), ("lon", "double precision"),
                              ("lat", "double precision"), ("count", "integer")])
    with db.transaction():
        got = baseline.counts_within(db, cams, lon, lat, RADII)
    expected = np.array([[row[0] for row in db.execute(BRUTE_FORCE, {
        "radii": RADII, "lon": float(x), "lat": float(y), "reach": max(RADII)}).fetchall()]
        for x, y in zip(lon, lat)])
    assert expected.sum() > 0 and (expected[:, 0] < expected[:, -1]).any()
    assert got.tolist() == expected.tolist()

    # Chunked (a few cells per bulk query) gives the same as unchunked.
    monkeypatch.setattr(baseline, "CHUNK_CELLS", 3)
    with db.transaction():
        assert baseline.counts_within(db, cams, lon, lat, RADII).tolist() == got.tolist()
