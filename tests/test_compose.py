"""docker-compose.yml: the production layout (PostGIS, API, ingest job) is a valid Compose file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_describes_db_api_and_ingest() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert set(services) >= {"db", "api", "ingest"}
    assert services["db"]["image"].startswith("postgis/postgis:")
    for role in ("api", "ingest"):
        env = services[role]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://camdensity:")
        assert "@db:5432/camdensity" in env["DATABASE_URL"]
        assert services[role]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["api"]["command"][:2] == ["camdensity", "serve"]
    assert services["ingest"]["command"][:2] == ["camdensity", "demo"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_config_accepts_file() -> None:
    res = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "--quiet"], check=False, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
