"""The privacy rule as the README states it, recomputed with h3-py: the brute force that tests
compare every public figure with (independent of the build's SQL)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import h3
import psycopg

from camdensity.settings import MethodSettings

# (lon, lat, camera_type, operator_type, devices)
Camera = tuple[float, float, str, str, int]


def published(cameras: Iterable[Camera], settings: MethodSettings | None = None) -> list[Camera]:
    """What the public may see: non-private cameras as they are; private ones per cell of
    `private_resolution` holding at least `private_min_per_cell` of them, one aggregate per type
    at the cell's centre (a type with fewer than the minimum in the cell becomes 'unknown'),
    devices rounded to a multiple of `private_count_step` (at least one step)."""
    settings = settings or MethodSettings()
    k, step = settings.private_min_per_cell, settings.private_count_step
    out: list[Camera] = []
    cells: dict[str, list[Camera]] = defaultdict(list)
    for cam in cameras:
        if cam[3] == "private":
            cells[h3.latlng_to_cell(cam[1], cam[0], settings.private_resolution)].append(cam)
        else:
            out.append(cam)
    for cell, members in cells.items():
        if len(members) < k:
            continue
        lat, lon = h3.cell_to_latlng(cell)
        per_type: dict[str, list[Camera]] = defaultdict(list)
        for cam in members:
            per_type[cam[2]].append(cam)
        labelled: dict[str, int] = defaultdict(int)
        for ctype, group in per_type.items():
            labelled[ctype if len(group) >= k else "unknown"] += sum(c[4] for c in group)
        for ctype, devices in labelled.items():
            out.append((lon, lat, ctype, "private",
                        step * max(1, math.floor(devices / step + 0.5))))
    return out


def left_out(cameras: Iterable[Camera], settings: MethodSettings | None = None) -> int:
    """Private devices in cells below the minimum (what the rule leaves out)."""
    settings = settings or MethodSettings()
    cells: dict[str, list[int]] = defaultdict(list)
    for lon, lat, _, op, devices in cameras:
        if op == "private":
            cells[h3.latlng_to_cell(lat, lon, settings.private_resolution)].append(devices)
    return sum(sum(d) for d in cells.values() if len(d) < settings.private_min_per_cell)


def cell_of(cam: Camera, resolution: int, settings: MethodSettings | None = None) -> str:
    """The H3 cell a published camera counts in: its own, except that a private aggregate
    counts in its cell's parent at coarser resolutions (its centre may lie on their edges)."""
    settings = settings or MethodSettings()
    if cam[3] == "private" and resolution < settings.private_resolution:
        own = h3.latlng_to_cell(cam[1], cam[0], settings.private_resolution)
        return h3.cell_to_parent(own, resolution)
    return h3.latlng_to_cell(cam[1], cam[0], resolution)


def checked_published(conn: psycopg.Connection,
                      settings: MethodSettings | None = None) -> list[Camera]:
    """The store's `camera_published`, after checking it is `published(camera)` (positions to
    1e-9 degrees)."""
    cameras = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom), camera_type, operator_type, count FROM camera").fetchall()
    store = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom), camera_type, operator_type, count FROM camera_published"
    ).fetchall()

    def key(cam: Camera) -> tuple[Any, ...]:
        return (round(cam[0], 9), round(cam[1], 9), *cam[2:])

    assert sorted(map(key, store)) == sorted(map(key, published(cameras, settings)))
    return store
