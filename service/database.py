"""The service's connection pool (opened and closed with the app)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from camdensity.settings import DatabaseSettings


async def open_pool(settings: DatabaseSettings, url: str) -> AsyncConnectionPool:
    """A read pool; statements are prepared on first reuse (Martin-style constant SQL)."""
    pool = AsyncConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={"autocommit": True, "prepare_threshold": 1},
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool
