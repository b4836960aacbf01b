"""`/healthz` (liveness: the process answers) and `/readyz` (readiness: the store and the data)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from camdensity import __version__
from camdensity.service.snapshot import current_snapshot
from camdensity.settings import database_settings

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """The process answers; nothing else is checked."""

    status: str = Field(description="Always `ok`", examples=["ok"])
    version: str = Field(description="The code's version")


class Readiness(BaseModel):
    """Whether the service can answer, part by part."""

    status: str = Field(description="`ready`, or `unavailable` when a part is down")
    down: list[str] = Field(description="The parts that are down: `store` (PostgreSQL "
                                        "unreachable), `data` (no finished build yet)")
    checks: dict[str, str] = Field(description="Each part and what was found")
    data_version: str | None = Field(description="Snapshot id of the newest finished build")
    built_at: str | None = Field(description="When that build finished (ISO 8601)")


@router.get("/healthz", summary="Liveness: the process answers (no store access)")
async def healthz() -> Liveness:
    """Always `ok` while the process runs: an orchestrator restarts it only when this fails."""
    return Liveness(status="ok", version=__version__)


@router.get(
    "/readyz",
    summary="Readiness: the store is reachable and holds a finished build",
    responses={503: {"model": Readiness, "description": "A part is down; `down` names it"}},
)
async def readyz(request: Request) -> Any:
    """200 when PostgreSQL answers and a build exists; else 503 naming the part that is down."""
    checks = {"store": "ok", "data": "ok"}
    snap = None
    try:
        async with request.app.state.pool.connection() as conn:
            snap = await current_snapshot(conn)
        if snap is None:
            checks["data"] = "no finished build: import sources and run `camdensity build`"
    except psycopg.OperationalError:
        checks["store"] = "PostgreSQL unreachable"
        checks["data"] = "unknown while the store is down"
    down = [part for part in ("store", "data") if checks[part] != "ok"]
    if down == ["store", "data"]:
        down = ["store"]
    body = Readiness(
        status="unavailable" if down else "ready", down=down, checks=checks,
        data_version=snap.snapshot if snap else None,
        built_at=snap.built_at.isoformat() if snap else None,
    )
    if down:
        headers = {"Retry-After": str(database_settings().retry_after_s), "Cache-Control": "no-store"}
        return JSONResponse(body.model_dump(), status_code=503, headers=headers)
    return body
