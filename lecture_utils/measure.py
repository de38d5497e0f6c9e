"""Turning measurements into statements: slopes on log-log axes (the order of a finite difference in lecture 01,
sigma/sqrt(n) in lecture 04, the cost of a solve in lecture 06), and a random effect measured over several seeds
stated as "k of n seeds, median, range" (:func:`seed_summary`).

Example::

    >>> from lecture_utils import measure
    >>> measure.loglog_slope([1, 4, 16], [1.0, 0.5, 0.25])    # y ~ x^(-1/2)
    -0.5
    >>> measure.seed_summary([4.0, 9.0, -1.0]).text("better", "points")
    'better in 2 of 3 seeds, median 4 points, range -1 to 9 points'
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_array

__all__ = ["loglog_slope", "SeedSummary", "seed_summary"]


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


@dataclass(frozen=True)
class SeedSummary:
    """What a random effect did over ``n`` seeds: in how many it showed (``k``), its median and its range.

    Attributes:
        values: ``(n,)`` the per-seed measurements (e.g. paired differences with minus without).
        shows: ``(n,)`` bool, the seeds in which the effect showed.
        k, n: ``shows.sum()`` and the number of seeds; median, low, high: of ``values``.
    """

    values: np.ndarray
    shows: np.ndarray
    k: int
    n: int
    median: float
    low: float
    high: float

    def text(self, what: str = "", unit: str = "", fmt: str = ".2g") -> str:
        """The claim as a sentence part: ``"in 9 of 10 seeds, median gain 4 points, range -1 to 9"``."""
        lead = f"{what} in {self.k} of {self.n} seeds" if what else f"in {self.k} of {self.n} seeds"
        u = f" {unit}" if unit else ""
        return (f"{lead}, median {self.median:{fmt}}{u}, range {self.low:{fmt}} to {self.high:{fmt}}{u}")

    def __str__(self) -> str:
        return self.text()


def seed_summary(values, shows=None) -> SeedSummary:
    """Summarize one measurement per seed as "k of n seeds, median, range" (the course's way to state a random
    effect: lectures 04 to 11).

    Args:
        values: ``(n,)`` finite per-seed values, ``n >= 1`` (for a paired comparison: with minus without, per seed).
        shows: which seeds show the effect: a ``(n,)`` bool array, or None for ``values > 0``.
    Returns:
        :class:`SeedSummary`. Example: ``seed_summary([4.0, 9.0, -1.0]).text("better", "points")``
        gives ``'better in 2 of 3 seeds, median 4 points, range -1 to 9 points'``.
    """
    v = check_array("values", values, ndim=1)
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must hold at least one finite number per seed, got {v}")
    m = v > 0 if shows is None else np.asarray(shows)
    if m.shape != v.shape or m.dtype != bool:
        raise ValueError(f"shows must be a bool array of shape {v.shape}, got {m.dtype} of shape {m.shape}")
    return SeedSummary(v.copy(), m.copy(), int(m.sum()), int(v.size), float(np.median(v)), float(v.min()),
                       float(v.max()))
