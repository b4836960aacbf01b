"""Throwaway databases for the test suite and the benchmarks, on the store's own server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from camdensity import db
from camdensity import settings as settings_mod
from camdensity.cluster import Cluster


def clear_settings() -> None:
    """Forget the cached settings, so the next read sees the environment as it is now."""
    for fn in (settings_mod.database_settings, settings_mod.method_settings,
               settings_mod.service_settings, settings_mod.evidence_settings,
               settings_mod.ingest_settings):
        fn.cache_clear()


def admin_url() -> str:
    """A URL with rights to create databases: DATABASE_URL's server, else the embedded one."""
    settings = settings_mod.DatabaseSettings()
    if settings.embedded:
        cluster = Cluster(settings)
        cluster.start()
        return cluster.admin_url()
    return settings.url


def with_dbname(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def create_database(admin: str, prefix: str = "camdensity_test") -> str:
    """A new database with the schema applied; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_dbname(admin, name)
    with psycopg.connect(url) as conn:
        db.migrate(conn)
    return url


def drop_database(admin: str, url: str) -> None:
    """Drop the database `url` names, closing its sessions."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def pointed_at(url: str) -> Iterator[str]:
    """Every command and setting read inside uses `url` as DATABASE_URL; restored afterwards."""
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    clear_settings()
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
        clear_settings()


@contextmanager
def scratch_database(admin: str, prefix: str = "camdensity_test") -> Iterator[str]:
    """A migrated database that DATABASE_URL points at while inside; dropped afterwards."""
    url = create_database(admin, prefix)
    try:
        with pointed_at(url):
            yield url
    finally:
        drop_database(admin, url)
