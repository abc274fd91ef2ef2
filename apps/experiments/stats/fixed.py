"""The fixed-horizon test: valid only when looked at once, at a sample size set in advance.

Kept for the benchmark that shows what daily peeking does to it, never for the results page.
"""

from __future__ import annotations

import math

from scipy import stats as sps

from apps.experiments.stats.summary import ArmSummary


def z_test(control: ArmSummary, treatment: ArmSummary) -> float:
    """Two-sided p-value of D / sqrt(V) against N(0, 1) (Welch's t at large n).

    Welch, "The generalization of Student's problem when several different population
    variances are involved" (Biometrika 1947), in its large-sample normal limit.
    """
    variance = control.variance + treatment.variance
    if not math.isfinite(variance) or variance <= 0:
        return 1.0
    z = (treatment.estimate - control.estimate) / math.sqrt(variance)
    return float(2 * sps.norm.sf(abs(z)))
