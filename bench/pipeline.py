"""The write side's benchmark: CSV -> ingest -> build, rebuilds, and the GeoParquet export.

Every figure is a ratio to a peer or floor measured in the same run, on the same file and server:
- `ingest_vs_copy`: `camdensity ingest cameras` / a bare COPY of the file into an unindexed text
  table plus one UPDATE setting the point (what `\\copy` + `UPDATE` does in psql);
- `ingest_build_s`: seconds from the CSV to a finished build (the CLI, in subprocesses);
- `peak_rss_gb`: the larger peak RSS of those subprocesses (getrusage of the children) plus the
  peak private (anonymous) memory of their PostgreSQL backends, sampled from /proc;
- `rebuild_1pct_vs_full`: a build after importing a source that touches 1% of the cameras / the
  full build; `rebuild_addresses_s`: a build after an addresses-only import;
- `export_vs_geopandas`: geopandas `read_postgis` + `to_parquet` of every resolution / our
  GeoParquet export of the same hexagons (`camdensity export hexagons`).

    python -m bench.pipeline            # CAMDENSITY_BENCH_N reports (default 1,000,000)

`run()` is what `make bench` calls; it returns the figures as a dict of numbers and notes.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

import psycopg

from bench import clisteps
from bench.synthetic import INVALID_SHARE, real_points, write_cameras_csv
from camdensity import testing

DEFAULT_N = 1_000_000
SEED = 20240601
REPO = Path(__file__).resolve().parent.parent
SITES_CSV = REPO / "data" / "us" / "ice_facilities_uwchr.csv"
RESOLUTIONS = list(range(6, 13))
CLISTEPS = [sys.executable, "-m", "bench.clisteps"]
COPY_TABLE = "bench_floor_copy"
# A decimal number as text; anything else is not a coordinate (no cast may fail mid-statement).
NUMBER = r"'^\s*-?[0-9]+(\.[0-9]*)?\s*$'"
# Targets of issue 10 (what the notes compare against).
TARGET_INGEST_BUILD_S = 60.0
TARGET_INGEST_VS_COPY = 5.0
TARGET_PEAK_RSS_GB = 3.0
TARGET_REBUILD = 0.10
TARGET_EXPORT = 3.0
T = TypeVar("T")


def bench_n() -> int:
    """Reports in the synthetic CSV (`CAMDENSITY_BENCH_N`)."""
    return int(os.environ.get("CAMDENSITY_BENCH_N", str(DEFAULT_N)))


def loadavg() -> str:
    """The machine's load (1, 5, 15 min) now: the machine is shared, figures are relative."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# --- peak memory of the PostgreSQL backends ---------------------------------------------------


class BackendMemory:
    """Samples the private memory (RssAnon) of every backend of one database, keeping the peak.

    Shared buffers are not counted: they are the server's, sized once, whatever the load.
    """

    def __init__(self, url: str, interval: float = 0.2) -> None:
        self.url, self.interval = url, interval
        self.peak_kb = 0
        self.readable = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        dbname = psycopg.conninfo.conninfo_to_dict(self.url)["dbname"]
        with psycopg.connect(self.url, autocommit=True) as conn:
            mine = conn.info.backend_pid
            while not self._stop.wait(self.interval):
                pids = [r[0] for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                    (dbname, mine))]
                total = sum(self._anon_kb(pid) for pid in pids)
                self.peak_kb = max(self.peak_kb, total)

    def _anon_kb(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        except PermissionError:
            self.readable = False  # the server runs as another user we may not read
        except OSError:
            pass  # the backend ended between the query and the read
        return 0


# --- steps ------------------------------------------------------------------------------------


def cli(url: str, *args: str) -> float:
    """Run `camdensity ARGS` against `url` in a subprocess; its wall-clock seconds."""
    return cli_steps(url, *args)[0]


def cli_steps(url: str, *args: str) -> tuple[float, dict[str, float]]:
    """Run `camdensity ARGS` against `url` in a subprocess (bench/clisteps.py: the real CLI, its
    progress steps also written to stderr); its wall-clock seconds and seconds per step."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run([*CLISTEPS, *args], env=env, capture_output=True, text=True,
                          check=False, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"camdensity {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, clisteps.steps(done.stderr, seconds)


def children_peak_gb() -> float:
    """Peak RSS of any waited-for child process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2


def copy_floor(url: str, csv_path: Path) -> float:
    """Seconds of the floor: COPY the file into an unindexed text table, one UPDATE of the point."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
        conn.execute(f"CREATE TABLE {COPY_TABLE} (id text, lat text, lon text, type text,"
                     " operator text, geom geometry(Point, 4326))")
        started = time.perf_counter()
        with conn.cursor() as cur, csv_path.open("rb") as f, cur.copy(
                f"COPY {COPY_TABLE} (id, lat, lon, type, operator)"
                " FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while block := f.read(1 << 20):
                copy.write(block)
        conn.execute(f"UPDATE {COPY_TABLE} SET geom = ST_SetSRID(ST_MakePoint("
                     f"lon::float8, lat::float8), 4326) WHERE lon ~ {NUMBER} AND lat ~ {NUMBER}")
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {COPY_TABLE}")
    return seconds


def write_change_csv(path: Path, rows: int, seed: int = SEED + 1) -> int:
    """A second source touching about `rows` cameras: resampled points like the first."""
    return write_cameras_csv(path, rows, seed, invalid_share=0.0).rows


def write_addresses_csv(path: Path, rows: int, seed: int = SEED + 2) -> int:
    """An address list around the real points (street, housenumber, city, lat, lon)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    anchors = real_points()
    pick = anchors[rng.integers(0, len(anchors), rows)]
    jitter = rng.normal(0, 0.002, (rows, 2))
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["street", "housenumber", "city", "lat", "lon"])
        for i, (lat, lon) in enumerate(pick + jitter):
            out.writerow([f"Bench Street {i % 500}", str(i + 1), "Benchville",
                          f"{lat:.6f}", f"{lon:.6f}"])
    return rows


def has_sites(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM site)").fetchone()[0]


def rebuild(out: dict[str, Any], url: str, name: str, entity: str, path: Path) -> None:
    """Import `path` as source `bench-<name>`, build; `rebuild_<name>_s` and its ratio to the
    full build go into `out`."""
    cli(url, "ingest", entity, str(path), "--source", f"bench-{name}")
    seconds, steps = cli_steps(url, "build", "--resolutions", ",".join(map(str, RESOLUTIONS)))
    out[f"rebuild_{name}_s"] = seconds
    out[f"rebuild_{name}_steps_s"] = steps
    out[f"rebuild_{name}_vs_full"] = seconds / out["build_s"]


def hexagon_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM hexagon").fetchone()[0]


def export_ours(url: str, out: Path) -> float:
    """Seconds of our GeoParquet export (what `camdensity export hexagons` runs, in-process as
    the geopandas peer is) of every built resolution."""
    from camdensity.service.exports import ExportFormat, ExportRequest, export_to_file

    started = time.perf_counter()
    for r in RESOLUTIONS:
        with (out / f"ours_r{r}.parquet").open("wb") as fh:
            export_to_file(url, ExportRequest(resolution=r), ExportFormat.parquet, fh)
    return time.perf_counter() - started


def export_sql_only(url: str) -> float:
    """Seconds of the export's SQL alone: the binary COPY of every resolution, read and dropped
    (the floor under our export; the reason given when it misses its target)."""
    from camdensity.service import exports

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for r in RESOLUTIONS:
            request = exports.ExportRequest(resolution=r)
            statement, params = exports._copy_statement(request)
            with exports.snapshot_transaction(conn):  # the export's own settings
                for setting in exports._scan_settings(request):
                    conn.execute(setting)
                with conn.cursor() as cur, cur.copy(statement, params) as copy:
                    for _ in copy:
                        pass
    return time.perf_counter() - started


def export_geopandas(url: str, out: Path) -> float:
    """Seconds of geopandas `read_postgis` + `to_parquet` of the same hexagons, per resolution."""
    import warnings

    import geopandas

    started = time.perf_counter()
    with psycopg.connect(url) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas: "only SQLAlchemy is tested"
        for r in RESOLUTIONS:
            frame = geopandas.read_postgis(
                f"SELECT * FROM hexagon WHERE resolution = {int(r)} ORDER BY h3", conn,
                geom_col="geom")
            frame = frame.drop(columns=["geom_3857"], errors="ignore")
            frame.to_parquet(out / f"geopandas_r{r}.parquet")
    return time.perf_counter() - started


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """`url` as given, else a scratch database of the run's own (dropped at the end)."""
    if url is not None:
        yield url
        return
    with testing.scratch_database(testing.admin_url(), prefix="camdensity_pipeline") as made:
        yield made


# --- the run ----------------------------------------------------------------------------------


def step(what: str, work: Callable[[], T]) -> T:
    """Run one step of the benchmark, saying what and how long it took (runs are long)."""
    started = time.perf_counter()
    print(f"   - {what}", flush=True)
    result = work()
    print(f"     {what}: {time.perf_counter() - started:.0f} s (load {loadavg()})", flush=True)
    return result


def reference_n(n: int) -> int:
    """Reports of the smaller reference build the growth check compares against
    (`CAMDENSITY_BENCH_GROWTH_N`; default a tenth of `n` above 1M, else none: 0)."""
    default = n // 10 if n > DEFAULT_N else 0
    return int(os.environ.get("CAMDENSITY_BENCH_GROWTH_N", str(default)))


def export_peer_wanted(n: int) -> bool:
    """Whether to run the geopandas peer (`CAMDENSITY_BENCH_EXPORT_PEER=1`/`0`; default up to
    2M reports): it holds a whole resolution in memory, gigabytes at 10M."""
    flag = os.environ.get("CAMDENSITY_BENCH_EXPORT_PEER")
    return n <= 2 * DEFAULT_N if flag is None else flag == "1"


def ingest_and_build(db: str, csv_path: Path) -> dict[str, Any]:
    """Import `csv_path` and build every resolution: seconds and seconds per step of each."""
    ingest_s, ingest_steps = cli_steps(db, "ingest", "cameras", str(csv_path), "--source", "bench")
    build_s, build_steps = cli_steps(db, "build", "--resolutions", ",".join(map(str, RESOLUTIONS)))
    return {"ingest_s": ingest_s, "build_s": build_s,
            "ingest_steps_s": ingest_steps, "build_steps_s": build_steps}


def ingest_sites(db: str) -> None:
    if not has_sites(db):  # a store given with its own sites keeps them (no duplicates)
        cli(db, "ingest", "sites", str(SITES_CSV), "--source", "bench-sites",
            "--category", "immigration", "--licence", "CC-BY-4.0")


def growth(out: dict[str, Any], work: Path, n_ref: int) -> None:
    """The same ingest and build at `n_ref` reports in a scratch database of its own: how build
    time grows from `n_ref` to `n` against linear (`build_growth_vs_linear` <= 1: at most)."""
    csv_path = work / f"cameras_{n_ref}.csv"
    write_cameras_csv(csv_path, n_ref, SEED, INVALID_SHARE)
    with database(None) as ref_db:
        ingest_sites(ref_db)
        ref = ingest_and_build(ref_db, csv_path)
    csv_path.unlink()
    out["growth_n_reports"] = n_ref
    out["growth_build_s"] = ref["build_s"]
    out["growth_ingest_s"] = ref["ingest_s"]
    out["build_growth_vs_linear"] = (out["build_s"] / ref["build_s"]) / (out["n_reports"] / n_ref)


def run(url: str | None = None, n: int | None = None) -> dict[str, Any]:
    """Run the write-side benchmark on `n` reports (default CAMDENSITY_BENCH_N) in `url` (default
    a scratch database); the figures as a dict (seconds, ratios, notes on missed targets)."""
    n = n or bench_n()
    out: dict[str, Any] = {"n_reports": n, "pipeline_loadavg_start": loadavg()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="camdensity-bench-") as tmp, database(url) as db:
        work = Path(tmp)
        csv_path = work / f"cameras_{n}.csv"
        made = step(f"write {n:,} synthetic reports",  # streamed, 1M rows at a time
                    lambda: write_cameras_csv(csv_path, n, SEED, INVALID_SHARE))
        out["n_unusable"] = made.invalid
        ingest_sites(db)

        out["copy_floor_s"] = step("bare COPY floor", lambda: copy_floor(db, csv_path))
        with BackendMemory(db) as backends:
            out.update(step("ingest and build", lambda: ingest_and_build(db, csv_path)))
        out["load_after_build"] = loadavg()
        csv_path.unlink()  # gigabytes at 10M; nothing reads it again
        out["ingest_build_s"] = out["ingest_s"] + out["build_s"]
        out["ingest_vs_copy"] = out["ingest_s"] / out["copy_floor_s"]
        out["client_peak_rss_gb"] = children_peak_gb()
        out["backend_peak_anon_gb"] = backends.peak_kb / 1024**2
        out["peak_rss_gb"] = out["client_peak_rss_gb"] + out["backend_peak_anon_gb"]
        if not backends.readable:
            out["note_peak_rss"] = "backend memory not readable (server runs as another user)"
        out["hexagons"] = hexagon_rows(db)

        # A change touching 1% of the cameras (a second source of that many reports), then an
        # addresses-only import: each followed by a build, timed against the full one.
        change = work / "change.csv"
        write_change_csv(change, max(1, n // 100))
        step("rebuild after a 1% change", lambda: rebuild(out, db, "1pct", "cameras", change))
        addresses = work / "addresses.csv"
        write_addresses_csv(addresses, max(1000, n // 100))
        step("rebuild after an addresses import",
             lambda: rebuild(out, db, "addresses", "addresses", addresses))

        out["export_s"] = step("export ours", lambda: export_ours(db, work))
        if export_peer_wanted(n):
            out["export_geopandas_s"] = step("export geopandas",
                                             lambda: export_geopandas(db, work))
            out["export_vs_geopandas"] = out["export_geopandas_s"] / out["export_s"]
            if out["export_vs_geopandas"] < TARGET_EXPORT:  # the floor under it, for the reason
                out["export_sql_s"] = step("export SQL alone", lambda: export_sql_only(db))
        else:
            out["export_vs_geopandas"] = None
            out["export_vs_geopandas_missing_reason"] = (
                f"geopandas peer not run at {n:,} reports: it holds a whole resolution in "
                "memory (CAMDENSITY_BENCH_EXPORT_PEER=1 runs it)")
        out["load_after_export"] = loadavg()
        if n_ref := reference_n(n):
            step(f"reference build at {n_ref:,} reports", lambda: growth(out, work, n_ref))
    out["pipeline_s"] = time.perf_counter() - started
    out["pipeline_loadavg_end"] = loadavg()
    out.update(notes(out))
    return out


def _per(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 and n % 100_000 == 0 else f"{n:,}"


def notes(out: dict[str, Any]) -> dict[str, str]:
    """`missed_<figure>`: for every missed target, the measured figure, by how much it missed
    and a short reason from the run's own figures. A figure measured at another size than its
    target's (ingest + build is for 1M reports, peak RSS for 10M) is never extrapolated: it is
    judged only when that size decides it (already over at a smaller size, or under at a
    larger one), else `unjudged_<figure>` says so."""
    notes: dict[str, str] = {}
    n = out["n_reports"]
    load = f"load average {out.get('load_after_build', '?')} on {os.cpu_count()} cores"

    def sized(key: str, value: float, target: float, target_n: int, what: str,
              reason: str) -> None:
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"  # 2,158 s, not 2.16e+03
        at = f"{shown} {what} at {_per(n)} reports"
        if n != target_n:
            at += f" (the target is for {_per(target_n)}; not extrapolated)"
        if value > target and n <= target_n:
            notes[f"missed_{key}"] = (f"{at}: {value / target:.2f}x the target of under "
                                      f"{target:g} {what}; {reason}")
        elif value > target or (n < target_n):
            notes[f"unjudged_{key}"] = (f"{at}, target under {target:g} {what} at "
                                        f"{_per(target_n)}: run CAMDENSITY_BENCH_N={target_n} "
                                        "to judge it")

    sized("ingest_build_s", out["ingest_build_s"], TARGET_INGEST_BUILD_S, DEFAULT_N, "s",
          f"ingest {out['ingest_s']:.0f} s, build {out['build_s']:.0f} s; slowest build "
          f"steps: {clisteps.slowest(out['build_steps_s'])}; {load}")
    sized("peak_rss_gb", out["peak_rss_gb"], TARGET_PEAK_RSS_GB, 10 * DEFAULT_N, "GB",
          f"client {out['client_peak_rss_gb']:.2f} GB + database backends "
          f"{out['backend_peak_anon_gb']:.2f} GB")
    if out["ingest_vs_copy"] > TARGET_INGEST_VS_COPY:
        notes["missed_ingest_vs_copy"] = (
            f"ingest {out['ingest_s']:.1f} s = {out['ingest_vs_copy']:.1f}x the bare COPY "
            f"({out['copy_floor_s']:.1f} s), {out['ingest_vs_copy'] / TARGET_INGEST_VS_COPY:.2f}x "
            f"the target of within {TARGET_INGEST_VS_COPY:g}x; slowest ingest steps: "
            f"{clisteps.slowest(out['ingest_steps_s']) or 'not reported'}; {load}")
    if out["rebuild_1pct_vs_full"] > TARGET_REBUILD:
        notes["missed_rebuild_1pct_vs_full"] = (
            f"rebuild {out['rebuild_1pct_s']:.0f} s = {out['rebuild_1pct_vs_full']:.2f} of the "
            f"full build ({out['build_s']:.0f} s), {out['rebuild_1pct_vs_full'] / TARGET_REBUILD:.1f}x "
            f"the target of under {TARGET_REBUILD:g}; slowest rebuild steps: "
            f"{clisteps.slowest(out['rebuild_1pct_steps_s'])}")
    ratio = out.get("export_vs_geopandas")
    if ratio is not None and ratio < TARGET_EXPORT:
        notes["missed_export_vs_geopandas"] = (
            f"{ratio:.2f}x faster than geopandas ({out['export_s']:.1f} s vs "
            f"{out['export_geopandas_s']:.1f} s for {out['hexagons']:,} hexagons), "
            f"{TARGET_EXPORT / ratio:.2f}x short of the target of {TARGET_EXPORT:g}x; the export's "
            f"SQL alone takes {out.get('export_sql_s', float('nan')):.1f} s; load average "
            f"{out.get('load_after_export', '?')}")
    growth = out.get("build_growth_vs_linear")
    if growth is not None and growth > 1.0:
        notes["missed_build_growth_vs_linear"] = (
            f"build {out['build_s']:.0f} s at {_per(n)} vs {out['growth_build_s']:.0f} s at "
            f"{_per(out['growth_n_reports'])}: {growth:.2f}x linear growth (target at most 1)")
    return notes


def main() -> None:
    """`python -m bench.pipeline`: run and print the figures as JSON."""
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
