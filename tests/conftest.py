"""Fixtures: a real PostGIS database per test session, and the Helsinki extract loaded into it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from camdensity import testing
from camdensity.ingest.privacy import publish
from camdensity.settings import MethodSettings

# The test client sends `Host: testserver`; the service answers only Hosts it trusts.
os.environ.setdefault("CAMDENSITY_TRUSTED_HOSTS", '["testserver", "127.0.0.1", "localhost"]')

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
HELSINKI_PBF = DATA / "helsinki" / "helsinki_center.osm.pbf"
# Tests see no basemap unless they build one (`make demo` leaves one in .camdensity/): the path
# is in a fresh folder, so one built by the demo test lasts only for this session's later tests.
os.environ["CAMDENSITY_BASEMAP_PATH"] = str(
    Path(tempfile.mkdtemp(prefix="camdensity-test-basemap-")) / "basemap.pmtiles"
)

# pytest run by hand (not through `make test`) still uses the checkout's own cluster, never the
# per-user one another checkout or an installed camdensity may be using.
os.environ.setdefault("CAMDENSITY_HOME", str(ROOT / ".camdensity"))


@pytest.fixture(scope="session")
def admin_url() -> str:
    return testing.admin_url()


def seeded_database(admin_url: str, seed: Callable[[psycopg.Connection], None]) -> Iterator[str]:
    """A database of its own filled by `seed` (for module fixtures); dropped when done."""
    url = testing.create_database(admin_url)
    try:
        with psycopg.connect(url) as conn:
            seed(conn)
        yield url
    finally:
        testing.drop_database(admin_url, url)


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """The session's database: every command and the app are pointed at it."""
    with testing.scratch_database(admin_url) as url:
        yield url


@pytest.fixture
def empty_db(admin_url: str) -> Iterator[str]:
    """A fresh database for one test (for import tests that need a clean store)."""
    with testing.scratch_database(admin_url) as url:
        yield url


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


def insert_cameras(conn: psycopg.Connection, types: list[str], operators: list[str],
                   counts: list[int], lons: list[float], lats: list[float]) -> None:
    """Fused cameras straight into `camera` (one source each), for seeds that skip the import;
    then `camera_published` from them by the privacy rule, as a build makes it (readers use it)."""
    conn.execute(
        "INSERT INTO camera (camera_type, operator_type, count, n_reports, n_sources, confidence, "
        "                    geom, geom_3857) "
        "SELECT t, o, c, 1, 1, 0.5, g, ST_Transform(g, 3857) "
        "FROM unnest(%s::text[], %s::text[], %s::int[], %s::float8[], %s::float8[]) AS u(t, o, c, x, y), "
        "     LATERAL (SELECT ST_SetSRID(ST_MakePoint(x, y), 4326) AS g) p",
        (types, operators, counts, lons, lats),
    )
    publish(conn, MethodSettings())
