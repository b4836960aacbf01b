"""The bundled demo: which files `make demo` loads, and whether the store needs a new build."""

from __future__ import annotations

from pathlib import Path

import psycopg

from camdensity.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"
US_WEST_BBOX = "-125,36,-102,49"

# (ingest sub-command, file, extra arguments); each import is a no-op once loaded.
DEMO_IMPORTS: tuple[tuple[str, Path, tuple[str, ...]], ...] = (
    ("cameras", DATA / "helsinki" / "helsinki_center.osm.pbf", ("--source", "osm-helsinki")),
    ("sites", DATA / "helsinki" / "helsinki_center.osm.pbf", ("--source", "osm-helsinki")),
    ("addresses", DATA / "helsinki" / "helsinki_center.osm.pbf", ("--source", "osm-helsinki")),
    (
        "cameras", DATA / "us" / "osm_surveillance_us_west_2026-01.json",
        ("--source", "osm-us-west-2026-01", "--kind", "crowdsourced", "--licence", "ODbL-1.0",
         "--attribution", "© OpenStreetMap contributors"),
    ),
    (
        "sites", DATA / "us" / "ice_facilities_uwchr.csv",
        (
            "--source", "ice-facilities-uwchr", "--kind", "reported", "--category", "immigration",
            "--lat", "lat", "--lon", "long", "--name", "name", "--id", "detloc",
            "--bbox", US_WEST_BBOX, "--licence", "public records (US FOIA), compiled by UWCHR",
        ),
    ),
)

# The sources the newest finished build was made from, against the sources now in the store.
STALE_BUILD = """
SELECT NOT EXISTS (SELECT 1 FROM build WHERE finished_at IS NOT NULL)
    OR (SELECT coalesce(jsonb_agg(jsonb_build_array(s->>'entity', s->>'name', s->>'sha256')
                                  ORDER BY s->>'entity', s->>'name'), '[]'::jsonb)
          FROM jsonb_array_elements(
              (SELECT sources FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1)) s)
       IS DISTINCT FROM
       (SELECT coalesce(jsonb_agg(jsonb_build_array(entity, name, file_sha256)
                                  ORDER BY entity, name), '[]'::jsonb) FROM source)
"""


def build_is_stale(conn: psycopg.Connection) -> bool:
    """True before the first build and whenever a source changed since the newest build."""
    return bool(conn.execute(STALE_BUILD).fetchone()[0])
