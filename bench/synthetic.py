"""A synthetic CSV of camera reports resampled from real US camera points, reproducible from its seed.

Columns `id,lat,lon,type,operator`. Every row starts from a real camera point (DeFlock's
southeast ALPRs and OSM's US-west cameras in `../shared/data/us/`, else the bundled
`data/us/`), so the rows cluster like the cities those cameras are in; most are moved a little
(a street away, sigma `NEAR_SIGMA_M`), some further (the same town, `FAR_SIGMA_M`). A few per
cent of the rows are unusable on purpose (empty latitude, latitude 95, a non-numeric
longitude), so the importer's reject path is part of what is measured.

    python -m bench.synthetic 1000000 /tmp/cameras.csv [0.025]

`CAMDENSITY_BENCH_N` (read by bench/pipeline.py and bench/conftest.py) sets the rows.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parent.parent
# The real points: the shared data beside the checkout, else the bundled US file.
POINT_DIRS = (REPO.parent / "shared" / "data" / "us", REPO / "data" / "us")
METRES_PER_DEG_LAT = 111_320.0
NEAR_SIGMA_M = 150.0
FAR_SIGMA_M = 2_000.0
FAR_SHARE = 0.2
TYPES = ("alpr", "cctv", "traffic", "dome")
TYPE_WEIGHTS = (0.15, 0.55, 0.15, 0.15)
# Operator names as they appear in real lists; the importer normalises them to
# public/business/private/unknown ("" = no operator given).
OPERATORS = ("Seattle Police Department", "King County Metro", "WSDOT", "Acme Retail Inc",
             "Pike Place Market LLC", "private residence", "Homeowners Association", "")
OPERATOR_WEIGHTS = (0.15, 0.10, 0.10, 0.20, 0.10, 0.15, 0.05, 0.15)
# Share of unusable rows (2.5 %), split 40 % empty latitude, 40 % latitude 95, 20 % bad longitude.
INVALID_SHARE = 0.025
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class Synthetic:
    """A generated file and what it holds."""

    path: Path
    rows: int
    invalid: int


def real_points() -> np.ndarray:
    """(lat, lon) of the real camera points the rows are resampled from, shape (n, 2)."""
    return _real_points()


@cache
def _real_points() -> np.ndarray:
    for folder in POINT_DIRS:
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        points = [(float(e["lat"]), float(e["lon"])) for f in files
                  for e in json.loads(f.read_text()) if "lat" in e and "lon" in e]
        if points:
            return np.asarray(points, dtype=np.float64)
    raise FileNotFoundError(f"no real camera points in {', '.join(map(str, POINT_DIRS))}")


def _chunk(rng: np.random.Generator, start: int, n: int, anchors: np.ndarray,
           invalid_share: float) -> tuple[pa.Table, int]:
    """Rows `start`..`start + n - 1` as a table of text columns, and how many are unusable."""
    anchor = anchors[rng.integers(0, len(anchors), n)]
    sigma = np.where(rng.random(n) < FAR_SHARE, FAR_SIGMA_M, NEAR_SIGMA_M)
    lat_deg = np.clip(anchor[:, 0] + rng.normal(0, 1, n) * sigma / METRES_PER_DEG_LAT, -89.9, 89.9)
    lon_deg = anchor[:, 1] + rng.normal(0, 1, n) * sigma / (
        METRES_PER_DEG_LAT * np.cos(np.radians(anchor[:, 0])))
    lon_deg = (lon_deg + 180.0) % 360.0 - 180.0
    lat = pc.cast(pa.array(np.round(lat_deg, 6)), pa.string())
    lon = pc.cast(pa.array(np.round(lon_deg, 6)), pa.string())

    fate = rng.random(n) / invalid_share if invalid_share > 0 else np.ones(n)
    empty_lat = fate < 0.4
    lat_95 = (fate >= 0.4) & (fate < 0.8)
    bad_lon = (fate >= 0.8) & (fate < 1.0)
    lat = pc.if_else(pa.array(empty_lat), "", pc.if_else(pa.array(lat_95), "95.0", lat))
    lon = pc.if_else(pa.array(bad_lon), "n/a", lon)

    types = np.asarray(TYPES)[rng.choice(len(TYPES), n, p=TYPE_WEIGHTS)]
    operators = np.asarray(OPERATORS)[rng.choice(len(OPERATORS), n, p=OPERATOR_WEIGHTS)]
    ids = pc.binary_join_element_wise(
        "cam-", pc.cast(pa.array(np.arange(start + 1, start + n + 1)), pa.string()), "")
    table = pa.table({"id": ids, "lat": lat, "lon": lon,
                      "type": pa.array(types), "operator": pa.array(operators)})
    return table, int(empty_lat.sum() + lat_95.sum() + bad_lon.sum())


def write_cameras_csv(path: Path, rows: int, seed: int = 20240601,
                      invalid_share: float = INVALID_SHARE) -> Synthetic:
    """Write `rows` camera reports to `path` (atomically: a finished file or none)."""
    rng = np.random.default_rng(seed)
    anchors = real_points()
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    invalid = 0
    options = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")
    schema = pa.schema([(name, pa.string()) for name in ("id", "lat", "lon", "type", "operator")])
    try:
        with pacsv.CSVWriter(partial, schema, write_options=options) as writer:
            for start in range(0, rows, CHUNK_ROWS):
                table, bad = _chunk(rng, start, min(CHUNK_ROWS, rows - start), anchors,
                                    invalid_share)
                writer.write_table(table)
                invalid += bad
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return Synthetic(path, rows, invalid)


def main(argv: list[str]) -> None:
    """`python -m bench.synthetic ROWS OUT.csv [INVALID_SHARE]`."""
    if len(argv) not in (2, 3):
        raise SystemExit("usage: python -m bench.synthetic ROWS OUT.csv [INVALID_SHARE]")
    share = float(argv[2]) if len(argv) == 3 else INVALID_SHARE
    made = write_cameras_csv(Path(argv[1]), int(argv[0]), invalid_share=share)
    print(f"{made.path}: {made.rows:,} rows, {made.invalid:,} unusable")


if __name__ == "__main__":
    main(sys.argv[1:])
