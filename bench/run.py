"""`make bench`: the whole benchmark in one run, printed as a table and written to bench/results.json.

In a database of its own (`camdensity_bench_*`, dropped afterwards unless
`CAMDENSITY_BENCH_KEEP=1`): imports the bundled data and the DeFlock US-Southeast file, then

1. the pipeline (bench/pipeline.py: ingest and build `CAMDENSITY_BENCH_N` synthetic reports,
   default 1,000,000, a 1 % rebuild, export vs geopandas, peak RSS); without that module the
   synthetic reports are imported and built untimed and its figures are recorded as missing;
2. serving (bench/serving.py) on that build: tiles warm and cold against tipg and the raw tile
   SQL in pgbench, coverage against its SQL in pgbench.

Every figure sits beside its peer or floor measured in the same run, with its target and
whether it was met. `CAMDENSITY_BENCH_DATABASE_URL` reuses an already loaded database (skips
the loading and the pipeline; for working on serving).

    python -m bench.run            # or: make bench
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.resources import as_file
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bench import serving
from bench.serving import loadavg
from camdensity import testing
from camdensity.cli import app
from camdensity.demo import DEMO_IMPORTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
SHARED_US = ROOT.parent / "shared" / "data" / "us"
DEFLOCK_SE = SHARED_US / "deflock_alpr_us_southeast_2026-03.json"
DEFAULT_N = 1_000_000
PIPELINE_KEYS = ("ingest_build_s", "ingest_vs_copy", "peak_rss_gb", "rebuild_1pct_vs_full",
                 "export_vs_geopandas")


def say(line: str) -> None:
    print(line, flush=True)


def bench_n() -> int:
    """Synthetic reports to import (`CAMDENSITY_BENCH_N`)."""
    return int(os.environ.get("CAMDENSITY_BENCH_N", str(DEFAULT_N)))


def cli(*args: str) -> str:
    """Run a `camdensity` command in this process; its output (exit on failure)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    if result.exit_code:
        raise SystemExit(f"camdensity {' '.join(args)} failed:\n{result.output}")
    return result.output


def load_bundled() -> None:
    """The demo's imports and the DeFlock US-Southeast ALPR file (no build yet)."""
    for entity, resource, extra in DEMO_IMPORTS:
        with as_file(resource) as path:
            cli("ingest", entity, str(path), *extra)
    if DEFLOCK_SE.is_file():
        cli("ingest", "cameras", str(DEFLOCK_SE), "--source", "deflock-se", "--kind",
            "crowdsourced", "--default-type", "alpr")


def pipeline_module() -> Any | None:
    """bench.pipeline when it exists (the ingest/build/export half of the benchmark)."""
    if importlib.util.find_spec("bench.pipeline") is None:
        return None
    import bench.pipeline

    return bench.pipeline


def run_pipeline(url: str, work: Path, n: int) -> dict[str, Any]:
    """The pipeline's figures; without bench/pipeline.py, the reports imported and built untimed."""
    module = pipeline_module()
    if module is not None:
        detail = dict(module.run(url=url, n=n))
        figures = {key: detail.get(key) for key in (*PIPELINE_KEYS, "n_reports")}
        figures.update({k: v for k, v in detail.items()
                        if k.startswith(("missed_", "unjudged_")) or k.endswith("_missing_reason")})
        figures["pipeline"] = detail  # every figure it measured, its load averages included
        return figures
    from bench.synthetic import write_cameras_csv

    reason = "bench/pipeline.py is not present in this checkout: not measured"
    csv = write_cameras_csv(work / "cameras.csv", n).path
    cli("ingest", "cameras", str(csv), "--source", "bench-synthetic", "--kind", "crowdsourced")
    cli("build")
    figures: dict[str, Any] = {"n_reports": n}
    for key in PIPELINE_KEYS:
        figures[key] = None
        figures[f"{key}_missing_reason"] = reason
    return figures


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_kb / 1e6, 1),
            "python": platform.python_version(), "kernel": platform.release()}


PHASES: dict[str, float] = {}  # seconds of each phase of this run, for the time target's reason
TARGET_BENCH_S = 20 * 60  # `make bench` from a fresh clone, at the default 1M reports


def timed(what: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    say(f"== {what}")
    out = step()
    PHASES[what] = time.perf_counter() - started
    say(f"   {what}: {PHASES[what]:.0f} s")
    return out


PIPELINE_STEPS = (("ingest", "ingest_s"), ("build", "build_s"), ("1% rebuild", "rebuild_1pct_s"),
                  ("addresses rebuild", "rebuild_addresses_s"), ("export", "export_s"),
                  ("geopandas export", "export_geopandas_s"))


def run_time_note(seconds: float, n: int, pipeline: dict[str, Any] | None = None) -> dict[str, str]:
    """`missed_bench_s` when this run took longer than `make bench` may (20 min at 1M reports,
    setup excluded: it is measured from here), with the phases that took the time."""
    if seconds <= TARGET_BENCH_S:
        return {}
    phases = ", ".join(f"{what} {s / 60:.1f} min" for what, s in PHASES.items())
    steps = [f"{what} {pipeline[key] / 60:.1f} min" for what, key in PIPELINE_STEPS
             if pipeline and pipeline.get(key) is not None]
    if steps:
        phases += f" (of the pipeline: {', '.join(steps)})"
    size = "" if n == DEFAULT_N else f" (at {n:,} reports; the target is for {DEFAULT_N:,})"
    return {"missed_bench_s": f"{seconds / 60:.1f} min{size}: {seconds / TARGET_BENCH_S:.2f}x the "
                              f"{TARGET_BENCH_S // 60} min target; phases: {phases}; load "
                              f"average at the end {' '.join(map(str, loadavg()))}"}


def main() -> None:
    n = bench_n()
    reuse = os.environ.get("CAMDENSITY_BENCH_DATABASE_URL")
    keep = os.environ.get("CAMDENSITY_BENCH_KEEP") == "1"
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="camdensity-bench-"))
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(), "loadavg_start": loadavg(),
    }
    admin = testing.admin_url()
    url = reuse or testing.create_database(admin, prefix="camdensity_bench")
    try:
        with testing.pointed_at(url):
            if reuse:
                results.update({key: None for key in PIPELINE_KEYS})
                results.update({f"{key}_missing_reason": "CAMDENSITY_BENCH_DATABASE_URL reused "
                                "a loaded database: the pipeline was not run"
                                for key in PIPELINE_KEYS})
                results["n_reports"] = None
            else:
                timed("import the bundled data", load_bundled)
                results.update(timed(f"pipeline ({n:,} reports)",
                                     lambda: run_pipeline(url, work, n)))
            results["loadavg_serving"] = loadavg()
            results.update(timed("serving", lambda: serving.run(url, work)))
    finally:
        if not reuse and not keep:
            testing.drop_database(admin, url)
        elif not reuse:
            say(f"kept the bench database: CAMDENSITY_BENCH_DATABASE_URL='{url}'")
        shutil.rmtree(work, ignore_errors=True)
    results["loadavg_end"] = loadavg()
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["bench_s"] = time.perf_counter() - started
    results["phases_s"] = dict(PHASES)
    results.update(run_time_note(results["bench_s"], n, results.get("pipeline")))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    say("")
    say(serving.table(results))
    for key, value in results.items():
        if key.startswith("unjudged_"):
            say(f"not judged {key.removeprefix('unjudged_')}: {value}")
    say(f"the run took {results['bench_s'] / 60:.1f} min (target under {TARGET_BENCH_S // 60} "
        "min from a fresh clone, setup included)")
    say(f"\nwritten: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
