"""`camdensity db ...`: the project-local cluster that `make demo` and `make test` start."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import psycopg
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from camdensity.cli import app
from camdensity.cluster import Cluster
from camdensity.settings import ROOT_HOME, DatabaseSettings


def embedded() -> DatabaseSettings:
    return DatabaseSettings(database_url=None)


@pytest.mark.skipif(not DatabaseSettings().embedded, reason="DATABASE_URL points at another server")
def test_embedded_cluster_runs_inside_the_project(admin_url: str) -> None:
    settings = embedded()
    cluster = Cluster(settings)
    assert cluster.running()
    assert cluster.data.is_relative_to(settings.pg_dir)
    # start() again is a no-op on a running cluster and keeps serving
    cluster.start()
    with psycopg.connect(cluster.admin_url(settings.pg_database)) as conn:
        assert conn.execute("SELECT current_setting('port')::int").fetchone()[0] == settings.pg_port
        # socket only: a second checkout's cluster on the same port number never clashes
        assert conn.execute("SELECT current_setting('listen_addresses')").fetchone()[0] == ""
        # queried addresses travel as statement parameters: statements must never be logged
        assert conn.execute("SELECT current_setting('log_statement')").fetchone()[0] == "none"


def test_db_url_honours_database_url(database_url: str) -> None:
    result = CliRunner().invoke(app, ["db", "url"])
    assert result.exit_code == 0
    assert result.output.strip() == database_url


def test_cluster_home_is_camdensity_home_else_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The suite itself runs on the checkout's own cluster (the Makefile and conftest say so).
    assert DatabaseSettings().home == ROOT / ".camdensity"
    monkeypatch.setenv("CAMDENSITY_HOME", str(tmp_path))
    settings = DatabaseSettings()
    assert settings.pg_dir == tmp_path and settings.socket_dir == tmp_path / "run"
    assert Cluster(settings).data == tmp_path / "data"
    monkeypatch.delenv("CAMDENSITY_HOME")
    # Root runs the cluster as `postgres`, which cannot enter /root: a system directory then.
    expected = (ROOT_HOME if os.geteuid() == 0
                else platformdirs.user_data_path("camdensity", appauthor=False))
    assert DatabaseSettings().home == expected
