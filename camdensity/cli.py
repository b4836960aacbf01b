"""The `camdensity` command: cluster, migrations, ingest, build, stats, export, serve."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import psycopg
import typer
from rich.console import Console
from rich.markup import escape

from camdensity import __version__, db
from camdensity.cluster import Cluster, ClusterError
from camdensity.ingest.errors import first_line
from camdensity.roles import RoleError
from camdensity.settings import database_settings, report_settings, service_settings

EXIT_CODES = (
    "Exit codes: 0 done; 1 failed (one line on stderr says why; `db status`: the cluster is not "
    "running); 2 wrong usage (unknown command or option, bad value)."
)

app = typer.Typer(help=__doc__, epilog=EXIT_CODES, no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The embedded PostGIS cluster (ignored when DATABASE_URL is set).")
ingest_app = typer.Typer(help="Import cameras, sensitive sites or addresses from a file.")
export_app = typer.Typer(help="Export hexagon summaries, or approved reports for OpenStreetMap.")
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(export_app, name="export")

# soft_wrap: messages stay whole lines in logs and pipes (no wrapping at 80 columns).
console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error a person can act on (one whole line on stderr) and exit non-zero."""
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"camdensity {__version__}")
        raise typer.Exit()


# Set by `camdensity --debug ...`: an unexpected error shows its traceback instead of one line.
RUN = {"debug": False}


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of an unexpected error (default: one line).")] = False,
) -> None:
    """Surveillance-camera density maps: cluster, migrations, ingest, build, stats, export, serve."""
    RUN["debug"] = debug


def migrated_url() -> str:
    """The owner's URL (never a superuser's), with the cluster started (embedded), the roles
    bootstrapped and migrations applied."""
    try:
        url = db.migrated_owner_url()
    except (ClusterError, RoleError) as exc:
        fail(str(exc))
    except psycopg.OperationalError as exc:
        fail(f"cannot reach the store ({_where()}): {first_line(exc)}")
    except psycopg.ProgrammingError as exc:
        fail(f"DATABASE_URL is not a PostgreSQL URL or conninfo: {first_line(exc)}")
    return url


def _where() -> str:
    return "DATABASE_URL" if not database_settings().embedded else "the embedded cluster"



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
    settings = database_settings()
    if not settings.embedded:
        try:
            with db.connect(settings.url, connect_timeout=5):
                typer.echo("DATABASE_URL is set and reachable; the embedded cluster is not used")
        except psycopg.Error as exc:
            fail(f"DATABASE_URL is set but unreachable: {first_line(exc)}")
        return
    cluster = Cluster(settings)
    if cluster.running():
        typer.echo(f"running: socket {cluster.run} (port {cluster.port}), data in {cluster.data}")
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
    try:
        with db.connect(db.owner_url()) as conn:
            applied = db.migrate(conn)
    except RoleError as exc:
        fail(str(exc))
    except (ClusterError, psycopg.Error) as exc:
        fail(f"cannot migrate the store ({_where()}): {first_line(exc)}")
    console.print(f"applied: {', '.join(applied)}" if applied else "schema up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8000).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Worker processes (default: CAMDENSITY_WORKERS, else one per CPU core); "
        "each has its own pool and tile cache.")] = None,
) -> None:
    """Serve the API (tiles, map, coverage, exports)."""
    import uvicorn

    from camdensity import roles
    from camdensity.logs import log_config
    from camdensity.service.metrics import multiprocess_mode

    url = migrated_url()
    settings = service_settings()
    n = workers or settings.worker_count
    if n > 1:
        # Once here rather than in every worker at once (concurrent GRANTs collide): the workers
        # then connect with the API role's URL as given.
        try:
            api_url = roles.prepare_api(url, database_settings())
        except (psycopg.Error, roles.RoleError) as exc:
            fail(f"cannot set up the API role: {first_line(exc)}")
        os.environ["CAMDENSITY_API_DATABASE_URL"] = api_url  # inherited by the workers
        if report_settings().reports_enabled:  # the report roles likewise, once
            try:
                reporter_url, moderator_url = roles.prepare_reports(url, database_settings())
            except (psycopg.Error, roles.RoleError) as exc:
                fail(f"cannot set up the report roles: {first_line(exc)}")
            os.environ["CAMDENSITY_REPORTER_DATABASE_URL"] = reporter_url
            os.environ["CAMDENSITY_MODERATOR_DATABASE_URL"] = moderator_url
    # access_log=False: request lines carry queried addresses and client IPs; they are never
    # logged (CAMDENSITY_LOG_REQUESTS logs route templates instead).
    with multiprocess_mode(n):
        uvicorn.run(
            "camdensity.service.main:app", host=host or settings.host,
            port=port or settings.port, workers=n, access_log=False, proxy_headers=False,
            server_header=False, log_config=log_config(),
        )


@app.command("admin-key")
def admin_key() -> None:
    """Make a new moderation API key and print it once; the previous key stops working.

    The store keeps only its SHA-256. Send it as `Authorization: Bearer KEY` to /admin/reports.
    """
    from camdensity.service.report_queue import new_admin_key

    key = new_admin_key(migrated_url())
    console.print("new admin key (shown once; the previous one no longer works):")
    typer.echo(key)


# --- ingest commands are registered below by ingest/cli.py --------------------------------

if TYPE_CHECKING:
    from collections.abc import Callable

    from camdensity.ingest.pipeline import ImportResult
    from camdensity.ingest.places import BBox, PlaceImport


def report_import(result: ImportResult, skipped: int = 0) -> None:
    """Say what an import did: accepted, rejected (with the first reasons), skipped."""
    what = f"{result.entity} from {result.source!r}"
    if result.unchanged:
        typer.echo(f"{what}: file unchanged since its last import, nothing to do "
                   f"({result.accepted} accepted, {result.rejected} rejected then)")
        return
    extra = f", {skipped} outside --bbox skipped" if skipped else ""
    fused = f", {result.fused} fused with another source's" if result.entity == "cameras" else ""
    removed = f", {result.removed} gone since the previous version" if result.removed else ""
    dated = f"; data of {result.data_date.isoformat()}" if result.data_date else ""
    surveyed = (f", {result.surveyed} surveyed with no camera (count 0)"
                if result.surveyed else "")
    typer.echo(f"{what}: {result.accepted} accepted{fused}{surveyed}, {result.rejected} rejected"
               f"{extra}{removed}{dated}")
    for note in result.notes:
        console.print(f"  note: {note}", markup=False, highlight=False)
    for r in result.rejects[:10]:
        console.print(f"  rejected {result.where(r)}: {r.reason}", markup=False, highlight=False)
    if result.rejected > 10:
        console.print(f"  ... all {result.rejected:,} are listed by "
                      f"`camdensity rejects --source {result.source}`", markup=False)


_SourceOpt = Annotated[str | None, typer.Option("--source", help="Source name (default: the file's name).")]
_KindOpt = Annotated[str | None, typer.Option(
    "--kind", help="crowdsourced or reported (default: crowdsourced for OSM, else reported).")]
_PlaceFormatOpt = Annotated[str, typer.Option("--format", help="auto, osm, csv or geojson.")]
_LicenceOpt = Annotated[str | None, typer.Option("--licence", help="The data's licence (OSM: ODbL-1.0).")]
_AttributionOpt = Annotated[str | None, typer.Option("--attribution", help="Credit line for maps and exports.")]
_BBoxOpt = Annotated[str | None, typer.Option(
    "--bbox", help="Keep only rows inside minlon,minlat,maxlon,maxlat; the others are skipped.")]
_EncodingOpt = Annotated[str | None, typer.Option("--encoding", help="CSV text encoding (default: detect).")]
_LatOpt = Annotated[str | None, typer.Option("--lat", help="Latitude column (default: lat, latitude, y...).")]
_LonOpt = Annotated[str | None, typer.Option(
    "--lon", help="Longitude column (default: lon, lng, long, longitude, x...).")]
_IdOpt = Annotated[str | None, typer.Option("--id", help="Column/property with the source's own id.")]
_DataDateOpt = Annotated[str | None, typer.Option(
    "--data-date",
    help="Date the data is of, YYYY-MM-DD (default: what the file says: an OSM file's snapshot "
         "time or newest edit, Overpass's timestamp); shown with the map and every export.")]


def _day(text: str | None) -> date | None:
    """--data-date as a date; a one-line error when it is not YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        fail(f"--data-date {text!r}: give the date as YYYY-MM-DD, e.g. 2025-06-30")
    return None


def _import_places(importer: Callable[..., PlaceImport], path: Path,
                   options: Callable[[BBox | None], Any], *, source: str | None,
                   kind: str | None, fmt: str, bbox: str | None, licence: str | None,
                   attribution: str | None, data_date: str | None) -> None:
    """Check --kind and --bbox, run one import (cameras, sites, addresses) and report it."""
    from camdensity.ingest.pipeline import IngestError
    from camdensity.ingest.places import parse_bbox

    if kind is not None and kind not in ("crowdsourced", "reported"):
        fail(f"--kind {kind!r}: use crowdsourced or reported")
    day = _day(data_date)
    try:
        box = parse_bbox(bbox)
        with db.connect(migrated_url()) as conn:
            outcome = importer(conn, path, source=source, kind=kind, fmt=fmt, licence=licence,
                               attribution=attribution, options=options(box),
                               data_date=day)
    except IngestError as exc:
        if RUN["debug"]:
            raise
        fail(str(exc))
    except Exception as exc:  # a bug or an outage mid-import: one line, unless --debug
        if RUN["debug"]:
            raise
        fail(f"import failed, nothing was written: {type(exc).__name__}: {first_line(exc)} "
             "(`camdensity --debug ...` shows the traceback)")
    report_import(outcome.result, outcome.skipped)


@ingest_app.command("sites")
def ingest_sites(
    path: Annotated[Path, typer.Argument(help=".osm.pbf, CSV or GeoJSON file.")],
    source: _SourceOpt = None,
    kind: _KindOpt = None,
    fmt: _PlaceFormatOpt = "auto",
    category: Annotated[str | None, typer.Option(
        help="Category of every row (clinic, abortion, school, immigration, courthouse, worship, "
             "shelter); with OSM input, keep only this category.")] = None,
    category_column: Annotated[str | None, typer.Option(
        help="CSV column / GeoJSON property holding each row's category.")] = None,
    lat: _LatOpt = None,
    lon: _LonOpt = None,
    name: Annotated[str | None, typer.Option(help="Name column/property (default: name...).")] = None,
    id: _IdOpt = None,
    address: Annotated[str | None, typer.Option(help="Address column/property (default: address...).")] = None,
    encoding: _EncodingOpt = None,
    bbox: _BBoxOpt = None,
    licence: _LicenceOpt = None,
    attribution: _AttributionOpt = None,
    data_date: _DataDateOpt = None,
) -> None:
    """Import sensitive sites: OSM tags, or CSV/GeoJSON rows with a category."""
    from camdensity.ingest.sites import SiteOptions, import_sites

    _import_places(
        import_sites, path,
        lambda box: SiteOptions(category=category, category_column=category_column, lat=lat,
                                lon=lon, name=name, id=id, address=address, encoding=encoding,
                                bbox=box),
        source=source, kind=kind, fmt=fmt, bbox=bbox, licence=licence, attribution=attribution,
        data_date=data_date,
    )


@ingest_app.command("addresses")
def ingest_addresses(
    path: Annotated[Path, typer.Argument(help=".osm.pbf (addr:* tags), CSV or GeoJSON file.")],
    source: _SourceOpt = None,
    kind: _KindOpt = None,
    fmt: _PlaceFormatOpt = "auto",
    street: Annotated[str | None, typer.Option(help="Street column (default: street...).")] = None,
    housenumber: Annotated[str | None, typer.Option(help="House number column (default: housenumber...).")] = None,
    postcode: Annotated[str | None, typer.Option(help="Postcode column (default: postcode, zip...).")] = None,
    city: Annotated[str | None, typer.Option(help="City column (default: city, boro, district...).")] = None,
    address: Annotated[str | None, typer.Option(
        help="One column with number and street (\"328 WEST 48 STREET\"), split by usaddress "
             "(default: address, when there is no street column).")] = None,
    street_only: Annotated[bool, typer.Option(
        "--street-only", help="Accept rows without a house number (street-level answers only).")] = False,
    lat: _LatOpt = None,
    lon: _LonOpt = None,
    id: _IdOpt = None,
    encoding: _EncodingOpt = None,
    bbox: _BBoxOpt = None,
    licence: _LicenceOpt = None,
    attribution: _AttributionOpt = None,
    data_date: _DataDateOpt = None,
) -> None:
    """Import addresses for the offline geocoder: OSM addr:* tags, or CSV/GeoJSON."""
    from camdensity.ingest.addresses import AddressOptions, import_addresses

    _import_places(
        import_addresses, path,
        lambda box: AddressOptions(street=street, housenumber=housenumber, postcode=postcode,
                                   city=city, address=address, street_only=street_only, lat=lat,
                                   lon=lon, id=id, encoding=encoding, bbox=box),
        source=source, kind=kind, fmt=fmt, bbox=bbox, licence=licence, attribution=attribution,
        data_date=data_date,
    )


@ingest_app.command("cameras")
def ingest_cameras(
    path: Annotated[Path, typer.Argument(
        help=".osm.pbf, JSON (flat list, DeFlock or Overpass), GeoJSON or CSV file.")],
    source: _SourceOpt = None,
    kind: _KindOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, osm, json, geojson or csv.")] = "auto",
    lat: _LatOpt = None,
    lon: _LonOpt = None,
    type_: Annotated[str | None, typer.Option(
        "--type", help="Column/property with the camera type (default: camera_type, type...).")] = None,
    id: _IdOpt = None,
    count: Annotated[str | None, typer.Option(
        help="Column/property with the number of cameras a row stands for (default: count).")] = None,
    operator: Annotated[str | None, typer.Option(
        help="Column/property with the operator (default: operator, owner, agency).")] = None,
    default_type: Annotated[str | None, typer.Option(
        help="Type of reports that say none (default: cctv for OSM, else unknown; "
             "e.g. alpr for an ALPR list).")] = None,
    precision: Annotated[str | None, typer.Option(
        "--precision", metavar="METRES",
        help="The source's location uncertainty in metres (IP geolocation: kilometres); "
             "coarser than CAMDENSITY_LOW_PRECISION_M counts as low precision.")] = None,
    encoding: _EncodingOpt = None,
    bbox: _BBoxOpt = None,
    licence: _LicenceOpt = None,
    attribution: _AttributionOpt = None,
    data_date: _DataDateOpt = None,
) -> None:
    """Import camera reports (one transaction); say how many fuse with other sources'."""
    from camdensity.ingest.cameras import CameraOptions, import_cameras
    from camdensity.ingest.values import parse_float

    metres = parse_float(precision) if precision is not None else None
    if precision is not None and (metres is None or metres <= 0):
        fail(f"--precision {precision!r}: give the location uncertainty in metres, e.g. 5000")
    _import_places(
        import_cameras, path,
        lambda box: CameraOptions(lat=lat, lon=lon, id=id, encoding=encoding, bbox=box,
                                  type=type_, count=count, operator=operator,
                                  default_type=default_type, precision=metres),
        source=source, kind=kind, fmt=fmt, bbox=bbox, licence=licence, attribution=attribution,
        data_date=data_date,
    )


# --- build, stats, export and demo follow -------------------------------------------------


@app.command()
def build(
    resolutions: Annotated[str | None, typer.Option(
        help="H3 resolutions to build, comma-separated (default: 6,7,8,9,10,11,12).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Build even when nothing changed since the newest build.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Recompute everything, even when only some camera sources changed.")] = False,
) -> None:
    """Fuse cameras, build hexagons, baseline and site exposure: a new data version.

    Nothing changed since the newest build (same sources, same parameters): says so and keeps it.
    When only some camera sources changed, only what their cameras reach is recomputed.
    """
    from camdensity.ingest.build import BuildError, up_to_date
    from camdensity.ingest.build import build as run_build
    from camdensity.settings import method_settings

    settings = method_settings()
    if resolutions is not None:
        try:
            chosen = [int(r) for r in resolutions.split(",") if r.strip()]
        except ValueError:
            fail(f"--resolutions {resolutions!r}: give integers such as 6,7,8")
        settings = settings.model_copy(update={"resolutions": chosen})
    url = migrated_url()
    if not force:
        with db.connect(url) as conn:
            current = up_to_date(conn, settings)
        if current is not None:
            typer.echo(f"build is up to date: {current} was made from the same sources and "
                       "parameters (--force builds anyway)")
            return
    try:
        with db.connect(url) as conn, console.status("building") as status:
            result = run_build(conn, settings, step=lambda s: status.update(s), full=full)
    except BuildError as exc:
        fail(str(exc))
    cells = ", ".join(f"r{r}: {n:,}" for r, n in result.cells.items())
    typer.echo(
        f"build {result.snapshot}: {result.fusion.devices:,} cameras at "
        f"{result.fusion.cameras:,} points; hexagons {cells}; "
        f"{result.sites:,} sites with exposure; {result.baseline_cells:,} baseline cells; "
        f"{result.seconds:.1f} s"
    )
    withheld = max(result.withheld.values(), default=0)
    if withheld:
        typer.echo(f"private cameras left out by the privacy rule (fewer than "
                   f"{settings.private_min_per_cell} per H3 r{settings.private_resolution} cell): "
                   f"{withheld:,}")


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Say what the store holds: sources, cameras, sites, addresses, hexagons, data version."""
    from camdensity.ingest.stats import print_stats
    from camdensity.ingest.stats import stats as store_stats

    with db.connect(migrated_url()) as conn:
        data = store_stats(conn)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        print_stats(data, Console())


@app.command()
def rejects(
    source: Annotated[str | None, typer.Option("--source", help="Only this source's rejects.")] = None,
    entity: Annotated[str | None, typer.Option(
        help="Only rejects of cameras, sites or addresses imports.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout, with the raw rows.")] = False,
) -> None:
    """List the rows imports rejected: source, file, line and reason (exit 0 even when none)."""
    import csv

    from camdensity.ingest.pipeline import ENTITY_TABLES
    from camdensity.ingest.stats import REJECT_COLUMNS, rejected_rows

    if entity is not None and entity not in ENTITY_TABLES:
        fail(f"--entity {entity!r}: use {', '.join(ENTITY_TABLES)}")
    with db.connect(migrated_url()) as conn, conn.transaction():
        rows = rejected_rows(conn, source, entity)
        if as_csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(REJECT_COLUMNS)
            writer.writerows(tuple(spreadsheet_safe(v) for v in row) for row in rows)
            return
        n = 0
        for n, (name, kind, file_name, unit, number, reason, _raw) in enumerate(rows, 1):
            where = unit if number is None else f"{unit} {number}"
            typer.echo(f"{name} ({kind}) {file_name} {where}: {reason}")
        typer.echo(f"{n:,} rejected rows" if n else "no rejected rows")


# A cell a spreadsheet would run as a formula (CSV injection): shown as text with a leading '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that spreadsheets show as text, never evaluate (`=cmd|...` gets a leading ')."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@export_app.command("hexagons")
def export_hexagons(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f", help="parquet (GeoParquet 1.1), geojson or csv; default: from -o's suffix."
    )] = None,
    resolution: Annotated[int | None, typer.Option(
        help="H3 resolution (one of those built; default: the baseline resolution)."
    )] = None,
    bbox: Annotated[str | None, typer.Option(
        help="Only hexagons intersecting minlon,minlat,maxlon,maxlat (degrees)."
    )] = None,
) -> None:
    """Export one resolution's hexagon summaries with their provenance (CSV: FILE.provenance.json)."""
    import orjson

    from camdensity.service.exports import (
        ExportError,
        ExportFormat,
        ExportRequest,
        export_to_file,
        parse_bbox,
    )
    from camdensity.settings import method_settings

    name = (fmt or output.suffix.lstrip(".")).lower()
    try:
        export_format = ExportFormat(name)
    except ValueError:
        fail(f"unknown format {name!r}: use --format parquet, geojson or csv")
    try:
        request = ExportRequest(
            resolution=method_settings().baseline_resolution if resolution is None else resolution,
            bbox=parse_bbox(bbox),
        )
    except ExportError as exc:
        fail(str(exc))
    url = migrated_url()
    # Written beside the target and renamed at the end: a failed export leaves no half file.
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as fh:
            plan = export_to_file(url, request, export_format, fh)
    except ExportError as exc:
        partial.unlink(missing_ok=True)
        fail(str(exc))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(output)
    if export_format is ExportFormat.csv:
        sidecar = output.with_name(output.name + ".provenance.json")
        sidecar.write_bytes(orjson.dumps(plan.provenance(), option=orjson.OPT_INDENT_2))
        console.print(f"provenance: {sidecar}")
    typer.echo(
        f"wrote {plan.rows} hexagons (resolution {request.resolution}, snapshot "
        f"{plan.snapshot.snapshot}) to {output} ({output.stat().st_size:,} bytes)"
    )


@export_app.command("reports")
def export_reports(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.osm).")],
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="osm: OSM XML of new nodes, ready to review in JOSM.")] = "osm",
) -> None:
    """Export approved crowdsourced reports for OpenStreetMap (private cameras left out)."""
    from camdensity.report_export import export_reports_osm

    if fmt.lower() != "osm":
        fail(f"unknown format {fmt!r}: use --format osm")
    n = export_reports_osm(migrated_url(), output)
    typer.echo(f"wrote {n} approved reports to {output} (private/residential cameras are never "
               "exported; review every node in JOSM before uploading)")


# --- publish: a static bundle (PMTiles archive, map page, style, exports) ------------------


@app.command()
def publish(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write (a symlink swapped atomically).")],
    bbox: Annotated[str | None, typer.Option(
        help="Only tiles meeting minlon,minlat,maxlon,maxlat (degrees)."
    )] = None,
    minzoom: Annotated[int, typer.Option(help="Lowest zoom in the archive.")] = 0,
    maxzoom: Annotated[int, typer.Option(help="Highest zoom (maps overzoom beyond it).")] = 14,
    types: Annotated[str | None, typer.Option(help="Count only these camera types (comma list).")] = None,
    operators: Annotated[str | None, typer.Option(help="Count only these operators (comma list).")] = None,
    categories: Annotated[str | None, typer.Option(help="Draw only these site categories.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Connections rendering tiles at once (default CAMDENSITY_PUBLISH_WORKERS)."
    )] = None,
    exports: Annotated[bool, typer.Option("--exports/--no-exports", help="Add hexagon exports.")] = True,
    full: Annotated[bool, typer.Option("--full", help="Render every tile (no reuse of the last publish).")] = False,
    basemap: Annotated[Path | None, typer.Option(
        help="Basemap archive to include (default: CAMDENSITY_BASEMAP_PATH when it exists)."
    )] = None,
    no_basemap: Annotated[bool, typer.Option("--no-basemap", help="Publish without a basemap.")] = False,
) -> None:
    """Write a static bundle of the newest build: tiles.pmtiles, index.html, style.json, tiles.json,
    exports and README.txt, for any static host (range requests, no server code)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from camdensity.publish import publish as write_bundle
    from camdensity.service.exports import ExportError, parse_bbox
    from camdensity.tiles.archive import ArchiveError, ArchiveRequest
    from camdensity.tiles.filters import FilterError, TileFilters

    try:
        request = ArchiveRequest(TileFilters.parse(types, operators, categories), minzoom, maxzoom,
                                 parse_bbox(bbox))
        request.check()
    except (ExportError, FilterError, ArchiveError) as exc:
        fail(str(exc))
    if basemap is not None and not basemap.is_file():
        fail(f"basemap {basemap} is not a file: build one with `camdensity basemap CITY.osm.pbf`")
    default_basemap = service_settings().basemap_path
    if basemap is None and not no_basemap and default_basemap.is_file():
        basemap = default_basemap
    url = migrated_url()
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("rendering tiles", total=None)
        try:
            result = write_bundle(
                url, out_dir, request, workers=workers or service_settings().publish_workers,
                exports=exports, full=full, basemap=None if no_basemap else basemap,
                on_plan=lambda total: progress.update(task, total=total),
                on_tile=lambda: progress.advance(task),
            )
        except (ArchiveError, ExportError, ValueError) as exc:
            fail(str(exc))
    a = result.archive
    reuse = (f"; {a.reused:,} unchanged tiles copied from the last publish, {a.rendered:,} rendered"
             if result.incremental else "")
    typer.echo(
        f"published snapshot {a.snapshot.snapshot} to {out_dir}: {a.tiles:,} tiles "
        f"({a.contents:,} distinct, {a.empty:,} empty left out) in {a.seconds:.1f} s "
        f"({a.tiles_per_s:,.0f} tiles/s), tiles.pmtiles {a.size:,} bytes{reuse}"
        + ("" if no_basemap or basemap is None else f"; basemap {basemap}")
    )


@app.command("basemap")
def basemap_command(
    pbf: Annotated[Path, typer.Argument(help="OpenStreetMap extract (.osm.pbf) of the area.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Archive to write (default: CAMDENSITY_BASEMAP_PATH)."
    )] = None,
    bbox: Annotated[str | None, typer.Option(
        help="minlon,minlat,maxlon,maxlat when the extract has no bounding box header."
    )] = None,
) -> None:
    """Build the offline basemap (water, parks, roads, rail, place and street names) with
    tilemaker; /map, /style.json and `camdensity publish` use it."""
    from camdensity.tiles.basemap import BasemapError, build_basemap

    target = output or service_settings().basemap_path
    try:
        result = build_basemap(pbf, target, bbox)
    except BasemapError as exc:
        fail(str(exc))
    typer.echo(f"basemap: {result.tiles:,} tiles, {result.size:,} bytes in {result.path}")
    done = result.extract
    typer.echo(f"  sea from the coastline: {done.sea_polygons} polygons, {done.sea_share:.1%} of the "
               f"extract's box; areas cut by its edge closed and clipped: {done.closed_areas}; "
               f"other ways cut by its edge left out: {done.dropped_ways}")


@app.command()
def demo(
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8000).")] = None,
) -> None:
    """Load the bundled data (each file once), build when anything changed, then serve."""
    from importlib.resources import as_file

    from camdensity.demo import DEMO_BASEMAP, DEMO_IMPORTS

    migrated_url()
    for entity, resource, extra in DEMO_IMPORTS:
        # as_file: the package data is a plain file when installed, a temporary copy from a zip.
        with as_file(resource) as path:
            code = app(["ingest", entity, str(path), *extra], standalone_mode=False)
        if code:
            fail(f"loading {resource.name} ({entity}) failed")
    if app(["build"], standalone_mode=False):  # a no-op when nothing changed
        fail("build failed")
    if not service_settings().basemap_path.is_file():  # the Helsinki basemap, once
        import shutil

        if shutil.which("tilemaker") is None:
            console.print("no basemap: tilemaker is not installed (scripts/install-system.sh)")
        else:
            with as_file(DEMO_BASEMAP) as path:
                if app(["basemap", str(path)], standalone_mode=False):
                    console.print("no basemap: building it failed (the map works without one)")
    if serve_api:
        console.print(
            f"serving on http://{service_settings().host}:{port or service_settings().port}"
            "  (map: /map, docs: /docs)"
        )
        serve(host=None, port=port)


# --- evidence: analyse, diff (camdensity.evidence) ----------------------------------------


@app.command()
def analyse(
    category: Annotated[str, typer.Argument(help="Site category, e.g. clinic, school.")],
    radius: Annotated[int, typer.Option(help="Radius in metres.")] = 200,
    null_model: Annotated[str, typer.Option(
        "--null", help="Null model: addresses (default) or cells.")] = "addresses",
    area: Annotated[str | None, typer.Option(
        help="Only this box: minlon,minlat,maxlon,maxlat.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare a category's sites with places drawn from a null model (ratios, intervals, p)."""
    import asyncio

    from camdensity.evidence.analysis import AnalysisError, Question
    from camdensity.evidence.commands import run_analysis, show_analysis

    box = None
    if area is not None:
        try:
            box = tuple(float(v) for v in area.split(","))
            assert len(box) == 4 and box[0] < box[2] and box[1] < box[3]
        except (ValueError, AssertionError):
            fail(f"--area {area!r}: give minlon,minlat,maxlon,maxlat with min < max")
    url = migrated_url()
    try:
        answer = asyncio.run(run_analysis(url, Question(category, radius, null_model, box)))
    except AnalysisError as exc:
        fail(str(exc))
    typer.echo(json.dumps(answer, indent=2) if as_json else show_analysis(answer))


@app.command("diff")
def diff_builds(
    snapshot_a: Annotated[str, typer.Argument(help="The earlier snapshot id.")],
    snapshot_b: Annotated[str, typer.Argument(help="The later snapshot id.")],
    resolution: Annotated[int, typer.Option(help="H3 resolution of the cells compared.")] = 9,
    top: Annotated[int, typer.Option(min=1, max=1000, help="Cells and sites to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What changed between two builds: cells and sites changed most, reports added and removed."""
    from camdensity.evidence.history import HistoryError, diff, show_diff

    with db.connect(migrated_url()) as conn:
        try:
            d = diff(conn, snapshot_a, snapshot_b, resolution, top)
        except HistoryError as exc:
            fail(str(exc))
    typer.echo(json.dumps(d, indent=2, default=str) if as_json else show_diff(d))


def main() -> None:
    """The console script and `python -m camdensity`: a store failure is one line, not a traceback."""
    from camdensity.logs import configure_logging

    configure_logging()
    try:
        app(prog_name="camdensity")
    except psycopg.Error as exc:
        console.print(f"[bold red]error:[/] the store failed ({_where()}): "
                      f"{escape(first_line(exc))}")
        sys.exit(1)
    except OSError as exc:  # a file that cannot be written or read, a full disk...
        where = f": {exc.filename}" if exc.filename else ""
        console.print(f"[bold red]error:[/] {escape((exc.strerror or str(exc)) + where)}")
        sys.exit(1)
