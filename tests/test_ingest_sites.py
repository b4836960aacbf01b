"""Sensitive sites and addresses: OSM (.osm.pbf and XML), the ICE facility CSV, CSV and GeoJSON."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import osmium
import psycopg
import pytest
import shapely
from conftest import DATA, HELSINKI_PBF, run_cli
from typer.testing import CliRunner

from camdensity.cli import app
from camdensity.ingest import osm_places
from camdensity.ingest.sites import site_category
from camdensity.settings import SITE_CATEGORIES

ICE_CSV = DATA / "us" / "ice_facilities_uwchr.csv"
US_WEST = (-125.0, 36.0, -102.0, 49.0)
ICE_IMPORT = ("ingest", "sites", str(ICE_CSV), "--source", "ice", "--category", "immigration",
              "--lat", "lat", "--lon", "long", "--name", "name", "--id", "detloc")


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def rejects(url: str) -> list[tuple[int | None, str]]:
    return [
        (r[0], r[1]) for r in rows(url, "SELECT line, reason FROM rejected_row ORDER BY line, id")
    ]


def run_cli_fails(*args: str) -> str:
    """Run `camdensity ARGS`, expect a clear failure, return its output."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code != 0, result.output
    return result.output


def unaccented(text: str) -> str:
    """Lower case, accents and runs of spaces removed: what the geocoder searches."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def osm_objects(path: Path, keys: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every node/way/relation carrying one of `keys`, by "type/id": the test's own count."""
    names = {"n": "node", "w": "way", "r": "relation"}
    found: dict[str, dict[str, str]] = {}
    for obj in osmium.FileProcessor(str(path)).with_filter(osmium.filter.KeyFilter(*keys)):
        found[f"{names[obj.type_str()]}/{obj.id}"] = dict(obj.tags)
    return found


# --- OSM: category table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags, category",
    [
        ({"amenity": "clinic"}, "clinic"),
        ({"amenity": "doctors"}, "clinic"),
        ({"amenity": "hospital"}, "clinic"),
        ({"healthcare": "blood_donation"}, "clinic"),
        ({"healthcare": "pharmacy", "amenity": "pharmacy"}, None),
        ({"healthcare": "clinic", "healthcare:speciality": "gynaecology;abortion"}, "abortion"),
        ({"amenity": "clinic", "healthcare:speciality": "family_planning"}, "abortion"),
        ({"healthcare": "clinic", "abortion": "yes"}, "abortion"),
        ({"amenity": "school"}, "school"),
        ({"amenity": "kindergarten"}, "school"),
        ({"amenity": "university"}, "school"),
        ({"office": "government", "government": "immigration"}, "immigration"),
        ({"amenity": "courthouse", "court": "immigration"}, "immigration"),
        ({"amenity": "courthouse"}, "courthouse"),
        ({"amenity": "place_of_worship", "religion": "christian"}, "worship"),
        ({"amenity": "social_facility", "social_facility": "shelter"}, "shelter"),
        ({"amenity": "shelter", "shelter_type": "bomb_shelter"}, None),
        ({"amenity": "shelter", "shelter_type": "public_transport"}, None),
        ({"office": "government", "government": "tax"}, None),
        ({"amenity": "cafe"}, None),
    ],
)
def test_classify(tags: dict[str, str], category: str | None) -> None:
    assert osm_places.classify(tags) == category


def test_every_category_has_rules() -> None:
    assert {rule.category for rule in osm_places.SITE_RULES} == set(SITE_CATEGORIES)


def test_csv_category_values() -> None:
    assert site_category(" School ") == "school"
    assert site_category("hospital") == "clinic"
    assert site_category("place of worship") == "worship"
    assert site_category("zoo") is None


# --- OSM parsing: geometry ---------------------------------------------------------------------

SYNTHETIC_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="60.0" lon="24.0" version="1"/>
  <node id="2" lat="60.0" lon="24.01" version="1"/>
  <node id="3" lat="60.01" lon="24.01" version="1"/>
  <node id="4" lat="60.01" lon="24.0" version="1"/>
  <node id="5" lat="60.002" lon="24.002" version="1"/>
  <node id="6" lat="60.002" lon="24.004" version="1"/>
  <node id="7" lat="60.004" lon="24.004" version="1"/>
  <node id="8" lat="60.004" lon="24.002" version="1"/>
  <node id="10" lat="60.02" lon="24.02" version="1">
    <tag k="healthcare" v="clinic"/><tag k="healthcare:speciality" v="gynaecology;abortion"/>
    <tag k="name" v="Family Clinic"/><tag k="addr:street" v="Testikatu"/>
    <tag k="addr:housenumber" v="5"/><tag k="addr:postcode" v="00100"/><tag k="addr:city" v="Helsinki"/>
  </node>
  <node id="11" lat="60.03" lon="24.03" version="1">
    <tag k="office" v="government"/><tag k="government" v="immigration"/><tag k="name" v="Migri"/>
  </node>
  <node id="12" lat="60.04" lon="24.04" version="1">
    <tag k="amenity" v="social_facility"/><tag k="social_facility" v="shelter"/>
  </node>
  <node id="13" lat="60.05" lon="24.05" version="1">
    <tag k="amenity" v="shelter"/><tag k="shelter_type" v="bomb_shelter"/>
  </node>
  <node id="20" lat="60.06" lon="24.06" version="1"/>
  <node id="21" lat="60.06" lon="24.07" version="1"/>
  <node id="22" lat="60.07" lon="24.07" version="1"/>
  <way id="100" version="1">
    <nd ref="20"/><nd ref="21"/><nd ref="22"/><nd ref="20"/>
    <tag k="amenity" v="courthouse"/><tag k="court" v="immigration"/><tag k="name" v="Court"/>
  </way>
  <way id="101" version="1">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  </way>
  <way id="102" version="1">
    <nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/>
  </way>
  <way id="103" version="1">
    <nd ref="21"/><nd ref="22"/><nd ref="999"/><nd ref="21"/>
    <tag k="amenity" v="place_of_worship"/><tag k="addr:housenumber" v="7"/>
  </way>
  <way id="104" version="1">
    <nd ref="998"/><nd ref="999"/>
    <tag k="amenity" v="school"/>
  </way>
  <relation id="200" version="1">
    <member type="way" ref="101" role="outer"/><member type="way" ref="102" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="amenity" v="university"/><tag k="name" v="Campus"/>
    <tag k="addr:housenumber" v="1"/><tag k="addr:street" v="Yliopistonkatu"/>
  </relation>
  <relation id="201" version="1">
    <member type="way" ref="9999" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="amenity" v="kindergarten"/>
  </relation>
</osm>
"""


@pytest.fixture
def synthetic_osm(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.osm"
    path.write_text(SYNTHETIC_OSM, encoding="utf-8")
    return path


def test_osm_sites_categories_and_geometries(synthetic_osm: Path) -> None:
    found = {item.source_ref: item for item in osm_places.read_sites(synthetic_osm)}
    assert set(found) == {
        "node/10",
        "node/11",
        "node/12",
        "way/100",
        "way/103",
        "way/104",
        "relation/200",
        "relation/201",
    }
    assert isinstance(found["way/104"], osm_places.OsmReject)
    assert "none of the way's 2 nodes" in found["way/104"].reason
    assert found["relation/201"] == osm_places.OsmReject(
        "relation/201", "its polygon could not be assembled from this file"
    )
    sites = {ref: s for ref, s in found.items() if isinstance(s, osm_places.OsmSite)}
    assert {ref: s.category for ref, s in sites.items()} == {
        "node/10": "abortion",
        "node/11": "immigration",
        "node/12": "shelter",
        "way/100": "immigration",
        "way/103": "worship",
        "relation/200": "school",
    }
    family = sites["node/10"]
    assert family.name == "Family Clinic"
    assert family.address == "Testikatu 5, 00100 Helsinki"
    assert family.tags["healthcare:speciality"] == "gynaecology;abortion"

    court = shapely.from_wkb(sites["way/100"].wkb)
    assert court.geom_type == "MultiPolygon" and court.area > 0
    campus = shapely.from_wkb(sites["relation/200"].wkb)
    # The inner ring is a hole: outer 0.01 x 0.01 minus inner 0.002 x 0.002 degrees.
    assert campus.area == pytest.approx(0.01 * 0.01 - 0.002 * 0.002)
    # Way 103 is cut by the extract (node 999 missing): the centroid of its located nodes.
    cut = shapely.from_wkb(sites["way/103"].wkb)
    assert cut.geom_type == "Point"
    assert (cut.x, cut.y) == pytest.approx(
        ((24.07 + 24.07 + 24.07) / 3, (60.06 + 60.07 + 60.06) / 3)
    )


def test_osm_addresses_every_housenumber_once(synthetic_osm: Path) -> None:
    found = list(osm_places.read_addresses(synthetic_osm))
    assert sorted(a.source_ref for a in found) == ["node/10", "relation/200", "way/103"]
    labels = {a.source_ref: a.label for a in found if isinstance(a, osm_places.OsmAddress)}
    assert labels == {
        "node/10": "Testikatu 5, 00100 Helsinki",
        "relation/200": "Yliopistonkatu 1",
        "way/103": "7",
    }


# --- Helsinki extract into PostGIS ---------------------------------------------------------------

CATEGORY_KEYS = ("amenity", "healthcare")


def independent_helsinki_categories() -> dict[str, set[str]]:
    """Sites by category from the raw tags (no abortion, immigration or shelter tags here)."""
    by_category: dict[str, set[str]] = {}
    for ref, tags in osm_objects(HELSINKI_PBF, CATEGORY_KEYS).items():
        amenity, healthcare = tags.get("amenity"), tags.get("healthcare")
        if amenity in ("school", "kindergarten", "college", "university"):
            category = "school"
        elif amenity == "courthouse":
            category = "courthouse"
        elif amenity == "place_of_worship":
            category = "worship"
        elif amenity in ("clinic", "doctors", "hospital", "dentist") or (
            healthcare and healthcare != "pharmacy"
        ):
            category = "clinic"
        else:
            continue
        by_category.setdefault(category, set()).add(ref)
    return by_category


def test_helsinki_sites(empty_db: str) -> None:
    out = run_cli("ingest", "sites", str(HELSINKI_PBF), "--source", "osm-helsinki").output
    expected = independent_helsinki_categories()
    assert {"school", "clinic", "courthouse", "worship"} <= set(expected)
    got: dict[str, set[str]] = {}
    for category, ref in rows(empty_db, "SELECT category, source_ref FROM site"):
        got.setdefault(category, set()).add(ref)
    assert got == expected
    total = sum(len(v) for v in expected.values())
    assert f"sites from 'osm-helsinki': {total} accepted, 0 rejected" in out

    # Nodes are points; closed ways with all their nodes in the extract are polygons, open
    # ways lines, ways cut by the extract's edge the centroid of their remaining nodes.
    expected_shapes = {}
    for way in (
        osmium.FileProcessor(str(HELSINKI_PBF))
        .with_locations()
        .with_filter(osmium.filter.KeyFilter(*CATEGORY_KEYS))
    ):
        ref = f"way/{way.id}" if way.is_way() else None
        if ref and any(ref in refs for refs in expected.values()):
            complete = all(n.location.valid() for n in way.nodes)
            closed = way.nodes[0].ref == way.nodes[-1].ref
            expected_shapes[ref] = ("POLYGON" if closed else "LINESTRING") if complete else "POINT"
    stored_shapes = dict(rows(empty_db, "SELECT source_ref, GeometryType(geom) FROM site"))
    assert {r: t for r, t in stored_shapes.items() if r.startswith("way/")} == expected_shapes
    assert Counter(expected_shapes.values())["POLYGON"] >= 10
    assert {t for r, t in stored_shapes.items() if r.startswith("node/")} == {"POINT"}
    bad = rows(
        empty_db,
        """
        SELECT source_ref FROM site
        WHERE ST_SRID(geom_3857) <> 3857 OR ST_SRID(centroid) <> 4326
           OR NOT ST_DWithin(ST_Transform(geom, 3857), geom_3857, 0.01)
           OR (GeometryType(geom) LIKE '%%POLYGON' AND NOT ST_Intersects(ST_Buffer(geom, 0.001), centroid))""",
    )
    assert bad == []
    court = rows(
        empty_db,
        "SELECT source_ref, name, attrs, ST_Area(geom::geography) FROM site "
        "WHERE category = 'courthouse'",
    )
    ref, name, attrs, area = court[0]
    raw_tags = osm_objects(HELSINKI_PBF, CATEGORY_KEYS)[ref]
    assert attrs == raw_tags and name == raw_tags.get("name")
    assert area > 100  # a building, in m²
    licence = rows(empty_db, "SELECT kind, licence, accepted FROM source WHERE entity = 'sites'")
    assert licence == [("crowdsourced", "ODbL-1.0", total)]


def test_helsinki_addresses_and_reimport(empty_db: str) -> None:
    objects = osm_objects(HELSINKI_PBF, ("addr:housenumber",))
    assert 1400 < len(objects) < 1550  # the README's "about 1,470"
    out = run_cli("ingest", "addresses", str(HELSINKI_PBF), "--source", "osm-helsinki").output
    n, rejected = rows(
        empty_db, "SELECT (SELECT count(*) FROM address), (SELECT count(*) FROM rejected_row)"
    )[0]
    assert n + rejected == len(objects)
    assert n == len(objects)  # every object has at least one located node in this extract
    assert f"{n} accepted, 0 rejected" in out
    refs = {r[0] for r in rows(empty_db, "SELECT source_ref FROM address")}
    assert refs == set(objects)

    # Labels and search text, checked against the raw tags of every full address.
    stored = {
        r[0]: r[1:]
        for r in rows(empty_db, "SELECT source_ref, label, search, GeometryType(geom) FROM address")
    }
    full = 0
    for ref, tags in objects.items():
        label, search, geom_type = stored[ref]
        assert geom_type == "POINT"
        if {"addr:street", "addr:postcode", "addr:city"} <= tags.keys():
            full += 1
            assert label == (
                f"{tags['addr:street']} {tags['addr:housenumber']}, "
                f"{tags['addr:postcode']} {tags['addr:city']}"
            )
        assert search == unaccented(label)
    assert full > 900

    # Re-import of the same file: nothing changes.
    ids_before = rows(empty_db, "SELECT min(id), max(id), count(*) FROM address")
    again = run_cli("ingest", "addresses", str(HELSINKI_PBF), "--source", "osm-helsinki").output
    assert "unchanged" in again
    assert rows(empty_db, "SELECT min(id), max(id), count(*) FROM address") == ids_before
    assert rows(empty_db, "SELECT count(*) FROM source_version") == [(1,)]


# --- ICE facility list --------------------------------------------------------------------------


def ice_rows() -> tuple[list[dict[str, str]], list[int]]:
    """(rows with coordinates, editor line numbers of rows without), read with the csv module."""
    with ICE_CSV.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        good: list[dict[str, str]] = []
        missing: list[int] = []
        line = reader.line_num
        for row in reader:
            start, line = line + 1, reader.line_num
            if row["lat"] in ("", "NA") or row["long"] in ("", "NA"):
                missing.append(start)
            else:
                good.append(row)
    return good, missing


def test_ice_csv(empty_db: str) -> None:
    assert ICE_CSV.read_text(encoding="utf-8").splitlines()[0].split(",")[1] == "name"
    good, missing = ice_rows()
    out = run_cli(*ICE_IMPORT).output
    assert (len(good), len(missing)) == (1522, 10)
    assert "1522 accepted, 10 rejected" in out
    assert rows(empty_db, "SELECT category, count(*) FROM site GROUP BY 1") == [
        ("immigration", 1522)
    ]
    got = rejects(empty_db)
    assert [line for line, _ in got] == missing
    assert all(reason == "invalid latitude 'NA'" for _, reason in got)
    # Every row landed where the file says, with its name, id and all its columns.
    by_id = {r["detloc"]: r for r in good}
    stored = rows(empty_db, "SELECT source_ref, name, ST_X(geom), ST_Y(geom), attrs FROM site")
    assert len({r[0] for r in stored}) == len(by_id)
    for ref, name, x, y, attrs in stored:
        row = by_id[ref]
        assert name == row["name"].strip()
        assert (x, y) == (float(row["long"]), float(row["lat"]))
        assert attrs == row
    # A quoted field holding "" (line 689) is one field, not a broken row.
    assert by_id["KCHOSNY"]["formatted_address"].startswith('"B" building')
    assert rows(
        empty_db, "SELECT attrs->>'formatted_address' FROM site WHERE source_ref = 'KCHOSNY'"
    ) == [(by_id["KCHOSNY"]["formatted_address"],)]

    again = run_cli(*ICE_IMPORT).output
    assert "unchanged" in again
    assert rows(empty_db, "SELECT count(*) FROM site") == [(1522,)]


def test_ice_csv_bbox_and_detected_columns(empty_db: str) -> None:
    good, _ = ice_rows()
    minlon, minlat, maxlon, maxlat = US_WEST
    inside = {
        r["detloc"]
        for r in good
        if minlon <= float(r["long"]) <= maxlon and minlat <= float(r["lat"]) <= maxlat
    }
    assert 0 < len(inside) < len(good)
    # No --lat/--lon/--name: "lat", "long" and "name" are found by their usual names.
    out = run_cli(
        "ingest",
        "sites",
        str(ICE_CSV),
        "--source",
        "ice-west",
        "--category",
        "immigration",
        "--id",
        "detloc",
        "--bbox",
        ",".join(str(v) for v in US_WEST),
    ).output
    assert (
        f"{len(inside)} accepted, 10 rejected, {len(good) - len(inside)} outside --bbox skipped"
        in out
    )
    assert {r[0] for r in rows(empty_db, "SELECT source_ref FROM site")} == inside
    assert len(rejects(empty_db)) == 10
    assert "not minlon,minlat,maxlon,maxlat" in run_cli_fails(
        "ingest", "sites", str(ICE_CSV), "--category", "immigration", "--bbox", "1,2,3"
    )


# --- CSV and GeoJSON sites ----------------------------------------------------------------------


def test_sites_csv_with_bad_rows(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    text = (
        "site_id;Name;Latitude;Longitude;kind\n"  # line 1
        "a1;Clínica São João;60.17;24.94;clinic\n"  # 2 ok (Latin-1 file, ';' separated)
        "a2;Escola;60,18;24,95;School\n"  # 3 ok (decimal commas)
        "a3;No coordinates;;24.9;clinic\n"  # 4 missing latitude
        "a4;Far north;91.5;24.9;clinic\n"  # 5 latitude out of range
        "a5;Bad lon;60.1;east;clinic\n"  # 6 invalid longitude
        "a6;Museum;60.1;24.9;museum\n"  # 7 unknown category
        "a7;Short row;60.1\n"  # 8 wrong number of fields
        "a8;Church;60.16;24.93;place_of_worship\n"  # 9 ok (OSM amenity value)
    )
    path.write_bytes(text.encode("latin-1"))
    out = run_cli("ingest", "sites", str(path), "--category-column", "kind", "--id", "site_id")
    assert "3 accepted, 5 rejected" in out.output
    assert rows(
        empty_db, "SELECT source_ref, name, category, ST_Y(geom), ST_X(geom) FROM site ORDER BY 1"
    ) == [
        ("a1", "Clínica São João", "clinic", 60.17, 24.94),
        ("a2", "Escola", "school", 60.18, 24.95),
        ("a8", "Church", "worship", 60.16, 24.93),
    ]
    got = rejects(empty_db)
    assert [line for line, _ in got] == [4, 5, 6, 7, 8]
    reasons = dict(got)
    assert reasons[4] == "missing latitude"
    assert reasons[5] == "latitude 91.5 out of range [-90, 90]"
    assert reasons[6] == "invalid longitude 'east'"
    assert reasons[7].startswith("unknown category 'museum'")
    assert reasons[8] == "3 fields where the header has 5"
    raw = rows(empty_db, "SELECT raw FROM rejected_row WHERE line = 6")[0][0]
    assert raw == "a5;Bad lon;60.1;east;clinic"


def test_sites_csv_fatal_errors_write_nothing(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("name,lat,lon\nA,60.1,24.9\n", encoding="utf-8")
    assert "--category" in run_cli_fails("ingest", "sites", str(path))
    assert "unknown category 'zoo'" in run_cli_fails(
        "ingest", "sites", str(path), "--category", "zoo"
    )
    assert "no latitude column 'y_coord'" in run_cli_fails(
        "ingest", "sites", str(path), "--category", "school", "--lat", "y_coord"
    )
    odd = tmp_path / "s.xyz"
    odd.write_text("x", encoding="utf-8")
    assert "cannot tell the format" in run_cli_fails(
        "ingest", "sites", str(odd), "--category", "school"
    )
    assert rows(empty_db, "SELECT (SELECT count(*) FROM site) + (SELECT count(*) FROM source)") == [
        (0,)
    ]


def test_sites_geojson_with_polygon(empty_db: str, tmp_path: Path) -> None:
    school = [
        [24.940, 60.170],
        [24.942, 60.170],
        [24.942, 60.171],
        [24.940, 60.171],
        [24.940, 60.170],
    ]
    features = [
        {
            "type": "Feature",
            "id": "s1",
            "properties": {"name": "Koulu", "type": "school"},
            "geometry": {"type": "Polygon", "coordinates": [school]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Klinikka", "type": "clinic", "beds": 3},
            "geometry": {"type": "Point", "coordinates": [24.95, 60.16]},
        },
        {"type": "Feature", "properties": {"name": "Nowhere", "type": "clinic"}, "geometry": None},
        {
            "type": "Feature",
            "properties": {"name": "Swapped", "type": "clinic"},
            "geometry": {"type": "Point", "coordinates": [60.16, 124.95]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Zoo", "type": "zoo"},
            "geometry": {"type": "Point", "coordinates": [24.95, 60.16]},
        },
    ]
    path = tmp_path / "sites.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    out = run_cli("ingest", "sites", str(path), "--category-column", "type", "--source", "mine")
    assert "2 accepted, 3 rejected" in out.output
    got = rows(
        empty_db,
        """
        SELECT line, source_ref, name, category, GeometryType(geom), ST_AsText(centroid), attrs
        FROM site ORDER BY line""",
    )
    polygon = shapely.Polygon(school)
    assert got[0][:5] == (1, "s1", "Koulu", "school", "POLYGON")
    assert shapely.from_wkt(got[0][5]).equals_exact(polygon.centroid, 1e-9)
    assert got[1][:5] == (2, None, "Klinikka", "clinic", "POINT")
    assert got[1][6] == {"name": "Klinikka", "type": "clinic", "beds": 3}
    reasons = dict(rejects(empty_db))
    assert reasons[3] == "feature has no geometry"
    assert reasons[4].startswith("coordinates out of range")
    assert reasons[5].startswith("unknown category 'zoo'")
    area = rows(
        empty_db, "SELECT ST_Area(geom_3857) > 0, GeometryType(geom_3857) FROM site WHERE line = 1"
    )
    assert area == [(True, "POLYGON")]


def test_addresses_csv(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "addr.csv"
    path.write_text(
        "katu,nro,postinumero,kaupunki,latitude,longitude\n"
        "Mannerheimintie,5,00100,Helsinki,60.1699,24.9384\n"
        "Aleksanterinkatu,52 B,00100,Helsinki,60.1690,24.9410\n"
        ",,00100,Helsinki,60.1690,24.9410\n"
        "Esplanadi,1,00130,Helsinki,NaN,24.95\n",
        encoding="utf-8",
    )
    out = run_cli(
        "ingest",
        "addresses",
        str(path),
        "--street",
        "katu",
        "--housenumber",
        "nro",
        "--postcode",
        "postinumero",
        "--city",
        "kaupunki",
    ).output
    assert "2 accepted, 2 rejected" in out
    assert rows(
        empty_db, "SELECT label, search, ST_X(geom), ST_Y(geom) FROM address ORDER BY id"
    ) == [
        (
            "Mannerheimintie 5, 00100 Helsinki",
            "mannerheimintie 5, 00100 helsinki",
            24.9384,
            60.1699,
        ),
        (
            "Aleksanterinkatu 52 B, 00100 Helsinki",
            "aleksanterinkatu 52 b, 00100 helsinki",
            24.941,
            60.169,
        ),
    ]
    assert rejects(empty_db) == [
        (4, "no street and no house number"),
        (5, "invalid latitude 'NaN'"),
    ]


def test_helsinki_one_category(empty_db: str) -> None:
    schools = independent_helsinki_categories()["school"]
    run_cli("ingest", "sites", str(HELSINKI_PBF), "--source", "osm-schools", "--category", "school")
    assert {r for (r,) in rows(empty_db, "SELECT source_ref FROM site")} == schools
    assert "OSM tags give the category" in run_cli_fails(
        "ingest", "sites", str(HELSINKI_PBF), "--category-column", "amenity"
    )


def test_osm_objects_without_geometry_are_rejected(empty_db: str, synthetic_osm: Path) -> None:
    out = run_cli("ingest", "sites", str(synthetic_osm), "--source", "synthetic").output
    assert "6 accepted, 2 rejected" in out
    assert rows(empty_db, "SELECT line, reason, raw FROM rejected_row ORDER BY raw") == [
        (None, "relation/201: its polygon could not be assembled from this file", "relation/201"),
        (None, "way/104: none of the way's 2 nodes has a location in this file", "way/104"),
    ]
    assert rows(empty_db, "SELECT category, GeometryType(geom) FROM site ORDER BY source_ref") == [
        ("abortion", "POINT"),
        ("immigration", "POINT"),
        ("shelter", "POINT"),
        ("school", "POLYGON"),
        ("immigration", "POLYGON"),
        ("worship", "POINT"),
    ]


def test_same_file_other_bbox_is_imported_again(empty_db: str) -> None:
    args = ("ingest", "sites", str(ICE_CSV), "--source", "ice", "--category", "immigration")
    run_cli(*args, "--bbox", ",".join(str(v) for v in US_WEST))
    west = rows(empty_db, "SELECT count(*) FROM site")[0][0]
    assert "unchanged" in run_cli(*args, "--bbox", ",".join(str(v) for v in US_WEST)).output
    out = run_cli(*args).output
    assert "1522 accepted, 10 rejected" in out
    assert rows(empty_db, "SELECT count(*) FROM site")[0][0] == 1522 > west
    assert rows(empty_db, "SELECT count(*) FROM source_version") == [(2,)]
