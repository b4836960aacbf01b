"""`/healthz`: the store answers and which data version it serves."""

from __future__ import annotations

from fastapi import APIRouter

from camdensity.service.dependencies import ConnDep
from camdensity.service.snapshot import current_snapshot

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and data version")
async def healthz(conn: ConnDep) -> dict[str, object]:
    """`ok` when the database answers, with the snapshot id of the newest finished build."""
    snap = await current_snapshot(conn)
    return {
        "status": "ok",
        "data_version": snap.snapshot if snap else None,
        "built_at": snap.built_at.isoformat() if snap else None,
    }
