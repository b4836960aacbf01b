"""The service's connection pool (opened and closed with the app), short-fused for outages."""

from __future__ import annotations

import select

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from camdensity.settings import DatabaseSettings


async def open_pool(settings: DatabaseSettings, url: str,
                    generic_plans: bool = False) -> AsyncConnectionPool:
    """A read pool; statements are prepared on first reuse (Martin-style constant SQL).

    `generic_plans`: each prepared statement is planned once per connection
    (`plan_cache_mode=force_generic_plan`), for the hot constant statements (tiles, /coverage)
    whose best plan does not depend on their parameters' values. PostgreSQL's own choice kept
    planning them afresh at every request (a parameter-free plan looks dearer while it still
    holds the branches a flag switches off), and planning a tile cost as much as drawing it.
    Statements with optional filters (`%(x)s IS NULL OR ...`) need custom plans to use their
    indexes: they run on the other pool.

    While PostgreSQL is down a request waits at most `pool_timeout_s` for a connection (then the
    app answers 503), and the pool gives up a reconnection attempt after about twice that, so
    the next request starts a fresh one: the first request after PostgreSQL returns gets a
    connection instead of waiting out an exponential backoff. Each connection is checked when
    lent (`check_lent`), so one left broken by a restart is replaced instead of failing a request.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_s,
        reconnect_timeout=2 * settings.pool_timeout_s,
        check=check_lent,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 1,
            "connect_timeout": settings.connect_timeout_s,
            "options": f"-c statement_timeout={settings.statement_timeout_ms}"
                       + (" -c plan_cache_mode=force_generic_plan" if generic_plans else ""),
        },
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool


async def check_lent(conn: AsyncConnection) -> None:
    """Raise when a pooled connection is unusable, with a round trip only when it may be.

    An idle connection a server still holds has nothing to read; one the server closed (restart,
    crash, terminated backend) has its end of stream or an error message waiting. Only then is
    it asked to answer (psycopg_pool's own check), so a healthy connection costs a poll(2), not
    a query: half the round trips of a cached-out tile.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        await AsyncConnectionPool.check_connection(conn)
