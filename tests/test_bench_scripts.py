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


def _pipeline_figures(**changes: object) -> dict[str, object]:
    """Figures of a pipeline run at 100,000 reports (as bench/pipeline.py records them)."""
    figures: dict[str, object] = {
        "n_reports": 100_000, "ingest_s": 18.8, "build_s": 281.0, "ingest_build_s": 299.8,
        "copy_floor_s": 0.7, "ingest_vs_copy": 26.9, "ingest_steps_s": {},
        "build_steps_s": {"aggregating hexagons": 120.0, "computing the city baseline": 90.0,
                          "fusing camera reports": 30.0, "measuring site exposure": 5.0},
        "client_peak_rss_gb": 0.5, "backend_peak_anon_gb": 0.13, "peak_rss_gb": 0.63,
        "rebuild_1pct_s": 342.0, "rebuild_1pct_vs_full": 1.22,
        "rebuild_1pct_steps_s": {"aggregating hexagons": 150.0},
        "hexagons": 503_408, "export_s": 12.6, "export_geopandas_s": 24.1,
        "export_vs_geopandas": 1.91, "export_sql_s": 8.0, "load_after_build": "3.9 4.2 3.8",
    }
    figures.update(changes)
    return figures


def test_pipeline_notes_say_by_how_much_and_why_without_extrapolating() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        pipeline = importlib.import_module("bench.pipeline")
    finally:
        sys.path.remove(str(ROOT))
    notes = pipeline.notes(_pipeline_figures())
    # Measured at 100k, already over the 1M target: missed, at the measured size, not scaled up.
    ingest_build = notes["missed_ingest_build_s"]
    assert "300 s at 100,000 reports" in ingest_build
    assert "the target is for 1M; not extrapolated" in ingest_build
    assert "5.00x the target" in ingest_build and "aggregating hexagons 120 s" in ingest_build
    assert "3e+03" not in " ".join(notes.values())
    # Peak RSS is a 10M target: under it at 100k says nothing about 10M.
    assert "missed_peak_rss_gb" not in notes
    assert "CAMDENSITY_BENCH_N=10000000" in notes["unjudged_peak_rss_gb"]
    assert "5.38x the target" in notes["missed_ingest_vs_copy"]
    assert "12.2x the target" in notes["missed_rebuild_1pct_vs_full"]
    assert "aggregating hexagons 150 s" in notes["missed_rebuild_1pct_vs_full"]
    export = notes["missed_export_vs_geopandas"]
    assert "1.91x faster" in export and "1.57x short" in export and "SQL alone takes 8.0 s" in export

    # At 1M and under every target: no notes but the 10M one.
    met = pipeline.notes(_pipeline_figures(
        n_reports=1_000_000, ingest_s=10.0, build_s=40.0, ingest_build_s=50.0, ingest_vs_copy=4.0,
        rebuild_1pct_s=3.0, rebuild_1pct_vs_full=0.075, export_vs_geopandas=3.5))
    assert set(met) == {"unjudged_peak_rss_gb"}
    # At 10M: peak RSS judged, the 1M time target not (over it is expected at 10x the size).
    big = pipeline.notes(_pipeline_figures(
        n_reports=10_000_000, ingest_build_s=400.0, peak_rss_gb=3.3, ingest_vs_copy=4.0,
        rebuild_1pct_vs_full=0.05, export_vs_geopandas=None, build_growth_vs_linear=0.8,
        growth_build_s=40.0, growth_n_reports=1_000_000))
    assert "unjudged_ingest_build_s" in big and "missed_ingest_build_s" not in big
    assert big.keys() >= {"missed_peak_rss_gb"} and "missed_build_growth_vs_linear" not in big
