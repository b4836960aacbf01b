"""The tile grid: which tiles exist and which H3 resolution each zoom draws."""

from __future__ import annotations

from collections.abc import Mapping

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
