"""What the store holds: sources, cameras, sites, addresses, hexagons, and the data version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from camdensity.ingest.pipeline import POSITION_UNITS
from camdensity.sql import query

_LATEST_BUILD = (
    "SELECT snapshot, finished_at FROM build WHERE finished_at IS NOT NULL"
    " ORDER BY id DESC LIMIT 1"
)
_SITES_BY_CATEGORY = "SELECT category, count(*)::integer FROM site GROUP BY category ORDER BY category"


def stats(conn: psycopg.Connection) -> dict[str, Any]:
    """The store's contents as JSON-ready data (resolutions are string keys, as in JSON)."""
    build = conn.execute(_LATEST_BUILD).fetchone()
    sources = [
        {"name": name, "entity": entity, "kind": kind, "licence": licence,
         "imported_at": imported_at.isoformat(), "reports": reports, "rejected": rejected,
         "surveyed_empty": surveyed, "precision_m": precision}
        for name, entity, kind, licence, imported_at, reports, rejected, surveyed, precision
        in conn.execute(query("build_stats_sources"))
    ]
    cur = conn.execute(query("build_stats_totals"))
    totals = dict(zip([d.name for d in cur.description], cur.fetchone()))
    hexagons: dict[str, dict[str, int]] = {}
    withheld: dict[str, int] = {}
    for resolution, cells, cameras, held in conn.execute(query("build_stats_hexagons")):
        hexagons[str(resolution)] = {"cells": cells, "cameras": cameras}
        withheld[str(resolution)] = held
    return {
        "data_version": build[0] if build else None,
        "built_at": build[1].isoformat() if build else None,
        "sources": sources,
        # `cameras` counts devices (a point may stand for several); `camera_points` the fused points.
        "cameras": totals["cameras"],
        "camera_points": totals["camera_points"],
        "camera_reports": totals["camera_reports"],
        "cameras_multi_source": totals["multi_source"],
        "sites": dict(conn.execute(_SITES_BY_CATEGORY).fetchall()),
        "sites_with_exposure": totals["sites_with_exposure"],
        "addresses": totals["addresses"],
        "baseline_cells": totals["baseline_cells"],
        "hexagons": hexagons,
        "withheld": withheld,
    }


REJECT_COLUMNS: tuple[str, ...] = ("source", "entity", "file", "unit", "number", "reason", "raw")


def rejected_rows(conn: psycopg.Connection, source: str | None = None,
                  entity: str | None = None) -> Iterator[tuple[Any, ...]]:
    """Every rejected row as REJECT_COLUMNS (unit: line, element or feature), in file order."""
    with conn.cursor(name="rejected_rows") as cur:  # server-side: a million rejects never sit in memory
        cur.execute(query("rejected_rows"), {"source": source, "entity": entity})
        for name, entity_, file_name, fmt, number, reason, raw in cur:
            unit = POSITION_UNITS.get(fmt, "line") if number is not None else "object"
            yield name, entity_, file_name, unit, number, reason, raw


def print_stats(data: dict[str, Any], console: Console) -> None:
    """The same figures as tables for a person."""
    console.print(f"data version: [bold]{data['data_version'] or 'none (run camdensity build)'}[/]"
                  + (f"  built {data['built_at']}" if data["built_at"] else ""))
    sources = Table(title="sources")
    numbers = ("rows", "rejected", "surveyed empty")
    for column in ("name", "entity", "kind", "licence", *numbers):
        sources.add_column(column, justify="right" if column in numbers else "left")
    for s in data["sources"]:
        sources.add_row(s["name"], s["entity"], s["kind"], s["licence"] or "",
                        f"{s['reports']:,}", f"{s['rejected']:,}", f"{s['surveyed_empty']:,}")
    console.print(sources)
    store = Table(title="store")
    store.add_column("what")
    store.add_column("count", justify="right")
    store.add_row("cameras (devices)", f"{data['cameras']:,}")
    store.add_row("camera points (fused)", f"{data['camera_points']:,}")
    store.add_row("camera reports", f"{data['camera_reports']:,}")
    store.add_row("points seen by several sources", f"{data['cameras_multi_source']:,}")
    for category, n in data["sites"].items():
        store.add_row(f"sites: {category}", f"{n:,}")
    store.add_row("sites with exposure", f"{data['sites_with_exposure']:,}")
    store.add_row("addresses", f"{data['addresses']:,}")
    store.add_row("baseline cells", f"{data['baseline_cells']:,}")
    console.print(store)
    hexagons = Table(title="hexagons")
    for column in ("resolution", "cells", "cameras", "private withheld"):
        hexagons.add_column(column, justify="right")
    for resolution, h in data["hexagons"].items():
        hexagons.add_row(resolution, f"{h['cells']:,}", f"{h['cameras']:,}",
                         f"{data['withheld'][resolution]:,}")
    console.print(hexagons)
