"""`/map`: an embeddable page (pydeck, deck.gl inlined, no external URL) drawing the tiles."""

from __future__ import annotations

import gzip
import html
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

import jinja2
import pydeck as pdk
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydeck.io.html import cdn_picker

from camdensity import __version__
from camdensity.service.openapi import NO_BUILD, NOT_MODIFIED
from camdensity.service.routes.tiles import (
    FiltersDep,
    SourceDep,
    base_url,
    basemap_tiles_url,
    cache_headers,
    document_headers,
    etag_matches,
    require_snapshot,
    tiles_url,
)
from camdensity.service.security import content_security_policy
from camdensity.service.snapshot import Snapshot
from camdensity.settings import (
    CAMERA_TYPES,
    OPERATOR_TYPES,
    REPORT_MOUNTS,
    method_settings,
    report_settings,
    service_settings,
)
from camdensity.tiles.basemap import BASEMAP_ATTRIBUTION, names_style, vector_source
from camdensity.tiles.filters import TileFilters
from camdensity.tiles.source import Extent
from camdensity.tiles.tilejson import (
    DENSITY_RAMP,
    HEXAGON_FIELDS,
    NEAR_CATEGORIES,
    NEAR_SITE_OUTLINE,
    NEAR_SITE_OUTLINE_WIDTH,
    SITE_COLOURS,
    SITE_FIELDS,
    attribution,
    default_zoom,
)

router = APIRouter(tags=["map"])

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("camdensity.service", "templates"), autoescape=True, trim_blocks=True
)


@cache
def deck_bundle() -> str:
    """pydeck's deck.gl bundle as an inline <script> (4 MB: read once per process)."""
    return cdn_picker(offline=True)


@cache
def mvt_worker() -> str:
    """loaders.gl's MVT worker (MIT, v4.4.3 as in pydeck's bundle; service/static), inlined:
    pydeck's bundle carries only the worker-side MVT loader, whose code it fetches from a CDN."""
    return resources.files("camdensity.service").joinpath("static", "mvt-worker.js").read_text(encoding="utf-8")


def _rgba(colour: str, alpha: int = 255) -> list[int]:
    return [int(colour[i:i + 2], 16) for i in (1, 3, 5)] + [alpha]


# Change in cameras since a compared build (`compare=`): lower bound of each class -> colour
# (ColorBrewer RdBu, reversed: more cameras red, fewer blue, unchanged light grey).
CHANGE_RAMP: list[tuple[float, str]] = [
    (-1e9, "#2166ac"), (-9, "#67a9cf"), (-2, "#d1e5f0"), (0, "#eeeeee"), (1, "#fddbc7"),
    (3, "#ef8a62"), (10, "#b2182b"),
]
FOV_COLOUR = "#6a3d9a"  # view cones (the tiles' `fov` layer)


def fill_expression(filters: TileFilters | None = None) -> str:
    """deck.gl expression: sites by category, view cones, hexagons by the density ramp (a step
    per class) or, comparing with a build, by the diverging change ramp."""
    ramp, field = (CHANGE_RAMP, "change") if filters and filters.compare else (DENSITY_RAMP,
                                                                            "density_km2")
    density = json.dumps(_rgba(ramp[0][1], 190))
    for threshold, colour in ramp[1:]:
        density = f"properties.{field} >= {threshold} ? {json.dumps(_rgba(colour, 190))} : ({density})"
    density = f"properties.layerName == 'fov' ? {json.dumps(_rgba(FOV_COLOUR, 60))} : ({density})"
    site = json.dumps(_rgba("#555555"))
    for category, colour in SITE_COLOURS.items():
        site = f"properties.category == '{category}' ? {json.dumps(_rgba(colour))} : ({site})"
    return f"properties.layerName == 'sites' ? ({site}) : ({density})"


def near_categories(filters: TileFilters) -> list[str]:
    """The near-site categories outlined under `filters` (the selected ones among NEAR_CATEGORIES)."""
    return [c for c in NEAR_CATEGORIES if filters.categories is None or c in filters.categories]


def near_expression(filters: TileFilters) -> str:
    """deck.gl expression: whether a hexagon is near a (selected) sensitive site."""
    return " || ".join(f"properties.near_{c} == true" for c in near_categories(filters)) or "false"


def describe_filters(filters: TileFilters) -> str:
    """The active filters in words for the title bar ('' when none)."""
    parts = []
    if filters.types is not None:
        parts.append(f"types: {', '.join(filters.types)}")
    if filters.operators is not None:
        parts.append(f"operators: {', '.join(filters.operators)}")
    if filters.categories is not None:
        parts.append(f"sites: {', '.join(filters.categories)}")
    return " · ".join(parts)


def data_dates(sources: list[dict[str, Any]]) -> str | None:
    """'<earliest>–<latest>' (or one date) of the sources' `data_date`s; None when none has one."""
    dates = sorted({str(s["data_date"])[:10] for s in sources if s.get("data_date")})
    if not dates:
        return None
    return dates[0] if dates[0] == dates[-1] else f"{dates[0]}–{dates[-1]}"


def change_labels() -> list[tuple[str, str]]:
    """Legend rows of the change ramp: ('≤ −10', colour), ..., ('0', colour), ..., ('≥ +10', colour)."""
    return [("≤ −10", CHANGE_RAMP[0][1]), ("−9 … −3", CHANGE_RAMP[1][1]),
            ("−2 … −1", CHANGE_RAMP[2][1]), ("no change", CHANGE_RAMP[3][1]),
            ("+1 … +2", CHANGE_RAMP[4][1]), ("+3 … +9", CHANGE_RAMP[5][1]),
            ("≥ +10", CHANGE_RAMP[6][1])]


def ramp_labels() -> list[tuple[str, str]]:
    """Legend rows: ('< 10', colour), ('10 – 100', colour), ..., ('≥ 20,000', colour)."""
    rows = []
    for i, (low, colour) in enumerate(DENSITY_RAMP):
        if i + 1 < len(DENSITY_RAMP):
            high = DENSITY_RAMP[i + 1][0]
            label = f"< {high:,.0f}" if i == 0 else f"{low:,.0f} – {high:,.0f}"
        else:
            label = f"≥ {low:,.0f}"
        rows.append((label, colour))
    return rows


def basemap_layer(url: str) -> pdk.Layer:
    """The offline basemap under the hexagons, quietly: water and parks filled, roads and rail as
    thin lines (the place and street names are drawn over the hexagons by MapLibre: map_basemap.html)."""
    return pdk.Layer(
        "MVTLayer",
        id="basemap",
        data=url,
        binary=False,
        min_zoom=4,
        max_zoom=14,
        pickable=False,
        filled=True,
        stroked=True,
        get_fill_color=(
            "properties.layerName == 'water' ? [212,225,232,255] : "
            "(properties.layerName == 'park' ? [230,235,220,255] : [0,0,0,0])"
        ),
        get_line_color=(
            "properties.layerName == 'road' || properties.layerName == 'rail' ? "
            "[206,201,191,255] : [0,0,0,0]"
        ),
        get_line_width=(
            "properties.class == 'major' ? 3 : (properties.class == 'medium' ? 2 : 1)"
        ),
        line_width_units=pdk.types.String("pixels"),
        get_point_radius=0,
    )


def deck_json(
    tiles_url: str, lat: float, lon: float, zoom: float, filters: TileFilters,
    basemap_url: str | None = None,
) -> str:
    """The pydeck Deck (one MVTLayer over both tile layers, no basemap) as JSON safe in <script>."""
    near = near_expression(filters)
    layer = pdk.Layer(
        "MVTLayer",
        id="camdensity",
        data=tiles_url,
        binary=False,  # GeoJSON features: the accessors and the tooltip read `properties`
        # The MVT parser runs in a worker made from the page's inlined copy (see map.html);
        # loaders.gl would otherwise fetch it from unpkg.com.
        min_zoom=0,
        max_zoom=service_settings().tile_maxzoom,
        pickable=True,
        auto_highlight=True,
        filled=True,
        stroked=True,
        get_fill_color=fill_expression(filters),
        get_line_color=(
            f"properties.layerName == 'sites' ? [255,255,255,255] : "
            f"properties.layerName == 'fov' ? {json.dumps(_rgba(FOV_COLOUR, 150))} : "
            f"(({near}) ? {json.dumps(_rgba(NEAR_SITE_OUTLINE))} : [120,120,120,60])"
        ),
        # Thin enough for the density colours to show through where most hexagons are near a site.
        get_line_width=(
            f"properties.layerName == 'sites' ? 1.5 : (({near}) ? {NEAR_SITE_OUTLINE_WIDTH} : 0.5)"
        ),
        line_width_units=pdk.types.String("pixels"),
        point_type=pdk.types.String("circle"),
        get_point_radius=6,
        point_radius_units=pdk.types.String("pixels"),
    )
    deck = pdk.Deck(
        layers=[basemap_layer(basemap_url), layer] if basemap_url else [layer],
        # deck.gl's own +/- buttons (in pydeck's bundle; map.html styles them, no stylesheet fetched).
        widgets=[pdk.Widget("ZoomWidget", id="zoom", placement="top-left",
                            zoom_in_label="Zoom in", zoom_out_label="Zoom out")],
        initial_view_state=pdk.ViewState(latitude=lat, longitude=lon, zoom=zoom),
        map_provider=None,
        map_style=None,
    )
    # `<` escaped so no value can close the <script> element.
    return deck.to_json().replace("<", "\\u003c")


def report_control() -> bool:
    """Whether /map shows the "Report a camera" control (reports on, and the control asked for)."""
    settings = report_settings()
    return settings.reports_enabled and settings.reports_map_control


@dataclass(frozen=True)
class MapBasemap:
    """What /map draws under and over the hexagons: the offline basemap (deck.gl draws its water,
    parks and roads under them, MapLibre its names over them) or an external MapLibre style
    (CAMDENSITY_BASEMAP_STYLE) under them."""

    lib_url: str  # where the vendored MapLibre GL JS is served (/map/lib)
    tiles_url: str | None = None  # the offline basemap's tiles
    fonts_url: str | None = None  # its label fonts (/fonts/)
    external_style: str | None = None

    def gl_config(self) -> dict[str, Any]:
        """The MapLibre side for the page (map_basemap.html): library URL, style, and whether it
        draws names over the hexagons or a whole basemap under them."""
        if self.external_style:
            return {"lib": self.lib_url, "style": self.external_style, "over": False}
        assert self.tiles_url and self.fonts_url
        return {"lib": self.lib_url, "over": True,
                "style": names_style(vector_source(self.tiles_url), self.fonts_url)}

    def attribution(self) -> str:
        """The footer's basemap credit (HTML)."""
        if self.external_style:
            return f"basemap: style of {html.escape(urlsplit(self.external_style).netloc)}"
        return f"basemap {html.escape(BASEMAP_ATTRIBUTION)}"


def json_in_script(doc: Any) -> str:
    """JSON safe inside a <script> element (`<` escaped so nothing can close it)."""
    return json.dumps(doc, ensure_ascii=False).replace("<", "\\u003c")


def layout_context(
    filters: TileFilters, snapshot: str, built_at: str, sources: list[dict[str, Any]],
    basemap_credit: str | None = None,
) -> dict[str, Any]:
    """What map_layout.html shows, for /map and the published bundle alike: the title bar naming
    the filters, the legend (density or, comparing builds, change), the attribution with the build
    and data dates, and the tooltips' fields."""
    near = near_categories(filters)
    return {
        "ramp": change_labels() if filters.compare else ramp_labels(),
        "legend_title": (f"Change in cameras since {filters.compare}" if filters.compare
                         else "Cameras per km²"),
        "compare": filters.compare,
        "near_outline": NEAR_SITE_OUTLINE,
        "near_radius_m": f"{method_settings().near_site_radius_m:g}",
        "near_categories": "" if filters.compare else " / ".join(near),
        "site_colours": [] if filters.compare else [
            (c, SITE_COLOURS[c]) for c in SITE_COLOURS
            if filters.categories is None or c in filters.categories],
        "filters": describe_filters(filters),
        "snapshot": snapshot,
        "built_at": built_at,
        "data_dates": data_dates(sources),
        "attribution": attribution(sources) + (f" · {basemap_credit}" if basemap_credit else ""),
        "hex_tooltip_fields": json_in_script([[k, k.replace("_", " ")] for k in HEXAGON_FIELDS]),
        "site_tooltip_fields": json_in_script([[k, k.replace("_", " ")] for k in SITE_FIELDS]),
    }


def render_page(
    tiles_url: str, lat: float, lon: float, zoom: float, filters: TileFilters,
    snapshot: str, built_at: str, sources: list[dict[str, Any]], basemap: MapBasemap | None = None,
) -> str:
    """The whole HTML page."""
    offline = basemap.tiles_url if basemap and not basemap.external_style else None
    return _templates.get_template("map.html").render(
        # The "Report a camera" control (report_camera.html), off unless the host turned it on.
        report_control=report_control(), report_types=CAMERA_TYPES,
        report_operators=OPERATOR_TYPES, report_mounts=REPORT_MOUNTS,
        report_note_max=report_settings().reports_note_max_chars,
        deck_bundle=deck_bundle(),
        mvt_worker=mvt_worker(),
        deck_json=deck_json(tiles_url, lat, lon, zoom, filters, offline),
        lib_url=basemap.lib_url if basemap else None,
        basemap_gl=json_in_script(basemap.gl_config()) if basemap else None,
        **layout_context(filters, snapshot, built_at, sources,
                         basemap.attribution() if basemap else None),
    )


def _render_pair(
    url: str, lat: float, lon: float, zoom: float, filters: TileFilters, snapshot: Snapshot,
    basemap: MapBasemap | None = None,
) -> tuple[bytes, bytes, str]:
    """The page, plain and gzipped (compressed once: the middleware would redo 4 MB per request),
    and its Content-Security-Policy (its inline scripts by hash; an external style's origin)."""
    text = render_page(
        url, lat, lon, zoom, filters,
        snapshot.snapshot, snapshot.built_at.date().isoformat(), snapshot.sources, basemap,
    )
    page = text.encode()
    csp = content_security_policy(text, service_settings(),
                                  basemap.external_style if basemap else None)
    return page, gzip.compress(page, compresslevel=6), csp


def basemap_stamp() -> int | None:
    """The basemap archive's modification time (ns) when one exists, for keys and ETags."""
    path = service_settings().basemap_path
    return path.stat().st_mtime_ns if path.is_file() else None


@router.get(
    "/map",
    summary="Embeddable density map (HTML, works offline; put it in an <iframe>)",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}, 304: NOT_MODIFIED, 503: NO_BUILD},
)
async def get_map(
    request: Request,
    source: SourceDep,
    filters: FiltersDep,
    lat: Annotated[float | None, Query(ge=-85.0511, le=85.0511, description="Latitude of the view centre (default: the data's centre)")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Longitude of the view centre (default: the data's centre)")] = None,
    zoom: Annotated[float | None, Query(ge=0, le=24, description="Zoom (default: fits the data)")] = None,
) -> Response:
    """Hexagons filled by density, outlined near sensitive sites, sites as circles, legend, attribution."""
    snapshot = await require_snapshot(request, source)
    stamp = basemap_stamp()
    external = service_settings().basemap_style
    basemap = None
    if external or stamp:
        basemap = MapBasemap(
            f"{base_url(request)}/map/lib", basemap_tiles_url(request), f"{base_url(request)}/fonts/",
            external)
    control = report_control()  # the "Report a camera" control changes the page
    key = (snapshot.snapshot, base_url(request), lat, lon, zoom, filters, stamp, external, control)
    headers = document_headers(request, snapshot.snapshot, filters, "map", lat, lon, zoom, stamp,
                               external, control, queried_place=lat is not None or lon is not None)
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    entry = source.pages.get(key)
    if not isinstance(entry, tuple):
        extent = await source.extent(request.app.state.pool, snapshot.snapshot)
        extent = extent or Extent(-180.0, -60.0, 180.0, 75.0)
        centre_lon, centre_lat = extent.center
        # Rendering and compressing 4 MB takes a while: off the event loop, once per key.
        entry = await run_in_threadpool(
            _render_pair,
            tiles_url(request, filters),
            centre_lat if lat is None else lat,
            centre_lon if lon is None else lon,
            default_zoom(extent) if zoom is None else zoom,
            filters, snapshot, basemap,
        )
        source.pages.put(key, entry)
    headers["Content-Security-Policy"] = entry[2]
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(entry[1], media_type="text/html; charset=utf-8",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(entry[0], media_type="text/html; charset=utf-8", headers=headers)


# MapLibre GL JS (npm maplibre-gl, BSD-3-Clause; service/static), served for the map's basemap:
# the module, the worker it starts from beside itself, and its stylesheet. A whitelist.
MAP_LIBRARIES = {"maplibre-gl.mjs": "text/javascript", "maplibre-gl-worker.mjs": "text/javascript",
                 "maplibre-gl.css": "text/css"}


@cache
def _library(name: str) -> bytes:
    return resources.files("camdensity.service").joinpath("static", name).read_bytes()


@router.get("/map/lib/{name}", include_in_schema=False)
async def get_map_library(name: str) -> Response:
    """A library file of the map page (only those of MAP_LIBRARIES)."""
    if name not in MAP_LIBRARIES:
        raise HTTPException(status_code=404, detail="no such file")
    return Response(_library(name), media_type=MAP_LIBRARIES[name],
                    headers={**cache_headers(), "ETag": f'"{__version__}"'})


@router.get("/", include_in_schema=False)
async def get_root(request: Request) -> RedirectResponse:
    """The front page is the map (query string not carried over)."""
    return RedirectResponse(f"{base_url(request)}/map", status_code=307)
