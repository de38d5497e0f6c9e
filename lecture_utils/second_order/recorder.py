"""Bookkeeping shared by the second-order and line-search methods (lecture 06).

Each method (Newton, steepest descent, nonlinear CG, BFGS, L-BFGS) moves ``B`` start points at once, and each
point stops on its own: it converges (gradient norm under ``tol``), diverges (a value stops being finite) or
fails (a line search cannot meet its condition, a Hessian is singular). :class:`Recorder` keeps that state and
fills the same :class:`~lecture_utils.trajectory.Trajectory` that :func:`lecture_utils.optim.run` returns, so every
widget draws these methods without special cases. A trajectory also says why a point stopped early
(:meth:`SecondOrderTrajectory.status`).

Example (a whole method, fixed-step gradient descent, written on a Recorder; then a line search that fails)::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import steepest
    >>> from lecture_utils.second_order.recorder import Recorder
    >>> rec = Recorder(surfaces.get("quadratic"), [2.0, 1.0], num_steps=200, tol=1e-6, label="fixed step 0.1")
    >>> for t in range(rec.num_steps):
    ...     idx = rec.active_indices()                # the points still running
    ...     x_new = rec.x[idx] - 0.1 * rec.g[idx]
    ...     rec.move(t, idx, x_new, *rec.evaluate(x_new), step_size=0.1)
    ...     rec.record(t + 1)                         # a point stops by itself once its gradient is under tol
    >>> rec.finish().status()
    'converged at step 138'
    >>> steepest.steepest_descent("rosenbrock", [-1.2, 1.0], 5, line_search="armijo", max_evals=1).status()
    'stopped at step 0: Armijo backtracking found no sufficient decrease in 1 trials (last step tried 1)'
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_int, check_memory, check_real
from ..trajectory import Trajectory
from ..surfaces import Surface, as_surface

__all__ = ["SecondOrderTrajectory", "Recorder"]


@dataclass
class SecondOrderTrajectory(Trajectory):
    """A :class:`~lecture_utils.trajectory.Trajectory` that also knows why a point stopped early.

    Same fields as the first-order trajectory; ``lrs`` holds the step length taken at each step when there is
    one start point (NaN for several, since each point takes its own). Method-specific arrays live in
    ``extras``; every method fills at least:

    - ``step_sizes`` ``(num_steps, B)``: the line-search step ``t`` in ``x + t d`` (NaN once a point stopped);
    - ``num_evals`` ``(B,)``: evaluations of ``(f, grad f)`` (plus one Hessian per step for Newton);
    - ``failed_at`` ``(B,)``: the step at which a point stopped because the method could not go on, -1 if never;
    - ``fail_reason``: list of ``B`` strings ('' if the point did not fail).
    """

    def status(self, i: int = 0) -> str:
        failed = self.extras.get("failed_at")
        if failed is not None and failed[i] >= 0:
            return f"stopped at step {int(failed[i])}: {self.extras['fail_reason'][i]}"
        return super().status(i)

    @property
    def iterations(self) -> np.ndarray:
        """Steps taken by each point before it stopped (converged, diverged, failed) or ran out, shape ``(B,)``."""
        out = np.full(self.xs.shape[1], self.num_steps, dtype=np.int64)
        for arr in (self.converged_at, self.diverged_at, self.extras.get("failed_at")):
            if arr is not None:
                out = np.where(arr >= 0, np.minimum(out, arr), out)
        return out


class Recorder:
    """State of ``B`` points that stop independently, written into a trajectory row by row.

    Usage inside a method: ``rec = Recorder(surface, x0, num_steps, tol, label)``; then for each step ``t``
    take ``idx = rec.active_indices()``, compute new points for them, call :meth:`move` (and :meth:`fail` for
    the points that cannot go on), then :meth:`record` ``(t + 1)``. :meth:`finish` returns the trajectory.
    """

    def __init__(self, surface: Surface, x0, num_steps: int, tol: float, label: str):
        self.surface = surface = as_surface(surface)
        self.num_steps = check_int("num_steps", num_steps, low=1)
        self.tol = check_real("tol", tol, low=0.0)
        self.label = label
        X = surface.start_points(x0)
        B, d = X.shape
        check_memory("num_steps", self.num_steps, 8 * B * (2 * d + 4), f"{B} start point(s) in {d} dimension(s)",
                     extra=1)
        self.B, self.d = B, d
        T = self.num_steps + 1
        self.xs = np.empty((T, B, d))
        self.values = np.full((T, B), np.nan)
        self.grad_norms = np.full((T, B), np.nan)
        self.step_sizes = np.full((self.num_steps, B), np.nan)
        self.diverged_at = np.full(B, -1, dtype=np.int64)
        self.converged_at = np.full(B, -1, dtype=np.int64)
        self.failed_at = np.full(B, -1, dtype=np.int64)
        self.fail_reason = [""] * B
        self.num_evals = np.zeros(B, dtype=np.int64)
        self.active = np.ones(B, dtype=bool)
        self.x = X.copy()
        self.f, self.g = self.evaluate(X)
        self.num_evals += 1
        self._last = -1
        self.record(0)

    # ---- evaluation -------------------------------------------------------------------------------------
    def evaluate(self, X: np.ndarray):
        """``(f, g)`` at points ``X`` of shape ``(n, d)``; non-finite results are kept (they mark divergence)."""
        if X.shape[0] == 0:
            return np.empty(0), np.empty((0, self.d))
        with np.errstate(all="ignore"):
            f = self.surface.value_batch(X)
            g = self.surface.grad_batch(X)
        return f, g

    def hessian(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.surface.hessian_batch(X)

    # ---- state ------------------------------------------------------------------------------------------
    def active_indices(self) -> np.ndarray:
        return np.flatnonzero(self.active)

    def steps(self):
        """The loop of every method: for each step ``t``, ``(t, idx, X, F, G)`` of the points still running
        (their indices, positions, values and gradients); it ends early once every point has stopped."""
        for t in range(self.num_steps):
            idx = self.active_indices()
            if idx.size == 0:
                return
            yield t, idx, self.x[idx], self.f[idx], self.g[idx]

    def move(self, t: int, idx: np.ndarray, x_new, f_new, g_new, step_size) -> None:
        """Points ``idx`` took step ``t`` (0-based) of length ``step_size`` and are now at ``x_new``."""
        if len(idx) == 0:
            return
        self.x[idx] = x_new
        self.f[idx] = f_new
        self.g[idx] = g_new
        self.step_sizes[t, idx] = step_size

    def fail(self, t: int, idx: np.ndarray, reason: str) -> None:
        """Points ``idx`` cannot take step ``t``: they stop where they are, with ``reason`` in the trajectory."""
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[self.active[idx]]
        if len(idx) == 0:
            return
        self.failed_at[idx] = t
        self.active[idx] = False
        for i in idx:
            self.fail_reason[i] = reason

    def record(self, t: int) -> None:
        """Write row ``t``: a point whose value, position or gradient is not finite diverged here."""
        with np.errstate(all="ignore"):
            finite = np.isfinite(self.f) & np.all(np.isfinite(self.x), axis=1) & np.all(np.isfinite(self.g), axis=1)
            bad = ~finite & (self.diverged_at < 0)
            if bad.any():
                self.diverged_at[bad] = t
                self.active[bad] = False
                if t > 0:  # stay at the last finite position (x0 itself is finite)
                    self.x[bad] = self.xs[t - 1, bad]
            alive = self.diverged_at < 0
            gn = np.sqrt(np.sum(self.g * self.g, axis=1))
        self.xs[t] = self.x
        self.values[t, alive] = self.f[alive]
        self.grad_norms[t, alive] = gn[alive]
        newly = self.active & (gn < self.tol)
        if newly.any():
            self.converged_at[newly] = t
            self.active[newly] = False
        self._last = t

    def finish(self, extras: dict | None = None) -> SecondOrderTrajectory:
        """Fill the rows after the last recorded one (every point had stopped) and build the trajectory."""
        last = self._last
        if last < self.num_steps:
            self.xs[last + 1:] = self.xs[last]
            self.values[last + 1:] = self.values[last]
            self.grad_norms[last + 1:] = self.grad_norms[last]
        lrs = self.step_sizes[:, 0].copy() if self.B == 1 else np.full(self.num_steps, np.nan)
        ex = {"step_sizes": self.step_sizes, "num_evals": self.num_evals, "failed_at": self.failed_at,
              "fail_reason": self.fail_reason}
        ex.update(extras or {})
        return SecondOrderTrajectory(self.xs, self.values, self.grad_norms, lrs, self.diverged_at,
                                     self.converged_at, label=self.label, tol=self.tol, extras=ex)
