"""Sample-ratio mismatch: are the arms' unit counts what the configured weights promise?

A mismatch means assignment or logging is broken (a redirect that loses users in one arm, a
bot filter that hits one arm harder), and every metric comparison is then biased: the results
page is blocked rather than shown.

Two tests, each at p < 0.001, and the analysis blocks if EITHER says so:

- During the run, an always-valid test over the units in the order they arrived
  (`srm_check(..., arrivals=...)`): the Dirichlet-multinomial mixture sequential test (Lindon
  & Malek, "Anytime-Valid Inference for Multinomial Count Data", NeurIPS 2022). Results are
  recomputed every day, and Pearson's chi-squared at p < 0.001 on each of 28 daily looks
  blocks a healthy experiment on some day several times as often as once in a thousand
  (simulated, 2,000 A/A runs x 28 looks: 15 blocked, 0.75 %). The mixture's Bayes factor
  against the configured weights is a nonnegative martingale under no mismatch, so by
  Ville's inequality the chance that it ever exceeds 1/0.001, at any arrival of any day, is
  at most 0.001 (the same 2,000 runs: 0 blocked); its p-value is the running minimum of
  1/BF, which only falls, so a block once shown stays.
- At the final analysis (`final=True`: the experiment is stopped, its units fixed), the
  issue's Pearson chi-squared at p < 0.001 on the final counts, one look. It is there for
  power: no always-valid test at level 0.001 can match one fixed-size look, because a Bayes
  factor of 1,000 needs z >= sqrt(2 ln 1000) = 3.72 even with the whole prior on the true
  alternative, against chi-squared's 3.29. Simulated at 100,000 units, 51/49 (a 1-point
  shift of a 50/50 split): the mixture flags 97-98.5 % of runs whatever its concentration
  (100: 97 %, 1,000: 97.8 %, 3,000: 98.5 %, 10,000: 98.5 %, 100,000: 84 %; 400 runs each),
  chi-squared once 99.75 % (theory: 99.88 %).
A healthy experiment is then blocked with probability at most 0.001 + 0.001 = 0.002 (union
bound), however often it is looked at: the chi-squared is taken once, on the stopped
experiment's fixed counts (recomputing it on the same counts gives the same answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from scipy import stats as sps
from scipy.special import gammaln

# Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments" (KDD 2019):
# the conventional threshold; with many daily checks a looser one would cry wolf.
SRM_P_THRESHOLD: Final = 0.001
# The Dirichlet prior's total concentration (alpha = this x the configured shares): mismatches
# of a few points are where the prior puts its mass. Simulated, 400 runs per cell, flagged at
# the same z (6.3) at every size: 60/40 at 1,000 units 394 (100), 347 (1,000), 61 (3,000);
# 51/49 at 100,000 units 388, 391, 394. Larger values buy 1.5 points at 100,000 units and
# lose the small experiments, where the running test matters most (early blocking); the
# final chi-squared covers large experiments at their end. So 100.
SRM_PRIOR_CONCENTRATION: Final = 100.0


@dataclass(frozen=True)
class SrmResult:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float  # chi-squared's, at this look
    flagged: bool
    # the always-valid p-value over every arrival so far (None: counts only, no arrivals)
    sequential_p_value: float | None = None
    # the final analysis (the experiment stopped): chi-squared decides too (module docstring)
    final: bool = False
    threshold: float = SRM_P_THRESHOLD

    @property
    def chi2_decides(self) -> bool:
        """Chi-squared's p counts: a counts-only check, or the final analysis."""
        return self.sequential_p_value is None or self.final

    @property
    def decisive_p_value(self) -> float:
        """The p-value the flag compares with the threshold: the smaller of the tests that
        count at this look."""
        if self.sequential_p_value is None:
            return self.p_value
        return min(self.sequential_p_value, self.p_value) if self.final else self.sequential_p_value

    def reason(self, arms: Sequence[str] | None = None) -> str:
        """The mismatch in words, for the results page: the counts and which test says so."""
        names = (
            list(arms) if arms is not None else [f"arm {i + 1}" for i in range(len(self.observed))]
        )
        parts = ", ".join(
            f"{name}: {obs:,} units (expected {exp:,.0f})"
            for name, obs, exp in zip(names, self.observed, self.expected, strict=True)
        )
        chi2 = f"chi-squared {self.chi2:.1f}, p = {self.p_value:.2g}"
        if self.sequential_p_value is None:
            test = f"{chi2} < {self.threshold}"
        else:
            seq = f"always-valid p = {self.sequential_p_value:.2g}"
            seq_hit = self.sequential_p_value < self.threshold
            chi_hit = self.final and self.p_value < self.threshold
            if seq_hit and chi_hit:
                test = (
                    f"{seq} < {self.threshold} over every unit, and {chi2} < {self.threshold} "
                    "at the final analysis"
                )
            elif chi_hit:
                test = f"{chi2} < {self.threshold} at the final analysis; {seq} over every unit"
            else:
                test = f"{seq} < {self.threshold} over every unit so far; {chi2}"
        return (
            f"Sample ratio mismatch ({test}): {parts}. Assignment or exposure logging is "
            f"broken; the metrics would be biased."
        )


def sequential_srm_p_value(
    arrivals: np.ndarray,
    weights: Sequence[float],
    *,
    concentration: float = SRM_PRIOR_CONCENTRATION,
) -> float:
    """The always-valid p-value of "the arms' shares are the weights" after the units
    `arrivals` (each unit's arm index, in arrival order): min(1, min over t of 1/BF_t), BF_t
    the Dirichlet-multinomial mixture's Bayes factor against the multinomial of the weights
    after t units. BF's factor for one arrival in arm i, with c_i earlier units there out of
    t: ((alpha_i + c_i) / (A + t)) / p_i, the mixture's predictive over the null's."""
    w = np.asarray(weights, dtype=float)
    if len(w) < 2 or (w <= 0).any():
        raise ValueError("weights > 0, at least two arms")
    arm = np.asarray(arrivals, dtype=np.int64)
    if not len(arm):
        return 1.0
    if arm.min() < 0 or arm.max() >= len(w):
        raise ValueError("an arrival names no arm")
    p0 = w / w.sum()
    alpha = concentration * p0
    before = np.empty(len(arm), dtype=float)  # the arm's earlier arrivals, per arrival
    for i in range(len(w)):
        where = np.flatnonzero(arm == i)
        before[where] = np.arange(len(where))
    steps = (
        np.log(alpha[arm] + before) - np.log(concentration + np.arange(len(arm))) - np.log(p0[arm])
    )
    best = float(np.cumsum(steps).max())
    return float(min(1.0, np.exp(-best))) if best > 0 else 1.0


def srm_log_bayes_factor(
    counts: Sequence[int], weights: Sequence[float], concentration: float = SRM_PRIOR_CONCENTRATION
) -> float:
    """log BF at the given counts in closed form (the same value the arrival-by-arrival
    product reaches, whatever the order): for tests and the benchmark."""
    c = np.asarray(counts, dtype=float)
    p0 = np.asarray(weights, dtype=float) / float(np.sum(weights))
    alpha = concentration * p0
    return float(
        gammaln(concentration)
        - gammaln(concentration + c.sum())
        + (gammaln(alpha + c) - gammaln(alpha)).sum()
        - (c * np.log(p0)).sum()
    )


def srm_check(
    counts: Sequence[int],
    weights: Sequence[float],
    *,
    threshold: float = SRM_P_THRESHOLD,
    arrivals: np.ndarray | None = None,
    final: bool = False,
) -> SrmResult:
    """Pearson's chi-squared goodness of fit of the arms' counts against their weights. With
    `arrivals` (each unit's arm index in arrival order, matching `counts`) the always-valid
    sequential test decides the flag instead, and at the final analysis (`final`, the
    experiment stopped) either test flags (the module's docstring says why)."""
    if len(counts) != len(weights) or len(counts) < 2:
        raise ValueError("srm_check needs one count per arm and at least two arms")
    observed = np.asarray(counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    if (observed < 0).any() or (w <= 0).any():
        raise ValueError("counts must be >= 0 and weights > 0")
    total = observed.sum()
    if total == 0:
        return SrmResult(
            tuple(int(c) for c in counts),
            tuple(0.0 for _ in counts),
            0.0,
            1.0,
            False,
            sequential_p_value=None if arrivals is None else 1.0,
            final=final,
            threshold=threshold,
        )
    expected = total * w / w.sum()
    # Pearson 1900: X^2 = sum (O - E)^2 / E, chi-squared with k - 1 degrees of freedom.
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    p_value = float(sps.chi2.sf(chi2, df=len(counts) - 1))
    sequential = None
    if arrivals is not None:
        if len(arrivals) != int(total):
            raise ValueError("arrivals must hold one entry per counted unit")
        sequential = sequential_srm_p_value(arrivals, weights)
    result = SrmResult(
        observed=tuple(int(c) for c in counts),
        expected=tuple(float(e) for e in expected),
        chi2=chi2,
        p_value=p_value,
        flagged=False,
        sequential_p_value=sequential,
        final=final,
        threshold=threshold,
    )
    return replace(result, flagged=result.decisive_p_value < threshold)
