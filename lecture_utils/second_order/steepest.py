"""Steepest descent with a line search (lecture 06): step along ``-grad f`` as far as the line search says. With
the exact line search on a quadratic, successive directions are orthogonal and the path zig-zags across the valley,
the picture that motivates conjugate directions.

Example (exact line search on the bowl with curvatures 1 and 10)::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import steepest
    >>> traj = steepest.steepest_descent(surfaces.get("quadratic"), [2.0, 1.0], 100)
    >>> traj.status()
    'converged at step 19'
    >>> d = traj.extras["directions"]
    >>> abs(float(d[0, 0] @ d[1, 0])) < 1e-12                    # each direction orthogonal to the last
    True
"""
from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int, check_real
from ..surfaces import Surface, as_surface
from .linesearch import (LINE_SEARCHES, check_wolfe_constants, fail_by_reason, initial_step_guess, quadratic_params,
                         search)
from .recorder import Recorder, SecondOrderTrajectory

__all__ = ["steepest_descent"]


def steepest_descent(surface: Surface, x0, num_steps: int = 100, line_search: str = "exact", *,
                     tol: float = 1e-5, t0: float = 1.0, c1: float = 1e-4, c2: float = 0.9,
                     max_evals: int = 25) -> SecondOrderTrajectory:
    """Gradient descent whose step length is chosen by a line search along ``d = -grad f(x)`` (lecture 06).

    With ``line_search="exact"`` on a quadratic each step lands at the minimum along its line, so the new
    gradient is orthogonal to the old one: the path zig-zags at right angles.

    Args:
        surface: a Surface; ``"exact"`` needs a quadratic from ``surfaces.from_quadratic`` / ``quadratic``.
        x0: start point(s), ``(d,)`` or ``(B, d)``.
        num_steps: number of steps, at least 1.
        line_search: ``"exact"``, ``"armijo"`` or ``"wolfe"``.
        tol: gradient norm under which a point counts as converged (it then stops).
        t0: first trial step of the first Armijo/Wolfe search; later searches start from the step that
            would give the same first-order decrease as the last one.
        c1, c2: sufficient-decrease and curvature constants.
        max_evals: bound on the evaluations of one line search.
    Returns:
        a trajectory; ``extras["step_sizes"]`` holds the step lengths, ``extras["directions"]`` the
        search directions ``(num_steps, B, d)``.
    Example: ``steepest_descent(surfaces.get("quadratic", kappa=10), [2.0, 1.0], 30)``
    """
    surface = as_surface(surface)
    check_choice("line_search", line_search, LINE_SEARCHES)
    c1, c2 = check_wolfe_constants(c1, c2)
    t0 = check_real("t0", t0, low=0.0, low_open=True)
    max_evals = check_int("max_evals", max_evals, low=1)
    A = quadratic_params(surface)[0] if line_search == "exact" else None
    rec = Recorder(surface, x0, num_steps, tol, f"steepest descent ({line_search})")
    directions = np.full((rec.num_steps, rec.B, rec.d), np.nan)
    t_prev = np.full(rec.B, np.nan)
    slope_prev = np.full(rec.B, np.nan)
    for t, idx, X, F, G in rec.steps():
        D = -G
        slope = -np.einsum("nd,nd->n", G, G)
        first = np.isnan(t_prev[idx])
        guess = np.where(first, t0, initial_step_guess(t_prev[idx], slope_prev[idx], slope))
        res = search(line_search, rec.evaluate, X, D, F, G, guess, A=A, c1=c1, c2=c2, max_evals=max_evals)
        rec.num_evals[idx] += res.evals
        fail_by_reason(rec, t, idx, res)
        ok = res.ok
        directions[t, idx[ok]] = D[ok]
        rec.move(t, idx[ok], res.x[ok], res.f[ok], res.g[ok], res.t[ok])
        t_prev[idx[ok]], slope_prev[idx[ok]] = res.t[ok], slope[ok]
        rec.record(t + 1)
    return rec.finish({"directions": directions})
