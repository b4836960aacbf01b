"""Answers for failures of the store: 503 with Retry-After, never a hang or a bare 500."""

from __future__ import annotations

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse

from camdensity.settings import database_settings


def store_unavailable(detail: str) -> JSONResponse:
    """503 `{"detail": ...}` with Retry-After (settings.retry_after_s)."""
    return JSONResponse(
        {"detail": detail},
        status_code=503,
        headers={"Retry-After": str(database_settings().retry_after_s), "Cache-Control": "no-store"},
    )


async def on_operational_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL unreachable, restarting, or a statement over the timeout: 503, retry later."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return store_unavailable(
            "the query took longer than CAMDENSITY_STATEMENT_TIMEOUT_MS "
            f"({database_settings().statement_timeout_ms} ms); retry later or ask for less"
        )
    return store_unavailable("the store (PostgreSQL) is unreachable; retry later")
