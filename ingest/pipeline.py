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

CSV: `open_csv(ctx, encoding)` yields a `CsvTable` (header, encoding, delimiter, rows with
1-based editor line numbers, header = line 1); `CsvTable.column()` maps columns by name;
`parse_point()` validates coordinates with a precise reason.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

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
REJECT_SAMPLE = 20
REJECT_FLUSH = 5_000
RAW_MAX = 2_000  # characters of a rejected row kept; enough to find and fix it


class IngestError(Exception):
    """A fatal import problem (unreadable file, wrong format): nothing was written."""


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


@dataclass(frozen=True)
class Reject:
    """A row the import could not use: where (line or element number) and why."""

    line: int | None
    reason: str
    raw: str | None = None


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
    rejects: list[Reject] = field(default_factory=list)  # the first few, for the command's output
    source_id: int | None = None
    version_id: int | None = None
    data_date: date | None = None
    unit: str = "line"  # what a reject's number counts: line, element or feature

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
_REJECTS_COPY = "COPY rejected_row (source_id, file_name, line, reason, raw) FROM STDIN"


def check_file(path: Path) -> None:
    """Raise IngestError unless `path` is a file this process can open."""
    if path.is_dir():
        raise IngestError(f"{path} is a directory: give a file")
    if not path.is_file():
        raise IngestError(f"no such file: {path}")


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
        self.data_date: date | None = None  # newest date the file says its data is of
        self.rejected = 0
        self.sample: list[Reject] = []
        self._pending: list[Reject] = []
        self._progress = progress
        self._task: TaskID | None = None

    # -- rejects ---------------------------------------------------------------------------
    def reject(self, line: int | None, reason: str, raw: str | None = None) -> None:
        """Record a row that could not be used; it is written to `rejected_row`."""
        item = Reject(line, reason, raw[:RAW_MAX] if raw is not None else None)
        self.rejected += 1
        if len(self.sample) < REJECT_SAMPLE:
            self.sample.append(item)
        self._pending.append(item)
        if len(self._pending) >= REJECT_FLUSH:
            self.flush_rejects()

    def flush_rejects(self) -> None:
        """Write the buffered rejects with COPY."""
        if not self._pending:
            return
        name = self.spec.path.name
        with self.conn.cursor() as cur, cur.copy(_REJECTS_COPY) as copy:
            for r in self._pending:
                copy.write_row((self.source_id, name, r.line, r.reason, r.raw))
        self._pending.clear()

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
        """Stream rows with COPY into a new TEMP table (dropped at commit); returns the row count."""
        return copy_to_staging(self.conn, table, columns, rows)

    def execute_count(self, query: str, params: dict[str, Any] | Sequence[Any] | None = None) -> int:
        """Run one constant statement (e.g. INSERT ... SELECT from staging); returns rows affected."""
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.rowcount


def copy_to_staging(conn: psycopg.Connection, table: str, columns: Sequence[tuple[str, str]],
                    rows: Iterable[Sequence[Any]]) -> int:
    """Create TEMP `table` (columns: (name, type) pairs from code, not input) and COPY `rows` in."""
    for _, typ in columns:
        if typ not in STAGING_TYPES:
            raise ValueError(f"staging type not allowed: {typ}")
    ident = pgsql.Identifier(table)
    coldefs = pgsql.SQL(", ").join(
        pgsql.SQL("{} {}").format(pgsql.Identifier(name), pgsql.SQL(typ)) for name, typ in columns
    )
    names = pgsql.SQL(", ").join(pgsql.Identifier(name) for name, _ in columns)
    conn.execute(pgsql.SQL("DROP TABLE IF EXISTS {}").format(ident))
    conn.execute(pgsql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(ident, coldefs))
    n = 0
    with conn.cursor() as cur, cur.copy(
        pgsql.SQL("COPY {} ({}) FROM STDIN").format(ident, names)
    ) as copy:
        for row in rows:  # psycopg buffers and sends in chunks; the file is never held in memory
            copy.write_row(row)
            n += 1
    conn.execute(pgsql.SQL("ANALYZE {}").format(ident))
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
            conn.execute(pgsql.SQL("DELETE FROM {} WHERE source_id = %s").format(table), (source_id,))

            progress = stack.enter_context(_progress())
            ctx = ImportContext(conn, spec, source_id, version_id, progress)
            accepted = load(ctx)
            ctx.flush_rejects()
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
                rejected=ctx.rejected, removed=removed, fused=ctx.fused, rejects=ctx.sample,
                source_id=source_id, version_id=version_id, data_date=data_date,
                unit=POSITION_UNITS.get(spec.format, "line"),
            )
    except IngestError:
        raise
    except (OSError, UnicodeError, ValueError, RuntimeError) as exc:
        # Reader failures (truncated file, bad JSON, not a PBF...) are the file's fault.
        what = "not a valid OSM file" if spec.format == "osm" else f"cannot import as {spec.format}"
        raise IngestError(f"{spec.path.name}: {what} ({first_line(exc)})") from exc


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (parsers add multi-line pictures)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# CSV reading, shared by every entity
# ---------------------------------------------------------------------------------------------

SAMPLE_BYTES = 1 << 20
# Mess ratio (charset-normalizer) below which a non-UTF-8 file is taken as Windows-1252/Latin-1:
# the detector alone mistakes short Latin-1 text for Asian encodings.
LATIN_MESS_MAX = 0.1


def detect_encoding(path: Path) -> str:
    """The text encoding of a file: UTF-8 (BOM or not), else Latin-1/cp1252, else charset-normalizer."""
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    try:
        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES)
            if head.startswith(codecs.BOM_UTF8):
                return "utf-8-sig"
            decoder = codecs.getincrementaldecoder("utf-8")()
            chunk = head
            try:
                while chunk:
                    decoder.decode(chunk)
                    chunk = f.read(SAMPLE_BYTES)
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for latin in ("cp1252", "latin-1"):
        try:
            text = head.decode(latin)
        except UnicodeDecodeError:
            continue
        if mess_ratio(text, 1.0) < LATIN_MESS_MAX:
            return latin
    best = from_bytes(head).best()
    return best.encoding if best is not None else "latin-1"


@dataclass
class CsvTable:
    """An open CSV file: its header, how it was read, and its data rows with line numbers."""

    header: list[str]
    encoding: str
    delimiter: str
    rows: Iterator[tuple[int, list[str]]]  # (first line of the record, fields); header = line 1

    def column(self, given: str | None, candidates: Sequence[str] = (), *, what: str,
               required: bool = True) -> int | None:
        """Index of a column named on the command line (`given`) or, if not given, a usual name."""
        folded = [h.strip().casefold() for h in self.header]
        names = [given] if given else list(candidates)
        for name in names:
            key = name.strip().casefold()
            if key in folded:
                return folded.index(key)
        if given or required:
            cols = ", ".join(repr(h) for h in self.header)
            wanted = repr(given) if given else " or ".join(repr(c) for c in candidates)
            raise IngestError(f"no {what} column {wanted} in the header (columns: {cols})")
        return None

    @staticmethod
    def raw(fields: list[str], delimiter: str) -> str:
        """A row as text again, for the reject list."""
        return delimiter.join(fields)


@contextmanager
def open_csv(ctx: ImportContext, encoding: str | None = None) -> Iterator[CsvTable]:
    """Open the source file as CSV: encoding (detected unless given), delimiter sniffed."""
    path = ctx.spec.path
    named = encoding or detect_encoding(path)
    try:
        codecs.lookup(named)
    except LookupError as exc:
        raise IngestError(f"unknown encoding {named!r}") from exc
    # A BOM is never part of the first column's name.
    enc = "utf-8-sig" if named.replace("_", "-").lower() in ("utf-8", "utf8") else named
    hint = ("give another --encoding (latin-1 reads any byte)" if encoding
            else "give its --encoding")

    def not_text(where: str, exc: UnicodeDecodeError) -> IngestError:
        return IngestError(f"{path.name}{where} is not {named} text ({exc.reason}); {hint}")

    with ctx.open_binary() as raw, io.TextIOWrapper(raw, encoding=enc, newline="") as text:
        try:
            sample = text.read(64 * 1024)
        except UnicodeDecodeError as exc:
            raise not_text("", exc) from exc
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            # A ragged row or decimal commas defeat the sniffer; the header line rarely lies.
            first = sample.split("\n", 1)[0]
            dialect = csv.excel
            delimiter = max(",;\t|", key=first.count)
            if first.count(delimiter) > first.count(","):
                dialect = type("header_dialect", (csv.excel,), {"delimiter": delimiter})
        # The sniffer says doublequote=False unless its sample happens to hold a `""`, which
        # splits a later quoted field like `"""B"" building, ..."` (ICE list line 689) apart.
        reader = csv.reader(_chain(sample, text), dialect, doublequote=True)
        try:
            header = next(reader)
        except StopIteration:
            raise IngestError(f"{path.name} is empty") from None
        except csv.Error as exc:
            raise IngestError(f"{path.name}: not CSV: {exc}") from exc

        def rows() -> Iterator[tuple[int, list[str]]]:
            end = reader.line_num
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise IngestError(f"{path.name} line {end + 1}: {exc}") from exc
                except UnicodeDecodeError as exc:
                    raise not_text(f" near line {end + 1}", exc) from exc
                start, end = end + 1, reader.line_num
                if fields and any(f.strip() for f in fields):
                    yield start, fields
                elif len(fields) > 1:  # ",,,": a row with no value, not a blank line
                    ctx.reject(start, "empty row: no values", CsvTable.raw(fields, dialect.delimiter))

        yield CsvTable([h.strip() for h in header], enc, dialect.delimiter, rows())


def _chain(sample: str, rest: io.TextIOBase) -> Iterator[str]:
    """Lines of the already-read sample followed by the rest of the file."""
    head = io.StringIO(sample, newline="")
    last = ""
    for line in head:
        if line.endswith(("\n", "\r")):
            yield line
        else:
            last = line  # the sample cut a line in two: join it with the rest
    first = rest.readline()
    if last or first:
        yield last + first
    yield from rest


def parse_float(text: str | float | None) -> float | None:
    """A number from text ("60.17", "60,17"); None when empty or not a finite number."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        t = text.strip()
        if not t:
            return None
        try:
            value = float(t.replace(",", ".") if t.count(",") == 1 and "." not in t else t)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def parse_point(lat: Any, lon: Any) -> tuple[float, float] | str:
    """(lat, lon) as floats, or the precise reason they cannot be used."""
    out: list[float] = []
    for name, value, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        if value is None or (isinstance(value, str) and not value.strip()):
            return f"missing {name}"
        number = parse_float(value)
        if number is None:
            return f"invalid {name} {str(value).strip()[:40]!r}"
        if not -limit <= number <= limit:
            return f"{name} {number:g} out of range [-{limit:g}, {limit:g}]"
        out.append(number)
    return out[0], out[1]
