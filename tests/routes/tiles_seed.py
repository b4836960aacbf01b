"""A synthetic built store for the tile and map tests: cameras, sites and their H3 hexagons.

Used until the real `helsinki` fixture (ingest + build) works. Rows are random but seeded; the
hexagon summaries are aggregated here (H3 cells from h3-py, sums in SQL) the way a build would,
and every expected figure in the tests is recomputed from the camera and site tables (cameras as
the privacy rule publishes them, tests/privacy_rule.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import h3
import numpy as np
import psycopg
import pytest
from conftest import insert_cameras
from privacy_rule import cell_of
from psycopg.types.json import Jsonb

from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES

CENTER = (24.9410, 60.1690)  # lon, lat (central Helsinki)
RESOLUTIONS = range(6, 13)
SOURCES = [
    {"name": "synthetic-osm", "entity": "cameras", "kind": "crowdsourced", "licence": "ODbL-1.0",
     "attribution": "© OpenStreetMap contributors", "data_date": "2026-10-01"},
    {"name": "synthetic-registry", "entity": "sites", "kind": "reported", "licence": "CC-BY-4.0",
     "data_date": None},
]
SITES = [  # category, name, offset (degrees lon, lat) from CENTER
    ("clinic", "Kampin terveysasema", (-0.004, 0.001)),
    ("clinic", "Itäinen klinikka", (0.012, -0.006)),
    ("school", "Kaisaniemen ala-aste", (0.002, 0.003)),
    ("school", "Ressun lukio", (-0.010, -0.005)),
    ("immigration", "Maahanmuuttovirasto", (0.006, 0.008)),
    ("worship", "Tuomiokirkko", (0.003, -0.001)),
]


def _source(conn: psycopg.Connection, entity: str, name: str) -> int:
    return conn.execute(
        "INSERT INTO source (name, entity, kind, licence, file_name, file_sha256, format) "
        "VALUES (%s, %s, 'crowdsourced', 'ODbL-1.0', 'synthetic', %s, 'sql') RETURNING id",
        (name, entity, entity),
    ).fetchone()[0]


def seed(conn: psycopg.Connection, n: int = 800) -> None:
    """Cameras around CENTER (a dense core and a sparse ring), sites, hexagons, a finished build."""
    rng = np.random.default_rng(20261122)
    _source(conn, "cameras", "synthetic-osm")  # cameras keep no source link once fused
    src_site = _source(conn, "sites", "synthetic-registry")
    spread = np.where(rng.random(n) < 0.6, 0.006, 0.03)  # degrees: dense centre, sparse outskirts
    lons = CENTER[0] + rng.normal(0, 1, n) * spread * 2
    lats = CENTER[1] + rng.normal(0, 1, n) * spread
    types = [str(t) for t in rng.choice(list(CAMERA_TYPES), n)]
    ops = [str(o) for o in rng.choice(list(OPERATOR_TYPES), n, p=[0.35, 0.35, 0.1, 0.2])]
    counts = [int(c) for c in rng.choice([1, 1, 1, 2, 3], n)]
    insert_cameras(conn, types, ops, counts, lons.tolist(), lats.tolist())
    for category, name, (dx, dy) in SITES:
        site_id = conn.execute(
            "INSERT INTO site (source_id, category, name, geom, centroid, geom_3857) "
            "SELECT %s, %s, %s, g, g, ST_Transform(g, 3857) "
            "FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g) p RETURNING id",
            (src_site, category, name, CENTER[0] + dx, CENTER[1] + dy),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO site_exposure SELECT %s, c50, c100, c200, c500, %s, %s, c200 * 0.7, 50, 50 "
            "FROM (SELECT coalesce(sum(count) FILTER (WHERE d < 50), 0) AS c50, "
            "             coalesce(sum(count) FILTER (WHERE d < 100), 0) AS c100, "
            "             coalesce(sum(count) FILTER (WHERE d < 200), 0) AS c200, "
            "             coalesce(sum(count) FILTER (WHERE d < 500), 0) AS c500 "
            "      FROM (SELECT c.count, ST_Distance(c.geom::geography, s.geom::geography) AS d "
            "            FROM camera_published c, site s WHERE s.id = %s) d) t",
            (site_id, Jsonb({}), Jsonb({}), site_id),
        )
    _hexagons(conn)
    conn.execute(
        "INSERT INTO build (snapshot, finished_at, params, sources) VALUES ('tiles-synth-1', now(), %s, %s)",
        (Jsonb({"near_site_radius_m": 200}), Jsonb(SOURCES)),
    )
    conn.commit()


def _hexagons(conn: psycopg.Connection) -> None:
    """Aggregate the published cameras into H3 cells at every resolution, as hexagon and
    hexagon_breakdown rows."""
    rows = conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom), camera_type, operator_type, count FROM camera_published"
    ).fetchall()
    cam_ids, res_col, cells = [], [], []
    for r in RESOLUTIONS:
        for cid, *cam in rows:
            cam_ids.append(cid)
            res_col.append(r)
            cells.append(h3.str_to_int(cell_of(tuple(cam), r)))
    conn.execute(
        "CREATE TEMP TABLE cam_cell AS SELECT * FROM unnest(%s::bigint[], %s::int[], %s::bigint[]) "
        "AS t(camera_id, resolution, h3)",
        (cam_ids, res_col, cells),
    )
    conn.execute(
        "INSERT INTO hexagon_breakdown "
        "SELECT cc.resolution, cc.h3, c.camera_type, c.operator_type, sum(c.count) "
        "FROM cam_cell cc JOIN camera_published c ON c.id = cc.camera_id GROUP BY 1, 2, 3, 4"
    )
    unique = sorted({(r, c) for r, c in zip(res_col, cells)})
    wkts = []
    for _, cell in unique:
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(cell))]
        ring.append(ring[0])
        wkts.append("POLYGON((" + ",".join(f"{x} {y}" for x, y in ring) + "))")
    areas = [h3.cell_area(h3.int_to_str(c), unit="km^2") for _, c in unique]
    # Column expressions from the fixed vocabularies (test-only SQL, no values formatted in).
    exprs = [f"coalesce(sum(bd.cameras) FILTER (WHERE bd.camera_type = '{t}'), 0)" for t in CAMERA_TYPES]
    exprs += [f"coalesce(sum(bd.cameras) FILTER (WHERE bd.operator_type = '{o}'), 0)" for o in OPERATOR_TYPES]
    conn.execute(
        "INSERT INTO hexagon (h3, resolution, cameras, n_cctv, n_doorbell, n_alpr, n_dome, n_ptz, "
        "  n_traffic, n_speed, n_gunshot, n_unknown, op_public, op_business, op_private, op_unknown, "
        "  area_km2, density_km2, geom, geom_3857) "
        f"SELECT u.h3, u.r, b.total, {', '.join(f'b.t{i}' for i in range(len(exprs)))}, u.a, b.total / u.a, "
        "       ST_SetSRID(ST_GeomFromText(u.w), 4326), "
        "       ST_Transform(ST_SetSRID(ST_GeomFromText(u.w), 4326), 3857) "
        "FROM unnest(%s::int[], %s::bigint[], %s::float8[], %s::text[]) AS u(r, h3, a, w) "
        "CROSS JOIN LATERAL (SELECT sum(bd.cameras) AS total, "
        + ", ".join(f"{e} AS t{i}" for i, e in enumerate(exprs))
        + " FROM hexagon_breakdown bd WHERE bd.resolution = u.r AND bd.h3 = u.h3) b",
        ([r for r, _ in unique], [c for _, c in unique], areas, wkts),
    )
    # Distance from each cell's H3 centre to the nearest site of a category (NULL when none).
    centres = [h3.cell_to_latlng(h3.int_to_str(c)) for _, c in unique]
    for category in ("clinic", "school", "immigration"):
        conn.execute(
            f"UPDATE hexagon h SET d_{category} = ("
            "  SELECT min(ST_Distance(ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)::geography, "
            "                        s.geom::geography)) "
            "  FROM site s WHERE s.category = %s) "
            "FROM unnest(%s::int[], %s::bigint[], %s::float8[], %s::float8[]) AS u(r, c, x, y) "
            "WHERE h.resolution = u.r AND h.h3 = u.c",
            (category, [r for r, _ in unique], [c for _, c in unique],
             [lng for _, lng in centres], [lat for lat, _ in centres]),
        )


@pytest.fixture(scope="module")
def tiles_db(admin_url: str) -> Iterator[str]:
    """A database of its own holding the synthetic built store (the session database stays clean)."""
    from conftest import seeded_database

    yield from seeded_database(admin_url, seed)
