"""Always-valid inference for a difference in means: the mixture sequential probability ratio
test (mSPRT) with a normal mixture, so the results can be looked at every day without
inflating the false-positive rate.

Johari, Koomen, Pekelis, Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests"
(Operations Research 2022; the method behind Optimizely's Stats Engine). For the difference
D = est_B - est_A with variance V (from the two ArmSummary values) and the mixture
theta ~ N(theta0, tau²), the mixture likelihood ratio against H0: theta = theta0 is

    L = sqrt(V / (V + tau²)) · exp( tau² (D - theta0)² / (2 V (V + tau²)) )

and 1/L is an always-valid p-value (Ville's inequality: P(sup L ≥ 1/alpha) ≤ alpha under H0).
Inverting the test gives the confidence sequence D ± r with
r² = V (V + tau²) / tau² · (2 log(1/alpha) + log((V + tau²) / V)).

The variance is estimated from the data (plug-in), which is exact in the large-sample limit
the experiments live in. tau² is tuned so the interval is narrowest at `tuning_n` units per arm
(Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
sequences", Ann. Stat. 2021, eq. 3.7; GrowthBook's default N* = 5,000 is used here too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from apps.experiments.stats.summary import ArmSummary

DEFAULT_ALPHA: Final = 0.05
DEFAULT_TUNING_N: Final = 5_000


@dataclass(frozen=True)
class SequentialResult:
    difference: float  # est_B - est_A
    ci_low: float  # the always-valid (1 - alpha) confidence sequence at this look
    ci_high: float
    p_value: float  # always-valid p-value (min over looks when a history is given)
    relative: float | None  # difference / est_A (None when the control is 0)
    relative_ci_low: float | None  # the interval divided by |est_A| (control's noise ignored)
    relative_ci_high: float | None
    tau2: float

    def significant(self, alpha: float = DEFAULT_ALPHA) -> bool:
        return self.p_value < alpha


def mixture_tau2(
    control: ArmSummary,
    treatment: ArmSummary,
    *,
    alpha: float = DEFAULT_ALPHA,
    tuning_n: int = DEFAULT_TUNING_N,
) -> float:
    """tau² = V(N*) · (2 log(1/alpha) + log(2 log(1/alpha) + 1)): the narrowest CS near N*.

    Howard et al. 2021, eq. 3.7 (rho² for the normal mixture), scaled by the per-unit variances
    measured so far, since V(N*) = (sigma²_A + sigma²_B) / N*.
    """
    per_unit = control.variance * control.n + treatment.variance * treatment.n
    two_log = 2 * math.log(1 / alpha)
    return per_unit / tuning_n * (two_log + math.log(two_log + 1))


def msprt_p_value(difference: float, variance: float, tau2: float, theta0: float = 0.0) -> float:
    """1 / L, capped at 1, for one look (Johari et al. 2022, eq. 11 with a normal mixture)."""
    if not math.isfinite(variance) or variance <= 0 or tau2 <= 0:
        return 1.0
    log_lambda = 0.5 * math.log(variance / (variance + tau2)) + tau2 * (
        difference - theta0
    ) ** 2 / (2 * variance * (variance + tau2))
    return 1.0 if log_lambda <= 0 else min(1.0, math.exp(-log_lambda))


def confidence_halfwidth(variance: float, tau2: float, alpha: float = DEFAULT_ALPHA) -> float:
    """r with L(theta) < 1/alpha <=> |D - theta| < r: the always-valid interval's half-width."""
    if not math.isfinite(variance) or variance <= 0 or tau2 <= 0:
        return math.inf
    return math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (2 * math.log(1 / alpha) + math.log((variance + tau2) / variance))
    )


def sequential_test(
    control: ArmSummary,
    treatment: ArmSummary,
    *,
    alpha: float = DEFAULT_ALPHA,
    tau2: float | None = None,
    previous_p: float = 1.0,
    previous_ci: tuple[float, float] | None = None,
) -> SequentialResult:
    """The mSPRT at this look. Pass the previous look's p-value and interval to keep them
    monotone (the always-valid p-value is the running minimum, the sequence the running
    intersection: both stay valid because the guarantee holds for all looks at once)."""
    variance = control.variance + treatment.variance
    t2 = tau2 if tau2 is not None else mixture_tau2(control, treatment, alpha=alpha)
    diff = treatment.estimate - control.estimate
    p = min(previous_p, msprt_p_value(diff, variance, t2))
    r = confidence_halfwidth(variance, t2, alpha)
    low, high = diff - r, diff + r
    if previous_ci is not None:
        low, high = max(low, previous_ci[0]), min(high, previous_ci[1])
        if low > high:  # the intersection is empty only by a rare false coverage; keep this look
            low, high = diff - r, diff + r
    rel = rel_low = rel_high = None
    if control.estimate != 0:
        base = abs(control.estimate)
        rel, rel_low, rel_high = diff / base, low / base, high / base
    return SequentialResult(
        difference=diff,
        ci_low=low,
        ci_high=high,
        p_value=p,
        relative=rel,
        relative_ci_low=rel_low,
        relative_ci_high=rel_high,
        tau2=t2,
    )


def sequential_history(
    looks: Sequence[tuple[ArmSummary, ArmSummary]], *, alpha: float = DEFAULT_ALPHA
) -> list[SequentialResult]:
    """One result per look (e.g. per day), with tau² fixed at the first look with data so the
    mixture does not move with the data it judges."""
    out: list[SequentialResult] = []
    tau2: float | None = None
    for control, treatment in looks:
        if (
            tau2 is None
            and control.n >= 2
            and treatment.n >= 2
            and math.isfinite(control.variance + treatment.variance)
        ):
            tau2 = mixture_tau2(control, treatment, alpha=alpha)
        if tau2 is None:
            continue
        prev = out[-1] if out else None
        out.append(
            sequential_test(
                control,
                treatment,
                alpha=alpha,
                tau2=tau2,
                previous_p=prev.p_value if prev else 1.0,
                previous_ci=(prev.ci_low, prev.ci_high) if prev else None,
            )
        )
    return out
