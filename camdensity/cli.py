"""The `camdensity` command: cluster, migrations, ingest, build, stats, export, serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from camdensity import db
from camdensity.cluster import Cluster, ClusterError
from camdensity.settings import PROJECT_ROOT, database_settings, service_settings

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The embedded PostGIS cluster (ignored when DATABASE_URL is set).")
ingest_app = typer.Typer(help="Import cameras, sensitive sites or addresses from a file.")
export_app = typer.Typer(help="Export hexagon summaries.")
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(export_app, name="export")

console = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    """Print an error a person can act on and exit non-zero."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def migrated_url() -> str:
    """The store's URL, with the cluster started (embedded) and migrations applied."""
    try:
        url = db.database_url()
    except ClusterError as exc:
        fail(str(exc))
    with db.connect(url) as conn:
        db.migrate(conn)
    return url


@db_app.command("start")
def db_start() -> None:
    """Initialise (first time) and start the project-local cluster."""
    settings = database_settings()
    try:
        Cluster(settings).start()
    except ClusterError as exc:
        fail(str(exc))
    console.print(f"PostGIS running: {settings.url}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the project-local cluster."""
    Cluster(database_settings()).stop()
    console.print("stopped")


@db_app.command("status")
def db_status() -> None:
    """Say whether the project-local cluster runs (exit 1 when not)."""
    cluster = Cluster(database_settings())
    if cluster.running():
        typer.echo(f"running on port {cluster.port}, data in {cluster.data}")
    else:
        typer.echo("stopped" if cluster.initialized() else "not initialised")
        raise typer.Exit(1)


@db_app.command("url")
def db_url() -> None:
    """Print the libpq URL of the store."""
    typer.echo(database_settings().url)


@app.command()
def migrate() -> None:
    """Apply the schema migrations that are not applied yet."""
    url = db.database_url()
    with db.connect(url) as conn:
        applied = db.migrate(conn)
    console.print(f"applied: {', '.join(applied)}" if applied else "schema up to date")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Interface to bind.")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default: PORT or 8000).")] = None,
) -> None:
    """Serve the API (tiles, map, coverage, exports)."""
    import uvicorn

    migrated_url()
    settings = service_settings()
    # access_log=False: request lines carry queried addresses; they are never logged.
    uvicorn.run(
        "service.main:app", host=host or settings.host, port=port or settings.port,
        access_log=False, proxy_headers=False, server_header=False,
    )


# --- ingest commands are registered below by ingest/cli.py --------------------------------
# --- build, stats, export and demo follow -------------------------------------------------


@app.command()
def demo(
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
    port: Annotated[Optional[int], typer.Option(help="Port (default: PORT or 8000).")] = None,
) -> None:
    """Load the bundled data (each file once), build when anything changed, then serve."""
    from camdensity.demo import DEMO_IMPORTS, build_is_stale

    url = migrated_url()
    for entity, path, extra in DEMO_IMPORTS:
        code = app(["ingest", entity, str(path), *extra], standalone_mode=False)
        if code:
            fail(f"loading {path.name} ({entity}) failed")
    with db.connect(url) as conn:
        stale = build_is_stale(conn)
    if stale:
        code = app(["build"], standalone_mode=False)
        if code:
            fail("build failed")
    else:
        console.print("build is up to date")
    if serve_api:
        console.print(
            f"serving on http://{service_settings().host}:{port or service_settings().port}"
            "  (map: /map, docs: /docs)"
        )
        serve(host=None, port=port)


def main() -> None:  # pragma: no cover
    app()
