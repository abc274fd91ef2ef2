"""Flags that set media's behaviour for everyone (not per viewer): staff change them in the
flags console, audited like any flag; media asks through its hooks (it sits below us)."""

from __future__ import annotations

from apps.experiments import evaluation

# a number of views (a multivariate flag whose variations are the thresholds staff may
# choose, e.g. [0, 1000, 10000, 100000]; 0 turns AV1 off)
AV1_VIEW_THRESHOLD = "media.av1_view_threshold"


def av1_view_threshold() -> int | None:
    """The flag's value for no one in particular (its default, or a rule without a
    rollout); None when the flag does not exist or holds no whole number."""
    found = evaluation.value(AV1_VIEW_THRESHOLD, None, default=None)
    if isinstance(found, bool) or not isinstance(found, int | float) or found < 0:
        return None
    return int(found)
