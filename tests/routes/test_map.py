"""The embeddable map page: self-contained HTML, and hexagons drawn in real headless Chromium."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h3
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from camdensity import testing
from camdensity.service.main import create_app
from camdensity.service.routes.map import data_dates
from camdensity.tiles.tilejson import DENSITY_RAMP, NEAR_SITE_OUTLINE
from routes.tiles_seed import CENTER, tiles_db  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BACKGROUND = (0xF4, 0xF3, 0xEF)
FILL_ALPHA = 190 / 255  # the hexagon fill's alpha in service/routes/map.py


@pytest.fixture(scope="module")
def client(tiles_db: str) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(tiles_db)) as c:
        yield c


def deck_input(page: str) -> dict[str, Any]:
    """The deck.gl JSON the page hands to createDeck."""
    match = re.search(r"const jsonInput = (\{.*?\});\n", page, re.DOTALL)
    assert match, "the page embeds its deck JSON"
    return json.loads(match.group(1))


def busiest_coarse_cell_centre(url: str) -> tuple[float, float]:
    """Brute force: (lon, lat) centroid of the coarsest cell holding the most cameras, from h3-py."""
    with psycopg.connect(url) as conn:
        cells = conn.execute(
            "SELECT h3, cameras FROM hexagon WHERE resolution = (SELECT min(resolution) FROM hexagon)"
        ).fetchall()
    assert len(cells) > 1, "the seed spans several coarse cells, so the choice matters"
    busiest = min(cells, key=lambda c: (-c[1], c[0]))[0]
    ring = shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(h3.int_to_str(busiest))])
    return ring.centroid.x, ring.centroid.y


def test_map_page_is_self_contained(client: TestClient, tiles_db: str) -> None:  # noqa: F811
    r = client.get("/map")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    page = r.text
    # Nothing loaded from elsewhere: no external script, stylesheet, image or frame in the markup
    # (URLs inside the inlined libraries are never fetched: the Chromium test runs with no network).
    markup = re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.DOTALL)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup, re.IGNORECASE)
    assert markup.count("<script") == 4  # deck.gl, the MVT worker, the page's own, the search box
    assert "createDeck" in page and "MVTLayer" in page  # deck.gl inlined
    deck = deck_input(page)
    (layer,) = deck["layers"]
    assert layer["@@type"] == "MVTLayer"
    assert layer["data"] == "http://testserver/tiles/{z}/{x}/{y}.mvt"
    # Without lat/lon the map opens on the busiest coarse cell (data in two cities has its
    # bounding box's middle in the ocean).
    lon, lat = busiest_coarse_cell_centre(tiles_db)
    view = deck["initialViewState"]
    assert view["longitude"] == pytest.approx(lon, abs=1e-6)
    assert view["latitude"] == pytest.approx(lat, abs=1e-6)
    with psycopg.connect(tiles_db) as conn:
        snapshot, built_at = conn.execute("SELECT snapshot, finished_at FROM build").fetchone()
    # The build's date is called that; the data's own date comes from the sources (one has one).
    assert f"Built {built_at.date().isoformat()} (snapshot {snapshot}) · data of 2026-10-01" in page
    assert "Data 20" not in page
    # A title bar saying what is drawn and what the outlines mean.
    assert "<h1>Surveillance cameras per hexagon</h1>" in page
    assert "outlined hexagons lie\n      within 200 m of a clinic / school / immigration" in page
    assert "© OpenStreetMap contributors (ODbL-1.0) · synthetic-registry (CC-BY-4.0)" in page
    assert "Cameras per km²" in page and "within 200 m of a clinic" in page
    for _, colour in DENSITY_RAMP:
        assert colour in page  # legend swatches


def test_map_takes_view_and_filters_for_iframes(client: TestClient) -> None:
    r = client.get(
        "/map", params={"lat": 60.2, "lon": 24.9, "zoom": 13.5, "types": "alpr", "categories": "school"}
    )
    # The page names the place asked about: no shared cache may keep it (nor its 304).
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/map", params={"lat": 60.2, "lon": 24.9}, headers={
        "If-None-Match": r.headers["etag"]}).headers["cache-control"] == "no-store"
    assert client.get("/map", params={"zoom": 13.5}).headers["cache-control"].startswith("public")
    page = r.text
    deck = deck_input(page)
    assert deck["initialViewState"] == {"latitude": 60.2, "longitude": 24.9, "zoom": 13.5}
    assert deck["layers"][0]["data"] == (
        "http://testserver/tiles/{z}/{x}/{y}.mvt?types=alpr&categories=school"
    )
    # Only the selected site category is outlined and in the legend.
    assert "near_school" in deck["layers"][0]["getLineColor"]
    assert "near_clinic" not in deck["layers"][0]["getLineColor"]
    assert ">clinic</div>" not in page and ">school</div>" in page
    # The title bar names the filters.
    assert '<span class="filters">(types: alpr · sites: school)</span>' in page
    assert "within 200 m of a school" in page and "clinic / school" not in page


def test_map_without_near_categories_has_no_outline_legend(client: TestClient) -> None:
    page = client.get("/map", params={"categories": "worship", "zoom": 12}).text
    assert "properties.near_" not in deck_input(page)["layers"][0]["getLineColor"]
    assert "outlined hexagons" not in page and 'class="ring"' not in page


def test_map_near_site_outline_is_thin_and_not_the_ramp() -> None:
    from camdensity.tiles.tilejson import NEAR_SITE_OUTLINE_WIDTH

    assert NEAR_SITE_OUTLINE_WIDTH <= 1.5
    outline = [int(NEAR_SITE_OUTLINE[i:i + 2], 16) for i in (1, 3, 5)]
    for _, colour in DENSITY_RAMP:
        ramp = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(a - b) for a, b in zip(outline, ramp)) > 100  # a hue apart from every class


def test_map_has_zoom_buttons(client: TestClient) -> None:
    (widget,) = deck_input(client.get("/map", params={"zoom": 12}).text)["widgets"]
    assert widget["@@type"] == "ZoomWidget" and widget["zoomInLabel"] == "Zoom in"


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ([{"data_date": "2026-03-01"}, {"data_date": None}, {"data_date": "2025-12-31"}],
         "2025-12-31–2026-03-01"),
        ([{"data_date": "2026-03-01"}, {"data_date": "2026-03-01"}, {}], "2026-03-01"),
        ([{"data_date": None}, {"name": "x"}], None),
        ([], None),
    ],
)
def test_data_dates(sources: list[dict[str, Any]], expected: str | None) -> None:
    assert data_dates(sources) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [({"lat": 91}, "less than or equal to 85.0511"), ({"zoom": -1}, "greater than or equal to 0"),
     ({"operators": "cops"}, "unknown operators: cops")],
)
def test_map_rejects_bad_parameters(client: TestClient, params: dict[str, Any], message: str) -> None:
    r = client.get("/map", params=params)
    assert r.status_code == 422
    assert message in json.dumps(r.json())


def test_map_page_is_cached_and_gzipped(client: TestClient) -> None:
    with client.stream("GET", "/map", params={"zoom": 12}, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["content-encoding"] == "gzip"
        wire = b"".join(r.iter_raw())
    t0 = time.perf_counter()
    plain = client.get("/map", params={"zoom": 12}, headers={"Accept-Encoding": "identity"})
    assert time.perf_counter() - t0 < 0.5  # served from the per-snapshot cache
    assert gzip.decompress(wire) == plain.content
    assert len(wire) < len(plain.content) / 2
    etag = plain.headers["etag"]
    assert etag.startswith('"tiles-synth-1-')
    again = client.get("/map", params={"zoom": 12}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/map", params={"zoom": 11}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


@pytest.mark.parametrize(
    "headers",
    [{"Accept-Encoding": "gzip"}, {"Accept-Encoding": "identity"}, {"If-None-Match": "*"}],
)
def test_map_sends_vary_once(client: TestClient, headers: dict[str, str]) -> None:
    r = client.get("/map", params={"zoom": 12}, headers=headers)
    # One header line, each token once: the route and GZipMiddleware both add Accept-Encoding
    # (and CORS adds Origin).
    assert r.headers.get_list("vary") == ["Accept-Encoding, Origin"]


def test_root_redirects_to_the_map(client: TestClient) -> None:
    r = client.get("/", params={"zoom": 3, "types": "alpr"}, follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "http://testserver/map"  # nothing carried over
    assert client.get("/").url == "http://testserver/map"
    assert "/" not in client.get("/openapi.json").json()["paths"]


# --- real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tiles_db: str) -> Iterator[str]:  # noqa: F811
    """A real uvicorn serving the synthetic store on a free localhost port."""
    with testing.serving_app(tiles_db) as base:
        yield base


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page in the system's headless Chromium with every host but 127.0.0.1 unreachable."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                  "--disable-background-networking",
                  # No internet: the page must draw from the inlined deck.gl and our tiles alone.
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        try:
            yield browser.new_page(viewport={"width": 1000, "height": 700})
        finally:
            browser.close()


def load(page: Any, url: str, path: Path) -> Any:
    """Open `url`, wait until the page says every tile in view is drawn; the screenshot's pixels."""
    from PIL import Image

    failed: list[str] = []
    refused: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(url)
    # A selector, not a JS predicate: the page's CSP forbids evaluating strings.
    page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=60_000)
    page.wait_for_timeout(300)  # one more frame after the last tile
    page.screenshot(path=str(path))
    assert not failed, f"requests failed: {failed}"
    assert not refused, f"the page's own Content-Security-Policy blocked: {refused}"
    return Image.open(path).convert("RGB")


def _blend(colour: str, alpha: float) -> tuple[int, int, int]:
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(c * alpha + b * (1 - alpha)) for c, b in zip(rgb, BACKGROUND))  # type: ignore[return-value]


def count_near(image: Any, colours: list[tuple[int, int, int]], tol: int = 14) -> int:
    """Pixels within `tol` (per channel) of any of `colours`, outside the legend and attribution."""
    width, height = image.size
    pixels = image.load()
    n = 0
    for y in range(0, height - 30, 2):
        for x in range(0, width, 2):
            if x > 740 and y < 360:  # the legend panel (its swatches are ramp colours too)
                continue
            p = pixels[x, y]
            if any(all(abs(p[i] - c[i]) <= tol for i in range(3)) for c in colours):
                n += 1
    return n


def find_pixel(image: Any, colours: list[tuple[int, int, int]], tol: int = 6) -> tuple[int, int]:
    """A pixel deep inside a region of one of `colours` (its 5x5 neighbourhood matches too)."""
    height = image.size[1]
    pixels = image.load()

    def match(x: int, y: int) -> bool:
        return any(all(abs(pixels[x, y][i] - c[i]) <= tol for i in range(3)) for c in colours)

    for y in range(10, height - 40, 3):
        for x in range(10, 730, 3):
            if all(match(x + dx, y + dy) for dx in (-2, 0, 2) for dy in (-2, 0, 2)):
                return x, y
    raise AssertionError("no hexagon to point at")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_draws_the_hexagons(server: str, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    ramp = [_blend(colour, FILL_ALPHA) for _, colour in DENSITY_RAMP]
    outline = [_blend(NEAR_SITE_OUTLINE, 1.0)]
    with browser_page() as page:
        image = load(page, f"{server}/map", tmp_path / "map.png")
        sampled = (image.size[0] // 2) * ((image.size[1] - 30) // 2)
        # The attribution (licences, dates) is never hidden under the search box.
        search, credit = page.evaluate("['search', 'attribution'].map((id) => "
                                       "document.getElementById(id).getBoundingClientRect().toJSON())")
        assert search["right"] <= credit["left"] or search["top"] >= credit["bottom"], (search, credit)
        hexagon_pixels = count_near(image, ramp)
        assert hexagon_pixels > 0.03 * sampled, f"only {hexagon_pixels} of {sampled} sampled pixels are hexagons"
        # (Outlines are checked close in below: at the default view's coarse cells few or no
        # cell centres lie within the near-site radius, depending on the zoom table.)
        # Close in on the sites, where nearly every hexagon is near one: the outlines must not
        # hide the density colours.
        close = load(page, f"{server}/map?lat={CENTER[1]}&lon={CENTER[0]}&zoom=14", tmp_path / "z14.png")
        fill, lines = count_near(close, ramp), count_near(close, outline, tol=40)
        # (2.5 px dark outlines covered ~1/11 as many pixels as the fill; 1.25 px ones ~1/45.)
        assert lines > 20 and fill > 20 * lines, f"{lines} outline pixels against {fill} filled"
        # The tooltip tells a hexagon's figures.
        page.mouse.move(*find_pixel(image, ramp))
        page.wait_for_timeout(500)
        tip = page.inner_text("body")
        assert "cameras" in tip and "density km2" in tip and "h3" in tip
        # The + button zooms in by one.
        zoom = "deckInstance.then ? deckInstance.then((d) => d.getViewports()[0].zoom) : deckInstance.getViewports()[0].zoom"
        before = page.evaluate(zoom)
        page.click("button[title='Zoom in']")
        page.wait_for_timeout(600)  # the 200 ms transition
        assert page.evaluate(zoom) == pytest.approx(before + 1)
        page.wait_for_selector("body[data-loaded='true']", state="attached", timeout=60_000)
        # Control: the same page looking at the open sea draws no hexagon.
        empty = load(page, f"{server}/map?lat=0&lon=0&zoom=12", tmp_path / "empty.png")
        assert count_near(empty, ramp) < 0.001 * sampled


# --- embedded on another site -------------------------------------------------------------

VENDOR = ROOT / "tests" / "vendor" / "maplibre-gl"
EMBED_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="maplibre-gl.css"></head>
<body style="margin:0">
<div id="map" style="width:1000px;height:700px"></div>
<script src="maplibre-gl.js"></script>
<script>
  window.mapErrors = [];
  const map = new maplibregl.Map({container: 'map', style: 'STYLE', center: [LON, LAT], zoom: 13,
                                  attributionControl: false});
  map.on('error', (e) => window.mapErrors.push(String(e.error && e.error.message)));
  map.on('idle', () => { document.body.dataset.idle = 'true'; });
</script>
</body></html>
"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_maplibre_on_another_origin_draws_the_hexagons(server: str, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    site_dir = tmp_path / "newsroom"
    site_dir.mkdir()
    for name in ("maplibre-gl.js", "maplibre-gl.css"):
        shutil.copy(VENDOR / name, site_dir / name)
    (site_dir / "index.html").write_text(
        EMBED_PAGE.replace("STYLE", f"{server}/style.json")
        .replace("LON", str(CENTER[0])).replace("LAT", str(CENTER[1])))
    # The style's hexagon fill: the ramp at 0.75 opacity over its background.
    ramp = [_blend(colour, 0.75) for _, colour in DENSITY_RAMP]
    with testing.static_server(site_dir) as site, browser_page() as page:
        assert site.rsplit(":", 1)[1] != server.rsplit(":", 1)[1]  # a different origin
        answers: list[tuple[str, str | None]] = []
        page.on("response", lambda r: answers.append(
            (r.url, r.headers.get("access-control-allow-origin"))) if r.url.startswith(server) else None)
        page.goto(f"{site}/index.html")
        page.wait_for_selector("body[data-idle='true']", state="attached", timeout=60_000)
        assert page.evaluate("window.mapErrors") == []
        drawn = page.evaluate("map.queryRenderedFeatures({layers: ['hexagons-fill']}).length")
        assert drawn > 10, f"MapLibre drew {drawn} hexagons"
        page.screenshot(path=str(tmp_path / "embed.png"))
        image = Image.open(tmp_path / "embed.png").convert("RGB")
    # The style, TileJSON and tiles all came from camdensity's origin, allowed by CORS.
    fetched = {url.split("?")[0].rsplit("/", 1)[-1].split(".")[-1] for url, _ in answers}
    assert {"json", "mvt"} <= fetched, answers
    assert all(allowed == "*" for _, allowed in answers), answers
    sampled = (image.size[0] // 2) * ((image.size[1] - 30) // 2)
    assert count_near(image, ramp) > 0.03 * sampled
