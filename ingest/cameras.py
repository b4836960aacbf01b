"""Import camera reports: OSM `.osm.pbf`, Overpass/DeFlock-style JSON, GeoJSON and CSV.

Each reader streams its file and yields staging rows (coordinates checked, everything the source
said kept in `attrs`); rows that cannot be used are rejected with their line (CSV), element or
feature number (JSON, GeoJSON) or OSM id, and the reason. The rows go to PostGIS with COPY, and
one INSERT ... SELECT normalises types and operators (the vocabulary functions of migration
0002), then the fusion is measured over every camera source (how many of this source's reports
fuse with another's), all in the import's one transaction. The fused cameras readers see change
only with `camdensity build`, which publishes a new data version at once.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ijson
import psycopg

from camdensity import sql
from camdensity.ingest import jsonstream
from camdensity.ingest.csvfile import CsvTable, open_csv
from camdensity.ingest.fuse import fuse
from camdensity.ingest.pipeline import (
    POSITION_UNITS,
    ImportContext,
    ImportResult,
    IngestError,
    Kind,
    Reject,
    check_file,
    first_line,
    jsonb,
    run_import,
)
from camdensity.ingest.places import (
    LAT_NAMES,
    LON_NAMES,
    PlaceImport,
    PlaceOptions,
    bbox_params,
    csv_field,
    csv_points,
    first_property,
    geojson_features,
    place_format,
    source_spec,
)
from camdensity.ingest.values import parse_count, parse_point
from camdensity.settings import CAMERA_TYPES

if TYPE_CHECKING:
    import pyarrow as pa

    from camdensity.ingest.pgcopy import Column

CAMERA_FORMATS: tuple[str, ...] = ("auto", "osm", "json", "geojson", "csv")
CAMERA_STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("line", "integer"), ("source_ref", "text"), ("lon", "double precision"),
    ("lat", "double precision"), ("wkb", "text"), ("type_given", "text"),
    ("operator_given", "text"), ("count", "integer"), ("attrs", "jsonb"),
)
CameraRow = tuple[int | None, str | None, float | None, float | None, str | None, str | None,
                  str | None, int, str]

# Usual column / property names, tried in order when none is named on the command line.
TYPE_NAMES: tuple[str, ...] = ("camera_type", "type", "device_type", "surveillance:type", "kind")
ID_NAMES: tuple[str, ...] = ("id", "ref", "identifier", "camera_id", "osm_id")
OPERATOR_NAMES: tuple[str, ...] = ("operator", "owner", "agency")
COUNT_NAMES: tuple[str, ...] = ("count",)
_SOURCE_PRECISION = "UPDATE source SET precision_m = %s WHERE id = %s"
OSM_ELEMENT_TYPES = frozenset({"node", "way", "relation"})
# Coordinate keys of JSON elements (Overpass `out center` puts ways' points under "center").
JSON_LAT = ("lat", "latitude")
JSON_LON = ("lon", "lng", "long", "longitude")
JSON_KEPT_OUT = frozenset({"tags", "center", "geometry", *JSON_LAT, *JSON_LON})


@dataclass(frozen=True)
class CameraOptions(PlaceOptions):
    """How to read the file: the type, count and operator columns and the default type."""

    type: str | None = None
    count: str | None = None
    operator: str | None = None
    default_type: str | None = None
    precision: float | None = None  # the source's location uncertainty in metres


def camera_format(path: Path, given: str) -> str:
    """The input format: as given, or from the file's name and, for .json, its content."""
    if given == "auto" and path.suffix.lower() == ".json":
        return _json_kind(path)
    return place_format(path, given, CAMERA_FORMATS)


def _json_kind(path: Path) -> str:
    """`geojson` for a FeatureCollection, `json` for a list or an Overpass `elements` object."""
    try:
        with path.open("rb") as f:
            head = f.read(4096).lstrip()
            if head.startswith(b"["):
                return "json"
            if not head.startswith(b"{"):
                raise IngestError(f"{path.name} is not JSON (it starts with {head[:20]!r})")
            f.seek(0)
            for keys, event, value in jsonstream.head(f, path.name):
                if len(keys) == 1 and event == "map_key" and value == "elements":
                    return "json"
                if (len(keys) == 1 and event == "map_key" and value == "features") or (
                        keys == ("type",) and value == "FeatureCollection"):
                    return "geojson"
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ijson.JSONError as exc:
        raise IngestError(f"{path.name}: not valid JSON: {first_line(exc)}") from exc
    raise IngestError(f"{path.name}: JSON without a list, an `elements` list or GeoJSON "
                      "`features`; give --format")


def import_cameras(conn: psycopg.Connection, path: Path, *, source: str | None = None,
                   kind: Kind | None = None, fmt: str = "auto", licence: str | None = None,
                   attribution: str | None = None, data_date: date | None = None,
                   options: CameraOptions = CameraOptions()) -> PlaceImport:
    """Import one file of camera reports as source `source`; measure how many fuse."""
    check_file(path)
    fmt = camera_format(path, fmt)
    default = options.default_type or ("cctv" if fmt == "osm" else "unknown")
    if default not in CAMERA_TYPES:
        raise IngestError(f"--default-type {default!r}: one of {', '.join(CAMERA_TYPES)}")
    if fmt == "osm" and (options.type or options.count or options.lat or options.lon):
        raise IngestError("--type/--count/--lat/--lon name CSV columns or JSON properties; "
                          "OSM tags give a camera's type")
    if options.precision is not None and not (0 < options.precision < 1e7):
        raise IngestError(f"--precision {options.precision:g}: give the location uncertainty "
                          "in metres, more than 0 (IP geolocation: 5000 or more)")
    readers = {"osm": _osm_rows, "json": _json_rows, "geojson": _geojson_rows, "csv": _csv_rows}
    spec = source_spec(path, "cameras", fmt, name=source, kind=kind, licence=licence,
                       attribution=attribution,
                       options={**asdict(options), "default_type": default}, data_date=data_date)
    outcome = PlaceImport(ImportResult(spec.name, spec.entity, unchanged=True))

    def load(ctx: ImportContext) -> int:
        keys = _StageKeys()
        if fmt == "csv":
            staged = ctx.copy_columns_to_staging("camera_stage", CAMERA_STAGE_COLUMNS,
                                                 _csv_columns(ctx, options, keys))
        else:
            staged = ctx.copy_to_staging("camera_stage", CAMERA_STAGE_COLUMNS,
                                         keys.track(readers[fmt](ctx, options)))
        if keys.repeated:  # else no row repeats another: the query would find nothing
            staged -= _reject_duplicates(ctx)
        ctx.execute_count(_SOURCE_PRECISION, (options.precision, ctx.source_id))
        params = {"source_id": ctx.source_id, "default_type": default,
                  **bbox_params(options.bbox)}
        ctx.execute_count("SET LOCAL jit = off")  # compiling costs more than the statements take
        accepted = ctx.execute_count(sql.query("ingest_cameras"), params)
        ctx.surveyed = ctx.execute_count(sql.query("ingest_survey_points"), params)
        outcome.skipped = staged - accepted - ctx.surveyed  # outside --bbox: left out on purpose
        _note_stacked(ctx)
        others = conn.execute(sql.query("ingest_other_camera_sources"),
                              {"source_id": ctx.source_id}).fetchone()
        if accepted and others is not None and others[0]:
            ctx.fused = fuse(conn, apply=False).fused(spec.name)  # `build` publishes it
        return accepted

    outcome.result = run_import(conn, spec, load)
    return outcome


class _StageKeys:
    """Watches the staged rows for the keys ingest_camera_duplicates.sql compares (the id; without
    one, the point and type), so that its window sorts run only when some key repeats.

    It keeps 8 bytes a row (the keys' hashes), and may see a repeat the query will not (two keys
    of one hash, a row rejected later for a control character), never the reverse: the query
    decides which rows are duplicates.
    """

    def __init__(self) -> None:
        self.hashes = array("q")

    @property
    def repeated(self) -> bool:
        """Whether two staged rows may share a key."""
        import numpy as np

        ordered = np.sort(np.frombuffer(self.hashes, dtype=np.int64))
        return bool((ordered[1:] == ordered[:-1]).any())

    def add(self, refs: pa.Array, points: Iterable[tuple[float, float, str]]) -> None:
        """Keys of a batch of rows: their ids (nulls: rows without one) and the points and types
        of the rows without an id."""
        self.hashes.extend(map(hash, refs.drop_null().to_pylist()))
        self.hashes.extend(map(hash, points))

    def track(self, rows: Iterable[CameraRow]) -> Iterator[CameraRow]:
        """`rows`, unchanged, their keys noted on the way to staging."""
        for row in rows:
            if row[1] is not None:
                self.hashes.append(hash(row[1]))
            elif row[4] is None and row[7] >= 1:  # a point (no geometry), a report (count >= 1)
                self.hashes.append(hash((row[2], row[3], row[5] or "")))
            yield row


def _reject_duplicates(ctx: ImportContext) -> int:
    """Reject rows repeating an earlier row of the file (same id; no id: same point and type)."""
    unit = POSITION_UNITS.get(ctx.spec.format, "line")
    with ctx.conn.cursor() as cur:
        cur.execute(sql.query("ingest_camera_duplicates"), {
            "source_id": ctx.source_id, "file_name": ctx.spec.path.name, "unit": unit})
        found = [Reject(line, reason) for line, reason in cur.fetchall()]
    if found:
        found.sort(key=lambda r: r.line or 0)
        ctx.rejects.counted(found)
        ctx.note(f"{len(found):,} duplicate rows rejected (the same id, or without an id the "
                 "same point and type, as an earlier row)")
    return len(found)


def _note_stacked(ctx: ImportContext) -> None:
    """Say which exact points carry more reports than CAMDENSITY_STACKED_REPORTS."""
    limit, top = ctx.limits.stacked_reports, ctx.limits.stacked_top
    found = ctx.conn.execute(sql.query("ingest_stacked_points"), {
        "source_id": ctx.source_id, "max_reports": limit, "top": top}).fetchall()
    if not found:
        return
    points, total = found[0][4], found[0][5]
    listed = "; ".join(f"{lat:.6f},{lon:.6f}: {reports:,} reports" for lat, lon, reports, *_ in found)
    precision = ("" if ctx.spec.options.get("precision") else
                 "; if the source locates coarsely (IP geolocation), give --precision METRES")
    ctx.note(f"stacked coordinates: {points:,} points carry {total:,} reports (more than "
             f"{limit} each, CAMDENSITY_STACKED_REPORTS); the most: {listed}{precision}")


# --- readers ------------------------------------------------------------------------------------


def _osm_rows(ctx: ImportContext, options: CameraOptions) -> Iterator[CameraRow]:
    """`man_made=surveillance` nodes, ways (and areas) of an OSM file with all their tags."""
    from camdensity.ingest import osm_places  # osmium and shapely: only for OSM files

    def wanted(tags: dict[str, str]) -> bool:
        return "surveillance" in {v.strip() for v in tags.get("man_made", "").split(";")}

    for found in osm_places.read_objects(ctx.spec.path, ("man_made",), wanted,
                                              ctx.note_data_date):
        ctx.advance()
        if found.wkb is None:
            ctx.reject(None, f"{found.source_ref}: {found.reason}", found.source_ref)
            continue
        yield (None, found.source_ref, None, None, found.wkb, None, None, 1, jsonb(found.tags))


def _row_count(ctx: ImportContext, number: int, props: dict[str, Any], options: CameraOptions,
               raw: dict[str, Any]) -> int | None:
    """The count of a JSON element / GeoJSON feature; None when rejected.

    From the --count property, else a `count` property when there is one, else 1.
    """
    name = options.count or next((n for n in COUNT_NAMES if n in props), None)
    if name is None:
        return 1
    count = parse_count(props.get(name))
    if isinstance(count, str):
        ctx.reject(number, count, jsonb(raw))
        return None
    return count


def _json_elements(ctx: ImportContext) -> Iterator[tuple[int, Any]]:
    """(number from 1, element) of a JSON list or of an Overpass object's `elements`, streamed."""
    path = ctx.spec.path
    with path.open("rb") as f:
        first = f.read(4096).lstrip()[:1]
    if first not in (b"[", b"{"):
        raise IngestError(f"{path.name} is not a JSON list or an Overpass result")
    key = None if first == b"[" else "elements"
    limit = ctx.limits.ingest_max_element_chars
    n = 0
    try:
        if first == b"{":
            ctx.note_data_date(_overpass_timestamp(path))
        with ctx.open_binary() as f:
            for n, element in enumerate(jsonstream.items(f, path.name, key), 1):
                if element is jsonstream.TOO_BIG:
                    ctx.reject(n, f"element larger than {limit:,} characters "
                               "(CAMDENSITY_INGEST_MAX_ELEMENT_CHARS)")
                    continue
                yield n, element
    except ijson.JSONError as exc:
        raise IngestError(
            f"{path.name}: not valid JSON after element {n}: {first_line(exc)}") from exc
    if n == 0 and first == b"{":
        raise IngestError(f"{path.name}: a JSON object without an `elements` list "
                          "(GeoJSON? give --format geojson)")


def _overpass_timestamp(path: Path) -> str | None:
    """Overpass's `osm3s.timestamp_osm_base` (the data's snapshot time), read from the head."""
    with path.open("rb") as f:
        for keys, event, value in jsonstream.head(f, path.name):
            if keys == ("osm3s", "timestamp_osm_base") and event == "string":
                return str(value)
            if len(keys) == 1 and event == "map_key" and value == "elements":
                return None  # it comes before the elements when Overpass writes it
    return None


def _json_rows(ctx: ImportContext, options: CameraOptions) -> Iterator[CameraRow]:
    """Flat `{id, lat, lon, type}` lists, DeFlock `{id, lat, lon, tags}` and Overpass elements."""
    for number, element in _json_elements(ctx):
        raw = jsonb(element) if not isinstance(element, dict) else None
        if not isinstance(element, dict):
            ctx.reject(number, "element is not a JSON object", raw)
            continue
        tags = element.get("tags") if isinstance(element.get("tags"), dict) else {}
        if isinstance(element.get("timestamp"), str):  # Overpass `out meta`: last edit
            ctx.note_data_date(element["timestamp"])
        where = element.get("center") if isinstance(element.get("center"), dict) else element
        lat = _first(where, (options.lat,) if options.lat else JSON_LAT)
        lon = _first(where, (options.lon,) if options.lon else JSON_LON)
        point = parse_point(lat, lon)
        element_type = element.get("type") if element.get("type") in OSM_ELEMENT_TYPES else None
        if isinstance(point, str):
            if element_type in ("way", "relation") and lat is None and lon is None:
                point = f"a {element_type} without coordinates (Overpass: query with `out center;`)"
            ctx.reject(number, point, jsonb(element))
            continue
        attrs = {k: v for k, v in element.items()
                 if k not in JSON_KEPT_OUT and not (k == "type" and element_type)}
        attrs.update({str(k): v for k, v in tags.items()})
        count = _row_count(ctx, number, attrs, options, element)
        if count is None:
            continue
        ident = element.get(options.id) if options.id else element.get("id")
        ref = None if ident is None else (f"{element_type}/{ident}" if element_type else str(ident))
        type_given = first_property(attrs, (options.type,) if options.type else ("type",))
        operator = first_property(attrs, (options.operator,)) if options.operator else None
        yield (number, ref, point[1], point[0], None, type_given, operator, count, jsonb(attrs))


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((obj[k] for k in keys if obj.get(k) is not None), None)


def _geojson_rows(ctx: ImportContext, options: CameraOptions) -> Iterator[CameraRow]:
    """Point and MultiPoint features (one report per point), properties kept."""
    for number, feature in geojson_features(ctx):
        geometry = feature.get("geometry") if isinstance(feature.get("geometry"), dict) else None
        gtype = geometry.get("type") if geometry else None
        coords = geometry.get("coordinates") if geometry else None
        if gtype == "Point":
            points = [coords]
        elif gtype == "MultiPoint" and isinstance(coords, list):
            points = coords
        else:
            reason = ("feature has no geometry" if geometry is None else
                      f"geometry type {gtype!r}: camera reports are Point or MultiPoint")
            ctx.reject(number, reason, jsonb(feature))
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        count = _row_count(ctx, number, props, options, feature)
        if count is None:
            continue
        ident = first_property(props, (options.id,)) if options.id else (
            str(feature["id"]) if feature.get("id") is not None else first_property(props, ID_NAMES))
        type_given = first_property(props, (options.type,) if options.type else TYPE_NAMES)
        operator = first_property(props, (options.operator,)) if options.operator else None
        attrs = jsonb(props)
        for k, position in enumerate(points, 1):
            ok = isinstance(position, (list, tuple)) and len(position) >= 2
            point = parse_point(position[1], position[0]) if ok else "invalid position"
            if isinstance(point, str):
                where = f"point {k}: " if len(points) > 1 else ""
                ctx.reject(number, where + point, jsonb(feature))
                continue
            ref = ident if ident is None or len(points) == 1 else f"{ident}#{k}"
            yield (number, ref, point[1], point[0], None, type_given, operator, count, attrs)


def _csv_rows(ctx: ImportContext, options: CameraOptions) -> Iterator[CameraRow]:
    """Rows of any CSV: coordinates checked, optional type, id, count and operator columns."""
    with open_csv(ctx, options.encoding) as table:
        ref = table.column(options.id, ID_NAMES, what="id", required=False)
        ctype = table.column(options.type, TYPE_NAMES, what="type", required=False)
        count_col = table.column(options.count, COUNT_NAMES, what="count", required=False)
        operator = table.column(options.operator, OPERATOR_NAMES, what="operator", required=False)
        for line, fields, raw, lon, lat in csv_points(ctx, table, options):
            count: int | str = 1
            if count_col is not None:
                count = parse_count(fields[count_col])
                if isinstance(count, str):
                    ctx.reject(line, count, raw)
                    continue
            attrs = {h: v for h, v in zip(table.header, fields) if v.strip()}
            yield (line, csv_field(fields, ref), lon, lat, None, csv_field(fields, ctype),
                   csv_field(fields, operator), count, jsonb(attrs))


def _csv_columns(ctx: ImportContext, options: CameraOptions,
                 keys: _StageKeys) -> Iterator[list[Column]]:
    """The rows of a CSV as batches of CAMERA_STAGE_COLUMNS, checked a column at a time.

    The same rows and the same rejects as `_csv_rows`: a row whose coordinates (and count) are
    plain numbers in range, in a batch without control characters, is accepted from its columns
    (ingest/columns.py); every other row goes through `_csv_rows`'s checks one by one, in line
    order. Accepted rows keep their line order.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from camdensity.ingest import columns as col

    limit = ctx.limits.ingest_max_count
    with open_csv(ctx, options.encoding) as table:
        ref = table.column(options.id, ID_NAMES, what="id", required=False)
        ctype = table.column(options.type, TYPE_NAMES, what="type", required=False)
        count_col = table.column(options.count, COUNT_NAMES, what="count", required=False)
        operator = table.column(options.operator, OPERATOR_NAMES, what="operator", required=False)
        lat = table.column(options.lat, LAT_NAMES, what="latitude")
        lon = table.column(options.lon, LON_NAMES, what="longitude")
        width = len(table.header)
        for batch in table.batches:
            records, n = batch.records, len(batch.records)
            sure = np.zeros(n, dtype=bool)
            lats, lons, counts = np.zeros(n), np.zeros(n), np.ones(n, dtype=np.int64)
            full = np.flatnonzero(np.fromiter(map(len, records), np.int64, n) == width)
            # The fields of the rows of the header's width, a column each (no other row is kept).
            fields = [col.strings(c) for c in zip(*_pick(records, full))]
            if batch.clean and len(full):
                lat_ok, lats[full] = col.coordinates(fields[lat], 90.0)
                lon_ok, lons[full] = col.coordinates(fields[lon], 180.0)
                ok = lat_ok & lon_ok
                if count_col is not None:
                    count_ok, counts[full] = col.counts(fields[count_col], limit)
                    ok &= count_ok
                sure[full[ok]] = True
            for i in np.flatnonzero(~sure):  # the rest, one by one, as _csv_rows checks them
                start, row = batch.starts[i], records[i]
                if not table.keep(start, row, batch.clean):
                    continue
                raw = CsvTable.raw(row, table.delimiter)
                if len(row) != width:
                    ctx.reject(start, f"{len(row)} fields where the header has {width}", raw)
                    continue
                point = parse_point(row[lat], row[lon])
                if isinstance(point, str):
                    ctx.reject(start, point, raw)
                    continue
                if count_col is not None:
                    count = parse_count(row[count_col])
                    if isinstance(count, str):
                        ctx.reject(start, count, raw)
                        continue
                    counts[i] = count
                lats[i], lons[i] = point
                sure[i] = True
            kept = np.flatnonzero(sure)
            if not len(kept):
                continue
            if len(kept) < len(full):
                at = pa.array(np.searchsorted(full, kept))
                fields = [c.take(at) for c in fields]
            attrs, plain = col.json_objects(table.header, fields)
            if not plain.all():  # fields JSON must escape: those rows' objects from orjson
                escaped = np.flatnonzero(~plain)
                attrs = pc.replace_with_mask(attrs, pa.array(~plain), pa.array(
                    [jsonb({h: v for h, v in zip(table.header, records[kept[j]]) if v.strip()})
                     for j in escaped], pa.string()))

            none = pa.nulls(len(kept), pa.string())
            refs, types, operators = (none if i is None else col.stripped_or_null(fields[i])
                                      for i in (ref, ctype, operator))
            lons_kept, lats_kept, counts_kept = lons[kept], lats[kept], counts[kept]
            unnamed = np.flatnonzero(refs.is_null().to_numpy(zero_copy_only=False)
                                     & (counts_kept >= 1))
            keys.add(refs, zip(lons_kept[unnamed].tolist(), lats_kept[unnamed].tolist(),
                               [t or "" for t in types.take(pa.array(unnamed)).to_pylist()]))
            yield [np.asarray(batch.starts)[kept], refs, lons_kept, lats_kept,
                   none, types, operators, counts_kept, attrs]


def _pick(records: list[list[str]], index: Any) -> list[list[str]]:
    """The records at `index` (ascending numpy indices); all of them without copying."""
    return records if len(index) == len(records) else [records[i] for i in index.tolist()]
