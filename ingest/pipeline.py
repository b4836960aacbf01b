"""Shared import machinery: one transaction per source, versions, rejects, COPY staging, CSV reading.

How an importer uses it (cameras, sites and addresses all do the same)::

    spec = SourceSpec(name="osm-helsinki", entity="sites", kind="crowdsourced",
                      path=Path("x.osm.pbf"), format="osm", licence="ODbL-1.0")

    def load(ctx: ImportContext) -> int:          # returns the number of rows accepted
        rows = ...                                 # iterate the file; ctx.reject(line, reason, raw)
        ctx.copy_to_staging("site_stage", SITE_STAGE_COLUMNS, rows)
        return ctx.execute_count(sql.query("ingest_sites"), {"source_id": ctx.source_id})

    result = run_import(conn, spec, load)          # ImportResult; raises IngestError when fatal

`run_import` hashes the file, returns `unchanged=True` when (entity, name) already holds that
hash, otherwise (in ONE transaction) upserts `source`, adds a `source_version`, deletes the
source's previous rows of its entity (recording vanished camera reports), calls `load`, writes
the rejects and the counts. Any exception rolls everything back; file/format problems surface
as `IngestError` with a message a person can act on.

Imports of one (entity, source name) are serialised by an advisory lock: two at once wait for
each other instead of racing to create the source. Every staged row's text is checked for
control characters (a NUL cannot be stored; a row holding one is rejected, not the file). The
parts live beside this module: `rejects` (the reject list), `csvfile` (CSV reading),
`jsonstream` (bounded JSON), `values` (numbers, points, counts), `errors`.
"""

from __future__ import annotations

import hashlib
import io
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import orjson
import psycopg
from psycopg import sql as pgsql
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from camdensity import sql
from camdensity.ingest.errors import IngestError, first_line
from camdensity.ingest.rejects import Reject, RejectSink
from camdensity.ingest.values import control_char
from camdensity.settings import ingest_settings

if TYPE_CHECKING:
    from camdensity.ingest.pgcopy import Column

Entity = Literal["cameras", "sites", "addresses"]
Kind = Literal["crowdsourced", "reported"]

# Each entity's table, the only identifiers the pipeline composes into SQL.
ENTITY_TABLES: dict[str, str] = {"cameras": "camera_report", "sites": "site", "addresses": "address"}
# Column types a staging table may use (identifiers/types never come from input).
STAGING_TYPES = frozenset(
    {"text", "integer", "bigint", "double precision", "real", "jsonb", "boolean", "date"}
)
# What a reject's number counts in each format (OSM rejects name the object in their reason).
POSITION_UNITS: dict[str, str] = {"csv": "line", "json": "element", "geojson": "feature"}
# Advisory-lock namespace of imports (the second key is the hash of "entity:name").
IMPORT_LOCK = 7_263_003


@dataclass(frozen=True)
class SourceSpec:
    """What is being imported, and where it came from."""

    name: str
    entity: Entity
    kind: Kind
    path: Path
    format: str
    licence: str | None = None
    attribution: str | None = None
    origin: str | None = None
    data_date: date | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What one `run_import` did."""

    source: str
    entity: str
    unchanged: bool
    accepted: int = 0
    rejected: int = 0
    removed: int = 0
    fused: int = 0
    surveyed: int = 0  # count-0 rows kept as surveyed-empty locations
    rejects: list[Reject] = field(default_factory=list)  # the first few, for the command's output
    source_id: int | None = None
    version_id: int | None = None
    data_date: date | None = None
    unit: str = "line"  # what a reject's number counts: line, element or feature
    notes: list[str] = field(default_factory=list)  # data-quality findings, for the output

    def where(self, reject: Reject) -> str:
        """"line 12", "element 3", "feature 7", or "object" when there is no number."""
        return f"{self.unit} {reject.line}" if reject.line is not None else "object"


_SOURCE_LOOKUP = (
    "SELECT id, file_sha256, accepted, rejected, options, data_date FROM source"
    " WHERE entity = %s AND name = %s FOR UPDATE"
)
_SOURCE_INSERT = """
INSERT INTO source (name, entity, kind, licence, attribution, origin, file_name, file_sha256,
                    format, options, data_date)
VALUES (%(name)s, %(entity)s, %(kind)s, %(licence)s, %(attribution)s, %(origin)s, %(file_name)s,
        %(sha)s, %(format)s, %(options)s, %(data_date)s)
RETURNING id
"""
_SOURCE_UPDATE = """
UPDATE source SET kind = %(kind)s, licence = %(licence)s, attribution = %(attribution)s,
       origin = %(origin)s, file_name = %(file_name)s, file_sha256 = %(sha)s, format = %(format)s,
       options = %(options)s, data_date = %(data_date)s, imported_at = now()
WHERE id = %(id)s
"""
# import_seconds: now() is the import transaction's start, clock_timestamp() this moment.
_SOURCE_COUNTS = (
    "UPDATE source SET accepted = %s, rejected = %s, data_date = %s,"
    " import_seconds = extract(epoch FROM clock_timestamp() - now()) WHERE id = %s"
)
_SOURCE_DATE = "UPDATE source SET data_date = %s WHERE id = %s"
# OSM began in 2004: an object "edited" before that carries no timestamp (osmium gives 1970).
FIRST_OSM_DATE = date(2004, 8, 1)
_VERSION_INSERT = (
    "INSERT INTO source_version (source_id, file_sha256, accepted, rejected)"
    " VALUES (%s, %s, 0, 0) RETURNING id"
)
_VERSION_COUNTS = "UPDATE source_version SET accepted = %s, rejected = %s, removed = %s WHERE id = %s"
_REJECTS_DELETE = "DELETE FROM rejected_row WHERE source_id = %s"
_SURVEY_DELETE = "DELETE FROM survey_point WHERE source_id = %s"
_IMPORT_LOCK = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"


def check_file(path: Path) -> None:
    """Raise IngestError unless `path` is a regular file (a device or FIFO would never end)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise IngestError(f"no such file: {path}") from None
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise IngestError(f"{path} is a directory: give a file")
    if not stat.S_ISREG(mode):
        what = "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        link = " (through a symlink)" if path.is_symlink() else ""
        raise IngestError(f"{path} is {what}{link}, not a regular file: give a file")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _progress() -> Progress:
    """A progress display on stderr; silent when stderr is not a terminal."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        DownloadColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )


class ImportContext:
    """What `load` gets: the connection, the ids, the spec, the reject sink, staging and progress."""

    def __init__(self, conn: psycopg.Connection, spec: SourceSpec, source_id: int,
                 version_id: int, progress: Progress) -> None:
        self.conn = conn
        self.spec = spec
        self.source_id = source_id
        self.version_id = version_id
        self.fused = 0  # set by loaders that fuse (cameras)
        self.surveyed = 0  # survey points kept (count-0 rows of camera imports)
        self.data_date: date | None = None  # newest date the file says its data is of
        self.limits = ingest_settings()
        self.rejects = RejectSink(source_id, spec.path.name)
        self.notes: list[str] = []
        self._progress = progress
        self._task: TaskID | None = None

    # -- rejects and notes -----------------------------------------------------------------
    def reject(self, line: int | None, reason: str, raw: str | None = None) -> None:
        """Record a row that could not be used; it is written to `rejected_row` at the end."""
        self.rejects.add(line, reason, raw)

    @property
    def rejected(self) -> int:
        """Rows rejected so far."""
        return self.rejects.count

    def note(self, text: str) -> None:
        """A data-quality finding the command prints (mixed encodings, duplicates, stacks)."""
        self.notes.append(text)

    def note_data_date(self, when: date | datetime | str | None) -> None:
        """A date the file gives for its data (a snapshot time, an edit time): the newest counts.

        Takes a date, a datetime or ISO 8601 text; what cannot be read, or lies before OSM began
        (files without timestamps say 1970), is ignored.
        """
        if isinstance(when, str):
            try:
                when = datetime.fromisoformat(when)
            except ValueError:
                return
        if isinstance(when, datetime):
            when = when.date()
        if when is not None and when >= FIRST_OSM_DATE and (
                self.data_date is None or when > self.data_date):
            self.data_date = when

    # -- progress --------------------------------------------------------------------------
    def open_binary(self) -> BinaryIO:
        """The source file opened for reading; reads advance the progress bar (by bytes)."""
        try:
            f = self.spec.path.open("rb")
            size = self.spec.path.stat().st_size
        except OSError as exc:
            raise IngestError(f"cannot read {self.spec.path}: {exc.strerror or exc}") from exc
        wrapped = self._progress.wrap_file(f, total=size, description=f"reading {self.spec.path.name}")
        return io.BufferedReader(wrapped)  # type: ignore[arg-type]

    def advance(self, n: int = 1, total: int | None = None) -> None:
        """Advance a row-count progress bar (for readers that cannot report bytes)."""
        if self._task is None:
            self._task = self._progress.add_task(f"reading {self.spec.path.name}", total=total)
        self._progress.advance(self._task, n)

    # -- staging ---------------------------------------------------------------------------
    def copy_to_staging(self, table: str, columns: Sequence[tuple[str, str]],
                        rows: Iterable[Sequence[Any]]) -> int:
        """Stream rows with COPY into a new TEMP table (dropped at commit); returns the row count.

        A row with a control character in a text or JSON value is rejected instead.
        """
        return copy_to_staging(self.conn, table, columns, self._checked(columns, rows))

    def _checked(self, columns: Sequence[tuple[str, str]],
                 rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """The rows without control characters; the others rejected with line and column."""
        names = [name for name, _ in columns]
        line_at = names.index("line") if "line" in names else None
        ref_at = names.index("source_ref") if "source_ref" in names else None
        checks = [(i, name, typ == "jsonb") for i, (name, typ) in enumerate(columns)
                  if typ in ("text", "jsonb") and name != "wkb"]
        for row in rows:
            for i, name, is_json in checks:
                value = row[i]
                if isinstance(value, str) and (char := control_char(value, is_json)):
                    ref = row[ref_at] if ref_at is not None else None
                    where = f"{ref}: " if line_at is None and ref else ""
                    what = "an attribute" if is_json else repr(name)
                    self.reject(row[line_at] if line_at is not None else None,
                                f"{where}control character {char} in {what}", value)
                    break
            else:
                yield row

    def copy_columns_to_staging(self, table: str, columns: Sequence[tuple[str, str]],
                                batches: Iterable[Sequence[Column]]) -> int:
        """Stream batches of columns into a new TEMP table (dropped at commit); the row count.

        Unlike `copy_to_staging`, values are not checked here: the reader checked them (a CSV
        reader rejects every row with a control character in any field).
        """
        return copy_columns_to_staging(self.conn, table, columns, batches)

    def execute_count(self, query: str, params: dict[str, Any] | Sequence[Any] | None = None) -> int:
        """Run one constant statement (e.g. INSERT ... SELECT from staging); returns rows affected."""
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.rowcount


def _create_staging(conn: psycopg.Connection, table: str,
                    columns: Sequence[tuple[str, str]]) -> pgsql.Identifier:
    """Create TEMP `table` (columns: (name, type) pairs from code, not input)."""
    for _, typ in columns:
        if typ not in STAGING_TYPES:
            raise ValueError(f"staging type not allowed: {typ}")
    ident = pgsql.Identifier(table)
    coldefs = pgsql.SQL(", ").join(
        pgsql.SQL("{} {}").format(pgsql.Identifier(name), pgsql.SQL(typ)) for name, typ in columns
    )
    conn.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(ident))
    conn.execute(pgsql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(ident, coldefs))
    return ident


def _analyze_staging(conn: psycopg.Connection, ident: pgsql.Identifier,
                     columns: Sequence[tuple[str, str]]) -> None:
    # The row count is what the plans from staging need (scans and hash joins): sampling only the
    # first column gets it without reading and summarising every JSON and text value.
    conn.execute(pgsql.SQL("ANALYZE {} ({})").format(ident, pgsql.Identifier(columns[0][0])))


def copy_to_staging(conn: psycopg.Connection, table: str, columns: Sequence[tuple[str, str]],
                    rows: Iterable[Sequence[Any]]) -> int:
    """Create TEMP `table` (columns: (name, type) pairs from code, not input) and COPY `rows` in."""
    ident = _create_staging(conn, table, columns)
    names = pgsql.SQL(", ").join(pgsql.Identifier(name) for name, _ in columns)
    n = 0
    with conn.cursor() as cur, cur.copy(
        pgsql.SQL("COPY {} ({}) FROM STDIN").format(ident, names)
    ) as copy:
        for row in rows:  # psycopg buffers and sends in chunks; the file is never held in memory
            copy.write_row(row)
            n += 1
    _analyze_staging(conn, ident, columns)
    return n


def copy_columns_to_staging(conn: psycopg.Connection, table: str,
                            columns: Sequence[tuple[str, str]],
                            batches: Iterable[Sequence[Column]]) -> int:
    """Create TEMP `table` like copy_to_staging and COPY `batches` of columns in (binary COPY:
    numpy arrays for numbers, pyarrow string arrays for text and JSON text, nulls as NULL)."""
    from camdensity.ingest.pgcopy import array_copy  # numpy and pyarrow: only when used

    ident = _create_staging(conn, table, columns)
    n = 0
    with array_copy(conn, ident.as_string(conn), columns) as write:
        for batch in batches:
            write(batch)
            n += len(batch[0])
    _analyze_staging(conn, ident, columns)
    return n


def jsonb(value: dict[str, Any]) -> str:
    """A dict as JSON text for a staging `jsonb` column."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def run_import(conn: psycopg.Connection, spec: SourceSpec,
               load: Callable[[ImportContext], int]) -> ImportResult:
    """Import one source in one transaction; a no-op when its file is unchanged."""
    if spec.entity not in ENTITY_TABLES:
        raise ValueError(f"unknown entity {spec.entity!r}")
    check_file(spec.path)
    sha = file_sha256(spec.path)
    params = {
        "name": spec.name, "entity": spec.entity, "kind": spec.kind, "licence": spec.licence,
        "attribution": spec.attribution, "origin": spec.origin, "file_name": spec.path.name,
        "sha": sha, "format": spec.format, "options": jsonb(spec.options),
        "data_date": spec.data_date,
    }
    table = pgsql.Identifier(ENTITY_TABLES[spec.entity])
    try:
        with conn.transaction(), ExitStack() as stack:
            # A second import of the same source waits here, then sees the first one's result.
            conn.execute(_IMPORT_LOCK, (IMPORT_LOCK, f"{spec.entity}:{spec.name}"))
            row = conn.execute(_SOURCE_LOOKUP, (spec.entity, spec.name)).fetchone()
            # Same file read the same way (column mapping, --bbox...): nothing to do.
            if row is not None and row[1] == sha and row[4] == orjson.loads(params["options"]):
                if spec.data_date is not None and spec.data_date != row[5]:
                    conn.execute(_SOURCE_DATE, (spec.data_date, row[0]))  # metadata, not data
                return ImportResult(spec.name, spec.entity, unchanged=True, accepted=row[2],
                                    rejected=row[3], source_id=row[0])
            if row is None:
                source_id = conn.execute(_SOURCE_INSERT, params).fetchone()[0]  # type: ignore[index]
            else:
                source_id = row[0]
                conn.execute(_SOURCE_UPDATE, {**params, "id": source_id})
            version_id = conn.execute(_VERSION_INSERT, (source_id, sha)).fetchone()[0]  # type: ignore[index]
            conn.execute(_REJECTS_DELETE, (source_id,))
            if spec.entity == "cameras":
                # Kept to learn which reports the new version no longer has.
                conn.execute(sql.query("ingest_previous_reports"), {"source_id": source_id})
                conn.execute(_SURVEY_DELETE, (source_id,))
            conn.execute(pgsql.SQL("DELETE FROM {} WHERE source_id = %s").format(table), (source_id,))

            progress = stack.enter_context(_progress())
            ctx = ImportContext(conn, spec, source_id, version_id, progress)
            accepted = load(ctx)
            ctx.rejects.write(conn)
            removed = 0
            if spec.entity == "cameras":
                removed = ctx.execute_count(
                    sql.query("ingest_removed_reports"),
                    {"source_id": source_id, "version_id": version_id},
                )
            # The date given on the command line, else the one the file itself says.
            data_date = spec.data_date or ctx.data_date
            conn.execute(_SOURCE_COUNTS, (accepted, ctx.rejected, data_date, source_id))
            conn.execute(_VERSION_COUNTS, (accepted, ctx.rejected, removed, version_id))
            return ImportResult(
                spec.name, spec.entity, unchanged=False, accepted=accepted,
                rejected=ctx.rejected, removed=removed, fused=ctx.fused, surveyed=ctx.surveyed,
                rejects=ctx.rejects.sample, source_id=source_id, version_id=version_id,
                data_date=data_date, unit=POSITION_UNITS.get(spec.format, "line"),
                notes=ctx.notes,
            )
    except IngestError:
        raise
    except (OSError, UnicodeError, ValueError, RuntimeError) as exc:
        # Reader failures (truncated file, bad JSON, not a PBF...) are the file's fault.
        what = "not a valid OSM file" if spec.format == "osm" else f"cannot import as {spec.format}"
        raise IngestError(f"{spec.path.name}: {what} ({first_line(exc)})") from exc
