"""Schema fuzzing: schemathesis drives every operation of the app's own /openapi.json against a
real server and store; no answer may be a 5xx or differ from what the document promises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from camdensity import testing
from camdensity.service.main import create_app
from camdensity.service.report_queue import new_admin_key
from routes.tiles_seed import tiles_db  # noqa: F401  (fixture)

# About 50 examples per operation; the map page and the statistics (a bootstrap per answer)
# take long per example, so they get fewer, keeping the whole run near a minute.
EXAMPLES = 50
SLOW_EXAMPLES = {"/map": 8, "/analysis/sites": 8, "/report": 8}
# Reports (on for this server) and their moderation: a few examples each keep the run short.
REPORT_EXAMPLES = 10
# A report's proof of work is checked against a challenge the server issued (a rule across
# requests): a schema-valid body is rightly a 422 there.
ACROSS_REQUESTS = {("POST", "/reports")}
# Rules across parameters that OpenAPI cannot state (`address`, or `lat` with `lon`; a box's
# min < max): there a schema-valid request may rightly be a 422, so only there is a 422 not
# counted against the document (every other check still runs).
# `compare` names a retained build and cannot be combined with `types`/`operators`.
CROSS_PARAMETER_RULES = ("address", "lat", "lon", "bbox", "area", "compare")
# The operations, read from the document itself (no database needed to list them).
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app("postgresql://unused").openapi()["paths"].items()
    for method in methods
]


@pytest.fixture(scope="module")
def admin_key(tiles_db: str) -> str:  # noqa: F811
    return new_admin_key(tiles_db)


@pytest.fixture(scope="module")
def base_url(tiles_db: str, admin_key: str) -> Iterator[str]:  # noqa: F811
    with testing.serving_app(tiles_db, CAMDENSITY_REPORTS_ENABLED="true") as base:
        yield base


@pytest.fixture(scope="module")
def api_schema(base_url: str) -> schemathesis.BaseSchema:
    """The document as the running service serves it."""
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_answers_as_documented(api_schema: schemathesis.BaseSchema, base_url: str,
                                         admin_key: str, method: str, path: str) -> None:
    operation = api_schema[path][method]

    reports = path.startswith(("/reports", "/admin"))
    # The moderation routes are fuzzed with the key (without it, every answer is the same 401).
    headers = {"Authorization": f"Bearer {admin_key}"} if path.startswith("/admin") else {}

    @given(case=operation.as_strategy())
    @settings(max_examples=REPORT_EXAMPLES if reports else SLOW_EXAMPLES.get(path, EXAMPLES),
              deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: schemathesis.Case) -> None:
        params = {p.name for p in operation.query} if operation.query else set()
        excluded = ([schemathesis.checks.positive_data_acceptance]
                    if params & set(CROSS_PARAMETER_RULES) or (method, path) in ACROSS_REQUESTS
                    else [])
        case.call_and_validate(base_url=base_url, timeout=60, excluded_checks=excluded,
                               headers=headers)

    answers_as_documented()
