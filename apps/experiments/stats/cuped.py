"""CUPED: subtract the part of a metric its pre-period value predicts.

Y_cuped = Y - theta (X - mean(X)), with X the same unit's metric over the pre-period. The mean is
unchanged in expectation (X does not depend on the arm: it was measured before assignment)
and the variance shrinks by the factor 1 - rho², rho = corr(X, Y).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The pre-period, in days before the experiment starts (Deng et al. found 1-2 weeks enough).
PRE_PERIOD_DAYS: Final = 14


def cuped_theta(y: ArrayLike, x: ArrayLike) -> float:
    """theta = cov(Y, X) / var(X) on the data pooled across arms.

    Deng, Xu, Kohavi, Walker, "Improving the Sensitivity of Online Controlled Experiments by
    Utilizing Pre-Experiment Data" (WSDM 2013), eq. 3; pooling keeps the same theta in every arm,
    so the adjustment stays unbiased for the difference.
    """
    ya = np.asarray(y, dtype=float)
    xa = np.asarray(x, dtype=float)
    if ya.shape != xa.shape or ya.size < 2:
        raise ValueError("cuped_theta needs paired y and x of at least two units")
    var_x = float(xa.var(ddof=1))
    if var_x == 0.0:
        return 0.0  # a constant covariate predicts nothing
    return float(np.cov(ya, xa, ddof=1)[0, 1] / var_x)


def cuped_adjust(y: ArrayLike, x: ArrayLike, *, theta: float, x_mean: float) -> NDArray[np.float64]:
    """Y - theta (X - E[X]); pass the pooled theta and the pooled mean of X for every arm."""
    ya = np.asarray(y, dtype=float)
    xa = np.asarray(x, dtype=float)
    return np.asarray(ya - theta * (xa - x_mean), dtype=np.float64)


def cuped_arms(
    ys: list[NDArray[np.float64]], xs: list[NDArray[np.float64]]
) -> tuple[list[NDArray[np.float64]], float]:
    """Adjust every arm with theta and the mean of X pooled across arms; answers (arms, theta)."""
    pooled_y = np.concatenate(ys)
    pooled_x = np.concatenate(xs)
    theta = cuped_theta(pooled_y, pooled_x)
    x_mean = float(pooled_x.mean())
    adjusted = [cuped_adjust(y, x, theta=theta, x_mean=x_mean) for y, x in zip(ys, xs, strict=True)]
    return adjusted, theta
