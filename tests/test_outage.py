"""PostgreSQL stops and comes back under a request loop, on a throwaway cluster of its own:
503 with Retry-After within 2 s, cached tiles still served, liveness vs readiness, and 200
again within 5 s of PostgreSQL's return, with no restart of the service."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from routes.test_tiles import tile_of
from routes.tiles_seed import CENTER, seed

from camdensity import db, testing
from camdensity.cluster import Cluster, ClusterError, pg_bindir, postgis_available
from camdensity.settings import DatabaseSettings

ROOT = Path(__file__).resolve().parent.parent
DB_DOWN_LIMIT_S = 2.0
RECOVERY_LIMIT_S = 5.0


@dataclass
class Stack:
    """The throwaway cluster and a real uvicorn serving from it."""

    cluster: Cluster
    base: str


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    try:
        bindir = pg_bindir()
    except ClusterError:
        bindir = None
    if bindir is None or not postgis_available(bindir):
        pytest.skip("needs PostgreSQL and PostGIS binaries to run a throwaway cluster")
    # Inside the embedded cluster's home (not /tmp/pytest-of-root, which the postgres user
    # cannot enter).
    home = DatabaseSettings(database_url=None).pg_dir
    settings = DatabaseSettings(
        database_url=None, pg_dir=home / f"outage-{secrets.token_hex(3)}", pg_port=55432,
    )
    cluster = Cluster(settings)
    try:
        cluster.start()
        with psycopg.connect(settings.url) as conn:
            db.migrate(conn)
            seed(conn, n=200)
        with testing.serving_app(settings.url, CAMDENSITY_SNAPSHOT_TTL_S="0.5") as base:
            yield Stack(cluster, base)
    finally:
        cluster.stop()
        shutil.rmtree(settings.pg_dir, ignore_errors=True)


def timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    t0 = time.monotonic()
    r = client.get(path)
    return r, time.monotonic() - t0


def test_store_outage_and_recovery(stack: Stack) -> None:
    x, y = tile_of(*CENTER, 13)
    tile = f"/tiles/13/{x}/{y}.mvt"
    # Never fetched before the outage (a tile not in the cache needs the store).
    db_backed = ["/sites?limit=5", f"/coverage?lat={CENTER[1]}&lon={CENTER[0]}&radius=200",
                 f"/tiles/12/{x // 2}/{y // 2}.mvt?types=alpr", "/export/provenance.json"]
    with httpx.Client(base_url=stack.base, timeout=30) as client:
        cached = client.get(tile)  # fetched before the outage: served from memory during it
        assert cached.status_code == 200 and cached.content
        assert client.get("/sites?limit=5").status_code == 200

        stack.cluster.stop()
        for _ in range(2):  # each round waits out the pool timeout a few times
            for path in db_backed:
                r, took = timed_get(client, path)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert took < DB_DOWN_LIMIT_S, (path, took)
                assert int(r.headers["retry-after"]) > 0
                assert "unreachable" in r.json()["detail"]
            r, took = timed_get(client, tile)
            assert r.status_code == 200 and r.content == cached.content and took < DB_DOWN_LIMIT_S
            r, took = timed_get(client, "/healthz")  # liveness: the process answers
            assert r.status_code == 200 and r.json()["status"] == "ok" and took < 0.5
            r, took = timed_get(client, "/readyz")  # readiness: says which part is down
            assert r.status_code == 503 and took < DB_DOWN_LIMIT_S
            assert r.json()["down"] == ["store"] and "retry-after" in r.headers

        stack.cluster.start()
        t_up = time.monotonic()
        while True:
            r = client.get(db_backed[0])
            recovered = time.monotonic() - t_up
            if r.status_code == 200:
                break
            assert r.status_code == 503 and recovered < RECOVERY_LIMIT_S, (r.status_code, recovered)
            time.sleep(0.05)
        print(f"first 200 {recovered:.2f} s after PostgreSQL returned")
        assert recovered < RECOVERY_LIMIT_S
        for path in [*db_backed, "/readyz"]:
            assert client.get(path).status_code == 200, path
