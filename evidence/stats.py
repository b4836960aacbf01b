"""Two-sample comparison of exposure: ratios of means and medians, bootstrap intervals, permutation p.

Pure numpy on two arrays (site values, baseline values), so the statistics can be checked
against an independent computation without a database. Every random draw comes from one
generator seeded by the caller: the same inputs and seed give the same answer, byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

# Permutations are drawn in blocks of this many rows, so memory stays bounded (rows x samples).
_BLOCK = 500


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval; None where it is undefined (a zero denominator)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | None]:
        """`{estimate, ci_low, ci_high}` rounded to 4 decimals (None stays None)."""
        return {k: (None if v is None else round(v, 4)) for k, v in
                (("estimate", self.estimate), ("ci_low", self.ci_low), ("ci_high", self.ci_high))}


@dataclass(frozen=True)
class Comparison:
    """Sites against the baseline: sizes, summaries, ratios with intervals, p-value."""

    n_sites: int
    n_baseline: int
    mean_sites: float | None
    mean_baseline: float | None
    median_sites: float | None
    median_baseline: float | None
    ratio_mean: Interval
    ratio_median: Interval
    p_value: float | None
    too_small: bool
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape `/analysis/sites` and `camdensity analyse` show."""
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "n_sites": self.n_sites, "n_baseline": self.n_baseline,
            "mean_sites": r(self.mean_sites), "mean_baseline": r(self.mean_baseline),
            "median_sites": r(self.median_sites), "median_baseline": r(self.median_baseline),
            "ratio_mean": self.ratio_mean.as_dict(), "ratio_median": self.ratio_median.as_dict(),
            "p_value": r(self.p_value), "too_small": self.too_small, "reasons": self.reasons,
        }


def interval_text(value: dict[str, float | None]) -> str:
    """An `{estimate, ci_low, ci_high}` as '2.15 (0.99–3.70)'; 'undefined', or 'unbounded' ends."""
    if value["estimate"] is None:
        return "undefined"
    low = "?" if value["ci_low"] is None else f"{value['ci_low']:.2f}"
    high = "unbounded" if value["ci_high"] is None else f"{value['ci_high']:.2f}"
    return f"{value['estimate']:.2f} ({low}–{high})"


def seed_for(*parts: object) -> int:
    """A 32-bit seed from the snapshot id and the question asked (same question, same seed)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den elementwise; +inf where den is 0 (a ratio with no upper bound)."""
    out = np.full(num.shape, np.inf)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _interval(estimate: float | None, ratios: np.ndarray, level: float) -> Interval:
    """Percentile interval of bootstrap ratios; an infinite upper end is reported as None."""
    if estimate is None:
        return Interval(None, None, None)
    tail = (1 - level) / 2
    low = float(np.quantile(ratios, tail, method="lower"))
    high = float(np.quantile(ratios, 1 - tail, method="higher"))
    return Interval(estimate, low if np.isfinite(low) else None,
                    high if np.isfinite(high) else None)


def permutation_p(x: np.ndarray, y: np.ndarray, permutations: int,
                  rng: np.random.Generator) -> float:
    """Two-sided permutation p-value of the difference of means (the (1 + k) / (1 + P) estimate)."""
    pooled = np.concatenate([x, y]).astype(float)
    n, total = len(x), pooled.sum()
    observed = abs(x.mean() - y.mean())
    hits, done = 0, 0
    while done < permutations:
        rows = min(_BLOCK, permutations - done)
        shuffled = rng.permuted(np.broadcast_to(pooled, (rows, len(pooled))), axis=1)
        first = shuffled[:, :n].sum(axis=1)
        diff = np.abs(first / n - (total - first) / len(y))
        # A tolerance: equal statistics computed in another order must count as "as extreme".
        hits += int(np.count_nonzero(diff >= observed - 1e-9))
        done += rows
    return (1 + hits) / (1 + permutations)


def compare(sites: np.ndarray, baseline: np.ndarray, *, seed: int, bootstrap: int = 2000,
            permutations: int = 5000, min_sites: int = 5, min_baseline: int = 30,
            level: float = 0.95) -> Comparison:
    """Compare site values with baseline values; below the minimum sizes, say too small."""
    x = np.asarray(sites, dtype=float)
    y = np.asarray(baseline, dtype=float)
    n, m = len(x), len(y)
    reasons: list[str] = []
    if n < min_sites:
        reasons.append(f"{n} sites: fewer than CAMDENSITY_ANALYSIS_MIN_SITES={min_sites}")
    if m < min_baseline:
        reasons.append(f"{m} baseline places: fewer than "
                       f"CAMDENSITY_ANALYSIS_MIN_BASELINE={min_baseline}")
    none = Interval(None, None, None)
    if reasons:
        return Comparison(n, m, float(x.mean()) if n else None, float(y.mean()) if m else None,
                          float(np.median(x)) if n else None, float(np.median(y)) if m else None,
                          none, none, None, True, reasons)
    rng = np.random.default_rng(seed)
    mean_x, mean_y = float(x.mean()), float(y.mean())
    med_x, med_y = float(np.median(x)), float(np.median(y))
    ratio_mean = mean_x / mean_y if mean_y > 0 else None
    ratio_median = med_x / med_y if med_y > 0 else None
    if ratio_mean is None:
        reasons.append("the baseline's mean is 0: no camera near any baseline place, no ratio")
    if ratio_median is None:
        reasons.append("the baseline's median is 0 (most baseline places have no camera "
                       "within the radius): the ratio of medians is undefined")
    # Sites and baseline are resampled independently: they are independent samples.
    bx = x[rng.integers(0, n, (bootstrap, n))]
    by = y[rng.integers(0, m, (bootstrap, m))]
    means = _ratio(bx.mean(axis=1), by.mean(axis=1))
    medians = _ratio(np.median(bx, axis=1), np.median(by, axis=1))
    p = permutation_p(x, y, permutations, rng)
    return Comparison(n, m, mean_x, mean_y, med_x, med_y,
                      _interval(ratio_mean, means, level), _interval(ratio_median, medians, level),
                      p, False, reasons)
