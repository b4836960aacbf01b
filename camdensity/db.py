"""Connections to the store and the migration step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from camdensity import roles
from camdensity import sql as sqlfiles
from camdensity.settings import DatabaseSettings, database_settings

# Serialises concurrent `migrate` runs (e.g. two test sessions on one server).
MIGRATE_LOCK = 7_263_001


def database_url(settings: DatabaseSettings | None = None) -> str:
    """The URL commands use; starts the embedded cluster when no DATABASE_URL is set."""
    settings = settings or database_settings()
    if settings.embedded:
        from camdensity.cluster import Cluster

        Cluster(settings).start()
    return settings.url


def owner_url(settings: DatabaseSettings | None = None, url: str | None = None) -> str:
    """The owner's URL (camdensity.roles.prepare_owner), after the bootstrap by `url`'s (default:
    DATABASE_URL's) user when that is a superuser; starts the embedded cluster when needed."""
    settings = settings or database_settings()
    return roles.prepare_owner(url or database_url(settings), settings)


def migrated_owner_url(url: str | None = None) -> str:
    """The owner's URL with the migrations applied (as the owner)."""
    owner = owner_url(url=url)
    with psycopg.connect(owner) as conn:
        migrate(conn)
    return owner


@contextmanager
def connect(url: str | None = None, **kwargs: object) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the store (as the owner, unless given another URL)."""
    with psycopg.connect(url or owner_url(), **kwargs) as conn:
        yield conn


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied, then the API role's grants; returns their names.

    `conn` is the owner's (db.owner_url): what it creates, it owns.
    """
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration ("
            " version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migration")}
        for version, name, text in sqlfiles.migrations():
            if version in done:
                continue
            conn.execute(text)
            conn.execute(
                "INSERT INTO schema_migration (version, name) VALUES (%s, %s)", (version, name)
            )
            applied.append(name)
        # After every migration, so the read-only role covers the tables they added.
        roles.grant_api_role(conn, database_settings())
        roles.grant_report_roles(conn, database_settings())
    return applied
