"""Hexagon exports (GeoParquet 1.1, RFC 7946 GeoJSON, CSV), streamed in batches with provenance."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import queue
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import Enum
from typing import Any, Protocol

import anyio.to_thread
import numpy as np
import orjson
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely
from numpy.lib.recfunctions import structured_to_unstructured
from psycopg import AsyncConnection, Connection

from camdensity import __version__, sql
from camdensity.ingest import privacy
from camdensity.service.snapshot import Snapshot
from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES, SITE_CATEGORIES

# Rows per Parquet row group and encoded chunk: a large export holds only about this many rows
# in memory at a time.
BATCH_ROWS = 50_000
# Bytes of COPY data read before they are split into rows.
COPY_READ_BYTES = 4 << 20

# Makes the plan and the rows one consistent state even while a build replaces the hexagons.
BEGIN_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
# The export's query is a plain scan in key order: JIT-compiling it costs more than it saves
# (~0.1 s per resolution), and parallel workers would only sort what the key already orders
# while taking the cores the exporter's own decoding runs on.
EXPORT_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL max_parallel_workers_per_gather = 0")
# A whole resolution is read in primary-key order, (resolution, h3): the planner's estimate
# prefers a bitmap scan and a sort, which takes the server twice as long. A box keeps the plan's
# choice (its spatial index and a sort of the few rows inside).
WHOLE_RESOLUTION_SETTINGS = ("SET LOCAL enable_sort = off",)
# COPY blocks read ahead by a thread while earlier ones are decoded and encoded, so the server
# keeps producing rows instead of waiting on a full socket.
READ_AHEAD_BLOCKS = 4

GEOPARQUET_VERSION = "1.1.0"
# Text formats round coordinates to 7 decimals (about 1 cm; RFC 7946 section 11.2 advises
# against more): GeoJSON shrinks by a third. GeoParquet's WKB keeps full precision.
TEXT_DECIMALS = 7
BBOX_RULE = "hexagons whose polygon intersects the box (minlon, minlat, maxlon, maxlat; EPSG:4326)"


class ExportFormat(str, Enum):
    """An export format; the value is the file suffix."""

    parquet = "parquet"
    geojson = "geojson"
    csv = "csv"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self]


MEDIA_TYPES: dict[ExportFormat, str] = {
    ExportFormat.parquet: "application/vnd.apache.parquet",
    ExportFormat.geojson: "application/geo+json",
    ExportFormat.csv: "text/csv; charset=utf-8; header=present",
}

# The attribute columns every format carries, in the order of sql/queries/export_hexagons.sql,
# with their Arrow type and the description that goes into the provenance's data dictionary.
COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("h3", pa.string(), "H3 cell index (hex string)"),
    ("resolution", pa.int16(), "H3 resolution"),
    ("cameras", pa.int64(), ("camera devices in the cell (after fusion; private ones only as "
                            "aggregates by the privacy rule, see provenance `privacy`)")),
    *((f"n_{t}", pa.int64(), f"{t} cameras") for t in CAMERA_TYPES),
    *((f"op_{o}", pa.int64(), f"cameras of {o} operators") for o in OPERATOR_TYPES),
    ("area_km2", pa.float64(), "cell area, km²"),
    ("density_km2", pa.float64(), "cameras per km²"),
    ("surveyed", pa.bool_(), ("true where a survey looked in the cell (its count-0 rows: "
                              "0 cameras means none seen); false: nobody reported looking")),
    *((f"d_{c}", pa.float64(), (f"metres to the nearest {c} site (empty: none within the "
                               "search limit)")) for c in SITE_CATEGORIES),
    ("centroid_lat", pa.float64(), "latitude of the cell's centroid (EPSG:4326)"),
    ("centroid_lon", pa.float64(), "longitude of the cell's centroid (EPSG:4326)"),
)
COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in COLUMNS)
# Columns of few distinct values (counts, resolution, flags): GeoParquet dictionary-encodes these.
DICTIONARY_COLUMNS: tuple[str, ...] = tuple(
    name for name, typ, _ in COLUMNS if pa.types.is_integer(typ) or pa.types.is_boolean(typ))
# What the query returns after the attribute columns: the cell's bounds, then its WKB polygon.
BOUNDS = ("xmin", "ymin", "xmax", "ymax")
QUERY_SCHEMA = pa.schema(
    [(name, typ) for name, typ, _ in COLUMNS]
    + [(b, pa.float64()) for b in BOUNDS]
    + [("geometry", pa.binary())]
)
BBOX_TYPE = pa.struct([(b, pa.float64()) for b in BOUNDS])


class ExportError(Exception):
    """An export that cannot be made as asked; the message says why."""


class NoBuildError(ExportError):
    """Nothing to export before the first finished build."""


@dataclass(frozen=True)
class ExportRequest:
    """What was asked: one resolution, optionally a lon/lat box."""

    resolution: int
    bbox: tuple[float, float, float, float] | None = None

    def params(self) -> dict[str, float | int | None]:
        minlon, minlat, maxlon, maxlat = self.bbox or (None, None, None, None)
        return {"resolution": self.resolution, "minlon": minlon, "minlat": minlat,
                "maxlon": maxlon, "maxlat": maxlat}


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """`minlon,minlat,maxlon,maxlat` as four floats, checked; raises ExportError with the reason."""
    if text is None or not text.strip():
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise ExportError(f"bbox must be 4 comma-separated numbers minlon,minlat,maxlon,maxlat; "
                          f"got {len(parts)} value(s)")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise ExportError(f"bbox values must be numbers: {text!r}") from None
    if not all(math.isfinite(v) for v in (minlon, minlat, maxlon, maxlat)):
        raise ExportError("bbox values must be finite numbers")
    if not (-180 <= minlon <= 180 and -180 <= maxlon <= 180):
        raise ExportError("bbox longitudes must be within -180..180")
    if not (-90 <= minlat <= 90 and -90 <= maxlat <= 90):
        raise ExportError("bbox latitudes must be within -90..90")
    if not (minlon < maxlon and minlat < maxlat):
        raise ExportError("bbox needs minlon < maxlon and minlat < maxlat")
    return (minlon, minlat, maxlon, maxlat)


@dataclass(frozen=True)
class ExportPlan:
    """What an export will contain, known before its first row: data version, size and extent."""

    request: ExportRequest
    snapshot: Snapshot
    resolutions: tuple[int, ...]   # resolutions present in the store
    rows: int
    extent: tuple[float, float, float, float] | None   # of the rows; None when there are none

    @classmethod
    def from_row(cls, request: ExportRequest, row: Sequence[Any] | None) -> ExportPlan:
        """From a row of sql/queries/export_plan.sql; NoBuildError when there is none."""
        if row is None:
            raise NoBuildError("no finished build yet: run `camdensity build` first")
        build_id, snapshot, finished_at, params, sources, resolutions, n, *ext = row
        return cls(
            request=request,
            snapshot=Snapshot(build_id, snapshot, finished_at, params, sources),
            resolutions=tuple(resolutions),
            rows=n,
            extent=tuple(ext) if n else None,  # type: ignore[arg-type]
        )

    def check(self) -> None:
        """Raise ExportError when the resolution asked for was not built."""
        if self.request.resolution not in self.resolutions:
            built = ", ".join(map(str, self.resolutions)) or "none"
            raise ExportError(
                f"resolution {self.request.resolution} was not built; built resolutions: {built}"
            )

    def provenance(self) -> dict[str, Any]:
        """Which data and method produced the export: snapshot, sources, parameters, selection."""
        snap = self.snapshot
        return {
            "product": "camdensity",
            "version": __version__,
            "snapshot": snap.snapshot,
            "built_at": _iso(snap.built_at),
            "sources": snap.sources,
            "params": snap.params,
            "export": {
                "table": "hexagon",
                "resolution": self.request.resolution,
                "bbox": list(self.request.bbox) if self.request.bbox else None,
                "bbox_rule": BBOX_RULE,
                "rows": self.rows,
                "extent": list(self.extent) if self.extent else None,
                "crs": "OGC:CRS84 (longitude, latitude; WGS 84)",
                "coordinate_precision": f"GeoParquet: full; GeoJSON and CSV: {TEXT_DECIMALS} "
                                        "decimals",
            },
            "privacy": privacy.describe(snap.params),
            "columns": {name: doc for name, _, doc in COLUMNS},
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- binary COPY rows into Arrow, vectorised (sql/queries/export_hexagons.sql) ----------

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
DISTANCES = tuple(f"d_{c}" for c in SITE_CATEGORIES)
# What the query sends, in its order, as numpy wire types: the stored columns (distances as the
# float4 they are stored as), then the polygon's WKB (variable length, last).
WIRE: tuple[tuple[str, str], ...] = tuple(
    (name, ">i8" if name == "h3" else ">i2" if name == "resolution" else "?" if name == "surveyed"
     else ">f4" if name in DISTANCES else ">i8" if pa.types.is_int64(typ) else ">f8")
    for name, typ, _ in COLUMNS if name not in ("centroid_lat", "centroid_lon")
)
_COPY_FIELDS = len(WIRE) + 1


def _copy_dtype(polygon_bytes: int) -> np.dtype:
    """One COPY row whose polygon is `polygon_bytes` long: field count, (length, value) pairs."""
    fields: list[tuple[Any, ...]] = [("_n", ">i2")]
    for i, (name, wire) in enumerate(WIRE):
        fields += [(f"_len{i}", ">i4"), (name, wire)]
    fields += [("_glen", ">i4"), ("geometry", "u1", (polygon_bytes,))]
    return np.dtype(fields)


_FIXED_BYTES = _copy_dtype(0).itemsize  # a row up to its polygon's bytes
_WIDTHS = [np.dtype(wire).itemsize for _, wire in WIRE]


class CopyBatches:
    """Splits the binary COPY of export_hexagons.sql into Arrow batches of QUERY_SCHEMA.

    Rows are variable only in the polygon's length, and nearly every H3 cell is a hexagon of
    one WKB length: each run of equally long rows is one zero-copy numpy view, turned into
    Arrow columns at once (`_decode`); a row of another length (a pentagon, a cell cut by an
    icosahedron edge) starts the next run.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._started = False
        self._done = False
        self._runs: list[pa.RecordBatch] = []

    def feed(self, data: bytes | bytearray | memoryview) -> pa.RecordBatch | None:
        """Take the next COPY bytes; the rows completed so far as a batch (None: none yet)."""
        self._buf += data
        if not self._started:
            if len(self._buf) < len(_COPY_HEADER):
                return None
            if not self._buf.startswith(_COPY_HEADER):
                raise ExportError("unexpected export data from the store (not binary COPY)")
            del self._buf[:len(_COPY_HEADER)]
            self._started = True
        pos = self._split()
        del self._buf[:pos]
        return self._batch()

    def close(self) -> pa.RecordBatch | None:
        """The last rows; checks the data ended where COPY says it does."""
        if not self._done or self._buf:
            raise ExportError("export data from the store ended early")
        return self._batch()

    def _split(self) -> int:
        buf, pos, end = self._buf, 0, len(self._buf)
        while not self._done and end - pos >= 2:
            if int.from_bytes(buf[pos:pos + 2], "big", signed=True) == -1:
                self._done, pos = True, pos + 2
                break
            if end - pos < _FIXED_BYTES:
                break
            length = int.from_bytes(buf[_FIXED_BYTES + pos - 4:_FIXED_BYTES + pos], "big",
                                    signed=True)
            dtype = _copy_dtype(length)
            count = (end - pos) // dtype.itemsize
            if count == 0:
                break
            rows = np.frombuffer(buf, dtype=dtype, count=count, offset=pos)
            odd = np.flatnonzero((rows["_glen"] != length) | (rows["_n"] != _COPY_FIELDS))
            if len(odd):
                rows = rows[:odd[0]]  # the first row of another shape (or the trailer) ends it
            if not len(rows):
                raise ExportError("unexpected export data from the store (a malformed row)")
            self._check(rows)
            self._runs.append(_decode(rows))  # copies: the buffer is about to be reused
            pos += len(rows) * dtype.itemsize
            del rows
        return pos

    @staticmethod
    def _check(rows: np.ndarray) -> None:
        lengths = structured_to_unstructured(rows[[f"_len{i}" for i in range(len(WIRE))]])
        if not (lengths == _WIDTHS).all():
            raise ExportError("unexpected export data from the store (a NULL or a type)")

    def _batch(self) -> pa.RecordBatch | None:
        runs, self._runs = self._runs, []
        if not runs:
            return None
        return runs[0] if len(runs) == 1 else pa.concat_batches(runs)


def _decode(rows: np.ndarray) -> pa.RecordBatch:
    """One run of COPY rows (polygons of one WKB length) as a batch of QUERY_SCHEMA."""
    columns: dict[str, pa.Array] = {}
    for name, wire in WIRE:
        values = rows[name]
        if name == "h3":
            columns[name] = _hex(values)
        elif name in DISTANCES:
            continue
        elif wire.endswith("f8"):
            columns[name] = _float_array(values.astype(np.float64))
        else:
            columns[name] = _arrow(values.astype(values.dtype.newbyteorder("=")))
    distances = structured_to_unstructured(rows[list(DISTANCES)], dtype=np.float32)
    rounded = _round_numeric(distances.T, 1)
    columns.update((name, _float_array(rounded[i])) for i, name in enumerate(DISTANCES))
    derived = _polygon_columns(np.ascontiguousarray(rows["geometry"]))
    columns.update((name, _float_array(values)) for name, values in derived.items()
                   if name != "geometry")
    columns["geometry"] = derived["geometry"]
    return pa.RecordBatch.from_arrays([columns[f.name] for f in QUERY_SCHEMA], schema=QUERY_SCHEMA)


def _float_array(values: np.ndarray) -> pa.Array:
    """Float64 values as Arrow, NaN as null (NaN stands for SQL NULL on the wire)."""
    return _arrow(values, np.isnan(values))


_ARROW_TYPES = {np.dtype(np.int16): pa.int16(), np.dtype(np.int64): pa.int64(),
                np.dtype(np.float64): pa.float64()}


def _arrow(values: np.ndarray, nulls: np.ndarray | None = None) -> pa.Array:
    """Native numpy values as an Arrow array (nulls where `nulls`), from their buffers: not
    pa.array(), whose first call in a process imports pandas (~2 s of a CLI export)."""
    validity, null_count = None, 0
    if nulls is not None and nulls.any():
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little"))
        null_count = int(nulls.sum())
    if values.dtype == np.bool_:
        kind, data = pa.bool_(), pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        values = np.ascontiguousarray(values)
        kind, data = _ARROW_TYPES[values.dtype], pa.py_buffer(values)
    return pa.Array.from_buffers(kind, len(values), [validity, data], null_count=null_count)


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_NIBBLE_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)


def _hex(values: np.ndarray) -> pa.Array:
    """bigints as lowercase hex strings without leading zeros, what ltrim(lpad(to_hex(h3), 16,
    '0'), '0') gives (every H3 cell index has one leading zero nibble: 15 digits)."""
    bits = values.astype(np.int64).view(np.uint64)
    digits = _HEX_DIGITS[((bits[:, None] >> _NIBBLE_SHIFTS) & np.uint64(15)).astype(np.intp)]
    nonzero = digits != ord("0")
    lead = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), 16)
    if len(lead) and (lead == lead[0]).all():  # the usual case: one width, a contiguous slice
        width = 16 - int(lead[0])
        data = np.ascontiguousarray(digits[:, 16 - width:])
        offsets = np.arange(len(values) + 1, dtype=np.int32) * width
    else:
        data = digits[np.arange(16) >= lead[:, None]]
        offsets = np.zeros(len(values) + 1, dtype=np.int32)
        np.cumsum(16 - lead, out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(values),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data.tobytes())])


_WIDE = Context(prec=60)


def _round_numeric(values: np.ndarray, decimals: int) -> np.ndarray:
    """round(v::numeric, decimals)::float8 of float4 `values`, exactly as PostgreSQL does it.

    real -> numeric takes the value's 6 significant digits (`%.6g`, ties to even), round()
    then rounds half away from zero, numeric -> float8 reads the decimal back (correctly
    rounded). Between 1e-6 and 1e6 the float4 times a power of ten is exact in float64, so all
    three steps are exact integer arithmetic here; the rare value outside goes through Decimal.
    NaN stays NaN (NULL on the wire).
    """
    v = values.astype(np.float64).ravel()  # exact
    out = np.full(v.shape, np.nan)
    mag = np.abs(v)
    fast = (mag >= 1e-6) & (mag < 1e6)
    a = mag[fast]
    # exponent k with 1e5 <= a * 10**k < 1e6: six significant digits left of the point
    k = np.clip(5 - np.floor(np.log10(a)).astype(np.int64), 0, 12)
    k = k - (a * 10.0**k >= 1e6) + (a * 10.0**k < 1e5)
    digits6 = np.rint(a * 10.0**k).astype(np.int64)  # exact product; rint: ties to even
    cut = 10 ** np.maximum(k - decimals, 0)           # units of the last kept decimal
    kept = np.where(k >= decimals, (digits6 + cut // 2) // cut,  # half away from zero
                    digits6 * 10 ** np.maximum(decimals - k, 0))
    out[fast] = np.where(kept == 0, 0.0, np.copysign(kept / 10.0**decimals, v[fast]))
    out[mag == 0] = 0.0
    out[np.isinf(v)] = v[np.isinf(v)]
    quantum = Decimal(1).scaleb(-decimals)
    for i in np.flatnonzero(~fast & np.isfinite(v) & (mag != 0)):
        d = Decimal(format(float(v[i]), ".6g")).quantize(quantum, ROUND_HALF_UP, _WIDE)
        out[i] = float(d) if d else 0.0
    return out.reshape(values.shape)


def _polygon_columns(wkb: np.ndarray) -> dict[str, Any]:
    """Centroid, bounds and the counter-clockwise WKB of a run of equally long polygons.

    `wkb` is one row of WKB bytes per polygon. Single-ring polygons (every H3 cell) are done in
    numpy, bit for bit what PostGIS gives: ST_Centroid is GEOS's Centroid (a fan of triangles
    from the first vertex, summed in ring order), the bounds are the coordinates' min/max, and
    ST_ForcePolygonCCW reverses a ring whose signed area is negative (clockwise). Anything else
    (holes) goes through shapely.
    """
    n, length = wkb.shape
    points = (length - 13) // 16
    header = wkb[:, :13]
    single = (length == 13 + 16 * points and points >= 4 and (header[:, 0] == 1).all()
              and (header[:, 1:13].view("<u4") == [3, 1, points]).all())
    if not single:
        return _polygon_columns_shapely(wkb)
    xy = wkb[:, 13:].view("<f8").reshape(n, points, 2)
    x, y = np.ascontiguousarray(xy[:, :, 0].T), np.ascontiguousarray(xy[:, :, 1].T)
    # GEOS Centroid::addShell with the area base point at the first vertex
    cgx, cgy, area2 = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(points - 1):
        a2 = (x[i] - x[0]) * (y[i + 1] - y[0]) - (x[i + 1] - x[0]) * (y[i] - y[0])
        cgx += a2 * (x[0] + x[i] + x[i + 1])
        cgy += a2 * (y[0] + y[i] + y[i + 1])
        area2 += a2
    with np.errstate(invalid="ignore", divide="ignore"):
        cx, cy = cgx / 3 / area2, cgy / 3 / area2
    shoelace = np.sum(x[:-1] * y[1:] - x[1:] * y[:-1], axis=0)
    clockwise = shoelace < 0
    if clockwise.any():
        wkb = wkb.copy()
        rings = wkb[:, 13:].view("<f8").reshape(n, points, 2)
        rings[clockwise] = rings[clockwise, ::-1]
    offsets = np.arange(n + 1, dtype=np.int32) * length
    geometry = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                      pa.py_buffer(wkb.tobytes())])
    if not (area2 != 0).all():  # degenerate rings: GEOS falls back to the ring's line centroid
        alt = _polygon_columns_shapely(wkb)
        cx = np.where(area2 != 0, cx, alt["centroid_lon"])
        cy = np.where(area2 != 0, cy, alt["centroid_lat"])
    return {"centroid_lat": cy, "centroid_lon": cx, "xmin": x.min(axis=0), "ymin": y.min(axis=0),
            "xmax": x.max(axis=0), "ymax": y.max(axis=0), "geometry": geometry}


def _polygon_columns_shapely(wkb: np.ndarray) -> dict[str, Any]:
    """`_polygon_columns` for any polygons, through shapely (GEOS)."""
    shapes = shapely.from_wkb([row.tobytes() for row in wkb])
    shapes = shapely.orient_polygons(shapes)
    centroids = shapely.centroid(shapes)
    bounds = shapely.bounds(shapes)
    return {"centroid_lat": shapely.get_y(centroids), "centroid_lon": shapely.get_x(centroids),
            "xmin": bounds[:, 0], "ymin": bounds[:, 1], "xmax": bounds[:, 2],
            "ymax": bounds[:, 3],
            "geometry": pa.array(shapely.to_wkb(shapes, byte_order=1), type=pa.binary())}


class Rebatch:
    """Re-cuts batches of any size into batches of exactly BATCH_ROWS rows (the last fewer)."""

    def __init__(self) -> None:
        self._pending: list[pa.RecordBatch] = []
        self._held = 0

    def push(self, batch: pa.RecordBatch | None) -> list[pa.RecordBatch]:
        """Take a batch; the full batches it completes (each row copied once, into them)."""
        if batch is None or batch.num_rows == 0:
            return []
        self._pending.append(batch)
        self._held += batch.num_rows
        if self._held < BATCH_ROWS:
            return []
        table, start, out = pa.Table.from_batches(self._pending), 0, []
        while self._held - start >= BATCH_ROWS:
            out.append(pa.concat_batches(table.slice(start, BATCH_ROWS).to_batches()))
            start += BATCH_ROWS
        self._pending = table.slice(start).to_batches()  # zero-copy views of what is left
        self._held -= start
        return out

    def rest(self) -> list[pa.RecordBatch]:
        """The last, partial batch (if any rows are left)."""
        if not self._held:
            return []
        return [pa.concat_batches(self._pending)]


class _CopyEncoder:
    """COPY bytes in, encoded chunks out: split into rows, re-cut to BATCH_ROWS, encoded."""

    def __init__(self, enc: Encoder) -> None:
        self._enc, self._split, self._cut = enc, CopyBatches(), Rebatch()

    def feed(self, data: bytes | bytearray) -> list[bytes]:
        return [self._enc.write(b) for b in self._cut.push(self._split.feed(data))]

    def close(self) -> list[bytes]:
        last = self._cut.push(self._split.close()) + self._cut.rest()
        return [self._enc.write(b) for b in last] + [self._enc.finish()]


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after each batch, so nothing accumulates."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        out, self._chunks = b"".join(self._chunks), []
        return out


class Encoder(Protocol):
    """Turns batches into bytes: a header, one chunk per batch, a footer."""

    def start(self) -> bytes: ...

    def write(self, batch: pa.RecordBatch) -> bytes: ...

    def finish(self) -> bytes: ...


def _text_geometries(batch: pa.RecordBatch) -> Any:
    """The batch's polygons with coordinates rounded for a text format (vertex order kept)."""
    geoms = shapely.from_wkb(batch.column("geometry").to_numpy(zero_copy_only=False))
    return shapely.set_precision(geoms, 10.0**-TEXT_DECIMALS, mode="pointwise")


def _attributes(batch: pa.RecordBatch) -> pa.Table:
    return pa.Table.from_batches([batch]).select(list(COLUMN_NAMES))


class ParquetEncoder:
    """GeoParquet 1.1: WKB polygons, a bbox covering column, "geo" and "camdensity" metadata."""

    def __init__(self, plan: ExportPlan) -> None:
        column: dict[str, Any] = {
            "encoding": "WKB",
            "geometry_types": ["Polygon"],
            # No "crs": the spec reads its absence as OGC:CRS84 (lon/lat WGS 84), which this is.
            "edges": "planar",
            "orientation": "counterclockwise",
            "covering": {"bbox": {b: ["bbox", b] for b in BOUNDS}},
        }
        if plan.extent:
            column["bbox"] = list(plan.extent)
        geo = {"version": GEOPARQUET_VERSION, "primary_column": "geometry",
               "columns": {"geometry": column}}
        self.schema = pa.schema(
            [(name, typ) for name, typ, _ in COLUMNS]
            + [("bbox", BBOX_TYPE), ("geometry", pa.binary())],
            metadata={b"geo": orjson.dumps(geo), b"camdensity": orjson.dumps(plan.provenance())},
        )
        self._sink = _Drain()
        # Dictionary encoding only where values repeat (counts, flags): tried on the polygons,
        # coordinates and h3 indexes it only burns time (half the encoder's) and then falls back.
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd",
                                        use_dictionary=list(DICTIONARY_COLUMNS))

    def start(self) -> bytes:
        return self._sink.take()

    def write(self, batch: pa.RecordBatch) -> bytes:
        bbox = pa.StructArray.from_arrays([batch.column(b) for b in BOUNDS], fields=list(BBOX_TYPE))
        arrays = [batch.column(name) for name in COLUMN_NAMES] + [bbox, batch.column("geometry")]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        return self._sink.take()

    def finish(self) -> bytes:
        self._writer.close()
        return self._sink.take()


class GeoJSONEncoder:
    """RFC 7946 FeatureCollection with a "camdensity" foreign member holding the provenance."""

    def __init__(self, plan: ExportPlan) -> None:
        self._plan = plan
        self._first = True

    def start(self) -> bytes:
        head: dict[str, Any] = {"type": "FeatureCollection"}
        if self._plan.extent:
            head["bbox"] = list(self._plan.extent)
        head["camdensity"] = self._plan.provenance()
        return orjson.dumps(head)[:-1] + b',"features":['

    def write(self, batch: pa.RecordBatch) -> bytes:
        if batch.num_rows == 0:
            return b""
        geometries = shapely.to_geojson(_text_geometries(batch))
        features = [
            {"type": "Feature", "id": props["h3"], "geometry": orjson.Fragment(geometry),
             "properties": props}
            for props, geometry in zip(_attributes(batch).to_pylist(), geometries)
        ]
        body = orjson.dumps(features)[1:-1]
        sep, self._first = (b"" if self._first else b","), False
        return sep + body

    def finish(self) -> bytes:
        return b"]}\n"


class CSVEncoder:
    """CSV: the attribute columns, then the polygon as WKT in `wkt` (GDAL/QGIS pick it up)."""

    def __init__(self, plan: ExportPlan) -> None:
        self.schema = pa.schema([(name, typ) for name, typ, _ in COLUMNS] + [("wkt", pa.string())])
        self._sink = _Drain()
        self._writer = pacsv.CSVWriter(self._sink, self.schema)

    def start(self) -> bytes:
        return self._sink.take()

    def write(self, batch: pa.RecordBatch) -> bytes:
        wkt = pa.array(shapely.to_wkt(_text_geometries(batch), rounding_precision=TEXT_DECIMALS),
                       type=pa.string())
        arrays = [batch.column(name) for name in COLUMN_NAMES] + [wkt]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        return self._sink.take()

    def finish(self) -> bytes:
        self._writer.close()
        return self._sink.take()


ENCODERS: dict[ExportFormat, type[ParquetEncoder | GeoJSONEncoder | CSVEncoder]] = {
    ExportFormat.parquet: ParquetEncoder,
    ExportFormat.geojson: GeoJSONEncoder,
    ExportFormat.csv: CSVEncoder,
}


def encoder(fmt: ExportFormat, plan: ExportPlan) -> Encoder:
    """The encoder for `fmt`."""
    return ENCODERS[fmt](plan)


# --- reading the store: the same plan and rows for the CLI (sync) and the API (async) -------


def plan_export(conn: Connection, request: ExportRequest) -> ExportPlan:
    """Plan an export on a sync connection; raises NoBuildError / ExportError."""
    row = conn.execute(sql.query("export_plan"), request.params()).fetchone()
    plan = ExportPlan.from_row(request, row)
    plan.check()
    return plan


async def aplan_export(conn: AsyncConnection, request: ExportRequest) -> ExportPlan:
    """Plan an export on an async connection; raises NoBuildError / ExportError."""
    cur = await conn.execute(sql.query("export_plan"), request.params())
    plan = ExportPlan.from_row(request, await cur.fetchone())
    plan.check()
    return plan


@contextmanager
def snapshot_transaction(conn: Connection) -> Iterator[None]:
    """A read-only repeatable-read transaction: plan and rows see the same data version."""
    with conn.transaction():
        conn.execute(BEGIN_SNAPSHOT)
        for setting in EXPORT_SETTINGS:
            conn.execute(setting)
        yield


def _scan_settings(request: ExportRequest) -> tuple[str, ...]:
    return WHOLE_RESOLUTION_SETTINGS if request.bbox is None else ()


def _copy_statement(request: ExportRequest) -> tuple[str, dict[str, float | int | None]]:
    return (f"COPY ({sql.query('export_hexagons')}) TO STDOUT (FORMAT BINARY)",
            request.params())


_END = object()


class _Stopped(Exception):
    """The caller stopped reading an export."""


def _read_ahead(conn: Connection, statement: str,
                params: dict[str, float | int | None]) -> Iterator[bytearray]:
    """The COPY's data in blocks of about COPY_READ_BYTES, read by a thread of its own up to
    READ_AHEAD_BLOCKS ahead of the caller; its errors are raised here. Stopping early (the
    caller closes the generator) ends the COPY before returning."""
    blocks: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD_BLOCKS)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                blocks.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def read() -> None:
        try:
            with conn.cursor() as cur, cur.copy(statement, params) as copy:
                block = bytearray()
                for data in copy:
                    block += data
                    if len(block) >= COPY_READ_BYTES:
                        if not put(block):
                            raise _Stopped  # leaving by an exception cancels the COPY
                        block = bytearray()
            if put(block):
                put(_END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            put(exc)

    thread = threading.Thread(target=read, name="export-copy", daemon=True)
    thread.start()
    try:
        while (item := blocks.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def iter_export(conn: Connection, plan: ExportPlan, fmt: ExportFormat) -> Iterator[bytes]:
    """Encoded chunks of an export, read with one binary COPY (inside a transaction); the COPY
    is read ahead by a thread, so the server's work and the decoding overlap."""
    enc = encoder(fmt, plan)
    yield enc.start()
    coder = _CopyEncoder(enc)
    statement, params = _copy_statement(plan.request)
    for setting in _scan_settings(plan.request):
        conn.execute(setting)
    for block in _read_ahead(conn, statement, params):
        yield from coder.feed(block)
    yield from coder.close()


async def aiter_export(
    conn: AsyncConnection, request: ExportRequest, fmt: ExportFormat, snapshot: str
) -> AsyncIterator[bytes]:
    """Encoded chunks of an export on an async connection (autocommit), in its own snapshot.

    `snapshot` is the data version already promised in the response headers: if a build
    finished in between, the export stops with an error rather than deliver mislabelled data.
    """
    async with conn.transaction():
        await conn.execute(BEGIN_SNAPSHOT)
        for setting in EXPORT_SETTINGS:
            await conn.execute(setting)
        plan = await aplan_export(conn, request)
        if plan.snapshot.snapshot != snapshot:
            raise ExportError(f"data version changed from {snapshot} to "
                              f"{plan.snapshot.snapshot} while exporting; ask again")
        enc = encoder(fmt, plan)
        yield enc.start()
        coder = _CopyEncoder(enc)
        statement, params = _copy_statement(request)
        for setting in _scan_settings(request):
            await conn.execute(setting)
        # Splitting and encoding is CPU work (numpy, Arrow, zstd): a worker thread does it for
        # one block while the next is read, so the server keeps producing rows (never two
        # blocks at once: the coder is stateful).
        loop = asyncio.get_running_loop()
        encoding: asyncio.Future[list[bytes]] | None = None
        block = bytearray()
        async with conn.cursor() as cur, cur.copy(statement, params) as copy:
            try:
                async for data in copy:
                    block += data
                    if len(block) >= COPY_READ_BYTES:
                        if encoding is not None:
                            for chunk in await encoding:
                                yield chunk
                        encoding = loop.run_in_executor(None, coder.feed, block)
                        block = bytearray()
                if encoding is not None:
                    chunks, encoding = await encoding, None
                    for chunk in chunks:
                        yield chunk
            finally:
                if encoding is not None:  # stopped early: the thread is done with it first
                    with contextlib.suppress(Exception):
                        await encoding
        for chunk in await anyio.to_thread.run_sync(coder.feed, block):
            yield chunk
        for chunk in await anyio.to_thread.run_sync(coder.close):
            yield chunk


def export_to_file(
    url: str, request: ExportRequest, fmt: ExportFormat, out: io.BufferedIOBase
) -> ExportPlan:
    """Write one export to a binary file object; returns its plan (rows, provenance)."""
    with psycopg.connect(url, autocommit=True) as conn, snapshot_transaction(conn):
        plan = plan_export(conn, request)
        out.writelines(iter_export(conn, plan, fmt))
    return plan
