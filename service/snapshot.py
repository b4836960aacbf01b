"""The data version readers see: the newest finished build (its snapshot id keys caches and ETags)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

LATEST_BUILD = (
    "SELECT id, snapshot, finished_at, params, sources FROM build "
    "WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
)


@dataclass(frozen=True)
class Snapshot:
    """One finished build: its id, when, with which parameters and from which sources."""

    build_id: int
    snapshot: str
    built_at: datetime
    params: dict[str, Any]
    sources: list[dict[str, Any]]


async def current_snapshot(conn: AsyncConnection) -> Snapshot | None:
    """The newest finished build, or None before the first build."""
    cur = await conn.execute(LATEST_BUILD)
    row = await cur.fetchone()
    return Snapshot(*row) if row else None
