"""The optimality gap ``f(x_t) - f*`` that convergence plots draw on log axes, and the reference value ``f*``.

A gap needs a floor: :func:`reference_value` finds the lowest value of a surface in its plotting box (the
lowest grid value, polished by Newton's method when it sits at an interior critical point) and says whether
the gap is meaningful there (a saddle has no floor in the box); :func:`lowest_value` takes the lowest known
minimum or the lowest value any run reached; :func:`gap` is ``f - f*`` kept positive for a log axis.
Introduced with the lecture 03 explorer and used by lecture 06's races.

Example::

    >>> import numpy as np
    >>> from lecture_utils import optimality_gap, surfaces
    >>> s = surfaces.get("rosenbrock")
    >>> X, Y, Z = s.grid(120)
    >>> f_ref, interior = optimality_gap.reference_value(s, Z, np.stack([X.ravel(), Y.ravel()], axis=1))
    >>> round(f_ref, 12), interior                # polished to the minimum f(1, 1) = 0, inside the box
    (0.0, True)
    >>> optimality_gap.gap([1.0, 0.5, 0.0], f_ref)   # reaching f* shows as the floor of a log axis
    array([1.e+00, 5.e-01, 1.e-16])
"""
from __future__ import annotations

import math

import numpy as np

from .surfaces import Surface, as_surface

__all__ = ["reference_value", "lowest_value", "gap", "GAP_FLOOR"]

#: The smallest gap drawn: a run at the minimum has gap 0, which a log axis cannot show.
GAP_FLOOR = 1e-16


def reference_value(surface: Surface, grid_values, grid_points, *, num_steps: int = 30) -> tuple[float, bool]:
    """The lowest value in the plotting box: the lowest grid value, polished by Newton steps from its point.

    Args:
        surface: the surface the grid was computed on.
        grid_values: ``(n,)`` (or any shape with ``n`` entries) values on the grid; non-finite ones are skipped.
        grid_points: ``(n, d)`` the grid's points.
        num_steps: Newton steps of the polish (:meth:`Surface.newton_polish`).
    Returns:
        ``(f_ref, interior)``: ``interior`` is True when the lowest point is a critical point strictly inside the
        box or a grid point off its edge (then ``f - f_ref >= 0`` around it and the gap can go on log axes); on
        the edge (an unbounded surface such as a saddle) it is False. ``(0.0, False)`` without finite values.
    Example: ``reference_value(s, Z, pts)  # (0.0, True) on Rosenbrock``
    """
    surface = as_surface(surface)
    flat = np.asarray(grid_values, dtype=float).ravel()
    points = np.asarray(grid_points, dtype=float).reshape(-1, surface.dim)
    ok = np.isfinite(flat)
    if not ok.any():
        return 0.0, False
    i = int(np.argmin(np.where(ok, flat, np.inf)))
    best, start = float(flat[i]), points[i]
    lo = np.array([b[0] for b in surface.bounds])
    hi = np.array([b[1] for b in surface.bounds])
    span = hi - lo
    try:
        x = surface.newton_polish(start[None, :], num_steps)[0]
    except np.linalg.LinAlgError:
        x = np.full(surface.dim, np.nan)
    with np.errstate(all="ignore"):
        fx = float(surface.value(x)) if np.all(np.isfinite(x)) else math.nan
        gn = float(np.linalg.norm(np.atleast_1d(surface.grad(x)))) if math.isfinite(fx) else math.inf
    inside = bool(np.all(x > lo + 1e-3 * span) and np.all(x < hi - 1e-3 * span))
    near = bool(np.all(np.abs(x - start) < 0.05 * span))
    if math.isfinite(fx) and inside and near and gn < 1e-6 * (1 + abs(fx)) and fx <= best + 1e-12:
        return fx, True
    # The lowest grid point is on the boundary (no floor in the box) or Newton wandered off.
    edge = bool(np.any(np.abs(start - lo) < 1e-12) or np.any(np.abs(start - hi) < 1e-12))
    return best, not edge


def lowest_value(surface: Surface, trajs=()) -> float:
    """The lowest of the surface's minima in its box and of every value the runs in ``trajs`` reached.

    Example: ``lowest_value(surfaces.get("himmelblau"), [traj])  # 0.0``
    """
    surface = as_surface(surface)
    vals = [float(c.value) for c in surface.critical_points if c.kind == "minimum"]
    for t in trajs:
        finite = t.values[np.isfinite(t.values)]
        vals.append(float(finite.min()) if finite.size else math.inf)
    return min(vals) if vals else math.inf


def gap(values, f_ref: float, floor: float = GAP_FLOOR) -> np.ndarray:
    """``values - f_ref``, at least ``floor`` (a log axis shows reaching the minimum as the floor).

    NaN values (a diverged run) stay NaN. Example: ``gap(traj.values[:, 0], 0.0)``
    """
    with np.errstate(all="ignore"):
        return np.maximum(np.asarray(values, dtype=float) - f_ref, floor)
