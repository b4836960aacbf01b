"""The tiles' `fov` layer and `compare=SNAPSHOT` change tiles, decoded, over two real builds."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import h3
import mapbox_vector_tile
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from test_evidence_history import CAMERAS, CLINIC, SCHOOL, snapshot_of, write_cameras, write_sites

from camdensity import testing
from camdensity.service.main import create_app


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def two_builds(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A store built twice: camera a2 removed and b2 added in between."""
    tmp = tmp_path_factory.mktemp("evidence-tiles")
    with testing.scratch_database(admin_url) as url:
        write_sites(tmp / "sites.csv", [("c1", "Klinikka A", "clinic", CLINIC),
                                        ("s1", "Koulu B", "school", SCHOOL)])
        run_cli("ingest", "sites", str(tmp / "sites.csv"), "--source", "registry",
                "--category-column", "category")
        snaps = []
        for ids in (["a1", "a2", "a3", "a4", "a5", "b1"], ["a1", "a3", "a4", "a5", "b1", "b2"]):
            write_cameras(tmp / "cams.csv", ids)
            run_cli("ingest", "cameras", str(tmp / "cams.csv"), "--source", "volunteers")
            snaps.append(snapshot_of(run_cli("build").output))
        with TestClient(create_app(url)) as client:
            yield client, snaps


def decode(client: TestClient, z: int, lon: float, lat: float, **params: str) -> dict:
    x, y = tile_of(lon, lat, z)
    r = client.get(f"/tiles/{z}/{x}/{y}.mvt", params=params)
    assert r.status_code in (200, 204), r.text
    return mapbox_vector_tile.decode(r.content) if r.status_code == 200 else {}


def test_fov_layer_draws_cones_of_public_cameras_only(two_builds: tuple, tmp_path: Path) -> None:
    client, _ = two_builds
    tile = decode(client, 16, *CLINIC)
    cones = tile["fov"]["features"]
    # Around the clinic now: a1 (180), a4 (45-135) have a direction; a3 has none; a5 is private.
    assert sorted(f["properties"]["operator"] for f in cones) == ["public", "public"]
    assert all(f["geometry"]["type"] == "Polygon" for f in cones)
    assert "fov" not in decode(client, 14, *CLINIC)  # below CAMDENSITY_FOV_MIN_ZOOM
    assert "fov" not in decode(client, 16, *CLINIC, operators="business")
    tilejson = client.get("/tiles.json").json()
    assert "fov" in [layer["id"] for layer in tilejson["vector_layers"]]


def test_compare_gives_each_hexagon_its_change(two_builds: tuple) -> None:
    client, (first, _) = two_builds
    z = 16  # resolution 12 at this zoom
    tile = decode(client, z, *CAMERAS["a2"][0], compare=first)
    cells = {f["properties"]["h3"]: f["properties"] for f in tile["hexagons"]["features"]}
    a2 = format(h3.str_to_int(h3.latlng_to_cell(CAMERAS["a2"][0][1], CAMERAS["a2"][0][0], 12)), "x")
    # The removed camera's cell is drawn although it holds none now.
    assert cells[a2]["cameras"] == 0 and cells[a2]["cameras_before"] == 1
    assert cells[a2]["change"] == -1
    assert all(p["change"] == p["cameras"] - p["cameras_before"] for p in cells.values())
    b2 = decode(client, z, *CAMERAS["b2"][0], compare=first)["hexagons"]["features"]
    b2_cell = format(h3.str_to_int(h3.latlng_to_cell(CAMERAS["b2"][0][1], CAMERAS["b2"][0][0], 12)), "x")
    assert {f["properties"]["h3"]: f["properties"]["change"] for f in b2}[b2_cell] == 1


def test_compare_errors_and_map(two_builds: tuple) -> None:
    client, (first, _) = two_builds
    r = client.get("/tiles/16/0/0.mvt", params={"compare": "9-nothere"})
    assert r.status_code == 404 and "no finished build has snapshot id '9-nothere'" in r.text
    r = client.get("/tiles/16/0/0.mvt", params={"compare": first, "types": "cctv"})
    assert r.status_code == 422 and "cannot be combined with types or operators" in r.text
    r = client.get("/tiles/16/0/0.mvt", params={"compare": "a b;c"})
    assert r.status_code == 422
    page = client.get("/map", params={"compare": first}).text
    assert f"Change in cameras since {first}" in page and "properties.change" in page
