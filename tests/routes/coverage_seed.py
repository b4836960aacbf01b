"""A small synthetic city around central Helsinki, and fixtures serving it, for the coverage and
sites tests (loaded with `pytest_plugins`).

The rows are random but seeded, and every expected figure in the tests is recomputed from them.
"""

from __future__ import annotations

from collections.abc import Iterator

import h3
import numpy as np
import psycopg
import pytest
from conftest import insert_cameras
from fastapi.testclient import TestClient
from privacy_rule import published
from pyproj import Geod

from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES

CENTER = (24.9410, 60.1690)  # lon, lat
GEOD = Geod(ellps="WGS84")
ADDRESSES = [
    ("Mannerheimintie", "1", "00100"),
    ("Mannerheimintie", "10", "00100"),
    ("Mannerheimintie", "14", "00100"),
    ("Säästöpankinranta", "6", "00530"),
    ("Yrjönkatu", "30", "00100"),
    ("Yrjönkatu", "34", "00100"),
    ("Töölönlahdenkatu", "2", "00100"),
    ("Eteläranta", "16", "00130"),
    ("Annankatu", "5", "00120"),
    ("Annankatu", "5B", "00120"),
    ("Bulevardi", "21", "00180"),
    ("Pohjoisesplanadi", "11-13", "00170"),
]
# A lonely corner far from the city: two private cameras and one public one.
LONELY = (25.3000, 60.3000)
SITES = [  # category, name, offset east/north in metres, cameras_200m
    ("school", "Kaisaniemen ala-aste", (150, 80), 12),
    ("clinic", "Kampin terveysasema", (-300, 40), 30),
    ("school", "Ressun lukio", (600, -500), 3),
    ("courthouse", "Helsingin käräjäoikeus", (-900, 700), 7),
    ("worship", "Tuomiokirkko", (60, -120), 30),
    ("clinic", "Lonely clinic", None, 0),
]


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point `east_m` east and `north_m` north of (lon, lat), on the ellipsoid."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90.0, east_m)
    lon3, lat3, _ = GEOD.fwd(lon2, lat2, 0.0, north_m)
    return lon3, lat3


def _source(conn: psycopg.Connection, entity: str) -> int:
    cur = conn.execute(
        "INSERT INTO source (name, entity, kind, licence, file_name, file_sha256, format) "
        "VALUES ('synthetic', %s, 'crowdsourced', 'CC0', 'synthetic', %s, 'sql') RETURNING id",
        (entity, entity),
    )
    return cur.fetchone()[0]


def seed(conn: psycopg.Connection) -> None:
    """Addresses, cameras, sites with exposure, baseline cells and a finished build."""
    rng = np.random.default_rng(20261122)
    _, src_site, src_addr = (_source(conn, e) for e in ("cameras", "sites", "addresses"))

    labels, streets, numbers, posts, lons, lats = [], [], [], [], [], []
    for i, (street, number, post) in enumerate(ADDRESSES):
        lon, lat = offset(*CENTER, 40.0 * i - 200, 25.0 * (i % 4) - 40)
        labels.append(f"{street} {number}, {post} Helsinki")
        streets.append(street), numbers.append(number), posts.append(post)
        lons.append(lon), lats.append(lat)
    conn.execute(
        "INSERT INTO address (source_id, street, housenumber, postcode, city, label, search, geom) "
        "SELECT %s, s, n, p, 'Helsinki', l, camdensity_normalize(l), "
        "       ST_SetSRID(ST_MakePoint(x, y), 4326) "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[]) "
        "     AS t(s, n, p, l, x, y)",
        (src_addr, streets, numbers, posts, labels, lons, lats),
    )
    # OSM has addresses with a number and a city but no street: no search can place them.
    conn.execute(
        "INSERT INTO address (source_id, housenumber, postcode, city, label, search, geom) "
        "VALUES (%s, '5', '00100', 'Helsinki', '5, 00100 Helsinki', '5, 00100 helsinki', "
        "        ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (src_addr, *CENTER),
    )

    # 1,500 devices within ~1.2 km; operators skewed so private ones are rare.
    n = 1500
    east, north = rng.uniform(-1200, 1200, n), rng.uniform(-1200, 1200, n)
    points = [offset(*CENTER, float(e), float(nn)) for e, nn in zip(east, north)]
    points += [offset(*LONELY, 20, 0), offset(*LONELY, -30, 10), offset(*LONELY, 0, 50)]
    # A street of five doorbell households: enough to be published (as one aggregate).
    points += [offset(*CENTER, -200 + 8 * i, 200) for i in range(5)]
    types = list(rng.choice(list(CAMERA_TYPES), n)) + ["doorbell", "doorbell", "cctv"]
    types += ["doorbell"] * 5
    ops = list(rng.choice(list(OPERATOR_TYPES), n, p=[0.4, 0.35, 0.05, 0.2]))
    ops += ["private", "private", "public"] + ["private"] * 5
    counts = list(rng.integers(1, 4, n)) + [1, 1, 1] + [1] * 5
    insert_cameras(conn, [str(t) for t in types], [str(o) for o in ops],
                   [int(c) for c in counts], [p[0] for p in points], [p[1] for p in points])

    for category, name, off, cams in SITES:
        lon, lat = offset(*CENTER, *off) if off else offset(*LONELY, 100, 100)
        site_id = conn.execute(
            "INSERT INTO site (source_id, category, name, geom, centroid, geom_3857) "
            "SELECT %s, %s, %s, g, g, ST_Transform(g, 3857) "
            "FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g) p RETURNING id",
            (src_site, category, name, lon, lat),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO site_exposure VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                site_id,
                cams // 4,
                cams // 2,
                cams,
                cams * 3,
                psycopg.types.json.Jsonb({"200": {"cctv": cams}}),
                psycopg.types.json.Jsonb({"200": {"public": cams}}),
                cams * 0.6,
                50.0,
                40.0,
            ),
        )

    # Baseline: res-9 cells over the city with made-up counts per radius.
    cells = h3.grid_disk(h3.latlng_to_cell(CENTER[1], CENTER[0], 9), 6)
    rows = [
        (int(c, 16), r, int(rng.integers(0, 40)), *h3.cell_to_latlng(c)[::-1])
        for c in cells
        for r in (50, 100, 200, 500)
    ]
    conn.execute(
        "INSERT INTO baseline (h3, radius_m, cameras, geom) "
        "SELECT h, r, c, ST_SetSRID(ST_MakePoint(x, y), 4326) "
        "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::float8[], %s::float8[]) AS t(h, r, c, x, y)",
        tuple(list(col) for col in zip(*rows)),
    )
    conn.execute(
        "INSERT INTO build (snapshot, finished_at, params, sources) "
        "VALUES ('synthetic-1', now(), '{}', '[]')"
    )
    conn.commit()


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance on the WGS84 ellipsoid (what PostGIS geography measures)."""
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def brute_force_count(
    conn: psycopg.Connection, lon: float, lat: float, radius: float, margin: float = 0.5
) -> tuple[dict[str, int], int]:
    """Devices per operator within `radius` of a point, over every camera as the privacy rule
    publishes it (tests/privacy_rule.py); and how many sit within `margin` of the boundary
    (where rounding may decide either way)."""
    cameras = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom), camera_type, operator_type, count FROM camera"
    ).fetchall()
    rows = [(x, y, count, op) for x, y, _, op, count in published(cameras)]
    xs, ys = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    _, _, dist = GEOD.inv(np.full_like(xs, lon), np.full_like(ys, lat), xs, ys)
    per_op: dict[str, int] = {}
    near_edge = 0
    for (_, _, count, op), d in zip(rows, dist):
        if abs(d - radius) <= margin:
            near_edge += 1
        elif d < radius:
            per_op[op] = per_op.get(op, 0) + count
    return per_op, near_edge


@pytest.fixture(scope="module")
def coverage_url(admin_url: str) -> Iterator[str]:
    """A database of its own holding the synthetic city (the session database stays clean)."""
    from conftest import seeded_database

    yield from seeded_database(admin_url, seed)


@pytest.fixture(scope="module")
def coverage_client(coverage_url: str) -> Iterator[TestClient]:
    """The app (lifespan and pool running) over the synthetic city."""
    from camdensity.service.main import create_app

    with TestClient(create_app(coverage_url)) as c:
        yield c


@pytest.fixture
def coverage_db(coverage_url: str) -> Iterator[psycopg.Connection]:
    """A direct connection to the synthetic city, for brute-force expectations."""
    with psycopg.connect(coverage_url) as c:
        yield c
