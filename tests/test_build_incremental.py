"""Incremental builds: an addresses-only change keeps the map; what it keeps equals a full build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h3
import psycopg
import pytest
from conftest import run_cli
from test_build import add_site, point_wkt, scatter
from test_fusion import LAT, LON, east, north

from camdensity.ingest.build import build

# Everything the map shows, as text, in a fixed order: equal dumps are byte-identical tables.
HEXAGONS = "SELECT h::text FROM hexagon h ORDER BY resolution, h3"
BREAKDOWN = ("SELECT b::text FROM hexagon_breakdown b"
             " ORDER BY resolution, h3, camera_type, operator_type")
EXPOSURE = "SELECT e::text FROM site_exposure e ORDER BY site_id"
BASELINE = "SELECT h3, radius_m, cameras, ST_AsText(geom) FROM baseline ORDER BY h3, radius_m"


def dump(conn: psycopg.Connection) -> dict[str, list]:
    return {name: conn.execute(q).fetchall()
            for name, q in (("hexagons", HEXAGONS), ("breakdown", BREAKDOWN),
                            ("exposure", EXPOSURE), ("baseline", BASELINE))}


@pytest.fixture
def db(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[psycopg.Connection]:
    monkeypatch.setenv("DATABASE_URL", empty_db)
    from camdensity import testing

    testing.clear_settings()
    with psycopg.connect(empty_db, autocommit=True) as c:
        scatter(c, 120, 800, seed=11)
        add_site(c, "school", point_wkt(east(150), north(100)))
        add_site(c, "clinic", point_wkt(LON, north(-300)))
        yield c
    testing.clear_settings()


def addresses_csv(tmp_path: Path, far_m: float) -> Path:
    """Two addresses: one among the cameras, one `far_m` east (a baseline cell of its own)."""
    path = tmp_path / "addresses.csv"
    path.write_text("street,housenumber,city,lat,lon\n"
                    f"Mannerheimintie,1,Helsinki,{LAT},{LON}\n"
                    f"Itäväylä,99,Helsinki,{LAT},{east(far_m)}\n")
    return path


def test_addresses_only_import_keeps_the_map(db: psycopg.Connection, tmp_path: Path) -> None:
    first = build(db)
    assert not first.map_kept
    before = dump(db)
    rows_before = db.execute("SELECT xmin::text, ctid::text FROM hexagon ORDER BY h3").fetchall()

    far = 20_000.0
    run_cli("ingest", "addresses", str(addresses_csv(tmp_path, far)), "--source", "addr")
    second = build(db)

    assert second.map_kept
    assert second.snapshot != first.snapshot  # a new data version all the same
    after = dump(db)
    assert after["hexagons"] == before["hexagons"]
    assert after["breakdown"] == before["breakdown"]
    assert after["exposure"] == before["exposure"]
    # Not rewritten at all: the same row versions in the same places.
    assert db.execute("SELECT xmin::text, ctid::text FROM hexagon ORDER BY h3").fetchall() \
        == rows_before
    # The baseline did change: the far address's cell and its neighbours joined it.
    far_cell = h3.latlng_to_cell(LAT, east(far), 9)
    cells = {r[0] for r in after["baseline"]}
    assert {h3.str_to_int(c) for c in h3.grid_disk(far_cell, 1)} <= cells
    assert cells > {r[0] for r in before["baseline"]}

    # What the kept build shows is exactly what a full build of the same data computes.
    db.execute("UPDATE build SET map_inputs = NULL")
    full = build(db)
    assert not full.map_kept
    assert dump(db) == after


def test_a_changed_site_or_camera_rebuilds_the_map(db: psycopg.Connection) -> None:
    """Changes made without a new import (no source row changes) are still seen."""
    build(db)
    add_site(db, "school", point_wkt(east(-400), LAT), name="another")
    assert not build(db).map_kept
    db.execute("UPDATE camera_report SET count = count + 1"
               " WHERE id = (SELECT min(id) FROM camera_report)")
    rebuilt = build(db)
    assert not rebuilt.map_kept
    assert build(db).map_kept  # and nothing changed since: kept
