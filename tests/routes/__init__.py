"""HTTP route tests (TestClient over real PostGIS)."""

import pytest

# Fixture modules loaded with `pytest_plugins` and also imported by tests: rewrite their asserts.
pytest.register_assert_rewrite("routes.coverage_seed")
