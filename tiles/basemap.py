"""An offline basemap from OpenStreetMap: tilemaker (Debian) writes MBTiles from an .osm.pbf, the
`pmtiles` package converts them to one PMTiles archive; and its quiet MapLibre layers."""

from __future__ import annotations

import math
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pmtiles.convert import mbtiles_to_pmtiles
from pmtiles.reader import MmapSource, Reader, all_tiles

from camdensity.tiles.basemap_extract import Prepared, prepare_extract

# tiles/tilemaker/: tilemaker's layer config and tag processing (water, parks, roads, rail, places).
CONFIG_FILES = ("config.json", "process.lua")
FONT = "Noto Sans Regular"
# Label font files (npm @fontsource/noto-sans, OFL-1.1; service/static) and the code points each
# covers: MapLibre draws labels from them itself (style `font-faces`), so no glyph server is needed.
FONT_FILES: tuple[tuple[str, list[str]], ...] = (
    ("noto-sans-latin-400-normal.woff2", ["U+0000-00FF", "U+0131", "U+0152-0153", "U+02BB-02BC",
                                          "U+02C6", "U+02DA", "U+02DC", "U+2000-206F", "U+20AC",
                                          "U+2122", "U+2212", "U+FEFF", "U+FFFD"]),
    ("noto-sans-latin-ext-400-normal.woff2", ["U+0100-02BA", "U+02BD-02C5", "U+02C7-02CC",
                                              "U+02CE-02D7", "U+02DD-02FF", "U+1E00-1EFF",
                                              "U+2C60-2C7F", "U+A720-A7FF"]),
)
BASEMAP_ATTRIBUTION = "© OpenStreetMap contributors (ODbL-1.0)"


class BasemapError(Exception):
    """A basemap that could not be built; the message says why."""


@dataclass(frozen=True)
class BasemapResult:
    """The archive written: where, how many tiles, how big; what preparing the extract did."""

    path: Path
    tiles: int
    size: int
    extract: Prepared


def _tilemaker(pbf: Path, mbtiles: Path, workdir: Path, bbox: str | None) -> subprocess.CompletedProcess[str]:
    files = resources.files("camdensity.tiles").joinpath("tilemaker")
    for name in CONFIG_FILES:
        (workdir / name).write_bytes(files.joinpath(name).read_bytes())
    command = ["tilemaker", "--input", str(pbf), "--output", str(mbtiles),
               "--config", str(workdir / "config.json"), "--process", str(workdir / "process.lua")]
    if bbox:
        command += ["--bbox", bbox]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)


def build_basemap(pbf: Path, out: Path, bbox: str | None = None) -> BasemapResult:
    """Write the basemap of `pbf` to `out` (PMTiles, z4-14), replacing it atomically."""
    if shutil.which("tilemaker") is None:
        raise BasemapError("tilemaker is not installed: run scripts/install-system.sh "
                           "(Debian package `tilemaker`)")
    if not pbf.is_file():
        raise BasemapError(f"{pbf} is not a file")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="camdensity-basemap-") as tmp:
        work = Path(tmp)
        mbtiles = work / "basemap.mbtiles"
        prepared = work / "prepared.osm.pbf"
        try:
            extract = prepare_extract(pbf, prepared, _parse_bbox(bbox))
        except (RuntimeError, OSError) as exc:  # pyosmium's errors on a file it cannot read
            raise BasemapError(f"cannot read {pbf.name}: {exc}") from None
        done = _tilemaker(prepared, mbtiles, work, bbox)
        if done.returncode != 0 or not mbtiles.is_file():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BasemapError(f"tilemaker failed on {pbf.name}: {last[0]}")
        set_bounds(mbtiles)
        partial = out.with_name(out.name + ".partial")
        mbtiles_to_pmtiles(str(mbtiles), str(partial), None)
    partial.replace(out)
    return BasemapResult(out, count_tiles(out), out.stat().st_size, extract)


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """`minlon,minlat,maxlon,maxlat` as four numbers (BasemapError when it is not that)."""
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise BasemapError(f"--bbox must be minlon,minlat,maxlon,maxlat, not {text!r}") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BasemapError("--bbox must satisfy -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90")
    return west, south, east, north


def set_bounds(mbtiles: Path) -> None:
    """Write the MBTiles `bounds` and `center` from the tiles it holds at its finest zoom:
    tilemaker 2.2 writes zeros, which the PMTiles header would carry (readers reject them)."""
    with closing(sqlite3.connect(mbtiles)) as conn, conn:
        z, x0, x1, r0, r1 = conn.execute(
            "SELECT zoom_level, min(tile_column), max(tile_column), min(tile_row), max(tile_row) "
            "FROM tiles WHERE zoom_level = (SELECT max(zoom_level) FROM tiles)"
        ).fetchone()
        n = 1 << z

        def lat(row: int) -> float:  # MBTiles rows count from the south (TMS)
            return math.degrees(math.atan(math.sinh(math.pi * (2 * row / n - 1))))

        west, east = x0 / n * 360 - 180, (x1 + 1) / n * 360 - 180
        south, north = lat(r0), lat(r1 + 1)
        values = {"bounds": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}",
                  "center": f"{(west + east) / 2:.6f},{(south + north) / 2:.6f},{min(z, 13)}"}
        for name, value in values.items():
            conn.execute("DELETE FROM metadata WHERE name = ?", (name,))
            conn.execute("INSERT INTO metadata (name, value) VALUES (?, ?)", (name, value))


def count_tiles(path: Path) -> int:
    """Tiles in a PMTiles archive."""
    with path.open("rb") as fh:
        return sum(1 for _ in all_tiles(MmapSource(fh)))


def read_tile(path: Path, z: int, x: int, y: int) -> bytes | None:
    """The stored (gzipped) bytes of one tile of a PMTiles archive, or None."""
    with path.open("rb") as fh:
        data = Reader(MmapSource(fh)).get(z, x, y)
    return bytes(data) if data else None


def vector_source(tiles_url: str) -> dict[str, Any]:
    """The basemap as a MapLibre vector source served as XYZ tiles at `tiles_url` (zooms 4-14)."""
    return {"type": "vector", "tiles": [tiles_url], "minzoom": 4, "maxzoom": 14}


def names_style(source: dict[str, Any], fonts_prefix: str) -> dict[str, Any]:
    """A MapLibre style drawing only the basemap's place and street names (transparent elsewhere):
    /map lays it over deck.gl's hexagons, so the names stay legible above the fill."""
    return {"version": 8, "name": "camdensity basemap names", "sources": {"basemap": source},
            "font-faces": font_faces(fonts_prefix), "layers": label_layers("basemap")}


def font_faces(prefix: str) -> dict[str, Any]:
    """The style's `font-faces`: the label font's files under URL `prefix`."""
    return {FONT: [{"url": f"{prefix}{name}", "unicode-range": ranges} for name, ranges in FONT_FILES]}


def _zoomed(low: float, high: float) -> list[Any]:
    """A line width growing exponentially from `low` px at z10 to `high` px at z18."""
    return ["interpolate", ["exponential", 1.6], ["zoom"], 10, low, 18, high]


def under_layers(source: str) -> list[dict[str, Any]]:
    """Quiet layers drawn under the hexagons: water, parks, roads by class, rail."""
    roads = [("path", "#e4e1d9", 0.3, 1.5), ("service", "#e4e1d9", 0.3, 2.5),
             ("minor", "#dcd8cf", 0.5, 5), ("medium", "#d2cec4", 0.8, 8), ("major", "#c8c3b8", 1.2, 11)]
    layers: list[dict[str, Any]] = [
        {"id": "basemap-water", "type": "fill", "source": source, "source-layer": "water",
         "paint": {"fill-color": "#d4e1e8"}},
        {"id": "basemap-park", "type": "fill", "source": source, "source-layer": "park",
         "paint": {"fill-color": "#e6ebdc"}},
    ]
    for cls, colour, low, high in roads:
        layers.append({
            "id": f"basemap-road-{cls}", "type": "line", "source": source, "source-layer": "road",
            "filter": ["==", ["get", "class"], cls],
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {"line-color": colour, "line-width": _zoomed(low, high)},
        })
    layers.append({"id": "basemap-rail", "type": "line", "source": source, "source-layer": "rail",
                   "paint": {"line-color": "#cdc9c1", "line-width": 1, "line-dasharray": [3, 2]}})
    return layers


def label_layers(source: str) -> list[dict[str, Any]]:
    """Place and street names, drawn above the hexagons with a white halo so both stay legible."""
    text = {"text-color": "#4a4a4a", "text-halo-color": "rgba(255,255,255,0.85)", "text-halo-width": 1.4}
    return [
        {"id": "basemap-road-names", "type": "symbol", "source": source, "source-layer": "road",
         "minzoom": 14, "filter": ["has", "name"],
         "layout": {"symbol-placement": "line", "text-field": ["get", "name"], "text-font": [FONT],
                    "text-size": 11},
         "paint": {**text, "text-color": "#666666"}},
        {"id": "basemap-places", "type": "symbol", "source": source, "source-layer": "place",
         "layout": {"text-field": ["get", "name"], "text-font": [FONT],
                    "text-size": ["match", ["get", "class"], "city", 15, "town", 13, 12]},
         "paint": text},
    ]
