"""A synthetic CSV of camera reports around Seattle, reproducible from its seed.

Columns `id,lat,lon,type,operator`. Points cover a ~30 x 30 km square centred on Seattle: most
of them in a few hundred Gaussian hot spots (downtown-like clusters), the rest uniform. A few
per cent of the rows are unusable on purpose (empty latitude, latitude 95, a non-numeric
longitude), so the importer's reject path is part of what is measured.

    python -m bench.synthetic 1000000 /tmp/cameras.csv [0.025]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

CENTRE_LAT, CENTRE_LON = 47.6, -122.33
HALF_SIDE_KM = 15.0
KM_PER_DEG_LAT = 111.32
TYPES = ("alpr", "cctv", "traffic", "dome")
TYPE_WEIGHTS = (0.15, 0.55, 0.15, 0.15)
# Operator names as they appear in real lists; the importer normalises them to
# public/business/private/unknown ("" = no operator given).
OPERATORS = ("Seattle Police Department", "King County Metro", "WSDOT", "Acme Retail Inc",
             "Pike Place Market LLC", "private residence", "Homeowners Association", "")
OPERATOR_WEIGHTS = (0.15, 0.10, 0.10, 0.20, 0.10, 0.15, 0.05, 0.15)
HOT_SPOTS = 300
CLUSTERED_SHARE = 0.7
CLUSTER_SIGMA_KM = 0.4
# Share of unusable rows (2.5 %), split 40 % empty latitude, 40 % latitude 95, 20 % bad longitude.
INVALID_SHARE = 0.025
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class Synthetic:
    """A generated file and what it holds."""

    path: Path
    rows: int
    invalid: int


def _chunk(rng: np.random.Generator, start: int, n: int, spots: np.ndarray,
           invalid_share: float) -> tuple[pa.Table, int]:
    """Rows `start`..`start + n - 1` as a table of text columns, and how many are unusable."""
    km_per_deg_lon = KM_PER_DEG_LAT * np.cos(np.radians(CENTRE_LAT))
    clustered = rng.random(n) < CLUSTERED_SHARE
    spot = spots[rng.integers(0, len(spots), n)]
    dy = np.where(clustered, spot[:, 0] + rng.normal(0, CLUSTER_SIGMA_KM, n),
                  rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM, n))
    dx = np.where(clustered, spot[:, 1] + rng.normal(0, CLUSTER_SIGMA_KM, n),
                  rng.uniform(-HALF_SIDE_KM, HALF_SIDE_KM, n))
    dy = np.clip(dy, -HALF_SIDE_KM, HALF_SIDE_KM)
    dx = np.clip(dx, -HALF_SIDE_KM, HALF_SIDE_KM)
    lat = pc.cast(pa.array(np.round(CENTRE_LAT + dy / KM_PER_DEG_LAT, 6)), pa.string())
    lon = pc.cast(pa.array(np.round(CENTRE_LON + dx / km_per_deg_lon, 6)), pa.string())

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
    spots = rng.uniform(-HALF_SIDE_KM * 0.9, HALF_SIDE_KM * 0.9, (HOT_SPOTS, 2))
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    invalid = 0
    options = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")
    schema = pa.schema([(name, pa.string()) for name in ("id", "lat", "lon", "type", "operator")])
    try:
        with pacsv.CSVWriter(partial, schema, write_options=options) as writer:
            for start in range(0, rows, CHUNK_ROWS):
                table, bad = _chunk(rng, start, min(CHUNK_ROWS, rows - start), spots,
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
