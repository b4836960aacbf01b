"""What the evidence commands (`camdensity analyse`, `camdensity diff`) run and print."""

from __future__ import annotations

from typing import Any

import psycopg

from camdensity.evidence.analysis import AnalysisError, Question, analyse, check
from camdensity.evidence.stats import interval_text
from camdensity.service.snapshot import current_snapshot
from camdensity.settings import SITE_CATEGORIES, evidence_settings, method_settings


async def run_analysis(url: str, q: Question) -> dict[str, Any]:
    """The analysis of `q` on the store at `url`, under its newest build."""
    settings = evidence_settings()
    check(q, settings, SITE_CATEGORIES)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        snap = await current_snapshot(conn)
        if snap is None:
            raise AnalysisError("no finished build yet: run `camdensity build` first")
        return await analyse(conn, q, snap.snapshot, settings, method_settings())


def show_analysis(a: dict[str, Any]) -> str:
    """The analysis as a few lines a person reads."""
    lines = [
        f"{a['category']} sites, cameras within {a['radius_m']} m, snapshot {a['snapshot']}",
        f"null model: {a['null_model']['name']} ({a['null_model']['description']})",
        (f"sizes: {a['n_sites']} sites, {a['n_baseline']} baseline places "
         f"(pool {a['null_model']['pool']})"),
    ]
    if a["too_small"]:
        lines.append("too small to say: " + "; ".join(a["reasons"]))
        return "\n".join(lines)
    lines += [
        (f"mean: sites {a['mean_sites']:.3f}, baseline {a['mean_baseline']:.3f}; "
         f"ratio of means {interval_text(a['ratio_mean'])}"),
        (f"median: sites {a['median_sites']:g}, baseline {a['median_baseline']:g}; "
         f"ratio of medians {interval_text(a['ratio_median'])}"),
        (f"permutation p-value {a['p_value']:.4f} ({a['permutations']} permutations); "
         f"seed {a['seed']}"),
    ]
    lines += [f"note: {r}" for r in a["reasons"]]
    return "\n".join(lines)
