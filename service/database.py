"""The service's connection pool (opened and closed with the app), short-fused for outages."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from camdensity.settings import DatabaseSettings


async def open_pool(settings: DatabaseSettings, url: str) -> AsyncConnectionPool:
    """A read pool; statements are prepared on first reuse (Martin-style constant SQL).

    While PostgreSQL is down a request waits at most `pool_timeout_s` for a connection (then the
    app answers 503), and the pool gives up a reconnection attempt after about twice that, so
    the next request starts a fresh one: the first request after PostgreSQL returns gets a
    connection instead of waiting out an exponential backoff. Each connection is checked when
    lent, so one left broken by a restart is replaced instead of failing a request.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_s,
        reconnect_timeout=2 * settings.pool_timeout_s,
        check=AsyncConnectionPool.check_connection,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 1,
            "connect_timeout": settings.connect_timeout_s,
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        },
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool
