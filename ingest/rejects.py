"""The reject list of one import: spooled to a temporary file while the file is read, then
written to `rejected_row` with one COPY once reading ends.

Writing as rejects come would open a second COPY while the staging COPY is still open on the
same connection (that hung forever); holding them all in memory would not be bounded.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

import psycopg

from camdensity.ingest.values import visible

REJECT_SAMPLE = 20
RAW_MAX = 2_000  # characters of a rejected row kept; enough to find and fix it
REASON_MAX = 500
SPOOL_BYTES = 4 << 20  # rejects kept in memory before the spool moves to disk
_COPY = "COPY rejected_row (source_id, file_name, line, reason, raw) FROM STDIN"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class Reject:
    """A row the import could not use: where (line or element number) and why."""

    line: int | None
    reason: str
    raw: str | None = None


def _copy_text(value: str | int | None) -> str:
    """One field in COPY text format (NULL is \\N); control characters made visible."""
    if value is None:
        return "\\N"
    return visible(str(value)).translate(_ESCAPES)


class RejectSink:
    """Counts rejects, keeps the first few for the command's output, spools the rest."""

    def __init__(self, source_id: int, file_name: str) -> None:
        self.source_id = source_id
        self.file_name = file_name
        self.count = 0
        self.sample: list[Reject] = []
        # Lives as long as the sink; closed by write() (or with the process on failure).
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115

    def add(self, line: int | None, reason: str, raw: str | None = None) -> Reject:
        """Record one reject (reason and raw cut to a readable size)."""
        item = Reject(line, visible(reason)[:REASON_MAX],
                      visible(raw[:RAW_MAX]) if raw is not None else None)
        self.count += 1
        if len(self.sample) < REJECT_SAMPLE:
            self.sample.append(item)
        fields = (self.source_id, self.file_name, item.line, item.reason, item.raw)
        self._spool.write(("\t".join(_copy_text(f) for f in fields) + "\n").encode())
        return item

    def counted(self, items: list[Reject]) -> None:
        """Rejects already written to `rejected_row` by SQL (set-based checks): count them."""
        self.count += len(items)
        self.sample.extend(items[: max(0, REJECT_SAMPLE - len(self.sample))])

    def write(self, conn: psycopg.Connection) -> None:
        """COPY the spooled rejects into `rejected_row` (no other COPY may be open)."""
        self._spool.seek(0)
        with conn.cursor() as cur, cur.copy(_COPY) as copy:
            while chunk := self._spool.read(1 << 20):
                copy.write(chunk)
        self._spool.close()
