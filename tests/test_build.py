"""The build: hexagons, the privacy rule, site exposure, atomicity and the data version, on real PostGIS."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator

import h3
import numpy as np
import psycopg
import pytest
import shapely
from conftest import run_cli
from privacy_rule import cell_of, checked_published, left_out, published
from pyproj import Geod, Transformer
from shapely import wkt as shapely_wkt
from shapely.geometry import Point, Polygon
from test_fusion import LAT, LON, add_report, add_source, east, north
from typer.testing import CliRunner

from camdensity.ingest.build import build
from camdensity.settings import MethodSettings

GEOD = Geod(ellps="WGS84")
TYPES = ("cctv", "dome", "alpr", "traffic", "unknown", "doorbell")
OPERATORS = ("public", "business", "private", "unknown")


def add_site(conn: psycopg.Connection, category: str, wkt: str, name: str = "site") -> int:
    """A sensitive site (polygon or point) in its own source row."""
    source = conn.execute(
        "INSERT INTO source (name, entity, kind, file_name, file_sha256, format)"
        " VALUES (%s, 'sites', 'reported', 'sites.csv', md5(%s), 'csv')"
        " ON CONFLICT (entity, name) DO UPDATE SET format = EXCLUDED.format RETURNING id",
        (f"sites-{category}", category),
    ).fetchone()[0]
    return conn.execute(
        "INSERT INTO site (source_id, category, name, geom, centroid, geom_3857)"
        " SELECT %s, %s, %s, g, ST_Centroid(g), ST_Transform(g, 3857)"
        " FROM (SELECT ST_GeomFromText(%s, 4326) AS g) x RETURNING id",
        (source, category, name, wkt),
    ).fetchone()[0]


def point_wkt(lon: float, lat: float) -> str:
    return f"POINT({lon!r} {lat!r})"


def box_wkt(west: float, south: float, east_: float, north_: float) -> str:
    return (f"POLYGON(({west!r} {south!r}, {east_!r} {south!r}, {east_!r} {north_!r},"
            f" {west!r} {north_!r}, {west!r} {south!r}))")


def scatter(conn: psycopg.Connection, n: int, spread_m: float, seed: int) -> None:
    """`n` reports of mixed type, operator and count from two sources around the centre."""
    rng = np.random.default_rng(seed)
    sources = [add_source(conn, "scatter-a"), add_source(conn, "scatter-b", "reported")]
    dx, dy = rng.uniform(-spread_m, spread_m, (2, n))
    # Some private cameras huddle together so the privacy rule shows some and hides others.
    dx[: n // 10] = rng.normal(0, 3, n // 10)
    dy[: n // 10] = rng.normal(0, 3, n // 10)
    for i in range(n):
        private = i < n // 10 or rng.random() < 0.2
        add_report(
            conn, sources[i % 2], east(dx[i]), north(dy[i]),
            camera_type=TYPES[rng.integers(len(TYPES))],
            operator_type="private" if private else OPERATORS[rng.integers(len(OPERATORS))],
            count=int(rng.choice([1, 1, 1, 2, 4])),
        )


@pytest.fixture
def db(empty_db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(empty_db, autocommit=True) as c:
        yield c


def fused_cameras(conn: psycopg.Connection) -> list[tuple[float, float, str, str, int]]:
    return conn.execute(
        "SELECT ST_X(geom), ST_Y(geom), camera_type, operator_type, count FROM camera"
    ).fetchall()


def public_cameras(conn: psycopg.Connection) -> list[tuple[float, float, str, str, int]]:
    """The fused cameras as the privacy rule publishes them (tests/privacy_rule.py)."""
    return published(fused_cameras(conn))


def test_hexagons_match_an_independent_count_at_every_resolution(db: psycopg.Connection) -> None:
    scatter(db, 400, 1500, seed=1)
    result = build(db)
    fused = fused_cameras(db)
    devices = sum(c[4] for c in fused)
    assert result.fusion.devices == devices
    # The rule, recomputed in Python: private cameras only in res-9 cells holding at least 3 of
    # them, at the cell's centre; the others are left out at every resolution alike.
    cams = checked_published(db)
    withheld = left_out(fused)
    assert 0 < withheld < sum(c[4] for c in fused if c[3] == "private")
    for resolution in range(6, 13):
        expected: dict[int, Counter] = defaultdict(Counter)
        for lon, lat, ctype, op, count in cams:
            kept = expected[h3.str_to_int(cell_of((lon, lat, ctype, op, count), resolution))]
            kept["cameras"] += count
            kept[f"n_{ctype}"] += count
            kept[f"op_{op}"] += count
        rows = db.execute(
            "SELECT h3, cameras, n_cctv, n_dome, n_alpr, n_traffic, n_unknown, n_doorbell,"
            " op_public, op_business, op_private, op_unknown, area_km2, density_km2"
            " FROM hexagon WHERE resolution = %s", (resolution,),
        ).fetchall()
        got = {}
        for row in rows:
            cell, cameras, *counts, area, density = row
            names = ["n_cctv", "n_dome", "n_alpr", "n_traffic", "n_unknown", "n_doorbell",
                     "op_public", "op_business", "op_private", "op_unknown"]
            got[cell] = Counter({"cameras": cameras, **dict(zip(names, counts))})
            assert area == pytest.approx(h3.cell_area(h3.int_to_str(cell), "km^2"), rel=1e-9)
            assert density == pytest.approx(cameras / area)
        assert got == {k: +v for k, v in expected.items()}
        shown = db.execute("SELECT sum(cameras) FROM hexagon WHERE resolution = %s",
                           (resolution,)).fetchone()[0]
        hidden = db.execute("SELECT cameras FROM hexagon_withheld WHERE resolution = %s",
                            (resolution,)).fetchone()[0]
        assert hidden == withheld == result.withheld[resolution]
        assert shown + hidden == devices
        breakdown = db.execute("SELECT sum(cameras) FROM hexagon_breakdown WHERE resolution = %s",
                               (resolution,)).fetchone()[0]
        assert breakdown == shown
    # Private cameras are shown at every resolution, as aggregates.
    assert db.execute("SELECT sum(op_private) FROM hexagon WHERE resolution = 12").fetchone()[0] > 0


def test_hexagon_polygons_are_the_h3_cells(db: psycopg.Connection) -> None:
    scatter(db, 20, 300, seed=2)
    build(db)
    for cell, polygon, in_3857 in db.execute(
        "SELECT h3, ST_AsText(geom), ST_SRID(geom_3857) FROM hexagon WHERE resolution IN (6, 12)"
    ):
        expected = h3.cells_to_h3shape([h3.int_to_str(cell)])
        boundary = Polygon([(lng, lat) for lat, lng in expected.outer])
        assert shapely_wkt.loads(polygon).symmetric_difference(boundary).area < 1e-14
        assert in_3857 == 3857


def test_privacy_rule_withholds_lone_private_cameras(db: psycopg.Connection) -> None:
    src = add_source(db, "homes")
    for i in range(3):  # three households' cameras sharing one res-9 cell
        add_report(db, src, east(0.3 * i), LAT, "doorbell", "private")
    lone_lon, lone_lat = east(400), north(400)
    add_report(db, src, lone_lon, lone_lat, "doorbell", "private")
    add_report(db, src, east(2000), LAT, "cctv", "business")
    result = build(db)
    assert result.withheld == dict.fromkeys(range(6, 13), 1)
    # The lone one is nowhere: no hexagon at any resolution holds a private camera near it.
    lone_cell = h3.latlng_to_cell(lone_lat, lone_lon, 9)
    for resolution in range(6, 13):
        rows = db.execute("SELECT h3, op_private, n_doorbell FROM hexagon WHERE resolution = %s"
                          " AND op_private > 0", (resolution,)).fetchall()
        # The three are one aggregate at their res-9 cell's centre, in whichever cell holds it.
        group = h3.cell_to_latlng(h3.latlng_to_cell(LAT, LON, 9))
        here = cell_of((group[1], group[0], "doorbell", "private", 3), resolution)
        assert rows == [(h3.str_to_int(here), 3, 3)]
        # The lone one's own cell holds a private camera only when the group's centre is in it.
        lone_here = h3.latlng_to_cell(lone_lat, lone_lon, resolution)
        assert db.execute(
            "SELECT coalesce(sum(cameras), 0) FROM hexagon_breakdown"
            " WHERE resolution = %s AND h3 = %s AND operator_type = 'private'",
            (resolution, h3.str_to_int(lone_here)),
        ).fetchone()[0] == (3 if lone_here == here else 0)
    assert db.execute("SELECT count(*) FROM camera_published WHERE h3 = %s",
                      (h3.str_to_int(lone_cell),)).fetchone()[0] == 0
    # With the minimum at 5, the three are left out too.
    result = build(db, MethodSettings(private_min_per_cell=5))
    assert result.withheld[12] == result.withheld[6] == 4
    assert db.execute("SELECT coalesce(sum(op_private), 0) FROM hexagon").fetchone()[0] == 0


def test_privacy_rule_names_a_type_only_for_the_minimum_and_rounds(db: psycopg.Connection) -> None:
    src = add_source(db, "homes")
    # One res-9 cell: four doorbell households (one with 3 devices) and two cctv households.
    for i, (kind, count) in enumerate([("doorbell", 1), ("doorbell", 3), ("doorbell", 1),
                                       ("doorbell", 1), ("cctv", 1), ("cctv", 2)]):
        add_report(db, src, east(0.5 * i), LAT, kind, "private", count=count)
    build(db)
    centre = h3.cell_to_latlng(h3.latlng_to_cell(LAT, LON, 9))
    rows = db.execute("SELECT camera_type, count, points, ST_Y(geom), ST_X(geom)"
                      " FROM camera_published ORDER BY camera_type").fetchall()
    # Two cctv households are fewer than 3: published as 'unknown', not as cctv.
    assert [r[:3] for r in rows] == [("doorbell", 6, 4), ("unknown", 3, 2)]
    assert all((r[3], r[4]) == pytest.approx(centre, abs=1e-9) for r in rows)
    assert sorted((t, c) for _, _, t, _, c in published(fused_cameras(db))) == [
        (t, c) for t, c, *_ in rows]
    result = build(db, MethodSettings(private_count_step=5))
    assert db.execute("SELECT camera_type, count FROM camera_published ORDER BY camera_type"
                      ).fetchall() == [("doorbell", 5), ("unknown", 5)]
    assert result.withheld[9] == 0


def aeqd(lon: float, lat: float) -> Transformer:
    """Metres on a plane true to distance from (lon, lat): enough to brute-force 500 m."""
    return Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84 +units=m", always_xy=True
    )


def assert_exposure_is_brute_force(conn: psycopg.Connection, site_id: int) -> dict[int, int]:
    """Compare a site's exposure row with distances measured in Python to every published camera."""
    cams = public_cameras(conn)
    geom_wkt, clon, clat = conn.execute(
        "SELECT ST_AsText(geom), ST_X(centroid), ST_Y(centroid) FROM site WHERE id = %s",
        (site_id,)).fetchone()
    to_m = aeqd(clon, clat)
    shape_m = shapely.transform(shapely_wkt.loads(geom_wkt),
                                lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    row = conn.execute(
        "SELECT cameras_50m, cameras_100m, cameras_200m, cameras_500m, by_type, by_operator"
        " FROM site_exposure WHERE site_id = %s", (site_id,)).fetchone()
    got = dict(zip((50, 100, 200, 500), row[:4]))
    distances = [shape_m.distance(Point(to_m.transform(lon, lat))) for lon, lat, *_ in cams]
    for radius in (50, 100, 200, 500):
        inside, boundary = Counter(), 0
        for (_, _, ctype, op, count), d in zip(cams, distances):
            if abs(d - radius) < 0.5:  # too close to call between two distance methods
                boundary += count
            elif d < radius:
                inside["all"] += count
                inside[f"type:{ctype}"] += count
                inside[f"op:{op}"] += count
        assert inside["all"] <= got[radius] <= inside["all"] + boundary
        if not boundary:
            assert row[4][str(radius)] == {k[5:]: v for k, v in inside.items() if k[:5] == "type:"}
            assert row[5][str(radius)] == {k[3:]: v for k, v in inside.items() if k[:3] == "op:"}
    return got


def test_exposure_counts_equal_brute_force(db: psycopg.Connection) -> None:
    scatter(db, 500, 900, seed=3)
    school = add_site(db, "school", box_wkt(east(-80), north(-40), east(60), north(50)), "box")
    clinic = add_site(db, "clinic", point_wkt(east(200), north(-150)), "point")
    build(db)
    for site_id in (school, clinic):
        got = assert_exposure_is_brute_force(db, site_id)
        assert got[500] > got[100] >= got[50]
    assert db.execute("SELECT count(*) FROM site_exposure").fetchone()[0] == 2


def circle_overlap(r1: float, r2: float, d: float) -> float:
    """Area of the intersection of two circles with radii r1, r2 whose centres are d apart."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return math.pi * min(r1, r2) ** 2
    a = r1 ** 2 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    b = r2 ** 2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    c = 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2))
    return a + b - c


def effective(conn: psycopg.Connection, site_id: int) -> float:
    return conn.execute("SELECT effective_cameras FROM site_exposure WHERE site_id = %s",
                        (site_id,)).fetchone()[0]


def test_effective_cameras_by_the_overlap_method(db: psycopg.Connection) -> None:
    src = add_source(db, "cams")
    # One camera at a point site: its whole disc is inside the 200 m buffer.
    far = 5000
    single = add_site(db, "school", point_wkt(LON, LAT), "single")
    add_report(db, src, LON, LAT)
    # Two cameras 500 m apart inside a long site: no overlap, both discs inside.
    two = add_site(db, "school", box_wkt(east(far - 300), north(-20), east(far + 300), north(20)))
    add_report(db, src, east(far - 250), LAT)
    add_report(db, src, east(far + 250), LAT)
    # Two coincident cameras (one source, two devices): one disc of area.
    same = add_site(db, "clinic", point_wkt(east(2 * far), LAT), "same")
    add_report(db, src, east(2 * far), LAT, count=3)
    add_report(db, src, east(2 * far), LAT)
    # A camera 200 m from a point site: the lens of the 200 m buffer and the 120 m disc.
    edge = add_site(db, "clinic", point_wkt(east(3 * far), LAT), "edge")
    add_report(db, src, east(3 * far + 200), LAT)
    # A camera 330 m away: its disc misses the buffer.
    none = add_site(db, "worship", point_wkt(east(4 * far), LAT), "none")
    add_report(db, src, east(4 * far + 330), LAT)
    build(db)
    assert effective(db, single) == pytest.approx(1.0, abs=1e-6)
    assert effective(db, two) == pytest.approx(2.0, abs=1e-6)
    assert effective(db, same) == pytest.approx(1.0, abs=1e-6)
    lens = circle_overlap(200, 120, 200) / (math.pi * 120 ** 2)
    assert effective(db, edge) == pytest.approx(lens, rel=0.01)
    assert effective(db, none) == 0.0
    # The coincident pair still counts four devices.
    assert db.execute("SELECT cameras_50m FROM site_exposure WHERE site_id = %s",
                      (same,)).fetchone()[0] == 4


def test_percentiles(db: psycopg.Connection) -> None:
    src = add_source(db, "cams")
    schools = [add_site(db, "school", point_wkt(east(1000 * i), LAT), f"s{i}") for i in range(4)]
    for i, n in enumerate((0, 1, 1, 3)):
        for k in range(n):
            add_report(db, src, east(1000 * i + 10 * k), north(20))
    lone = add_site(db, "clinic", point_wkt(east(1500), LAT), "lone clinic")
    build(db)
    got = dict(db.execute(
        "SELECT site_id, percentile_category FROM site_exposure").fetchall())
    # (sites with fewer + half the sites with as many) / sites, as percent.
    assert [got[s] for s in schools] == pytest.approx([12.5, 50.0, 50.0, 87.5])
    assert got[lone] == pytest.approx(50.0)
    # City: baseline cells within 10 km, compared on cameras within 200 m of their centres.
    for site_id in (schools[3], lone):
        n200, pct, lon, lat = db.execute(
            "SELECT e.cameras_200m, e.percentile_city, ST_X(s.centroid), ST_Y(s.centroid)"
            " FROM site_exposure e JOIN site s ON s.id = e.site_id WHERE s.id = %s",
            (site_id,)).fetchone()
        cells = db.execute(
            "SELECT cameras FROM baseline WHERE radius_m = 200 AND"
            " ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, 10000)",
            (lon, lat)).fetchall()
        fewer = sum(1 for (c,) in cells if c < n200)
        same = sum(1 for (c,) in cells if c == n200)
        assert pct == pytest.approx(100 * (fewer + 0.5 * same) / len(cells))
    assert db.execute("SELECT percentile_city FROM site_exposure WHERE site_id = %s",
                      (schools[3],)).fetchone()[0] > 50


def test_baseline_cells_and_counts(db: psycopg.Connection) -> None:
    scatter(db, 60, 400, seed=4)
    add_site(db, "school", point_wkt(east(3000), LAT))
    build(db)
    cams = public_cameras(db)
    expected = set()
    for lon, lat in [(c[0], c[1]) for c in cams] + [(east(3000), LAT)]:
        expected |= {h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(lat, lon, 9), 1)}
    rows = db.execute("SELECT h3, radius_m, cameras FROM baseline").fetchall()
    assert {r[0] for r in rows} == expected
    assert {r[1] for r in rows} == {50, 100, 200, 500}
    for cell, radius, cameras in rows[:: max(1, len(rows) // 40)]:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        distances = GEOD.inv([lon] * len(cams), [lat] * len(cams),
                             [c[0] for c in cams], [c[1] for c in cams])[2]
        if any(abs(d - radius) < 0.5 for d in distances):
            continue
        assert cameras == sum(c[4] for c, d in zip(cams, distances) if d < radius)


def test_cell_distances_to_sites(db: psycopg.Connection) -> None:
    src = add_source(db, "cams")
    add_report(db, src, LON, LAT)
    school_lon, school_lat = east(700), north(300)
    add_site(db, "school", point_wkt(school_lon, school_lat))
    add_site(db, "immigration", point_wkt(LON + 1.5, LAT))   # about 83 km away: beyond the limit
    build(db)
    rows = db.execute("SELECT h3, d_school, d_immigration, d_clinic FROM hexagon").fetchall()
    assert len(rows) == 7
    for cell, d_school, d_immigration, d_clinic in rows:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        expected = GEOD.inv(lon, lat, school_lon, school_lat)[2]
        assert d_school == pytest.approx(expected, abs=0.05)
        assert d_immigration is None and d_clinic is None
    build(db, MethodSettings(site_distance_limit_m=100_000))
    assert db.execute("SELECT count(*) FROM hexagon WHERE d_immigration > 50000").fetchone()[0] == 7


def test_cell_distances_equal_brute_force(db: psycopg.Connection) -> None:
    """Every hexagon's distance to the nearest site of each category is the geodesic minimum
    over all sites of the category within the limit, with many sites close to each other
    (points and polygons) and cells at every resolution."""
    scatter(db, 60, 3000, seed=5)
    rng = np.random.default_rng(9)
    for dx, dy in rng.uniform(-6000, 6000, (40, 2)).tolist():
        add_site(db, "school", point_wkt(east(dx), north(dy)))
    for dx, dy in rng.uniform(-9000, 9000, (12, 2)).tolist():
        w, s = east(dx), north(dy)
        add_site(db, "clinic", box_wkt(w, s, w + 0.004, s + 0.002))
    add_site(db, "worship", point_wkt(east(4000), north(-1000)))
    limit = 5000.0
    build(db, MethodSettings(site_distance_limit_m=limit))
    got = {(r, c): (school, clinic, worship) for r, c, school, clinic, worship in db.execute(
        "SELECT resolution, h3, d_school, d_clinic, d_worship FROM hexagon").fetchall()}
    assert len(got) > 60
    schools = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM site WHERE category = 'school'"
                         ).fetchall()
    checked = Counter()
    for (resolution, cell), values in got.items():
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        for category, value in zip(("school", "clinic", "worship"), values, strict=True):
            # PostGIS's own distance to every site of the category, from the cell's centre.
            brute = db.execute(
                "SELECT (SELECT min(ST_Distance(s.geom::geography, g)) FROM site s"
                " WHERE s.category = %s AND ST_DWithin(s.geom::geography, g, %s))"
                " FROM (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography AS g) p",
                (category, limit, lon, lat)).fetchone()[0]
            # d_* are real (float4): equal to the double rounded to float4.
            assert value == (None if brute is None else pytest.approx(brute, rel=1e-6)), \
                (resolution, cell, category)
            if category == "school":  # points: pyproj's geodesic, independently
                d = min(GEOD.inv(lon, lat, x, y)[2] for x, y in schools)
                assert (value is None) == (d > limit), (resolution, cell)
                assert value is None or value == pytest.approx(d, abs=0.05)
            checked[category, value is None] += 1
    assert all(checked[c, False] > 0 for c in ("school", "clinic", "worship"))
    assert checked["worship", True] > 0


def test_build_is_atomic_and_announced(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as writer, \
            psycopg.connect(empty_db, autocommit=True) as reader, \
            psycopg.connect(empty_db, autocommit=True) as listener:
        src = add_source(writer, "cams")
        add_report(writer, src, LON, LAT)
        first = build(writer)
        add_report(writer, src, east(500), LAT, count=5)
        listener.execute("LISTEN camdensity_build")
        reader.execute("SET statement_timeout = '5s'")  # a blocked reader fails, not hangs
        snapshot = "SELECT snapshot FROM build WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
        cameras = "SELECT sum(cameras) FROM hexagon WHERE resolution = 9"
        with writer.transaction():
            second = build(writer)
            # Built but not committed: the reader still sees the previous data, unblocked.
            assert reader.execute(snapshot).fetchone()[0] == first.snapshot
            assert reader.execute(cameras).fetchone()[0] == 1
            assert reader.execute("SELECT count(*) FROM camera").fetchone()[0] == 1
        assert reader.execute(snapshot).fetchone()[0] == second.snapshot
        assert reader.execute(cameras).fetchone()[0] == 6
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        assert notes == [second.snapshot]


def test_a_failed_build_leaves_the_previous_one(db: psycopg.Connection) -> None:
    src = add_source(db, "cams")
    add_report(db, src, LON, LAT)
    first = build(db)
    db.execute("CREATE FUNCTION pg_temp.fail() RETURNS trigger LANGUAGE plpgsql AS"
               " $$BEGIN RAISE EXCEPTION 'disk full'; END$$")
    db.execute("CREATE TRIGGER t BEFORE INSERT ON site_exposure FOR EACH ROW EXECUTE FUNCTION"
               " pg_temp.fail()")
    add_site(db, "school", point_wkt(LON, LAT))
    add_report(db, src, east(100), LAT)
    with pytest.raises(psycopg.errors.RaiseException):
        build(db)
    assert db.execute("SELECT count(*) FROM build").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM camera").fetchone()[0] == 1
    assert db.execute("SELECT sum(cameras) FROM hexagon WHERE resolution = 6").fetchone()[0] == 1
    assert first.snapshot


def test_data_version_changes_with_every_build_and_stats(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as db:
        a, b = add_source(db, "osm"), add_source(db, "city", "reported")
        add_report(db, a, LON, LAT, "cctv", "public")
        add_report(db, b, LON, north(3), "cctv", "public")
        add_report(db, b, east(300), LAT, "alpr", "public", count=2)
        add_site(db, "school", point_wkt(east(100), LAT))
        db.execute("INSERT INTO rejected_row (source_id, file_name, line, reason)"
                   " VALUES (%s, 'city.csv', 7, 'latitude out of range')", (b,))
    first = run_cli("build").output
    second = run_cli("build", "--resolutions", "8,9").output
    assert "build " in first and "3 cameras at 2 points" in first
    data = json.loads(run_cli("stats", "--json").output)
    with psycopg.connect(empty_db) as db:
        versions = [r[0] for r in db.execute("SELECT snapshot FROM build ORDER BY id")]
        points = db.execute("SELECT ST_Y(geom), ST_X(geom) FROM camera").fetchall()
    assert len(set(versions)) == 2 and versions[1] in second
    assert data["data_version"] == versions[1]
    assert data["cameras"] == 3 and data["camera_points"] == 2 and data["camera_reports"] == 3
    assert data["hexagons"] == {
        str(r): {"cells": len({h3.latlng_to_cell(lat, lon, r) for lat, lon in points}), "cameras": 3}
        for r in (8, 9)
    }
    assert data["withheld"] == {"8": 0, "9": 0}
    assert data["sites"] == {"school": 1}
    assert data["addresses"] == 0
    by_name = {(s["name"], s["entity"]): s for s in data["sources"]}
    assert by_name[("city", "cameras")]["reports"] == 2
    assert by_name[("city", "cameras")]["rejected"] == 1
    assert by_name[("osm", "cameras")]["kind"] == "crowdsourced"
    human = run_cli("stats").output
    assert versions[1] in human and "hexagons" in human

    # Nothing changed since: the newest build stands (a rebuild would only repeat it)...
    again = run_cli("build", "--resolutions", "8,9").output
    assert f"build is up to date: {versions[1]}" in again
    # ...until a source changes (here its data date, which exports carry), or --force.
    with psycopg.connect(empty_db, autocommit=True) as db:
        db.execute("UPDATE source SET data_date = '2026-01-31' WHERE id = %s", (b,))
    assert "build is up to date" not in run_cli("build", "--resolutions", "8,9").output
    assert "build is up to date" in run_cli("build", "--resolutions", "8,9").output
    assert "build is up to date" not in run_cli("build", "--resolutions", "8,9", "--force").output
    with psycopg.connect(empty_db) as db:
        assert db.execute("SELECT count(*) FROM build").fetchone()[0] == 4


def test_build_refuses_bad_resolutions(empty_db: str) -> None:
    from camdensity.cli import app

    result = CliRunner().invoke(app, ["build", "--resolutions", "6,16"])
    assert result.exit_code == 1
    assert "0..15" in result.output
    result = CliRunner().invoke(app, ["build", "--resolutions", "six"])
    assert result.exit_code == 1 and "integers" in result.output


# --- the bundled Helsinki extract -------------------------------------------------------------


def test_helsinki_hexagons_sum_to_fused_cameras(helsinki: str) -> None:
    with psycopg.connect(helsinki) as conn:
        devices, points = conn.execute("SELECT sum(count), count(*) FROM camera").fetchone()
        reports = conn.execute("SELECT count(*) FROM camera_report").fetchone()[0]
        assert points == reports > 200  # one source: nothing to fuse
        rows = conn.execute(
            "SELECT r, (SELECT coalesce(sum(cameras), 0) FROM hexagon WHERE resolution = r),"
            " (SELECT cameras FROM hexagon_withheld WHERE resolution = r)"
            " FROM generate_series(6, 12) AS r").fetchall()
        assert [(r, shown + held) for r, shown, held in rows] == [(r, devices) for r in range(6, 13)]
    data = json.loads(run_cli("stats", "--json").output)
    assert data["cameras"] == devices
    for r, shown, held in rows:
        assert data["hexagons"][str(r)]["cameras"] == shown and data["withheld"][str(r)] == held


def test_helsinki_exposure_equals_brute_force(helsinki: str) -> None:
    with psycopg.connect(helsinki) as conn:
        busiest, polygon = conn.execute(
            "SELECT (SELECT site_id FROM site_exposure ORDER BY cameras_200m DESC, site_id LIMIT 1),"
            " (SELECT s.id FROM site s JOIN site_exposure e ON e.site_id = s.id"
            "  WHERE GeometryType(s.geom) IN ('POLYGON', 'MULTIPOLYGON')"
            "  ORDER BY e.cameras_100m DESC, s.id LIMIT 1)").fetchone()
        assert busiest is not None and polygon is not None
        assert assert_exposure_is_brute_force(conn, busiest)[200] > 0
        assert_exposure_is_brute_force(conn, polygon)
