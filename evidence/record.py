"""The build's evidence steps: which way cameras look, who faces each site, and the history.

Run inside the build's transaction, after the build row is written (history rows reference it),
so readers see the new figures and the new data version together, or neither.
"""

from __future__ import annotations

from collections.abc import Callable

import h3ronpy.vector as h3vec
import numpy as np
import psycopg
import pyarrow as pa

from camdensity.ingest.pgcopy import read_arrays, write_arrays
from camdensity.settings import EvidenceSettings, MethodSettings, evidence_settings
from camdensity.sql import query

_CLEAR = ("DELETE FROM camera_view", "DELETE FROM site_facing", "DELETE FROM camera_fov")


def record(conn: psycopg.Connection, build_id: int, method: MethodSettings,
           settings: EvidenceSettings | None = None,
           say: Callable[[str], None] = lambda _: None) -> list[str]:
    """Views, facing counts, view cones and this build's history; returns snapshots pruned."""
    settings = settings or evidence_settings()
    say("judging which cameras face each site")
    for statement in _CLEAR:
        conn.execute(statement)
    conn.execute(query("evidence_camera_view"), {"fov": method.fov_deg})
    conn.execute(query("evidence_site_facing"), {
        "radii": method.exposure_radii_m, "max_radius": max(method.exposure_radii_m)})
    conn.execute(query("evidence_camera_fov"), {"radius_m": settings.fov_draw_radius_m})
    say("recording the history")
    conn.execute(query("evidence_history"), {"build_id": build_id})
    conn.execute(query("evidence_history_hexagons"), {"build_id": build_id})
    record_shapes(conn, build_id)
    return prune(conn, settings.history_keep_builds)


def record_shapes(conn: psycopg.Connection, build_id: int) -> int:
    """Keep the polygons of the cells that left the map with this build (after its history is
    written); returns how many.

    hexagon_shape holds the polygon of every cell of a retained build's history that is not on
    the current map (a change tile draws the others from hexagon): by induction, a cell leaves
    the map only from the previous build's, and pruning drops only cells no retained build
    shows. Only the cells that left are written (not every cell of every build: that was 7 % of
    a full build), their polygons made as the hexagons' (H3 boundary, then ST_Transform).
    """
    gone = read_arrays(conn, query("evidence_history_gone"), {"build_id": build_id},
                       [("resolution", "smallint"), ("h3", "bigint")])
    if len(gone["h3"]) == 0:
        return 0
    cells = pa.array(gone["h3"].view(np.uint64))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _gone_shape"
                 " (resolution smallint, h3 bigint, wkb bytea) ON COMMIT DROP")
    conn.execute("DELETE FROM _gone_shape")
    write_arrays(conn, "_gone_shape", [
        ("resolution", "smallint", gone["resolution"]), ("h3", "bigint", gone["h3"]),
        ("wkb", "bytea", pa.array(h3vec.cells_to_wkb_polygons(cells))),
    ])
    conn.execute(query("evidence_history_shapes"))
    return len(gone["h3"])


def prune(conn: psycopg.Connection, keep: int) -> list[str]:
    """Drop the history of builds beyond the newest `keep` (their build rows stay); their ids."""
    if keep < 1:
        raise ValueError(f"CAMDENSITY_HISTORY_KEEP_BUILDS must be at least 1, got {keep}")
    pruned = [r[0] for r in conn.execute(query("evidence_prune"), {"keep": keep}).fetchall()]
    if pruned:
        conn.execute(query("evidence_prune_shapes"))
    return pruned
