"""The privacy rule: the one place private/residential cameras enter public figures.

Each build rewrites `camera_published` from `camera`: non-private cameras as they are; private
ones only as aggregates of at least `private_min_per_cell` points (households) sharing an H3 cell
of `private_resolution`, placed at that cell's centre (sql/queries/build_published.sql). Every
public figure (hexagons at every resolution, breakdowns, baseline, site exposure, coverage,
exports) is computed from `camera_published` alone, so no combination of queries can tell a
private camera's position more finely than its cell, nor a cell holding fewer than the minimum
from empty land. New readers of cameras must read `camera_published` too.
"""

from __future__ import annotations

from typing import Any

import h3ronpy.vector as h3vec
import numpy as np
import psycopg
import pyarrow as pa

from camdensity.ingest.pgcopy import read_arrays, write_arrays
from camdensity.settings import MethodSettings
from camdensity.sql import query

PRIVATE = "private"
_SELECT_PRIVATE = "SELECT id, ST_X(geom), ST_Y(geom) FROM camera WHERE operator_type = 'private'"
# NOT IN a (hashed) set of the published cells: camera_published has no index on h3, and a
# NOT EXISTS planned as a nested loop from stale row estimates scanned it once per private camera
# (minutes at 100,000 cameras).
_WITHHELD = (
    "SELECT coalesce(sum(c.count), 0)::integer FROM _private p JOIN camera c ON c.id = p.camera_id"
    " WHERE p.h3 NOT IN (SELECT q.h3 FROM camera_published q WHERE q.h3 IS NOT NULL)"
)


def describe(params: dict[str, Any]) -> str:
    """The rule in words, with the parameters of the build that applied it (for provenance)."""
    k = params.get("private_min_per_cell", "k")
    res = params.get("private_resolution", "?")
    step = params.get("private_count_step", 1)
    rounded = "" if step == 1 else f", their devices rounded to a multiple of {step}"
    return (f"private/residential cameras are counted only where at least {k} share an H3 "
            f"resolution {res} cell, as an aggregate placed at that cell's centre{rounded}; "
            "elsewhere they are left out of every figure")


def publish(conn: psycopg.Connection, settings: MethodSettings) -> int:
    """Rewrite `camera_published` by the rule, inside the caller's transaction (the build's);
    returns the private devices left out (in cells below the minimum)."""
    conn.execute(query("build_published_setup"))
    private = read_arrays(conn, _SELECT_PRIVATE, None,
                          [("id", "bigint"), ("lon", "double precision"), ("lat", "double precision")])
    if len(private["id"]):
        cells = h3vec.coordinates_to_cells(private["lat"], private["lon"],
                                           settings.private_resolution)
        centres = pa.record_batch(h3vec.cells_to_coordinates(cells))
        write_arrays(conn, "_private", [
            ("camera_id", "bigint", private["id"]),
            ("h3", "bigint", np.asarray(cells).view(np.int64)),
            ("lon", "double precision", np.asarray(centres.column("lng"))),
            ("lat", "double precision", np.asarray(centres.column("lat"))),
        ])
    conn.execute("ANALYZE _private")
    conn.execute(query("build_published"), {
        "min_private": settings.private_min_per_cell, "step": settings.private_count_step,
    })
    conn.execute("ANALYZE camera_published")
    return conn.execute(_WITHHELD).fetchone()[0]
