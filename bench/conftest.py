"""Benchmark fixtures: a database of the run's own, the synthetic CSV, timings and the summary.

Environment:
- `CAMDENSITY_BENCH_N`: reports in the synthetic CSV (default 1,000,000;
  `CAMDENSITY_BENCH_N=10000000 make bench` works too);
- `CAMDENSITY_BENCH_INVALID`: share of unusable rows (default 0.025);
- `CAMDENSITY_BENCH_ROUNDS`: timed rounds per benchmark, each from the same state (default 1);
- `CAMDENSITY_BENCH_TIMEOUT`: seconds before a round counts as hung (default 600 per million).

The CSV is written (seeded, so always the same) into pytest's temporary directory. Every figure
is reported as a ratio to a peer measured in the same run, never asserted.
"""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import ParamSpec, TypeVar

import psycopg
import pytest

from bench.synthetic import INVALID_SHARE, Synthetic, write_cameras_csv
from camdensity import testing
from camdensity.ingest.cameras import CameraOptions, import_cameras
from camdensity.ingest.places import PlaceImport

DEFAULT_N = 1_000_000
SEED = 20240601
# Modules run in this order: the build benchmarks reuse what the ingest benchmark imported.
MODULE_ORDER = ("test_ingest", "test_build")

P = ParamSpec("P")
R = TypeVar("R")


def bench_n() -> int:
    """Reports in the synthetic CSV (`CAMDENSITY_BENCH_N`)."""
    return int(os.environ.get("CAMDENSITY_BENCH_N", str(DEFAULT_N)))


def bench_invalid_share() -> float:
    """Share of unusable rows in the CSV (`CAMDENSITY_BENCH_INVALID`, default 0.025)."""
    return float(os.environ.get("CAMDENSITY_BENCH_INVALID", str(INVALID_SHARE)))


def bench_timeout() -> float:
    """Seconds a timed round may run before it fails as hung (`CAMDENSITY_BENCH_TIMEOUT`;
    default 600 per million reports, at least 600)."""
    default = 600.0 * max(1.0, bench_n() / 1_000_000)
    return float(os.environ.get("CAMDENSITY_BENCH_TIMEOUT", str(default)))


class BenchTimeout(Exception):
    """A timed round ran past `bench_timeout()` (not an OSError, so importers do not wrap it)."""


def limited(target: Callable[P, R]) -> Callable[P, R]:
    """`target` failing with BenchTimeout after `bench_timeout()` seconds (SIGALRM, main thread),
    so a hung round ends the benchmark with the stack where it hung instead of never."""
    seconds = bench_timeout()

    @functools.wraps(target)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        def expire(signum: int, frame: FrameType | None) -> None:
            raise BenchTimeout(f"{target.__name__} still running after {seconds:.0f} s "
                               "(CAMDENSITY_BENCH_TIMEOUT); the traceback shows where it was")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return target(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return run


def bench_rounds() -> int:
    """Timed rounds per benchmark (`CAMDENSITY_BENCH_ROUNDS`); each starts from the same state."""
    return max(1, int(os.environ.get("CAMDENSITY_BENCH_ROUNDS", "1")))


# --- timings and the summary --------------------------------------------------------------------


@dataclass
class Timings:
    """Best-of-rounds seconds per (group, contender), in the order they were measured."""

    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def record(self, group: str, name: str, benchmark: object) -> float | None:
        """Store the benchmark's best round; returns it (None when benchmarking is disabled)."""
        stats = getattr(benchmark, "stats", None)
        if stats is None:
            return None
        best = float(stats.stats.min)
        self.seconds.setdefault(group, {})[name] = best
        return best

    def ratio(self, group: str, peer: str, subject: str = "camdensity") -> float | None:
        """subject / peer in `group`, when both were measured."""
        times = self.seconds.get(group, {})
        if subject not in times or peer not in times or times[peer] == 0:
            return None
        return times[subject] / times[peer]

    def summary(self) -> list[str]:
        """One line per group: 'GROUP: camdensity X s, peer Y s (ratio R), ...'."""
        lines = []
        for group, times in self.seconds.items():
            parts = []
            if "camdensity" in times:
                parts.append(f"camdensity {seconds_text(times['camdensity'])}")
            for name, seconds in times.items():
                if name == "camdensity":
                    continue
                ratio = self.ratio(group, name)
                parts.append(f"{name} {seconds_text(seconds)}"
                             + (f" (ratio {ratio:.2f})" if ratio is not None else ""))
            note = f" [{self.notes[group]}]" if group in self.notes else ""
            lines.append(f"{group}: {', '.join(parts)}{note}")
        return lines


def seconds_text(seconds: float) -> str:
    """Seconds to about three significant digits: 42.1 s, 8.03 s, 0.164 s."""
    return f"{seconds:.{1 if seconds >= 10 else 2 if seconds >= 1 else 3}f} s"


TIMINGS = pytest.StashKey[Timings]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TIMINGS] = Timings()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Ingest before build (keeping each module's own test order)."""
    def rank(item: pytest.Item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)

    items.sort(key=rank)  # stable: the order inside a module is kept


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    lines = config.stash[TIMINGS].summary()
    if lines:
        terminalreporter.section("camdensity benchmarks (best round; ratio = camdensity / peer)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def timings(pytestconfig: pytest.Config) -> Timings:
    return pytestconfig.stash[TIMINGS]


# --- the database -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bench_url() -> Iterator[str]:
    """A fresh migrated database for the run; DATABASE_URL points at it; dropped at the end."""
    with testing.scratch_database(testing.admin_url(), prefix="camdensity_bench") as url:
        yield url


def checkpoint(url: str) -> None:
    """Flush dirty buffers before a timed round, so it does not pay for the previous one's."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # an external server where we are not superuser: rounds are a little noisier


# --- the data -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def camera_csv(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """The synthetic CSV of `CAMDENSITY_BENCH_N` reports, written once per run (seeded)."""
    n = bench_n()
    return write_cameras_csv(tmp_path_factory.mktemp("data") / f"cameras_{n}.csv", n, SEED,
                             bench_invalid_share())


# --- the camdensity store -----------------------------------------------------------------------

BENCH_SOURCE = "bench"


def empty_store(url: str) -> None:
    """Every source and what hangs off it gone, and no build: the state before a first import."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE source, camera, hexagon, hexagon_breakdown, hexagon_withheld,"
                     " baseline, build CASCADE")
    checkpoint(url)


def import_bench(url: str, csv_path: Path) -> PlaceImport:
    """`camdensity ingest cameras CSV --source bench`, through the Python API the CLI calls."""
    with psycopg.connect(url) as conn:
        return import_cameras(conn, csv_path, source=BENCH_SOURCE, options=CameraOptions())


@pytest.fixture(scope="session")
def ingested(bench_url: str, camera_csv: Synthetic) -> str:
    """The run's database holding the synthetic CSV as source `bench` (imported if not yet)."""
    with psycopg.connect(bench_url) as conn:
        done = conn.execute("SELECT 1 FROM source WHERE name = %s AND entity = 'cameras'",
                            (BENCH_SOURCE,)).fetchone()
    if done is None:
        empty_store(bench_url)
        import_bench(bench_url, camera_csv.path)
    return bench_url
