"""TileJSON 3.0.0 and a MapLibre style for the tiles; the colour ramp the map and legend share."""

from __future__ import annotations

import html
import math
from typing import Any

from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES, SITE_CATEGORIES
from camdensity.tiles.grid import MAX_ZOOM
from camdensity.tiles.source import Extent

# Cameras per km², lower bound of each class -> colour (ColorBrewer YlOrRd). Log steps because a
# res-12 cell (0.0003 km²) holding one camera is ~3,000/km² while a res-6 one is ~0.03/km².
DENSITY_RAMP: tuple[tuple[float, str], ...] = (
    (0.0, "#ffffb2"),
    (10.0, "#fed976"),
    (100.0, "#feb24c"),
    (1_000.0, "#fd8d3c"),
    (5_000.0, "#f03b20"),
    (20_000.0, "#bd0026"),
)
# Outline of hexagons near a sensitive site: a thin teal line, a hue the YlOrRd ramp never takes,
# so it stays visible without hiding the density where nearly every hexagon is near a site.
NEAR_SITE_OUTLINE = "#007a87"
NEAR_SITE_OUTLINE_WIDTH = 1.25  # pixels
SITE_COLOURS: dict[str, str] = {
    "clinic": "#1f78b4",
    "abortion": "#6a3d9a",
    "school": "#33a02c",
    "immigration": "#e31a1c",
    "courthouse": "#ff7f00",
    "worship": "#b15928",
    "shelter": "#a6cee3",
}
NEAR_CATEGORIES: tuple[str, ...] = ("clinic", "school", "immigration")

HEXAGON_FIELDS: dict[str, str] = {
    "h3": "H3 cell index (hex string)",
    "resolution": "H3 resolution of the cell (follows the zoom)",
    "cameras": "Cameras in the cell (of the selected types/operators when filtered)",
    **{t: f"Cameras of type {t}" for t in CAMERA_TYPES},
    **{f"op_{o}": f"Cameras whose operator is {o}" for o in OPERATOR_TYPES},
    "density_km2": "Cameras per km²",
    **{f"d_{c}": f"Metres to the nearest {c} site (absent: none within reach)" for c in NEAR_CATEGORIES},
    **{f"near_{c}": f"True when the nearest {c} site is closer than the near-site radius (default 200 m)" for c in NEAR_CATEGORIES},
    "surveyed": "True where a survey looked in the cell: 0 cameras then means none seen, "
                "not unknown",
}
SITE_FIELDS: dict[str, str] = {
    "id": "Site id (GET /sites/{id})",
    "category": f"Site category: {', '.join(SITE_CATEGORIES)}",
    "name": "Site name",
    "cameras_200m": "Cameras within 200 m",
    "effective_cameras": "Effective cameras (120 m discs inside the 200 m buffer, Amnesty's method)",
    "percentile_category": "Percentile of cameras_200m among sites of the same category (0-100)",
}

FOV_FIELDS: dict[str, str] = {
    "camera_type": "Type of the camera whose view cone this is (non-private cameras of known "
                   "direction only; drawn from zoom CAMDENSITY_FOV_MIN_ZOOM, default 15)",
    "operator": "Operator of that camera: public, business or unknown",
}


def attribution(sources: list[dict[str, Any]]) -> str:
    """HTML attribution from the snapshot's sources: each credit (the source's attribution, else
    its name) once, with the licences of the sources giving it: '© OpenStreetMap contributors (ODbL-1.0)'."""
    licences: dict[str, list[str]] = {}  # credit -> its licences, both in first-seen order
    for source in sources:
        credit = source.get("attribution") or source.get("name") or "unknown source"
        named = licences.setdefault(credit, [])
        licence = source.get("licence")
        if licence and licence not in named and licence not in credit:
            named.append(licence)
    return " · ".join(
        html.escape(f"{credit} ({', '.join(named)})" if named else credit)
        for credit, named in licences.items()
    )


# Zoom to open at when the data spans regions far apart (a view of it all would show nothing):
# the busiest coarse cell and its neighbours.
FOCUS_ZOOM = 10


def default_zoom(extent: Extent) -> int:
    """A zoom at which the whole extent fits a ~1000 px view, but no wider than a city."""
    span = max(extent.east - extent.west, (extent.north - extent.south) * 1.5, 1e-6)
    fit = max(0, min(16, int(math.log2(360 * 1000 / 256 / span))))
    return max(fit, FOCUS_ZOOM) if extent.focus_lon is not None else fit


def tilejson(
    tiles_url: str, snapshot: str, sources: list[dict[str, Any]], extent: Extent | None, maxzoom: int,
) -> dict[str, Any]:
    """The TileJSON 3.0.0 document for the tiles URL template `tiles_url`."""
    bounds = (
        [extent.west, extent.south, extent.east, extent.north]
        if extent else [-180.0, -85.0511, 180.0, 85.0511]
    )
    center = [*extent.center, default_zoom(extent)] if extent else [0.0, 0.0, 0]
    return {
        "tilejson": "3.0.0",
        "name": "camdensity",
        "description": "Surveillance-camera density over H3 hexagons, and sensitive sites",
        "version": snapshot,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": 0,
        "maxzoom": min(maxzoom, MAX_ZOOM),
        "bounds": bounds,
        "center": center,
        "attribution": attribution(sources),
        "vector_layers": [
            {"id": "hexagons", "description": "H3 cells with camera counts", "fields": HEXAGON_FIELDS},
            {"id": "sites", "description": "Sensitive sites and their exposure", "fields": SITE_FIELDS},
            {"id": "fov", "description": "Fields of view of cameras whose direction is known",
             "fields": FOV_FIELDS},
        ],
    }


def density_color_expression() -> list[Any]:
    """MapLibre `step` expression over density_km2 following DENSITY_RAMP."""
    expr: list[Any] = ["step", ["get", "density_km2"], DENSITY_RAMP[0][1]]
    for threshold, colour in DENSITY_RAMP[1:]:
        expr += [threshold, colour]
    return expr


def style(
    tilejson_url: str, attribution_html: str, basemap: dict[str, Any] | None = None,
    fonts_prefix: str = "",
) -> dict[str, Any]:
    """A MapLibre style v8 over the tiles; with `basemap` (a vector source of camdensity's
    basemap archive) its quiet layers under the hexagons and its labels drawn with the font files
    at `fonts_prefix`; every URL is ours, so it needs no internet."""
    from camdensity.tiles import basemap as bm

    near_any = ["any", *[["==", ["get", f"near_{c}"], True] for c in NEAR_CATEGORIES]]
    doc: dict[str, Any] = {
        "version": 8,
        "name": "camdensity",
        "metadata": {"attribution": attribution_html},
        "sources": {"camdensity": {"type": "vector", "url": tilejson_url}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": "#f4f3ef"}},
            {
                "id": "hexagons-fill",
                "type": "fill",
                "source": "camdensity",
                "source-layer": "hexagons",
                "paint": {"fill-color": density_color_expression(), "fill-opacity": 0.75},
            },
            {
                "id": "hexagons-near-sites",
                "type": "line",
                "source": "camdensity",
                "source-layer": "hexagons",
                "filter": near_any,
                "paint": {"line-color": NEAR_SITE_OUTLINE, "line-width": NEAR_SITE_OUTLINE_WIDTH},
            },
            {
                "id": "sites",
                "type": "circle",
                "source": "camdensity",
                "source-layer": "sites",
                "paint": {
                    "circle-radius": 5,
                    "circle-color": [
                        "match", ["get", "category"],
                        *[v for pair in SITE_COLOURS.items() for v in pair],
                        "#555555",
                    ],
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 1.5,
                },
            },
        ],
    }
    if basemap is not None:
        doc["sources"]["basemap"] = basemap
        doc["font-faces"] = bm.font_faces(fonts_prefix)
        layers = doc["layers"]
        # Under the hexagons: water, parks, roads; above them (below the sites): the names.
        doc["layers"] = [layers[0], *bm.under_layers("basemap"), *layers[1:-1],
                         *bm.label_layers("basemap"), layers[-1]]
        doc["metadata"]["attribution"] = (
            f"{attribution_html} · basemap {html.escape(bm.BASEMAP_ATTRIBUTION)}"
        )
    return doc
