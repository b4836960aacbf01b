"""Sensitive sites and addresses read from an OSM `.osm.pbf` with pyosmium."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import osmium
import shapely
from osmium.geom import WKBFactory

# A tag condition: the key must be present, and when values are given one of the tag's
# semicolon-separated values must be among them (OSM lists several values as "a;b").
TagValues = frozenset[str] | None
# Told the time of every object read, and the file's snapshot time when its header has one.
TimeNote = Callable[[datetime], None]


@dataclass(frozen=True, slots=True)
class SiteRule:
    """Objects whose tags meet every `require` condition and no `exclude` one get `category`."""

    category: str
    require: Mapping[str, TagValues]
    exclude: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def matches(self, tags: Mapping[str, str]) -> bool:
        """True when the tags satisfy this rule."""
        for key, values in self.require.items():
            value = tags.get(key)
            if value is None or (values is not None and not _values(value) & values):
                return False
        for key, values in self.exclude.items():
            value = tags.get(key)
            if value is not None and _values(value) & values:
                return False
        return True


def _values(value: str) -> set[str]:
    return {v.strip().lower() for v in value.split(";")}


def _any(*values: str) -> frozenset[str]:
    return frozenset(values)


# Ordered: the first rule that matches decides, so the most specific categories come first
# (an abortion provider is also a clinic; an immigration court is also a courthouse).
SITE_RULES: tuple[SiteRule, ...] = (
    SiteRule("abortion", {"healthcare:speciality": _any("abortion", "family_planning")}),
    SiteRule("abortion", {"healthcare": _any("abortion", "family_planning")}),
    SiteRule("abortion", {"healthcare": None, "abortion": _any("yes")}),
    SiteRule("abortion", {"amenity": _any("clinic", "doctors", "hospital"),
                          "abortion": _any("yes")}),
    SiteRule("immigration", {"government": _any("immigration", "customs_and_immigration",
                                                 "border_control", "migration")}),
    SiteRule("immigration", {"office": _any("immigration")}),
    SiteRule("immigration", {"amenity": _any("courthouse"), "court": _any("immigration")}),
    SiteRule("immigration", {"amenity": _any("prison"),
                             "prison": _any("immigration", "immigration_detention")}),
    SiteRule("immigration", {"detention": _any("immigration")}),
    SiteRule("courthouse", {"amenity": _any("courthouse")}),
    SiteRule("shelter", {"social_facility": _any("shelter")}),
    SiteRule("shelter", {"amenity": _any("refugee_site", "refugee_housing")}),
    # amenity=shelter is mostly weather, transit or bomb shelters; only people-shelters count.
    SiteRule("shelter", {"amenity": _any("shelter"),
                         "shelter_type": _any("homeless", "refugee", "emergency", "women")}),
    SiteRule("clinic", {"amenity": _any("clinic", "doctors", "hospital", "dentist")}),
    # Pharmacies and opticians carry healthcare=* too but are shops, not places of care.
    SiteRule("clinic", {"healthcare": None},
             exclude={"healthcare": _any("pharmacy", "optometrist", "hearing_care", "no")}),
    SiteRule("school", {"amenity": _any("school", "kindergarten", "college", "university")}),
    SiteRule("worship", {"amenity": _any("place_of_worship")}),
)

# Keys any rule looks at: the C++ KeyFilter drops every other object before Python sees it.
SITE_KEYS: tuple[str, ...] = tuple(sorted({k for r in SITE_RULES for k in r.require}))
ADDRESS_KEY = "addr:housenumber"


def classify(tags: Mapping[str, str]) -> str | None:
    """The site category of an object with these tags, or None when it is no sensitive site."""
    for rule in SITE_RULES:
        if rule.matches(tags):
            return rule.category
    return None


def address_label(street: str | None, housenumber: str | None,
                  postcode: str | None, city: str | None) -> str | None:
    """A one-line address, "Mannerheimintie 5, 00100 Helsinki"; None when it has no part."""
    first = " ".join(p for p in (street, housenumber) if p)
    second = " ".join(p for p in (postcode, city) if p)
    return ", ".join(p for p in (first, second) if p) or None


def tags_address(tags: Mapping[str, str]) -> str | None:
    """The OSM `addr:*` tags of an object joined into one line."""
    return address_label(
        tags.get("addr:street") or tags.get("addr:place"), tags.get("addr:housenumber"),
        tags.get("addr:postcode"), tags.get("addr:city"),
    )


class Found(NamedTuple):
    """One OSM object read from the file: its tags and geometry, or why it has none."""

    source_ref: str          # "node/1", "way/2", "relation/3"
    tags: dict[str, str]
    wkb: str | None          # hex WKB, EPSG:4326
    reason: str              # why there is no geometry (empty when there is one)


class OsmSite(NamedTuple):
    """A sensitive site found in the file."""

    source_ref: str
    category: str
    name: str | None
    address: str | None
    tags: dict[str, str]
    wkb: str


class OsmAddress(NamedTuple):
    """An address found in the file; `wkb` is the object's geometry (SQL takes its centroid)."""

    source_ref: str
    street: str | None
    housenumber: str
    postcode: str | None
    city: str | None
    label: str
    wkb: str


class OsmReject(NamedTuple):
    """An object that matched but has no usable geometry in this file."""

    source_ref: str
    reason: str


_TYPE = {"n": "node", "w": "way", "r": "relation"}
_AREA_RELATIONS = frozenset({"multipolygon", "boundary"})


def _ref(obj: osmium.osm.OSMObject) -> str:
    """"node/1", "way/2", "relation/3"; an area is named after the object it was built from."""
    if obj.is_area():
        return f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
    return f"{_TYPE[obj.type_str()]}/{obj.id}"


class _Geometry:
    """Hex WKB for OSM objects, tolerant of extracts that cut ways at their edge."""

    def __init__(self) -> None:
        self.factory = WKBFactory()

    def area(self, obj: osmium.osm.Area) -> str | None:
        try:
            return self.factory.create_multipolygon(obj)
        except (RuntimeError, osmium.InvalidLocationError):
            return None

    def way(self, obj: osmium.osm.Way) -> tuple[str | None, str]:
        """The way's line; when some nodes lie outside the extract, the centroid of the others."""
        try:
            return self.factory.create_linestring(obj), ""
        except (RuntimeError, osmium.InvalidLocationError):
            pass
        located = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
        if not located:
            return None, f"none of the way's {len(obj.nodes)} nodes has a location in this file"
        return shapely.centroid(shapely.multipoints(located)).wkb_hex, ""


def header_timestamp(path: Path) -> datetime | None:
    """The file's snapshot time from its header (`osmosis_replication_timestamp`), if any."""
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        stamp = reader.header().get("osmosis_replication_timestamp")
    finally:
        reader.close()
    try:
        return datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None


def read_objects(path: Path, keys: tuple[str, ...], wanted: Callable[[dict[str, str]], bool],
                 note: TimeNote | None = None) -> Iterator[Found]:
    """Each object carrying one of `keys` whose tags `wanted` accepts, once, with its geometry.

    Closed ways and multipolygon relations come as polygons (osmium's areas, which it yields
    after all ways); other ways as lines, ways cut by the extract's edge as the centroid of
    their remaining nodes, and objects without any geometry with the reason.
    """
    geometry = _Geometry()
    # Only the names of objects still expected to become areas are kept (not their tags), so
    # memory stays small on large extracts; one that never does is reported at the end.
    awaited: set[str] = set()
    done: set[str] = set()  # areas seen before the object they were built from
    select = osmium.filter.KeyFilter(*keys)
    if note is not None and (stamp := header_timestamp(path)) is not None:
        note(stamp)
    for obj in osmium.FileProcessor(str(path)).with_areas(select).with_filter(select):
        tags = dict(obj.tags)
        if not wanted(tags):
            continue
        if note is not None:
            note(obj.timestamp)
        ref = _ref(obj)
        if obj.is_node():
            yield Found(ref, tags, geometry.factory.create_point(obj), "")
        elif obj.is_area():
            wkb = geometry.area(obj)
            if wkb is not None:
                if ref in awaited:
                    awaited.discard(ref)
                else:
                    done.add(ref)
                yield Found(ref, tags, wkb, "")
        elif ref in done:
            done.discard(ref)
        elif obj.is_way():
            if _forms_area(obj):
                awaited.add(ref)
            else:
                wkb, reason = geometry.way(obj)
                yield Found(ref, tags, wkb, reason)
        elif tags.get("type") in _AREA_RELATIONS:
            awaited.add(ref)
        else:
            yield Found(ref, tags, None, f"a relation of type {tags.get('type')!r} has no geometry")
    for ref in sorted(awaited):
        yield Found(ref, {}, None, "its polygon could not be assembled from this file")


def _forms_area(way: osmium.osm.Way) -> bool:
    """True for a closed ring whose nodes all lie in the file: osmium makes it an area."""
    nodes = way.nodes
    return (len(nodes) >= 4 and nodes[0].ref == nodes[-1].ref
            and way.tags.get("area") != "no" and all(n.location.valid() for n in nodes))


def read_sites(path: Path, note: TimeNote | None = None) -> Iterator[OsmSite | OsmReject]:
    """Sensitive sites of the file (categories from SITE_RULES), and those without geometry."""
    for found in read_objects(path, SITE_KEYS, lambda tags: classify(tags) is not None, note):
        if found.wkb is None:
            yield OsmReject(found.source_ref, found.reason)
            continue
        tags = found.tags
        yield OsmSite(found.source_ref, classify(tags) or "", tags.get("name"),
                      tags_address(tags), tags, found.wkb)


def read_addresses(path: Path, note: TimeNote | None = None) -> Iterator[OsmAddress | OsmReject]:
    """Every object with `addr:housenumber` as an address, and those without geometry."""
    for found in read_objects(path, (ADDRESS_KEY,), lambda tags: ADDRESS_KEY in tags, note):
        if found.wkb is None:
            yield OsmReject(found.source_ref, found.reason)
            continue
        tags = found.tags
        street = tags.get("addr:street") or tags.get("addr:place")
        label = tags_address(tags) or tags[ADDRESS_KEY]
        yield OsmAddress(found.source_ref, street, tags[ADDRESS_KEY], tags.get("addr:postcode"),
                         tags.get("addr:city"), label, found.wkb)
