"""`/sites`: sensitive sites, the most and least watched first, with their exposure figures."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from psycopg import AsyncConnection
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from camdensity import sql
from camdensity.service.dependencies import ConnDep
from camdensity.service.openapi import BBOX, MAX_INT, error
from camdensity.service.routes.tiles import cache_headers
from camdensity.service.snapshot import current_snapshot
from camdensity.settings import EXPOSURE_RADII_M, SITE_CATEGORIES, ingest_settings

router = APIRouter(tags=["sites"])

# ORDER BY clauses, the only text ever composed into sites.sql. "Exposure" is the count of
# cameras within 200 m (the headline radius), ties broken by effective cameras, then id.
ORDERS: dict[str, str] = {
    "exposure": "ranked_200m ASC NULLS LAST, e.effective_cameras ASC NULLS LAST, s.id",
    "-exposure": "ranked_200m DESC NULLS LAST, e.effective_cameras DESC NULLS LAST, s.id",
    "name": "s.name ASC NULLS LAST, s.id",
    "distance": "distance_m ASC, s.id",
}
# sites.sql's {near}: the radius around the point when one is given (the /sites filter), or
# always (/coverage, whose statement is planned once per connection: `p.g IS NULL OR ...` in a
# generic plan would read every site instead of the index's few).
NEAR_OPTIONAL = "(p.g IS NULL OR ST_DWithin(s.geom::geography, p.g, %(radius)s::float8))"
NEAR_REQUIRED = "ST_DWithin(s.geom::geography, p.g, %(radius)s::float8)"
SiteOrder = Literal["exposure", "-exposure", "name"]

NO_FILTER: dict[str, Any] = {
    "categories": None,
    "id": None,
    "minlon": None,
    "minlat": None,
    "maxlon": None,
    "maxlat": None,
    "lon": None,
    "lat": None,
    "radius": None,
    "max_uncertainty_m": None,
    "limit": None,
    "offset": 0,
}


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """`minlon,minlat,maxlon,maxlat` in degrees, checked; HTTP 422 with the reason otherwise."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise HTTPException(422, "bbox must be four numbers: minlon,minlat,maxlon,maxlat") from None
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise HTTPException(
            422, "bbox must satisfy -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90"
        )
    return minlon, minlat, maxlon, maxlat


def site_json(row: dict[str, Any]) -> dict[str, Any]:
    """One site as the API shows it; `exposure` is null until a build has measured it."""
    exposure = None
    if row["cameras_200m"] is not None:
        exposure = {
            **{f"cameras_{r}m": row[f"cameras_{r}m"] for r in EXPOSURE_RADII_M},
            "by_type": row["by_type"],
            "by_operator": row["by_operator"],
            "effective_cameras": row["effective_cameras"],
            # Devices within 200 m located no better than CAMDENSITY_LOW_PRECISION_M (their
            # source's --precision), and the 200 m count the ranking used (max_uncertainty_m).
            "low_precision_cameras_200m": row["low_precision_200m"],
            "ranked_cameras_200m": row["ranked_200m"],
            "percentile_category": row["percentile_category"],
            "percentile_city": row["percentile_city"],
            # Per radius: cameras whose view cone holds the site, looking elsewhere, or of
            # unknown direction (private cameras are in none of the three).
            "facing": row["facing"],
        }
    return {
        "id": row["id"],
        "category": row["category"],
        "name": row["name"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "source": row["source"],
        "source_ref": row["source_ref"],
        "exposure": exposure,
    }


@functools.cache
def sites_statement(order: str) -> str:
    """sites.sql in `order` (a key of ORDERS), composed once: a string, whose placeholders
    psycopg translates once (a Composed is re-parsed at every execution)."""
    return pgsql.SQL(sql.query("sites")).format(  # type: ignore[arg-type]
        order=pgsql.SQL(ORDERS[order]), near=pgsql.SQL(NEAR_OPTIONAL)).as_string(None)  # type: ignore[arg-type]


def sites_query(order: str, **filters: Any) -> tuple[str, dict[str, Any]]:
    """sites.sql in `order` (a key of ORDERS) and its parameters with the given filters (see the
    query for their meaning; the rest unset)."""
    return sites_statement(order), {**NO_FILTER, "low_m": ingest_settings().low_precision_m,
                                    **filters}


async def fetch_sites(conn: AsyncConnection, order: str, **filters: Any) -> list[dict[str, Any]]:
    """Rows of sites.sql with the given filters."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(*sites_query(order, **filters))
        return await cur.fetchall()


@router.get("/sites", summary="Sensitive sites ranked by how watched they are")
async def list_sites(
    conn: ConnDep,
    response: Response,
    category: Annotated[
        list[str] | None,
        Query(
            description=f"Only these site categories (repeatable): {', '.join(SITE_CATEGORIES)}.",
            json_schema_extra={"anyOf": [
                {"type": "array", "items": {"type": "string", "enum": list(SITE_CATEGORIES)}},
                {"type": "null"},
            ]},
        ),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            description="Only sites whose centroid lies in this box: minlon,minlat,maxlon,maxlat "
            "(EPSG:4326 degrees).",
            examples=["24.93,60.16,24.96,60.18"], json_schema_extra=BBOX,
        ),
    ] = None,
    order: Annotated[
        SiteOrder,
        Query(
            description="`-exposure`: most watched first; `exposure`: least watched first "
            "(cameras within 200 m, ties by effective cameras; unmeasured sites last); "
            "`name`: alphabetical."
        ),
    ] = "-exposure",
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size (1..1000).")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT, description="Sites to skip, for paging.")] = 0,
    max_uncertainty_m: Annotated[float | None, Query(
        gt=0, le=1e7,
        description="Rank by the cameras within 200 m located at least this precisely "
        "(metres): cameras of coarse sources (`--precision`, e.g. IP geolocation) are left out "
        "of the ranking; `ranked_cameras_200m` shows the figure used.")] = None,
) -> dict[str, Any]:
    """A page of sites with their exposure; `total` counts every site matching the filters."""
    unknown = sorted(set(category or ()) - set(SITE_CATEGORIES))
    if unknown:
        raise HTTPException(
            422, f"unknown category {', '.join(unknown)}; known: {', '.join(SITE_CATEGORIES)}"
        )
    box = parse_bbox(bbox)
    if box is not None:  # a box someone asked about: no shared cache keeps it
        response.headers.update(cache_headers(queried_place=True))
    minlon, minlat, maxlon, maxlat = box if box else (None, None, None, None)
    filters = {
        "categories": category,
        "minlon": minlon,
        "minlat": minlat,
        "maxlon": maxlon,
        "maxlat": maxlat,
        "max_uncertainty_m": max_uncertainty_m,
    }
    rows = await fetch_sites(conn, order, limit=limit, offset=offset, **filters)
    if not rows and offset:
        # A page past the end has no row to carry the window count: ask for the first row.
        first = await fetch_sites(conn, order, limit=1, **filters)
        total = first[0]["total"] if first else 0
    else:
        total = rows[0]["total"] if rows else 0
    snap = await current_snapshot(conn)
    return {
        "data_version": snap.snapshot if snap else None,
        "order": order,
        "max_uncertainty_m": max_uncertainty_m,
        "total": total,
        "limit": limit,
        "offset": offset,
        "sites": [site_json(r) for r in rows],
    }


@router.get(
    "/sites/{site_id}",
    summary="One sensitive site and its exposure",
    responses={404: error("No site has this id")},
)
async def get_site(
    conn: ConnDep,
    site_id: Annotated[int, Path(ge=1, le=MAX_INT, description="The site's id (from `/sites` or a tile).")],
) -> dict[str, Any]:
    """The site, or 404 when no site has this id."""
    rows = await fetch_sites(conn, "name", id=site_id, limit=1)
    if not rows:
        raise HTTPException(404, f"no site with id {site_id}")
    snap = await current_snapshot(conn)
    return {"data_version": snap.snapshot if snap else None, **site_json(rows[0])}
