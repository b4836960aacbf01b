"""CSV reading shared by every entity: encoding, delimiter, bounded lines, checked fields.

`open_csv(ctx, encoding)` yields a `CsvTable` (header, encoding, delimiter, rows with 1-based
editor line numbers, header = line 1); `CsvTable.column()` maps columns by name.

Bounded by design: a physical line is read at most `CAMDENSITY_INGEST_MAX_LINE_BYTES` long, a
field at most `CAMDENSITY_INGEST_MAX_FIELD_CHARS`, a header at most
`CAMDENSITY_INGEST_MAX_COLUMNS` wide; past any of them the file is refused with the line.
Encoding: UTF-8 (BOM or not) when the whole file is UTF-8; when it is not but looks Latin, each
line is decoded on its own, as UTF-8 when it is valid UTF-8 and as cp1252 otherwise, so a UTF-8
file with a few Latin-1 rows (or the reverse) is never garbled and the import says how many
lines were read each way. A forced `--encoding` is strict: a line it cannot decode refuses the
file, naming the line. A field holding a control character (NUL...) rejects its row.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from camdensity.ingest.errors import IngestError
from camdensity.ingest.values import CONTROL, control_char, visible
from camdensity.settings import ingest_settings

if TYPE_CHECKING:
    from camdensity.ingest.pipeline import ImportContext

SAMPLE_BYTES = 1 << 20
# Bytes read at once: ASCII blocks of whole lines are decoded in one call.
BLOCK_BYTES = 1 << 20
SNIFF_CHARS = 64 * 1024
# Mess ratio (charset-normalizer) below which a non-UTF-8 file is taken as Windows-1252/Latin-1:
# the detector alone mistakes short Latin-1 text for Asian encodings.
LATIN_MESS_MAX = 0.1
LATIN = frozenset({"cp1252", "latin_1", "iso8859-1", "iso8859_1"})
# Share of control bytes (not tab/newline/CR) in the head above which a file is not text.
BINARY_SHARE = 0.05
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed data: decompress it first (gunzip)"),
    (b"PK\x03\x04", "a ZIP archive: unpack it first"),
    (b"BZh", "bzip2-compressed data: decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed data: decompress it first (unxz)"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
)
COLUMNS_SHOWN = 10
# Records read and checked at once: bounds the memory a batch holds.
BATCH_ROWS = 20_000


def sniff_binary(path: Path, head: bytes) -> None:
    """Refuse a file that is not text (compressed, an archive, an image, binary) in one line."""
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise IngestError(f"{path.name} is {what}, not CSV text")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    if b"\n\tOSMHeader" in head[:64] or b"\n\x07OSMData" in head[:64]:
        raise IngestError(f"{path.name} is an OSM PBF file, not CSV: give --format osm")
    controls = sum(head.count(bytes([b])) for b in (*range(9), *range(14, 32)))
    if head and controls / len(head) > BINARY_SHARE:
        raise IngestError(f"{path.name} is not text ({controls:,} control bytes in its first "
                          f"{len(head):,}): is it compressed or binary?")


def detect_encoding(path: Path) -> str:
    """The text encoding of a file: UTF-8 (BOM or not), UTF-16 (BOM), else Latin-1/cp1252,
    else charset-normalizer's guess."""
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    try:
        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES)
            sniff_binary(path, head[:8192])
            if head.startswith(codecs.BOM_UTF8):
                return "utf-8-sig"
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
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
    if _has_utf8_lines(head):
        return "cp1252"  # UTF-8 with some other lines: read line by line, UTF-8 or cp1252
    for latin in ("cp1252", "latin-1"):
        try:
            text = head.decode(latin)
        except UnicodeDecodeError:
            continue
        if mess_ratio(text, 1.0) < LATIN_MESS_MAX:
            return latin
    best = from_bytes(head).best()
    return best.encoding if best is not None else "latin-1"


def _has_utf8_lines(head: bytes) -> bool:
    """True when some non-ASCII line of `head` is valid UTF-8 (the file is UTF-8, at least
    partly: a legacy 8-bit line almost never is)."""
    for line in head.split(b"\n")[:-1]:  # the last piece may be cut inside a character
        if not line.isascii():
            try:
                line.decode("utf-8")
                return True
            except UnicodeDecodeError:
                continue
    return False


@dataclass
class CsvBatch:
    """Consecutive records of a file as read, before any check."""

    starts: list[int]  # the first line of each record
    records: list[list[str]]
    clean: bool  # no record holds a control character


@dataclass
class CsvTable:
    """An open CSV file: its header, how it was read, and its data rows with line numbers."""

    header: list[str]
    encoding: str
    delimiter: str
    rows: Iterator[tuple[int, list[str]]]  # (first line of the record, fields); header = line 1
    # The same records in batches, unchecked, for readers that check whole columns at once
    # (read either `rows` or `batches`: they share one reader); `keep` checks one record as
    # `rows` does, rejecting it when it must.
    batches: Iterator[CsvBatch]
    keep: Callable[[int, list[str], bool], bool]

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
            cols = ", ".join(repr(visible(h[:40])) for h in self.header[:COLUMNS_SHOWN])
            if len(self.header) > COLUMNS_SHOWN:
                cols += f", ... ({len(self.header):,} columns)"
            wanted = repr(given) if given else " or ".join(repr(c) for c in candidates)
            raise IngestError(f"no {what} column {wanted} in the header (columns: {cols})")
        return None

    @staticmethod
    def raw(fields: list[str], delimiter: str) -> str:
        """A row as text again, for the reject list."""
        return delimiter.join(fields)


class _Lines:
    """Decoded physical lines of a file, each bounded; counts lines per encoding used."""

    def __init__(self, name: str, raw: BinaryIO, encoding: str, forced: bool) -> None:
        self.name = name
        self.raw = raw
        self.codec = codecs.lookup(encoding).name
        self.forced = forced
        self.limit = ingest_settings().ingest_max_line_bytes
        self.number = 0
        self.utf8 = 0       # lines with non-ASCII text read as UTF-8
        self.fallback = 0   # lines read as cp1252 (or Latin-1)
        self.first_fallback: int | None = None
        self.per_line = not forced and (self.codec in LATIN or self.codec.startswith("utf-8"))

    def too_long(self) -> IngestError:
        return IngestError(f"{self.name} line {self.number} is longer than {self.limit:,} bytes "
                           "(CAMDENSITY_INGEST_MAX_LINE_BYTES)")

    def __iter__(self) -> Iterator[str]:
        if "\n".encode(self.codec) != b"\n":  # UTF-16/32: let the codec find the lines
            yield from self._wide()
            return
        decode = codecs.getdecoder(self.codec)
        for block in self._blocks():
            if self.per_line and block.isascii():  # whole ASCII lines: decoded at once
                *lines, tail = block.decode("ascii").split("\n")
                for line in lines:
                    self.number += 1
                    yield line + "\n"
                if tail:  # the last line, without a newline
                    self.number += 1
                    yield tail
                continue
            *raw_lines, raw_tail = block.split(b"\n")
            for n, line in enumerate(raw_lines if not raw_tail else [*raw_lines, raw_tail]):
                self.number += 1
                if n < len(raw_lines):
                    line += b"\n"
                if self.number == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[len(codecs.BOM_UTF8):]
                if self.per_line:
                    yield self._either(line)
                    continue
                try:
                    yield decode(line)[0]
                except UnicodeDecodeError as exc:
                    hint = ("give another --encoding (latin-1 reads any byte)" if self.forced
                            else "give its --encoding")
                    raise IngestError(f"{self.name} line {self.number} is not {self.codec} text "
                                      f"({exc.reason}); {hint}") from exc

    def _blocks(self) -> Iterator[bytes]:
        """The file in blocks of whole lines (the file's last line may lack its newline), each
        line at most `limit` bytes besides its newline; a longer one ends the file with its
        number (the lines before it read first, as line by line)."""
        carry = b""
        while chunk := self.raw.read(BLOCK_BYTES):
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                yield from self._bounded(data[:cut])
            carry = data[cut:]
            if len(carry) > self.limit:  # the next line is already too long
                self.number += 1
                raise self.too_long()
        if carry:
            yield from self._bounded(carry)

    def _bounded(self, block: bytes) -> Iterator[bytes]:
        lines = block.split(b"\n")
        if max(map(len, lines)) <= self.limit:
            yield block
            return
        first = next(i for i, line in enumerate(lines) if len(line) > self.limit)
        if first:
            yield b"\n".join(lines[:first]) + b"\n"
        self.number += 1
        raise self.too_long()

    def _either(self, line: bytes) -> str:
        if line.isascii():
            return line.decode("ascii")
        try:
            text = line.decode("utf-8")
            self.utf8 += 1
            return text
        except UnicodeDecodeError:
            self.fallback += 1
            self.first_fallback = self.first_fallback or self.number
            try:
                return line.decode("cp1252")
            except UnicodeDecodeError:  # bytes cp1252 leaves undefined
                return line.decode("latin-1")

    def _wide(self) -> Iterator[str]:
        text = io.TextIOWrapper(self.raw, encoding=self.codec, newline="")
        try:
            while line := text.readline(self.limit + 1):
                self.number += 1
                if len(line) > self.limit and not line.endswith(("\n", "\r")):
                    raise self.too_long()
                yield line
        except UnicodeDecodeError as exc:
            raise IngestError(f"{self.name} line {self.number + 1} is not {self.codec} text "
                              f"({exc.reason}); give its --encoding") from exc

    def note(self) -> str | None:
        """What the import should say about the encoding, when lines were read two ways."""
        if self.utf8 and self.fallback:
            return (f"mixed encodings: {self.utf8:,} lines read as UTF-8 and {self.fallback:,} "
                    f"as cp1252 (the first at line {self.first_fallback}), each line on its own")
        return None


@contextmanager
def open_csv(ctx: ImportContext, encoding: str | None = None) -> Iterator[CsvTable]:
    """Open the source file as CSV: encoding (detected unless given), delimiter sniffed."""
    path = ctx.spec.path
    limits = ingest_settings()
    if encoding is None:
        named = detect_encoding(path)
    else:
        named = encoding
        with path.open("rb") as f:
            sniff_binary(path, f.read(8192))
    try:
        codecs.lookup(named)
    except LookupError as exc:
        raise IngestError(f"unknown encoding {named!r}") from exc
    csv.field_size_limit(limits.ingest_max_field_chars)

    with ctx.open_binary() as raw:
        lines = _Lines(path.name, raw, named, forced=encoding is not None)
        source = iter(lines)
        head: list[str] = []
        size = 0
        for line in source:
            head.append(line)
            size += len(line)
            if size >= SNIFF_CHARS:
                break
        sample = "".join(head)[:SNIFF_CHARS]
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
        reader = csv.reader(itertools.chain(head, source), dialect, doublequote=True)

        def fatal(exc: csv.Error) -> IngestError:
            if "field larger than field limit" in str(exc):
                return IngestError(
                    f"{path.name} line {lines.number}: a field is longer than "
                    f"{limits.ingest_max_field_chars:,} characters "
                    "(CAMDENSITY_INGEST_MAX_FIELD_CHARS)")
            return IngestError(f"{path.name} line {lines.number}: not CSV: {exc}")

        try:
            header = next(reader)
        except StopIteration:
            raise IngestError(f"{path.name} is empty") from None
        except csv.Error as exc:
            raise fatal(exc) from exc
        if len(header) > limits.ingest_max_columns:
            raise IngestError(f"{path.name}: the header has {len(header):,} columns, more than "
                              f"{limits.ingest_max_columns:,} (CAMDENSITY_INGEST_MAX_COLUMNS)")
        bad = next(((i, c) for i, h in enumerate(header, 1) if (c := control_char(h))), None)
        if bad is not None:
            raise IngestError(f"{path.name}: the header holds a control character ({bad[1]}) "
                              f"in column {bad[0]}: is it text?")
        names = [h.strip() for h in header]

        def batches() -> Iterator[CsvBatch]:
            end = reader.line_num
            while True:
                records: list[list[str]] = []
                ends: list[int] = []
                try:
                    for fields in itertools.islice(reader, BATCH_ROWS):
                        records.append(fields)
                        ends.append(reader.line_num)
                except csv.Error as exc:
                    raise fatal(exc) from exc
                if not records:
                    if (note := lines.note()) is not None:
                        ctx.note(note)
                    return
                starts = [end + 1, *(e + 1 for e in ends[:-1])]
                end = ends[-1]
                # One search over the batch's text instead of one per row: most batches hold none.
                text = "\n".join(map(dialect.delimiter.join, records))
                yield CsvBatch(starts, records, CONTROL.search(text) is None)

        def keep(start: int, fields: list[str], clean: bool = False) -> bool:
            """Whether a record is a data row: one with a control character (unless its batch is
            `clean`) or without any value is rejected, a blank line skipped."""
            if not clean and (char := control_char(text := CsvTable.raw(fields, dialect.delimiter))):
                column = next(i for i, f in enumerate(fields) if control_char(f))
                label = names[column] if column < len(names) else f"#{column + 1}"
                ctx.reject(start, f"control character {char} in column {label!r}", text)
                return False
            if fields and any(f.strip() for f in fields):
                return True
            if len(fields) > 1:  # ",,,": a row with no value, not a blank line
                ctx.reject(start, "empty row: no values", CsvTable.raw(fields, dialect.delimiter))
            return False

        def rows() -> Iterator[tuple[int, list[str]]]:
            for batch in batches():
                for start, fields in zip(batch.starts, batch.records):
                    if keep(start, fields, batch.clean):
                        yield start, fields

        encoding_used = named if lines.per_line is False else "utf-8/cp1252 by line"
        yield CsvTable(names, encoding_used, dialect.delimiter, rows(), batches(), keep)
