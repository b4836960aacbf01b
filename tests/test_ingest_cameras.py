"""Camera import: OSM .osm.pbf, flat / DeFlock / Overpass JSON, GeoJSON and CSV, against PostGIS."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import osmium
import psycopg
import pytest
from conftest import DATA, HELSINKI_PBF, SHARED_DATA, run_cli
from typer.testing import CliRunner

from camdensity.cli import app

US_WEST_JSON = DATA / "us" / "osm_surveillance_us_west_2026-01.json"
SE_JSON = SHARED_DATA / "us" / "deflock_alpr_us_southeast_2026-03.json"


def rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def one(url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    return rows(url, query, params)[0][0]


def run_cli_fails(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code != 0, result.output
    return result.output


def store_counts(url: str) -> dict[str, int]:
    tables = ("source", "source_version", "camera_report", "camera", "rejected_row",
              "camera_report_removed")
    return {t: one(url, f"SELECT count(*) FROM {t}") for t in tables}


# --- vocabulary (SQL functions of migration 0002) -----------------------------------------------


@pytest.mark.parametrize(
    "given, tags, fallback, expected",
    [
        (None, {"surveillance:type": "ALPR"}, "cctv", "alpr"),
        (None, {"surveillance:type": "camera", "manufacturer": "Flock Safety"}, "cctv", "alpr"),
        (None, {"brand": "Motorola Solutions"}, "unknown", "alpr"),
        (None, {"surveillance:type": "gunshot_detector"}, "cctv", "gunshot"),
        (None, {"surveillance:type": "camera", "camera:type": "dome"}, "cctv", "dome"),
        (None, {"camera:type": "panning"}, "cctv", "ptz"),
        (None, {"revolving": "yes"}, "cctv", "ptz"),
        (None, {"camera:mount": "doorbell"}, "cctv", "doorbell"),
        (None, {"highway": "speed_camera"}, "cctv", "speed"),
        (None, {"surveillance:zone": "traffic"}, "cctv", "traffic"),
        (None, {"surveillance:type": "camera"}, "unknown", "cctv"),
        (None, {}, "cctv", "cctv"),
        (None, {}, "unknown", "unknown"),
        ("traffic_camera", {}, "unknown", "traffic"),
        ("speed_camera", {}, "unknown", "speed"),
        ("gunshot_detector", {}, "unknown", "gunshot"),
        ("ANPR", {}, "unknown", "alpr"),
        ("License Plate Reader", {}, "unknown", "alpr"),
        ("Ring doorbell", {}, "unknown", "doorbell"),
        ("monitoring", {}, "unknown", "unknown"),
        ("other", {"surveillance:type": "camera"}, "unknown", "cctv"),
    ],
)
def test_camera_type_vocabulary(conn: psycopg.Connection, given: str | None, tags: dict[str, str],
                                fallback: str, expected: str) -> None:
    got = conn.execute("SELECT camdensity_camera_type(%s, %s::jsonb, %s)",
                       (given, json.dumps(tags), fallback)).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize(
    "given, tags, expected",
    [
        (None, {"operator": "Helsingin poliisi"}, "public"),
        (None, {"operator": "St. Charles County PD"}, "public"),
        (None, {"operator": "Customs and Border Protection"}, "public"),
        (None, {"operator": "Lowe's", "operator:type": "business"}, "business"),
        (None, {"operator": "The Home Depot"}, "business"),
        (None, {"operator": "Stockmann Oyj"}, "business"),
        (None, {"operator:type": "private"}, "private"),
        (None, {"camera:mount": "doorbell"}, "private"),
        (None, {"operator": "Flock Safety"}, "unknown"),
        (None, {}, "unknown"),
        ("Police", {}, "public"),
        ("residential", {}, "private"),
        ("Seattle Department of Transportation", {}, "public"),
    ],
)
def test_operator_vocabulary(conn: psycopg.Connection, given: str | None, tags: dict[str, str],
                             expected: str) -> None:
    got = conn.execute("SELECT camdensity_operator_type(%s, %s::jsonb)",
                       (given, json.dumps(tags))).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize(
    "text, degrees",
    [("75", 75.0), ("75.5", 75.5), ("360", 0.0), ("-90", 270.0), ("NE", 45.0), ("north", 0.0),
     ("SSW", 202.5), ("90-180", 90.0), ("45;135", 45.0), ("", None), ("up", None), (None, None)],
)
def test_direction_parsing(conn: psycopg.Connection, text: str | None,
                           degrees: float | None) -> None:
    assert conn.execute("SELECT camdensity_direction_deg(%s)", (text,)).fetchone()[0] == degrees


# --- OSM --------------------------------------------------------------------------------------


def osm_cameras(path: Path) -> dict[str, tuple[float, float, dict[str, str]]]:
    """The test's own reading: man_made=surveillance nodes by "node/ID" -> (lon, lat, tags)."""
    found = {}
    for obj in osmium.FileProcessor(str(path)).with_filter(osmium.filter.KeyFilter("man_made")):
        tags = dict(obj.tags)
        if "surveillance" in tags["man_made"].split(";"):
            assert obj.is_node(), "the Helsinki extract has camera nodes only"
            found[f"node/{obj.id}"] = (obj.location.lon, obj.location.lat, tags)
    return found


def test_helsinki_cameras_and_reimport(empty_db: str) -> None:
    expected = osm_cameras(HELSINKI_PBF)
    assert len(expected) == 221

    out = run_cli("ingest", "cameras", str(HELSINKI_PBF), "--source", "osm-helsinki").output
    assert "221 accepted, 0 fused with another source's, 0 rejected" in out

    got = {r[0]: r[1:] for r in rows(
        empty_db, "SELECT source_ref, ST_X(geom), ST_Y(geom), camera_type, attrs FROM camera_report")}
    assert got.keys() == expected.keys()
    for ref, (lon, lat, tags) in expected.items():
        assert got[ref][0] == pytest.approx(lon, abs=1e-7)
        assert got[ref][1] == pytest.approx(lat, abs=1e-7)
        assert got[ref][3] == tags  # every tag kept
    types = Counter(r[2] for r in got.values())
    # camera:type=dome on 6 nodes, revolving=yes on 34; the rest are cameras without a type.
    assert types == {"dome": 6, "ptz": 34, "cctv": 181}
    # Readers keep seeing the last build's cameras (none yet) until `build` publishes new ones.
    assert one(empty_db, "SELECT count(*) FROM camera") == 0
    run_cli("build")
    assert one(empty_db, "SELECT count(*) FROM camera") == 221
    assert one(empty_db, "SELECT min(n_sources) FROM camera") == 1
    source = rows(empty_db, "SELECT kind, licence, accepted, rejected FROM source")
    assert source == [("crowdsourced", "ODbL-1.0", 221, 0)]

    before = rows(empty_db, "SELECT id, source_ref FROM camera_report ORDER BY id")
    out = run_cli("ingest", "cameras", str(HELSINKI_PBF), "--source", "osm-helsinki").output
    assert "file unchanged since its last import, nothing to do" in out
    assert rows(empty_db, "SELECT id, source_ref FROM camera_report ORDER BY id") == before
    assert one(empty_db, "SELECT count(*) FROM source_version") == 1


def test_osm_camera_ways_become_points(empty_db: str, tmp_path: Path) -> None:
    osm = tmp_path / "ways.osm"
    osm.write_text("""<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="60.0" lon="24.0" version="1"/>
  <node id="2" lat="60.0" lon="24.001" version="1"/>
  <node id="3" lat="60.001" lon="24.001" version="1"/>
  <node id="4" lat="60.001" lon="24.0" version="1"/>
  <node id="5" lat="60.01" lon="24.01" version="1">
    <tag k="man_made" v="surveillance"/><tag k="surveillance:type" v="ALPR"/>
    <tag k="camera:direction" v="NE"/><tag k="operator" v="Helsingin poliisi"/>
  </node>
  <node id="6" lat="60.02" lon="24.02" version="1"><tag k="man_made" v="mast"/></node>
  <way id="10" version="1">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="man_made" v="surveillance"/><tag k="surveillance:type" v="camera"/>
  </way>
  <way id="11" version="1">
    <nd ref="1"/><nd ref="3"/><tag k="man_made" v="surveillance"/>
  </way>
  <way id="12" version="1">
    <nd ref="98"/><nd ref="99"/><tag k="man_made" v="surveillance"/>
  </way>
</osm>
""")
    out = run_cli("ingest", "cameras", str(osm), "--source", "osm-ways").output
    assert "3 accepted" in out and "1 rejected" in out
    got = {r[0]: r[1:] for r in rows(
        empty_db, "SELECT source_ref, camera_type, operator_type, direction, direction_deg,"
                  " ST_Intersects(geom, ST_MakeEnvelope(24, 60, 24.001, 60.001, 4326))"
                  " FROM camera_report")}
    assert got == {
        "node/5": ("alpr", "public", "NE", 45.0, False),
        "way/10": ("cctv", "unknown", None, None, True),   # a point inside the polygon
        "way/11": ("cctv", "unknown", None, None, True),   # a point on the line
    }
    assert rows(empty_db, "SELECT line, reason FROM rejected_row") == [
        (None, "way/12: none of the way's 2 nodes has a location in this file")]


# --- the US JSON files --------------------------------------------------------------------------


def test_us_west_flat_json(empty_db: str) -> None:
    raw_types = Counter(e["type"] for e in json.loads(US_WEST_JSON.read_text()))
    out = run_cli("ingest", "cameras", str(US_WEST_JSON), "--source", "osm-us-west",
                  "--kind", "crowdsourced").output
    assert "18078 accepted" in out and "0 rejected" in out
    got = dict(rows(empty_db, "SELECT attrs->>'type', count(*) FROM camera_report GROUP BY 1"))
    assert got == dict(raw_types)
    assert {k: got[k] for k in ("alpr", "cctv", "traffic_camera", "speed_camera",
                                "gunshot_detector")} == {
        "alpr": 10_255, "cctv": 5_668, "traffic_camera": 1_765, "speed_camera": 243,
        "gunshot_detector": 128}
    mapping = dict(rows(empty_db, "SELECT DISTINCT attrs->>'type', camera_type FROM camera_report"))
    assert mapping == {"alpr": "alpr", "cctv": "cctv", "traffic_camera": "traffic",
                       "speed_camera": "speed", "red_light_camera": "speed",
                       "gunshot_detector": "gunshot", "other": "unknown"}
    first = json.loads(US_WEST_JSON.read_text())[0]
    assert rows(empty_db, "SELECT ST_X(geom), ST_Y(geom) FROM camera_report WHERE source_ref = %s",
                (str(first["id"]),)) == [(first["lon"], first["lat"])]
    # Points a few metres apart from different OSM nodes are never fused within one source.
    run_cli("build", "--resolutions", "9")
    assert one(empty_db, "SELECT count(*) FROM camera") == 18_078


COMPASS = {"n": 0, "nne": 22.5, "ne": 45, "ene": 67.5, "e": 90, "ese": 112.5, "se": 135,
           "sse": 157.5, "s": 180, "ssw": 202.5, "sw": 225, "wsw": 247.5, "w": 270, "wnw": 292.5,
           "nw": 315, "nnw": 337.5, "north": 0, "northeast": 45, "east": 90, "southeast": 135,
           "south": 180, "southwest": 225, "west": 270, "northwest": 315}


def bearing(direction: str | None) -> float | None:
    """The test's own reading of an OSM direction: first of a list/range, degrees or compass."""
    if not direction:
        return None
    first = direction.split(";")[0].split(",")[0].strip().lower()
    number = re.match(r"-?\d+(\.\d+)?", first)
    if number:
        return float(number.group()) % 360
    word = re.match(r"[a-z ]+", first)
    return COMPASS.get(word.group().replace(" ", "")) if word else None


@pytest.mark.skipif(not SE_JSON.is_file(), reason="../shared/data is not on this machine")
def test_deflock_southeast_json(empty_db: str) -> None:
    elements = json.loads(SE_JSON.read_text())
    out = run_cli("ingest", "cameras", str(SE_JSON), "--source", "deflock-se",
                  "--kind", "crowdsourced", "--default-type", "alpr").output
    assert "35045 accepted" in out and "0 rejected" in out
    assert rows(empty_db, "SELECT camera_type, count(*) FROM camera_report GROUP BY 1") == [
        ("alpr", 35_045)]
    flock = sum(1 for e in elements if "flock" in " ".join(
        str(e["tags"].get(k, "")) for k in ("manufacturer", "brand", "operator")).lower())
    assert one(empty_db, "SELECT count(*) FROM camera_report WHERE lower(concat_ws(' ',"
                         " attrs->>'manufacturer', attrs->>'brand', attrs->>'operator'))"
                         " LIKE '%%flock%%'") == flock
    bearings = Counter(bearing(e["tags"].get("camera:direction") or e["tags"].get("direction"))
                       for e in elements)
    parsed = dict(rows(empty_db, "SELECT direction_deg, count(*) FROM camera_report GROUP BY 1"))
    assert parsed == dict(bearings)
    assert parsed[None] < 1_000  # almost every DeFlock camera says where it looks
    # Without --default-type, reports naming no ALPR vendor keep an honest 'unknown'.
    out = run_cli("ingest", "cameras", str(SE_JSON), "--source", "deflock-se",
                  "--kind", "crowdsourced").output
    vendor_less = one(empty_db, "SELECT count(*) FROM camera_report WHERE camera_type = 'unknown'")
    assert 0 < vendor_less < 35_045 - flock + 1
    assert "35045 accepted" in out


def test_overpass_json_nodes_and_way_centres(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "overpass.json"
    path.write_text(json.dumps({"version": 0.6,
                                "osm3s": {"timestamp_osm_base": "2026-03-01T10:42:03Z"},
                                "elements": [
        {"type": "node", "id": 1, "lat": 47.61, "lon": -122.33,
         "tags": {"man_made": "surveillance", "surveillance:type": "ALPR", "direction": "90"}},
        {"type": "way", "id": 2, "center": {"lat": 47.62, "lon": -122.34},
         "tags": {"man_made": "surveillance", "camera:type": "dome"}},
        {"type": "node", "id": 3, "tags": {"man_made": "surveillance"}},
        {"type": "node", "id": 4, "lat": "NaN", "lon": -122.3, "tags": {}},
        {"type": "way", "id": 5, "tags": {"man_made": "surveillance"}},  # `out body;`
    ]}))
    out = run_cli("ingest", "cameras", str(path), "--source", "overpass").output
    assert "2 accepted" in out and "3 rejected" in out
    assert "data of 2026-03-01" in out  # Overpass's snapshot time
    assert "rejected element 3: missing latitude" in out  # numbered as elements, not lines
    assert str(one(empty_db, "SELECT data_date FROM source")) == "2026-03-01"
    assert rows(empty_db, "SELECT source_ref, camera_type, direction_deg, ST_Y(geom)"
                          " FROM camera_report ORDER BY 1") == [
        ("node/1", "alpr", 90.0, 47.61), ("way/2", "dome", None, 47.62)]
    assert rows(empty_db, "SELECT line, reason FROM rejected_row ORDER BY line") == [
        (3, "missing latitude"), (4, "invalid latitude 'NaN'"),
        (5, "a way without coordinates (Overpass: query with `out center;`)")]



def test_json_duplicates_rejected(empty_db: str, tmp_path: Path) -> None:
    """JSON rows are watched for repeated keys one by one (CSV rows a batch at a time)."""
    path = tmp_path / "flat.json"
    path.write_text(json.dumps([
        {"id": 7, "lat": 47.61, "lon": -122.33}, {"lat": 47.5, "lon": -122.2, "type": "alpr"},
        {"id": 7, "lat": 47.7, "lon": -122.4}, {"lat": 47.5, "lon": -122.2, "type": "alpr"},
        {"lat": 47.5, "lon": -122.2, "type": "cctv"}]))
    out = run_cli("ingest", "cameras", str(path), "--source", "flat").output
    assert "3 accepted" in out and "2 rejected" in out
    assert rows(empty_db, "SELECT line, reason FROM rejected_row ORDER BY line") == [
        (3, "duplicate of element 1 (same id '7')"),
        (4, "duplicate of element 2 (same point and type)")]


# --- GeoJSON ------------------------------------------------------------------------------------


def test_geojson_points_and_multipoints(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "cams.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
         "properties": {"camera_type": "ptz", "owner": "Kesko Oyj", "note": "by the door"}},
        {"type": "Feature", "id": "b",
         "geometry": {"type": "MultiPoint", "coordinates": [[24.95, 60.18], [24.96, 60.19]]},
         "properties": {"camera_type": "traffic"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
            [[24, 60], [24.1, 60], [24.1, 60.1], [24, 60]]]}, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 60]},
         "properties": {}},
        {"type": "Feature", "geometry": None, "properties": {}},
        # a `count` property is read without --count, like a CSV's count column
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.97, 60.17]},
         "properties": {"count": 4}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.97, 60.17]},
         "properties": {"count": "many"}},
    ]}))
    out = run_cli("ingest", "cameras", str(path), "--source", "volunteers",
                  "--operator", "owner").output
    assert "4 accepted" in out and "4 rejected" in out
    assert "rejected feature 3: geometry type 'Polygon'" in out
    assert one(empty_db, "SELECT count FROM camera_report WHERE line = 6") == 4
    assert rows(empty_db, "SELECT source_ref, line, camera_type, operator, operator_type,"
                          " attrs->>'note', ST_X(geom) FROM camera_report ORDER BY 1") == [
        ("a", 1, "ptz", "Kesko Oyj", "business", "by the door", 24.94),
        ("b#1", 2, "traffic", None, "unknown", None, 24.95),
        ("b#2", 2, "traffic", None, "unknown", None, 24.96),
        (None, 6, "unknown", None, "unknown", None, 24.97),
    ]
    assert rows(empty_db, "SELECT line, reason FROM rejected_row ORDER BY line") == [
        (3, "geometry type 'Polygon': camera reports are Point or MultiPoint"),
        (4, "longitude 200 out of range [-180, 180]"),
        (5, "feature has no geometry"),
        (7, "invalid count 'many'"),
    ]
    assert one(empty_db, "SELECT kind FROM source") == "reported"


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_bad_rows_are_listed_and_good_rows_kept(empty_db: str, tmp_path: Path) -> None:
    # Semicolons, Latin-1, decimal commas, any column names; rows that stand for several cameras.
    text = (
        "Leveys;Pituus;Laji;Kameroita;Ylläpitäjä;Huom\n"      # 1 header
        "60,1699;24,9384;cctv;1;Stockmann Oyj;Ålandsgatan\n"   # 2 ok
        "60.1702;24.9410;ANPR;3;Helsingin poliisi;\n"          # 3 ok, 3 cameras
        ";24.94;cctv;1;;\n"                                    # 4 missing latitude
        "95;24.94;cctv;1;;\n"                                  # 5 latitude out of range
        "nan;24.94;cctv;1;;\n"                                 # 6 NaN
        "60.17;abc;cctv;1;;\n"                                 # 7 unparsable longitude
        "60.17;24.95;cctv;0;;\n"                               # 8 count 0: surveyed, none
        "60.17;24.95;cctv;2.5;;\n"                             # 9 count not whole
        "60.17;24.95;cctv\n"                                   # 10 ragged
        "60.1710;24.9500;dome;2;;\n"                           # 11 ok, 2 cameras
        "\n"                                                   # 12 blank: not a row
        ";;;;;\n"                                              # 13 a row with no value
    )
    path = tmp_path / "volunteers.csv"
    path.write_bytes(text.encode("latin-1"))
    out = run_cli("ingest", "cameras", str(path), "--source", "volunteers", "--lat", "Leveys",
                  "--lon", "Pituus", "--type", "Laji", "--count", "Kameroita",
                  "--operator", "Ylläpitäjä").output
    assert "3 accepted" in out and "1 surveyed with no camera" in out and "7 rejected" in out
    assert "line 4: missing latitude" in out
    assert rows(empty_db, "SELECT line, reason, raw FROM rejected_row ORDER BY line") == [
        (4, "missing latitude", ";24.94;cctv;1;;"),
        (5, "latitude 95 out of range [-90, 90]", "95;24.94;cctv;1;;"),
        (6, "invalid latitude 'nan'", "nan;24.94;cctv;1;;"),
        (7, "invalid longitude 'abc'", "60.17;abc;cctv;1;;"),
        (9, "invalid count '2.5': not a whole number", "60.17;24.95;cctv;2.5;;"),
        (10, "3 fields where the header has 6", "60.17;24.95;cctv"),
        (13, "empty row: no values", ";;;;;"),
    ]
    assert rows(empty_db, "SELECT line, camera_type, operator_type, count, attrs->>'Huom',"
                          " round(ST_Y(geom)::numeric, 4)::float8 FROM camera_report ORDER BY line") == [
        (2, "cctv", "business", 1, "Ålandsgatan", 60.1699),
        (3, "alpr", "public", 3, None, 60.1702),
        (11, "dome", "unknown", 2, None, 60.1710),
    ]
    stats = json.loads(run_cli("stats", "--json").output)
    assert [(s["name"], s["entity"], s["kind"], s["reports"], s["rejected"], s["surveyed_empty"])
            for s in stats["sources"]] == [("volunteers", "cameras", "reported", 3, 7, 1)]
    run_cli("build")
    stats = json.loads(run_cli("stats", "--json").output)
    assert stats["cameras"] == 6  # devices: 1 + 3 + 2
    for cells in stats["hexagons"].values():
        assert cells["cameras"] == 6
    # `camdensity rejects` lists every one of them, for a person and as CSV with the raw row.
    listing = run_cli("rejects", "--source", "volunteers").output.splitlines()
    assert listing[0] == "volunteers (cameras) volunteers.csv line 4: missing latitude"
    assert listing[-1] == "7 rejected rows" and len(listing) == 8
    table = list(csv.reader(io.StringIO(run_cli("rejects", "--csv").output)))
    assert table[0] == ["source", "entity", "file", "unit", "number", "reason", "raw"]
    assert table[-2] == ["volunteers", "cameras", "volunteers.csv", "line", "10",
                         "3 fields where the header has 6", "60.17;24.95;cctv"]
    assert len(table) == 8
    # The count-0 row is survey evidence: where volunteers looked and saw no camera.
    assert rows(empty_db, "SELECT line, round(ST_Y(geom)::numeric, 2)::float8 FROM survey_point"
                ) == [(8, 60.17)]
    assert run_cli("rejects", "--source", "volunteers", "--entity", "sites").output == (
        "no rejected rows\n")
    assert "--entity 'site': use cameras, sites, addresses" in run_cli_fails(
        "rejects", "--entity", "site")


def test_csv_new_version_replaces_and_records_removed(empty_db: str, tmp_path: Path) -> None:
    path = tmp_path / "registry.csv"
    path.write_text("id,lat,lon,type\n1,60.17,24.94,cctv\n2,60.18,24.95,alpr\n3,60.19,24.96,cctv\n")
    run_cli("ingest", "cameras", str(path), "--source", "registry")
    path.write_text("id,lat,lon,type\n1,60.17,24.94,cctv\n2,60.18,24.95,alpr\n4,60.20,24.97,ptz\n")
    out = run_cli("ingest", "cameras", str(path), "--source", "registry").output
    assert "3 accepted" in out and "1 gone since the previous version" in out
    assert sorted(r[0] for r in rows(empty_db, "SELECT source_ref FROM camera_report")) == [
        "1", "2", "4"]
    assert rows(empty_db, "SELECT source_ref, camera_type, round(ST_Y(geom)::numeric, 2)::float8"
                          " FROM camera_report_removed") == [("3", "cctv", 60.19)]
    assert rows(empty_db, "SELECT accepted, removed FROM source_version ORDER BY id") == [
        (3, 0), (3, 1)]
    run_cli("build", "--resolutions", "9")
    assert one(empty_db, "SELECT count(*) FROM camera") == 3


def test_same_camera_in_two_sources_fuses(empty_db: str, tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("id,lat,lon,type\nA1,60.170000,24.940000,cctv\nA2,60.175,24.95,alpr\n")
    b = tmp_path / "b.csv"
    # B1 is A1 seen from 5 m away; B2 is 5 m from A2 but a gunshot detector: not the same device.
    b.write_text("id,lat,lon,type\nB1,60.170045,24.940000,dome\nB2,60.175045,24.95,gunshot\n")
    run_cli("ingest", "cameras", str(a), "--source", "a")
    out = run_cli("ingest", "cameras", str(b), "--source", "b").output
    assert "2 accepted, 1 fused with another source's" in out
    run_cli("build", "--resolutions", "9")
    assert one(empty_db, "SELECT count(*) FROM camera") == 3
    fused = rows(empty_db, "SELECT c.camera_type, c.n_sources, array_agg(r.source_ref ORDER BY"
                           " r.source_ref) FROM camera c JOIN camera_report r ON r.camera_id = c.id"
                           " GROUP BY c.id HAVING count(*) > 1")
    assert fused == [("dome", 2, ["A1", "B1"])]


def test_bbox_keeps_only_reports_inside(empty_db: str) -> None:
    out = run_cli("ingest", "cameras", str(US_WEST_JSON), "--source", "seattle",
                  "--bbox", "-122.45,47.5,-122.2,47.75").output
    inside = sum(1 for e in json.loads(US_WEST_JSON.read_text())
                 if -122.45 <= e["lon"] <= -122.2 and 47.5 <= e["lat"] <= 47.75)
    assert 0 < inside < 18_078
    assert f"{inside} accepted" in out and f"{18_078 - inside} outside --bbox skipped" in out
    assert one(empty_db, "SELECT count(*) FROM camera_report") == inside


# --- fatal errors change nothing --------------------------------------------------------------------


def test_fatal_errors_write_nothing(empty_db: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("lat,lon\n60.17,24.94\n")
    run_cli("ingest", "cameras", str(good), "--source", "good")
    before = store_counts(empty_db)

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01 this is not json")
    assert "garbage.json is not JSON" in run_cli_fails("ingest", "cameras", str(garbage))

    # Valid elements, then a cut: all-or-nothing, none of the first ones stays.
    truncated = tmp_path / "truncated.json"
    truncated.write_text('[{"id": 1, "lat": 60.1, "lon": 24.9, "type": "cctv"},'
                         ' {"id": 2, "lat": 60.2, "lon": 24.9, "type": "cctv"}, {"id": 3, "la')
    out = run_cli_fails("ingest", "cameras", str(truncated), "--source", "truncated")
    assert "truncated.json" in out and "not valid JSON after element 2" in out
    assert "(right here)" not in out  # the parser's picture is left out: one line per error

    not_pbf = tmp_path / "fake.osm.pbf"
    not_pbf.write_bytes(b"PK\x03\x04 a zip file")
    assert "fake.osm.pbf: not a valid OSM file (" in run_cli_fails(
        "ingest", "cameras", str(not_pbf))

    no_lat = tmp_path / "nolat.csv"
    no_lat.write_text("x_coord,y_coord\n1,2\n")
    assert "no latitude column" in run_cli_fails("ingest", "cameras", str(no_lat))
    assert "no such file" in run_cli_fails("ingest", "cameras", str(tmp_path / "missing.csv"))
    assert "is a directory: give a file" in run_cli_fails("ingest", "cameras", str(tmp_path))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("lat,lon,paikka\n60.17,24.94,Töölö\n".encode("latin-1"))
    out = run_cli_fails("ingest", "cameras", str(latin), "--encoding", "utf-8")
    assert "latin.csv line 2 is not utf-8 text" in out and "give another --encoding" in out
    assert "--default-type 'lidar'" in run_cli_fails(
        "ingest", "cameras", str(good), "--source", "other", "--default-type", "lidar")
    unknown = tmp_path / "cameras.xlsx"
    unknown.write_bytes(b"PK")
    assert "cannot tell the format of cameras.xlsx" in run_cli_fails(
        "ingest", "cameras", str(unknown))
    assert store_counts(empty_db) == before


def test_data_date_from_the_osm_file_or_the_command_line(empty_db: str, tmp_path: Path) -> None:
    # The extract's header has no snapshot time: the newest edit among the imported objects.
    newest = max(n.timestamp for n in osmium.FileProcessor(str(HELSINKI_PBF))
                 .with_filter(osmium.filter.TagFilter(("man_made", "surveillance"))))
    out = run_cli("ingest", "cameras", str(HELSINKI_PBF), "--source", "osm").output
    assert f"data of {newest.date().isoformat()}" in out
    # Given on the command line, it wins; given again for the same file, it is recorded alone.
    path = tmp_path / "registry.csv"
    path.write_text("lat,lon\n60.17,24.94\n")
    run_cli("ingest", "cameras", str(path), "--source", "registry", "--data-date", "2025-06-30")
    out = run_cli("ingest", "cameras", str(path), "--source", "registry",
                  "--data-date", "2025-07-01").output
    assert "file unchanged" in out
    assert rows(empty_db, "SELECT name, data_date::text FROM source ORDER BY id") == [
        ("osm", newest.date().isoformat()), ("registry", "2025-07-01")]
    assert run_cli_fails("ingest", "cameras", str(path), "--data-date", "June 2025") == (
        "error: --data-date 'June 2025': give the date as YYYY-MM-DD, e.g. 2025-06-30\n")


def test_an_unreachable_store_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                               database_url: str) -> None:
    from camdensity import testing

    with testing.pointed_at(testing.with_dbname(database_url, "no_such_database")):
        out = run_cli_fails("stats")
    assert "cannot reach the store (DATABASE_URL)" in out
    assert 'database "no_such_database" does not exist' in out
    assert "Traceback" not in out
    with testing.pointed_at("not a url"):
        assert "DATABASE_URL is not a PostgreSQL URL or conninfo" in run_cli_fails("stats")
