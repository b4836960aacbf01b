"""The build's evidence steps: which way cameras look, who faces each site, and the history.

Run inside the build's transaction, after the build row is written (history rows reference it),
so readers see the new figures and the new data version together, or neither.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from camdensity.settings import EvidenceSettings, MethodSettings, evidence_settings
from camdensity.sql import query, statements

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
    for statement in statements("evidence_history_hexagons"):
        conn.execute(statement, {"build_id": build_id})
    conn.execute(query("evidence_history_shapes"))
    return prune(conn, settings.history_keep_builds)


def prune(conn: psycopg.Connection, keep: int) -> list[str]:
    """Drop the history of builds beyond the newest `keep` (their build rows stay); their ids."""
    if keep < 1:
        raise ValueError(f"CAMDENSITY_HISTORY_KEEP_BUILDS must be at least 1, got {keep}")
    pruned = [r[0] for r in conn.execute(query("evidence_prune"), {"keep": keep}).fetchall()]
    if pruned:
        conn.execute(query("evidence_prune_shapes"))
    return pruned
