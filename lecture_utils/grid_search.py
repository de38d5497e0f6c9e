"""Grid search: evaluate a function on every point of a regular grid, and how many points that takes in ``d``
dimensions (``k^d``: why it does not scale). Lecture 01.

Example::

    >>> from lecture_utils import grid_search
    >>> res = grid_search.grid_search(lambda X: (X ** 2).sum(1), [(-1, 1), (-1, 1)], 21)
    >>> res.x, res.num_evals                      # 21 x 21 points
    (array([0., 0.]), 441)
    >>> grid_search.grid_size(10, 6)              # 10 points per axis in 6 dimensions
    1000000
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_callable, check_int, check_real

__all__ = ["grid_size", "GridSearchResult", "grid_search"]


def grid_size(points_per_axis: int, dim: int) -> int:
    """Number of evaluations a full grid needs: ``k ** d`` (an exact Python integer, however large).

    Example: ``grid_size(100, 10)  # 10**20``
    """
    k = check_int("points_per_axis", points_per_axis, low=1)
    d = check_int("dim", dim, low=1)
    return k ** d


@dataclass(frozen=True)
class GridSearchResult:
    """Best grid point ``x`` (shape ``(d,)``), its value ``fx`` and the number of evaluations ``num_evals``."""

    x: np.ndarray
    fx: float
    num_evals: int


def grid_search(f: Callable, bounds, points_per_axis: int, *, maximize: bool = False) -> GridSearchResult:
    """Evaluate ``f`` on a regular grid over the box ``bounds`` and keep the best point (lecture 01).

    Args:
        f: batched function ``(B, d) -> (B,)`` (a surface's ``value`` works).
        bounds: ``[(low, high)] * d``; points_per_axis: ``k`` points per axis, ``k ** d`` in all.
        maximize: keep the largest value instead of the smallest.
    Returns:
        :class:`GridSearchResult`. Example: ``grid_search(s.value, s.bounds, 1001, maximize=True)``
    """
    check_callable("f", f)
    k = check_int("points_per_axis", points_per_axis, low=1)
    bounds = [(check_real("low", lo), check_real("high", hi)) for lo, hi in bounds]
    d = len(bounds)
    if d == 0 or any(lo >= hi for lo, hi in bounds):
        raise ValueError(f"bounds must hold (low, high) pairs with low < high, got {bounds}")
    if k ** d > 5_000_000:
        raise ValueError(f"a grid of {k}^{d} = {k ** d:,} points is too large to evaluate here; "
                         f"that is the point of the lecture (use grid_size to count it)")
    axes = [np.linspace(lo, hi, k) for lo, hi in bounds]
    X = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    values = np.asarray(f(X), dtype=float).reshape(-1)
    values = np.where(np.isfinite(values), values, -np.inf if maximize else np.inf)
    i = int(np.argmax(values) if maximize else np.argmin(values))
    return GridSearchResult(X[i].copy(), float(values[i]), int(X.shape[0]))
