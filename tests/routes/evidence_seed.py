"""A planted store for the evidence tests: clinics in a dense camera cluster, schools among the
addresses, private cameras beside the clinics (which the comparison must ignore), a finished build.

Everything is seeded; expected figures are recomputed in Python by haversine distance, and no
camera lies within 3 m of any radius from any site or address, so the geodesic and the
spherical distances can never disagree about "within".
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import psycopg
import pytest
from conftest import insert_cameras, seeded_database
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from camdensity import testing
from camdensity.service.main import create_app

CENTER = (24.94, 60.17)  # lon, lat
RADII = (100, 200)
SNAPSHOT = "evidence-seed-1"
M_PER_DEG_LAT = 111_320.0


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on the mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def offset(dx_m: float, dy_m: float) -> tuple[float, float]:
    """(lon, lat) of a point dx_m east and dy_m north of CENTER."""
    return (CENTER[0] + dx_m / (M_PER_DEG_LAT * math.cos(math.radians(CENTER[1]))),
            CENTER[1] + dy_m / M_PER_DEG_LAT)


class Planted:
    """The planted points, as the tests recompute figures from them."""

    def __init__(self) -> None:
        rng = np.random.default_rng(20261130)
        self.addresses = [offset(*rng.uniform(-1500, 1500, 2)) for _ in range(240)]
        # Clinics sit in a dense cluster in the north-east; schools at addresses in the
        # south-west, where only the sparse cameras are.
        self.clinics = [offset(*rng.uniform([300, 300], [1200, 1200])) for _ in range(12)]
        self.schools = [a for a in self.addresses if a[0] < CENTER[0] and a[1] < CENTER[1]][:10]
        cameras: list[tuple[float, float, str]] = []
        for _ in range(140):  # dense: around the clinics' quarter
            cameras.append((*offset(*rng.uniform([250, 250], [1250, 1250])), "public"))
        for _ in range(120):  # sparse: everywhere
            cameras.append((*offset(*rng.uniform(-1600, 1600, 2)), "business"))
        for lon, lat in self.clinics[:6]:  # private cameras right next to clinics: never counted
            cameras.append((lon + 0.0002, lat, "private"))
        places = self.addresses + self.clinics
        self.cameras = [c for c in cameras if all(
            abs(haversine_m(c[0], c[1], p[0], p[1]) - r) > 3 for p in places for r in RADII)]

    def counts(self, points: list[tuple[float, float]], radius: int,
               private: bool = False) -> list[int]:
        """Non-private (or, with `private`, all) cameras within `radius` of each point."""
        return [sum(1 for lon, lat, op in self.cameras if (private or op != "private")
                    and haversine_m(lon, lat, px, py) <= radius) for px, py in points]


PLANTED = Planted()


def seed(conn: psycopg.Connection) -> None:
    """The planted points into the store, with a finished build row."""
    ids = {}
    for entity in ("cameras", "sites", "addresses"):
        ids[entity] = conn.execute(
            "INSERT INTO source (name, entity, kind, licence, file_name, file_sha256, format, "
            "data_date) VALUES ('planted', %s, 'crowdsourced', 'CC0-1.0', 'planted', %s, 'sql', "
            "'2026-11-01') RETURNING id", (entity, entity)).fetchone()[0]
    lons, lats, ops = zip(*PLANTED.cameras, strict=True)
    insert_cameras(conn, ["cctv"] * len(ops), list(ops), [1] * len(ops), list(lons), list(lats))
    for category, points in (("clinic", PLANTED.clinics), ("school", PLANTED.schools)):
        for i, (lon, lat) in enumerate(points):
            conn.execute(
                "INSERT INTO site (source_id, source_ref, category, name, geom, centroid, geom_3857) "
                "SELECT %s, %s, %s, %s, g, g, ST_Transform(g, 3857) "
                "FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS g) p",
                (ids["sites"], f"{category}/{i}", category, f"{category.title()} {i}", lon, lat))
    # Exposure as a build measures it (every operator; geodesic), for /sites and the report's lists.
    conn.execute(
        "INSERT INTO site_exposure SELECT s.id, "
        "  count(*) FILTER (WHERE d <= 50), count(*) FILTER (WHERE d <= 100), "
        "  count(*) FILTER (WHERE d <= 200), count(*) FILTER (WHERE d <= 500), '{}', '{}', 0, "
        "  NULL, NULL "
        "FROM site s LEFT JOIN LATERAL (SELECT ST_Distance(c.geom::geography, s.geom::geography) AS d"
        "  FROM camera c) c ON true GROUP BY s.id")
    conn.execute(
        "INSERT INTO address (source_id, street, housenumber, label, search, geom) "
        "SELECT %s, 'Koekatu', n::text, 'Koekatu ' || n, 'koekatu ' || n, "
        "       ST_SetSRID(ST_MakePoint(x, y), 4326) "
        "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS u(x, y, n)",
        (ids["addresses"], [a[0] for a in PLANTED.addresses], [a[1] for a in PLANTED.addresses]))
    conn.execute(
        "INSERT INTO build (snapshot, finished_at, params, sources) VALUES (%s, now(), %s, %s)",
        (SNAPSHOT, Jsonb({}), Jsonb([{"name": "planted", "entity": "cameras", "kind": "crowdsourced",
                                      "licence": "CC0-1.0", "data_date": "2026-11-01"}])))


@pytest.fixture(scope="module")
def evidence_db(admin_url: str) -> Iterator[str]:
    """A database holding the planted store."""
    yield from seeded_database(admin_url, seed)


@contextmanager
def few_resamples() -> Iterator[None]:
    """Fewer bootstrap resamples and permutations than the defaults: the tests stay fast."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAMDENSITY_ANALYSIS_BOOTSTRAP", "600")
        mp.setenv("CAMDENSITY_ANALYSIS_PERMUTATIONS", "800")
        testing.clear_settings()
        yield
    testing.clear_settings()


@pytest.fixture(scope="module")
def evidence_client(evidence_db: str) -> Iterator[TestClient]:
    """The app over the planted store (every address is drawn: the baseline is known exactly)."""
    with few_resamples(), TestClient(create_app(evidence_db)) as c:
        yield c
