"""The serving half of `make bench`: tiles and coverage under wrk, against tipg and the raw SQL.

On a database holding a finished build (bench/run.py prepares it):

- **tiles warm**: `camdensity serve` (one worker per core) answering 200 non-empty tiles z8-z15
  from its cache, under `wrk -c32`; **tiles cold**: the same with the tile cache off
  (`CAMDENSITY_TILE_CACHE_SIZE=0`), every request a query;
- **peer**: tipg (developmentseed), pip-installed in its own venv (`.bench/tipg-venv`), same
  worker count, serving per-resolution views of the same hexagons (schema `tipg_bench`,
  `hex_r6`..`hex_r12`: the tile's attributes and `geom_3857`); each tile URL asks the view of
  the resolution our zoom table draws at that zoom;
- **floor**: `sql/queries/tile_mvt.sql` itself in pgbench (prepared and planned once per
  connection, `plan_cache_mode=force_generic_plan`, as the server runs it; 8 clients), the tile picked
  at random from the same 200 (`\\gset` from a lookup table: one extra primary-key read);
- **coverage**: `/coverage?lat=..&lon=..&radius=200` at 200 points near cameras, 16 connections,
  p50/p99; floor: `sql/queries/coverage.sql` in pgbench, 16 clients.

Each measure is the median of `CAMDENSITY_BENCH_RUNS` (default 3) runs of
`CAMDENSITY_BENCH_SECONDS` (default 10) seconds. Needs wrk and pgbench
(scripts/install-system.sh --bench).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.publish_serving import WRK_SCRIPT  # replays `path [byte range]` lines
from camdensity import sql, testing
from camdensity.settings import (
    CAMERA_TYPES,
    OPERATOR_TYPES,
    evidence_settings,
    method_settings,
    service_settings,
)
from camdensity.tiles.grid import resolution_for_zoom

ROOT = Path(__file__).resolve().parent.parent
TIPG_VENV = ROOT / ".bench" / "tipg-venv"
TIPG_SCHEMA = "tipg_bench"
ZOOMS = range(8, 16)
TILES_PER_ZOOM = 25
POINTS = 200
TILE_CONNECTIONS = 32
COVERAGE_CONNECTIONS = 16
TILE_SQL_CLIENTS = 8
COVERAGE_RADIUS_M = 200
SEED = 0.42

# Targets of issue 10.
TARGET_WARM_VS_TIPG = 10.0
TARGET_WARM_P99_MS = 20.0
TARGET_COLD_VS_TIPG = 2.5
TARGET_COLD_VS_SQL = 0.7
TARGET_COVERAGE_P50_MS = 10.0
TARGET_COVERAGE_P99_MS = 30.0



def say(line: str) -> None:
    print(line, flush=True)


def runs() -> int:
    return int(os.environ.get("CAMDENSITY_BENCH_RUNS", "3"))


def seconds() -> int:
    return int(os.environ.get("CAMDENSITY_BENCH_SECONDS", "10"))


def workers() -> int:
    return service_settings().worker_count


# --- what is requested ------------------------------------------------------------------------


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point at zoom z."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def sample_tiles(conn: psycopg.Connection) -> list[tuple[int, int, int, int]]:
    """(z, x, y, resolution) of up to 200 distinct tiles z8-z15, each holding a hexagon with
    cameras (a reproducible sample: seeded random order)."""
    zoom_res = service_settings().tile_zoom_resolutions
    conn.execute("SELECT setseed(%s)", (SEED,))
    tiles: list[tuple[int, int, int, int]] = []
    for z in ZOOMS:
        res = resolution_for_zoom(z, zoom_res)
        rows = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM hexagon "
            "WHERE resolution = %s AND cameras > 0 ORDER BY random() LIMIT %s) s",
            (res, TILES_PER_ZOOM * 4),
        ).fetchall()
        seen: set[tuple[int, int]] = set()
        for lon, lat in rows:
            xy = tile_of(lon, lat, z)
            if xy not in seen:
                seen.add(xy)
                tiles.append((z, *xy, res))
            if len(seen) == TILES_PER_ZOOM:
                break
    return tiles


def sample_points(conn: psycopg.Connection) -> list[tuple[float, float]]:
    """(lat, lon) of 200 places near published cameras (seeded random order)."""
    conn.execute("SELECT setseed(%s)", (SEED,))
    return [(round(lat, 6), round(lon, 6)) for lat, lon in conn.execute(
        "SELECT ST_Y(geom) + 0.0005, ST_X(geom) - 0.0005 FROM camera_published "
        "ORDER BY random() LIMIT %s", (POINTS,)).fetchall()]


# --- tools ------------------------------------------------------------------------------------


def wrk(base: str, paths: Path, script: Path, connections: int) -> dict[str, float]:
    """One wrk run replaying `paths`: requests/s, p50 and p99 in ms, non-2xx/3xx answers."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds()}s", "--latency", "-s", str(script),
         base, "--", str(paths)],
        check=True, capture_output=True, text=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def _ms(text: str) -> float:
    """wrk's latency text (`812.00us`, `3.20ms`, `1.02s`) in milliseconds."""
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def pgbench(url: str, script: Path, clients: int) -> float:
    """Transactions/s of one pgbench run of `script` (prepared statements, each planned once per
    connection, as the server's pool for tiles and /coverage runs them: service/database.py)."""
    out = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds()),
         "-f", str(script), url],
        check=True, capture_output=True, text=True,
        env={**os.environ, "PGOPTIONS": "-c plan_cache_mode=force_generic_plan"},
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]


def median_of(what: str, measure: Callable[[], Any]) -> Any:
    """The median run of `measure` (by requests/s when it returns figures)."""
    results = [measure() for _ in range(runs())]
    if isinstance(results[0], dict):
        results.sort(key=lambda r: r["rps"])
        best = results[len(results) // 2]
        each = ", ".join(f"{r['rps']:,.0f}" for r in results)
        say(f"   {what}: {best['rps']:,.0f} req/s, p50 {best['p50_ms']:.1f} ms, "
            f"p99 {best['p99_ms']:.1f} ms (runs: {each})")
        return best
    value = statistics.median(results)
    say(f"   {what}: {value:,.0f} tps (runs: {', '.join(f'{r:,.0f}' for r in results)})")
    return value


def ours(url: str, port: int, cache: bool) -> Any:
    """`camdensity serve` on `port` (tile cache on or off; no /metrics: as configured by default)."""
    env = {k: v for k, v in os.environ.items() if k != "CAMDENSITY_METRICS_PORT"}
    env["DATABASE_URL"] = url
    if not cache:
        env["CAMDENSITY_TILE_CACHE_SIZE"] = "0"
    command = [sys.executable, "-m", "camdensity", "serve", "--port", str(port),
               "--workers", str(workers())]
    return testing.serving(command, port, env, ROOT)


# --- tipg -------------------------------------------------------------------------------------

TIPG_VIEW = """
CREATE OR REPLACE VIEW {schema}.hex_r{res} AS
SELECT to_hex(h3) AS h3, resolution::int AS resolution, cameras, n_cctv AS cctv,
       n_doorbell AS doorbell, n_alpr AS alpr, n_dome AS dome, n_ptz AS ptz,
       n_traffic AS traffic, n_speed AS speed, n_gunshot AS gunshot, n_unknown AS unknown,
       op_public, op_business, op_private, op_unknown, density_km2, d_clinic, d_school,
       d_immigration, surveyed, geom_3857 AS geom
FROM public.hexagon WHERE resolution = {res}
"""


def tipg_python() -> Path:
    """tipg's venv (made on first use: `python -m venv .bench/tipg-venv`, `pip install tipg`)."""
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        say("   installing tipg into .bench/tipg-venv")
        subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
    return python


def tipg_views(url: str, resolutions: set[int]) -> None:
    """Per-resolution views of the hexagons for tipg (the bench database is dropped after)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {TIPG_SCHEMA}")
        for res in sorted(resolutions):
            # Identifiers and resolutions are this module's constants, never input.
            conn.execute(TIPG_VIEW.format(schema=TIPG_SCHEMA, res=int(res)))  # type: ignore[arg-type]


def tipg(url: str, port: int) -> Any:
    """tipg on `port`, same worker count, serving schema tipg_bench (settings: README)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    # tipg wants a URL with a host: a socket directory goes there percent-encoded (asyncpg).
    host = urllib.parse.quote(str(info.get("host", "localhost")), safe="")
    password = f":{urllib.parse.quote(str(info['password']), safe='')}" if info.get("password") else ""
    dsn = (f"postgresql://{info['user']}{password}@{host}:{info.get('port', 5432)}"
           f"/{info['dbname']}")
    env = {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_SCHEMAS": f'["{TIPG_SCHEMA}"]',
           "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public"]', "TIPG_MAX_FEATURES_PER_TILE": "100000",
           "TIPG_DB_MIN_CONN_SIZE": "1", "TIPG_DB_MAX_CONN_SIZE": "8"}
    command = [str(tipg_python()), "-m", "uvicorn", "tipg.main:app", "--port", str(port),
               "--workers", str(workers()), "--no-access-log", "--log-level", "warning"]
    return testing.serving(command, port, env, ROOT)


# --- pgbench scripts ------------------------------------------------------------------------


def tile_sql_script(tiles: list[tuple[int, int, int, int]]) -> str:
    """pgbench: one of the sampled tiles at random, then tile_mvt.sql with the API's parameters."""
    text = sql.query("tile_mvt").strip().rstrip(";")
    text = "\n".join(line.split("--")[0] for line in text.splitlines())
    types = "{" + ",".join(CAMERA_TYPES) + "}"
    operators = "{" + ",".join(OPERATOR_TYPES) + "}"
    values = {10: str(evidence_settings().fov_min_zoom), 9: str(method_settings().near_site_radius_m),
              8: "NULL", 7: f"'{operators}'", 6: f"'{types}'", 5: "false", 4: ":r", 3: ":y",
              2: ":x", 1: ":z"}
    for n, value in values.items():  # $10 before $1
        text = text.replace(f"${n}", value)
    text = " ".join(text.split())  # pgbench reads one statement per line
    return (f"\\set i random(1, {len(tiles)})\n"
            "SELECT z, x, y, r FROM bench_tile WHERE i = :i \\gset\n" + text + ";\n")


def coverage_sql_script(points: list[tuple[float, float]]) -> str:
    """pgbench: one of the sampled points at random, then coverage.sql for a 200 m radius."""
    from camdensity.service.routes import coverage

    text = coverage.coverage_statement()
    text = "\n".join(line.split("--")[0] for line in text.splitlines())
    for name, value in coverage_sql_values().items():
        text = text.replace(f"%({name})s", value)
    text = " ".join(text.split())
    return (f"\\set i random(1, {len(points)})\n"
            "SELECT lat, lon FROM bench_point WHERE i = :i \\gset\n" + text + ";\n")


def coverage_sql_values() -> dict[str, str]:
    """coverage.sql's parameters as the route passes them, in pgbench's words."""
    from camdensity.service.routes import coverage

    def literal(value: Any) -> str:
        return "NULL" if value is None else str(value)

    return {name: literal(value) for name, value in
            coverage.statement_parameters(0.0, 0.0, COVERAGE_RADIUS_M).items()} | {
        "lat": ":lat", "lon": ":lon"}


def lookup_tables(url: str, tiles: list[tuple[int, int, int, int]],
                  points: list[tuple[float, float]]) -> None:
    """bench_tile and bench_point: what the pgbench scripts pick from."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_tile (i int PRIMARY KEY, z int, x int, "
                     "y int, r int)")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_point (i int PRIMARY KEY, lat float8, "
                     "lon float8)")
        conn.execute("TRUNCATE bench_tile, bench_point")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_tile VALUES (%s, %s, %s, %s, %s)",
                            [(i + 1, *t) for i, t in enumerate(tiles)])
            cur.executemany("INSERT INTO bench_point VALUES (%s, %s, %s)",
                            [(i + 1, *p) for i, p in enumerate(points)])


# --- the run ----------------------------------------------------------------------------------


def run(url: str, work: Path) -> dict[str, Any]:
    """Every serving figure, its peer/floor, target and whether it was met."""
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: scripts/install-system.sh --bench")
    with psycopg.connect(url) as conn:
        tiles = sample_tiles(conn)
        points = sample_points(conn)
    say(f"   {len(tiles)} tiles z{ZOOMS.start}-z{ZOOMS.stop - 1}, {len(points)} coverage points, "
        f"{workers()} workers, {runs()} runs of {seconds()} s each")
    lookup_tables(url, tiles, points)
    tipg_views(url, {t[3] for t in tiles})
    script = work / "replay.lua"
    script.write_text(WRK_SCRIPT)
    ours_paths = work / "tiles.txt"
    ours_paths.write_text("".join(f"/tiles/{z}/{x}/{y}.mvt\n" for z, x, y, _ in tiles))
    tipg_paths = work / "tipg.txt"
    tipg_paths.write_text("".join(
        f"/collections/{TIPG_SCHEMA}.hex_r{r}/tiles/WebMercatorQuad/{z}/{x}/{y}\n"
        for z, x, y, r in tiles))
    coverage_paths = work / "coverage.txt"
    coverage_paths.write_text("".join(
        f"/coverage?lat={lat}&lon={lon}&radius={COVERAGE_RADIUS_M}\n" for lat, lon in points))
    tile_script = work / "tile.sql"
    tile_script.write_text(tile_sql_script(tiles))
    coverage_script = work / "coverage.sql"
    coverage_script.write_text(coverage_sql_script(points))

    out: dict[str, Any] = {"serving_workers": workers(), "tiles_sampled": len(tiles),
                           "wrk_connections": TILE_CONNECTIONS}
    port = testing.free_port()
    base = f"http://127.0.0.1:{port}"
    with ours(url, port, cache=True):
        for z, x, y, _ in tiles:  # every worker's cache: requests spread over the workers
            for _ in range(workers() * 2):
                urllib.request.urlopen(f"{base}/tiles/{z}/{x}/{y}.mvt", timeout=60).close()
        warm = median_of("tiles warm (ours)", lambda: wrk(base, ours_paths, script,
                                                           TILE_CONNECTIONS))
        coverage = median_of("coverage (ours, 16 conns)", lambda: wrk(
            base, coverage_paths, script, COVERAGE_CONNECTIONS))
    with ours(url, port, cache=False):
        cold = median_of("tiles cold (ours, cache off)", lambda: wrk(base, ours_paths, script,
                                                                      TILE_CONNECTIONS))
    with tipg(url, port):
        peer = median_of("tiles (tipg)", lambda: wrk(base, tipg_paths, script, TILE_CONNECTIONS))
    floor = median_of(f"tile_mvt.sql in pgbench ({TILE_SQL_CLIENTS} clients)",
                      lambda: pgbench(url, tile_script, TILE_SQL_CLIENTS))
    coverage_floor = median_of(f"coverage.sql in pgbench ({COVERAGE_CONNECTIONS} clients)",
                               lambda: pgbench(url, coverage_script, COVERAGE_CONNECTIONS))
    for what, figures in (("warm", warm), ("cold", cold), ("tipg", peer), ("coverage", coverage)):
        if figures["errors"]:
            say(f"   warning: {what}: {figures['errors']:.0f} answers were not 2xx/3xx")

    out.update({
        "tiles_warm_rps": warm["rps"], "tiles_warm_p50_ms": warm["p50_ms"],
        "tiles_warm_p99_ms": warm["p99_ms"],
        "tiles_cold_rps": cold["rps"], "tiles_cold_p50_ms": cold["p50_ms"],
        "tiles_cold_p99_ms": cold["p99_ms"],
        "tipg_rps": peer["rps"], "tipg_p99_ms": peer["p99_ms"],
        "tile_sql_tps": floor,
        "tiles_warm_vs_tipg": warm["rps"] / peer["rps"],
        "tiles_cold_vs_tipg": cold["rps"] / peer["rps"],
        "tiles_cold_vs_sql": cold["rps"] / floor,
        "coverage_rps": coverage["rps"], "coverage_p50_ms": coverage["p50_ms"],
        "coverage_p99_ms": coverage["p99_ms"], "coverage_sql_tps": coverage_floor,
        "coverage_vs_sql": coverage["rps"] / coverage_floor,
    })
    out["targets"] = targets(out)
    return out


def targets(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each serving target: the figure, the target, met or missed, by how much and why."""
    checks = (
        ("tiles_warm_vs_tipg", ">=", TARGET_WARM_VS_TIPG),
        ("tiles_warm_p99_ms", "<", TARGET_WARM_P99_MS),
        ("tiles_cold_vs_tipg", ">=", TARGET_COLD_VS_TIPG),
        ("tiles_cold_vs_sql", ">=", TARGET_COLD_VS_SQL),
        ("coverage_p50_ms", "<", TARGET_COVERAGE_P50_MS),
        ("coverage_p99_ms", "<", TARGET_COVERAGE_P99_MS),
    )
    result = {}
    for key, op, target in checks:
        value = out[key]
        met = value >= target if op == ">=" else value < target
        result[key] = {"value": round(value, 3), "target": f"{op} {target:g}", "met": met,
                       "ratio_to_target": round(value / target, 3)}
        if not met:
            result[key]["why"] = why_missed(key, out)
    return result


def why_missed(key: str, out: dict[str, Any]) -> str:
    """What the run's own figures say about a missed target (no guesses beyond them)."""
    load = ", ".join(f"{v:g}" for v in loadavg())
    cores = os.cpu_count()
    shared = (f"server, wrk, PostgreSQL and other work share {cores} cores (load average now "
              f"{load})")
    # Little's law: with C requests always in flight, latency ~ C / throughput.
    bound_ms = COVERAGE_CONNECTIONS / out["coverage_sql_tps"] * 1000
    return {
        "tiles_warm_vs_tipg": f"{out['tiles_warm_rps']:,.0f} vs tipg {out['tipg_rps']:,.0f} "
        f"req/s; a cached tile costs the HTTP stack only, and the {shared}",
        "tiles_warm_p99_ms": f"p50 {out['tiles_warm_p50_ms']:.1f} ms, p99 "
        f"{out['tiles_warm_p99_ms']:.1f} ms: the tail is {TILE_CONNECTIONS} connections queueing "
        f"while the {shared}",
        "tiles_cold_vs_tipg": f"{out['tiles_cold_rps']:,.0f} vs tipg {out['tipg_rps']:,.0f} "
        "req/s: both are bound by PostgreSQL rendering tiles on the same cores",
        "tiles_cold_vs_sql": f"{out['tiles_cold_rps']:,.0f} req/s vs {out['tile_sql_tps']:,.0f} "
        f"tps for the SQL alone: the server's own work per tile (HTTP, pool, gzip) takes CPU "
        f"from PostgreSQL; the {shared}",
        "coverage_p50_ms": f"{COVERAGE_CONNECTIONS} requests always in flight make latency about "
        f"{COVERAGE_CONNECTIONS} / throughput: even the coverage SQL alone "
        f"({out['coverage_sql_tps']:,.0f} tps in pgbench) allows no better than {bound_ms:.0f} ms",
        "coverage_p99_ms": f"as p50 (at least {bound_ms:.0f} ms from the SQL's own throughput), "
        f"plus queueing while the {shared}",
    }[key]


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def table(results: dict[str, Any]) -> str:
    """The Markdown table `make bench` prints (and the README shows)."""
    def num(key: str, fmt: str = "{:,.0f}") -> str:
        value = results.get(key)
        return "missing" if value is None else fmt.format(value)

    def det(key: str, fmt: str = "{:,.0f}") -> str:
        value = (results.get("pipeline") or {}).get(key)
        return "missing" if value is None else fmt.format(value)

    rows = [
        ("tiles warm (cache hit)", f"{num('tiles_warm_rps')} req/s, p99 {num('tiles_warm_p99_ms', '{:.1f}')} ms",
         f"tipg {num('tipg_rps')} req/s", f"{num('tiles_warm_vs_tipg', '{:.1f}')}x tipg",
         "≥10x tipg, p99 < 20 ms"),
        ("tiles cold (cache off)", f"{num('tiles_cold_rps')} req/s, p99 {num('tiles_cold_p99_ms', '{:.1f}')} ms",
         f"tipg {num('tipg_rps')}; tile SQL in pgbench {num('tile_sql_tps')} tps",
         f"{num('tiles_cold_vs_tipg', '{:.1f}')}x tipg, {num('tiles_cold_vs_sql', '{:.2f}')} of floor",
         "≥2.5x tipg, ≥0.7 of floor"),
        ("coverage, 16 conns", f"{num('coverage_rps')} req/s, p50 {num('coverage_p50_ms', '{:.1f}')} ms, "
         + f"p99 {num('coverage_p99_ms', '{:.1f}')} ms", f"its SQL in pgbench {num('coverage_sql_tps')} tps",
         f"{num('coverage_vs_sql', '{:.2f}')} of floor", "p50 < 10 ms, p99 < 30 ms"),
        ("ingest + build", f"{num('ingest_build_s', '{:.0f}')} s (ingest {det('ingest_s')} s, "
         + f"build {det('build_s')} s)", f"bare COPY {det('copy_floor_s', '{:.1f}')} s",
         f"ingest {num('ingest_vs_copy', '{:.1f}')}x COPY", "< 60 s at 1M, ingest ≤5x COPY"),
        ("peak RSS", f"{num('peak_rss_gb', '{:.2f}')} GB", "—", "—", "< 3 GB at 10M"),
        ("rebuild after a 1% change", f"{det('rebuild_1pct_s')} s", f"full build {det('build_s')} s",
         f"{num('rebuild_1pct_vs_full', '{:.2f}')} of full", "< 0.10"),
        ("GeoParquet export, all res", f"{det('export_s', '{:.1f}')} s",
         f"geopandas {det('export_geopandas_s', '{:.1f}')} s",
         f"{num('export_vs_geopandas', '{:.1f}')}x faster", "≥3x"),
    ]
    lines = [f"reports: {num('n_reports')}; load average at serving: "
             + f"{results.get('loadavg_serving')}",
             "| measure | ours | peer / floor | ratio | target |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    for k, v in results.get("targets", {}).items():
        if not v["met"]:
            lines.append(f"missed {k}: {v['value']} (target {v['target']}): {v['why']}")
    for k, v in results.items():
        if k.startswith("missed_"):
            lines.append(f"missed {k.removeprefix('missed_')}: {v}")
        if k.endswith("_missing_reason"):
            lines.append(f"missing {k.removesuffix('_missing_reason')}: {v}")
    return "\n".join(lines)
