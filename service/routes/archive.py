"""`/export/tiles.pmtiles`: a PMTiles archive of a small area's tiles, rendered on request."""

from __future__ import annotations

import hashlib
import io
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from camdensity.service.exports import ExportError, parse_bbox
from camdensity.service.openapi import NO_BUILD, NOT_MODIFIED, error
from camdensity.service.routes.tiles import (
    FiltersDep,
    SourceDep,
    cache_headers,
    etag_matches,
    require_snapshot,
)
from camdensity.settings import service_settings
from camdensity.tiles.archive import ArchiveError, ArchiveRequest, write_archive_with
from camdensity.tiles.grid import MAX_ZOOM
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
