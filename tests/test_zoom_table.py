"""The default zoom-to-resolution table keeps hexagons readable on screen at every zoom."""

from __future__ import annotations

import pytest

from camdensity.settings import MethodSettings, ServiceSettings
from camdensity.tiles.grid import hexagon_pixels, resolution_for_zoom

TABLE = ServiceSettings().tile_zoom_resolutions


@pytest.mark.parametrize("zoom", range(7, 18))
def test_hexagons_stay_15_to_60_px_across(zoom: int) -> None:
    px = hexagon_pixels(resolution_for_zoom(zoom, TABLE), zoom, lat=45.0)
    assert 15 <= px <= 60, f"zoom {zoom}: {px:.1f} px"


@pytest.mark.parametrize("zoom", range(7, 18))
def test_no_other_resolution_is_closer_to_30_px(zoom: int) -> None:
    """Where two resolutions both fit, the table takes the one nearer 30 px (log scale)."""
    import math

    chosen = resolution_for_zoom(zoom, TABLE)
    distance = {r: abs(math.log(hexagon_pixels(r, zoom, 45.0) / 30)) for r in MethodSettings().resolutions}
    assert distance[chosen] == min(distance.values())


def test_pixels_follow_web_mercator() -> None:
    # One zoom step doubles the size; at 60° a cell is drawn twice as wide as on the equator.
    assert hexagon_pixels(9, 13, 0) == pytest.approx(2 * hexagon_pixels(9, 12, 0))
    assert hexagon_pixels(9, 12, 60) == pytest.approx(2 * hexagon_pixels(9, 12, 0))
    # A res-9 cell (~400 m across) at z12 on the equator: 400 m / (78,272 m / 4,096) ≈ 21 px.
    assert hexagon_pixels(9, 12, 0) == pytest.approx(21.0, abs=0.5)
