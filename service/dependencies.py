"""FastAPI dependencies: a pooled connection per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg import AsyncConnection


async def get_conn(request: Request) -> AsyncIterator[AsyncConnection]:
    """A connection from the app's pool, returned when the request ends."""
    async with request.app.state.pool.connection() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
