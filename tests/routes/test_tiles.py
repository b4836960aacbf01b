"""Vector tiles, TileJSON and the MapLibre style, decoded and checked against brute force."""

from __future__ import annotations

import gzip
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import h3
import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient
from privacy_rule import cell_of, checked_published

from camdensity import settings as settings_mod
from camdensity.service.main import create_app
from camdensity.settings import ServiceSettings
from camdensity.tiles.grid import hexagon_pixels, resolution_for_zoom
from camdensity.tiles.tilejson import attribution
from routes.tiles_seed import CENTER, seed, tiles_db  # noqa: F401  (fixture)

ZOOM_TABLE = ServiceSettings().tile_zoom_resolutions
NEAR_M = 200.0
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(scope="module")
def client(tiles_db: str) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(tiles_db)) as c:
        yield c


@pytest.fixture(scope="module")
def cameras(tiles_db: str) -> list[tuple[float, float, int, str, str]]:  # noqa: F811
    """Every camera as the privacy rule publishes it: (lon, lat, count, type, operator)."""
    with psycopg.connect(tiles_db) as conn:
        return [(x, y, n, t, o) for x, y, t, o, n in checked_published(conn)]


@pytest.fixture(scope="module")
def sites(tiles_db: str) -> list[tuple[int, float, float, str, int]]:  # noqa: F811
    """Every site: (id, lon, lat, category, cameras_200m)."""
    with psycopg.connect(tiles_db) as conn:
        return conn.execute(
            "SELECT s.id, ST_X(s.centroid), ST_Y(s.centroid), s.category, e.cameras_200m "
            "FROM site s JOIN site_exposure e ON e.site_id = s.id"
        ).fetchall()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x/y of the Web Mercator tile holding a point."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees, grown by `margin` tile widths on each side."""
    n = 1 << z

    def lon(tx: float) -> float:
        return tx / n * 360 - 180

    def lat(ty: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return lon(x - margin), lat(y + 1 + margin), lon(x + 1 + margin), lat(y - margin)


def inside(lon: float, lat: float, b: tuple[float, float, float, float]) -> bool:
    return b[0] <= lon < b[2] and b[1] <= lat < b[3]


def decode(content: bytes) -> dict[str, list[dict[str, Any]]]:
    """Layer name -> feature properties of an MVT."""
    return {name: [f["properties"] for f in layer["features"]]
            for name, layer in mapbox_vector_tile.decode(content).items()}


def get_tile(client: TestClient, z: int, x: int, y: int, **params: str) -> dict[str, list[dict[str, Any]]]:
    r = client.get(f"/tiles/{z}/{x}/{y}.mvt", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    return decode(r.content)


def center_tile(client: TestClient, z: int, **params: str) -> dict[str, list[dict[str, Any]]]:
    """The decoded tile over the synthetic city's centre at zoom `z`."""
    return get_tile(client, z, *tile_of(*CENTER, z), **params)


def _cell(camera: tuple[float, float, int, str, str], resolution: int) -> str:
    lon, lat, count, ctype, op = camera
    return cell_of((lon, lat, ctype, op, count), resolution)


def cell_counts(
    cameras: list[tuple[float, float, int, str, str]], resolution: int,
    types: set[str] | None = None, operators: set[str] | None = None,
) -> dict[str, Counter[str]]:
    """Brute force: per H3 cell, devices in total ("cameras") and per type and operator."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for lon, lat, count, ctype, op in cameras:
        if (types and ctype not in types) or (operators and op not in operators):
            continue
        cell = out[_cell((lon, lat, count, ctype, op), resolution)]
        cell["cameras"] += count
        cell[ctype] += count
        cell[f"op_{op}"] += count
    return out


ZOOMS = [9, 12, 14]


@pytest.mark.parametrize("z", ZOOMS)
def test_hexagon_cameras_add_up_to_the_cameras_in_the_tile(
    client: TestClient, cameras: list[tuple[float, float, int, str, str]], z: int
) -> None:
    x, y = tile_of(*CENTER, z)
    hexagons = get_tile(client, z, x, y)["hexagons"]
    resolution = resolution_for_zoom(z, ZOOM_TABLE)
    expected = cell_counts(cameras, resolution)
    assert hexagons, "the tile over the city has hexagons"
    assert {h["resolution"] for h in hexagons} == {resolution}
    for props in hexagons:
        truth = expected[props["h3"]]
        assert props["cameras"] == truth["cameras"] > 0
        for key, value in truth.items():
            assert props[key] == value, (props["h3"], key)
        assert sum(props[t] for t in settings_mod.CAMERA_TYPES) == props["cameras"]
        assert sum(props[f"op_{o}"] for o in settings_mod.OPERATOR_TYPES) == props["cameras"]
        area = h3.cell_area(props["h3"], unit="km^2")
        assert props["density_km2"] == pytest.approx(props["cameras"] / area, abs=0.06)
    # Every camera inside the tile lies in one of its hexagons, so nothing in the area is missed.
    bounds = tile_bounds(z, x, y)
    drawn = {h["h3"] for h in hexagons}
    in_tile = [c for c in cameras if inside(c[0], c[1], bounds)]
    assert in_tile
    assert all(_cell(c, resolution) in drawn for c in in_tile)
    in_drawn_cells = sum(c[2] for c in cameras if _cell(c, resolution) in drawn)
    assert sum(h["cameras"] for h in hexagons) == in_drawn_cells >= sum(c[2] for c in in_tile)


def test_near_flags_match_brute_force_distances(client: TestClient, tiles_db: str) -> None:  # noqa: F811
    hexagons = center_tile(client, 14)["hexagons"]
    centres = [h3.cell_to_latlng(p["h3"]) for p in hexagons]
    with psycopg.connect(tiles_db) as conn:
        # Brute force: every site of the category, no index, no search limit.
        nearest = {
            category: [r[0] for r in conn.execute(
                "SELECT (SELECT min(ST_Distance(s.geom::geography, "
                "                               ST_SetSRID(ST_MakePoint(c.lon, c.lat), 4326)::geography)) "
                "        FROM site s WHERE s.category = %s) "
                "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS c(lon, lat, i) ORDER BY c.i",
                (category, [c[1] for c in centres], [c[0] for c in centres]),
            )]
            for category in ("clinic", "school", "immigration")
        }
    near_seen: Counter[str] = Counter()
    for i, props in enumerate(hexagons):
        for category, distances in nearest.items():
            truth = distances[i]
            if f"d_{category}" in props:
                assert props[f"d_{category}"] == pytest.approx(truth, abs=1.0)
            else:  # beyond the build's search limit
                assert truth is None or truth > NEAR_M
            if truth is None or abs(truth - NEAR_M) > 1.0:
                near = truth is not None and truth < NEAR_M
                assert props[f"near_{category}"] is near, (props["h3"], category, truth)
            near_seen[category] += props[f"near_{category}"]
    assert near_seen["clinic"] and near_seen["school"], "the test tile must hold near cells"


def test_sites_layer_holds_the_sites_in_the_tile(
    client: TestClient, sites: list[tuple[int, float, float, str, int]]
) -> None:
    z = 14
    x, y = tile_of(*CENTER, z)
    layer = get_tile(client, z, x, y)["sites"]
    got = {s["id"]: s for s in layer}
    strict = {s[0] for s in sites if inside(s[1], s[2], tile_bounds(z, x, y))}
    buffered = {s[0] for s in sites if inside(s[1], s[2], tile_bounds(z, x, y, margin=64 / 4096))}
    assert strict and strict <= set(got) <= buffered
    truth = {s[0]: s for s in sites}
    for site_id, props in got.items():
        assert props["category"] == truth[site_id][3]
        assert props["cameras_200m"] == truth[site_id][4]
        assert {"name", "effective_cameras", "percentile_category"} <= set(props)


def test_type_and_operator_filters_count_only_the_selected_cameras(
    client: TestClient, cameras: list[tuple[float, float, int, str, str]]
) -> None:
    z = 12
    x, y = tile_of(*CENTER, z)
    resolution = resolution_for_zoom(z, ZOOM_TABLE)
    unfiltered = {h["h3"]: h for h in get_tile(client, z, x, y)["hexagons"]}
    hexagons = get_tile(client, z, x, y, types="alpr,CCTV", operators="public")["hexagons"]
    expected = cell_counts(cameras, resolution, {"alpr", "cctv"}, {"public"})
    assert hexagons
    for props in hexagons:
        truth = expected[props["h3"]]
        assert props["cameras"] == truth["cameras"] > 0
        assert props["alpr"] + props["cctv"] == props["cameras"] == props["op_public"]
        assert props["doorbell"] == props["op_private"] == 0
        assert props["cameras"] <= unfiltered[props["h3"]]["cameras"]
    # Cells without a selected camera drop out; every cell with one is drawn.
    assert {h["h3"] for h in hexagons} == {c for c in unfiltered if expected[c]["cameras"] > 0}
    assert sum(h["cameras"] for h in hexagons) < sum(h["cameras"] for h in unfiltered.values())


def test_category_filter_limits_the_sites_layer(client: TestClient) -> None:
    everything = center_tile(client, 14)["sites"]
    schools = center_tile(client, 14, categories="school")["sites"]
    assert {s["category"] for s in everything} > {"school"}
    assert schools and {s["category"] for s in schools} == {"school"}
    assert sorted(s["id"] for s in schools) == sorted(s["id"] for s in everything if s["category"] == "school")


def test_etag_cache_control_and_304(client: TestClient) -> None:
    z = 12
    x, y = tile_of(*CENTER, z)
    url = f"/tiles/{z}/{x}/{y}.mvt"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"tiles-synth-1-')
    assert first.headers["cache-control"] == "public, max-age=300"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    filtered = client.get(url, params={"types": "alpr"})
    assert filtered.headers["etag"] != etag
    assert client.get(url, params={"types": "alpr"}, headers={"If-None-Match": etag}).status_code == 200
    # .pbf is the same tile.
    assert client.get(f"/tiles/{z}/{x}/{y}.pbf").content == first.content


def test_tiles_are_gzipped_when_asked(client: TestClient) -> None:
    z = 12
    x, y = tile_of(*CENTER, z)
    url = f"/tiles/{z}/{x}/{y}.mvt"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    # Read the raw body so the test sees the bytes on the wire, not httpx's decoding.
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["content-encoding"] == "gzip"
        wire = b"".join(r.iter_raw())
    assert len(wire) < len(plain.content)
    assert gzip.decompress(wire) == plain.content


def test_cached_tile_is_served_as_its_gzip(client: TestClient) -> None:
    """The cache holds each tile gzipped once: a gzip client gets those bytes as they are, one
    that does not gets the same MVT decompressed; both vary on Accept-Encoding, one ETag."""
    z = 13
    x, y = tile_of(*CENTER, z)
    url = f"/tiles/{z}/{x}/{y}.mvt"
    wires = []
    for _ in range(2):  # a miss (rendered, gzipped, cached), then a hit
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip, br"}) as r:
            assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
            assert "Accept-Encoding" in r.headers["vary"].split(", ")
            wires.append((b"".join(r.iter_raw()), r.headers["etag"]))
    assert wires[0] == wires[1]
    wire, etag = wires[0]
    cached = [v for k, v in client.app.state.tile_source.tiles._items.items()
              if k[1:4] == (z, x, y)]
    assert cached == [wire]  # the very bytes the cache holds: nothing compressed them again
    for refused in ("identity", "deflate", ""):
        plain = client.get(url, headers={"Accept-Encoding": refused})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers, refused
        assert "Accept-Encoding" in plain.headers["vary"].split(", ")
        assert plain.headers["etag"] == etag
        assert plain.content == gzip.decompress(wire)
    layers = decode(plain.content)
    assert layers["hexagons"] and all(h["resolution"] == resolution_for_zoom(z, ZOOM_TABLE)
                                      for h in layers["hexagons"])
    for encoding in ("gzip", "identity"):
        again = client.get(url, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag


def test_empty_tile_is_204(client: TestClient) -> None:
    r = client.get("/tiles/10/0/0.mvt")
    assert r.status_code == 204 and r.content == b""
    assert r.headers["etag"].startswith('"tiles-synth-1-')
    assert "content-type" not in r.headers


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/tiles/25/0/0.mvt", 404, "zoom 25 is outside 0..24"),
        ("/tiles/3/8/0.mvt", 404, "x and y must be in 0..7"),
        ("/tiles/3/0/-1.mvt", 422, "y: Input should be greater than or equal to 0"),
        ("/tiles/3/0/99999999999999999999.mvt", 422, "y: Input should be less than or equal to"),
        ("/tiles/12/1/1.mvt?types=cctv,laser", 422, "unknown camera types: laser"),
        ("/tiles/12/1/1.mvt?operators=cops", 422, "unknown operators: cops; allowed: public"),
        ("/tiles/12/1/1.mvt?categories=zoo", 422, "unknown site categories: zoo"),
        ("/tiles.json?types=laser", 422, "unknown camera types: laser"),
    ],
)
def test_bad_requests_say_what_is_wrong(client: TestClient, path: str, status: int, message: str) -> None:
    r = client.get(path)
    assert r.status_code == status
    assert message in r.json()["detail"]


def test_non_numeric_tile_is_422(client: TestClient) -> None:
    r = client.get("/tiles/a/0/0.mvt")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["path", "z"]
    assert r.json()["detail"].startswith("z: Input should be a valid integer")


def test_no_build_yet_is_503(empty_db: str) -> None:
    with TestClient(create_app(empty_db)) as c:
        for path in ("/tiles/0/0/0.mvt", "/tiles.json", "/style.json", "/map"):
            r = c.get(path)
            assert r.status_code == 503, path
            assert "camdensity build" in r.json()["detail"]


def test_a_new_build_invalidates_cached_tiles(
    empty_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMDENSITY_SNAPSHOT_TTL_S", "0")
    settings_mod.service_settings.cache_clear()
    with psycopg.connect(empty_db) as conn:
        seed(conn, n=200)
    z = 12
    x, y = tile_of(*CENTER, z)
    url = f"/tiles/{z}/{x}/{y}.mvt"
    with TestClient(create_app(empty_db)) as c:
        before = c.get(url)
        documents = {path: c.get(path).headers["etag"] for path in ("/tiles.json", "/style.json")}
        total = sum(h["cameras"] for h in decode(before.content)["hexagons"])
        with psycopg.connect(empty_db) as conn:  # a rebuild: new figures and a new snapshot, one commit
            conn.execute("UPDATE hexagon SET cameras = cameras + 1000 WHERE resolution = %s",
                         (resolution_for_zoom(z, ZOOM_TABLE),))
            conn.execute("INSERT INTO build (snapshot, finished_at, params, sources) "
                         "VALUES ('tiles-synth-2', now(), '{}', '[]')")
        after = c.get(url, headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200
        assert after.headers["etag"].startswith('"tiles-synth-2-')
        hexagons = decode(after.content)["hexagons"]
        assert sum(h["cameras"] for h in hexagons) == total + 1000 * len(hexagons)
        for path, etag in documents.items():  # TileJSON and style follow the data version too
            r = c.get(path, headers={"If-None-Match": etag})
            assert r.status_code == 200 and r.headers["etag"].startswith('"tiles-synth-2-'), path
    settings_mod.service_settings.cache_clear()


def test_tilejson(client: TestClient, tiles_db: str, cameras: list[tuple[float, float, int, str, str]]) -> None:  # noqa: F811
    doc = client.get("/tiles.json", params={"types": "alpr", "categories": "clinic,school"}).json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/{z}/{x}/{y}.mvt?types=alpr&categories=clinic,school"]
    assert doc["minzoom"] == 0 and 0 < doc["maxzoom"] <= 24
    with psycopg.connect(tiles_db) as conn:
        assert doc["version"] == conn.execute("SELECT snapshot FROM build").fetchone()[0]
    west, south, east, north = doc["bounds"]
    lons, lats = [c[0] for c in cameras], [c[1] for c in cameras]
    assert west <= min(lons) and east >= max(lons) and south <= min(lats) and north >= max(lats)
    # Bounds are the hexagons' extent, not the world.
    assert east - west < 1 and north - south < 1
    lon, lat, zoom = doc["center"]
    assert west < lon < east and south < lat < north and doc["minzoom"] <= zoom <= doc["maxzoom"]
    with psycopg.connect(tiles_db) as conn:  # the map opens on the busiest coarse cell
        busiest = conn.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM hexagon"
            " WHERE resolution = (SELECT min(resolution) FROM hexagon)"
            " ORDER BY cameras DESC, h3 LIMIT 1").fetchone()
    assert (lon, lat) == pytest.approx(busiest, abs=1e-9)
    assert doc["attribution"] == (
        "© OpenStreetMap contributors (ODbL-1.0) · synthetic-registry (CC-BY-4.0)"
    )
    layers = {layer["id"]: layer["fields"] for layer in doc["vector_layers"]}
    # Every property of a real tile is described, and nothing more.
    x, y = tile_of(*CENTER, 14)
    tile = get_tile(client, 14, x, y)
    assert set().union(*(set(p) for p in tile["hexagons"])) == set(layers["hexagons"])
    assert set().union(*(set(p) for p in tile["sites"])) == set(layers["sites"])


@pytest.mark.parametrize("path", ["/tiles.json", "/style.json"])
def test_json_documents_have_etags(client: TestClient, path: str) -> None:
    r = client.get(path, params={"types": "alpr"})
    assert r.status_code == 200 and r.json()
    etag = r.headers["etag"]
    assert etag.startswith('"tiles-synth-1-') and etag.endswith('"')
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert r.headers.get_list("vary") == ["Accept-Encoding, Origin"]
    # Same snapshot, filters and base URL: 304, weak or strong, alone or in a list.
    for inm in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(path, params={"types": "alpr"}, headers={"If-None-Match": inm})
        assert again.status_code == 304 and again.content == b"", inm
        assert again.headers["etag"] == etag and again.headers["cache-control"]
    # Other filters, another base URL (the links inside differ) or the other document: new ETag.
    others = [
        client.get(path, params={"types": "cctv"}, headers={"If-None-Match": etag}),
        client.get(path, headers={"If-None-Match": etag}),
        client.get(path, params={"types": "alpr"},
                   headers={"If-None-Match": etag, "Host": "localhost"}),  # another trusted host
    ]
    for other in others:
        assert other.status_code == 200 and other.headers["etag"] != etag
    assert "http://localhost/" in others[2].text
    twin = "/style.json" if path == "/tiles.json" else "/tiles.json"
    assert client.get(twin, params={"types": "alpr"}).headers["etag"] != etag


def test_json_document_etag_follows_the_public_url(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = client.get("/tiles.json").headers["etag"]
    monkeypatch.setenv("CAMDENSITY_PUBLIC_URL", "https://camdensity.example.org")
    settings_mod.service_settings.cache_clear()
    try:
        r = client.get("/tiles.json", headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        assert r.json()["tiles"][0].startswith("https://camdensity.example.org/tiles/")
    finally:
        monkeypatch.undo()
        settings_mod.service_settings.cache_clear()


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        # Several sources sharing a credit: named once, with the licence.
        ([{"name": "osm-a", "licence": "ODbL-1.0", "attribution": "© OpenStreetMap contributors"},
          {"name": "osm-b", "licence": "ODbL-1.0", "attribution": "© OpenStreetMap contributors"},
          {"name": "ice", "licence": "public records"}],
         "© OpenStreetMap contributors (ODbL-1.0) · ice (public records)"),
        # A shared credit under two licences names both; one without a licence adds nothing.
        ([{"name": "a", "licence": "ODbL-1.0", "attribution": "© OSM"},
          {"name": "b", "licence": None, "attribution": "© OSM"},
          {"name": "c", "licence": "CC0-1.0", "attribution": "© OSM"}],
         "© OSM (ODbL-1.0, CC0-1.0)"),
        # A credit that already names its licence is not told twice; no licence, no brackets.
        ([{"name": "x", "licence": "CC-BY-4.0", "attribution": "City of X, CC-BY-4.0"},
          {"name": "volunteers"}, {"name": "volunteers", "licence": ""}],
         "City of X, CC-BY-4.0 · volunteers"),
        ([{"licence": "ODbL-1.0", "attribution": "<b>me</b> & co"}], "&lt;b&gt;me&lt;/b&gt; &amp; co (ODbL-1.0)"),
        ([], ""),
    ],
)
def test_attribution_names_each_credit_once_with_its_licence(
    sources: list[dict[str, Any]], expected: str
) -> None:
    assert attribution(sources) == expected


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def test_style_uses_the_tiles_and_nothing_external(client: TestClient) -> None:
    doc = client.get("/style.json", params={"operators": "public"}).json()
    assert doc["version"] == 8
    assert doc["sources"]["camdensity"] == {
        "type": "vector", "url": "http://testserver/tiles.json?operators=public"
    }
    layers = {layer["id"]: layer for layer in doc["layers"]}
    assert layers["background"]["type"] == "background"
    assert layers["hexagons-fill"]["source-layer"] == "hexagons"
    assert layers["hexagons-fill"]["paint"]["fill-color"][1] == ["get", "density_km2"]
    assert layers["hexagons-near-sites"]["filter"][0] == "any"
    assert layers["sites"]["type"] == "circle" and layers["sites"]["source-layer"] == "sites"
    assert "glyphs" not in doc and "sprite" not in doc
    assert doc["metadata"]["attribution"].startswith("© OpenStreetMap contributors (ODbL-1.0)")
    urls = [s for s in _strings(doc) if "://" in s]
    assert urls and all(u.startswith("http://testserver/") for u in urls)


# --- the real Helsinki extract (ingest + build), once camera ingest exists -----------------


def _has_camera_ingest() -> bool:
    import typer.main

    from camdensity.cli import app

    ingest = typer.main.get_command(app).commands.get("ingest")  # type: ignore[attr-defined]
    return ingest is not None and "cameras" in getattr(ingest, "commands", {})


@pytest.fixture(scope="module")
def helsinki_client(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, str]]:
    if not _has_camera_ingest():
        pytest.skip("`camdensity ingest cameras` is not there yet")
    url = request.getfixturevalue("helsinki")
    with TestClient(create_app(url)) as c:
        yield c, url


@pytest.mark.parametrize("z", [10, 13, 14])
def test_helsinki_tile_counts_match_the_cameras(helsinki_client: tuple[TestClient, str], z: int) -> None:
    client, url = helsinki_client
    resolution = resolution_for_zoom(z, ZOOM_TABLE)
    with psycopg.connect(url) as conn:
        busiest = conn.execute(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM hexagon "
            "WHERE resolution = %s ORDER BY cameras DESC LIMIT 1", (resolution,)
        ).fetchone()
        # The cameras as the privacy rule publishes them (private ones only as aggregates).
        cams = [(x, y, n, t, o) for x, y, t, o, n in checked_published(conn)]
    assert busiest, "the build made hexagons"
    x, y = tile_of(*busiest, z)
    hexagons = get_tile(client, z, x, y)["hexagons"]
    expected = cell_counts(cams, resolution)
    assert hexagons
    for props in hexagons:
        truth = expected[props["h3"]]
        assert props["cameras"] == truth["cameras"], props["h3"]
        assert props["op_private"] == truth["op_private"]


def test_data_far_apart_opens_on_the_busiest_city() -> None:
    from camdensity.tiles.source import Extent
    from camdensity.tiles.tilejson import FOCUS_ZOOM, default_zoom

    # Helsinki and the US West in one store: the box's middle is in the Atlantic.
    both = Extent(-124.7, 35.9, 25.0, 60.2, focus_lon=-122.33, focus_lat=47.6)
    assert both.center == (-122.33, 47.6) and default_zoom(both) == FOCUS_ZOOM
    city = Extent(24.90, 60.15, 24.98, 60.19, focus_lon=24.94, focus_lat=60.17)
    assert default_zoom(city) > FOCUS_ZOOM  # one city: fit it
    assert Extent(0.0, 0.0, 2.0, 2.0).center == (1.0, 1.0)


@pytest.mark.parametrize("z", [9, 11, 13, 15, 17])
def test_hexagons_are_drawn_15_to_60_px_across(client: TestClient, z: int) -> None:
    """Measured on the served tiles, not on the formula: a whole hexagon's widest span (vertex to
    vertex) on a 512 px tile, brought to 45° latitude as the table's rule states it (Helsinki's
    60° draws everything cos 45°/cos 60° ≈ 1.41 times wider)."""
    r = client.get(f"/tiles/{z}/{tile_of(*CENTER, z)[0]}/{tile_of(*CENTER, z)[1]}.mvt")
    layer = mapbox_vector_tile.decode(r.content)["hexagons"]
    spans = []
    for feature in layer["features"]:
        ring = feature["geometry"]["coordinates"][0]
        if feature["geometry"]["type"] != "Polygon" or len(ring) != 7:
            continue  # cut by the tile's edge
        widest = max(math.dist(a, b) for a in ring for b in ring)
        spans.append(widest / layer["extent"] * 512)
    assert spans, f"no whole hexagon in the centre tile at z{z}"
    at_45 = sorted(spans)[len(spans) // 2] * math.cos(math.radians(CENTER[1])) / math.cos(math.radians(45))
    assert 15 <= at_45 <= 60, f"z{z}: hexagons {at_45:.1f} px across at 45°"
    # ... and as the table's formula (tiles.grid.hexagon_pixels) says.
    assert at_45 == pytest.approx(hexagon_pixels(resolution_for_zoom(z, ZOOM_TABLE), z, 45.0), rel=0.15)
