"""What a browser and an attacker see: CORS, security headers, Host handling, bounded numbers,
one 422 body, and the allowed values in the OpenAPI document."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from camdensity import testing
from camdensity.service.main import create_app
from camdensity.settings import CAMERA_TYPES, OPERATOR_TYPES, SITE_CATEGORIES
from routes.tiles_seed import tiles_db  # noqa: F401  (fixture)

EMBEDDER = "https://news.example"


@pytest.fixture(scope="module")
def client(tiles_db: str) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(tiles_db)) as c:
        yield c


@contextmanager
def app_with(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> Iterator[TestClient]:
    """A client of an app made under these CAMDENSITY_* settings."""
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(f"CAMDENSITY_{key.upper()}", value)
        testing.clear_settings()
        try:
            with TestClient(create_app(url)) as c:
                yield c
        finally:
            testing.clear_settings()
    testing.clear_settings()


@pytest.mark.parametrize("path", ["/tiles.json", "/style.json", "/tiles/12/2331/1185.mvt",
                                  "/sites?limit=1", "/map?zoom=12"])
def test_any_site_may_read_the_public_documents(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Origin": EMBEDDER})
    assert r.status_code in (200, 204), r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "ETag" in r.headers["access-control-expose-headers"]
    preflight = client.options(path, headers={"Origin": EMBEDDER, "Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "If-None-Match"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*"
    # Read-only: a browser is never told it may POST or DELETE.
    denied = client.options(path, headers={"Origin": EMBEDDER, "Access-Control-Request-Method": "POST"})
    assert denied.status_code == 400 and "POST" not in denied.headers.get("access-control-allow-methods", "")


def test_cors_origins_are_configurable(monkeypatch: pytest.MonkeyPatch, tiles_db: str) -> None:  # noqa: F811
    with app_with(monkeypatch, tiles_db, cors_origins=f'["{EMBEDDER}"]') as c:
        assert c.get("/tiles.json", headers={"Origin": EMBEDDER}).headers[
            "access-control-allow-origin"] == EMBEDDER
        assert "access-control-allow-origin" not in c.get(
            "/tiles.json", headers={"Origin": "https://elsewhere.example"}).headers


def _script_hashes(page: str) -> set[str]:
    return {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)}


def _policy(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in header.split("; ")}


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_map_page_has_security_headers(client: TestClient, encoding: str) -> None:
    r = client.get("/map", params={"zoom": 12}, headers={"Accept-Encoding": encoding})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"  # its URL may carry a place
    csp = _policy(r.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    # Only the page's own inline scripts (each by its hash) and its own origin.
    assert set(csp["script-src"]) == {"'self'"} | _script_hashes(r.text)
    assert len(csp["script-src"]) >= 3  # deck.gl, the MVT worker, the page's own (and includes)
    assert "'unsafe-eval'" not in csp["script-src"] and "'unsafe-inline'" not in csp["script-src"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["*"]  # embedding is the point


def test_frame_ancestors_is_configurable(monkeypatch: pytest.MonkeyPatch, tiles_db: str) -> None:  # noqa: F811
    with app_with(monkeypatch, tiles_db, frame_ancestors="'self' https://news.example") as c:
        csp = _policy(c.get("/map", params={"zoom": 11}).headers["content-security-policy"])
        assert csp["frame-ancestors"] == ["'self'", "https://news.example"]


def test_docs_page_has_a_policy_for_its_own_scripts(client: TestClient) -> None:
    r = client.get("/docs")
    csp = _policy(r.headers["content-security-policy"])
    assert set(csp["script-src"]) == {"'self'"} | _script_hashes(r.text)
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_forged_host_never_reaches_a_document(client: TestClient) -> None:
    for path in ("/tiles.json", "/style.json", "/", "/map?zoom=12"):
        r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert r.status_code == 400, path
        assert "evil.example" not in r.text and "evil.example" not in r.headers.get("location", "")


def test_public_url_wins_over_any_host(monkeypatch: pytest.MonkeyPatch, tiles_db: str) -> None:  # noqa: F811
    with app_with(monkeypatch, tiles_db, public_url="https://maps.example.org/cd") as c:
        doc = c.get("/tiles.json", headers={"Host": "evil.example"})
        assert doc.status_code == 200
        assert doc.json()["tiles"] == ["https://maps.example.org/cd/tiles/{z}/{x}/{y}.mvt"]
        root = c.get("/", headers={"Host": "evil.example"}, follow_redirects=False)
        assert root.headers["location"] == "https://maps.example.org/cd/map"
        csp = _policy(c.get("/map", params={"zoom": 12}).headers["content-security-policy"])
        assert csp["connect-src"] == ["'self'", "https://maps.example.org"]


HUGE = "99999999999999999999"


@pytest.mark.parametrize(("path", "field"), [
    (f"/sites?offset={HUGE}", "offset"),
    (f"/sites/{HUGE}", "site_id"),
    (f"/sites?limit={HUGE}", "limit"),
    (f"/tiles/{HUGE}/0/0.mvt", "z"),
    (f"/tiles/3/{HUGE}/0.mvt", "x"),
    (f"/coverage?lat=60.17&lon=24.94&radius={HUGE}", "radius"),
    (f"/export/hexagons.csv?resolution={HUGE}", "resolution"),
])
def test_big_numbers_are_422_naming_the_parameter(client: TestClient, path: str, field: str) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"detail", "errors"} and body["detail"].startswith(f"{field}: ")
    assert body["errors"][0]["loc"][-1] == field
    assert HUGE not in r.text  # the value given is never echoed (it could be an address)


def test_every_422_has_one_body(client: TestClient) -> None:
    by_fastapi = client.get("/coverage", params={"lat": 91, "lon": 0}).json()
    by_route = client.get("/tiles.json", params={"types": "laser"}).json()
    by_route_address = client.get("/coverage", params={"address": "Main St 1\x01"}).json()
    for body in (by_fastapi, by_route, by_route_address):
        assert set(body) == {"detail", "errors"} and isinstance(body["detail"], str)
        assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])
    assert "Main St" not in str(by_route_address)
    assert by_route["detail"].startswith("unknown camera types: laser")


def test_openapi_documents_the_422_body_and_the_allowed_values(client: TestClient) -> None:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ValidationProblem"]["properties"]["detail"]["type"] == "string"
    for path, operations in spec["paths"].items():
        for op in operations.values():
            if "422" in op["responses"]:
                ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ValidationProblem"), path
            for p in op.get("parameters", []):
                if p["schema"].get("type") == "integer" or "integer" in str(p["schema"].get("anyOf")):
                    assert "maximum" in str(p["schema"]), (path, p["name"])  # bounded
    params = {p["name"]: p["schema"] for p in spec["paths"]["/tiles.json"]["get"]["parameters"]}
    for name, values in (("types", CAMERA_TYPES), ("operators", OPERATOR_TYPES),
                         ("categories", SITE_CATEGORIES)):
        pattern = str(params[name])
        assert all(v in pattern for v in values), name
    sites = {p["name"]: p["schema"] for p in spec["paths"]["/sites"]["get"]["parameters"]}
    assert set(sites["category"]["anyOf"][0]["items"]["enum"]) == set(SITE_CATEGORIES)
    export = {p["name"]: p["schema"] for p in spec["paths"]["/export/hexagons.{fmt}"]["get"]["parameters"]}
    assert "enum" in str(export["resolution"]) and "[6, 7, 8, 9, 10, 11, 12]" in str(export["resolution"])
