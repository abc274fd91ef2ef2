"""The experiments' statistics: pure functions over numpy arrays, no Django.

srm (sample-ratio mismatch), cuped (variance reduction with a pre-period), summary (an arm's
estimate and its variance; the delta method for ratio metrics), sequential (always-valid
mSPRT p-values and confidence sequences), fixed (the fixed-horizon test, for comparison),
multiple (Benjamini-Hochberg), recommend (ship / don't ship / keep running).
"""

from apps.experiments.stats.cuped import PRE_PERIOD_DAYS, cuped_adjust, cuped_arms, cuped_theta
from apps.experiments.stats.fixed import z_test
from apps.experiments.stats.multiple import benjamini_hochberg
from apps.experiments.stats.recommend import MetricVerdict, Recommendation, recommend
from apps.experiments.stats.sequential import (
    SequentialResult,
    mixture_tau2,
    sequential_history,
    sequential_test,
)
from apps.experiments.stats.srm import SRM_P_THRESHOLD, SrmResult, srm_check
from apps.experiments.stats.summary import (
    ArmSummary,
    mean_summary,
    quantile_summary,
    ratio_summary,
)

__all__ = [
    "PRE_PERIOD_DAYS",
    "SRM_P_THRESHOLD",
    "ArmSummary",
    "MetricVerdict",
    "Recommendation",
    "SequentialResult",
    "SrmResult",
    "benjamini_hochberg",
    "cuped_adjust",
    "cuped_arms",
    "cuped_theta",
    "mean_summary",
    "mixture_tau2",
    "quantile_summary",
    "ratio_summary",
    "recommend",
    "sequential_history",
    "sequential_test",
    "srm_check",
    "z_test",
]
