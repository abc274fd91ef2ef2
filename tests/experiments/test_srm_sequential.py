"""The sample-ratio-mismatch check on simulated data: checked daily, healthy experiments are
blocked at most as often as the bound says (the always-valid test during the run plus one
chi-squared look at the final analysis; the chi-squared test looked at daily is not), real
mismatches are caught (a one-point shift at 100,000 units at the final analysis, every time),
and the arrival-by-arrival Bayes factor equals its closed form. Pure: no database."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from apps.experiments.stats.srm import (
    SRM_PRIOR_CONCENTRATION,
    sequential_srm_p_value,
    srm_check,
    srm_log_bayes_factor,
)


def evenly_spread(units: int, treated: int) -> np.ndarray:
    """Arrivals with exactly `treated` of `units` in arm 1, spread evenly (the share is the
    same at every prefix): the always-valid evidence then peaks at the last unit."""
    i = np.arange(units)
    return (np.floor((i + 1) * treated / units) > np.floor(i * treated / units)).astype(np.int64)


def test_the_arrival_product_equals_the_closed_form_whatever_the_order():
    rng = np.random.default_rng(3)
    arrivals = (rng.random(5_000) < 0.53).astype(np.int64)
    counts = np.bincount(arrivals, minlength=2)
    log_bf = srm_log_bayes_factor(counts.tolist(), [1, 1])
    # the running maximum is at least the final value: p <= 1/BF_final
    p = sequential_srm_p_value(arrivals, [1, 1])
    assert p <= min(1.0, float(np.exp(-log_bf))) + 1e-12
    # the final Bayes factor does not depend on the order (exchangeable mixture)
    shuffled = rng.permutation(arrivals)
    best_sorted = sequential_srm_p_value(np.sort(arrivals), [1, 1])
    assert best_sorted <= float(np.exp(-log_bf)) + 1e-12
    assert sequential_srm_p_value(shuffled, [1, 1]) <= float(np.exp(-log_bf)) + 1e-12
    # by hand for three arrivals, weights 1:1, alpha = (C/2, C/2):
    # BF = [(C/2)/C / .5] * [(C/2 + 1)/(C + 1) / .5] * [(C/2)/(C + 2) / .5]
    c = SRM_PRIOR_CONCENTRATION
    by_hand = 1.0 * ((c / 2 + 1) / (c + 1) / 0.5) * ((c / 2) / (c + 2) / 0.5)
    assert srm_log_bayes_factor([2, 1], [1, 1]) == pytest.approx(np.log(by_hand))


def test_daily_checks_of_healthy_experiments_do_not_inflate_the_block_rate():
    # 400 A/A experiments, 28 daily looks of 1,000 new units each; a looser threshold (0.05)
    # so that the rates are measurable with 400 runs: the guarantee is the same at 0.001.
    rng = np.random.default_rng(11)
    runs, days, per_day, threshold = 400, 28, 1_000, 0.05
    sequential_hits = chi2_hits = blocked = 0
    for _ in range(runs):
        arrivals = (rng.random(days * per_day) < 0.5).astype(np.int64)
        treated = np.cumsum(arrivals)[per_day - 1 :: per_day]
        n = np.arange(1, days + 1) * per_day
        chi2 = (2 * treated - n) ** 2 / n  # (O - E)^2 / E summed over two arms
        if (sps.chi2.sf(chi2, df=1) < threshold).any():
            chi2_hits += 1
        # what the analysis does: the running test every day, chi-squared once at the end
        final = srm_check(
            [int(n[-1] - treated[-1]), int(treated[-1])],
            [1, 1],
            threshold=threshold,
            arrivals=arrivals,
            final=True,
        )
        assert final.sequential_p_value is not None
        running = final.sequential_p_value < threshold
        sequential_hits += running
        assert final.flagged == (running or bool(sps.chi2.sf(chi2[-1], df=1) < threshold))
        blocked += final.flagged
    # Ville's inequality: at most 5 % ever; binomial noise on 400 runs stays under 8 %
    assert sequential_hits / runs <= 0.08, sequential_hits
    # with the one final chi-squared look: at most 5 % + 5 % (union bound), plus noise
    assert blocked / runs <= 0.13, blocked
    # the chi-squared test at every daily look blocks far more often than its 5 %
    assert chi2_hits / runs >= 0.15, chi2_hits
    assert chi2_hits > blocked


def test_a_one_point_mismatch_at_100000_units_is_flagged_every_time_at_the_final_analysis():
    # the "1 % mismatch": 51/49 against a configured 50/50, 100,000 units, 30 runs.
    # Chi-squared's z is 6.3 on average against 3.29 needed (a miss: 1 run in 800).
    rng = np.random.default_rng(20)
    for _ in range(30):
        arrivals = (rng.random(100_000) < 0.51).astype(np.int64)
        counts = np.bincount(arrivals, minlength=2).tolist()
        result = srm_check(counts, [1, 1], arrivals=arrivals, final=True)
        assert result.flagged, result
        assert result.decisive_p_value == min(result.p_value, result.sequential_p_value or 1.0)


def test_a_mismatch_only_chi_squared_sees_blocks_at_the_final_analysis_only():
    # 10,290 / 9,710 of 20,000 against 50/50: z = 580 / sqrt(20,000) = 4.10, chi-squared
    # 16.82, p = 4.1e-5; the mixture's Bayes factor (closed form) stays under 1,000, and with
    # the share the same at every prefix it peaks at the last unit.
    arrivals = evenly_spread(20_000, 10_290)
    counts = [9_710, 10_290]
    bf_p = float(np.exp(-srm_log_bayes_factor(counts, [1, 1])))
    assert bf_p > 0.001

    running = srm_check(counts, [1, 1], arrivals=arrivals)
    assert running.chi2 == pytest.approx(580**2 / 20_000)
    assert running.p_value == pytest.approx(sps.chi2.sf(16.82, df=1))
    assert running.p_value < 0.001
    assert running.sequential_p_value == pytest.approx(bf_p)
    assert not running.flagged  # during the run, one chi-squared look among many is not enough
    assert running.decisive_p_value == running.sequential_p_value

    final = srm_check(counts, [1, 1], arrivals=arrivals, final=True)
    assert final.flagged
    assert final.decisive_p_value == final.p_value
    reason = final.reason(["control", "treatment"])
    assert "chi-squared 16.8, p = 4.1e-05 < 0.001 at the final analysis" in reason
    assert "control: 9,710 units (expected 10,000)" in reason
    assert "always-valid p = 0.0033 over every unit" in reason

    # a balanced final split is not flagged; a counts-only check is chi-squared's alone
    balanced = srm_check([5_000, 5_000], [1, 1], arrivals=evenly_spread(10_000, 5_000), final=True)
    assert not balanced.flagged
    assert srm_check(counts, [1, 1]).flagged


@pytest.mark.parametrize(
    ("units", "share", "seed"), [(100_000, 0.51, 1), (3_000, 0.44, 2), (20_000, 0.52, 3)]
)
def test_real_mismatches_are_flagged(units: int, share: float, seed: int):
    rng = np.random.default_rng(seed)
    arrivals = (rng.random(units) < share).astype(np.int64)
    counts = np.bincount(arrivals, minlength=2).tolist()
    result = srm_check(counts, [1, 1], arrivals=arrivals)
    assert result.flagged
    assert result.sequential_p_value is not None
    assert result.sequential_p_value < 0.001
    assert "always-valid p" in result.reason(["control", "treatment"])


def test_a_healthy_split_is_not_flagged_and_bad_input_is_refused():
    rng = np.random.default_rng(5)
    arrivals = rng.integers(0, 3, size=30_000)
    counts = np.bincount(arrivals, minlength=3).tolist()
    result = srm_check(counts, [1, 1, 1], arrivals=arrivals)
    assert not result.flagged
    assert result.sequential_p_value is not None
    assert result.sequential_p_value > 0.001
    with pytest.raises(ValueError, match="one entry per counted unit"):
        srm_check(counts, [1, 1, 1], arrivals=arrivals[:-1])
    with pytest.raises(ValueError, match="names no arm"):
        sequential_srm_p_value(np.array([0, 3]), [1, 1, 1])
