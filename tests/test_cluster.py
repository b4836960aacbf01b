"""`camdensity db ...`: the project-local cluster that `make demo` and `make test` start."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from camdensity.cli import app
from camdensity.cluster import Cluster
from camdensity.settings import DatabaseSettings


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
