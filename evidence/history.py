"""History between data versions: a site's exposure per build, and what changed between two builds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import h3
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from camdensity import sql
from camdensity.settings import EXPOSURE_RADII_M


class HistoryError(ValueError):
    """A snapshot that is unknown, or whose history retention pruned."""


def data_dates(sources: list[dict[str, Any]]) -> list[str]:
    """The distinct dates the build's sources' data are of, oldest first."""
    return sorted({str(s["data_date"])[:10] for s in sources if s.get("data_date")})


async def site_history(conn: AsyncConnection, site_id: int) -> list[dict[str, Any]]:
    """The site's exposure in every retained build, oldest first (None where it was absent)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql.query("history_site"), {"site_id": site_id})
        rows = await cur.fetchall()
    return [{
        "snapshot": r["snapshot"],
        "built_at": r["finished_at"].isoformat(),
        "data_dates": data_dates(r["sources"]),
        "present": r["present"],
        "exposure": {
            **{f"cameras_{m}m": r[f"cameras_{m}m"] for m in EXPOSURE_RADII_M},
            "effective_cameras": round(r["effective_cameras"], 3),
            "facing_200m": r["facing_200m"],
        } if r["present"] else None,
    } for r in rows]


def _build(conn: psycopg.Connection, a: str, b: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two builds, refusing unknown or pruned snapshots with a message naming the setting."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = {r["snapshot"]: r for r in cur.execute(sql.query("history_builds"),
                                                       {"a": a, "b": b}).fetchall()}
    for snap in (a, b):
        if snap not in rows:
            raise HistoryError(f"no finished build has snapshot id {snap!r}")
        if rows[snap]["pruned_at"] is not None:
            raise HistoryError(
                f"the history of snapshot {snap!r} was pruned on "
                f"{rows[snap]['pruned_at']:%Y-%m-%d} (CAMDENSITY_HISTORY_KEEP_BUILDS keeps the "
                "newest builds only); its build row still names its sources and parameters")
    return rows[a], rows[b]


def diff(conn: psycopg.Connection, a: str, b: str, resolution: int = 9,
         top: int = 10) -> dict[str, Any]:
    """What changed from snapshot `a` to `b`: cells and sites changed most, reports added/removed."""
    first, second = _build(conn, a, b)
    ids = {"a": first["id"], "b": second["id"], "top": top}
    with conn.cursor(row_factory=dict_row) as cur:
        cells = cur.execute(sql.query("history_diff_cells"),
                            {**ids, "resolution": resolution}).fetchall()
        sites = cur.execute(sql.query("history_diff_sites"), ids).fetchall()
        early, late = sorted((first["finished_at"], second["finished_at"]))
        reports = cur.execute(sql.query("history_diff_reports"),
                              {"after": early, "until": late}).fetchall()
        totals = cur.execute(
            "SELECT build_id, sum(cameras)::integer FROM hexagon_history "
            "WHERE build_id IN (%(a)s, %(b)s) AND resolution = %(resolution)s GROUP BY build_id",
            {**ids, "resolution": resolution}).fetchall()
    shown = {build_id: n for build_id, n in (tuple(t.values()) for t in totals)}

    def when(d: datetime) -> str:
        return d.isoformat()

    return {
        "from": {"snapshot": a, "built_at": when(first["finished_at"]),
                 "data_dates": data_dates(first["sources"]), "cameras": shown.get(first["id"], 0)},
        "to": {"snapshot": b, "built_at": when(second["finished_at"]),
               "data_dates": data_dates(second["sources"]), "cameras": shown.get(second["id"], 0)},
        "resolution": resolution,
        "cells": [{**c, "h3": h3.int_to_str(c["h3"])} for c in cells],
        "sites": sites,
        "reports": reports,
        "reports_note": ("reports added and removed by source versions imported between the "
                         "two builds" + ("" if early == first["finished_at"] else
                                         " (the builds were given newest first)")),
    }


def show_diff(d: dict[str, Any]) -> str:
    """The diff as lines a person reads."""
    a, b = d["from"], d["to"]
    lines = [(f"{a['snapshot']} ({a['built_at'][:10]}) -> {b['snapshot']} ({b['built_at'][:10]}): "
             f"cameras shown {a['cameras']} -> {b['cameras']} ({b['cameras'] - a['cameras']:+d})")]
    lines.append(f"cells changed most (resolution {d['resolution']}):" if d["cells"]
                 else "no cell changed")
    lines += [f"  {c['h3']}  {c['before']} -> {c['after']} ({c['change']:+d})" for c in d["cells"]]
    lines.append("sites changed most (cameras within 200 m):" if d["sites"]
                 else "no site's exposure changed")
    lines += [f"  {s['category']:<12} {s['name'] or s['site_key']}: {s['before']} -> "
              f"{s['after']} ({s['change']:+d}, {s['status']})" for s in d["sites"]]
    lines.append("camera reports added/removed by source:" if d["reports"]
                 else "no camera source changed in between")
    lines += [f"  {r['name']}: +{r['added']} -{r['removed']}"
              + (f" (removed by type: {', '.join(f'{k} {v}' for k, v in r['removed_by_type'].items())})"
                 if r["removed_by_type"] else "") for r in d["reports"]]
    return "\n".join(lines)
