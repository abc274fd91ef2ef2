"""Benjamini-Hochberg: p-values adjusted for the false discovery rate across an experiment's
metrics (the primary and its guardrails are tested together; ten metrics at alpha = 0.05 would
otherwise flag one by chance every other experiment)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def benjamini_hochberg(p_values: Sequence[float] | NDArray[np.float64]) -> list[float]:
    """Adjusted p_(i) = min_{j ≥ i} min(1, m p_(j) / j) over the sorted p-values.

    Benjamini & Hochberg, "Controlling the False Discovery Rate" (JRSS B 1995), step-up
    procedure; the adjusted form is R's p.adjust(method = "BH"). Answers in input order.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return [float(a) for a in adjusted]
