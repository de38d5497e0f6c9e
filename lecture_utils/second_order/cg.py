"""Conjugate gradients: linear CG for ``A x = b`` and nonlinear CG (Fletcher-Reeves, Polak-Ribiere) (lecture 06).

Directions ``d_i`` are ``A``-conjugate when ``d_i^T A d_j = 0`` for ``i != j``. Minimizing the quadratic
``1/2 x^T A x - b^T x`` exactly along ``n`` conjugate directions, one after the other, reaches its minimizer
(the solution of ``A x = b``) in ``n`` steps, because a step along ``d_k`` never undoes the progress along the
earlier directions. Linear CG builds each new direction from the new gradient (residual) and the previous
direction only: ``d_k = r_k + beta_k d_{k-1}``.

Nonlinear CG applies the same recipe to any smooth ``f``, with a line search instead of the closed-form step
and one of several formulas for ``beta`` (all equal on a quadratic with exact line search):

- Fletcher-Reeves ``"FR"``: ``beta = |g_k|^2 / |g_{k-1}|^2``;
- Polak-Ribiere ``"PR"``: ``beta = g_k . (g_k - g_{k-1}) / |g_{k-1}|^2``;
- ``"PR+"``: ``max(beta_PR, 0)``, which restarts by itself when PR would turn uphill.

A restart (``beta = 0``, a plain steepest-descent step) every ``restart_every`` steps, or whenever the new
direction is not downhill, throws away stale conjugacy information on a non-quadratic ``f``.

Example (linear CG solves a 3 x 3 system in 3 steps; nonlinear CG minimizes Rosenbrock's function)::

    >>> import numpy as np
    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import cg
    >>> res = cg.linear_cg(np.diag([1.0, 10.0, 100.0]), np.ones(3))   # res.x, res.xs, res.residual_norms
    >>> res.num_iter, res.converged, res.x.round(4)
    (3, True, array([1.  , 0.1 , 0.01]))
    >>> traj = cg.nonlinear_cg(surfaces.get("rosenbrock"), [-1.2, 1.0], 200, beta="PR+")
    >>> traj.final.round(3)
    array([[1., 1.]])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_array, check_choice, check_int, check_real
from ..surfaces import Surface, as_surface
from .linesearch import (LINE_SEARCHES, check_wolfe_constants, fail_by_reason, first_trial_step, initial_step_guess,
                         quadratic_params,
                         search)
from .recorder import Recorder, SecondOrderTrajectory

__all__ = ["CGResult", "check_spd", "linear_cg", "nonlinear_cg", "BETAS"]

BETAS = ("FR", "PR", "PR+")


@dataclass
class CGResult:
    """What :func:`linear_cg` returns (``k`` = iterations done, ``n`` = dimension).

    Attributes:
        x: ``(n,)`` final iterate.
        xs: ``(k + 1, n)`` iterates, ``xs[0] = x0``.
        residual_norms: ``(k + 1,)`` norms of ``r = b - A x`` at each iterate.
        directions: ``(k, n)`` search directions (mutually ``A``-conjugate in exact arithmetic).
        alphas: ``(k,)`` step lengths, ``betas``: ``(k,)`` coefficients used to build the next direction.
        converged: whether ``|r| <= tol * |b|`` was reached; ``num_iter``: ``k``.
    """

    x: np.ndarray
    xs: np.ndarray
    residual_norms: np.ndarray
    directions: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray
    converged: bool
    num_iter: int


def check_spd(A, name: str = "A") -> np.ndarray:
    """Return ``A`` as a float array after checking it is a finite symmetric positive definite matrix.

    Raises ``ValueError`` saying which property fails (and the smallest eigenvalue when it is not positive).
    """
    A = check_array(name, A, ndim=2)
    if A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} must be finite: it contains infinity")
    scale = max(float(np.abs(A).max()), 1e-300)
    if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError(f"{name} must be symmetric ({name} == {name}.T): conjugate gradients solve "
                         "symmetric positive definite systems only")
    try:
        np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(0.5 * (A + A.T)).min())
        raise ValueError(f"{name} must be positive definite for conjugate gradients, but its smallest "
                         f"eigenvalue is {lam:.3g}: the quadratic has no minimum and CG may divide by zero") from None
    return A


def linear_cg(A, b, x0=None, *, tol: float = 1e-10, max_iter: int | None = None) -> CGResult:
    """Solve ``A x = b`` (minimize ``1/2 x^T A x - b^T x``) by linear conjugate gradients.

    In exact arithmetic CG reaches the solution in at most ``n`` steps; in floating point, a few more may be
    needed when ``A`` is ill-conditioned.

    Args:
        A: ``(n, n)`` symmetric positive definite matrix (anything else raises ``ValueError``).
        b: ``(n,)`` right-hand side.
        x0: ``(n,)`` start (default zeros).
        tol: stop once ``|b - A x| <= tol * |b|``; 0 runs all ``max_iter`` steps unless the residual is exactly 0.
        max_iter: bound on iterations (default ``n``).
    Returns:
        a :class:`CGResult` with every iterate, residual norm and direction.
    Example: ``linear_cg(np.diag([1.0, 10.0]), np.ones(2)).x   # -> [1.0, 0.1]``
    """
    A = check_spd(A)
    n = A.shape[0]
    b = check_array("b", b, ndim=1)
    if b.shape != (n,) or not np.all(np.isfinite(b)):
        raise ValueError(f"b must be a finite vector of shape ({n},), got shape {b.shape}")
    x = np.zeros(n) if x0 is None else check_array("x0", x0, ndim=1).copy()
    if x.shape != (n,) or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be a finite vector of shape ({n},), got shape {x.shape}")
    tol = check_real("tol", tol, low=0.0)
    max_iter = n if max_iter is None else check_int("max_iter", max_iter, low=0)
    target = tol * float(np.linalg.norm(b))
    r = b - A @ x
    d = r.copy()
    rr = float(r @ r)
    xs, res, dirs, alphas, betas = [x.copy()], [np.sqrt(rr)], [], [], []
    converged = np.sqrt(rr) <= target
    for _ in range(max_iter):
        if converged or rr == 0.0:
            converged = True
            break
        Ad = A @ d
        dAd = float(d @ Ad)
        if not dAd > 0:  # only rounding on a nearly singular A can get here, A was checked SPD
            break
        alpha = rr / dAd
        x = x + alpha * d
        r = r - alpha * Ad
        rr_new = float(r @ r)
        beta = rr_new / rr
        dirs.append(d.copy())
        alphas.append(alpha)
        betas.append(beta)
        d = r + beta * d
        rr = rr_new
        xs.append(x.copy())
        res.append(np.sqrt(rr))
        converged = np.sqrt(rr) <= target
    return CGResult(x, np.array(xs), np.array(res), np.array(dirs).reshape(-1, n), np.array(alphas),
                    np.array(betas), bool(converged), len(alphas))


def _beta(kind, G, G_prev):
    with np.errstate(all="ignore"):
        denom = np.einsum("nd,nd->n", G_prev, G_prev)
        if kind == "FR":
            num = np.einsum("nd,nd->n", G, G)
        else:
            num = np.einsum("nd,nd->n", G, G - G_prev)
        beta = num / denom
    beta = np.where(np.isfinite(beta), beta, 0.0)
    return np.maximum(beta, 0.0) if kind == "PR+" else beta


def nonlinear_cg(surface: Surface, x0, num_steps: int = 200, beta: str = "PR+", *,
                 restart_every: int | None = None, line_search: str = "wolfe", tol: float = 1e-5,
                 c1: float = 1e-4, c2: float = 0.1, max_evals: int = 25) -> SecondOrderTrajectory:
    """Nonlinear conjugate gradients on any surface, batched over start points.

    ``d_0 = -g_0``, then ``d_k = -g_k + beta_k d_{k-1}`` and ``x_{k+1} = x_k + t_k d_k`` with ``t_k`` from a
    line search. With ``line_search="exact"`` on a quadratic this is linear CG (any ``beta``).

    Args:
        surface: a Surface (``"exact"`` needs a quadratic from ``surfaces.from_quadratic`` / ``quadratic``).
        x0: start point(s), ``(d,)`` or ``(B, d)``.
        num_steps: number of steps, at least 1.
        beta: ``"FR"`` (Fletcher-Reeves), ``"PR"`` (Polak-Ribiere) or ``"PR+"`` (Polak-Ribiere, clipped at 0).
        restart_every: restart with ``d = -g`` every this many steps (None: only when ``d`` is not downhill).
        line_search: ``"wolfe"`` (strong Wolfe, default), ``"armijo"`` or ``"exact"``.
        tol: gradient norm under which a point counts as converged (it then stops).
        c1, c2: Wolfe constants; ``c2 = 0.1`` (a fairly exact search) keeps the CG directions downhill.
        max_evals: bound on the evaluations of one line search.
    Returns:
        a trajectory; ``extras["betas"]`` ``(num_steps, B)``, ``extras["restarts"]`` ``(num_steps, B)`` (True
        where the step was a steepest-descent restart), ``extras["directions"]`` ``(num_steps, B, d)``.
    Example: ``nonlinear_cg(surfaces.get("rosenbrock"), [-1.2, 1.0], 300, beta="FR", restart_every=2)``
    """
    surface = as_surface(surface)
    check_choice("beta", beta, BETAS)
    check_choice("line_search", line_search, LINE_SEARCHES)
    restart_every = check_int("restart_every", restart_every, low=1, allow_none=True)
    c1, c2 = check_wolfe_constants(c1, c2)
    max_evals = check_int("max_evals", max_evals, low=1)
    A = quadratic_params(surface)[0] if line_search == "exact" else None
    label = f"CG ({beta}" + (f", restart every {restart_every}" if restart_every else "") + ")"
    rec = Recorder(surface, x0, num_steps, tol, label)
    B, d = rec.B, rec.d
    betas = np.full((rec.num_steps, B), np.nan)
    restarts = np.zeros((rec.num_steps, B), dtype=bool)
    directions = np.full((rec.num_steps, B, d), np.nan)
    D_prev = np.zeros((B, d))
    G_prev = np.zeros((B, d))
    t_prev = np.full(B, np.nan)
    slope_prev = np.full(B, np.nan)
    since_restart = np.zeros(B, dtype=np.int64)
    for t, idx, X, F, G in rec.steps():
        first = t == 0
        bk = np.zeros(idx.size) if first else _beta(beta, G, G_prev[idx])
        restart = np.full(idx.size, first)
        if restart_every is not None:
            restart |= since_restart[idx] >= restart_every
        bk = np.where(restart, 0.0, bk)
        D = -G + bk[:, None] * D_prev[idx]
        slope = np.einsum("nd,nd->n", G, D)
        uphill = ~(slope < 0)
        if uphill.any():  # not a descent direction: fall back to steepest descent
            D[uphill] = -G[uphill]
            bk[uphill] = 0.0
            restart |= uphill
            slope = np.einsum("nd,nd->n", G, D)
        guess = np.where(np.isnan(t_prev[idx]), first_trial_step(G), initial_step_guess(t_prev[idx], slope_prev[idx], slope))
        res = search(line_search, rec.evaluate, X, D, F, G, guess, A=A, c1=c1, c2=c2, max_evals=max_evals)
        rec.num_evals[idx] += res.evals
        fail_by_reason(rec, t, idx, res)
        ok = res.ok
        betas[t, idx] = bk
        restarts[t, idx] = restart
        directions[t, idx] = D
        since_restart[idx] = np.where(restart, 1, since_restart[idx] + 1)
        D_prev[idx], G_prev[idx] = D, G
        t_prev[idx[ok]], slope_prev[idx[ok]] = res.t[ok], slope[ok]
        rec.move(t, idx[ok], res.x[ok], res.f[ok], res.g[ok], res.t[ok])
        rec.record(t + 1)
    return rec.finish({"betas": betas, "restarts": restarts, "directions": directions})
