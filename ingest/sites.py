"""Import sensitive sites (clinics, schools, immigration offices...) from OSM, CSV or GeoJSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import psycopg

from camdensity.ingest import osm_places
from camdensity.ingest.csvfile import open_csv
from camdensity.ingest.pipeline import ImportContext, IngestError, Kind, jsonb
from camdensity.ingest.places import (
    PlaceImport,
    PlaceOptions,
    csv_field,
    csv_points,
    feature_id,
    first_property,
    geojson_places,
    import_places,
    place_format,
    source_spec,
)
from camdensity.settings import SITE_CATEGORIES

SITE_STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("line", "integer"), ("source_ref", "text"), ("category", "text"), ("name", "text"),
    ("address", "text"), ("attrs", "jsonb"), ("wkb", "text"),
    ("lon", "double precision"), ("lat", "double precision"),
)
# Usual column / property names, tried in order when none is named on the command line.
NAME_NAMES: tuple[str, ...] = ("name", "site_name", "facility_name", "school_name",
                               "location_name", "title")
ID_NAMES: tuple[str, ...] = ("id", "ref", "identifier", "site_id")
ADDRESS_NAMES: tuple[str, ...] = ("address", "addr", "street_address", "full_address")

SiteRow = tuple[int | None, str | None, str, str | None, str | None, str, str | None,
                float | None, float | None]


@dataclass(frozen=True)
class SiteOptions(PlaceOptions):
    """How to read the file: the category (fixed or from a column) and the column mapping."""

    category: str | None = None
    category_column: str | None = None
    name: str | None = None
    address: str | None = None


def site_category(value: str | None) -> str | None:
    """A category from the vocabulary, or from an OSM amenity value ("hospital" -> clinic)."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in SITE_CATEGORIES:
        return v
    return osm_places.classify({"amenity": v.replace(" ", "_")})


def _categories() -> str:
    return ", ".join(SITE_CATEGORIES)


def import_sites(conn: psycopg.Connection, path: Path, *, source: str | None = None,
                 kind: Kind | None = None, fmt: str = "auto", licence: str | None = None,
                 attribution: str | None = None, data_date: date | None = None,
                 options: SiteOptions = SiteOptions()) -> PlaceImport:
    """Import one file of sites as source `source` (default: the file's name)."""
    fmt = place_format(path, fmt)
    fixed = site_category(options.category) if options.category else None
    if options.category and fixed is None:
        raise IngestError(f"unknown category {options.category!r} (one of {_categories()})")
    if fmt == "osm" and options.category_column:
        raise IngestError("--category-column applies to CSV and GeoJSON; "
                          "OSM tags give the category")
    if fmt != "osm" and not (fixed or options.category_column):
        raise IngestError("give the sites' category: --category C or --category-column COLUMN")
    readers = {"osm": _osm_rows, "csv": _csv_rows, "geojson": _geojson_rows}

    def rows(ctx: ImportContext) -> Iterator[SiteRow]:
        return readers[fmt](ctx, options, fixed)

    spec = source_spec(path, "sites", fmt, name=source, kind=kind, licence=licence,
                       attribution=attribution, options=asdict(options), data_date=data_date)
    return import_places(conn, spec, stage="site_stage", columns=SITE_STAGE_COLUMNS, rows=rows,
                         query="ingest_sites", bbox=options.bbox)


def _osm_rows(ctx: ImportContext, options: SiteOptions, only: str | None) -> Iterator[SiteRow]:
    """Sites from OSM tags; with --category, only sites of that category."""
    for item in osm_places.read_sites(ctx.spec.path, ctx.note_data_date):
        ctx.advance()
        if isinstance(item, osm_places.OsmReject):
            ctx.reject(None, f"{item.source_ref}: {item.reason}", item.source_ref)
        elif only is None or item.category == only:
            yield (None, item.source_ref, item.category, item.name, item.address,
                   jsonb(item.tags), item.wkb, None, None)


def _csv_rows(ctx: ImportContext, options: SiteOptions, fixed: str | None) -> Iterator[SiteRow]:
    """Point sites from CSV rows; a row without usable coordinates or category is rejected."""
    with open_csv(ctx, options.encoding) as table:
        name = table.column(options.name, NAME_NAMES, what="name", required=False)
        ref = table.column(options.id, ID_NAMES, what="id", required=False)
        address = table.column(options.address, ADDRESS_NAMES, what="address", required=False)
        category = (table.column(options.category_column, what="category")
                    if options.category_column else None)
        for line, fields, raw, lon, lat in csv_points(ctx, table, options):
            cat = fixed
            if category is not None:
                cat = site_category(fields[category])
                if cat is None:
                    ctx.reject(line, f"unknown category {fields[category].strip()!r} "
                                     f"(one of {_categories()})", raw)
                    continue
            yield (line, csv_field(fields, ref), cat or "", csv_field(fields, name),
                   csv_field(fields, address), jsonb(dict(zip(table.header, fields))), None,
                   lon, lat)


def _geojson_rows(ctx: ImportContext, options: SiteOptions,
                  fixed: str | None) -> Iterator[SiteRow]:
    """Sites from GeoJSON features, polygons kept; `line` is the feature's number."""
    for number, feature, props, raw, wkb in geojson_places(ctx):
        cat = fixed
        if options.category_column:
            value = props.get(options.category_column)
            cat = site_category(str(value)) if value is not None else None
            if cat is None:
                ctx.reject(number, f"unknown category {value!r} in property "
                                   f"{options.category_column!r} (one of {_categories()})", raw)
                continue
        ref = feature_id(feature, props, options.id, ID_NAMES)
        name = first_property(props, (options.name,) if options.name else NAME_NAMES)
        address = first_property(props, (options.address,) if options.address else ADDRESS_NAMES)
        yield (number, ref, cat or "", name, address, jsonb(props), wkb, None, None)
