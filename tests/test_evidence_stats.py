"""The comparison's statistics against independent computations (no database)."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np

from camdensity.evidence.stats import compare, permutation_p, seed_for


def test_estimates_match_a_plain_computation() -> None:
    rng = np.random.default_rng(1)
    sites = rng.poisson(6, 25)
    baseline = rng.poisson(2, 300)
    result = compare(sites, baseline, seed=7, bootstrap=500, permutations=500)
    assert result.n_sites == 25 and result.n_baseline == 300 and not result.too_small
    expected_mean = statistics.fmean(sites.tolist()) / statistics.fmean(baseline.tolist())
    expected_median = statistics.median(sites.tolist()) / statistics.median(baseline.tolist())
    assert math.isclose(result.ratio_mean.estimate, expected_mean, rel_tol=1e-12)
    assert math.isclose(result.ratio_median.estimate, expected_median, rel_tol=1e-12)
    low, high = result.ratio_mean.ci_low, result.ratio_mean.ci_high
    assert low < expected_mean < high
    # The delta method's interval for a ratio of independent means, an independent reference:
    # the percentile bootstrap's ends lie within 15 per cent of it at these sizes.
    mx, my = sites.mean(), baseline.mean()
    se = expected_mean * math.sqrt(sites.var(ddof=1) / (25 * mx**2)
                                   + baseline.var(ddof=1) / (300 * my**2))
    assert math.isclose(low, expected_mean - 1.96 * se, rel_tol=0.15)
    assert math.isclose(high, expected_mean + 1.96 * se, rel_tol=0.15)
    assert result.p_value < 0.01


def test_permutation_p_matches_exact_enumeration() -> None:
    x = np.array([3.0, 5.0, 4.0])
    y = np.array([1.0, 2.0, 4.0, 0.0, 3.0])
    pooled = np.concatenate([x, y])
    observed = abs(x.mean() - y.mean())
    extreme = total = 0
    for chosen in itertools.combinations(range(8), 3):
        rest = [i for i in range(8) if i not in chosen]
        diff = abs(pooled[list(chosen)].mean() - pooled[rest].mean())
        extreme += diff >= observed - 1e-9
        total += 1
    exact = extreme / total
    estimate = permutation_p(x, y, 20_000, np.random.default_rng(3))
    assert abs(estimate - exact) < 0.012, (estimate, exact)


def test_interval_coverage_over_repeated_seeds() -> None:
    """Planted populations with a known ratio (3): the 95% interval holds it ~95% of the time."""
    true_ratio, runs, covered = 3.0, 200, 0
    for seed in range(runs):
        rng = np.random.default_rng(1000 + seed)
        sites, baseline = rng.poisson(6.0, 40), rng.poisson(2.0, 300)
        r = compare(sites, baseline, seed=seed, bootstrap=400, permutations=10).ratio_mean
        covered += r.ci_low <= true_ratio <= r.ci_high
    assert 0.89 <= covered / runs <= 0.99, covered


def test_same_seed_same_answer_and_too_small() -> None:
    rng = np.random.default_rng(5)
    sites, baseline = rng.poisson(3, 12), rng.poisson(1, 80)
    a = compare(sites, baseline, seed=11, bootstrap=300, permutations=300)
    b = compare(sites, baseline, seed=11, bootstrap=300, permutations=300)
    assert a == b
    assert seed_for("3-abc", "clinic", 200) == seed_for("3-abc", "clinic", 200)
    assert seed_for("3-abc", "clinic", 200) != seed_for("4-abc", "clinic", 200)
    small = compare(sites[:4], baseline, seed=11, min_sites=5)
    assert small.too_small and small.ratio_mean.estimate is None and small.p_value is None
    assert "fewer than CAMDENSITY_ANALYSIS_MIN_SITES=5" in small.reasons[0]
    zero = compare(sites, np.zeros(80), seed=1, bootstrap=100, permutations=100)
    assert zero.ratio_mean.estimate is None and not zero.too_small
    assert any("mean is 0" in r for r in zero.reasons)
    # A baseline median of 0 with a positive mean: the ratio of medians is undefined, the other not.
    mostly_zero = np.array([0] * 60 + [1] * 20)
    m = compare(sites, mostly_zero, seed=1, bootstrap=100, permutations=100)
    assert m.ratio_median.estimate is None and m.ratio_mean.estimate is not None
