"""Fixtures: a real PostGIS database per test session, and the Helsinki extract loaded into it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from camdensity import db
from camdensity import settings as settings_mod
from camdensity.cluster import Cluster

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
HELSINKI_PBF = DATA / "helsinki" / "helsinki_center.osm.pbf"


def _clear_settings() -> None:
    for fn in (settings_mod.database_settings, settings_mod.method_settings,
               settings_mod.service_settings):
        fn.cache_clear()


def _admin_url() -> str:
    """A URL with rights to create databases: DATABASE_URL's server, else the embedded one."""
    settings = settings_mod.DatabaseSettings()
    if settings.embedded:
        cluster = Cluster(settings)
        cluster.start()
        return cluster.admin_url()
    return settings.url


def _with_dbname(url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _admin_url()


def create_database(admin_url: str) -> str:
    """A new empty database with the schema applied; returns its URL."""
    name = f"camdensity_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_dbname(admin_url, name)
    with psycopg.connect(url) as conn:
        db.migrate(conn)
    return url


def drop_database(admin_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def seeded_database(admin_url: str, seed: Callable[[psycopg.Connection], None]) -> Iterator[str]:
    """A database of its own filled by `seed` (for module fixtures); dropped when done."""
    url = create_database(admin_url)
    try:
        with psycopg.connect(url) as conn:
            seed(conn)
        yield url
    finally:
        drop_database(admin_url, url)


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """The session's database: every command and the app are pointed at it."""
    url = create_database(admin_url)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    _clear_settings()
    yield url
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old
    _clear_settings()
    drop_database(admin_url, url)


@pytest.fixture
def empty_db(admin_url: str) -> Iterator[str]:
    """A fresh database for one test (for import tests that need a clean store)."""
    url = create_database(admin_url)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    _clear_settings()
    yield url
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old
    _clear_settings()
    drop_database(admin_url, url)


def run_cli(*args: str) -> CliRunner.Result:
    """Run `camdensity ARGS` in-process; fail the test with its output when it fails."""
    from camdensity.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"camdensity {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return result


@pytest.fixture(scope="session")
def helsinki(database_url: str) -> str:
    """The session database with the Helsinki extract imported (cameras, sites, addresses) and built."""
    run_cli("ingest", "cameras", str(HELSINKI_PBF), "--source", "osm-helsinki")
    run_cli("ingest", "sites", str(HELSINKI_PBF), "--source", "osm-helsinki")
    run_cli("ingest", "addresses", str(HELSINKI_PBF), "--source", "osm-helsinki")
    run_cli("build")
    return database_url


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url) as c:
        yield c
