"""Vector tiles (`/tiles/{z}/{x}/{y}.mvt`), TileJSON (`/tiles.json`) and a MapLibre style (`/style.json`).

Empty tiles are answered `204 No Content` (with the same ETag and Cache-Control as any tile), so
clients and caches can tell "nothing here" from an error without decoding anything.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from camdensity import __version__
from camdensity.service.openapi import NO_BUILD, NOT_MODIFIED, comma_list, error
from camdensity.service.snapshot import Snapshot
from camdensity.settings import (
    CAMERA_TYPES,
    OPERATOR_TYPES,
    SITE_CATEGORIES,
    method_settings,
    service_settings,
)
from camdensity.tiles.basemap import vector_source
from camdensity.tiles.filters import FilterError, TileFilters
from camdensity.tiles.grid import TileOutOfRange, check_tile
from camdensity.tiles.source import TileSource
from camdensity.tiles.tilejson import attribution, style, tilejson

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

router = APIRouter(tags=["tiles"])
# Schema bounds of z/x/y (a number beyond is a 422); inside them, a tile off the grid is a 404.
MAX_SCHEMA_ZOOM = 30
MAX_SCHEMA_XY = 2**MAX_SCHEMA_ZOOM - 1


async def tile_source(request: Request) -> TileSource:
    """The app's TileSource (caches live as long as the app), made on first use."""
    source = getattr(request.app.state, "tile_source", None)
    if source is None:
        source = request.app.state.tile_source = TileSource(service_settings(), method_settings())
    return source


_COMPARED = "SELECT pruned_at IS NOT NULL FROM build WHERE snapshot = %s AND finished_at IS NOT NULL"


async def compared_build(request: Request, snapshot: str) -> None:
    """404 unless `snapshot` names a finished build whose history is kept."""
    async with request.app.state.pool.connection() as conn:
        cur = await conn.execute(_COMPARED, (snapshot,))
        row = await cur.fetchone()
    if row is None:
        raise HTTPException(404, f"compare: no finished build has snapshot id {snapshot!r}")
    if row[0]:
        raise HTTPException(404, f"compare: the history of snapshot {snapshot!r} was pruned "
                                 "(CAMDENSITY_HISTORY_KEEP_BUILDS keeps the newest builds only)")


async def tile_filters(
    request: Request,
    types: Annotated[str | None, Query(
        description=f"Count only these camera types (comma list of {', '.join(CAMERA_TYPES)})",
        examples=["cctv,alpr"], json_schema_extra=comma_list(CAMERA_TYPES),
    )] = None,
    operators: Annotated[str | None, Query(
        description=f"Count only these operators (comma list of {', '.join(OPERATOR_TYPES)})",
        examples=["public"], json_schema_extra=comma_list(OPERATOR_TYPES),
    )] = None,
    categories: Annotated[str | None, Query(
        description=f"Draw only these site categories (comma list of {', '.join(SITE_CATEGORIES)})",
        examples=["clinic,school"], json_schema_extra=comma_list(SITE_CATEGORIES),
    )] = None,
    compare: Annotated[str | None, Query(
        max_length=64,
        description="A snapshot id of a retained build: hexagons carry `cameras_before` and "
        "`change` since it (totals; not with types/operators); the map draws a diverging ramp",
    )] = None,
) -> TileFilters:
    """The filter query parameters, validated (422 naming the unknown values)."""
    try:
        filters = TileFilters.parse(types, operators, categories, compare)
    except FilterError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    if filters.compare is not None:
        await compared_build(request, filters.compare)
    return filters


SourceDep = Annotated[TileSource, Depends(tile_source)]
FiltersDep = Annotated[TileFilters, Depends(tile_filters)]


async def require_snapshot(request: Request, source: TileSource) -> Snapshot:
    """The current data version, or 503 before the first `camdensity build`."""
    snapshot = await source.snapshots.get(request.app.state.pool)
    if snapshot is None:
        raise HTTPException(
            status_code=503,
            detail="no data yet: import sources and run `camdensity build` first",
        )
    return snapshot


def base_url(request: Request) -> str:
    """The public base URL: settings.public_url, else the one the request came to."""
    return (service_settings().public_url or str(request.base_url)).rstrip("/")


def tiles_url(request: Request, filters: TileFilters) -> str:
    """The tiles URL template (public base, filters carried over)."""
    return filters.add_to(f"{base_url(request)}/tiles/{{z}}/{{x}}/{{y}}.mvt")


def basemap_tiles_url(request: Request) -> str:
    """The offline basemap's tiles URL template (`/basemap/{z}/{x}/{y}.mvt`, public base)."""
    return f"{base_url(request)}/basemap/{{z}}/{{x}}/{{y}}.mvt"


def cache_headers(queried_place: bool = False) -> dict[str, str]:
    """Cache-Control for everything tied to the data version (ETag or snapshot checks keep it
    honest); `no-store` when the request carries a place someone asked about (a point or a box),
    so no shared cache keeps which place was looked at."""
    if queried_place:
        return {"Cache-Control": "no-store"}
    return {"Cache-Control": f"public, max-age={service_settings().cache_max_age}"}


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak or strong) or is `*`."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get(
    "/tiles/{z}/{x}/{y}.mvt",
    summary="Vector tile (MVT) with layers `hexagons` and `sites`",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "Mapbox Vector Tile 2.1"},
        204: {"description": "Empty tile: no hexagons or sites here"},
        304: NOT_MODIFIED,
        404: error("No such tile (z outside 0..24, or x/y outside 0..2^z-1), or `compare` names "
                   "no retained build"),
        422: {"description": "Unknown filter value"},
        503: NO_BUILD,
    },
)
@router.get("/tiles/{z}/{x}/{y}.pbf", include_in_schema=False)
async def get_tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=MAX_SCHEMA_ZOOM,
                           description="Zoom, 0..24 (beyond: 404); decides the H3 resolution")],
    x: Annotated[int, Path(ge=0, le=MAX_SCHEMA_XY, description="Tile column, 0..2^z-1")],
    y: Annotated[int, Path(ge=0, le=MAX_SCHEMA_XY,
                           description="Tile row from the north, 0..2^z-1 (XYZ scheme)")],
    source: SourceDep,
    filters: FiltersDep,
) -> Response:
    """One tile; the H3 resolution follows the zoom (settings `tile_zoom_resolutions`)."""
    try:
        check_tile(z, x, y)
    except TileOutOfRange as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    snapshot = await require_snapshot(request, source)
    status, headers, body = await tile_answer(
        source, request.app.state.plan_pool, snapshot.snapshot, z, x, y, filters,
        request.headers.get("if-none-match"),
        # The same test GZipMiddleware makes for every other answer.
        "gzip" in request.headers.get("accept-encoding", ""))
    return Response(body, status_code=status, headers=headers)


async def tile_answer(source: TileSource, pool: Any, snapshot: str, z: int, x: int, y: int,
                      filters: TileFilters, if_none_match: str | None,
                      takes_gzip: bool) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a tile: 304 for a known ETag, 204 when empty, else the MVT.

    The one answer of the tile route and of CachedTiles (service/middleware.py), which answers
    plain tiles before routing: the two cannot drift. The cached gzip is sent as it is to a
    client that takes it (GZipMiddleware passes an answer that has a Content-Encoding through
    untouched) and decompressed only for one that does not.
    """
    headers = cache_headers()
    etag = source.etag(snapshot, filters)
    if etag_matches(if_none_match, etag):
        return 304, {**headers, "ETag": etag}, b""
    tile = await source.tile(pool, snapshot, z, x, y, filters)
    headers["ETag"] = source.etag(tile.snapshot, filters)
    if not tile.gzipped:
        return 204, headers, b""
    headers["Vary"] = "Accept-Encoding"
    headers["Content-Type"] = MVT_MEDIA_TYPE
    if takes_gzip:
        headers["Content-Encoding"] = "gzip"
        return 200, headers, tile.gzipped
    return 200, headers, tile.data


def document_headers(request: Request, snapshot: str, filters: TileFilters, *shape: Any,
                     queried_place: bool = False) -> dict[str, str]:
    """Cache-Control, Vary and a strong ETag for a JSON document of this data version: the
    snapshot, the base URL its links use, the filters, the code version and `shape` (settings it shows)."""
    key = (base_url(request), filters, __version__, *shape)
    digest = hashlib.blake2b(repr(key).encode(), digest_size=6).hexdigest()
    return {**cache_headers(queried_place), "ETag": f'"{snapshot}-{digest}"',
            "Vary": "Accept-Encoding"}


def _json_document_responses(what: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of /tiles.json and /style.json."""
    return {
        200: {"description": what, "content": {"application/json": {"schema": {"type": "object"}}}},
        304: NOT_MODIFIED,
        404: error("`compare` names no retained build"),
        422: {"description": "Unknown filter value"},
        503: NO_BUILD,
    }


@router.get(
    "/tiles.json",
    summary="TileJSON 3.0.0 describing the tiles",
    response_class=JSONResponse,
    responses=_json_document_responses("TileJSON 3.0.0 document"),
)
async def get_tilejson(request: Request, source: SourceDep, filters: FiltersDep) -> Response:
    """Tiles URL (with the filters carried over), zooms, data bounds and centre, fields, attribution."""
    snapshot = await require_snapshot(request, source)
    maxzoom = service_settings().tile_maxzoom
    headers = document_headers(request, snapshot.snapshot, filters, "tilejson", maxzoom)
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    extent = await source.extent(request.app.state.pool, snapshot.snapshot)
    doc = tilejson(tiles_url(request, filters), snapshot.snapshot, snapshot.sources, extent, maxzoom)
    return JSONResponse(doc, headers=headers)


@router.get(
    "/style.json",
    summary="MapLibre style over the tiles (no external basemap: works offline)",
    response_class=JSONResponse,
    responses=_json_document_responses("MapLibre style v8"),
)
async def get_style(request: Request, source: SourceDep, filters: FiltersDep) -> Response:
    """Hexagons filled by density, hexagons near sites outlined, sites as circles."""
    snapshot = await require_snapshot(request, source)
    path = service_settings().basemap_path
    stamp = path.stat().st_mtime_ns if path.is_file() else None
    headers = document_headers(request, snapshot.snapshot, filters, "style", stamp)
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    # With a basemap (`camdensity basemap`): its tiles and label fonts from here too.
    basemap = None if stamp is None else vector_source(basemap_tiles_url(request))
    doc = style(filters.add_to(f"{base_url(request)}/tiles.json"), attribution(snapshot.sources),
                basemap, f"{base_url(request)}/fonts/")
    return JSONResponse(doc, headers=headers)
