"""Are a category's sites more watched than comparable places? The null-model comparison.

Exposure is the number of devices within the radius (private/residential cameras left out, so
the comparison never counts them near a place). The sites are every site of the category (in
the area, when a box is given); the baseline is drawn from a stated null model:
- `addresses` (default): imported addresses within `analysis_area_m` of a site of the category;
- `cells`: random points inside the H3 cells (baseline resolution) that hold an address or a
  non-private camera within that distance, so sea and forest never count as places.
The draw and every resample are seeded from the snapshot id and the question, so the same
question over the same data version gives the same answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

import h3
import numpy as np
import shapely
from psycopg import AsyncConnection

from camdensity import sql
from camdensity.evidence.stats import compare, seed_for
from camdensity.settings import EvidenceSettings, MethodSettings

NullModel = Literal["addresses", "cells"]
NULL_MODELS: dict[str, str] = {
    "addresses": "imported address points drawn at random from those within {area} m of a "
                 "site of the category",
    "cells": "random points inside the H3 resolution-{res} cells that hold an imported address "
             "or a non-private camera within {area} m of a site of the category",
}
METRIC = ("devices within the radius of the place (of the site's geometry), public, business "
          "and unknown operators; private/residential cameras are left out")

BBox = tuple[float, float, float, float]


class AnalysisError(ValueError):
    """A question the analysis cannot answer as asked (the service answers 422)."""


@dataclass(frozen=True)
class Question:
    """What is compared: a category, a radius, an area (None: around the sites), a null model."""

    category: str
    radius_m: int
    null_model: NullModel = "addresses"
    area: BBox | None = None

    def key(self) -> tuple[object, ...]:
        return (self.category, self.radius_m, self.null_model, self.area)


def _box(area: BBox | None) -> dict[str, float | None]:
    minlon, minlat, maxlon, maxlat = area if area else (None, None, None, None)
    return {"minlon": minlon, "minlat": minlat, "maxlon": maxlon, "maxlat": maxlat}


async def _rows(conn: AsyncConnection, name: str, params: dict[str, Any]) -> list[tuple]:
    cur = await conn.execute(sql.query(name), params)
    return await cur.fetchall()


def random_points_in_cells(cells: list[str], n: int,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`n` points uniform over the union of equal-area-ish cells: a cell at random, then a point
    uniform inside it (rejection from its bounding box)."""
    picks = rng.integers(0, len(cells), n)
    lons, lats = np.empty(n), np.empty(n)
    for k, index in enumerate(picks):
        polygon = shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cells[index])])
        minx, miny, maxx, maxy = polygon.bounds
        while True:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if shapely.contains_xy(polygon, x, y):
                lons[k], lats[k] = x, y
                break
    return lons, lats


async def baseline_values(conn: AsyncConnection, q: Question, seed: int, n: int,
                          area_m: float, resolution: int) -> tuple[np.ndarray, int]:
    """The baseline's exposure values, in draw order, and the size of the pool drawn from."""
    addresses = q.null_model == "addresses"
    points = await _rows(conn, "analysis_area_points", {
        "category": q.category, **_box(q.area), "area_m": area_m, "seed": seed,
        "with_cameras": not addresses, "n": n if addresses else None})
    if addresses:  # the drawn addresses themselves, in draw order
        lons, lats = np.array([p[0] for p in points]), np.array([p[1] for p in points])
        pool = points[0][2] if points else 0
    else:  # random points inside the cells that hold the area's points
        cells = sorted({h3.latlng_to_cell(lat, lon, resolution) for lon, lat, _ in points})
        if not cells:
            return np.empty(0), 0
        lons, lats = random_points_in_cells(cells, n, np.random.default_rng(seed))
        pool = len(cells)
    rows = await _rows(conn, "analysis_point_counts",
                       {"lons": lons.tolist(), "lats": lats.tolist(), "radius": q.radius_m})
    return np.array([r[0] for r in rows], dtype=float), pool


def check(q: Question, settings: EvidenceSettings, categories: tuple[str, ...]) -> None:
    """Refuse a category, radius or null model outside what is offered, naming the limit."""
    if q.category not in categories:
        raise AnalysisError(f"unknown category {q.category!r}; known: {', '.join(categories)}")
    if not 10 <= q.radius_m <= settings.analysis_max_radius_m:
        raise AnalysisError(f"radius must be 10..{settings.analysis_max_radius_m} m "
                            f"(CAMDENSITY_ANALYSIS_MAX_RADIUS_M), got {q.radius_m}")
    if q.null_model not in NULL_MODELS:
        raise AnalysisError(f"unknown null model {q.null_model!r}; known: "
                            f"{', '.join(NULL_MODELS)}")


async def analyse(conn: AsyncConnection, q: Question, snapshot: str,
                  settings: EvidenceSettings, method: MethodSettings) -> dict[str, Any]:
    """The comparison of the category's sites with the null model's places, as JSON."""
    seed = seed_for(snapshot, *q.key())
    site_rows = await _rows(conn, "analysis_sites",
                            {"category": q.category, **_box(q.area), "radius": q.radius_m})
    sites = np.array([r[2] for r in site_rows], dtype=float)
    baseline, pool = await baseline_values(conn, q, seed, settings.analysis_baseline_n,
                                           settings.analysis_area_m, method.baseline_resolution)
    # The resampling is CPU work: keep the event loop free for other requests meanwhile.
    result = await asyncio.to_thread(
        compare, sites, baseline, seed=seed, bootstrap=settings.analysis_bootstrap,
        permutations=settings.analysis_permutations, min_sites=settings.analysis_min_sites,
        min_baseline=settings.analysis_min_baseline)
    area = ({"bbox": list(q.area)} if q.area else
            {"around_sites_m": settings.analysis_area_m})
    return {
        "category": q.category,
        "radius_m": q.radius_m,
        "metric": METRIC,
        "null_model": {
            "name": q.null_model,
            "description": NULL_MODELS[q.null_model].format(
                area=f"{settings.analysis_area_m:g}", res=method.baseline_resolution),
            "pool": pool,
        },
        "area": area,
        **result.as_dict(),
        "confidence_level": 0.95,
        "bootstrap_resamples": settings.analysis_bootstrap,
        "permutations": settings.analysis_permutations,
        "p_value_test": "two-sided permutation test of the difference of means",
        "seed": seed,
        "snapshot": snapshot,
    }
