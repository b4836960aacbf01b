"""The benchmark scripts run on demand (`make bench-publish`), never in the suite: import them here
so a refactor that breaks one is seen at once."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_publish_benchmark_imports() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        module = importlib.import_module("bench.publish_serving")
    finally:
        sys.path.remove(str(ROOT))
    assert module.ROOT == ROOT and callable(module.main)
