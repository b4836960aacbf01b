"""Import addresses for the offline geocoder from OSM `addr:*` tags, CSV or GeoJSON.

OpenAddresses files (CSV `LON,LAT,NUMBER,STREET,UNIT,CITY,DISTRICT,REGION,POSTCODE,ID,HASH`,
and its GeoJSON, a collection or one feature a line) are read by their usual names; a CSV with
one full-address column ("328 WEST 48 STREET") is split into number and street by usaddress.
A house number is required: a CSV without a number column is refused (listing its columns)
unless `--street-only` says streets alone are wanted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import psycopg

from camdensity.address_parse import split_number
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
    "housenumber": ("housenumber", "addr:housenumber", "house_number", "number", "housenr",
                    "house_num", "housenum", "house_no", "address_number", "street_number",
                    "addr_num", "hnum"),
    "postcode": ("postcode", "addr:postcode", "postal_code", "zip", "zipcode", "zip_code"),
    "city": ("city", "addr:city", "town", "municipality", "locality", "boro", "borough"),
}
# OpenAddresses leaves CITY empty where its DISTRICT (a borough, a county) is the place.
DISTRICT_NAMES: tuple[str, ...] = ("district",)
# A column holding the whole "number street" text, tried when none is named.
FULL_ADDRESS_NAMES: tuple[str, ...] = ("address", "full_address", "street_address", "addr")
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
    address: str | None = None  # one column with "number street", split by usaddress
    street_only: bool = False  # accept addresses without a house number (street-level only)


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
         lon: float | None, lat: float | None, street_only: bool) -> AddressRow | str:
    """A staging row, or why the parts make no address."""
    if not (parts["street"] or parts["housenumber"]):
        return "no street and no house number"
    if not parts["housenumber"] and not street_only:
        return "no house number (--street-only imports streets without numbers)"
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
        district = table.column(None, DISTRICT_NAMES, what="district", required=False)
        full = None
        if options.address or (columns["street"] is None and columns["housenumber"] is None):
            full = table.column(options.address, FULL_ADDRESS_NAMES, what="address",
                                required=False)
        if full is None and columns["housenumber"] is None and not options.street_only:
            raise IngestError(
                "no house number column: name it with --housenumber, or a one-column address "
                "with --address, or import streets only with --street-only "
                f"(columns: {', '.join(table.header)})")
        if full is None and columns["street"] is None:
            raise IngestError("no street column: name it with --street, or a one-column "
                              f"address with --address (columns: {', '.join(table.header)})")
        for line, fields, raw, lon, lat in csv_points(ctx, table, options):
            parts = {part: csv_field(fields, i) for part, i in columns.items()}
            parts["city"] = parts["city"] or csv_field(fields, district)
            text = csv_field(fields, full)
            if text is not None:
                parts["housenumber"], parts["street"] = split_number(text)
            row = _row(csv_field(fields, ref), parts, None, lon, lat, options.street_only)
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
        parts["city"] = parts["city"] or first_property(props, DISTRICT_NAMES)
        ref = feature_id(feature, props, options.id, ID_NAMES)
        text = first_property(props, (options.address,) if options.address else
                              FULL_ADDRESS_NAMES) if not parts["street"] else None
        if text is not None:
            parts["housenumber"], parts["street"] = split_number(text)
        row = _row(ref, parts, wkb, None, None, options.street_only)
        if isinstance(row, str):
            ctx.reject(number, row, raw)
        else:
            yield row
