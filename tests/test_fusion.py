"""Fusion of camera reports from several sources, against a real PostGIS."""

from __future__ import annotations

import math
from collections.abc import Iterator

import psycopg
import pytest

from camdensity.ingest.fuse import fuse
from camdensity.settings import MethodSettings

LON, LAT = 24.9384, 60.1699  # central Helsinki
M_PER_DEG_LAT = 111_412.0  # meridian degree near 60°N; enough for metre offsets in tests


def north(metres: float, lat: float = LAT) -> float:
    """Latitude `metres` north of `lat`."""
    return lat + metres / M_PER_DEG_LAT


def east(metres: float, lon: float = LON, lat: float = LAT) -> float:
    """Longitude `metres` east of `lon` at latitude `lat`."""
    return lon + metres / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def add_source(conn: psycopg.Connection, name: str, kind: str = "crowdsourced",
               file: str | None = None) -> int:
    """A camera source row, as an import of `file` (default: `name`.csv) would leave it."""
    file = file or f"{name}.csv"
    return conn.execute(
        "INSERT INTO source (name, entity, kind, file_name, file_sha256, format)"
        " VALUES (%s, 'cameras', %s, %s, md5(%s), 'csv') RETURNING id",
        (name, kind, file, file),
    ).fetchone()[0]


def add_report(
    conn: psycopg.Connection, source_id: int, lon: float, lat: float,
    camera_type: str = "cctv", operator_type: str = "unknown", count: int = 1,
) -> int:
    """One camera report; returns its id."""
    return conn.execute(
        "INSERT INTO camera_report (source_id, camera_type, operator_type, count, geom)"
        " VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
        (source_id, camera_type, operator_type, count, lon, lat),
    ).fetchone()[0]


def cameras(conn: psycopg.Connection) -> list[dict]:
    """The fused cameras with their reports' ids, ordered by id."""
    cur = conn.execute(
        "SELECT c.id, c.camera_type, c.operator_type, c.count, c.n_reports, c.n_sources,"
        " c.confidence, ST_X(c.geom), ST_Y(c.geom),"
        " array(SELECT r.id FROM camera_report r WHERE r.camera_id = c.id ORDER BY r.id)"
        " FROM camera c ORDER BY c.id"
    )
    keys = ("id", "type", "operator", "count", "n_reports", "n_sources", "confidence", "lon",
            "lat", "reports")
    return [dict(zip(keys, row)) for row in cur]


@pytest.fixture
def db(empty_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(empty_db, autocommit=True) as c:
        yield c


def test_same_camera_in_two_sources_fuses_with_both_provenances(db: psycopg.Connection) -> None:
    osm, city = add_source(db, "osm"), add_source(db, "city", "reported")
    r1 = add_report(db, osm, LON, LAT)
    r2 = add_report(db, city, LON, north(5))
    result = fuse(db)
    cams = cameras(db)
    assert len(cams) == 1 and result.cameras == 1
    cam = cams[0]
    assert cam["reports"] == [r1, r2]
    assert cam["n_reports"] == 2 and cam["n_sources"] == 2
    assert cam["confidence"] == pytest.approx(0.75)
    assert cam["lat"] == pytest.approx((LAT + north(5)) / 2)
    assert result.fused("osm") == 1 and result.fused("city") == 1
    provenance = db.execute(
        "SELECT s.name FROM camera_report r JOIN source s ON s.id = r.source_id"
        " WHERE r.camera_id = %s ORDER BY s.name", (cam["id"],)
    ).fetchall()
    assert [p[0] for p in provenance] == ["city", "osm"]


def test_two_cameras_of_one_source_never_merge(db: psycopg.Connection) -> None:
    osm, city = add_source(db, "osm"), add_source(db, "city")
    o1 = add_report(db, osm, LON, LAT)
    o2 = add_report(db, osm, LON, north(5))           # same pole, second device
    c1 = add_report(db, city, LON, north(1))          # 1 m from o1, 4 m from o2
    c2 = add_report(db, city, east(3), north(1))      # 3 m from o1, 5 m from o2
    c3 = add_report(db, city, east(6), north(2))      # near both, but both are taken
    fuse(db)
    cams = cameras(db)
    assert [c["reports"] for c in cams] == [[o1, c1], [o2, c2], [c3]]
    assert [c["n_sources"] for c in cams] == [2, 2, 1]


def test_incompatible_types_stay_apart_compatible_ones_fuse(db: psycopg.Connection) -> None:
    a, b = add_source(db, "a"), add_source(db, "b")
    add_report(db, a, LON, LAT, "alpr")
    add_report(db, b, LON, north(2), "cctv")            # a plate reader is not CCTV
    add_report(db, a, east(100), LAT, "cctv")
    add_report(db, b, east(100), north(2), "dome")      # same family: fuses, more specific type
    add_report(db, a, east(200), LAT, "unknown")
    add_report(db, b, east(200), north(2), "alpr")      # unknown fits anything
    add_report(db, a, east(300), LAT, "traffic")
    add_report(db, b, east(300), north(2), "speed")
    add_report(db, a, east(400), LAT, "gunshot")
    add_report(db, b, east(400), north(2), "doorbell")
    fuse(db)
    by_lon = sorted(cameras(db), key=lambda c: (round(c["lon"], 6), c["type"]))
    assert [(c["type"], c["n_sources"]) for c in by_lon] == [
        ("alpr", 1), ("cctv", 1),
        ("dome", 2),
        ("alpr", 2),
        ("speed", 2),
        ("doorbell", 1), ("gunshot", 1),
    ]


@pytest.mark.parametrize(("metres", "expected"), [(5, 1), (14, 1), (16, 2), (30, 2)])
def test_fusion_distance(db: psycopg.Connection, metres: float, expected: int) -> None:
    a, b = add_source(db, "a"), add_source(db, "b")
    add_report(db, a, LON, LAT)
    add_report(db, b, east(metres), LAT)
    assert fuse(db).cameras == expected
    assert len(cameras(db)) == expected


def test_fusion_distance_is_a_setting(db: psycopg.Connection) -> None:
    a, b = add_source(db, "a"), add_source(db, "b")
    add_report(db, a, LON, LAT)
    add_report(db, b, east(30), LAT)
    assert fuse(db, MethodSettings(fusion_distance_m=40)).cameras == 1


def test_matching_is_one_to_one_by_distance(db: psycopg.Connection) -> None:
    """Both b-reports are nearest to the same a-camera; greedy matching still pairs them all."""
    a, b = add_source(db, "a"), add_source(db, "b")
    add_report(db, a, LON, LAT)
    add_report(db, a, LON, north(10))
    add_report(db, b, LON, north(6))    # 6 m from the first, 4 m from the second
    add_report(db, b, LON, north(12))   # 2 m from the second
    fuse(db)
    cams = cameras(db)
    assert [c["n_sources"] for c in cams] == [2, 2]
    assert cams[0]["lat"] == pytest.approx((LAT + north(6)) / 2)
    assert cams[1]["lat"] == pytest.approx((north(10) + north(12)) / 2)


def test_three_sources_count_operator_and_rerun(db: psycopg.Connection) -> None:
    a, b, c = add_source(db, "a"), add_source(db, "b"), add_source(db, "c", "reported")
    add_report(db, a, LON, LAT, "unknown", "unknown", count=1)
    add_report(db, b, east(4), LAT, "cctv", "private", count=3)
    add_report(db, c, east(8), LAT, "cctv", "business", count=2)
    add_report(db, c, east(500), LAT, "alpr", "public")
    result = fuse(db)
    assert result.cameras == 2 and result.devices == 4
    assert [(s.name, s.reports, s.fused) for s in result.sources] == [
        ("a", 1, 1), ("b", 1, 1), ("c", 2, 1),
    ]
    first = cameras(db)
    big = next(cam for cam in first if cam["n_sources"] == 3)
    assert big["count"] == 3 and big["type"] == "cctv"
    assert big["operator"] == "private"   # conflicting operators err towards privacy
    assert big["confidence"] == pytest.approx(1 - 0.5 ** 3)
    # Fusing again is stable: same cameras, same ids.
    fuse(db)
    assert cameras(db) == first


def test_fusion_is_transactional_and_replaces_old_cameras(db: psycopg.Connection) -> None:
    a = add_source(db, "a")
    add_report(db, a, LON, LAT)
    fuse(db)
    db.execute("DELETE FROM camera_report")
    b = add_source(db, "b")
    add_report(db, b, east(50), LAT)
    add_report(db, b, east(90), LAT)
    with db.transaction():
        fuse(db)
        fuse(db)  # twice in one transaction: the working tables start afresh
    assert [c["n_reports"] for c in cameras(db)] == [1, 1]
    assert db.execute("SELECT count(*) FROM camera_report WHERE camera_id IS NULL").fetchone()[0] == 0


def test_a_new_source_rewrites_only_the_cameras_it_changes(db: psycopg.Connection) -> None:
    a = add_source(db, "a")
    add_report(db, a, LON, LAT)
    add_report(db, a, east(200), LAT)
    fuse(db)
    versions = dict(db.execute("SELECT id, xmin::text FROM camera").fetchall())
    b = add_source(db, "b")
    add_report(db, b, east(203), LAT, "dome")
    fuse(db)
    cams = cameras(db)
    assert [(c["type"], c["n_sources"]) for c in cams] == [("cctv", 1), ("dome", 2)]
    assert cams[1]["lon"] == pytest.approx((east(200) + east(203)) / 2)
    after = dict(db.execute("SELECT id, xmin::text FROM camera").fetchall())
    assert after[cams[0]["id"]] == versions[cams[0]["id"]]     # untouched row kept
    assert after[cams[1]["id"]] != versions[cams[1]["id"]]     # changed row rewritten


def test_one_file_under_two_names_is_one_witness(db: psycopg.Connection) -> None:
    # The same file imported twice under different source names: its reports pair up one to one,
    # but a camera seen twice by one file is not confirmed by an independent source.
    first, again = add_source(db, "volunteers", file="v.csv"), add_source(db, "v2", file="v.csv")
    other = add_source(db, "city", "reported")
    for source in (first, again):
        add_report(db, source, LON, LAT)
        add_report(db, source, east(100), LAT)
    add_report(db, other, east(100), north(3))
    fuse(db)
    cams = cameras(db)
    assert [(c["n_reports"], c["n_sources"]) for c in cams] == [(2, 1), (3, 2)]
    assert [c["confidence"] for c in cams] == pytest.approx([0.5, 0.75])
