"""Preparing an OpenStreetMap extract for the basemap: the sea made from coastline ways (land on
their left), areas cut by the extract's edge closed, as a reader of the map then sees water."""

from __future__ import annotations

from pathlib import Path

import osmium
import pytest
from conftest import HELSINKI_PBF
from shapely.geometry import Point, Polygon, box
from shapely.ops import unary_union

from camdensity.tiles.basemap_extract import prepare_extract, sea_polygons

FRAME = box(0, 0, 10, 10)


def sea(*coastlines: list[tuple[float, float]]) -> object:
    return unary_union(sea_polygons(list(coastlines), FRAME))


def test_water_lies_right_of_the_coastline() -> None:
    south = sea([(0, 5), (10, 5)])  # walking east, land on the left (north)
    assert south.area == pytest.approx(50)
    assert south.contains(Point(5, 2)) and not south.contains(Point(5, 8))
    north = sea([(10, 5), (0, 5)])
    assert north.area == pytest.approx(50) and north.contains(Point(5, 8))


def test_a_coastline_cut_by_the_extract_is_carried_to_its_edge() -> None:
    # Stops short of both edges (its nodes beyond them are not in the extract): a bay to the south
    # between two stretches of one clipped way; the land beyond each of them stays land.
    bay = sea([(9, 4), (1, 4)], [(1, 6), (9, 6)])
    assert bay.area == pytest.approx(20)
    assert bay.contains(Point(5, 5)) and not bay.contains(Point(5, 1)) and not bay.contains(Point(5, 9))


def test_an_island_is_land_in_the_sea() -> None:
    # The open sea is off the frame's south edge; the island is a closed coastline, anticlockwise.
    water = sea([(0, 8), (10, 8)], [(4, 3), (6, 3), (6, 5), (4, 5), (4, 3)])
    assert water.contains(Point(1, 1)) and not water.contains(Point(5, 4))
    assert water.area == pytest.approx(80 - 4)


def test_no_coastline_no_sea() -> None:
    assert sea_polygons([], FRAME) == []


def test_helsinki_extract_gets_its_bay_and_keeps_every_node(tmp_path: Path) -> None:
    out = tmp_path / "prepared.osm.pbf"
    done = prepare_extract(HELSINKI_PBF, out)
    # Kaisaniemenlahti, the bay north-east of the centre, is sea; a lake cut by the edge is kept.
    assert done.sea_polygons >= 1 and 0.03 < done.sea_share < 0.2
    assert done.closed_areas > 0 and done.dropped_ways > 0
    water = []
    for way in osmium.FileProcessor(str(out)).with_locations():
        if way.is_way() and way.tags.get("water") == "sea":
            water.append([(n.lon, n.lat) for n in way.nodes])
    assert water, "the sea is written as closed natural=water ways"
    assert any(Polygon(ring).contains(Point(24.9435, 60.1776)) for ring in water)
    # Every node of the extract is kept, and every way written has all its nodes.
    before = sum(1 for _ in osmium.FileProcessor(str(HELSINKI_PBF), osmium.osm.NODE))
    nodes = {n.id for n in osmium.FileProcessor(str(out), osmium.osm.NODE)}
    assert len(nodes) > before
    assert all(n.ref in nodes for w in osmium.FileProcessor(str(out), osmium.osm.WAY) for n in w.nodes)
