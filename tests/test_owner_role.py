"""The owner role, tried as an attacker would: migrations, imports and builds run as a login that
owns the store but is no superuser; a superuser only bootstraps; a store whose objects a
superuser owns (as earlier versions left it) is taken over in place; and the same over password
authentication, as docker-compose's PostGIS or a managed database asks."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from psycopg import sql
from typer.testing import CliRunner

from camdensity import db, roles, testing
from camdensity.cli import app
from camdensity.cluster import ClusterError, pg_bindir, postgis_available
from camdensity.service.main import create_app
from camdensity.settings import DatabaseSettings

OWNER = "camdensity_owner"
SETTINGS = DatabaseSettings(database_url=None)

# Who owns what in schema public, extensions' members apart: (kind, name, owner).
OWNERS = """
SELECT o.kind, o.name, o.owner::regrole::text, EXISTS (
    SELECT 1 FROM pg_depend d WHERE d.classid = o.catalog AND d.objid = o.oid AND d.deptype = 'e')
FROM (SELECT 'pg_class'::regclass AS catalog, oid, relkind::text AS kind,
             oid::regclass::text AS name, relowner AS owner
      FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'S')
      UNION ALL
      SELECT 'pg_proc'::regclass, oid, 'function', oid::regprocedure::text, proowner
      FROM pg_proc WHERE pronamespace = 'public'::regnamespace
      UNION ALL
      SELECT 'pg_type'::regclass, oid, 'type', oid::regtype::text, typowner
      FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd')) o
"""


def owners(url: str) -> tuple[dict[str, str], dict[str, str]]:
    """({project object: its owner}, {extension member: its owner}) in `url`'s schema public."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(OWNERS).fetchall()
    project = {f"{kind} {name}": owner for kind, name, owner, member in rows if not member}
    members = {f"{kind} {name}": owner for kind, name, owner, member in rows if member}
    return project, members


def write_cameras(path: Path) -> Path:
    """Three public cameras in central Helsinki."""
    path.write_text("id,lat,lon,type,operator\n"
                    "c1,60.1699,24.9384,cctv,police\nc2,60.1702,24.9390,alpr,police\n"
                    "c3,60.1710,24.9400,dome,business\n")
    return path


@pytest.fixture
def owner(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection as the owner, made the way the commands make it."""
    with psycopg.connect(db.owner_url(url=database_url), autocommit=True) as conn:
        yield conn


ATTACKS = [
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "COPY (SELECT 1) TO '/tmp/camdensity-owner-wrote-this'",
    "COPY schema_migration (name) FROM '/etc/passwd'",
    "SELECT pg_read_file('/etc/passwd')",
    "CREATE ROLE sneaky LOGIN SUPERUSER",
    "CREATE ROLE sneaky LOGIN",
    f"GRANT pg_execute_server_program TO {OWNER}",
    f"GRANT pg_write_server_files TO {OWNER}",
    f"ALTER ROLE {OWNER} SUPERUSER",
    f"ALTER ROLE {OWNER} CREATEROLE",
    "ALTER ROLE camdensity_api SUPERUSER",
    "SET ROLE camdensity",  # the embedded cluster's superuser
    "CREATE DATABASE sneaky",
    "ALTER SYSTEM SET log_statement = 'all'",
    "CREATE EXTENSION file_fdw",  # untrusted: reads server files
    "CREATE EXTENSION postgis_raster",  # untrusted, like postgis itself
    "CREATE FUNCTION sneaky() RETURNS int LANGUAGE c AS 'libc.so.6', 'getpid'",
]


@pytest.mark.parametrize("statement", ATTACKS)
def test_owner_cannot_run_programs_read_files_or_make_itself_more(
        owner: psycopg.Connection, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        owner.execute(statement)
    assert not os.path.exists("/tmp/camdensity-owner-wrote-this")


def test_owner_is_a_plain_login_that_owns_the_store(owner: psycopg.Connection) -> None:
    # Its own login (RESET ROLE changes nothing), with no power beyond owning.
    owner.execute("RESET ROLE")
    assert owner.execute("SELECT session_user, current_user").fetchone() == (OWNER, OWNER)
    row = owner.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user").fetchone()
    assert row == (False,) * 5
    # A member of no role (pg_database_owner: every database owner is, implicitly).
    assert owner.execute(
        "SELECT array_agg(rolname) FROM pg_roles WHERE rolname <> current_user "
        "AND pg_has_role(current_user, oid, 'MEMBER')").fetchone() == (["pg_database_owner"],)
    assert owner.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    ).fetchone() == (OWNER,)


def test_commands_run_as_the_owner_never_the_superuser(empty_db: str, tmp_path: Path) -> None:
    # Written down from inside: every statement that writes these tables says who ran it.
    with psycopg.connect(empty_db, autocommit=True) as su:
        su.execute("CREATE TABLE who_ran (what text, usr name, super bool)")
        su.execute("GRANT INSERT ON who_ran TO PUBLIC")
        su.execute(
            "CREATE FUNCTION who_ran() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO who_ran SELECT TG_TABLE_NAME, session_user, rolsuper FROM pg_roles "
            "WHERE rolname = session_user; RETURN NULL; END $$")
        for table in ("source", "camera_report", "camera", "build", "hexagon"):
            su.execute(sql.SQL("CREATE TRIGGER who_ran AFTER INSERT OR UPDATE OR DELETE ON {} "
                               "FOR EACH STATEMENT EXECUTE FUNCTION who_ran()")
                       .format(sql.Identifier(table)))
    assert "schema up to date" in run_cli("migrate").output
    cameras = write_cameras(tmp_path / "cams.csv")
    assert "3 accepted" in run_cli("ingest", "cameras", str(cameras), "--source", "vols").output
    assert "3 cameras" in run_cli("build", "--resolutions", "9").output
    with psycopg.connect(empty_db) as su:
        rows = su.execute("SELECT DISTINCT what, usr, super FROM who_ran").fetchall()
    assert {r[0] for r in rows} == {"source", "camera_report", "camera", "build", "hexagon"}
    assert {(usr, sup) for _what, usr, sup in rows} == {(OWNER, False)}
    # What the migrations made, the owner owns; only extensions' members stay the superuser's.
    project, members = owners(empty_db)
    assert set(project.values()) == {OWNER}, project
    assert members["r spatial_ref_sys"] == SETTINGS.pg_user


def test_a_store_the_superuser_owns_is_taken_over_in_place(admin_url: str, tmp_path: Path) -> None:
    name = f"camdensity_legacy_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True) as su:
        su.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = testing.with_dbname(admin_url, name)
    try:
        # As earlier versions left it: migrated, granted and filled by the superuser.
        with psycopg.connect(url) as su:
            db.migrate(su)
            su.execute("CREATE VIEW legacy_view AS SELECT id FROM source")
            su.execute("CREATE SEQUENCE legacy_seq")
            su.execute("CREATE TYPE legacy_kind AS ENUM ('a', 'b')")
            su.execute("CREATE DOMAIN legacy_count AS int CHECK (VALUE >= 0)")
            su.commit()
        before, _ = owners(url)
        assert set(before.values()) == {SETTINGS.pg_user}
        assert {"v legacy_view", "S legacy_seq", "S source_id_seq", "type legacy_kind",
                "type legacy_count", "function camdensity_normalize(text)"} <= set(before)

        with testing.pointed_at(url):
            assert "schema up to date" in run_cli("migrate").output
            after, members = owners(url)
            assert after == {k: OWNER for k in before}
            assert members["r spatial_ref_sys"] == SETTINGS.pg_user  # PostGIS's own
            with psycopg.connect(url) as su:
                assert su.execute(
                    "SELECT pg_get_userbyid(datdba), (SELECT nspowner::regrole::text FROM "
                    "pg_namespace WHERE nspname = 'public') FROM pg_database "
                    "WHERE datname = current_database()").fetchone() == (OWNER, OWNER)
                stamp = ("SELECT array_agg(xmin::text ORDER BY oid) FROM pg_proc "
                         f"WHERE proowner = '{OWNER}'::regrole")
                stamps = su.execute(stamp).fetchone()
            # A second start alters nothing (the bootstrap runs at every start).
            run_cli("migrate")
            with psycopg.connect(url) as su:
                assert su.execute(stamp).fetchone() == stamps
            # The owner now imports and builds there; the API reads what the superuser granted.
            cameras = write_cameras(tmp_path / "cams.csv")
            run_cli("ingest", "cameras", str(cameras), "--source", "vols")
            run_cli("build", "--resolutions", "9")
            api_url, _ = roles.api_credentials(db.owner_url(url=url), SETTINGS)
            with psycopg.connect(api_url) as api:
                assert api.execute("SELECT sum(cameras) FROM hexagon").fetchone()[0] == 3
    finally:
        testing.drop_database(admin_url, url)


# --- over password authentication (docker-compose's PostGIS, a server elsewhere) -----------

ADMIN_PASSWORD = "s3cret-admin"


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """The superuser's URL, with its password, to a throwaway scram-sha-256 cluster."""
    try:
        if not postgis_available(pg_bindir()):
            pytest.skip("needs PostGIS to run a throwaway cluster")
    except ClusterError:
        pytest.skip("needs PostgreSQL binaries to run a throwaway cluster")
    # Inside the embedded cluster's home: the postgres user cannot enter /tmp/pytest-of-root.
    root = SETTINGS.pg_dir / f"scram-{secrets.token_hex(3)}"
    with testing.password_cluster(root, ADMIN_PASSWORD) as url:
        yield url


def test_a_superuser_url_with_a_password_bootstraps_the_owner_and_the_api(
        password_server: str) -> None:
    with testing.pointed_at(password_server):
        assert "applied: " in run_cli("migrate").output
        owner_url, owner_password = roles.owner_credentials(password_server, SETTINGS)
        assert owner_password and ADMIN_PASSWORD not in owner_url
        with psycopg.connect(owner_url) as conn:
            assert conn.execute("SELECT session_user, rolsuper FROM pg_roles "
                                "WHERE rolname = session_user").fetchone() == (OWNER, False)
        project, _ = owners(password_server)
        assert set(project.values()) == {OWNER}
        # The next start finds the passwords right (read back from their SCRAM verifiers) and
        # rewrites no role.
        stamp = ("SELECT array_agg(xmin::text ORDER BY rolname) FROM pg_authid "
                 "WHERE rolname IN ('camdensity_owner', 'camdensity_api')")
        with psycopg.connect(password_server) as su:
            stamps = su.execute(stamp).fetchone()
            assert len(stamps[0]) == 2
            assert db.owner_url(SETTINGS, password_server) == owner_url
            assert su.execute(stamp).fetchone() == stamps
        # The server really asks: a wrong password is refused.
        wrong = psycopg.conninfo.make_conninfo(owner_url, password="not-it")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong).close()
        # serve: the API logs in with the password derived from the owner's.
        with TestClient(create_app(password_server)) as client:
            assert client.get("/sites?limit=1").status_code == 200

            async def who() -> tuple[str, str]:
                async with client.app.state.pool.connection() as c:
                    return await (await c.execute("SELECT session_user, current_user")).fetchone()

            assert client.portal.call(who) == ("camdensity_api", "camdensity_api")


def test_a_database_url_that_is_no_superuser_is_the_owner(password_server: str) -> None:
    owner_url, _ = roles.owner_credentials(password_server, SETTINGS)
    with psycopg.connect(password_server, autocommit=True) as su:
        db.owner_url(SETTINGS, password_server)  # the roles exist (bootstrapped once)
        su.execute("CREATE TABLE IF NOT EXISTS left_alone (x int)")
    try:
        # As on a managed database: no bootstrap, the URL's user is the owner.
        with testing.pointed_at(owner_url):
            assert "schema up to date" in run_cli("migrate").output
        project, _ = owners(password_server)
        assert project["r left_alone"] == "admin"  # no superuser took anything over
    finally:
        with psycopg.connect(password_server, autocommit=True) as su:
            su.execute("DROP TABLE left_alone")


def test_an_owner_url_needs_no_superuser_but_the_extensions(password_server: str) -> None:
    owner_url, _ = roles.owner_credentials(password_server, SETTINGS)
    with psycopg.connect(password_server, autocommit=True) as su:
        db.owner_url(SETTINGS, password_server)  # the roles exist (bootstrapped once)
        su.execute(f"CREATE DATABASE fresh OWNER {OWNER}")
    fresh_admin = testing.with_dbname(password_server, "fresh")
    old = os.environ.pop("DATABASE_URL", None)
    os.environ["CAMDENSITY_OWNER_DATABASE_URL"] = testing.with_dbname(owner_url, "fresh")
    testing.clear_settings()
    try:
        result = CliRunner().invoke(app, ["migrate"])
        assert result.exit_code == 1
        assert result.output.strip().replace("\n", " ") == (
            "error: extension postgis is missing and camdensity_owner is not a superuser: a DBA "
            "must run `CREATE EXTENSION postgis;` in database fresh (then address_standardizer, "
            "address_standardizer_data_us)")
        with psycopg.connect(fresh_admin, autocommit=True) as dba:
            for extension in ("postgis", "address_standardizer", "address_standardizer_data_us"):
                dba.execute(sql.SQL("CREATE EXTENSION {}").format(sql.Identifier(extension)))
        result = CliRunner().invoke(app, ["migrate"])
        assert result.exit_code == 1
        assert "a DBA must run `GRANT SELECT ON us_gaz, us_lex, us_rules TO camdensity_owner " \
               "WITH GRANT OPTION;` in database fresh" in result.output.replace("\n", " ")
        with psycopg.connect(fresh_admin, autocommit=True) as dba:
            dba.execute(f"GRANT SELECT ON us_gaz, us_lex, us_rules TO {OWNER} WITH GRANT OPTION")
        assert "applied: " in run_cli("migrate").output
        project, _ = owners(fresh_admin)
        assert set(project.values()) == {OWNER}
    finally:
        del os.environ["CAMDENSITY_OWNER_DATABASE_URL"]
        if old is not None:
            os.environ["DATABASE_URL"] = old
        testing.clear_settings()
        testing.drop_database(password_server, fresh_admin)
