"""An OpenStreetMap extract made ready for tilemaker: ways cut by the extract's edge are dropped
(tilemaker stops at the first missing node) except areas, which are closed across the cut; and the
sea, which OSM maps only as coastline ways and tilemaker fills only from shapefiles it does not
ship, becomes water polygons inside the extract's box."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import osmium
import osmium.index
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import linemerge, polygonize, unary_union

# Closed ways of these keys are areas: when the extract's edge cuts one, it is closed across the
# cut and clipped to the box (a lake or park half inside the extract is still drawn there).
AREA_KEYS = ("natural", "landuse", "leisure", "waterway", "water")
SEA_TAGS = {"natural": "water", "water": "sea"}


@dataclass
class Prepared:
    """What `prepare_extract` did: ways dropped, areas closed across the edge, sea polygons made."""

    dropped_ways: int = 0
    closed_areas: int = 0
    sea_polygons: int = 0
    sea_share: float = 0.0  # of the extract's box


@dataclass
class _Extra:
    """Objects to add to the copy, numbered after the file's own."""

    next_node: int
    next_way: int
    next_relation: int
    nodes: list[tuple[int, tuple[float, float]]] = field(default_factory=list)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    relations: list[tuple[int, list[tuple[int, str]], dict[str, str]]] = field(default_factory=list)

    def ring(self, coords: Iterable[tuple[float, float]], tags: dict[str, str]) -> int:
        """A closed way through new nodes at `coords` (first == last); returns its id."""
        refs = []
        points = list(coords)[:-1]
        for lon, lat in points:
            self.nodes.append((self.next_node, (lon, lat)))
            refs.append(self.next_node)
            self.next_node += 1
        self.ways.append((self.next_way, [*refs, refs[0]], tags))
        self.next_way += 1
        return self.next_way - 1

    def area(self, polygon: Polygon, tags: dict[str, str]) -> None:
        """`polygon` as a closed way, or a multipolygon relation when it has holes."""
        if not polygon.interiors:
            self.ring(polygon.exterior.coords, tags)
            return
        members = [(self.ring(polygon.exterior.coords, {}), "outer")]
        members += [(self.ring(hole.coords, {}), "inner") for hole in polygon.interiors]
        self.relations.append((self.next_relation, members, {"type": "multipolygon", **tags}))
        self.next_relation += 1


def _polygons(geometry: Any) -> Iterator[Polygon]:
    """The polygons of any shapely geometry (none for lines and points)."""
    if isinstance(geometry, Polygon) and not geometry.is_empty:
        yield geometry
    elif hasattr(geometry, "geoms"):
        for part in geometry.geoms:
            yield from _polygons(part)


def _runs(refs: list[int], locations: dict[int, tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """The stretches of a way whose nodes are in the extract, in order."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for ref in refs:
        if ref in locations:
            current.append(locations[ref])
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _to_frame(line: LineString, frame: Polygon) -> LineString:
    """`line` with each end that stops inside the frame carried to the frame's nearest point."""
    coords = list(line.coords)
    edge = frame.exterior
    head, tail = Point(coords[0]), Point(coords[-1])
    if edge.distance(head) > 1e-9:
        coords.insert(0, edge.interpolate(edge.project(head)).coords[0])
    if edge.distance(tail) > 1e-9:
        coords.append(edge.interpolate(edge.project(tail)).coords[0])
    return LineString(coords)


def sea_polygons(coastlines: list[list[tuple[float, float]]], frame: Polygon) -> list[Polygon]:
    """The sea inside `frame` from coastline stretches (OSM: land on the left, water on the
    right): the frame is cut along them, and each piece is sea when more coastline faces it with
    its right side than with its left."""
    lines = [LineString(c) for c in coastlines if len(c) > 1]
    if not lines:
        return []
    merged = linemerge(lines)
    parts = list(getattr(merged, "geoms", [merged]))
    cuts = [part if part.is_closed else _to_frame(part, frame) for part in parts]
    faces = list(polygonize(unary_union([frame.exterior, *cuts])))
    tree = shapely.STRtree(faces)
    votes = [0] * len(faces)
    eps = (frame.bounds[2] - frame.bounds[0]) * 1e-5
    for line in lines:
        coords = list(line.coords)
        for (x0, y0), (x1, y1) in itertools.pairwise(coords):
            length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
            if length == 0:
                continue
            nx, ny = (y1 - y0) / length * eps, (x0 - x1) / length * eps  # the right-hand normal
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            for side, point in ((1, Point(mx + nx, my + ny)), (-1, Point(mx - nx, my - ny))):
                for i in tree.query(point, predicate="within"):
                    votes[i] += side
    return [face for face, vote in zip(faces, votes) if vote > 0]


def _frame(pbf: Path, nodes_box: tuple[float, float, float, float],
           given: tuple[float, float, float, float] | None) -> Polygon:
    """The extract's box: the one given, else the file header's, else the nodes' bounds."""
    if given:
        return box(*given)
    header = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING).header().box()
    if header.valid():
        return box(header.bottom_left.lon, header.bottom_left.lat,
                   header.top_right.lon, header.top_right.lat)
    return box(*nodes_box)


def prepare_extract(pbf: Path, out: Path,
                    bbox: tuple[float, float, float, float] | None = None) -> Prepared:
    """Write to `out` a copy of `pbf` tilemaker can read whole and that draws its sea (inside
    `bbox`, minlon,minlat,maxlon,maxlat, else the extract's own box)."""
    done = Prepared()
    present = osmium.index.IdSet()
    west = south = float("inf")
    east = north = float("-inf")
    last_node = 0
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        present.set(node.id)
        last_node = max(last_node, node.id)
        lon, lat = node.location.lon, node.location.lat
        west, east, south, north = min(west, lon), max(east, lon), min(south, lat), max(north, lat)
    complete = osmium.index.IdSet()
    coastline_refs: list[list[int]] = []
    cut_areas: list[tuple[list[int], dict[str, str]]] = []
    last_way = 0
    for way in osmium.FileProcessor(str(pbf), osmium.osm.WAY):
        last_way = max(last_way, way.id)
        refs = [n.ref for n in way.nodes]
        whole = all(present.get(r) for r in refs)
        if whole:
            complete.set(way.id)
        if way.tags.get("natural") == "coastline":
            coastline_refs.append(refs)
        elif (not whole and len(refs) > 3 and refs[0] == refs[-1]
              and any(key in way.tags for key in AREA_KEYS)):
            cut_areas.append((refs, {t.k: t.v for t in way.tags}))
        elif not whole:
            done.dropped_ways += 1
    wanted = {r for refs in coastline_refs for r in refs} | {r for refs, _ in cut_areas for r in refs}
    locations = {node.id: (node.location.lon, node.location.lat)
                 for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE) if node.id in wanted}
    last_relation = max((r.id for r in osmium.FileProcessor(str(pbf), osmium.osm.RELATION)), default=0)
    frame = _frame(pbf, (west, south, east, north), bbox)
    extra = _Extra(last_node + 1, last_way + 1, last_relation + 1)
    for refs, tags in cut_areas:  # closed across the cut, clipped to the box
        points = [p for run in _runs(refs, locations) for p in run]
        if len(points) < 3:
            continue
        for polygon in _polygons(shapely.make_valid(Polygon(points)).intersection(frame)):
            extra.area(polygon, tags)
            done.closed_areas += 1
    coastlines = [run for refs in coastline_refs for run in _runs(refs, locations)]
    for polygon in sea_polygons(coastlines, frame):
        extra.area(polygon, SEA_TAGS)
        done.sea_polygons += 1
        done.sea_share += polygon.area / frame.area
    _write(pbf, out, complete, extra)
    return done


def _write(pbf: Path, out: Path, complete: osmium.index.IdSet, extra: _Extra) -> None:
    """Nodes, then ways, then relations (the order tilemaker reads), each followed by the new ones:
    every node; the complete ways; multipolygons made of complete ways only."""
    from osmium.osm.mutable import Node, Relation, Way

    stage = 0  # 0 nodes, 1 ways, 2 relations: new objects of a kind go before the next kind
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        def advance(to: int) -> None:
            nonlocal stage
            while stage < to:
                if stage == 0:
                    for ref, (lon, lat) in extra.nodes:
                        writer.add_node(Node(id=ref, location=(lon, lat)))
                elif stage == 1:
                    for ref, refs, tags in extra.ways:
                        writer.add_way(Way(id=ref, nodes=refs, tags=tags))
                stage += 1

        for obj in osmium.FileProcessor(str(pbf)):
            if obj.is_node():
                writer.add_node(obj)
            elif obj.is_way():
                advance(1)
                if complete.get(obj.id):
                    writer.add_way(obj)
            elif obj.is_relation():
                advance(2)
                if (obj.tags.get("type") == "multipolygon"
                        and all(m.type == "w" and complete.get(m.ref) for m in obj.members)):
                    writer.add_relation(obj)
        advance(2)
        for ref, members, tags in extra.relations:
            writer.add_relation(Relation(id=ref, members=[("w", m, role) for m, role in members],
                                         tags=tags))
