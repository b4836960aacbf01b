"""Column arrays in and out of PostgreSQL with binary COPY, vectorised with numpy (no per-row Python)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

# PostgreSQL binary COPY framing: signature, flags, header-extension length; -1 field count ends it.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
# Rows per chunk written: bounds the temporary index arrays (8 bytes per byte written: a chunk of
# 100,000 H3 cells with their ~125-byte polygons holds about 200 MB of them; at 1,000,000 rows
# the build's peak memory was 2 GB).
CHUNK_ROWS = 100_000
# Rows per chunk of `array_copy` (text rows of ~150 bytes: ~20 MB of index arrays a chunk).
STREAM_CHUNK_ROWS = 10_000

# numpy dtypes of the fixed-width PostgreSQL types read and written (network byte order).
PG_DTYPES: dict[str, str] = {
    "smallint": ">i2", "integer": ">i4", "bigint": ">i8", "real": ">f4", "double precision": ">f8",
}

Column = np.ndarray | pa.Array


def read_arrays(conn: psycopg.Connection, select: str, params: Sequence[Any] | dict[str, Any] | None,
                types: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Run `select` (its columns NOT NULL, of the given (name, PostgreSQL type) pairs) and return
    one numpy array per column, parsed straight from a binary COPY."""
    fields: list[tuple[str, str]] = [("_n", ">i2")]
    for name, pg_type in types:
        fields += [(f"_len_{name}", ">i4"), (name, PG_DTYPES[pg_type])]
    dtype = np.dtype(fields)
    with conn.cursor() as cur, cur.copy(f"COPY ({select}) TO STDOUT (FORMAT BINARY)", params) as copy:
        data = b"".join(bytes(block) for block in copy)
    body = len(data) - len(_HEADER) - len(_TRAILER)
    if not data.startswith(_HEADER) or body % dtype.itemsize:
        raise ValueError("unexpected COPY data (a column is NULL or of another type)")
    rows = np.frombuffer(data, dtype=dtype, offset=len(_HEADER), count=body // dtype.itemsize)
    return {name: rows[name].astype(PG_DTYPES[pg_type].replace(">", "=")) for name, pg_type in types}


def write_arrays(conn: psycopg.Connection, table: str, columns: Sequence[tuple[str, str, Column]],
                 chunk_rows: int = CHUNK_ROWS) -> int:
    """COPY columns of equal length into `table` (a name from code, not from input).

    `columns` are (name, PostgreSQL type, values): numpy arrays for the fixed-width types of
    PG_DTYPES, pyarrow binary or string arrays for bytea, text and jsonb (their nulls as NULL).
    Returns the rows written.
    """
    n = len(columns[0][2])
    names = ", ".join(name for name, _, _ in columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_HEADER)
        for start in range(0, n, chunk_rows):
            stop = min(n, start + chunk_rows)
            copy.write(_encode_rows([(t, v[start:stop]) for _, t, v in columns]))
        copy.write(_TRAILER)
    return n


@contextmanager
def array_copy(conn: psycopg.Connection, table: str,
               columns: Sequence[tuple[str, str]]) -> Iterator[Callable[[Sequence[Column]], None]]:
    """A binary COPY into `table` (a name from code) written batch by batch: the function given
    takes one batch, a column of values per (name, PostgreSQL type) of `columns` (as
    `write_arrays` takes them), all of one length."""
    names = ", ".join(name for name, _ in columns)
    types = [t for _, t in columns]
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_HEADER)

        def write(values: Sequence[Column]) -> None:
            for start in range(0, len(values[0]), STREAM_CHUNK_ROWS):
                stop = start + STREAM_CHUNK_ROWS
                copy.write(_encode_rows([(t, v[start:stop]) for t, v in zip(types, values)]))

        yield write
        copy.write(_TRAILER)


_JSONB_VERSION = pa.scalar(b"\x01", pa.binary())  # jsonb's binary form: a version byte, the text


def _binary_parts(values: pa.Array, pg_type: str = "bytea") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (int64, n+1), the value bytes and the validity (bool) of a binary or string array;
    jsonb values get their version byte."""
    values = pa.array(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.large_binary())
    if pa.types.is_null(values.type):
        values = values.cast(pa.large_binary())
    if pg_type == "jsonb":
        values = pc.binary_join_element_wise(_JSONB_VERSION, values.cast(pa.binary()),
                                             pa.scalar(b"", pa.binary()))
    if pa.types.is_binary(values.type):
        values = values.cast(pa.large_binary())
    if values.null_count and pg_type == "bytea":
        raise ValueError("NULL in a bytea column")
    valid = (np.ones(len(values), dtype=bool) if not values.null_count
             else np.asarray(values.is_valid()))
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[values.offset:values.offset + len(values) + 1]
    data = buffers[2]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data else np.empty(0, np.uint8)), valid


def _encode_rows(columns: Sequence[tuple[str, Column]]) -> bytes:
    """Binary COPY tuples for the rows of `columns`, built by scattering bytes with numpy."""
    n = len(columns[0][1])
    parts: list[tuple[np.ndarray, np.ndarray | tuple[np.ndarray, np.ndarray]]] = []
    row_len = np.full(n, 2, dtype=np.int64)
    for pg_type, values in columns:
        if pg_type in ("bytea", "text", "jsonb"):
            offsets, data, valid = _binary_parts(values, pg_type)
            lengths = np.diff(offsets)  # a NULL has no bytes: its length field says -1
            parts.append((np.where(valid, lengths, -1), (offsets, data)))
        else:
            fixed = np.ascontiguousarray(np.asarray(values).astype(PG_DTYPES[pg_type]))
            lengths = np.full(n, fixed.dtype.itemsize, dtype=np.int64)
            parts.append((lengths, fixed.view(np.uint8).reshape(n, fixed.dtype.itemsize)))
        row_len += 4 + lengths
    pos = np.zeros(n, dtype=np.int64)
    np.cumsum(row_len[:-1], out=pos[1:])
    out = np.empty(int(row_len.sum()), dtype=np.uint8)

    def put(block: np.ndarray) -> None:
        width = block.shape[1]
        out[pos[:, None] + np.arange(width)] = block
        pos[:] += width

    put(np.full(n, len(columns), dtype=">i2").view(np.uint8).reshape(n, 2))
    for field_len, payload in parts:
        put(field_len.astype(">i4").view(np.uint8).reshape(n, 4))
        if isinstance(payload, tuple):
            offsets, data = payload
            lengths = np.diff(offsets)
            # Byte j of row i goes to pos[i] + (j - offsets[i]).
            index = np.repeat(pos - offsets[:-1], lengths) + np.arange(offsets[0], offsets[-1])
            out[index] = data[offsets[0]:offsets[-1]]
            pos += lengths
        else:
            put(payload)
    return out.tobytes()
