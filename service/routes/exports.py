"""`/export/hexagons.{parquet,geojson,csv}` and `/export/provenance.json`: hexagon summaries for research."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from psycopg_pool import AsyncConnectionPool

from camdensity.service.exports import (
    ExportError,
    ExportFormat,
    ExportPlan,
    ExportRequest,
    NoBuildError,
    aiter_export,
    aplan_export,
    parse_bbox,
)
from camdensity.service.openapi import BBOX, NO_BUILD, NOT_MODIFIED
from camdensity.service.routes.tiles import cache_headers, etag_matches
from camdensity.settings import MethodSettings, method_settings

router = APIRouter(prefix="/export", tags=["exports"])

ResolutionQuery = Annotated[
    int | None,
    Query(
        ge=0, le=15,
        description="H3 resolution to export; one of those built (see the 422 message or "
                    "/export/provenance.json). Default: the method's baseline resolution.",
        json_schema_extra={"enum": MethodSettings().resolutions},
    ),
]
BBoxQuery = Annotated[
    str | None,
    Query(
        description="Only hexagons intersecting this box: `minlon,minlat,maxlon,maxlat` in "
                    "degrees (EPSG:4326), min < max.",
        examples=["24.93,60.16,24.96,60.175"], json_schema_extra=BBOX,
    ),
]
FormatPath = Annotated[
    ExportFormat,
    Path(description="`parquet` (GeoParquet 1.1), `geojson` (RFC 7946) or `csv` (WKT geometry, "
                     "provenance in headers and /export/provenance.json)."),
]


def _request(resolution: int | None, bbox: str | None) -> ExportRequest:
    """The export asked for, or 422 with the reason."""
    try:
        box = parse_bbox(bbox)
    except ExportError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return ExportRequest(
        resolution=method_settings().baseline_resolution if resolution is None else resolution,
        bbox=box,
    )


async def _plan(pool: AsyncConnectionPool, request: ExportRequest) -> ExportPlan:
    """Plan (data version, size, extent), or 503 before the first build / 422 for a bad resolution."""
    async with pool.connection() as conn:
        try:
            return await aplan_export(conn, request)
        except NoBuildError as exc:
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "60"})
        except ExportError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None


def _query_string(request: ExportRequest) -> str:
    query: dict[str, Any] = {"resolution": request.resolution}
    if request.bbox:
        query["bbox"] = ",".join(repr(v) for v in request.bbox)
    return urlencode(query)


def _etag(plan: ExportPlan, kind: str) -> str:
    """Tied to the data version and the selection: a new build or other params, a new tag."""
    digest = hashlib.sha256(f"{kind}?{_query_string(plan.request)}".encode()).hexdigest()[:16]
    return f'"{plan.snapshot.snapshot}-{digest}"'


def _headers(plan: ExportPlan, kind: str) -> dict[str, str]:
    built_at = plan.snapshot.built_at.isoformat() if plan.snapshot.built_at else ""
    return {
        "ETag": _etag(plan, kind),
        **cache_headers(queried_place=plan.request.bbox is not None),
        "X-Camdensity-Snapshot": plan.snapshot.snapshot,
        "X-Camdensity-Built-At": built_at,
        "X-Camdensity-Rows": str(plan.rows),
        # CSV has no place for metadata; every format points at its provenance the same way.
        "Link": f'</export/provenance.json?{_query_string(plan.request)}>; rel="describedby"; '
                'type="application/json"',
    }


def _not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return None


def _filename(plan: ExportPlan, fmt: ExportFormat) -> str:
    snapshot = re.sub(r"[^A-Za-z0-9._-]", "_", plan.snapshot.snapshot)
    return f"camdensity-hexagons-r{plan.request.resolution}-{snapshot}.{fmt.value}"


@router.get(
    "/hexagons.{fmt}",
    summary="Export hexagon summaries (GeoParquet, GeoJSON or CSV)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The hexagons of one resolution, streamed. Columns: h3, resolution, "
                           "cameras, n_<type>, op_<operator>, area_km2, density_km2, "
                           "d_<site category> (metres), centroid_lat/lon, geometry (EPSG:4326).",
            "content": {fmt.media_type.split(";")[0]: {} for fmt in ExportFormat},
        },
        304: NOT_MODIFIED,
        422: {"description": "Bad resolution or bbox; `detail` says why."},
        503: NO_BUILD,
    },
)
async def export_hexagons(
    request: Request, fmt: FormatPath, resolution: ResolutionQuery = None, bbox: BBoxQuery = None
) -> Response:
    """Hexagon summaries with the snapshot id, sources, licences and method parameters.

    GeoParquet carries the provenance in its `camdensity` metadata key and GeoJSON in a
    top-level `camdensity` member; CSV in the `X-Camdensity-*` headers and at the `Link`ed
    `/export/provenance.json`. The body is streamed from a server-side cursor in batches.
    """
    pool: AsyncConnectionPool = request.app.state.pool
    wanted = _request(resolution, bbox)
    # Plan on a connection returned before streaming; the stream takes its own for its life.
    plan = await _plan(pool, wanted)
    headers = _headers(plan, fmt.value)
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    headers["Content-Disposition"] = f'attachment; filename="{_filename(plan, fmt)}"'

    async def body() -> AsyncIterator[bytes]:
        async with pool.connection() as conn:
            async for chunk in aiter_export(conn, wanted, fmt, plan.snapshot.snapshot):
                if chunk:
                    yield chunk

    return StreamingResponse(body(), media_type=fmt.media_type, headers=headers)


@router.get(
    "/provenance.json",
    summary="Provenance of an export: snapshot, sources, licences, method parameters",
    responses={304: NOT_MODIFIED,
               422: {"description": "Bad resolution or bbox."},
               503: NO_BUILD},
)
async def export_provenance(
    request: Request, resolution: ResolutionQuery = None, bbox: BBoxQuery = None
) -> Response:
    """What produced `/export/hexagons.*` with the same parameters, and its data dictionary."""
    plan = await _plan(request.app.state.pool, _request(resolution, bbox))
    headers = _headers(plan, "provenance")
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    return Response(orjson.dumps(plan.provenance()), media_type="application/json", headers=headers)
