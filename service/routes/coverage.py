"""`/coverage`: how watched is this address or point, and how does it compare with the city?

Privacy: the queried address and coordinates are never logged or stored. They reach the database
only as statement parameters (the server runs with log_statement=none), nothing here logs, and
the answer is marked `Cache-Control: no-store` so no shared cache keeps it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Annotated, Any

import h3
from fastapi import APIRouter, HTTPException, Query, Request, Response
from psycopg import AsyncRawCursor
from psycopg import sql as pgsql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from camdensity import sql
from camdensity.service.geocode import (
    AddressAmbiguous,
    AddressNotFound,
    Geocoded,
    GeocoderUnavailable,
    geocode,
)
from camdensity.service.openapi import AddressAmbiguousMessage, AddressNotFoundMessage, error
from camdensity.service.routes.sites import NEAR_REQUIRED, NO_FILTER, ORDERS, site_json
from camdensity.settings import (
    CAMERA_TYPES,
    EXPOSURE_RADII_M,
    OPERATOR_TYPES,
    ingest_settings,
    method_settings,
    service_settings,
)

router = APIRouter(tags=["coverage"])

NO_STORE = {"Cache-Control": "no-store"}
MIN_RADIUS_M, MAX_RADIUS_M = 10, 2000
# H3 resolution of the cells listed as touched, by radius: ~15-100 cells for a 200 m disc,
# never more than ~1,000 for the largest radius.
HEX_RESOLUTION_BY_RADIUS: tuple[tuple[int, int], ...] = ((100, 11), (500, 10), (MAX_RADIUS_M, 9))
MAX_SITES = 100


AddressQuery = Annotated[
    str | None,
    Query(
        max_length=300,
        description="Address to look up, as people type it (abbreviations, case, accents and "
        "small typos forgiven; a ZIP or city narrows it), e.g. `328 W 48th St, New York` or "
        "`Mannerheimintie 5, Helsinki`. Not with lat/lon.",
    ),
]
GEOCODE_RESPONSES: dict[int | str, dict[str, Any]] = {
    300: error("Several places match the address about equally well (the same street in "
               "two boroughs, a number on two streets): `detail.candidates` lists them, each "
               "with its point, score and precision", AddressAmbiguousMessage),
    404: error("The address matches no imported address (or none is loaded): "
               "`detail.suggestions` lists up to five near ones (may be empty)",
               AddressNotFoundMessage),
    502: error("The external geocoder (`CAMDENSITY_GEOCODER_URL`) failed, timed out or answered "
               "nonsense; the message never holds the query"),
}


def hexagon_resolution(radius_m: int) -> int:
    """The H3 resolution at which the cells a disc of this radius touches are listed."""
    return next(res for limit, res in HEX_RESOLUTION_BY_RADIUS if radius_m <= limit)


def baseline_radius(radius_m: int) -> int:
    """The baseline radius compared against: the chosen one when measured, else the nearest."""
    return min(EXPOSURE_RADII_M, key=lambda r: (abs(r - radius_m), r))


def _bad_request(message: str) -> HTTPException:
    return HTTPException(422, message, headers=NO_STORE)


async def locate(
    pool: AsyncConnectionPool, address: str | None, lat: float | None, lon: float | None
) -> Geocoded:
    """The point asked about: the geocoded address (on a connection of `pool`), or the
    coordinates as given (no connection)."""
    if address is not None and (lat is not None or lon is not None):
        raise _bad_request("give either `address` or `lat` and `lon`, not both")
    if address is not None:
        if not address.strip():
            raise _bad_request("`address` is empty")
        if any(ord(c) < 32 or ord(c) == 127 for c in address):
            raise _bad_request("`address` contains control characters")
        try:
            async with pool.connection() as conn:
                return await geocode(conn, service_settings(), address)
        except AddressNotFound as exc:
            message = (
                "no address data loaded: import addresses (see README)" if exc.empty_store
                else "no imported address matches this query; check the spelling or try one of "
                "the suggestions, or give lat and lon"
            )
            raise HTTPException(
                404, {"message": message, "suggestions": exc.suggestions}, headers=NO_STORE
            ) from None
        except AddressAmbiguous as exc:
            raise HTTPException(
                300,
                {
                    "message": "several places match this query: add the ZIP, city or house "
                    "number, or pick one of the candidates",
                    "candidates": [c.json() for c in exc.candidates],
                },
                headers=NO_STORE,
            ) from None
        except GeocoderUnavailable as exc:
            raise HTTPException(502, str(exc), headers=NO_STORE) from None
    if lat is None or lon is None:
        raise _bad_request("give `address`, or both `lat` and `lon`")
    return Geocoded("", lon, lat, None, "point", "none")


def statement_parameters(lon: float, lat: float, radius: int) -> dict[str, Any]:
    """coverage.sql's parameters for a point and radius (sites: the nearest MAX_SITES)."""
    return {**NO_FILTER, "lon": lon, "lat": lat, "radius": radius,
            "base_radius": baseline_radius(radius), "city": method_settings().city_radius_m,
            "low_m": ingest_settings().low_precision_m, "limit": MAX_SITES}


@functools.cache
def coverage_statement() -> str:
    """coverage.sql with sites.sql (ordered by distance, within the radius) inside: constant
    text with `%(name)s` placeholders, composed once."""
    sites = pgsql.SQL(sql.query("sites")).format(order=pgsql.SQL(ORDERS["distance"]),  # type: ignore[arg-type]
                                                 near=pgsql.SQL(NEAR_REQUIRED))  # type: ignore[arg-type]
    return pgsql.SQL(sql.query("coverage")).format(sites=sites).as_string(None)  # type: ignore[arg-type]


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@functools.cache
def numbered_statement() -> tuple[str, tuple[str, ...]]:
    """coverage_statement() with PostgreSQL's `$n` placeholders, and the parameter each `$n`
    stands for, translated once. psycopg translates `%(name)s` at every execution of a
    statement this long (its cache keeps statements under 4 KB): ~2 ms of Python a request."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return PLACEHOLDER.sub(number, coverage_statement()), tuple(names)


async def measure(pool: AsyncConnectionPool, lon: float, lat: float, radius: int) -> dict[str, Any]:
    """Everything /coverage says about the point, read in one statement (coverage.sql), on a
    connection of the generic-plan pool (service/database.py: planned once per connection)."""
    text, names = numbered_statement()
    params = statement_parameters(lon, lat, radius)
    async with pool.connection() as conn, AsyncRawCursor(conn, row_factory=dict_row) as cur:
        await cur.execute(text, [params[name] for name in names])
        row = await cur.fetchone()
    assert row is not None
    return row


def cameras_json(row: dict[str, Any]) -> dict[str, Any]:
    """Published devices within the radius by type and operator (private ones only as the
    build's aggregates, ingest/privacy.py: nothing here depends on a lone private camera)."""
    by_type = dict.fromkeys(CAMERA_TYPES, 0)
    by_operator = dict.fromkeys(OPERATOR_TYPES, 0)
    for camera_type, operator_type, n in zip(row["types"] or (), row["operators"] or (),
                                             row["counts"] or (), strict=True):
        by_type[camera_type] = by_type.get(camera_type, 0) + n
        by_operator[operator_type] = by_operator.get(operator_type, 0) + n
    return {"total": sum(by_type.values()), "by_type": by_type, "by_operator": by_operator}


def facing_json(row: dict[str, Any]) -> dict[str, Any]:
    """Non-private cameras within the radius that face the point, look elsewhere, or unknown."""
    return {"facing": row["facing"], "not_facing": row["not_facing"],
            "direction_unknown": row["direction_unknown"], "fov_deg": method_settings().fov_deg}


def touched_cells(disc_geojson: str, res: int) -> list[str]:
    """H3 cells (strings) that overlap the geodesic disc."""
    shape = h3.geo_to_h3shape(json.loads(disc_geojson))
    return sorted(h3.h3shape_to_cells_experimental(shape, res, contain="overlap"))


def percentile_json(row: dict[str, Any], radius: int) -> dict[str, Any]:
    """Share of nearby baseline cells holding fewer cameras (ties count half), 0..100."""
    base_r = baseline_radius(radius)
    city = method_settings().city_radius_m
    cells = row["cells"]
    detail: dict[str, Any] = {
        "baseline_radius_m": base_r,
        "city_radius_m": city,
        "baseline_cells": cells,
        "cameras_within_baseline_radius": row["here"],
    }
    if cells == 0:
        return {
            "percentile": None,
            **detail,
            "reason": f"no baseline cells within {city:g} m: this place is outside the built area "
            "(or no build has run)",
        }
    return {"percentile": round(100.0 * (row["fewer"] + 0.5 * row["same"]) / cells, 1), **detail}


def quality_json(row: dict[str, Any]) -> dict[str, Any]:
    """How sure the answer is: low-precision cameras counted, and whether a survey looked here."""
    return {
        # Non-private devices within the radius located no better than low_precision_m (their
        # source's --precision, e.g. IP geolocation): they may well stand elsewhere.
        "low_precision_cameras": row["low_precision"],
        "low_precision_m": ingest_settings().low_precision_m,
        # A survey (count-0 rows) looked within the radius: no camera there means none seen.
        "surveyed": row["surveyed"],
    }


@router.get(
    "/coverage",
    summary="How watched is an address or point",
    description="Cameras within a radius by type and operator, the H3 cells the disc touches, "
    "the sensitive sites within it with their exposure, and the percentile of this point among "
    "the city's baseline cells. Give `address` or `lat` and `lon`. The query is never logged or "
    "stored.",
    responses=GEOCODE_RESPONSES,
)
async def coverage(
    request: Request,
    response: Response,
    address: AddressQuery = None,
    lat: Annotated[
        float | None, Query(ge=-90, le=90, description="Latitude, EPSG:4326 degrees (with lon).")
    ] = None,
    lon: Annotated[
        float | None, Query(ge=-180, le=180, description="Longitude, EPSG:4326 degrees (with lat).")
    ] = None,
    radius: Annotated[
        int,
        Query(
            ge=MIN_RADIUS_M,
            le=MAX_RADIUS_M,
            description=f"Radius in metres ({MIN_RADIUS_M}..{MAX_RADIUS_M}), measured on the "
            "ellipsoid.",
        ),
    ] = 200,
) -> dict[str, Any]:
    """The coverage answer; 404 with suggestions when the address matches nothing."""
    response.headers.update(NO_STORE)
    where = await locate(request.app.state.pool, address, lat, lon)
    res = hexagon_resolution(radius)
    row = await measure(request.app.state.plan_pool, where.lon, where.lat, radius)
    sites = row["sites"] or []
    percentile = percentile_json(row, radius)
    return {
        "location": where.json(),
        "radius_m": radius,
        "cameras": cameras_json(row),
        "facing": facing_json(row),
        "hexagon_resolution": res,
        "hexagons": touched_cells(row["disc"], res),
        "sites": [{**site_json(r), "distance_m": round(r["distance_m"], 1)} for r in sites],
        "sites_total": sites[0]["total"] if sites else 0,
        "percentile": percentile.pop("percentile"),
        "percentile_detail": percentile,
        "data_quality": quality_json(row),
        "data_version": row["snapshot"],
    }


@router.get(
    "/geocode",
    summary="Where an address is, and how sure the geocoder is",
    description="The point an address stands for, its score (0..1), its precision (`address`, "
    "or `street` with `uncertainty_m`) and the geocoder; 300 with candidates when ambiguous, "
    "404 with suggestions when nothing matches. The query is never logged or stored.",
    responses=GEOCODE_RESPONSES,
)
async def geocode_address(
    request: Request,
    response: Response,
    address: Annotated[str, Query(max_length=300, description="Address to look up, as typed.")],
) -> dict[str, Any]:
    """The location the address stands for (the `location` of /coverage)."""
    response.headers.update(NO_STORE)
    return {"location": (await locate(request.app.state.pool, address, None, None)).json()}
