"""PMTiles archives over HTTP: `/export/tiles.pmtiles` (a small area's tiles, rendered on request)
and `/basemap/{z}/{x}/{y}.mvt` (tiles of the offline basemap archive)."""

from __future__ import annotations

import gzip
import hashlib
import io
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from camdensity.service.exports import ExportError, parse_bbox
from camdensity.service.openapi import NO_BUILD, NOT_MODIFIED, error
from camdensity.service.routes.tiles import (
    MAX_SCHEMA_XY,
    MAX_SCHEMA_ZOOM,
    MVT_MEDIA_TYPE,
    FiltersDep,
    SourceDep,
    cache_headers,
    etag_matches,
    require_snapshot,
)
from camdensity.settings import service_settings
from camdensity.tiles.archive import ArchiveError, ArchiveRequest, write_archive_with
from camdensity.tiles.basemap import FONT_FILES, read_tile
from camdensity.tiles.grid import MAX_ZOOM, TileOutOfRange, check_tile
from camdensity.tiles.source import TileSource

PMTILES_MEDIA_TYPE = "application/vnd.pmtiles"
# Tiles rendered at once for one request: the pool is shared with every other reader.
WORKERS = 2

router = APIRouter(tags=["exports"])


def _etag(source: TileSource, snapshot: str, archive: ArchiveRequest) -> str:
    """The tiles' ETag (data version, filters, tile settings) extended by the box and zooms."""
    extra = hashlib.blake2b(
        repr((archive.bbox, archive.minzoom, archive.maxzoom)).encode(), digest_size=4
    ).hexdigest()
    return source.etag(snapshot, archive.filters)[:-1] + f'-{extra}"'


@router.get(
    "/export/tiles.pmtiles",
    summary="PMTiles v3 archive of the tiles of a small area (use `camdensity publish` for more)",
    response_class=Response,
    responses={
        200: {"content": {PMTILES_MEDIA_TYPE: {}}, "description": "PMTiles v3 archive, gzipped MVT"},
        304: NOT_MODIFIED,
        422: error("Bad box, zooms or filter, or more tiles than CAMDENSITY_PMTILES_EXPORT_MAX_TILES"),
        503: NO_BUILD,
    },
)
async def export_pmtiles(
    request: Request,
    source: SourceDep,
    filters: FiltersDep,
    bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat (degrees): tiles meeting it")],
    minzoom: Annotated[int, Query(ge=0, le=MAX_ZOOM, description="Lowest zoom")] = 0,
    maxzoom: Annotated[int, Query(ge=0, le=MAX_ZOOM, description="Highest zoom")] = 14,
) -> Response:
    """The same tiles as /tiles/{z}/{x}/{y}.mvt for the box, zooms and filters, in one file."""
    try:
        archive = ArchiveRequest(filters, minzoom, maxzoom, parse_bbox(bbox))
        archive.check()
    except (ExportError, ArchiveError) as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    snapshot = await require_snapshot(request, source)
    # The box is a place someone asked about: no shared cache keeps it.
    headers = {**cache_headers(queried_place=True), "ETag": _etag(source, snapshot.snapshot, archive)}
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    limit = service_settings().pmtiles_export_max_tiles
    out = io.BytesIO()  # small by construction: at most `limit` tiles
    try:
        result = await write_archive_with(
            request.app.state.pool, out, archive, workers=WORKERS,
            max_tiles=limit, limit_name="CAMDENSITY_PMTILES_EXPORT_MAX_TILES",
        )
    except ArchiveError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    name = f"camdensity-{result.snapshot.snapshot}-z{minzoom}-{maxzoom}.pmtiles"
    headers["ETag"] = _etag(source, result.snapshot.snapshot, archive)  # the version it holds
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(out.getvalue(), media_type=PMTILES_MEDIA_TYPE, headers=headers)


@router.get(
    "/basemap/{z}/{x}/{y}.mvt",
    summary="Offline basemap tile (water, parks, roads, rail, places) when `camdensity basemap` built one",
    response_class=Response,
    tags=["tiles"],
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "Mapbox Vector Tile (gzip)"},
        204: {"description": "Empty tile"},
        304: NOT_MODIFIED,
        404: error("No basemap was built, or no such tile"),
    },
)
async def get_basemap_tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=MAX_SCHEMA_ZOOM, description="Zoom level")],
    x: Annotated[int, Path(ge=0, le=MAX_SCHEMA_XY, description="Tile column, 0..2^z-1")],
    y: Annotated[int, Path(ge=0, le=MAX_SCHEMA_XY, description="Tile row, 0..2^z-1")],
) -> Response:
    """A tile of the basemap archive (CAMDENSITY_BASEMAP_PATH), as stored (gzip)."""
    path = service_settings().basemap_path
    if not path.is_file():
        raise HTTPException(status_code=404, detail="no basemap: run `camdensity basemap CITY.osm.pbf`")
    try:
        check_tile(z, x, y)
    except TileOutOfRange as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    data = await run_in_threadpool(read_tile, path, z, x, y)
    stamp = path.stat().st_mtime_ns
    headers = {**cache_headers(), "ETag": f'"basemap-{stamp:x}"', "Vary": "Accept-Encoding"}
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(data, media_type=MVT_MEDIA_TYPE, headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(data), media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get("/fonts/{name}", include_in_schema=False)
async def get_font(name: str) -> Response:
    """A label font file of the basemap style (only those: a whitelist, not a file server)."""
    if name not in {file for file, _ in FONT_FILES}:
        raise HTTPException(status_code=404, detail=f"no font {name!r}")
    data = resources.files("camdensity.service").joinpath("static", name).read_bytes()
    return Response(data, media_type="font/woff2", headers=cache_headers())
