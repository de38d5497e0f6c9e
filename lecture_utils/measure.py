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

import math

import numpy as np

from ._validate import check_array, check_int, check_real
from .optim import Optimizer, run
from .surfaces import Surface, as_surface
from .trajectory import Trajectory

__all__ = ["loglog_slope", "SeedSummary", "seed_summary", "evaluations_to_target", "gradient_descent_evaluations"]


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


# ---- what a run costs to reach a target (lecture 09 compares gradient-free and gradient methods) ------
def evaluations_to_target(traj: Trajectory, target: float) -> np.ndarray:
    """Evaluations each run needed before its best value was ``<= target``; ``inf`` where it never got there (so a
    median or a sort counts a failure as the slowest run, never as a fast one).

    For a gradient-free result it reads ``extras["evals"]``; for a gradient method's trajectory (no ``evals``),
    step ``t`` has used ``t + 1`` evaluations of value and gradient.

    Args:
        traj: a trajectory from this module or :func:`lecture_utils.optim.run`.
        target: the value to reach.
    Returns:
        ``(B,)`` float array of whole numbers and ``inf``. Example: ``evaluations_to_target(res, 1e-3)``
    """
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a lecture_utils.trajectory.Trajectory, got {type(traj).__name__}")
    target = check_real("target", target)
    T = traj.values.shape[0]
    evals = np.asarray(traj.extras.get("evals", np.arange(1, T + 1)), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        best = np.fmin.accumulate(traj.values, axis=0)
        hit = best <= target
    first = hit.argmax(0)
    return np.where(hit.any(0), evals[first].astype(float), np.inf)


def gradient_descent_evaluations(surface: Surface, opt: Optimizer, x0, target: float, max_steps: int = 10_000):
    """Run a gradient method until its value is ``<= target`` and count what it used.

    Returns a dict with ``steps`` (updates taken, ``inf`` if the target was not reached within ``max_steps``),
    ``gradient_evals`` (``steps + 1`` evaluations of value and gradient, the start included) and
    ``finite_difference_evals`` (``(steps + 1) * (d + 1)``: what the same run costs in function evaluations if
    each gradient is estimated by forward differences, one extra evaluation per coordinate) and ``trajectory``
    (the run, long enough to reach the target; ``optim.run``'s noise-free steps make it deterministic).

    Example: ``gradient_descent_evaluations(s, optim.SGD(lr=0.1), x0, target=1e-3)["gradient_evals"]``
    """
    surface = as_surface(surface)
    target = check_real("target", target)
    max_steps = check_int("max_steps", max_steps, low=1)
    # Run 64 steps, then 128, 256, ... from scratch until the target is reached (at most twice the work of
    # stopping exactly there, and the trajectory is the same as one long run's since nothing is random).
    num_steps = min(64, max_steps)
    while True:
        traj = run(surface, opt, x0, num_steps=num_steps, tol=0.0)
        hit = evaluations_to_target(traj, target)
        if hit.shape != (1,):
            raise ValueError("x0 must be a single start point (shape (d,))")
        if np.isfinite(hit[0]) or num_steps == max_steps:
            break
        num_steps = min(2 * num_steps, max_steps)
    if not np.isfinite(hit[0]):
        return {"steps": math.inf, "gradient_evals": math.inf, "finite_difference_evals": math.inf, "trajectory": traj}
    n = int(hit[0])
    return {"steps": n - 1, "gradient_evals": n, "finite_difference_evals": n * (surface.dim + 1), "trajectory": traj}
