"""One arm's estimate of a metric and the variance of that estimate.

Every test (sequential, fixed-horizon) takes two of these, so mean metrics and ratio metrics
(delta method) go through the same inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class ArmSummary:
    n: int  # units (users) in the arm
    estimate: float  # the metric's value for the arm (a mean, or a ratio of sums)
    variance: float  # Var(estimate), not the per-unit variance

    @property
    def std_error(self) -> float:
        return float(np.sqrt(self.variance))


def mean_summary(values: ArrayLike) -> ArmSummary:
    """A mean metric: the sample mean and s² / n (the CLT's variance of the mean)."""
    v = np.asarray(values, dtype=float)
    n = int(v.size)
    if n < 2:
        return ArmSummary(n=n, estimate=float(v.mean()) if n else 0.0, variance=float("inf"))
    return ArmSummary(n=n, estimate=float(v.mean()), variance=float(v.var(ddof=1) / n))


def ratio_summary(numerators: ArrayLike, denominators: ArrayLike) -> ArmSummary:
    """A ratio metric R = sum Y / sum X over per-unit numerators Y and denominators X.

    Users are the randomisation unit but the ratio's terms (plays, sessions) are not
    independent within a user, so the naive variance is wrong; the delta method gives
    Var(R) ≈ (sigma²_Y - 2R sigma_XY + R² sigma²_X) / (n mu_X²)
    (Deng, Knoblich, Lu, "Applying the Delta Method in Metric Analytics", KDD 2018, eq. 4).
    """
    y = np.asarray(numerators, dtype=float)
    x = np.asarray(denominators, dtype=float)
    if y.shape != x.shape:
        raise ValueError("ratio_summary needs one numerator and one denominator per unit")
    n = int(y.size)
    mu_x = float(x.mean()) if n else 0.0
    if n < 2 or mu_x == 0.0:
        return ArmSummary(
            n=n, estimate=0.0 if mu_x == 0.0 else float(y.mean() / mu_x), variance=float("inf")
        )
    ratio = float(y.mean() / mu_x)
    cov = np.cov(y, x, ddof=1)
    var = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (n * mu_x**2)
    return ArmSummary(n=n, estimate=ratio, variance=float(max(var, 0.0)))


Z_95 = 1.959963984540054


def quantile_rank_value(sorted_values: np.ndarray, q: float) -> float:
    """The q-quantile as the QoE page defines it: the value at 0-based rank floor(q·n) of
    the n sorted values (ClickHouse's quantileExact)."""
    n = int(sorted_values.size)
    return float(sorted_values[min(n - 1, max(0, int(np.floor(q * n))))])


def quantile_summary(values: ArrayLike, units: ArrayLike, q: float) -> ArmSummary:
    """A quantile metric (time to first frame p95) over every value of an arm's units, whose
    values are clustered by unit (one user's plays share a device and a network).

    The estimate is the q-quantile of the pooled values. Its variance follows Deng,
    Knoblich, Lu (KDD 2018, sec. 4.3): the empirical CDF at the estimate,
    F = sum_i S_i / sum_i N_i (S_i: unit i's values at or below it, N_i: its values), is a
    ratio of per-unit sums, so the delta method gives Var(F) (ratio_summary); the interval
    q ± z·sd(F) maps through the sorted values to [Q_L, Q_U] (the "outer" interval, no
    density estimate), and Var(estimate) = ((Q_U - Q_L) / 2z)². n counts units with a value.
    """
    v = np.asarray(values, dtype=float)
    u = np.asarray(units)
    if v.shape != u.shape:
        raise ValueError("quantile_summary needs one unit per value")
    if not 0 < q < 1:
        raise ValueError("the quantile must be between 0 and 1")
    if v.size == 0:
        return ArmSummary(n=0, estimate=0.0, variance=float("inf"))
    ordered = np.sort(v)
    estimate = quantile_rank_value(ordered, q)
    keys, inverse = np.unique(u, return_inverse=True)
    n = int(keys.size)
    if n < 2:
        return ArmSummary(n=n, estimate=estimate, variance=float("inf"))
    below = np.bincount(inverse, weights=(v <= estimate).astype(float), minlength=n)
    counts = np.bincount(inverse, minlength=n).astype(float)
    spread = Z_95 * ratio_summary(below, counts).std_error
    low = quantile_rank_value(ordered, max(0.0, q - spread))
    high = quantile_rank_value(ordered, min(1.0 - 1e-12, q + spread))
    variance = ((high - low) / (2 * Z_95)) ** 2
    # an interval of one value carries no spread to test with: never significant
    return ArmSummary(n=n, estimate=estimate, variance=float(variance) or float("inf"))
