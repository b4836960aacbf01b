"""Prometheus metrics: requests per route template, caches, pool, data version, build and ingest.

Self-contained: the app makes one `ServiceMetrics` (its own registry), wraps itself in
`RequestMetrics` and, when `CAMDENSITY_METRICS_PORT` is set, serves the registry on that port
only (never on the API's port, so it is not public by default). Labels are route *templates*
(`/tiles/{z}/{x}/{y}.{fmt}`), never a path, query string, address or coordinate.
With several worker processes (`camdensity serve --workers N`) prometheus_client's
multiprocess mode is on (`PROMETHEUS_MULTIPROC_DIR`, set by `serve`): every worker writes its
request counts and, at each refresh, its caches and pool into files there; whichever worker
holds the metrics port serves the sum of all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

import psycopg
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from camdensity import __version__, sql
from camdensity.settings import service_settings
from camdensity.tiles.cache import LRU

log = logging.getLogger("camdensity.service")
request_log = logging.getLogger("camdensity.request")

UNMATCHED = "<unmatched>"  # the label of requests no route answered (their path is never a label)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Tiles from the cache take well under a millisecond; exports of a whole resolution seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class StoreFacts:
    """What the store said at the last refresh: the newest build and each source's import."""

    refreshed_at: float | None = None
    snapshot: str | None = None
    built_at: float | None = None  # Unix time
    build_seconds: float | None = None
    # (entity, source name) -> (imported at, Unix time; import seconds or None; accepted; rejected)
    sources: dict[tuple[str, str], tuple[float, float | None, int, int]] = field(
        default_factory=dict)


async def read_store_facts(pool: AsyncConnectionPool) -> StoreFacts:
    """The newest build and the sources' imports, read in one short transaction."""
    async with pool.connection() as conn:
        build = await (await conn.execute(sql.query("metrics_build"))).fetchone()
        rows = await (await conn.execute(sql.query("metrics_sources"))).fetchall()
    facts = StoreFacts(refreshed_at=time.time())
    if build is not None:
        facts.snapshot, facts.built_at, facts.build_seconds = build
    facts.sources = {(entity, name): (at, seconds, accepted, rejected)
                     for entity, name, at, seconds, accepted, rejected in rows}
    return facts


class StateCollector(Collector):
    """Reads live state at scrape time: caches, pool, the store facts of the last refresh."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        """The metric families of the app's current state."""
        m = self.metrics
        info = InfoMetricFamily("camdensity", "The running camdensity.")
        info.add_metric([], {"version": __version__})
        yield info
        if m.shared is None:  # else every worker's figures come from the shared files
            yield from self._caches(m.caches())
            if m.pool is not None:
                yield from self._pool(m.pool.get_stats())
        yield from self._store(m.store)

    @staticmethod
    def _caches(caches: dict[str, LRU]) -> Iterator[Any]:
        hits = CounterMetricFamily("camdensity_cache_hits", "In-memory cache hits.", labels=["cache"])
        misses = CounterMetricFamily("camdensity_cache_misses", "In-memory cache misses.",
                                     labels=["cache"])
        entries = GaugeMetricFamily("camdensity_cache_entries", "Entries held.", labels=["cache"])
        capacity = GaugeMetricFamily("camdensity_cache_capacity",
                                     "Entries held at most (CAMDENSITY_TILE_CACHE_SIZE for tiles).",
                                     labels=["cache"])
        for name, cache in caches.items():
            hits.add_metric([name], cache.hits)
            misses.add_metric([name], cache.misses)
            entries.add_metric([name], len(cache))
            capacity.add_metric([name], cache.size)
        yield from (hits, misses, entries, capacity)

    @staticmethod
    def _pool(stats: dict[str, int]) -> Iterator[Any]:
        for name, doc, value in pool_figures(stats):
            yield GaugeMetricFamily(name, doc, value=value)

    @staticmethod
    def _store(store: StoreFacts) -> Iterator[Any]:
        if store.snapshot is not None and store.built_at is not None:
            version = InfoMetricFamily("camdensity_data_version", "The data version served.")
            version.add_metric([], {"data_version": store.snapshot})
            yield version
            yield GaugeMetricFamily("camdensity_build_finished_timestamp_seconds",
                                    "When the served build finished (Unix time).",
                                    value=store.built_at)
            yield GaugeMetricFamily("camdensity_build_age_seconds",
                                    "Seconds since the served build finished.",
                                    value=max(0.0, time.time() - store.built_at))
            if store.build_seconds is not None:
                yield GaugeMetricFamily("camdensity_build_duration_seconds",
                                        "How long the served build took.",
                                        value=store.build_seconds)
        imported = GaugeMetricFamily("camdensity_ingest_finished_timestamp_seconds",
                                     "When each source's newest version was imported (Unix time).",
                                     labels=["entity", "source"])
        took = GaugeMetricFamily("camdensity_ingest_duration_seconds",
                                 "How long each source's newest import took.",
                                 labels=["entity", "source"])
        rows = GaugeMetricFamily("camdensity_ingest_rows", "Rows of each source's newest import.",
                                 labels=["entity", "source", "outcome"])
        for (entity, name), (at, seconds, accepted, rejected) in sorted(store.sources.items()):
            imported.add_metric([entity, name], at)
            if seconds is not None:
                took.add_metric([entity, name], seconds)
            rows.add_metric([entity, name, "accepted"], accepted)
            rows.add_metric([entity, name, "rejected"], rejected)
        yield from (imported, took, rows)
        if store.refreshed_at is not None:
            yield GaugeMetricFamily("camdensity_store_refreshed_timestamp_seconds",
                                    "When the data version and imports were last read (Unix time).",
                                    value=store.refreshed_at)


def pool_figures(stats: dict[str, int]) -> list[tuple[str, str, int]]:
    """(name, help, value) of each pool gauge, from psycopg_pool's stats."""
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return [
        ("camdensity_pool_connections", "Connections open in the read pool.", size),
        ("camdensity_pool_connections_in_use", "Connections lent to requests.", size - available),
        ("camdensity_pool_connections_max", "CAMDENSITY_POOL_MAX_SIZE.", stats.get("pool_max", 0)),
        ("camdensity_pool_requests_waiting", "Requests waiting for a connection.",
         stats.get("requests_waiting", 0)),
    ]


class SharedState:
    """Multiprocess mode: this worker's caches and pool, written to the shared files at each
    refresh (summed over the live workers when scraped)."""

    def __init__(self) -> None:
        self.hits = Counter("camdensity_cache_hits", "In-memory cache hits.", ["cache"],
                            registry=None)
        self.misses = Counter("camdensity_cache_misses", "In-memory cache misses.", ["cache"],
                              registry=None)
        self.entries = Gauge("camdensity_cache_entries", "Entries held.", ["cache"],
                             registry=None, multiprocess_mode="livesum")
        self.capacity = Gauge("camdensity_cache_capacity",
                              "Entries held at most (CAMDENSITY_TILE_CACHE_SIZE for tiles).",
                              ["cache"], registry=None, multiprocess_mode="livesum")
        self.pool = {name: Gauge(name, doc, registry=None, multiprocess_mode="livesum")
                     for name, doc, _ in pool_figures({})}
        self._counted: dict[tuple[str, str], int] = {}

    def write(self, caches: dict[str, LRU], pool: AsyncConnectionPool | None) -> None:
        """Bring the shared files up to this worker's state."""
        for name, cache in caches.items():
            for counter, kind, now in ((self.hits, "hits", cache.hits),
                                       (self.misses, "misses", cache.misses)):
                before = self._counted.get((name, kind), 0)
                if now > before:
                    counter.labels(name).inc(now - before)
                self._counted[(name, kind)] = now
            self.entries.labels(name).set(len(cache))
            self.capacity.labels(name).set(cache.size)
        if pool is not None:
            for name, _, value in pool_figures(pool.get_stats()):
                self.pool[name].set(value)


class ServiceMetrics:
    """One app's registry: request counts and latencies, plus a collector of live state."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "camdensity_http_requests", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "camdensity_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.pool: AsyncConnectionPool | None = None
        self.store = StoreFacts()
        # Several workers: what is scraped is the sum of every worker's files plus live state.
        self.shared: SharedState | None = None
        self.exposed = self.registry
        shared_dir = service_settings().prometheus_multiproc_dir
        if shared_dir is not None:
            self.shared = SharedState()
            self.exposed = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.exposed, path=str(shared_dir))
        self.exposed.register(StateCollector(self))

    def caches(self) -> dict[str, LRU]:
        """The app's in-memory caches by name (none before the first tile request makes them)."""
        source = getattr(self.state, "tile_source", None)
        if source is None:
            return {}
        return {"tiles": source.tiles, "extents": source.extents, "pages": source.pages}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    async def refresh(self, pool: AsyncConnectionPool, every_s: float) -> None:
        """Re-read the store facts every `every_s` seconds until cancelled."""
        while True:
            if self.shared is not None:
                self.shared.write(self.caches(), self.pool)
            try:
                self.store = await read_store_facts(pool)
            except psycopg.Error as exc:  # a store hiccup must not end the refreshes
                log.warning("metrics: could not read the data version: %s", type(exc).__name__)
            await asyncio.sleep(every_s)

    @contextlib.asynccontextmanager
    async def served(self, pool: AsyncConnectionPool, host: str, port: int | None,
                     every_s: float) -> Any:
        """While inside: the registry on `host:port` (when a port is given) and kept fresh."""
        self.pool = pool
        if port is None:
            yield
            return
        server, thread = self._listen(host, port)
        task = asyncio.create_task(self.refresh(pool, every_s))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if server is not None:
                server.shutdown()
                server.server_close()
                thread.join(timeout=5)
            if self.shared is not None:  # this worker's live gauges leave the sum
                shared_dir = service_settings().prometheus_multiproc_dir
                multiprocess.mark_process_dead(os.getpid(), str(shared_dir))

    def _listen(self, host: str, port: int) -> tuple[WSGIServer | None, threading.Thread]:
        try:
            server, thread = start_http_server(port, addr=host, registry=self.exposed)
        except OSError as exc:
            if self.shared is not None:  # another worker serves everyone's (module note)
                return None, threading.Thread()
            log.warning("metrics: cannot listen on %s:%s (%s); /metrics is not served",
                        host, port, exc.strerror)
            return None, threading.Thread()
        log.info("metrics: serving /metrics on http://%s:%s", host, port)
        return server, thread


class RequestMetrics:
    """Pure ASGI middleware: count and time each request under its route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, log_requests: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; record method, route template, status and latency."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception before the response started is a server error

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router put the matched route into the scope; its template, never the path.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            seconds = time.perf_counter() - start
            self.metrics.observe(scope["method"], route, status, seconds)
            if self.log_requests:
                ms = round(seconds * 1000, 2)
                request_log.info("%s %s %s %.1f ms", scope["method"], route, status, ms,
                                 extra={"method": scope["method"], "route": route,
                                        "status": status, "ms": ms})


@contextlib.contextmanager
def multiprocess_mode(workers: int) -> Iterator[None]:
    """While inside: PROMETHEUS_MULTIPROC_DIR for `workers` > 1 with metrics on (a fresh
    directory, removed afterwards; or the one given, emptied first)."""
    settings = service_settings()
    if workers == 1 or settings.metrics_port is None:
        yield
        return
    given = settings.prometheus_multiproc_dir
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="camdensity-metrics-"))
    for old in path.glob("*.db"):  # a previous run's counts are not this one's
        old.unlink()
    # Read by prometheus_client itself in every worker (it picks file-backed values on import).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    try:
        yield
    finally:
        if not given:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(path, ignore_errors=True)
