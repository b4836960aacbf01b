"""`camdensity publish`: the PMTiles archive equals the live tiles; the bundle opens from a plain
static server in real Chromium with no other origin contacted; republishing is incremental."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import HELSINKI_PBF, run_cli
from fastapi.testclient import TestClient
from pmtiles.reader import MmapSource, Reader, all_tiles

from camdensity import testing
from camdensity.service.main import create_app
from camdensity.tiles.archive import tile_range
from camdensity.tiles.tilejson import DENSITY_RAMP
from routes.test_map import CHROMIUM, browser_page, count_near
from routes.tiles_seed import CENTER, seed

MAXZOOM = 13  # the synthetic city is ~10 km across: z13 already shows res-10 cells
SMALL_BOX = (CENTER[0] - 0.012, CENTER[1] - 0.006, CENTER[0] + 0.012, CENTER[1] + 0.006)


@pytest.fixture(scope="module")
def db(admin_url: str) -> Iterator[str]:
    """The synthetic built store, in a database of this module's own (the incremental test changes it)."""
    url = testing.create_database(admin_url)
    try:
        with psycopg.connect(url) as conn:
            seed(conn)
        with testing.pointed_at(url):
            yield url
    finally:
        testing.drop_database(admin_url, url)


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


def read_archive(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[tuple[int, int, int], bytes]]:
    """(header, metadata, {(z, x, y): decompressed tile}) of a PMTiles archive, via the pmtiles reader."""
    with path.open("rb") as fh:
        get_bytes = MmapSource(fh)
        reader = Reader(get_bytes)
        tiles = {zxy: gzip.decompress(data) for zxy, data in all_tiles(get_bytes)}
        return reader.header(), reader.metadata(), tiles


def data_box(url: str) -> tuple[float, float, float, float]:
    """Brute force: the lon/lat box of every hexagon and site in the store."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM ("
            " SELECT ST_Extent(g) AS b FROM (SELECT geom AS g FROM hexagon UNION ALL"
            " SELECT geom FROM site) u) e"
        ).fetchone()


def assert_equals_live(
    client: TestClient, tiles: dict[tuple[int, int, int], bytes], box: tuple[float, float, float, float],
    zooms: range, params: dict[str, str] | None = None, margin: int = 1,
) -> int:
    """Every tile of `zooms` over `box` (grown by `margin` tiles): the archive's bytes are the live
    endpoint's, and a tile missing from the archive is an empty (204) tile live. Returns the count."""
    checked = 0
    for z in zooms:
        x0, x1, y0, y1 = tile_range(z, box)
        last = (1 << z) - 1
        for x in range(max(0, x0 - margin), min(last, x1 + margin) + 1):
            for y in range(max(0, y0 - margin), min(last, y1 + margin) + 1):
                r = client.get(f"/tiles/{z}/{x}/{y}.mvt", params=params or {})
                if (z, x, y) in tiles:
                    assert r.status_code == 200, (z, x, y, r.status_code)
                    assert tiles[(z, x, y)] == r.content, f"tile {z}/{x}/{y} differs from the live one"
                else:
                    assert r.status_code == 204, f"tile {z}/{x}/{y} is missing from the archive"
                checked += 1
    return checked


@pytest.fixture(scope="module")
def basemap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline basemap of the bundled Helsinki extract (the synthetic city lies in it)."""
    if shutil.which("tilemaker") is None:
        pytest.skip("tilemaker is not installed (scripts/install-system.sh installs it)")
    path = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    result = run_cli("basemap", str(HELSINKI_PBF), "--output", str(path))
    assert f"in {path}" in result.output
    return path


@pytest.fixture(scope="module")
def bundle(db: str, basemap: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("publish") / "site"
    result = run_cli("publish", str(out), "--maxzoom", str(MAXZOOM), "--workers", "3",
                     "--basemap", str(basemap))
    assert "published snapshot tiles-synth-1" in result.output
    return out


def decode_layers(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """Layer name -> feature properties of a (gzipped) MVT."""
    import mapbox_vector_tile

    return {name: [f["properties"] for f in layer["features"]]
            for name, layer in mapbox_vector_tile.decode(gzip.decompress(data)).items()}


def test_basemap_holds_quiet_layers_of_the_extract(basemap: Path) -> None:
    with basemap.open("rb") as fh:
        reader = Reader(MmapSource(fh))
        assert reader.header()["max_zoom"] == 14
        layers = decode_layers(reader.get(14, *tile_range(14, (*CENTER, *CENTER))[::2]))
    assert {"road", "park"} <= set(layers), set(layers)
    roads = layers["road"]
    assert {r["class"] for r in roads} <= {"major", "medium", "minor", "service", "path"}
    assert any(r.get("name") == "Mannerheimintie" for r in roads), "street names for labels"
    # Nothing but the quiet layers: no buildings, POIs or addresses.
    assert set(layers) <= {"water", "park", "road", "rail", "place"}


def test_archive_equals_the_live_tiles(bundle: Path, client: TestClient, db: str) -> None:
    header, _, tiles = read_archive(bundle / "tiles.pmtiles")
    assert header["min_zoom"] == 0 and header["max_zoom"] == MAXZOOM
    assert header["tile_compression"].name == "GZIP" and header["tile_type"].name == "MVT"
    assert {z for z, _, _ in tiles} == set(range(MAXZOOM + 1))
    checked = assert_equals_live(client, tiles, data_box(db), range(MAXZOOM + 1))
    assert checked > len(tiles), "empty tiles around the data were checked too"
    # Deduplicated by content: fewer stored contents than addressed tiles is allowed, never more.
    assert header["tile_contents_count"] <= header["addressed_tiles_count"] == len(tiles)


def test_metadata_and_documents_are_tilejson(bundle: Path, client: TestClient) -> None:
    _, meta, _ = read_archive(bundle / "tiles.pmtiles")
    live = client.get("/tiles.json").json()
    tilejson = json.loads((bundle / "tiles.json").read_text())
    for doc in (meta, tilejson):
        assert doc["tilejson"] == "3.0.0"
        assert doc["maxzoom"] == MAXZOOM and doc["minzoom"] == 0
        assert len(doc["bounds"]) == 4 and len(doc["center"]) == 3
        for key in ("attribution", "vector_layers", "version", "name"):
            assert doc[key] == live[key], key
    assert tilejson["tiles"] == ["pmtiles://tiles.pmtiles/{z}/{x}/{y}"]
    provenance = meta["camdensity"]
    assert provenance["snapshot"] == "tiles-synth-1"
    assert provenance["data_dates"] == ["2026-10-01"]
    assert [s["name"] for s in provenance["sources"]] == ["synthetic-osm", "synthetic-registry"]
    assert provenance["params"] == {"near_site_radius_m": 200}
    assert provenance["zoom_resolutions"]
    style = json.loads((bundle / "style.json").read_text())
    assert style["sources"]["camdensity"]["url"] == "pmtiles://tiles.pmtiles"
    assert style["sources"]["basemap"]["url"] == "pmtiles://basemap.pmtiles"
    ids = [layer["id"] for layer in style["layers"]]
    assert [i for i in ids if not i.startswith("basemap-")] == [
        layer["id"] for layer in client.get("/style.json").json()["layers"]  # (no basemap there)
    ]
    # The basemap lies under the hexagons, its names above them, the sites on top.
    assert ids.index("basemap-water") < ids.index("hexagons-fill") < ids.index("basemap-places")
    assert ids[-1] == "sites"
    fonts = [face["url"] for face in style["font-faces"]["Noto Sans Regular"]]
    assert fonts and all((bundle / url).is_file() for url in fonts)
    assert "basemap © OpenStreetMap contributors" in style["metadata"]["attribution"]
    readme = (bundle / "README.txt").read_text()
    assert "tiles-synth-1" in readme and "ODbL-1.0" in readme and "Range" in readme
    assert "Privacy, as on the live service: private/residential cameras are counted only" in readme
    for name in ("index.html", "maplibre-gl.mjs", "maplibre-gl-worker.mjs", "pmtiles.js",
                 "LICENSE.maplibre-gl.txt", "LICENSE.pmtiles.txt", "basemap.pmtiles",
                 "LICENSE.noto-sans.txt", "hexagons-r9.parquet",
                 "hexagons-r9.csv", "hexagons-r9.provenance.json"):
        assert (bundle / name).is_file(), name
    assert "tiles-synth-1" in (bundle / "hexagons-r9.provenance.json").read_text()
    assert "basemap © OpenStreetMap contributors" in (bundle / "index.html").read_text()


def test_sites_geojson_is_what_sites_answers(bundle: Path, client: TestClient) -> None:
    doc = json.loads((bundle / "sites.geojson").read_text())
    api = client.get("/sites", params={"limit": 1000}).json()
    assert api["total"] == len(doc["features"]) > 1
    # The same fields, figures and order (most watched first) as the API: the same privacy rule.
    assert [f["properties"] for f in doc["features"]] == api["sites"]
    for feature in doc["features"]:
        p = feature["properties"]
        assert feature["id"] == p["id"]
        assert feature["geometry"] == {"type": "Point", "coordinates": [
            pytest.approx(p["lon"], abs=1e-7), pytest.approx(p["lat"], abs=1e-7)]}
    assert doc["camdensity"]["snapshot"] == api["data_version"] == "tiles-synth-1"
    assert "sites.geojson" in (bundle / "README.txt").read_text()


def test_box_and_filters_match_the_live_filtered_tiles(
    db: str, client: TestClient, tmp_path: Path
) -> None:
    out = tmp_path / "filtered"
    box = ",".join(map(str, SMALL_BOX))
    run_cli("publish", str(out), "--bbox", box, "--minzoom", "10", "--maxzoom", "15",
            "--types", "alpr,cctv", "--categories", "clinic", "--no-exports")
    header, meta, tiles = read_archive(out / "tiles.pmtiles")
    assert header["min_zoom"] == 10 and header["max_zoom"] == 15
    assert meta["camdensity"]["filters"] == {"types": ["alpr", "cctv"], "operators": None,
                                             "categories": ["clinic"]}
    for z in range(10, 16):  # every tile meeting the box is there, none outside it
        x0, x1, y0, y1 = tile_range(z, SMALL_BOX)
        assert all(x0 <= x <= x1 and y0 <= y <= y1 for zz, x, y in tiles if zz == z)
    params = {"types": "alpr,cctv", "categories": "clinic"}
    assert_equals_live(client, tiles, SMALL_BOX, range(10, 16), params, margin=0)
    assert not (out / "hexagons-r9.csv").exists()
    # The sites of that box and category, as /sites answers for them.
    sites = json.loads((out / "sites.geojson").read_text())["features"]
    api = client.get("/sites", params={"category": "clinic", "bbox": box, "limit": 1000}).json()
    assert [f["properties"] for f in sites] == api["sites"]
    assert {f["properties"]["category"] for f in sites} == {"clinic"}
    assert 0 < len(sites) < client.get("/sites").json()["total"]


def test_published_page_uses_an_external_style_only_when_set(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def view(out: Path) -> dict[str, Any]:
        match = re.search(r"const view = (\{.*?\});", (out / "index.html").read_text())
        assert match, "the page embeds its view"
        return json.loads(match.group(1))

    run_cli("publish", str(tmp_path / "plain"), "--maxzoom", "8", "--no-exports", "--no-basemap")
    assert view(tmp_path / "plain")["baseStyle"] is None  # off by default: nothing from elsewhere
    assert "CAMDENSITY_BASEMAP_STYLE" not in (tmp_path / "plain" / "README.txt").read_text()
    monkeypatch.setenv("CAMDENSITY_BASEMAP_STYLE", "https://tiles.example.org/style.json")
    testing.clear_settings()
    try:
        run_cli("publish", str(tmp_path / "external"), "--maxzoom", "8", "--no-exports", "--no-basemap")
    finally:
        monkeypatch.undo()
        testing.clear_settings()
    assert view(tmp_path / "external")["baseStyle"] == "https://tiles.example.org/style.json"
    readme = (tmp_path / "external" / "README.txt").read_text()
    assert "learn the address of everyone who opens the map" in readme and "connect-src" in readme


def test_out_dir_must_be_a_bundle_link(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from camdensity.cli import app

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["publish", str(tmp_path / "mine"), "--maxzoom", "3"])
    assert result.exit_code == 1 and "is not a bundle written by `camdensity publish`" in result.output
    assert (tmp_path / "mine" / "keep.txt").read_text() == "mine"
    bad = CliRunner().invoke(app, ["publish", str(tmp_path / "x"), "--minzoom", "9", "--maxzoom", "3"])
    assert bad.exit_code == 1 and "minzoom <= maxzoom" in bad.output


# --- real browser, plain static server ------------------------------------------------------


def _inline_script_hashes(page: str) -> str:
    """CSP sources allowing exactly the page's inline scripts."""
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page, re.DOTALL)
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts
    )


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_bundle_opens_from_a_static_server(bundle: Path, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    page_html = (bundle / "index.html").read_text()
    # A strict policy: own origin only, inline scripts by hash, no eval; workers same-origin.
    csp = (f"default-src 'self'; script-src 'self' {_inline_script_hashes(page_html)}; "
           "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self' blob:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'")
    # The fill's colours over the background at fill-opacity 0.75 (tilejson.style).
    background = (0xF4, 0xF3, 0xEF)
    ramp = [tuple(round(int(c[i:i + 2], 16) * 0.75 + b * 0.25) for i, b in zip((1, 3, 5), background))
            for _, c in DENSITY_RAMP]
    with testing.static_server(bundle, {"Content-Security-Policy": csp}) as base, browser_page() as page:
        requests: list[str] = []
        ranged: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("request", lambda r: r.headers.get("range") and ranged.append(r.url))
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{base}/index.html?lat={CENTER[1]}&lon={CENTER[0]}&zoom=13")
        # A selector, not wait_for_function: that evaluates a string, which the policy forbids.
        page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "bundle.png"))
        image = Image.open(tmp_path / "bundle.png").convert("RGB")
        sampled = (image.size[0] // 2) * ((image.size[1] - 30) // 2)
        assert not problems, problems
        assert count_near(image, ramp) > 0.03 * sampled, "hexagons are drawn"
        assert all(u.startswith((base, "data:", "blob:")) for u in requests), requests
        assert any(u.endswith("/tiles.pmtiles") for u in ranged), "the archive is read by ranges"
        # The view follows lat/lon/zoom as /map does.
        centre = page.evaluate("[camdensityMap.getCenter().lat, camdensityMap.getCenter().lng, camdensityMap.getZoom()]")
        assert centre == pytest.approx([CENTER[1], CENTER[0], 13], abs=1e-6)
        # The basemap's streets are drawn under the hexagons, from basemap.pmtiles.
        roads = page.evaluate("camdensityMap.queryRenderedFeatures({layers: ['basemap-road-major', "
                              "'basemap-road-medium', 'basemap-road-minor']}).length")
        assert roads > 0 and any(u.endswith("/basemap.pmtiles") for u in ranged)
        # The sites are drawn, the same ones sites.geojson lists.
        drawn = page.evaluate("camdensityMap.queryRenderedFeatures({layers: ['sites']}).map((f) => f.properties.id)")
        listed = {f["id"] for f in json.loads((bundle / "sites.geojson").read_text())["features"]}
        assert drawn and set(drawn) <= listed
        # Close in: street names, drawn with the bundled font (no glyph server, no other origin).
        page.goto(f"{base}/index.html?lat={CENTER[1]}&lon={CENTER[0]}&zoom=16")
        page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=60_000)
        names = page.evaluate("camdensityMap.queryRenderedFeatures({layers: ['basemap-road-names']}).length")
        assert names > 0 and any("noto-sans-latin-400-normal.woff2" in u for u in requests)
        assert all(u.startswith((base, "data:", "blob:")) for u in requests), requests
        assert not problems, problems


# --- incremental republish -----------------------------------------------------------------


@pytest.fixture
def changing_db(admin_url: str) -> Iterator[str]:
    """The synthetic store in a database of its own, for a test that builds again."""
    url = testing.create_database(admin_url)
    try:
        with psycopg.connect(url) as conn:
            seed(conn, n=300)
        with testing.pointed_at(url):
            yield url
    finally:
        testing.drop_database(admin_url, url)


def test_republish_renders_only_changed_tiles(changing_db: str, tmp_path: Path) -> None:
    db = changing_db
    out = tmp_path / "site"
    run_cli("publish", str(out), "--maxzoom", "12", "--no-exports")
    first = out.resolve()
    _, _, before = read_archive(out / "tiles.pmtiles")
    with psycopg.connect(db) as conn:  # a new build changing one fine cell's counts
        cell = conn.execute(
            "SELECT h3 FROM hexagon WHERE resolution = 9 ORDER BY cameras DESC, h3 LIMIT 1"
        ).fetchone()[0]
        conn.execute("UPDATE hexagon SET cameras = cameras + 7, n_cctv = n_cctv + 7, "
                     "density_km2 = (cameras + 7) / area_km2 WHERE resolution = 9 AND h3 = %s", (cell,))
        conn.execute("INSERT INTO build (snapshot, finished_at, params, sources) "
                     "SELECT 'tiles-synth-2', now(), params, sources FROM build WHERE snapshot = 'tiles-synth-1'")
    result = run_cli("publish", str(out), "--maxzoom", "12", "--no-exports")
    assert "published snapshot tiles-synth-2" in result.output
    reused, rendered = (int(n.replace(",", "")) for n in re.search(
        r"([\d,]+) unchanged tiles copied from the last publish, ([\d,]+) rendered", result.output).groups())
    _, meta, after = read_archive(out / "tiles.pmtiles")
    assert meta["camdensity"]["snapshot"] == "tiles-synth-2"
    # The changed cell is drawn at z11-12 only (resolution 9): a tile or two per zoom (a cell
    # near a tile edge is in its neighbours too, with the 64/4096 margin).
    assert 1 <= rendered <= 8 and reused >= len(after) - rendered
    changed = {zxy for zxy in after if after[zxy] != before.get(zxy)}
    assert changed and {z for z, _, _ in changed} <= {11, 12} and len(changed) <= rendered
    assert set(after) == set(before)
    with TestClient(create_app(db)) as fresh:  # a new app: no cached tiles of the first build
        assert_equals_live(fresh, after, data_box(db), range(13))
    # The output was swapped: the old bundle folder is gone, the link names the new one.
    assert out.is_symlink() and out.resolve() != first and not first.exists()


# --- GET /export/tiles.pmtiles -------------------------------------------------------------


def test_http_pmtiles_export_equals_the_live_tiles(client: TestClient) -> None:
    from pmtiles.reader import MemorySource

    box = ",".join(map(str, SMALL_BOX))
    r = client.get("/export/tiles.pmtiles", params={"bbox": box, "minzoom": 12, "maxzoom": 14,
                                                    "operators": "public"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.pmtiles"
    assert r.headers["cache-control"] == "no-store"  # a box someone asked about: no shared cache
    assert 'filename="camdensity-tiles-synth-1-z12-14.pmtiles"' in r.headers["content-disposition"]
    get_bytes = MemorySource(r.content)
    assert Reader(get_bytes).metadata()["camdensity"]["filters"]["operators"] == ["public"]
    tiles = {zxy: gzip.decompress(data) for zxy, data in all_tiles(get_bytes)}
    assert tiles and {z for z, _, _ in tiles} == {12, 13, 14}
    assert_equals_live(client, tiles, SMALL_BOX, range(12, 15), {"operators": "public"}, margin=0)
    again = client.get("/export/tiles.pmtiles", params={"bbox": box, "minzoom": 12, "maxzoom": 14,
                                                        "operators": "public"},
                       headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(("params", "message"), [
    ({"bbox": "24,60,25,61", "maxzoom": 18}, "more than CAMDENSITY_PMTILES_EXPORT_MAX_TILES (2,000)"),
    ({"bbox": "-180,-85,180,85", "minzoom": 6, "maxzoom": 6}, "spans 4,096 tiles at zooms 6-6"),
    ({"bbox": "24,60,25"}, "bbox must be 4 comma-separated numbers"),
    ({"bbox": "24,60,25,61", "minzoom": 9, "maxzoom": 3}, "minzoom <= maxzoom"),
    ({"bbox": "24,60,25,61", "types": "drone"}, "unknown camera types: drone"),
    ({"bbox": "-10,-10,-9,-9", "minzoom": 8, "maxzoom": 10}, "nothing to publish"),
])
def test_http_pmtiles_export_rejects(client: TestClient, params: dict[str, Any], message: str) -> None:
    r = client.get("/export/tiles.pmtiles", params=params)
    assert r.status_code == 422 and message in r.text, r.text


# --- the basemap on the live service -------------------------------------------------------


def test_live_map_and_style_use_the_basemap(db: str, basemap: Path) -> None:
    import mapbox_vector_tile

    from routes.test_map import deck_input

    before = os.environ["CAMDENSITY_BASEMAP_PATH"]
    os.environ["CAMDENSITY_BASEMAP_PATH"] = str(basemap)
    testing.clear_settings()
    try:
        with TestClient(create_app(db)) as c:
            x, _, y, _ = tile_range(14, (*CENTER, *CENTER))
            r = c.get(f"/basemap/14/{x}/{y}.mvt")
            assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
            assert "road" in mapbox_vector_tile.decode(r.content)
            assert c.get("/basemap/2/0/0.mvt").status_code == 204
            assert c.get("/basemap/3/9/0.mvt").status_code == 404
            layers = deck_input(c.get("/map").text)["layers"]
            assert [layer["id"] for layer in layers] == ["basemap", "camdensity"]
            assert layers[0]["data"].endswith("/basemap/{z}/{x}/{y}.mvt")
            style = c.get("/style.json").json()
            assert style["sources"]["basemap"]["tiles"][0].endswith("/basemap/{z}/{x}/{y}.mvt")
            font = style["font-faces"]["Noto Sans Regular"][0]["url"]
            assert c.get(font).headers["content-type"] == "font/woff2"
            assert c.get("/fonts/LICENSE.noto-sans.txt").status_code == 404
            # The names over the hexagons: MapLibre, served from here (a whitelist, not a file server).
            lib = c.get("/map/lib/maplibre-gl.mjs")
            assert lib.headers["content-type"].startswith("text/javascript") and b"MapLibre" in lib.content
            assert c.get("/map/lib/LICENSE.maplibre-gl.txt").status_code == 404
    finally:
        os.environ["CAMDENSITY_BASEMAP_PATH"] = before
        testing.clear_settings()


def dark_pixels(image: Any, box: tuple[int, int, int, int]) -> set[tuple[int, int]]:
    """Pixels of `box` (left, top, right, bottom) darker than any hexagon, road or background:
    label text (#4a4a4a, #666666) and little else."""
    pixels = image.load()
    return {(x, y) for y in range(box[1], box[3]) for x in range(box[0], box[2])
            if sum(pixels[x, y]) < 3 * 140}


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_live_map_draws_names_over_the_hexagons(db: str, basemap: Path, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    from routes.test_map import load

    with testing.serving_app(db, CAMDENSITY_BASEMAP_PATH=str(basemap)) as base, browser_page() as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        image = load(page, f"{base}/map?lat={CENTER[1]}&lon={CENTER[0]}&zoom=15", tmp_path / "on.png")
        # MapLibre follows deck.gl's view exactly, and drew street and place names there.
        view = page.evaluate("[camdensityBasemap.getCenter().lat, camdensityBasemap.getCenter().lng, "
                             "camdensityBasemap.getZoom()]")
        assert view == pytest.approx([CENTER[1], CENTER[0], 15], abs=1e-6)
        drawn = page.evaluate("camdensityBasemap.queryRenderedFeatures({layers: ['basemap-road-names', "
                              "'basemap-places']}).map((f) => f.properties.name)")
        assert "Helsinki" in drawn and len(set(drawn)) >= 8, drawn  # the city and its streets
        # The same view with the names' canvas hidden: what differs is the text.
        page.evaluate("document.getElementById('basemap-gl').style.visibility = 'hidden'")
        page.wait_for_timeout(200)
        page.screenshot(path=str(tmp_path / "off.png"))
        off = Image.open(tmp_path / "off.png").convert("RGB")
        map_area = (0, 60, 740, image.size[1] - 40)  # below the title, left of the legend
        text = dark_pixels(image, map_area) - dark_pixels(off, map_area)
        assert len(text) > 300, f"{len(text)} pixels of text drawn by the names"
        # The sea (Kaisaniemenlahti, from the extract's coastline) is filled water-blue.
        bay = load(page, f"{base}/map?lat=60.1776&lon=24.9435&zoom=16", tmp_path / "bay.png")
        sampled = (bay.size[0] // 2) * ((bay.size[1] - 30) // 2)
        assert count_near(bay, [(0xD4, 0xE1, 0xE8)], tol=6) > 0.05 * sampled
        # Offline: the font came from here, nothing from another origin.
        assert any(u.endswith("/fonts/noto-sans-latin-400-normal.woff2") for u in requests), requests
        assert all(u.startswith((base, "data:", "blob:")) for u in requests), requests


def test_bundle_page_and_live_map_show_the_same_layout(
    db: str, basemap: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One layout (map_layout.html) for both: title bar, legend and attribution are the same text."""
    def chrome(page: str) -> list[str]:
        return [re.search(pattern, page, re.DOTALL).group(0) for pattern in (  # type: ignore[union-attr]
            r'<header id="title">.*?</header>', r'<div id="legend".*?<div id="attribution".*?</div>')]

    monkeypatch.setenv("CAMDENSITY_BASEMAP_PATH", str(basemap))
    testing.clear_settings()
    try:
        with TestClient(create_app(db)) as c:
            live = c.get("/map", params={"zoom": 12}).text
    finally:
        monkeypatch.undo()
        testing.clear_settings()
    published = (bundle / "index.html").read_text()
    assert chrome(live) == chrome(published)
    assert "basemap © OpenStreetMap contributors (ODbL-1.0) · camdensity" in chrome(published)[1]


def test_map_contacts_no_other_origin_by_default(db: str, basemap: Path) -> None:
    """CAMDENSITY_BASEMAP_STYLE unset: the page's policy lets it fetch from its own origin only."""
    with TestClient(create_app(db)) as c:
        csp = c.get("/map", params={"zoom": 12}).headers["content-security-policy"]
    assert "connect-src 'self';" in csp and "img-src 'self' data: blob:;" in csp
    assert "http" not in csp  # no other origin anywhere in it


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_external_basemap_style_is_used_and_allowed_alone(db: str, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from routes.test_map import count_near, load

    # A third party's style: a magenta background, so the test can see it is drawn.
    (tmp_path / "style.json").write_text(json.dumps({"version": 8, "sources": {}, "layers": [
        {"id": "land", "type": "background", "paint": {"background-color": "#ff00ff"}}]}))
    with (testing.static_server(tmp_path, {"Access-Control-Allow-Origin": "*"}) as other,
          testing.serving_app(db, CAMDENSITY_BASEMAP_STYLE=f"{other}/style.json") as base,
          browser_page() as page):
        assert other.rsplit(":", 1)[1] != base.rsplit(":", 1)[1]  # another origin
        answers: dict[str, str] = {}
        page.on("response", lambda r: answers.setdefault(r.url, r.headers.get("content-security-policy")))
        image = load(page, f"{base}/map?lat={CENTER[1]}&lon={CENTER[0]}&zoom=13", tmp_path / "ext.png")
        csp = answers[f"{base}/map?lat={CENTER[1]}&lon={CENTER[0]}&zoom=13"]
        # The policy adds exactly that origin, to what the page may fetch and show, nothing more
        # (load() failed the test had the policy blocked anything).
        assert f"connect-src 'self' {other};" in csp and f"img-src 'self' data: blob: {other};" in csp
        assert csp.count("http") == 2
        assert f"{other}/style.json" in answers
        assert {u.split("/")[2] for u in answers if u.startswith("http")} == {
            base.split("/")[2], other.split("/")[2]}
        # Its background is drawn under the hexagons (the deck.gl offline basemap is not).
        sampled = (image.size[0] // 2) * ((image.size[1] - 30) // 2)
        assert count_near(image, [(255, 0, 255)]) > 0.2 * sampled
        assert f"basemap: style of {other.split('/')[2]}" in page.inner_text("#attribution")
