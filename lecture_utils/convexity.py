"""A numerical test of convexity: a function is convex when every chord lies on or above its graph (lecture 01).

Example::

    >>> import numpy as np
    >>> from lecture_utils import convexity
    >>> gap, a, b, t = convexity.max_chord_gap(np.square, -2, 2)
    >>> bool(gap <= 1e-12)                        # no chord of x^2 dips below its graph
    True
    >>> bool(convexity.max_chord_gap(np.sin, 0, 3)[0] > 0)   # sin is not convex on [0, 3]
    True
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._validate import check_array, check_callable, check_int, check_real, scalar_or_array

__all__ = ["chord_gap", "max_chord_gap"]


def chord_gap(f: Callable, a, b, t):
    """``f(t a + (1 - t) b) - (t f(a) + (1 - t) f(b))``: positive means the graph rises above the chord.

    A function is convex exactly when this is ``<= 0`` for all ``a, b`` and ``t`` in ``[0, 1]`` (lecture 01).
    Example: ``chord_gap(np.square, -1.0, 1.0, 0.5)  # -1.0``
    """
    check_callable("f", f)
    a, b, t = check_array("a", a), check_array("b", b), check_array("t", t)
    if np.any((t < 0) | (t > 1)):
        raise ValueError("t must lie in [0, 1]")
    val = lambda z: np.asarray(f(z), dtype=float)  # noqa: E731
    return scalar_or_array(val(t * a + (1 - t) * b) - (t * val(a) + (1 - t) * val(b)))


def max_chord_gap(f: Callable, low: float, high: float, num_pairs: int = 20000, seed: int = 0):
    """Search random chords in ``[low, high]`` for the largest :func:`chord_gap` (a convexity counterexample).

    Args:
        f: vectorized function of one variable; low, high: the interval; num_pairs: chords tried.
    Returns:
        ``(gap, a, b, t)`` for the worst chord found; ``gap > 0`` proves ``f`` is not convex there.
    Example: ``max_chord_gap(np.sin, 0, 6)[0] > 0  # True``
    """
    low, high = check_real("low", low), check_real("high", high)
    if low >= high:
        raise ValueError(f"low must be < high, got {low}, {high}")
    n = check_int("num_pairs", num_pairs, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    a, b, t = rng.uniform(low, high, n), rng.uniform(low, high, n), rng.uniform(0, 1, n)
    gaps = np.asarray(chord_gap(f, a, b, t), dtype=float).reshape(-1)
    i = int(np.argmax(gaps))
    return float(gaps[i]), float(a[i]), float(b[i]), float(t[i])
