"""The tile grid: which tiles exist and which H3 resolution each zoom draws."""

from __future__ import annotations

import math
from collections.abc import Mapping

import h3

MAX_ZOOM = 24


class TileOutOfRange(ValueError):
    """A z/x/y that names no tile of the Web Mercator grid."""


def check_tile(z: int, x: int, y: int) -> None:
    """Raise TileOutOfRange unless 0 <= z <= 24 and x, y lie in 0 .. 2^z - 1."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileOutOfRange(f"zoom {z} is outside 0..{MAX_ZOOM}")
    last = (1 << z) - 1
    if not (0 <= x <= last and 0 <= y <= last):
        raise TileOutOfRange(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{last} at zoom {z}")


def resolution_for_zoom(z: int, table: Mapping[int, int]) -> int:
    """The H3 resolution drawn at zoom `z`: the entry with the smallest key >= z (keys are the
    highest zoom drawn at that resolution); zooms past the last key use the finest resolution."""
    for max_zoom in sorted(table):
        if z <= max_zoom:
            return table[max_zoom]
    return table[max(table)]


# Web Mercator: metres per screen pixel at the equator at zoom 0, for maps whose world is 512 px
# wide at zoom 0 (MapLibre GL JS and deck.gl, the two map pages).
METRES_PER_PIXEL_Z0 = 2 * math.pi * 6_378_137 / 512


def hexagon_pixels(resolution: int, zoom: float, lat: float) -> float:
    """About how many screen pixels across (two edge lengths) an H3 cell of `resolution` is drawn
    at `zoom` and latitude `lat`: what the zoom-to-resolution table keeps readable."""
    metres = 2 * h3.average_hexagon_edge_length(resolution, unit="m")
    return metres / (METRES_PER_PIXEL_Z0 / 2**zoom * math.cos(math.radians(lat)))
