"""Import addresses for the offline geocoder from OSM `addr:*` tags, CSV or GeoJSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import psycopg

from camdensity.ingest import osm_places
from camdensity.ingest.csvfile import open_csv
from camdensity.ingest.pipeline import ImportContext, IngestError, Kind
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

ADDRESS_STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_ref", "text"), ("street", "text"), ("housenumber", "text"), ("postcode", "text"),
    ("city", "text"), ("label", "text"), ("wkb", "text"),
    ("lon", "double precision"), ("lat", "double precision"),
)
# Usual column / property names of each part, tried in order when none is named.
PART_NAMES: dict[str, tuple[str, ...]] = {
    "street": ("street", "addr:street", "street_name", "streetname", "road"),
    "housenumber": ("housenumber", "addr:housenumber", "house_number", "number", "housenr"),
    "postcode": ("postcode", "addr:postcode", "postal_code", "zip", "zipcode", "zip_code"),
    "city": ("city", "addr:city", "town", "municipality", "locality"),
}
ID_NAMES: tuple[str, ...] = ("id", "ref", "address_id")

AddressRow = tuple[str | None, str | None, str | None, str | None, str | None, str, str | None,
                   float | None, float | None]


@dataclass(frozen=True)
class AddressOptions(PlaceOptions):
    """Column (CSV) or property (GeoJSON) names of the address parts; None: the usual names."""

    street: str | None = None
    housenumber: str | None = None
    postcode: str | None = None
    city: str | None = None


def import_addresses(conn: psycopg.Connection, path: Path, *, source: str | None = None,
                     kind: Kind | None = None, fmt: str = "auto", licence: str | None = None,
                     attribution: str | None = None, data_date: date | None = None,
                     options: AddressOptions = AddressOptions()) -> PlaceImport:
    """Import one file of addresses as source `source` (default: the file's name)."""
    fmt = place_format(path, fmt)
    readers = {"osm": _osm_rows, "csv": _csv_rows, "geojson": _geojson_rows}

    def rows(ctx: ImportContext) -> Iterator[AddressRow]:
        return readers[fmt](ctx, options)

    spec = source_spec(path, "addresses", fmt, name=source, kind=kind, licence=licence,
                       attribution=attribution, options=asdict(options), data_date=data_date)
    return import_places(conn, spec, stage="address_stage", columns=ADDRESS_STAGE_COLUMNS,
                         rows=rows, query="ingest_addresses", bbox=options.bbox)


def _row(ref: str | None, parts: dict[str, str | None], wkb: str | None,
         lon: float | None, lat: float | None) -> AddressRow | str:
    """A staging row, or why the parts make no address."""
    if not (parts["street"] or parts["housenumber"]):
        return "no street and no house number"
    label = osm_places.address_label(parts["street"], parts["housenumber"], parts["postcode"],
                                     parts["city"])
    return (ref, parts["street"], parts["housenumber"], parts["postcode"], parts["city"],
            label or "", wkb, lon, lat)


def _osm_rows(ctx: ImportContext, options: AddressOptions) -> Iterator[AddressRow]:
    """Every OSM object with addr:housenumber (a building's polygon: SQL takes its centroid)."""
    for item in osm_places.read_addresses(ctx.spec.path, ctx.note_data_date):
        ctx.advance()
        if isinstance(item, osm_places.OsmReject):
            ctx.reject(None, f"{item.source_ref}: {item.reason}", item.source_ref)
        else:
            yield (item.source_ref, item.street, item.housenumber, item.postcode, item.city,
                   item.label, item.wkb, None, None)


def _csv_rows(ctx: ImportContext, options: AddressOptions) -> Iterator[AddressRow]:
    """Addresses from CSV rows with coordinates; a row without them is rejected."""
    with open_csv(ctx, options.encoding) as table:
        ref = table.column(options.id, ID_NAMES, what="id", required=False)
        columns = {part: table.column(getattr(options, part), names, what=part, required=False)
                   for part, names in PART_NAMES.items()}
        if columns["street"] is None and columns["housenumber"] is None:
            raise IngestError("no street or house number column; give --street / --housenumber "
                              f"(columns: {', '.join(table.header)})")
        for line, fields, raw, lon, lat in csv_points(ctx, table, options):
            parts = {part: csv_field(fields, i) for part, i in columns.items()}
            row = _row(csv_field(fields, ref), parts, None, lon, lat)
            if isinstance(row, str):
                ctx.reject(line, row, raw)
            else:
                yield row


def _geojson_rows(ctx: ImportContext, options: AddressOptions) -> Iterator[AddressRow]:
    """Addresses from GeoJSON features (any geometry: SQL takes its centroid)."""
    for number, feature, props, raw, wkb in geojson_places(ctx):
        parts = {part: first_property(props, (getattr(options, part),) if getattr(options, part)
                                      else names)
                 for part, names in PART_NAMES.items()}
        ref = feature_id(feature, props, options.id, ID_NAMES)
        row = _row(ref, parts, wkb, None, None)
        if isinstance(row, str):
            ctx.reject(number, row, raw)
        else:
            yield row
