"""`/metrics` on its own port, parsed with Prometheus's own parser; logs without queries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx2 as httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter

from camdensity import testing
from camdensity.logs import log_config
from camdensity.service.main import create_app
from camdensity.settings import database_settings

ADDRESS = "Mannerheimintie 5, Helsinki"
LAT, LON = "60.171234", "24.945678"
# "testclient" is the TestClient's client address: it must not appear either.
SECRETS = (ADDRESS, "mannerheimintie", LAT, LON, "60.1712", "24.9456", "testclient")


@pytest.fixture(scope="module")
def metrics_client(helsinki: str) -> Iterator[tuple[TestClient, str]]:
    """A client of an app whose metrics (and request log) are on; the metrics base URL."""
    port = testing.free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CAMDENSITY_METRICS_PORT", str(port))
        mp.setenv("CAMDENSITY_LOG_REQUESTS", "true")
        testing.clear_settings()
        app = create_app(helsinki)
        with TestClient(app) as client:
            yield client, f"http://127.0.0.1:{port}"
    testing.clear_settings()


def _scrape(base: str) -> str:
    r = httpx.get(f"{base}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def test_metrics_count_route_templates_never_queries(
    metrics_client: tuple[TestClient, str], helsinki: str, caplog: pytest.LogCaptureFixture
) -> None:
    client, base = metrics_client
    caplog.set_level(logging.INFO, logger="camdensity.request")
    assert client.get("/coverage", params={"address": ADDRESS}).status_code == 200
    assert client.get("/coverage", params={"lat": LAT, "lon": LON}).status_code == 200
    for _ in range(2):  # the second is a cache hit
        assert client.get("/tiles/14/9327/4742.mvt").status_code in (200, 204)
    assert client.get(f"/no/such/{LAT}/{LON}").status_code == 404
    assert client.get("/metrics").status_code == 404  # never on the API's port

    text = _scrape(base)
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), secret
    families = {f.name: f for f in text_string_to_metric_families(text)}

    requests = {(s.labels["method"], s.labels["route"], s.labels["status"]): s.value
                for s in families["camdensity_http_requests"].samples if s.name.endswith("_total")}
    assert requests[("GET", "/coverage", "200")] == 2
    assert sum(v for (m, route, _), v in requests.items()
               if route == "/tiles/{z}/{x}/{y}.mvt") == 2
    assert requests[("GET", "<unmatched>", "404")] >= 2  # /no/such/... and /metrics
    counts = {s.labels["route"]: s.value for s in families["camdensity_http_request_duration_seconds"]
              .samples if s.name.endswith("_count")}
    assert counts["/coverage"] == 2
    buckets = [s for s in families["camdensity_http_request_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["route"] == "/coverage"]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 2

    def by_cache(name: str) -> dict[str, float]:
        return {s.labels["cache"]: s.value for s in families[name].samples
                if not s.name.endswith("_created")}

    assert by_cache("camdensity_cache_hits")["tiles"] >= 1
    assert by_cache("camdensity_cache_misses")["tiles"] >= 1
    assert by_cache("camdensity_cache_entries")["tiles"] >= 1

    def gauge(name: str) -> float:
        (sample,) = families[name].samples
        return sample.value

    assert gauge("camdensity_pool_connections_max") == database_settings().pool_max_size
    assert 1 <= gauge("camdensity_pool_connections") <= gauge("camdensity_pool_connections_max")
    assert gauge("camdensity_pool_connections_in_use") >= 0

    with psycopg.connect(helsinki) as conn:
        snapshot, seconds = conn.execute(
            "SELECT snapshot, extract(epoch FROM finished_at - started_at) FROM build "
            "WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
        imports = dict(conn.execute(
            "SELECT entity, import_seconds FROM source "
            "WHERE name = 'osm-helsinki'").fetchall())
    (version,) = families["camdensity_data_version_info"].samples
    assert version.labels == {"data_version": snapshot}
    assert gauge("camdensity_build_duration_seconds") == pytest.approx(float(seconds))
    assert 0 <= gauge("camdensity_build_age_seconds") < 24 * 3600
    took = {s.labels["entity"]: s.value for s in families["camdensity_ingest_duration_seconds"]
            .samples if s.labels["source"] == "osm-helsinki"}
    assert took == pytest.approx(imports) and all(v > 0 for v in took.values())
    rows = {(s.labels["entity"], s.labels["outcome"]): s.value
            for s in families["camdensity_ingest_rows"].samples
            if s.labels["source"] == "osm-helsinki"}
    assert rows[("cameras", "accepted")] == 221 and rows[("addresses", "accepted")] == 1_470

    # The request log names route templates and statuses, never the query or the client.
    logged = [r for r in caplog.records if r.name == "camdensity.request"]
    assert {(r.route, r.status) for r in logged} >= {("/coverage", 200), ("<unmatched>", 404)}
    formatter = JsonFormatter("%(levelname)s %(message)s")
    for record in logged:
        line = formatter.format(record)
        assert json.loads(line)["route"] == record.route
        assert record.getMessage().startswith(f"GET {record.route} {record.status} ")
        for secret in SECRETS:
            assert secret.lower() not in line.lower(), line


def test_json_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMDENSITY_LOG_FORMAT", "json")
    testing.clear_settings()
    try:
        config = log_config()
    finally:
        monkeypatch.undo()
        testing.clear_settings()
    spec = config["formatters"]["default"]
    assert spec["()"] == "pythonjsonlogger.json.JsonFormatter"
    formatter = JsonFormatter(**{k: v for k, v in spec.items() if k != "()"})
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "built %s", ("x",),
                               None)
    record.color_message = "built \x1b[36m%s\x1b[0m"  # uvicorn's coloured copy
    line = json.loads(formatter.format(record))
    assert line == {"time": line["time"], "level": "INFO", "logger": "uvicorn.error",
                    "message": "built x"}
    assert config["loggers"]["uvicorn.access"]["level"] == "CRITICAL"  # client IPs, queries
