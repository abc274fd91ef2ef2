"""The experiments' statistics against known answers: hand-computed values, closed forms, and
scipy's independent implementations, plus simulations for the properties that have no closed
form (variance reduction, always-valid coverage under peeking). Pure: no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from apps.experiments.stats import (
    ArmSummary,
    MetricVerdict,
    benjamini_hochberg,
    cuped_arms,
    cuped_theta,
    mean_summary,
    ratio_summary,
    recommend,
    sequential_history,
    sequential_test,
    srm_check,
    z_test,
)
from apps.experiments.stats.sequential import confidence_halfwidth, msprt_p_value

# --- sample-ratio mismatch ---------------------------------------------------------------


def test_srm_balanced_counts_are_not_flagged():
    result = srm_check([5000, 5000], [0.5, 0.5])
    assert result.chi2 == 0.0
    assert result.p_value == pytest.approx(1.0)
    assert not result.flagged


def test_srm_two_arms_matches_the_closed_form():
    # chi² = 2 · 500² / 50,000 = 10; with 1 degree of freedom sf(x) = erfc(sqrt(x / 2)).
    result = srm_check([50_500, 49_500], [1, 1])
    assert result.chi2 == pytest.approx(10.0)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(5.0)))
    assert not result.flagged  # p ≈ 0.0016: suspicious, above the 0.001 threshold
    # chi² = 2 · 600² / 50,000 = 14.4, p ≈ 1.5e-4: flagged.
    flagged = srm_check([50_600, 49_400], [1, 1])
    assert flagged.chi2 == pytest.approx(14.4)
    assert flagged.p_value == pytest.approx(math.erfc(math.sqrt(7.2)))
    assert flagged.flagged
    assert "Sample ratio mismatch" in flagged.reason()


def test_srm_unequal_weights_three_arms_hand_computed():
    # weights 2:1:1 over 4,000 units → expected 2000, 1000, 1000.
    result = srm_check([2100, 950, 950], [2, 1, 1])
    assert result.expected == pytest.approx((2000.0, 1000.0, 1000.0))
    chi2 = 100**2 / 2000 + 50**2 / 1000 + 50**2 / 1000  # = 10
    assert result.chi2 == pytest.approx(chi2)
    # chi-squared with 2 degrees of freedom: sf(x) = exp(-x / 2).
    assert result.p_value == pytest.approx(math.exp(-chi2 / 2))
    assert result.p_value == pytest.approx(sps.chisquare([2100, 950, 950], [2000, 1000, 1000])[1])


def test_srm_refuses_mismatched_input():
    with pytest.raises(ValueError, match="one count per arm"):
        srm_check([10, 10], [1, 1, 1])
    with pytest.raises(ValueError, match="weights > 0"):
        srm_check([10, 10], [1, 0])


# --- CUPED --------------------------------------------------------------------------------


def test_cuped_theta_hand_computed():
    x = [1.0, 2.0, 3.0, 4.0]
    y = [3.0, 5.0, 4.0, 8.0]
    # mean x 2.5, mean y 5; Σ(x-x̄)(y-ȳ) = (-1.5)(-2) + (-0.5)(0) + (0.5)(-1) + (1.5)(3) = 7;
    # Σ(x-x̄)² = 5; θ = 7 / 5.
    assert cuped_theta(y, x) == pytest.approx(1.4)
    assert cuped_theta(y, [2.0, 2.0, 2.0, 2.0]) == 0.0


def test_cuped_keeps_the_difference_and_removes_the_predicted_variance():
    rng = np.random.default_rng(7)
    n, rho = 200_000, 0.7
    x = rng.normal(10, 2, size=2 * n)
    noise = rng.normal(0, 2, size=2 * n)
    y = 10 + rho * (x - 10) + math.sqrt(1 - rho**2) * noise
    y[n:] += 0.05  # the treatment's true effect
    (a, b), theta = cuped_arms([y[:n], y[n:]], [x[:n], x[n:]])
    assert theta == pytest.approx(rho, abs=0.01)
    assert b.mean() - a.mean() == pytest.approx(y[n:].mean() - y[:n].mean(), abs=0.01)
    reduction = 1 - a.var() / y[:n].var()
    assert reduction == pytest.approx(rho**2, abs=0.02)


# --- delta method -------------------------------------------------------------------------


def test_ratio_summary_hand_computed():
    # Y = [1, 2, 3], X = [1, 1, 2]: R = 6/4; var_y = 1, var_x = 1/3, cov = 1/2, μ_x = 4/3;
    # Var(R) = (1 - 2·1.5·0.5 + 2.25/3) / (3 · 16/9) = 0.25 · 3/16.
    summary = ratio_summary([1, 2, 3], [1, 1, 2])
    assert summary.estimate == pytest.approx(1.5)
    assert summary.variance == pytest.approx(0.046875)


def test_delta_method_variance_matches_the_simulated_spread():
    rng = np.random.default_rng(11)
    ratios, variances = [], []
    for _ in range(400):
        plays = rng.poisson(5, size=2000) + 1
        per_play = rng.gamma(2.0, 3.0, size=2000)  # each user's own watch time per play
        watch = plays * per_play + rng.normal(0, 1, size=2000)
        s = ratio_summary(watch, plays)
        ratios.append(s.estimate)
        variances.append(s.variance)
    assert np.mean(variances) == pytest.approx(np.var(ratios, ddof=1), rel=0.15)


def test_mean_summary_is_mean_and_variance_of_the_mean():
    s = mean_summary([2.0, 4.0, 6.0, 8.0])
    assert s.estimate == 5.0
    assert s.variance == pytest.approx((20.0 / 3) / 4)  # s² = 20/3, n = 4


# --- always-valid inference ---------------------------------------------------------------


def test_msprt_p_value_hand_computed():
    # V = 1, τ² = 1, D = 3: Λ = sqrt(1/2) · exp(1 · 9 / (2 · 1 · 2)) = e^2.25 / √2.
    assert msprt_p_value(3.0, 1.0, 1.0) == pytest.approx(math.sqrt(2) * math.exp(-2.25))
    assert msprt_p_value(0.0, 1.0, 1.0) == 1.0  # no evidence at all


def test_confidence_sequence_is_the_inverted_test():
    # r² = V (V + τ²)/τ² · (2 log 20 + log 2) at V = tau² = 1; at D = r the p-value is alpha.
    r = confidence_halfwidth(1.0, 1.0, 0.05)
    assert r == pytest.approx(math.sqrt(2 * (2 * math.log(20) + math.log(2))))
    assert msprt_p_value(r, 1.0, 1.0) == pytest.approx(0.05)
    for v, t2 in [(0.3, 2.0), (4.0, 0.5)]:
        assert msprt_p_value(confidence_halfwidth(v, t2, 0.01), v, t2) == pytest.approx(0.01)


def test_always_valid_interval_is_wider_than_the_fixed_one():
    a = ArmSummary(n=5000, estimate=10.0, variance=0.002)
    b = ArmSummary(n=5000, estimate=10.2, variance=0.002)
    result = sequential_test(a, b)
    fixed_half = 1.96 * math.sqrt(0.004)
    assert result.ci_high - result.difference > fixed_half
    assert result.difference == pytest.approx(0.2)
    assert result.relative == pytest.approx(0.02)


def _aa_peeking(rng: np.random.Generator, looks: int, per_look: int, effect: float = 0.0):
    """One experiment looked at `looks` times: (any fixed-test p < .05, any always-valid
    p < .05, the always-valid history)."""
    a = rng.exponential(2.0, size=looks * per_look)
    b = rng.exponential(2.0, size=looks * per_look) + effect
    pairs = [
        (mean_summary(a[: k * per_look]), mean_summary(b[: k * per_look]))
        for k in range(1, looks + 1)
    ]
    history = sequential_history(pairs)
    naive = any(z_test(x, y) < 0.05 for x, y in pairs)
    return naive, any(r.p_value < 0.05 for r in history), history


def test_peeking_inflates_the_fixed_test_but_not_the_always_valid_one():
    rng = np.random.default_rng(20)
    runs = [_aa_peeking(rng, looks=20, per_look=200) for _ in range(300)]
    naive_rate = sum(r[0] for r in runs) / len(runs)
    valid_rate = sum(r[1] for r in runs) / len(runs)
    # Binomial(300, 0.05): a rate above 0.09 has probability < 0.2 % at a true 5 %.
    assert valid_rate <= 0.09
    assert naive_rate > 0.12  # 20 looks: the fixed test's rate roughly triples
    for _, _, history in runs[:20]:
        ps = [r.p_value for r in history]
        assert ps == sorted(ps, reverse=True)  # the always-valid p-value never goes back up
        widths = [r.ci_high - r.ci_low for r in history]
        assert widths == sorted(widths, reverse=True)


def test_sequential_test_finds_a_real_effect():
    rng = np.random.default_rng(3)
    _, detected, history = _aa_peeking(rng, looks=20, per_look=500, effect=0.3)
    assert detected
    final = history[-1]
    assert final.ci_low <= 0.3 <= final.ci_high
    assert final.ci_low > 0


def test_z_test_matches_welch_at_large_n():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 5000), rng.normal(0.04, 1.3, 5000)
    expected = sps.ttest_ind(b, a, equal_var=False).pvalue
    assert z_test(mean_summary(a), mean_summary(b)) == pytest.approx(expected, rel=0.01)


# --- Benjamini-Hochberg -------------------------------------------------------------------


def test_benjamini_hochberg_hand_computed():
    # sorted 0.005, 0.01, 0.03, 0.04, 0.2 -> m/rank: 0.025, 0.025, 0.05, 0.05, 0.2 (R: p.adjust).
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005, 0.2]) == pytest.approx(
        [0.025, 0.05, 0.05, 0.025, 0.2]
    )
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([0.9, 0.95]) == pytest.approx([0.95, 0.95])


def test_benjamini_hochberg_matches_scipy():
    p = np.random.default_rng(9).uniform(0, 0.2, size=40)
    assert benjamini_hochberg(p) == pytest.approx(list(sps.false_discovery_control(p)))


def test_benjamini_hochberg_refuses_non_p_values():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.1, 1.5])


# --- the recommendation -------------------------------------------------------------------


def _v(name: str, diff: float, p: float, higher: bool = True) -> MetricVerdict:
    return MetricVerdict(name=name, difference=diff, adjusted_p=p, higher_is_better=higher)


@pytest.mark.parametrize(
    ("primary", "guardrails", "srm", "ended", "decision"),
    [
        (_v("watch", 1.0, 0.01), [_v("errors", 0.1, 0.5, higher=False)], None, False, "ship"),
        (_v("watch", 1.0, 0.01), [_v("errors", 0.1, 0.01, higher=False)], None, False, "dont_ship"),
        # a guardrail significantly *improved* does not block shipping
        (_v("watch", 1.0, 0.01), [_v("errors", -0.1, 0.01, higher=False)], None, False, "ship"),
        (_v("watch", -1.0, 0.01), [], None, False, "dont_ship"),
        (_v("watch", 1.0, 0.2), [], None, False, "keep_running"),
        (_v("watch", 1.0, 0.2), [], None, True, "dont_ship"),
        (_v("ttff", -5.0, 0.001, higher=False), [], None, False, "ship"),
        (_v("watch", 1.0, 0.01), [], "Sample ratio mismatch", False, "blocked"),
        (None, [], None, False, "blocked"),
    ],
)
def test_recommendation(primary, guardrails, srm, ended, decision):
    result = recommend(primary=primary, guardrails=guardrails, srm_reason=srm, ended=ended)
    assert result.decision == decision
    assert result.reasons
