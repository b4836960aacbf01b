"""The FastAPI app: lifespan (pool), middleware and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from camdensity import __version__, db, roles
from camdensity.service.database import open_pool
from camdensity.service.errors import (
    document_problems,
    on_http_exception,
    on_operational_error,
    on_validation_error,
)
from camdensity.service.metrics import RequestMetrics, ServiceMetrics
from camdensity.service.middleware import BodyLimit, CachedTiles, UniqueVary
from camdensity.service.routes import (
    analysis,
    archive,
    coverage,
    exports,
    health,
    history,
    map,
    report,
    reports,
    sites,
    tiles,
)
from camdensity.service.security import SecurityHeaders, add_web_middleware
from camdensity.settings import (
    database_settings,
    log_settings,
    report_settings,
    service_settings,
)


def create_app(database_url: str | None = None) -> FastAPI:
    """Build the app; `database_url` overrides settings (tests point it at their database)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = database_settings()
        # Never as the owner or a superuser: the API reads through its own role, granted its
        # rights here by the owner (after the bootstrap, when DATABASE_URL is a superuser's).
        owner_url = await run_in_threadpool(db.owner_url, settings, database_url)
        url = await run_in_threadpool(roles.prepare_api, owner_url, settings)
        app.state.pool = await open_pool(settings, url)
        # Tiles and /coverage: their constant statements planned once per connection.
        app.state.plan_pool = await open_pool(settings, url, generic_plans=True)
        app.state.reports = None
        if report_settings().reports_enabled:
            # The reports' own roles: the API role stays read-only (camdensity/roles.py).
            reporter_url, moderator_url = await run_in_threadpool(
                roles.prepare_reports, owner_url, settings)
            app.state.reports = await reports.open_reports(reporter_url, moderator_url, settings)
        service = service_settings()
        # What start-up made (the app, its routes and models, the libraries: ~160k objects)
        # lives as long as the worker: kept out of the garbage collector's full passes, which
        # otherwise walk all of it now and then while every request on the worker waits (a
        # pause of tens to hundreds of milliseconds: the warm tiles' p99).
        gc.freeze()
        try:
            async with metrics.served(app.state.pool, service.metrics_host, service.metrics_port,
                                      service.metrics_refresh_s):
                yield
        finally:
            gc.unfreeze()  # an app stopped in a longer-lived process (tests) is collectable
            await app.state.pool.close()
            await app.state.plan_pool.close()
            if app.state.reports is not None:
                await app.state.reports.close()

    # /docs and /redoc with their scripts served from here: a CDN or font host would learn every
    # visitor's address, and the docs would not work offline.
    app = FastAPIOffline(
        title="camdensity",
        version=__version__,
        description=(
            "Surveillance-camera density over H3 hexagons: vector tiles, an embeddable map, "
            "coverage near an address, sensitive-site exposure and hexagon exports. "
            "Queried addresses and client addresses are never logged or stored."
        ),
        lifespan=lifespan,
        static_url="/static/docs",
    )
    # Store down or too slow (PoolTimeout and QueryCanceled are OperationalErrors): 503.
    app.add_exception_handler(psycopg.OperationalError, on_operational_error)
    # The same through SQLAlchemy (the report routes' pools).
    app.add_exception_handler(sqlalchemy.exc.OperationalError, on_operational_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, on_operational_error)
    # One 422 body (ValidationProblem) whether FastAPI or a route rejects a parameter.
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    service = service_settings()
    # Innermost first: cached tiles answered before routing, inside everything else (security
    # headers, metrics, CORS and the Host check see them as any answer); the security headers
    # see an HTML body before it is compressed.
    app.add_middleware(CachedTiles)
    app.add_middleware(SecurityHeaders, settings=service)
    app.add_middleware(GZipMiddleware, minimum_size=512)
    # Outside gzip: the latency counted is the whole answer's, compression included.
    app.state.metrics = metrics = ServiceMetrics(app.state)
    app.add_middleware(RequestMetrics, metrics=metrics, log_requests=log_settings().log_requests)
    add_web_middleware(app, service)
    # Outside everything that reads a body: a body over the limit is refused before any parsing.
    app.add_middleware(BodyLimit, max_bytes=report_settings().reports_max_body_bytes)
    app.add_middleware(UniqueVary)  # outermost: sees GZipMiddleware's Vary as well as the route's
    for router in (health.router, coverage.router, sites.router, tiles.router, map.router,
                   exports.router, analysis.router, history.router, report.router,
                   archive.router, reports.router):
        app.include_router(router)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document with the service's own 422 body (generated once)."""
        return document_problems(generate())

    app.openapi = openapi  # type: ignore[method-assign]
    return app


app = create_app()
