"""`camdensity publish OUT_DIR`: a folder any static host can serve (PMTiles archive, map page,
style, TileJSON, exports, provenance), written beside OUT_DIR and swapped in atomically."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import orjson
from pmtiles.reader import MmapSource, Reader

from camdensity import __version__
from camdensity.ingest import privacy
from camdensity.settings import method_settings, service_settings
from camdensity.tiles.archive import (
    ArchiveError,
    ArchiveRequest,
    ArchiveResult,
    Previous,
    config_digest,
    write_archive,
)
from camdensity.tiles.basemap import BASEMAP_ATTRIBUTION, FONT_FILES
from camdensity.tiles.source import TileSource
from camdensity.tiles.tilejson import (
    attribution,
    default_zoom,
    style,
)

ARCHIVE = "tiles.pmtiles"
# Incremental state: the previous publish's settings digest and each tile's content key.
STATE = ".camdensity-publish.json.gz"
# The page's libraries (npm maplibre-gl, pmtiles; service/static), copied with their licences.
VENDORED = (
    "maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css", "pmtiles.js",
    "LICENSE.maplibre-gl.txt", "LICENSE.pmtiles.txt",
)

BASEMAP = "basemap.pmtiles"
SITES = "sites.geojson"  # the sensitive sites as /sites shows them
FONTS = (*(name for name, _ in FONT_FILES), "LICENSE.noto-sans.txt")

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("camdensity.service", "templates"), autoescape=True, trim_blocks=True
)


@dataclass
class PublishResult:
    """What `publish` did: the archive's figures, where the bundle is and what it holds."""

    archive: ArchiveResult
    out_dir: Path
    files: list[str]
    incremental: bool


def render_index(result: ArchiveResult, request: ArchiveRequest, doc_style: dict[str, Any]) -> str:
    """index.html: /map's layout (title, legend, attribution) over MapLibre + the archive."""
    from camdensity.service.routes.map import json_in_script, layout_context

    snap = result.snapshot
    extent = result.extent
    lon, lat = extent.center if extent else (0.0, 0.0)
    zoom = default_zoom(extent) if extent else 1
    if request.bbox:
        lon, lat = (request.bbox[0] + request.bbox[2]) / 2, (request.bbox[1] + request.bbox[3]) / 2
    zoom = max(request.minzoom, min(request.maxzoom, zoom))
    return _templates.get_template("bundle.html").render(
        style_json=json_in_script(doc_style),
        view_json=json_in_script({"lon": lon, "lat": lat, "zoom": zoom,
                                  "baseStyle": service_settings().basemap_style}),
        **layout_context(request.filters, snap.snapshot, snap.built_at.date().isoformat(),
                         snap.sources,
                         f"basemap {BASEMAP_ATTRIBUTION}" if "basemap" in doc_style["sources"] else None),
    )


def readme(result: ArchiveResult, request: ArchiveRequest, files: list[str]) -> str:
    """README.txt: what the bundle is, which data and method made it, how to host it."""
    snap = result.snapshot
    lines = [
        "camdensity: surveillance-camera density over H3 hexagons, published as a static bundle.",
        "",
        f"Snapshot:  {snap.snapshot} (built {snap.built_at.isoformat()})",
        f"Written by camdensity {__version__}: {result.tiles:,} tiles "
        f"({result.contents:,} distinct), zooms {request.minzoom}-{request.maxzoom}"
        + (f", box {','.join(f'{v:g}' for v in request.bbox)}" if request.bbox else ""),
        f"Filters:   {request.filters.query_string() or 'none (every camera, every site)'}",
        "",
        "Sources (name, kind, licence, attribution, date of the data):",
    ]
    for s in snap.sources:
        lines.append(
            f"  - {s.get('name')}: {s.get('kind') or '?'}, licence {s.get('licence') or '?'}, "
            f"{s.get('attribution') or 'no attribution given'}, data of {s.get('data_date') or 'unknown date'}"
        )
    lines += [
        "",
        "Method parameters:",
        *[f"  {k} = {json.dumps(v)}" for k, v in sorted((snap.params or {}).items())],
        "",
        "Zoom -> H3 resolution (each key: highest zoom drawn at that resolution): "
        + json.dumps({str(k): v for k, v in sorted(service_settings().tile_zoom_resolutions.items())}),
        f"Privacy, as on the live service: {privacy.describe(snap.params or {})}.",
        "",
        "Files:",
        *[f"  {name}" for name in files],
        "",
        *external_style_note(),
        "Hosting: any static host that answers HTTP Range requests (GitHub Pages, S3, R2, nginx,",
        "Caddy, a CDN). index.html reads tiles.pmtiles by range requests; serve tiles.pmtiles as",
        "application/octet-stream without re-compressing it (tiles are gzipped inside). Other",
        "pages may use style.json / tiles.json with the `pmtiles` protocol of MapLibre GL JS.",
        "The archive's metadata (TileJSON fields and a `camdensity` member) repeats all of the above.",
    ]
    return "\n".join(lines) + "\n"


def external_style_note() -> list[str]:
    """README lines on CAMDENSITY_BASEMAP_STYLE when the page draws over an external style."""
    url = service_settings().basemap_style
    if not url:
        return []
    return [
        f"Basemap: the external style {url} (CAMDENSITY_BASEMAP_STYLE). Its host, and the hosts",
        "of its tiles, glyphs and sprites, learn the address of everyone who opens the map and",
        "which place they look at, and the page needs them reachable (no longer offline). A",
        "Content-Security-Policy on this folder must allow that origin in connect-src and img-src.",
        "",
    ]


def read_state(out_dir: Path) -> tuple[str | None, dict[int, str]]:
    """(settings digest, tile id -> key) of the bundle already at `out_dir` (None, {} when none)."""
    path = out_dir / STATE
    if not path.is_file():
        return None, {}
    try:
        doc = orjson.loads(gzip.decompress(path.read_bytes()))
        return doc["config"], {int(k): v for k, v in doc["keys"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}  # unreadable state: publish everything again


def write_state(path: Path, config: str, keys: dict[int, str]) -> None:
    """Write the incremental state beside the archive."""
    doc = {"config": config, "keys": {str(k): v for k, v in keys.items()}}
    path.write_bytes(gzip.compress(orjson.dumps(doc), mtime=0))


def swap_in(stage: Path, out_dir: Path) -> None:
    """Make `out_dir` (a symlink) point at `stage` in one rename; remove the bundle it replaced."""
    old = out_dir.resolve() if out_dir.is_symlink() else None
    link = out_dir.with_name(f".{out_dir.name}.link-{secrets.token_hex(4)}")
    os.symlink(stage.name, link)
    os.replace(link, out_dir)  # rename(2) is atomic: a host sees the old bundle or the new one
    if old is not None and old != stage.resolve() and old.name.startswith(f".{out_dir.name}."):
        shutil.rmtree(old, ignore_errors=True)


def check_out_dir(out_dir: Path) -> None:
    """Raise ValueError unless OUT_DIR is absent or a link made by an earlier publish."""
    if out_dir.exists() and not out_dir.is_symlink():
        raise ValueError(
            f"{out_dir} exists and is not a bundle written by `camdensity publish` (those are "
            "symlinks swapped atomically); remove it or choose another folder"
        )


def publish(
    url: str,
    out_dir: Path,
    request: ArchiveRequest,
    *,
    workers: int,
    exports: bool = True,
    full: bool = False,
    basemap: Path | None = None,
    on_plan: Callable[[int], None] = lambda total: None,
    on_tile: Callable[[], None] = lambda: None,
) -> PublishResult:
    """Write the bundle for the newest build into a fresh folder beside `out_dir`, then swap it in."""
    request.check()
    check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    config = config_digest(TileSource(service_settings(), method_settings()), request.filters)
    old_config, old_keys = read_state(out_dir) if out_dir.exists() else (None, {})
    previous = None
    if not full and old_config == config and (out_dir / ARCHIVE).is_file():
        previous = Previous(out_dir / ARCHIVE, old_keys)
    stage = out_dir.with_name(f".{out_dir.name}.{secrets.token_hex(6)}")
    stage.mkdir()
    try:
        with (stage / ARCHIVE).open("wb") as fh:
            result = asyncio.run(write_archive(
                url, fh, request, workers=workers, previous=previous,
                on_plan=on_plan, on_tile=on_tile,
            ))
        result.size = (stage / ARCHIVE).stat().st_size
        write_state(stage / STATE, config, result.keys)
        files = [ARCHIVE]
        # The service's style over the archive beside the page, over the basemap if there is one.
        base = None
        if basemap is not None:
            shutil.copyfile(basemap, stage / BASEMAP)
            base = {"type": "vector", "url": f"pmtiles://{BASEMAP}"}
            files += [BASEMAP, *FONTS]
        doc_style = style(f"pmtiles://{ARCHIVE}", attribution(result.snapshot.sources), base)
        tj = archive_metadata(stage / ARCHIVE)  # TileJSON fields as written into the archive
        tj.pop("camdensity", None)
        tj["tiles"] = [f"pmtiles://{ARCHIVE}/{{z}}/{{x}}/{{y}}"]
        (stage / "tiles.json").write_text(json.dumps(tj, indent=2, ensure_ascii=False))
        (stage / "style.json").write_text(json.dumps(doc_style, indent=2, ensure_ascii=False))
        (stage / "index.html").write_text(render_index(result, request, doc_style))
        sites = sites_geojson(url, request, result.snapshot.snapshot)
        (stage / SITES).write_bytes(orjson.dumps(sites, option=orjson.OPT_INDENT_2))
        files += ["index.html", "style.json", "tiles.json", SITES]
        static = resources.files("camdensity.service").joinpath("static")
        for name in VENDORED + (FONTS if basemap is not None else ()):
            (stage / name).write_bytes(static.joinpath(name).read_bytes())
        files += list(VENDORED)
        if exports:
            files += write_exports(url, stage, request)
        files.append("README.txt")
        (stage / "README.txt").write_text(readme(result, request, files))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    swap_in(stage, out_dir)
    return PublishResult(result, out_dir, files, previous is not None)


def archive_metadata(path: Path) -> dict[str, Any]:
    """The archive's metadata, read back with the pmtiles reader."""
    with path.open("rb") as fh:
        return Reader(MmapSource(fh)).metadata()


def sites_geojson(url: str, request: ArchiveRequest, snapshot: str) -> dict[str, Any]:
    """The sensitive sites of the box and categories as `/sites` shows them (the same query, fields
    and order, most watched first; exposure figures come from the published cameras only, as the
    privacy rule says), one GeoJSON Point a site at its centroid, with the snapshot."""
    import psycopg
    from psycopg.rows import dict_row

    from camdensity.service.routes.sites import site_json, sites_query
    from camdensity.service.snapshot import LATEST_BUILD

    box = dict(zip(("minlon", "minlat", "maxlon", "maxlat"), request.bbox or (None,) * 4))
    categories = list(request.filters.categories) if request.filters.categories else None
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # sites and build agree
        with conn.transaction():
            read = conn.execute(LATEST_BUILD).fetchone()
            if read is None or read["snapshot"] != snapshot:
                raise ArchiveError(
                    f"the data version changed from {snapshot} to "
                    f"{read and read['snapshot']} while publishing; publish again")
            rows = conn.execute(*sites_query(
                "-exposure", categories=categories, limit=None, **box)).fetchall()
    features = []
    for row in rows:
        site = site_json(row)
        features.append({
            "type": "Feature", "id": site["id"],
            "geometry": {"type": "Point",
                         "coordinates": [round(site["lon"], 7), round(site["lat"], 7)]},
            "properties": site,
        })
    return {"type": "FeatureCollection",
            "camdensity": {"snapshot": snapshot, "same_as": "GET /sites (order -exposure)",
                           "categories": categories,
                           "bbox": list(request.bbox) if request.bbox else None},
            "features": features}


def write_exports(url: str, stage: Path, request: ArchiveRequest) -> list[str]:
    """Hexagon summaries at the baseline resolution (GeoParquet, CSV + provenance) in the box."""
    from camdensity.service.exports import ExportFormat, ExportRequest, export_to_file

    resolution = method_settings().baseline_resolution
    export = ExportRequest(resolution=resolution, bbox=request.bbox)
    names = []
    for fmt in (ExportFormat.parquet, ExportFormat.csv):
        name = f"hexagons-r{resolution}.{fmt.value}"
        with (stage / name).open("wb") as fh:
            plan = export_to_file(url, export, fmt, fh)
        names.append(name)
    provenance = f"hexagons-r{resolution}.provenance.json"
    (stage / provenance).write_bytes(orjson.dumps(plan.provenance(), option=orjson.OPT_INDENT_2))
    return [*names, provenance]

