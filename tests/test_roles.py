"""Least privilege, tried as an attacker would: the API's role cannot write, create or run
programs, `serve` uses it even when given the owner's URL, and no other OS user gets in."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from camdensity import db, roles
from camdensity.cluster import Cluster
from camdensity.service.main import create_app
from camdensity.settings import DatabaseSettings, database_settings


@pytest.fixture
def api(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection as the API role, made from the owner's URL the way the service makes it."""
    url, _ = roles.api_credentials(database_url, database_settings())
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


ATTACKS = [
    ("INSERT INTO site (category, name, source_id, geom, centroid) VALUES "
     "('school', 'x', 1, ST_Point(0, 0, 4326), ST_Point(0, 0, 4326))"),
    "UPDATE build SET snapshot = 'forged'",
    "DELETE FROM hexagon",
    "TRUNCATE hexagon",
    "CREATE TABLE owned (x int)",
    "CREATE TEMP TABLE scratch (x int)",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "COPY (SELECT 1) TO '/tmp/camdensity-api-wrote-this'",
    "SELECT * FROM camera_report",  # raw reports: exact positions of private cameras
    "SELECT * FROM camera",  # fused cameras: the same (the API reads camera_published)
    "SELECT * FROM rejected_row",
    "SET ROLE camdensity",
    "CREATE ROLE sneaky LOGIN",
    "ALTER ROLE camdensity_api SUPERUSER",
    "SELECT pg_read_file('/etc/passwd')",
]


@pytest.mark.parametrize("statement", ATTACKS)
def test_api_role_cannot_write_create_or_run_programs(api: psycopg.Connection, statement: str) -> None:
    # Even with the read-only default switched off by the session, privileges stop it.
    api.execute("SET default_transaction_read_only = off")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api.execute(statement)
    assert not os.path.exists("/tmp/camdensity-api-wrote-this")


def test_api_role_reads_published_tables_and_stays_itself(api: psycopg.Connection) -> None:
    api.execute("SELECT count(*) FROM hexagon JOIN build ON true").fetchone()
    api.execute("SELECT count(*) FROM site JOIN site_exposure ON true").fetchone()
    # RESET ROLE cannot give it more: it is the session's own user, not a SET ROLE.
    api.execute("RESET ROLE")
    assert api.execute("SELECT session_user, current_user").fetchone() == ("camdensity_api",) * 2
    row = api.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user").fetchone()
    assert row == (False, False, False, False)
    assert api.execute("SHOW default_transaction_read_only").fetchone() == ("on",)


def test_tables_added_later_are_readable_by_the_api(database_url: str,
                                                    api: psycopg.Connection) -> None:
    # Another feature's migration (run as the owner) adds a table after the grants ran: the API
    # can read it.
    with psycopg.connect(db.owner_url(url=database_url)) as conn:
        conn.execute("CREATE TABLE later_feature (x int)")
        conn.execute("INSERT INTO later_feature VALUES (7)")
        conn.commit()
        assert api.execute("SELECT x FROM later_feature").fetchone() == (7,)
        api.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api.execute("INSERT INTO later_feature VALUES (8)")
        db.migrate(conn)  # the grant step after migrations keeps it readable
        assert api.execute("SELECT x FROM later_feature").fetchone() == (7,)
        conn.execute("DROP TABLE later_feature")
        conn.commit()


def test_service_connects_as_the_api_role_given_the_owners_url(database_url: str) -> None:
    owner = psycopg.conninfo.conninfo_to_dict(database_url).get("user")
    assert owner != "camdensity_api"
    with TestClient(create_app(database_url)) as client:
        assert client.get("/healthz").status_code == 200

        async def who() -> tuple[str, str]:
            async with client.app.state.pool.connection() as c:
                cur = await c.execute("SELECT session_user, current_user")
                return await cur.fetchone()

        assert client.portal.call(who) == ("camdensity_api", "camdensity_api")


def test_api_password_is_derived_from_the_owners() -> None:
    settings = DatabaseSettings(database_url=None)
    url, password = roles.api_credentials("postgresql://owner:s3cret@db:5432/camdensity", settings)
    info = psycopg.conninfo.conninfo_to_dict(url)
    assert info["user"] == "camdensity_api" and info["host"] == "db" and info["dbname"] == "camdensity"
    assert info["password"] == password and password not in ("s3cret", None)
    # Every replica derives the same one; another owner password gives another one.
    assert roles.api_credentials("postgresql://owner:s3cret@db/camdensity", settings)[1] == password
    assert roles.api_credentials("postgresql://owner:other@db/camdensity", settings)[1] != password
    # No owner password (peer authentication): none for the API either.
    assert roles.api_credentials("postgresql://owner@/camdensity?host=/run", settings)[1] is None
    given = DatabaseSettings(database_url=None, api_database_url="postgresql://reader:pw@db/x")
    assert roles.api_credentials("postgresql://owner:s3cret@db/x", given) == (
        "postgresql://reader:pw@db/x", None)


def test_a_powerful_api_role_is_refused(conn: psycopg.Connection) -> None:
    conn.execute("DROP ROLE IF EXISTS camdensity_api_too_strong")
    conn.execute("CREATE ROLE camdensity_api_too_strong CREATEROLE")
    conn.commit()
    try:
        settings = DatabaseSettings(database_url=None, api_role="camdensity_api_too_strong")
        with pytest.raises(roles.RoleError, match="rolcreaterole: it must only read"):
            roles.grant_api_role(conn, settings)
    finally:
        conn.rollback()
        conn.execute("DROP OWNED BY camdensity_api_too_strong")
        conn.execute("DROP ROLE camdensity_api_too_strong")
        conn.commit()


embedded_only = pytest.mark.skipif(
    not DatabaseSettings().embedded, reason="DATABASE_URL points at another server")


@embedded_only
def test_embedded_cluster_admits_only_its_own_os_user(admin_url: str) -> None:
    cluster = Cluster(DatabaseSettings(database_url=None))
    assert stat.S_IMODE(cluster.run.stat().st_mode) == 0o700
    assert stat.S_IMODE(cluster.log.stat().st_mode) == 0o600
    hba = [line.split() for line in (cluster.data / "pg_hba.conf").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert hba == [["local", "all", "all", "peer", "map=camdensity"]]  # no trust, no TCP
    with psycopg.connect(admin_url) as conn:
        assert conn.execute("SELECT current_setting('listen_addresses')").fetchone() == ("",)
    if os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("psql"):
        pytest.skip("needs root to act as another OS user")
    for user in ("camdensity", "camdensity_owner", "camdensity_api", "postgres"):
        res = subprocess.run(
            ["runuser", "-u", "nobody", "--", "psql", "-X", "-w", "-c", "SELECT 1",
             f"host={cluster.run} port={cluster.port} dbname=postgres user={user}"],
            check=False, capture_output=True, text=True, timeout=30, cwd="/",
        )
        assert res.returncode != 0, f"nobody logged in as {user}: {res.stdout}"
        assert "Permission denied" in res.stderr or "authentication failed" in res.stderr, res.stderr
