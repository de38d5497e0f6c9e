"""Gradient descent in one or a few dimensions, written out so every step can be counted (lecture 03), and
one-variable gradient ascent (lecture 01).

:func:`gradient_descent` is the loop with the classic stopping rule on the change of the objective;
:func:`gd_orbits` runs descent on a 1D surface for many learning rates at once and keeps the late iterates,
for an orbit (bifurcation) diagram; :func:`gradient_ascent` climbs from ``x0`` with ``x <- x + lr f'(x)``.
The batched optimizers of the course, with momentum and adaptive rates, are in :mod:`lecture_utils.optim`.

Example::

    >>> from lecture_utils import descent, surfaces
    >>> res = descent.gradient_descent(surfaces.get("x_plus_sin"), 2.5, lr=0.1)
    >>> res.status()                              # the change of f fell under tol
    'stopped after 281 steps'
    >>> round(float(res.xs[-1, 0]), 2)
    -3.06
    >>> descent.gradient_ascent(lambda x: -2 * (x - 1), 0.0, lr=0.25, num_steps=3)   # climbs to the top at 1
    array([0.   , 0.5  , 0.75 , 0.875])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_array, check_callable, check_int, check_memory, check_real
from .surfaces import as_surface

#: The longest orbit run: an orbit diagram needs a few thousand steps; 10**9 would run for hours.
MAX_ORBIT_STEPS = 1_000_000

__all__ = ["GDResult", "gradient_descent", "Orbits", "gd_orbits", "gradient_ascent"]


@dataclass
class GDResult:
    """What :func:`gradient_descent` returns.

    Attributes:
        xs: ``(num_steps + 1, d)`` iterates (the start included).
        values: ``(num_steps + 1,)`` objective values.
        num_steps: number of updates made.
        stopped: True if the stopping rule ``|f(x_{t+1}) - f(x_t)| < tol`` ended the loop.
        diverged_at: update whose result was not finite (the loop stops there), -1 if none.
    """

    xs: np.ndarray
    values: np.ndarray
    num_steps: int
    stopped: bool
    diverged_at: int = -1

    @property
    def x(self) -> np.ndarray:
        """Last finite iterate, shape ``(d,)``."""
        return self.xs[-1]

    def status(self) -> str:
        """'stopped after 171 steps', 'diverged at step 7' or 'no stop after 5000 steps'."""
        if self.diverged_at >= 0:
            return f"diverged at step {self.diverged_at}"
        if self.stopped:
            return f"stopped after {self.num_steps} steps"
        return f"no stop after {self.num_steps} steps"


def gradient_descent(surface, x0, lr: float, tol: float = 1e-6, max_steps: int = 10_000) -> GDResult:
    """Gradient descent with the classic stopping rule on the change of the objective (lecture 03).

    ``x_{t+1} = x_t - lr * grad f(x_t)``, repeated until ``|f(x_{t+1}) - f(x_t)| < tol`` (that update counts)
    or ``max_steps`` updates. An update that overflows ends the loop and is reported in ``diverged_at``.

    Args:
        surface: a :class:`~lecture_utils.surfaces.Surface` (any dimension).
        x0: start, shape ``(d,)`` (a number for a 1D surface).
        lr: learning rate > 0; tol: >= 0; max_steps: >= 1.
    Returns:
        :class:`GDResult`. Example: ``gradient_descent(surfaces.get("x_plus_sin"), 2.5, lr=0.1).status()``
    """
    surface = as_surface(surface)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    tol = check_real("tol", tol, low=0.0)
    max_steps = check_int("max_steps", max_steps, low=1)
    check_memory("max_steps", max_steps, 8 * (surface.dim + 1) + 200, "the iterates kept in a list", extra=1)
    x = check_array("x0", x0).reshape(-1)
    if x.shape != (surface.dim,) or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be {surface.dim} finite number(s), got {x0!r}")
    xs, values = [x.copy()], [float(surface.value(x))]
    stopped, diverged_at = False, -1
    with np.errstate(all="ignore"):
        for t in range(1, max_steps + 1):
            x_new = x - lr * np.atleast_1d(surface.grad(x))
            f_new = float(surface.value(x_new))
            if not (np.all(np.isfinite(x_new)) and math.isfinite(f_new)):
                diverged_at = t
                break
            xs.append(x_new)
            values.append(f_new)
            done = abs(f_new - values[-2]) < tol
            x = x_new
            if done:
                stopped = True
                break
    return GDResult(np.array(xs), np.array(values), len(xs) - 1, stopped, diverged_at)


@dataclass
class Orbits:
    """What :func:`gd_orbits` returns: for each learning rate, the last iterates of gradient descent.

    Attributes:
        lrs: ``(L,)`` learning rates.
        late: ``(L, keep)`` the last ``keep`` iterates (NaN where the run diverged).
        diverged_at: ``(L,)`` first step whose iterate or value was not finite, -1 if none.
    """

    lrs: np.ndarray
    late: np.ndarray
    diverged_at: np.ndarray

    def period(self, i: int, tol: float = 1e-6) -> int:
        """Smallest period p <= keep/2 of the late iterates of rate ``i`` (1 = converged, 2 = a 2-cycle),
        0 if none is found (a longer cycle or chaos), -1 if the run diverged."""
        if self.diverged_at[i] >= 0:
            return -1
        v = self.late[i]
        scale = tol * max(1.0, float(np.abs(v).max()))
        for p in range(1, len(v) // 2 + 1):
            if np.all(np.abs(v[p:] - v[:-p]) < scale):
                return p
        return 0


def gd_orbits(surface, lrs, x0: float, num_steps: int = 1000, keep: int = 64, bound: float | None = None) -> Orbits:
    """Gradient descent on a 1D surface for many learning rates at once; keep the late iterates (lecture 03).

    Plotting ``late`` against ``lrs`` gives an orbit (bifurcation) diagram: one point per rate where descent
    converges, two where it settles into a 2-cycle, a smear where it is chaotic, nothing where it diverged.

    Args:
        surface: a 1D Surface; lrs: ``(L,)`` positive rates; x0: start; num_steps: updates; keep: <= num_steps.
        bound: also count a run as diverged once ``|x|`` exceeds this (None: only when it overflows).
    Returns:
        :class:`Orbits`. Example: ``gd_orbits(surfaces.get("multi_minima"), np.linspace(0.01, 1, 400), 1.0)``
    """
    surface = as_surface(surface, dim=1)
    lrs = check_array("lrs", lrs, ndim=1)
    if lrs.size == 0 or np.any(~np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError("lrs must be a non-empty array of positive finite learning rates")
    x0 = check_real("x0", x0)
    num_steps = check_int("num_steps", num_steps, low=1, high=MAX_ORBIT_STEPS)
    keep = check_int("keep", keep, low=1, high=num_steps)
    check_memory("keep", keep, 8 * lrs.size, f"{lrs.size} learning rate(s)")
    bound = check_real("bound", bound, low=0.0, low_open=True, allow_none=True)
    limit = np.inf if bound is None else bound
    L = lrs.size
    x = np.full((L, 1), x0)
    late = np.full((L, keep), np.nan)
    diverged_at = np.full(L, -1, dtype=np.int64)
    alive = np.ones(L, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(num_steps + 1):
            g = surface.grad_batch(x)
            # the same rule as optim.run: position t diverged if its value, or its squared gradient, is not
            # finite (or, with a bound, if it left [-bound, bound])
            ok = np.isfinite(surface.value_batch(x) + g[:, 0] * g[:, 0]) & (np.abs(x[:, 0]) <= limit)
            bad = alive & ~ok
            if bad.any():
                diverged_at[bad] = t
                alive &= ~bad
                x[bad] = 0.0  # parked; never reported
                g[bad] = 0.0
            if t > num_steps - keep:
                late[alive, t - (num_steps - keep) - 1] = x[alive, 0]
            if t == num_steps:
                break
            x = x - lrs[:, None] * g
    return Orbits(lrs, late, diverged_at)


def gradient_ascent(df: Callable, x0: float, lr: float, num_steps: int) -> np.ndarray:
    """Iterate ``x <- x + lr f'(x)`` (uphill: a plus sign) and return every iterate (lecture 01).

    Args:
        df: derivative ``f'``; x0: start; lr: learning rate > 0; num_steps: number of steps.
    Returns:
        ``(num_steps + 1,)`` array ``[x0, x1, ...]``; once an iterate stops being finite the rest are NaN.
    Example: ``gradient_ascent(lambda x: 25 * np.cos(x) - 2 * x, -2.0, 0.01, 200)[-1]  # ~ -4.36``
    """
    check_callable("df", df)
    x = check_real("x0", x0)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    n = check_int("num_steps", num_steps, low=0)
    check_memory("num_steps", n, 8, "the iterates", extra=1)
    xs = np.full(n + 1, np.nan)
    xs[0] = x
    with np.errstate(all="ignore"):
        for t in range(n):
            x = x + lr * float(df(x))
            if not math.isfinite(x):
                break
            xs[t + 1] = x
    return xs
