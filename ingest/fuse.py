"""Fusion: reports of the same device from different sources become one camera."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from camdensity.settings import MethodSettings, method_settings
from camdensity.sql import query

# Which types may describe the same device. A report of 'unknown' type fits any camera; otherwise
# both types must be of one family: fixed video cameras (cctv, dome, ptz, doorbell), road cameras
# (traffic, speed), plate readers (alpr) and gunshot detectors, the last two only with themselves.
# Specificity decides a fused camera's type: 'dome' says more than 'cctv', 'cctv' more than
# 'unknown'.
TYPE_FAMILY: dict[str, tuple[str | None, int]] = {
    "unknown": (None, 0),
    "cctv": ("cctv", 1),
    "dome": ("cctv", 2),
    "ptz": ("cctv", 2),
    "doorbell": ("cctv", 2),
    "traffic": ("traffic", 1),
    "speed": ("traffic", 2),
    "alpr": ("alpr", 2),
    "gunshot": ("gunshot", 2),
}

# Serialises fusions and builds: both rewrite `camera`, and two imports may end at once.
FUSE_LOCK = 7_263_002


@dataclass(frozen=True)
class SourceFusion:
    """One camera source: its reports and how many of them fused with another source's."""

    name: str
    reports: int
    fused: int


@dataclass(frozen=True)
class FuseResult:
    """What a fusion produced: cameras (points), devices (sum of counts), per-source fusion."""

    cameras: int
    devices: int
    sources: list[SourceFusion] = field(default_factory=list)

    def fused(self, name: str) -> int:
        """Reports of source `name` that fused with another source's report."""
        return next((s.fused for s in self.sources if s.name == name), 0)


def fuse(conn: psycopg.Connection, settings: MethodSettings | None = None, *,
         apply: bool = True) -> FuseResult:
    """Recompute `camera` from every camera report, set-based, inside the caller's transaction.

    With `apply=False` (an import) the fusion is only measured: `camera` and the reports' links
    stay as the last build left them, so readers keep seeing one consistent data version until
    the next `camdensity build`.

    Sources are taken in id order. The first one's reports seed cameras; each next source's
    reports are matched one-to-one, greedily by geodesic distance, to compatible cameras within
    `fusion_distance_m` (each camera holds at most one report per source, so two cameras of one
    source never merge); reports left over become new cameras. Confidence is 1 - 0.5^n_sources.
    """
    settings = settings or method_settings()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (FUSE_LOCK,))
        conn.execute("SET LOCAL jit = off")  # compiling costs more than these statements take
        setup(conn)
        source_ids = [
            r[0] for r in conn.execute(
                "SELECT id FROM source WHERE entity = 'cameras'"
                " AND EXISTS (SELECT 1 FROM camera_report r WHERE r.source_id = source.id)"
                " ORDER BY id"
            )
        ]
        for n, source_id in enumerate(source_ids):
            params = {"source_id": source_id, "distance": settings.fusion_distance_m}
            if n > 0:
                match_source(conn, "build_fuse_pairs", params)
            conn.execute(query("build_fuse_new"), params)
            if n < len(source_ids) - 1:  # positions are only needed to match a next source
                conn.execute(query("build_fuse_refresh"), params)
                if n == 0:
                    conn.execute("CREATE INDEX ON _fuse_cam USING gist (geog)")
                    conn.execute("ANALYZE _fuse_cam")
        conn.execute(query("build_fuse_cameras"))
        if apply:
            conn.execute(query("build_fuse_replace"))
            conn.execute(query("build_fuse_links"))
        cameras, devices = conn.execute(
            "SELECT count(*)::integer, coalesce(sum(count), 0)::bigint FROM _fuse_camera"
        ).fetchone()
        sources = [SourceFusion(*row) for row in conn.execute(query("build_fuse_summary"))]
    return FuseResult(cameras=cameras, devices=devices, sources=sources)


def setup(conn: psycopg.Connection) -> None:
    """The fusion's temp tables (build_fuse_setup.sql) and its type families (TYPE_FAMILY)."""
    conn.execute(query("build_fuse_setup"))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO _fuse_type (camera_type, family, specificity) VALUES (%s, %s, %s)",
            [(t, fam, spec) for t, (fam, spec) in TYPE_FAMILY.items()],
        )


def match_source(conn: psycopg.Connection, pairs: str, params: dict) -> None:
    """Match one source's reports to the cameras so far: candidate pairs (the `pairs` query:
    build_fuse_pairs.sql, or the incremental build's own), then accepted greedily."""
    conn.execute("TRUNCATE _fuse_pair")
    conn.execute(query(pairs), params)
    # Exactly coincident stacks (IP-located devices) at once, as the rounds would.
    if conn.execute(query("build_fuse_stacked"), params).rowcount > 0:
        conn.execute(query("build_fuse_accept"))
    # Each round matches at least the closest remaining pair; usually a few rounds do.
    while conn.execute(query("build_fuse_round"), params).rowcount > 0:
        conn.execute(query("build_fuse_accept"))
