"""An incremental build leaves every public table exactly as a full build of the same inputs.

Random changes to camera sources (a source added, removed, re-imported with rows moved, dropped
and added; private cameras crossing the privacy minimum; cameras near sites and surveyed
cells), each followed by a build that must take the incremental path; then a full build of the
same inputs, and the two compared table by table, whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import psycopg
import pytest
from test_build import add_site, box_wkt, point_wkt, scatter
from test_fusion import LAT, LON, add_source, east, north

from camdensity.ingest import incremental
from camdensity.ingest.build import build

# Every public table (and the evidence and fusion tables behind them) as text in a fixed order.
# camera_published's serial id is left out: a full build numbers its rows afresh.
TABLES = {
    "hexagon": "SELECT x::text FROM hexagon x ORDER BY resolution, h3",
    "hexagon_breakdown": "SELECT x::text FROM hexagon_breakdown x"
                         " ORDER BY resolution, h3, camera_type, operator_type",
    "hexagon_withheld": "SELECT x::text FROM hexagon_withheld x ORDER BY resolution",
    "baseline": "SELECT x::text FROM baseline x ORDER BY radius_m, h3",
    "site_exposure": "SELECT x::text FROM site_exposure x ORDER BY site_id",
    "camera_published": "SELECT t FROM (SELECT ROW(camera_id, camera_type, operator_type, count,"
                        " points, h3, geom, geom_3857)::text AS t FROM camera_published) x"
                        " ORDER BY t",
    "camera": "SELECT x::text FROM camera x ORDER BY id",
    "camera_links": "SELECT id, camera_id FROM camera_report ORDER BY id",
    "camera_uncertain": "SELECT x::text FROM camera_uncertain x ORDER BY camera_id",
    "camera_view": "SELECT x::text FROM camera_view x ORDER BY camera_id",
    "camera_fov": "SELECT x::text FROM camera_fov x ORDER BY 1",
    "site_facing": "SELECT x::text FROM site_facing x ORDER BY site_id, radius_m",
    "hexagon_shape": "SELECT x::text FROM hexagon_shape x ORDER BY resolution, h3",
}
# A build's history rows, without the build id.
HEXAGON_HISTORY = ("SELECT resolution, h3, cameras FROM hexagon_history WHERE build_id = %s"
                   " ORDER BY resolution, h3")
SITE_HISTORY = ("SELECT site_key, site_id, category, name, cameras_50m, cameras_100m,"
                " cameras_200m, cameras_500m, effective_cameras, facing_200m FROM site_history"
                " WHERE build_id = %s ORDER BY site_key")
DIRECTIONS = ["90", "NE", "180-270", "S", None, None]


def dump(conn: psycopg.Connection) -> dict[str, list]:
    return {name: conn.execute(q).fetchall() for name, q in TABLES.items()}


def history(conn: psycopg.Connection, build_id: int) -> tuple[list, list]:
    return (conn.execute(HEXAGON_HISTORY, (build_id,)).fetchall(),
            conn.execute(SITE_HISTORY, (build_id,)).fetchall())


def reports(conn: psycopg.Connection, source_id: int, rng: np.random.Generator, n: int,
            spread_m: float, centre: tuple[float, float] = (0.0, 0.0),
            private_share: float = 0.2) -> None:
    """`n` reports around `centre` (metres east, north of the test's centre), with directions."""
    dx = rng.uniform(-spread_m, spread_m, n) + centre[0]
    dy = rng.uniform(-spread_m, spread_m, n) + centre[1]
    for i in range(n):
        conn.execute(
            "INSERT INTO camera_report (source_id, camera_type, operator_type, count, direction,"
            " geom) VALUES (%s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (source_id, str(rng.choice(["cctv", "dome", "alpr", "unknown", "doorbell"])),
             "private" if rng.random() < private_share else str(
                 rng.choice(["public", "business", "unknown"])),
             int(rng.choice([1, 1, 2, 3])), DIRECTIONS[rng.integers(len(DIRECTIONS))],
             east(dx[i]), north(dy[i])))


def copy_near(conn: psycopg.Connection, source_id: int, from_source: int, rng: np.random.Generator,
              n: int, jitter_m: float) -> None:
    """`n` reports of another source, moved by up to `jitter_m`: most fuse with its cameras."""
    conn.execute(
        "INSERT INTO camera_report (source_id, camera_type, operator_type, count, direction, geom)"
        " SELECT %s, camera_type, operator_type, count, direction,"
        " ST_Translate(geom, %s * (random() - 0.5), %s * (random() - 0.5))"
        " FROM (SELECT * FROM camera_report WHERE source_id = %s ORDER BY id LIMIT %s) r",
        (source_id, jitter_m / 55_000, jitter_m / 111_000, from_source, n))


def private_huddle(conn: psycopg.Connection, source_id: int, n: int, at: tuple[float, float]) -> None:
    """`n` private cameras within a few metres: around the privacy minimum of a cell."""
    for i in range(n):
        conn.execute(
            "INSERT INTO camera_report (source_id, camera_type, operator_type, count, geom)"
            " VALUES (%s, 'doorbell', 'private', 1, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (source_id, east(at[0] + 2 * i), north(at[1] + i)))


@pytest.fixture
def db(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[psycopg.Connection]:
    monkeypatch.setenv("DATABASE_URL", empty_db)
    monkeypatch.setenv("CAMDENSITY_HISTORY_KEEP_BUILDS", "100")
    monkeypatch.setattr(incremental, "MAX_SHARE", 1.0)  # every change here goes incremental
    from camdensity import testing

    testing.clear_settings()
    with psycopg.connect(empty_db, autocommit=True) as c:
        scatter(c, 160, 900, seed=5)
        rng = np.random.default_rng(7)
        third = add_source(c, "third")
        reports(c, third, rng, 80, 1200)
        private_huddle(c, third, 2, (300, 300))   # below the minimum of 3
        private_huddle(c, third, 3, (-300, 200))  # exactly at it
        add_site(c, "school", point_wkt(east(150), north(100)))
        add_site(c, "clinic", box_wkt(east(-420), north(-380), east(-300), north(-250)))
        add_site(c, "worship", point_wkt(east(1500), north(-1500)), name="far")
        survey = add_source(c, "survey")
        for dx, dy in ((0, 0), (5000, 0), (-250, 400)):
            c.execute("INSERT INTO survey_point (source_id, geom)"
                      " VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                      (survey, east(dx), north(dy)))
        addresses = c.execute(
            "INSERT INTO source (name, entity, kind, file_name, file_sha256, format)"
            " VALUES ('addr', 'addresses', 'reported', 'a.csv', md5('a'), 'csv') RETURNING id"
        ).fetchone()[0]
        c.execute("INSERT INTO address (source_id, street, housenumber, city, label, search, geom)"
                  " VALUES (%s, 'Kaivokatu', '1', 'Helsinki', 'Kaivokatu 1', 'kaivokatu 1', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                  (addresses, east(520), north(-20)))
        yield c
    testing.clear_settings()


def source_id(conn: psycopg.Connection, name: str) -> int:
    return conn.execute("SELECT id FROM source WHERE name = %s", (name,)).fetchone()[0]


def add_a_source(conn: psycopg.Connection, rng: np.random.Generator) -> None:
    new = add_source(conn, f"new-{rng.integers(1 << 30)}")
    copy_near(conn, new, source_id(conn, "third"), rng, 25, 12)  # fuse with its cameras
    reports(conn, new, rng, 15, 400, centre=(150, 100))          # near the school
    private_huddle(conn, new, 1, (300 + 6, 300 + 3))             # crosses the minimum
    reports(conn, new, rng, 5, 30, centre=(-250, 400))           # in a surveyed cell


def remove_the_last_source(conn: psycopg.Connection, rng: np.random.Generator) -> None:
    conn.execute("DELETE FROM source WHERE id = (SELECT max(id) FROM source"
                 " WHERE entity = 'cameras' AND name <> 'survey')")


def remove_a_middle_source(conn: psycopg.Connection, rng: np.random.Generator) -> None:
    conn.execute("DELETE FROM source WHERE name = 'scatter-b'")


def reimport_with_rows_moved(conn: psycopg.Connection, rng: np.random.Generator) -> None:
    third = source_id(conn, "third")
    conn.execute("UPDATE camera_report SET geom = ST_Translate(geom, 0.002, -0.001)"
                 " WHERE id IN (SELECT id FROM camera_report WHERE source_id = %s"
                 " ORDER BY id LIMIT 10)", (third,))
    conn.execute("DELETE FROM camera_report WHERE id IN (SELECT id FROM camera_report"
                 " WHERE source_id = %s AND operator_type = 'private' ORDER BY id DESC LIMIT 2)",
                 (third,))  # one of the huddle at the minimum: its cell is withheld now
    reports(conn, third, rng, 6, 600)
    conn.execute("UPDATE source SET imported_at = clock_timestamp() WHERE id = %s", (third,))


def change_types_and_directions(conn: psycopg.Connection, rng: np.random.Generator) -> None:
    third = source_id(conn, "third")
    conn.execute("UPDATE camera_report SET camera_type = 'ptz', direction = '45',"
                 " count = count + 1 WHERE id IN (SELECT id FROM camera_report"
                 " WHERE source_id = %s ORDER BY id LIMIT 7)", (third,))
    conn.execute("UPDATE source SET precision_m = 30 WHERE id = %s", (third,))


CHANGES: list[Callable[[psycopg.Connection, np.random.Generator], None]] = [
    add_a_source, remove_the_last_source, remove_a_middle_source, reimport_with_rows_moved,
    change_types_and_directions,
]


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_builds_equal_full_builds(db: psycopg.Connection, seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert not build(db).incremental  # nothing to compare with: a full build
    order = [CHANGES[i] for i in rng.permutation(len(CHANGES))]
    for change in [add_a_source, *order, add_a_source]:
        change(db, rng)
        quick = build(db)
        assert quick.incremental, change.__name__
        got, got_history = dump(db), history(db, quick.build_id)
        full = build(db, full=True)
        assert not full.incremental
        want, want_history = dump(db), history(db, full.build_id)
        for table in TABLES:
            assert got[table] == want[table], f"{change.__name__}: {table} differs"
        assert got_history == want_history, change.__name__
        assert (quick.cells, quick.withheld, quick.baseline_cells, quick.sites,
                quick.fusion.cameras, quick.fusion.devices) == (
                full.cells, full.withheld, full.baseline_cells, full.sites,
                full.fusion.cameras, full.fusion.devices), change.__name__
    assert build(db).map_kept  # nothing changed since: kept


def test_large_or_unsafe_changes_build_in_full(db: psycopg.Connection,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    build(db)
    monkeypatch.setattr(incremental, "MAX_SHARE", 0.05)
    remove_a_middle_source(db, np.random.default_rng(0))  # half the reports fuse again
    assert not build(db).incremental
    add_site(db, "school", point_wkt(east(-700), north(700)), name="new")  # sites changed
    add_a_source(db, np.random.default_rng(1))
    assert not build(db).incremental
    survey = source_id(db, "survey")  # a changed source that records surveyed locations
    db.execute("INSERT INTO camera_report (source_id, geom)"
               " VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))", (survey, LON, LAT))
    assert not build(db).incremental
