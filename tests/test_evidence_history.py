"""Facing cameras and history across three builds (cameras removed and added, sites renumbered),
`camdensity diff`, and retention pruning, through the commands and the API as users run them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import h3
import psycopg
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from camdensity import testing
from camdensity.cli import app
from camdensity.service.main import create_app

LON, LAT = 24.95, 60.17
M_LAT = 111_320.0
M_LON = M_LAT * math.cos(math.radians(LAT))


def at(east_m: float, north_m: float, lon: float = LON, lat: float = LAT) -> tuple[float, float]:
    return lon + east_m / M_LON, lat + north_m / M_LAT


CLINIC = at(0, 0)
SCHOOL = at(1000, 0)
# id -> (position, operator, direction). Bearings from each camera to the clinic, by hand:
# a1 is north of it looking south (180): facing; a2 east looking north: not facing (the clinic
# is at 270); a3 south, no direction: unknown; a4 west with the range 45-135 (the clinic is at
# 90): facing; a5 is private and looks at it: never counted in facing figures.
CAMERAS = {
    "a1": (at(0, 60), "public", "180"),
    "a2": (at(80, 0), "business", "0"),
    "a3": (at(0, -120), "public", ""),
    "a4": (at(-30, 0), "public", "45-135"),
    "a5": (at(0, 40), "private", "S"),
    "b1": (at(0, 50, *SCHOOL), "public", "N"),       # north of the school looking north
    "b2": (at(0, -40, *SCHOOL), "business", "0"),    # south of the school looking at it
}


def write_cameras(path: Path, ids: list[str]) -> Path:
    lines = ["id,lat,lon,type,operator,direction"]
    for i in ids:
        (lon, lat), op, direction = CAMERAS[i]
        lines.append(f"{i},{lat:.7f},{lon:.7f},cctv,{op},{direction}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_sites(path: Path, rows: list[tuple[str, str, str, tuple[float, float]]]) -> Path:
    lines = ["id,name,category,lat,lon"]
    lines += [f"{i},{name},{cat},{p[1]:.7f},{p[0]:.7f}" for i, name, cat, p in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def snapshot_of(output: str) -> str:
    return output.split()[1].rstrip(":")


def test_three_builds(empty_db: str, tmp_path: Path) -> None:
    cams = tmp_path / "cams.csv"
    sites = tmp_path / "sites.csv"
    write_sites(sites, [("c1", "Klinikka A", "clinic", CLINIC), ("s1", "Koulu B", "school", SCHOOL)])
    run_cli("ingest", "sites", str(sites), "--source", "registry", "--category-column", "category")
    snaps, shown = [], []
    versions = [["a1", "a2", "a3", "a4", "a5", "b1"],          # build 1
                ["a1", "a3", "a4", "a5", "b1", "b2"],          # build 2: a2 gone, b2 new
                ["a3", "a4", "a5", "b1", "b2"]]                # build 3: a1 gone as well
    for n, ids in enumerate(versions):
        write_cameras(cams, ids)
        run_cli("ingest", "cameras", str(cams), "--source", "volunteers")
        if n == 2:  # the sites file again, with a new site first: every site is renumbered
            write_sites(sites, [("k9", "Uusi klinikka", "clinic", at(-900, 0)),
                                ("c1", "Klinikka A", "clinic", CLINIC),
                                ("s1", "Koulu B", "school", SCHOOL)])
            run_cli("ingest", "sites", str(sites), "--source", "registry",
                    "--category-column", "category")
        snaps.append(snapshot_of(run_cli("build").output))
        with TestClient(create_app(empty_db)) as client:
            listed = client.get("/sites", params={"order": "name"}).json()["sites"]
        shown.append({s["name"]: s for s in listed})

    clinic = shown[2]["Klinikka A"]
    # Facing beside "within radius", per radius; private cameras are in neither.
    assert [shown[b]["Klinikka A"]["exposure"]["facing"]["200"] for b in range(3)] == [
        {"facing": 2, "not_facing": 1, "direction_unknown": 1},
        {"facing": 2, "not_facing": 0, "direction_unknown": 1},
        {"facing": 1, "not_facing": 0, "direction_unknown": 1},
    ]
    assert clinic["exposure"]["facing"]["50"] == {"facing": 1, "not_facing": 0,
                                                   "direction_unknown": 0}  # a4 only
    assert shown[1]["Koulu B"]["exposure"]["facing"]["100"] == {
        "facing": 1, "not_facing": 1, "direction_unknown": 0}

    with TestClient(create_app(empty_db)) as client:
        history = client.get(f"/sites/{clinic['id']}/history").json()
        newcomer = client.get(f"/sites/{shown[2]['Uusi klinikka']['id']}/history").json()
        assert client.get("/sites/999999/history").status_code == 404
    assert [h["snapshot"] for h in history["history"]] == snaps
    for b, entry in enumerate(history["history"]):
        then = shown[b]["Klinikka A"]["exposure"]
        assert entry["present"] and entry["exposure"]["cameras_200m"] == then["cameras_200m"]
        assert entry["exposure"]["cameras_50m"] == then["cameras_50m"]
        assert entry["exposure"]["facing_200m"] == then["facing"]["200"]["facing"]
        assert entry["data_dates"] == []  # CSVs without --data-date
    assert [h["present"] for h in newcomer["history"]] == [False, False, True]

    # camdensity diff: the cells of the removed and added cameras, the sites, the reports.
    d12 = json.loads(run_cli("diff", snaps[0], snaps[1], "--resolution", "12", "--json").output)
    cell = {c["h3"]: c["change"] for c in d12["cells"]}
    a2 = h3.latlng_to_cell(CAMERAS["a2"][0][1], CAMERAS["a2"][0][0], 12)
    b2 = h3.latlng_to_cell(CAMERAS["b2"][0][1], CAMERAS["b2"][0][0], 12)
    assert cell == {a2: -1, b2: 1}
    d13 = json.loads(run_cli("diff", snaps[0], snaps[2], "--json").output)
    assert d13["reports"] == [{"name": "volunteers", "added": 1, "removed": 2,
                               "removed_by_type": {"cctv": 2}}]
    by_name = {s["name"]: s for s in d13["sites"]}
    before = shown[0]["Klinikka A"]["exposure"]["cameras_200m"]
    after = shown[2]["Klinikka A"]["exposure"]["cameras_200m"]
    assert (by_name["Klinikka A"]["before"], by_name["Klinikka A"]["after"]) == (before, after)
    assert by_name["Uusi klinikka"]["status"] == "added"
    text = run_cli("diff", snaps[0], snaps[2]).output
    assert "volunteers: +1 -2" in text and f"Klinikka A: {before} -> {after}" in text

    # Retention: keep two builds; a fourth build prunes the first two, whose rows stay.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAMDENSITY_HISTORY_KEEP_BUILDS", "2")
        testing.clear_settings()
        snaps.append(snapshot_of(run_cli("build", "--force").output))
        with TestClient(create_app(empty_db)) as client:
            kept = client.get(f"/sites/{clinic['id']}/history").json()["history"]
        assert [h["snapshot"] for h in kept] == snaps[2:]
        result = CliRunner().invoke(app, ["diff", snaps[0], snaps[3]])
        assert result.exit_code == 1
        assert "was pruned" in result.output and "CAMDENSITY_HISTORY_KEEP_BUILDS" in result.output
    testing.clear_settings()
    with psycopg.connect(empty_db) as conn:
        pruned = conn.execute("SELECT snapshot FROM build WHERE pruned_at IS NOT NULL "
                              "ORDER BY id").fetchall()
        left = conn.execute("SELECT count(*) FROM site_history h JOIN build b ON b.id = h.build_id "
                            "WHERE b.pruned_at IS NOT NULL").fetchone()[0]
    assert [p[0] for p in pruned] == snaps[:2] and left == 0
