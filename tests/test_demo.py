"""`camdensity demo`: the bundled data loads once, builds once, and a second run reuses it all."""

from __future__ import annotations

import json

import psycopg
from conftest import run_cli


def test_demo_loads_bundled_data_once(empty_db: str) -> None:
    first = run_cli("demo", "--no-serve").output
    assert "cameras from 'osm-helsinki': 221 accepted" in first
    assert "cameras from 'osm-us-west-2026-01': 18078 accepted" in first
    assert "sites from 'ice-facilities-uwchr': 294 accepted, 10 rejected" in first
    stats = json.loads(run_cli("stats", "--json").output)
    version = stats["data_version"]
    assert version is not None
    assert {(s["entity"], s["name"]) for s in stats["sources"]} == {
        ("cameras", "osm-helsinki"), ("sites", "osm-helsinki"), ("addresses", "osm-helsinki"),
        ("cameras", "osm-us-west-2026-01"), ("sites", "ice-facilities-uwchr")}
    assert stats["cameras"] == 221 + 18_078  # the two regions are thousands of km apart
    assert stats["sites"]["immigration"] == 294 and stats["addresses"] == 1_470
    for resolution, cells in stats["hexagons"].items():
        assert cells["cameras"] + stats["withheld"][resolution] == stats["cameras"]

    second = run_cli("demo", "--no-serve").output
    assert second.count("file unchanged since its last import") == 5
    assert "build is up to date" in second
    assert json.loads(run_cli("stats", "--json").output)["data_version"] == version
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM build").fetchone()[0] == 1
