"""The OpenAPI document lists every error a route answers, with its body where it has one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from camdensity.service.main import create_app


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    # No `with`: the lifespan (and its database pool) never starts; /openapi.json needs neither.
    r = TestClient(create_app("postgresql://unused")).get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def _schema(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/coverage", {"200", "300", "404", "422", "502"}),
        ("/geocode", {"200", "300", "404", "422", "502"}),
        ("/sites", {"200", "422"}),
        ("/sites/{site_id}", {"200", "404", "422"}),
        ("/tiles/{z}/{x}/{y}.mvt", {"200", "204", "304", "404", "422", "503"}),
        ("/tiles.json", {"200", "304", "404", "422", "503"}),
        ("/style.json", {"200", "304", "404", "422", "503"}),
        ("/map", {"200", "304", "422", "503"}),
        ("/export/hexagons.{fmt}", {"200", "304", "422", "503"}),
        ("/export/provenance.json", {"200", "304", "422", "503"}),
        ("/healthz", {"200"}),
        ("/readyz", {"200", "503"}),
    ],
)
def test_every_answer_is_documented(spec: dict[str, Any], path: str, statuses: set[str]) -> None:
    responses = spec["paths"][path]["get"]["responses"]
    assert set(responses) == statuses
    assert all(r.get("description") for r in responses.values())


def test_coverage_404_documents_the_suggestions(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/coverage"]["get"]["responses"]
    assert "suggestions" in responses["404"]["description"]
    detail = _schema(spec, responses["404"])["properties"]["detail"]
    suggestions = spec["components"]["schemas"][detail["$ref"].rsplit("/", 1)[1]]
    assert set(suggestions["properties"]) == {"message", "suggestions"}
    assert suggestions["properties"]["suggestions"]["items"] == {"type": "string"}
    assert "geocoder" in responses["502"]["description"]
    assert set(_schema(spec, responses["502"])["properties"]) == {"detail"}
    # Ambiguous: a list of candidates, each a point with its score and precision.
    detail = _schema(spec, responses["300"])["properties"]["detail"]
    candidates = spec["components"]["schemas"][detail["$ref"].rsplit("/", 1)[1]]
    assert set(candidates["properties"]) == {"message", "candidates"}
    item = candidates["properties"]["candidates"]["items"]["$ref"].rsplit("/", 1)[1]
    assert {"lat", "lon", "matched", "score", "precision", "uncertainty_m"} <= set(
        spec["components"]["schemas"][item]["properties"])


def test_not_found_and_no_build_have_error_bodies(spec: dict[str, Any]) -> None:
    site_404 = spec["paths"]["/sites/{site_id}"]["get"]["responses"]["404"]
    assert site_404["description"] == "No site has this id"
    assert _schema(spec, site_404)["properties"]["detail"]["type"] == "string"
    for path in ("/tiles.json", "/style.json", "/map", "/export/provenance.json"):
        no_build = spec["paths"][path]["get"]["responses"]["503"]
        assert "camdensity build" in no_build["description"], path
        assert "detail" in _schema(spec, no_build)["properties"], path
        assert "304" in spec["paths"][path]["get"]["responses"], path


def test_root_redirect_is_not_an_api_route(spec: dict[str, Any]) -> None:
    assert "/" not in spec["paths"]


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"),
                                              ("/redoc", "redoc.standalone.js")])
def test_docs_pages_load_nothing_from_elsewhere(page: str, script: str) -> None:
    # A CDN or font host would learn every visitor's address, and the docs must work offline.
    client = TestClient(create_app("postgresql://unused"))
    html = client.get(page).text
    urls = re.findall(r"""(?:src|href|url)\s*[=(:]\s*['"]?([^'" >)]+)""", html)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert f"/static/docs/{script}" in urls
    assert "fonts.googleapis" not in html
    asset = client.get(f"/static/docs/{script}")
    assert asset.status_code == 200 and len(asset.content) > 100_000
