"""What the site and address importers share: formats, bounding boxes, GeoJSON features."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ijson
import psycopg

from camdensity import sql
from camdensity.ingest import jsonstream
from camdensity.ingest.csvfile import CsvTable
from camdensity.ingest.pipeline import (
    Entity,
    ImportContext,
    ImportResult,
    IngestError,
    Kind,
    SourceSpec,
    first_line,
    jsonb,
    run_import,
)
from camdensity.ingest.values import parse_point

OSM_LICENCE = "ODbL-1.0"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"

PLACE_FORMATS: tuple[str, ...] = ("auto", "osm", "csv", "geojson")
_SUFFIXES: dict[str, str] = {
    ".pbf": "osm", ".osm": "osm", ".o5m": "osm",
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".geojson": "geojson", ".json": "geojson",
}
# Usual names of coordinate columns, tried in order when no column is named.
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "y", "lat_wgs84", "latitude_wgs84")
LON_NAMES: tuple[str, ...] = (
    "lon", "lng", "long", "longitude", "x", "lon_wgs84", "longitude_wgs84",
)

BBox = tuple[float, float, float, float]


def place_format(path: Path, given: str, formats: tuple[str, ...] = PLACE_FORMATS) -> str:
    """The input format: as given (one of `formats`), or from the file name (`auto`)."""
    if given != "auto":
        if given not in formats:
            raise IngestError(f"unknown format {given!r} (one of {', '.join(formats)})")
        return given
    name = path.name.lower()
    if name.endswith((".osm.pbf", ".osm.bz2", ".osm.gz", ".osm")):
        return "osm"
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        choices = "|".join(f for f in formats if f != "auto")
        raise IngestError(f"cannot tell the format of {path.name}; give --format {choices}")
    return fmt


def parse_bbox(text: str | None) -> BBox | None:
    """"minlon,minlat,maxlon,maxlat" as numbers, checked; None when not given."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise IngestError(f"--bbox {text!r} is not minlon,minlat,maxlon,maxlat")
    minlon, minlat, maxlon, maxlat = values
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise IngestError(f"--bbox {text!r}: need -180 <= minlon < maxlon <= 180, "
                          "-90 <= minlat < maxlat <= 90")
    return minlon, minlat, maxlon, maxlat


def bbox_params(bbox: BBox | None) -> dict[str, float | None]:
    """The %(minlon)s..%(maxlat)s parameters of the ingest queries (all NULL: no box)."""
    keys = ("minlon", "minlat", "maxlon", "maxlat")
    return dict(zip(keys, bbox if bbox is not None else (None,) * 4))


def _geojson_lines(path: Path) -> bool:
    """Whether the file is GeoJSON text sequence (one Feature a line, as OpenAddresses writes).

    Its first two lines must each be a whole Feature: one Feature alone is no collection.
    """
    with path.open("rb") as f:
        lines = [f.readline(1 << 20).strip().lstrip(b"\x1e") for _ in range(2)]
    for line in lines:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return False
        if not (isinstance(obj, dict) and obj.get("type") == "Feature"):
            return False
    return True


def geojson_features(ctx: ImportContext) -> Iterator[tuple[int, dict[str, Any]]]:
    """(feature number from 1, feature) of a GeoJSON FeatureCollection (or one a line), streamed."""
    n = 0
    name = ctx.spec.path.name
    limit = ctx.limits.ingest_max_element_chars
    if _geojson_lines(ctx.spec.path):
        with ctx.open_binary() as f:
            for n, line in enumerate(f, 1):
                text = line.strip().lstrip(b"\x1e")
                if not text:
                    continue
                if len(text) > limit:
                    ctx.reject(n, f"feature larger than {limit:,} characters "
                               "(CAMDENSITY_INGEST_MAX_ELEMENT_CHARS)")
                    continue
                try:
                    feature = json.loads(text)
                except ValueError as exc:
                    ctx.reject(n, f"not valid JSON: {first_line(exc)}",
                               text.decode("utf-8", "replace"))
                    continue
                yield n, feature if isinstance(feature, dict) else {"_": feature}
        return
    try:
        with ctx.open_binary() as f:
            for n, feature in enumerate(jsonstream.items(f, name, "features"), 1):
                if feature is jsonstream.TOO_BIG:
                    ctx.reject(n, f"feature larger than {limit:,} characters "
                               "(CAMDENSITY_INGEST_MAX_ELEMENT_CHARS)")
                    continue
                yield n, feature if isinstance(feature, dict) else {"_": feature}
        if n == 0:
            with ctx.spec.path.open("rb") as f:
                kind = next((v for keys, event, v in jsonstream.head(f, name)
                             if keys == ("type",) and event == "string"), None)
            if kind != "FeatureCollection":
                raise IngestError(f"{name} is not a GeoJSON FeatureCollection")
    except ijson.JSONError as exc:
        raise IngestError(
            f"{ctx.spec.path.name}: not valid JSON after feature {n}: {first_line(exc)}"
        ) from exc


def geojson_places(ctx: ImportContext,
                   ) -> Iterator[tuple[int, dict[str, Any], dict[str, Any], str, str]]:
    """(number, feature, properties, raw JSON, hex WKB) of usable features; the rest rejected."""
    for number, feature in geojson_features(ctx):
        raw = jsonb(feature)
        wkb, reason = feature_geometry(feature)
        if wkb is None:
            ctx.reject(number, reason, raw)
        else:
            yield number, feature, feature.get("properties") or {}, raw, wkb


def feature_id(feature: dict[str, Any], props: dict[str, Any], given: str | None,
               usual: Sequence[str]) -> str | None:
    """A feature's own id: the named property, else the feature's id, else a usual property."""
    if given:
        return first_property(props, (given,))
    if feature.get("id") is not None:
        return str(feature["id"])
    return first_property(props, usual)


def feature_geometry(feature: dict[str, Any]) -> tuple[str | None, str]:
    """(hex WKB, "") of a usable feature geometry (repaired if invalid), or (None, why not)."""
    import shapely  # with GEOS and numpy: imported only for files with geometries
    import shapely.errors
    import shapely.geometry

    geometry = feature.get("geometry")
    if not geometry:
        return None, "feature has no geometry"
    try:
        shape = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError,
            shapely.errors.GEOSException) as exc:
        return None, f"invalid geometry: {exc or type(exc).__name__}"
    if shape.is_empty:
        return None, "empty geometry"
    minx, miny, maxx, maxy = shape.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return None, "geometry has non-finite coordinates"
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        return None, (f"coordinates out of range (lon {minx:g}..{maxx:g}, lat {miny:g}..{maxy:g});"
                      " GeoJSON is lon/lat in EPSG:4326")
    if not shape.is_valid:
        shape = shapely.make_valid(shape)  # self-intersecting rings are common in hand-drawn files
    return shape.wkb_hex, ""


@dataclass
class PlaceImport:
    """What a site or address import did: the pipeline's result plus rows outside --bbox."""

    result: ImportResult
    skipped: int = 0


def import_places(conn: psycopg.Connection, spec: SourceSpec, *, stage: str,
                  columns: Sequence[tuple[str, str]],
                  rows: Callable[[ImportContext], Iterable[Sequence[Any]]],
                  query: str, bbox: BBox | None) -> PlaceImport:
    """Run one import: stage `rows` with COPY, then insert them with the constant `query`."""
    outcome = PlaceImport(ImportResult(spec.name, spec.entity, unchanged=True))

    def load(ctx: ImportContext) -> int:
        staged = ctx.copy_to_staging(stage, columns, rows(ctx))
        accepted = ctx.execute_count(sql.query(query),
                                     {"source_id": ctx.source_id, **bbox_params(bbox)})
        outcome.skipped = staged - accepted  # outside the box: left out on purpose, not rejected
        return accepted

    outcome.result = run_import(conn, spec, load)
    return outcome


def source_spec(path: Path, entity: Entity, fmt: str, *, name: str | None, kind: Kind | None,
                licence: str | None, attribution: str | None,
                options: dict[str, Any], data_date: date | None = None) -> SourceSpec:
    """The source being imported; OSM data defaults to crowdsourced, ODbL, OSM attribution."""
    osm = fmt == "osm"
    return SourceSpec(
        name=name or path.name.split(".")[0], entity=entity,
        kind=kind or ("crowdsourced" if osm else "reported"), path=path, format=fmt,
        licence=licence or (OSM_LICENCE if osm else None),
        attribution=attribution or (OSM_ATTRIBUTION if osm else None),
        options={k: v for k, v in options.items() if v is not None},
        data_date=data_date,
    )


@dataclass(frozen=True)
class PlaceOptions:
    """Options every place import takes: coordinate and id columns, encoding, bounding box."""

    lat: str | None = None
    lon: str | None = None
    id: str | None = None
    encoding: str | None = None
    bbox: BBox | None = None


def csv_points(ctx: ImportContext, table: CsvTable, options: PlaceOptions,
               ) -> Iterator[tuple[int, list[str], str, float, float]]:
    """(line, fields, raw text, lon, lat) of the rows with usable coordinates; the rest rejected."""
    lat = table.column(options.lat, LAT_NAMES, what="latitude")
    lon = table.column(options.lon, LON_NAMES, what="longitude")
    width = len(table.header)
    for line, fields in table.rows:
        raw = CsvTable.raw(fields, table.delimiter)
        if len(fields) != width:
            ctx.reject(line, f"{len(fields)} fields where the header has {width}", raw)
            continue
        point = parse_point(fields[lat], fields[lon])  # type: ignore[index]
        if isinstance(point, str):
            ctx.reject(line, point, raw)
            continue
        yield line, fields, raw, point[1], point[0]


def csv_field(fields: list[str], index: int | None) -> str | None:
    """A field's text, stripped; None when the column is absent or the field empty."""
    if index is None:
        return None
    return fields[index].strip() or None


def first_property(props: dict[str, Any], names: Sequence[str | None]) -> str | None:
    """The first non-empty property among `names`, as text."""
    for key in names:
        value = props.get(key) if key else None
        if value not in (None, ""):
            return str(value).strip()
    return None
