"""In-memory caches keyed by the data version: the current snapshot (short TTL) and an LRU of tiles."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Hashable

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from camdensity.service.snapshot import Snapshot, current_snapshot


def _retrieved(task: asyncio.Task[None]) -> None:
    """A background read's outcome is recorded by the read itself (its failure included)."""
    if not task.cancelled():
        task.exception()


class LRU:
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self.hits = 0  # read by /metrics (camdensity_cache_hits)
        self.misses = 0

    def get(self, key: Hashable) -> object | None:
        """The value for `key` (marking it recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return value

    def put(self, key: Hashable, value: object) -> None:
        """Store `value`, evicting the oldest entries beyond the size."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class SnapshotCache:
    """The current data version, re-read at most every `ttl` seconds; caches drop on a change.

    Every cache that depends on the data registers here and is cleared when a new snapshot is
    seen, so memory never holds tiles or pages of an old version.
    """

    # While the store is down, the known version is trusted this long before trying again.
    OUTAGE_RETRY_S = 1.0

    def __init__(self, ttl: float, *dependents: LRU) -> None:
        self.ttl = ttl
        self.dependents = dependents
        self._snapshot: Snapshot | None = None
        self._read_at = float("-inf")
        self._failed_at = float("-inf")
        self._reading: asyncio.Task[None] | None = None

    async def get(self, pool: AsyncConnectionPool) -> Snapshot | None:
        """The newest finished build (None before the first); a connection only when stale.

        When the store cannot be reached the last known version stays current, so what is cached
        of it (tiles, pages) keeps being served; the store is tried again a second later.
        Requests that find it stale together wait for one read (not one each: a burst of them
        queued for the pool every TTL, the warm tiles' tail latency).
        """
        if time.monotonic() - self._read_at > self.ttl:
            await asyncio.shield(self._reading_task(pool))
        return self._snapshot

    def fresh(self, pool: AsyncConnectionPool | None = None) -> Snapshot | None:
        """The current version when it was read within the TTL (no waiting), else None.

        With `pool`, past half the TTL a re-read starts in the background (one at a time, not
        within OUTAGE_RETRY_S of a failed one): while requests keep coming the version is read
        again before it goes stale, so none of them waits for it. Never trusted beyond the TTL.
        """
        now = time.monotonic()
        age = now - self._read_at
        if age > self.ttl:
            return None
        if (pool is not None and age > self.ttl / 2
                and now - self._failed_at >= self.OUTAGE_RETRY_S):
            self._reading_task(pool).add_done_callback(_retrieved)
        return self._snapshot

    def _reading_task(self, pool: AsyncConnectionPool) -> asyncio.Task[None]:
        """The read in progress (in this event loop), or a new one."""
        loop = asyncio.get_running_loop()
        if self._reading is None or self._reading.done() or self._reading.get_loop() is not loop:
            self._reading = loop.create_task(self._read(pool))
        return self._reading

    async def _read(self, pool: AsyncConnectionPool) -> None:
        try:
            async with pool.connection() as conn:
                self._set(await current_snapshot(conn))
        except psycopg.OperationalError:
            self._failed_at = time.monotonic()
            if self._snapshot is None:
                raise
            self._read_at = self._failed_at - self.ttl + self.OUTAGE_RETRY_S

    def check_store(self) -> None:
        """Raise PoolTimeout at once when the store failed within the last OUTAGE_RETRY_S: a
        request that needs it then answers 503 without waiting out the pool timeout again."""
        if time.monotonic() - self._failed_at < self.OUTAGE_RETRY_S:
            raise PoolTimeout("the store failed a moment ago")

    def failed(self) -> None:
        """A query found the store unreachable: check_store() answers for it a second."""
        self._failed_at = time.monotonic()

    def observe(self, snapshot_id: str | None) -> None:
        """A query saw `snapshot_id`: if it is not the cached one, drop caches and re-read soon."""
        known = self._snapshot.snapshot if self._snapshot else None
        if snapshot_id != known:
            for cache in self.dependents:
                cache.clear()
            self._read_at = float("-inf")

    def _set(self, snapshot: Snapshot | None) -> None:
        old = self._snapshot.snapshot if self._snapshot else None
        new = snapshot.snapshot if snapshot else None
        if new != old:
            for cache in self.dependents:
                cache.clear()
        self._snapshot = snapshot
        self._read_at = time.monotonic()
