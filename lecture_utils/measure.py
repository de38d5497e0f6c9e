"""Turning measurements into statements: slopes on log-log axes (the order of a finite difference in lecture 01,
sigma/sqrt(n) in lecture 04, the cost of a solve in lecture 06).

Example::

    from lecture_utils import measure
    measure.loglog_slope([1, 4, 16], [1.0, 0.5, 0.25])   # -> -0.5: y ~ x^(-1/2)
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array

__all__ = ["loglog_slope"]


def loglog_slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the exponent ``p`` in ``y ~ C x^p``.

    Args:
        x, y: positive arrays of the same shape ``(k,)``, ``k >= 2`` (an error of exactly 0 cannot be fitted).
    Returns:
        the fitted slope. Example: ``loglog_slope([1e-1, 1e-2], [1e-2, 1e-4])  # 2.0``
    """
    x, y = check_array("x", x, ndim=1), check_array("y", y, ndim=1)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y need the same shape with at least 2 entries, got {x.shape} and {y.shape}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to take logarithms (a value of exactly 0 cannot be fitted)")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
