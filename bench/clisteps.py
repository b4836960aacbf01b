"""`python -m bench.clisteps ARGS`: `camdensity ARGS`, unchanged, printing when each step starts.

The CLI shows a long command's progress in a status line (`console.status(...).update(step)`);
this runs the same command with every status update also written to stderr as
`STEP_MARK<seconds since start>\\t<step>`, so the benchmark can say which steps of a build took
the time (the reason it gives for a missed target) without timing anything but the real CLI.
"""

from __future__ import annotations

import sys
import time

import rich.status

STEP_MARK = "@@bench-step "
_STARTED = time.perf_counter()


def _announce(text: object) -> None:
    print(f"{STEP_MARK}{time.perf_counter() - _STARTED:.3f}\t{text}", file=sys.stderr, flush=True)


def _patch() -> None:
    init, update = rich.status.Status.__init__, rich.status.Status.update

    def patched_init(self: rich.status.Status, status: object, *args: object, **kw: object) -> None:
        init(self, status, *args, **kw)  # type: ignore[arg-type]
        _announce(status)

    def patched_update(self: rich.status.Status, status: object = None, *args: object,
                       **kw: object) -> None:
        update(self, status, *args, **kw)  # type: ignore[arg-type]
        if status is not None:
            _announce(status)

    rich.status.Status.__init__ = patched_init  # type: ignore[method-assign]
    rich.status.Status.update = patched_update  # type: ignore[method-assign]


def steps(stderr: str, total: float) -> dict[str, float]:
    """Seconds per step from a run's stderr (each step lasts until the next starts; the last
    until the command ended, `total` seconds after start); a step seen twice adds up."""
    marks = []
    for line in stderr.splitlines():
        if line.startswith(STEP_MARK):
            at, _, name = line.removeprefix(STEP_MARK).partition("\t")
            marks.append((float(at), name))
    out: dict[str, float] = {}
    for (at, name), (end, _) in zip(marks, [*marks[1:], (total, "")]):
        out[name] = out.get(name, 0.0) + max(0.0, end - at)
    return out


def slowest(step_seconds: dict[str, float], k: int = 3) -> str:
    """The `k` longest steps as `name 12 s, ...` (a short reason for a slow command)."""
    top = sorted(step_seconds.items(), key=lambda kv: kv[1], reverse=True)[:k]
    return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in top)


def main() -> None:
    _patch()
    from camdensity.cli import app

    app(prog_name="camdensity")


if __name__ == "__main__":
    main()
