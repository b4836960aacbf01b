"""The store: the embedded cluster answers, the schema migrates and is idempotent."""

from __future__ import annotations

import psycopg

from camdensity import db


def test_schema_has_postgis_and_tables(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        assert version.startswith("3.")
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        for t in ("source", "camera_report", "camera", "rejected_row", "site", "address",
                  "hexagon", "site_exposure", "build"):
            assert t in tables, t


def test_migrate_twice_applies_nothing(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert db.migrate(conn) == []
        n = conn.execute("SELECT count(*) FROM schema_migration").fetchone()[0]
        assert n >= 1


def test_normalize_strips_accents_and_case(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        got = conn.execute("SELECT camdensity_normalize('Pohjoisesplanadi  ÄÖÅ Straße')").fetchone()[0]
        assert got == "pohjoisesplanadi aoa strasse"
