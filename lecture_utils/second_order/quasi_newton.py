"""Quasi-Newton methods: BFGS and limited-memory BFGS (lecture 06).

Both replace Newton's ``H^{-1}`` by an approximation ``M_k`` learned from gradients alone. After each step
``s = x_{k+1} - x_k`` with gradient change ``y = g_{k+1} - g_k``, the new ``M`` must map ``y`` back to ``s``
(the secant condition ``M y = s``, true for the inverse Hessian of a quadratic). BFGS makes the smallest such
change to ``M`` that keeps it symmetric positive definite:

    ``M <- (I - rho s y^T) M (I - rho y s^T) + rho s s^T``,  ``rho = 1 / (y . s)``,

and steps along ``d = -M g`` with a Wolfe line search (which guarantees ``y . s > 0``). Storing ``M`` costs
``O(n^2)`` memory. L-BFGS never forms ``M``: it keeps the last ``m`` pairs ``(s, y)`` (``O(m n)`` memory)
and computes ``M g`` by the two-loop recursion, starting from ``M_0 = (s . y) / (y . y) I``.

:func:`lbfgs` follows ``torch.optim.LBFGS`` exactly (two-loop recursion, initial scaling, first step
``lr * min(1, 1 / |g|_1)``, pairs with ``y . s <= 1e-10`` skipped, strong-Wolfe search), so the two agree step
for step; a test checks it.

:func:`inverse_hessian_ellipse` outlines ``M_k`` as the ellipse ``{x_k + v : v^T M_k^{-1} v = r^2}``: the shape of
the contours of the quadratic model BFGS uses at ``x_k``; :func:`hessian_ellipse` gives the same shape for the
true Hessian, ``M = H^{-1}``, without inverting it.

Example::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import quasi_newton
    >>> traj = quasi_newton.bfgs(surfaces.get("rosenbrock"), [-1.2, 1.0], 100)
    >>> traj.status(), traj.extras["inv_hessians"].shape       # M_k at every step, for drawing
    ('converged at step 30', (101, 1, 2, 2))
    >>> quasi_newton.lbfgs(surfaces.get("rosenbrock"), [-1.2, 1.0], 100, m=5).status()
    'converged at step 35'
"""
from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int, check_memory, check_real
from ..surfaces import Surface, as_surface
from .linesearch import armijo, check_wolfe_constants, fail_by_reason, first_trial_step, strong_wolfe
from .recorder import Recorder, SecondOrderTrajectory

__all__ = ["bfgs", "lbfgs", "bfgs_update", "two_loop", "lbfgs_inverse_hessian", "inverse_hessian_ellipse",
           "hessian_ellipse"]

_CURVATURE_EPS = 1e-10  # torch.optim.LBFGS skips pairs with y . s under this


class _InverseHessians:
    """The ``M_k`` of every step, kept for drawing when asked for (or small enough)."""

    def __init__(self, flag, B, T, d):
        if flag is None:
            keep = d <= 10 and B * T * d * d <= 4_000_000  # at most 32 MB of matrices
        elif isinstance(flag, (bool, np.bool_)):
            keep = bool(flag)
        else:
            raise TypeError(f"inv_hessians must be True, False or None, got {flag!r}")
        self.Ms = np.empty((T, B, d, d)) if keep else None

    def set(self, t: int, M) -> None:
        if self.Ms is not None:
            self.Ms[t] = M() if callable(M) else M

    def into(self, extras: dict, last: int) -> dict:
        """Fill the rows after ``last`` (every point had stopped) and add ``inv_hessians`` to ``extras``."""
        if self.Ms is not None:
            self.Ms[last + 1:] = self.Ms[last]
            extras["inv_hessians"] = self.Ms
        return extras


def _search(line_search, rec, t, idx, X, D, F, G, t0, c1, c2, max_evals, **wolfe):
    """One line search for the points ``idx``; evaluations are counted and failed points stop."""
    if line_search == "wolfe":
        res = strong_wolfe(rec.evaluate, X, D, F, G, t0, c1=c1, c2=c2, max_evals=max_evals, **wolfe)
    else:
        res = armijo(rec.evaluate, X, D, F, G, t0, c1=c1, max_evals=max_evals)
    rec.num_evals[idx] += res.evals
    fail_by_reason(rec, t, idx, res)
    return res


def _curvature_pairs(step, D, g_new, G):
    """``s = step d``, ``y = g_new - g``, ``y . s`` and which pairs have enough curvature to be used."""
    with np.errstate(all="ignore"):
        s = step[:, None] * D
        y = g_new - G
        ys = np.einsum("nd,nd->n", y, s)
    return s, y, ys, np.isfinite(ys) & (ys > _CURVATURE_EPS)



def bfgs_update(M, s, y):
    """BFGS update of inverse-Hessian approximations, batched: ``(I - rho s y^T) M (I - rho y s^T) + rho s s^T``.

    Args:
        M: ``(n, d, d)`` symmetric positive definite matrices.
        s, y: ``(n, d)`` steps and gradient changes with ``y . s > 0``.
    Returns:
        ``(n, d, d)`` updated matrices; each satisfies the secant condition ``M_new y = s``.
    Example: ``bfgs_update(np.eye(2)[None], s[None], y[None])``
    """
    with np.errstate(all="ignore"):  # a tiny y . s overflows rho; the caller skips such pairs
        rho = 1.0 / np.einsum("nd,nd->n", y, s)
        My = np.einsum("nij,nj->ni", M, y)
        yMy = np.einsum("ni,ni->n", y, My)
        # Expanded form of the product: M - rho (s My^T + My s^T) + (rho^2 yMy + rho) s s^T.
        return (M - rho[:, None, None] * (s[:, :, None] * My[:, None, :] + My[:, :, None] * s[:, None, :])
                + (rho * rho * yMy + rho)[:, None, None] * s[:, :, None] * s[:, None, :])


def _bfgs_direction(M, G):
    """``d = -M g`` per point; where ``M`` lost positive definiteness to rounding (not downhill), ``M = I``."""
    with np.errstate(all="ignore"):
        D = -np.einsum("nij,nj->ni", M, G)
        uphill = ~(np.einsum("nd,nd->n", G, D) < 0)
    M[uphill] = np.eye(M.shape[-1])
    D[uphill] = -G[uphill]
    return D, uphill


def bfgs(surface: Surface, x0, num_steps: int = 100, *, line_search: str = "wolfe", tol: float = 1e-5,
         scale_initial: bool = False, c1: float = 1e-4, c2: float = 0.9, max_evals: int = 25,
         inv_hessians: bool | None = None) -> SecondOrderTrajectory:
    """BFGS with a line search, batched over start points.

    ``M_0 = I``; the first step tries ``t = min(1, 1 / |g|_1)`` (as torch's L-BFGS), later steps ``t = 1``.
    With ``scale_initial`` the first update starts from ``(y . s) / (y . y) I`` instead of ``I`` (Nocedal &
    Wright, eq. 6.20; off by default, as in ``scipy.optimize.minimize(method="BFGS")``). Pairs with ``y . s <= 1e-10`` leave ``M`` unchanged (counted in
    ``extras["skipped_updates"]``); a direction that is not downhill resets ``M`` to ``I``.

    Args:
        surface: a Surface.
        x0: start point(s), ``(d,)`` or ``(B, d)``.
        num_steps: number of steps, at least 1.
        line_search: ``"wolfe"`` (strong Wolfe) or ``"armijo"`` (no curvature guarantee: updates with
            ``y . s <= 0`` are skipped).
        tol: gradient norm under which a point counts as converged (it then stops).
        scale_initial: rescale ``M_0`` before the first update.
        c1, c2, max_evals: line-search constants and bound on its evaluations.
        inv_hessians: keep ``M_k`` at every step in ``extras["inv_hessians"]`` ``(T, B, d, d)``; default
            (None): when ``d <= 10`` and the array stays under 32 MB. The last ``M`` is always in
            ``extras["inv_hessian_final"]`` ``(B, d, d)``.
    Returns:
        a trajectory (see :class:`~lecture_utils.second_order.recorder.SecondOrderTrajectory`).
    Example: ``bfgs(surfaces.get("beale"), [1.0, 1.0], 100).status()``
    """
    surface = as_surface(surface)
    check_choice("line_search", line_search, ("wolfe", "armijo"))
    c1, c2 = check_wolfe_constants(c1, c2)
    max_evals = check_int("max_evals", max_evals, low=1)
    if not isinstance(scale_initial, (bool, np.bool_)):
        raise TypeError(f"scale_initial must be True or False, got {scale_initial!r}")
    rec = Recorder(surface, x0, num_steps, tol, "BFGS" + (" (Armijo)" if line_search == "armijo" else ""))
    B, d = rec.B, rec.d
    kept = _InverseHessians(inv_hessians, B, rec.num_steps + 1, d)
    M = np.broadcast_to(np.eye(d), (B, d, d)).copy()
    updated = np.zeros(B, dtype=bool)
    skipped = np.zeros(B, dtype=np.int64)
    resets = np.zeros(B, dtype=np.int64)
    kept.set(0, M)
    last = 0
    for t, idx, X, F, G in rec.steps():
        Mi = M[idx]
        D, reset = _bfgs_direction(Mi, G)
        M[idx] = Mi
        resets[idx[reset]] += 1
        guess = np.where(updated[idx], 1.0, first_trial_step(G))
        res = _search(line_search, rec, t, idx, X, D, F, G, guess, c1, c2, max_evals)
        ok = res.ok
        j = idx[ok]
        s, y, ys, good = _curvature_pairs(res.t[ok], D[ok], res.g[ok], G[ok])
        skipped[j[~good]] += 1
        if good.any():
            jg = j[good]
            Mj = M[jg]
            if scale_initial:
                first = ~updated[jg]
                gamma = ys[good] / np.einsum("nd,nd->n", y[good], y[good])
                Mj[first] = gamma[first, None, None] * np.eye(d)
            M[jg] = bfgs_update(Mj, s[good], y[good])
            updated[jg] = True
        rec.move(t, j, res.x[ok], res.f[ok], res.g[ok], res.t[ok])
        rec.record(t + 1)
        kept.set(t + 1, M)
        last = t + 1
    return rec.finish(kept.into({"inv_hessian_final": M, "skipped_updates": skipped, "resets": resets}, last))


def two_loop(Q, S, Y, rho, H_diag):
    """The L-BFGS two-loop recursion, batched: returns ``M q`` for each row ``q`` of ``Q``.

    Args:
        Q: ``(n, d)`` vectors (``-g`` gives the search direction).
        S, Y: ``(n, m, d)`` stored steps and gradient changes, oldest first; unused slots hold zeros
            (with ``rho = 0`` they change nothing).
        rho: ``(n, m)`` values ``1 / (y . s)``.
        H_diag: ``(n,)`` scale ``gamma`` of the initial matrix ``M_0 = gamma I``.
    Returns:
        ``(n, d)``.
    Example: ``d = two_loop(-g, S, Y, rho, gamma)``
    """
    q = np.array(Q, dtype=float, copy=True)
    m = S.shape[1]
    al = np.zeros((q.shape[0], m))
    for i in range(m - 1, -1, -1):  # newest to oldest, same operation order as torch.optim.LBFGS
        al[:, i] = np.einsum("nd,nd->n", S[:, i], q) * rho[:, i]
        q = q + (-al[:, i])[:, None] * Y[:, i]
    r = q * H_diag[:, None]
    for i in range(m):
        be = np.einsum("nd,nd->n", Y[:, i], r) * rho[:, i]
        r = r + (al[:, i] - be)[:, None] * S[:, i]
    return r


def lbfgs_inverse_hessian(S, Y, rho, H_diag):
    """The dense ``(n, d, d)`` matrices ``M`` that the L-BFGS memory represents (two-loop on each unit vector)."""
    n, _, d = S.shape
    out = np.empty((n, d, d))
    for j in range(d):
        e = np.zeros((n, d))
        e[:, j] = 1.0
        out[:, :, j] = two_loop(e, S, Y, rho, H_diag)
    return 0.5 * (out + np.swapaxes(out, 1, 2))


class _Memory:
    """The last ``m`` pairs ``(s, y)`` of every point, oldest first (as torch keeps its lists)."""

    def __init__(self, B, m, d):
        self.S, self.Y = np.zeros((B, m, d)), np.zeros((B, m, d))
        self.rho, self.H_diag = np.zeros((B, m)), np.ones(B)
        self.count = np.zeros(B, dtype=np.int64)
        self.m = m

    def direction(self, idx, G, first: bool):
        with np.errstate(all="ignore"):
            return -G if first else two_loop(-G, self.S[idx], self.Y[idx], self.rho[idx], self.H_diag[idx])

    def push(self, jg, s, y, ys) -> None:
        """Drop the oldest pair of the points ``jg`` and append the newest."""
        with np.errstate(all="ignore"):
            self.S[jg] = np.concatenate([self.S[jg, 1:], s[:, None]], axis=1)
            self.Y[jg] = np.concatenate([self.Y[jg, 1:], y[:, None]], axis=1)
            self.rho[jg] = np.concatenate([self.rho[jg, 1:], (1.0 / ys)[:, None]], axis=1)
            self.H_diag[jg] = ys / np.einsum("nd,nd->n", y, y)
        self.count[jg] = np.minimum(self.count[jg] + 1, self.m)

    def dense(self):
        with np.errstate(all="ignore"):
            return lbfgs_inverse_hessian(self.S, self.Y, self.rho, self.H_diag)

    def history(self) -> dict:
        return {"S": self.S, "Y": self.Y, "rho": self.rho, "H_diag": self.H_diag}


def lbfgs(surface: Surface, x0, num_steps: int = 100, m: int = 10, *, lr: float = 1.0,
          line_search: str | None = "wolfe", tol: float = 1e-5, c1: float = 1e-4, c2: float = 0.9,
          max_evals: int = 25, tolerance_change: float | None = None,
          inv_hessians: bool | None = None) -> SecondOrderTrajectory:
    """L-BFGS with history ``m``, batched over start points; the same iterates as ``torch.optim.LBFGS``.

    One step here is one ``step()`` of ``torch.optim.LBFGS(params, lr=lr, history_size=m, max_iter=1,
    max_eval=max_evals + 1, tolerance_change=1e-9, line_search_fn=...)`` when ``tolerance_change=1e-9``: direction ``d = -M g`` by :func:`two_loop` (``d = -g`` on the first step), trial
    step ``lr * min(1, 1 / |g|_1)`` on the first step and ``lr`` afterwards, then either that fixed step
    (``line_search=None``), a strong-Wolfe search (``"wolfe"``, torch's ``"strong_wolfe"``) or Armijo
    backtracking (``"armijo"``, not in torch).

    Args:
        surface: a Surface.
        x0: start point(s), ``(d,)`` or ``(B, d)``.
        num_steps: number of steps, at least 1.
        m: number of ``(s, y)`` pairs kept, at least 1 (torch's ``history_size``).
        lr: step multiplier.
        line_search: None, ``"wolfe"`` or ``"armijo"``.
        tol: gradient norm under which a point counts as converged (it then stops).
        c1, c2, max_evals: line-search constants and bound on its evaluations (torch: 1e-4, 0.9, 25).
        tolerance_change: torch's ``tolerance_change``: with a number (torch's default is 1e-9), a point whose
            slope ``g . d`` is above ``-tolerance_change`` stops, as torch does, and the Wolfe zoom stops once
            its bracket is that short. None (default): the zoom uses 1e-9 and a point stops only when ``d``
            is not downhill, so it runs on until ``|g| < tol``.
        inv_hessians: keep the dense ``M_k`` at every step in ``extras["inv_hessians"]`` ``(T, B, d, d)``;
            default (None): when ``d <= 10`` and the array stays under 32 MB.
    Returns:
        a trajectory; ``extras["memory_used"]`` ``(T, B)`` is the number of stored pairs at each step.
    Example: ``lbfgs(surfaces.get("rosenbrock"), [-1.2, 1.0], 100, m=5).status()``
    """
    surface = as_surface(surface)
    m = check_int("m", m, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    check_choice("line_search", line_search, (None, "wolfe", "armijo"))
    c1, c2 = check_wolfe_constants(c1, c2)
    max_evals = check_int("max_evals", max_evals, low=1)
    tolerance_change = check_real("tolerance_change", tolerance_change, low=0.0, allow_none=True)
    slope_tol = 0.0 if tolerance_change is None else tolerance_change
    zoom_tol = 1e-9 if tolerance_change is None else tolerance_change
    label = f"L-BFGS (m={m})" + ("" if line_search == "wolfe" else f", {line_search or 'fixed step'}") + (
        f" (lr={lr:g})" if lr != 1 else "")
    rec = Recorder(surface, x0, num_steps, tol, label)
    B, d, T = rec.B, rec.d, rec.num_steps + 1
    check_memory("m", m, 8 * B * (2 * d + 1), f"{B} start point(s) in {d} dimension(s)")
    kept = _InverseHessians(inv_hessians, B, T, d)
    mem = _Memory(B, m, d)
    memory = np.zeros((T, B), dtype=np.int64)
    kept.set(0, np.eye(d))
    last = 0
    for t, idx, X, F, G in rec.steps():
        D = mem.direction(idx, G, first=t == 0)
        with np.errstate(all="ignore"):
            gtd = np.einsum("nd,nd->n", G, D)
        flat = ~(gtd < -slope_tol) if slope_tol == 0 else ~(gtd <= -slope_tol)
        rec.fail(t, idx[flat], "the L-BFGS direction is not downhill" if slope_tol == 0 else
                 f"the slope along the L-BFGS direction is above -{slope_tol:g} (torch.optim.LBFGS stops here too)")
        go = ~flat
        idx, X, F, G, D = idx[go], X[go], F[go], G[go], D[go]
        t0 = first_trial_step(G, lr) if t == 0 else np.full(idx.size, lr)
        if idx.size == 0:
            steps, ok, Xn, f, g = t0, np.zeros(0, dtype=bool), X, F, G
        elif line_search is None:  # the fixed trial step
            with np.errstate(all="ignore"):
                Xn = X + t0[:, None] * D
            f, g = rec.evaluate(Xn)
            rec.num_evals[idx] += 1
            steps, ok = t0, np.ones(idx.size, dtype=bool)
        else:
            res = _search(line_search, rec, t, idx, X, D, F, G, t0, c1, c2, max_evals, tolerance_change=zoom_tol)
            ok = res.ok
            steps, Xn, f, g = res.t[ok], res.x[ok], res.f[ok], res.g[ok]
        j = idx[ok]
        s, y, ys, good = _curvature_pairs(steps, D[ok], g, G[ok])
        if good.any():
            mem.push(j[good], s[good], y[good], ys[good])
        rec.move(t, j, Xn, f, g, steps)
        rec.record(t + 1)
        memory[t + 1] = mem.count
        kept.set(t + 1, mem.dense if idx.size else (lambda: kept.Ms[t]))
        last = t + 1
    memory[last + 1:] = mem.count
    return rec.finish(kept.into({"memory_used": memory, "history": mem.history()}, last))


# ---------------------------------------------------------------------------------------------------------
# The shape of an inverse-Hessian approximation (the outline a widget draws).
# ---------------------------------------------------------------------------------------------------------
def _ellipse(center, lam, Q, r, longest, num):
    """Outlines from eigenpairs ``lam (..., 2)``, ``Q (..., 2, 2)`` of ``M``; NaN where ``M`` is not definite."""
    with np.errstate(all="ignore"):
        ok = np.all(np.isfinite(lam), axis=-1) & (np.min(lam, axis=-1) > 0)
        lam = np.where(ok[..., None], lam, 1.0)
        axes = r * np.sqrt(lam)  # semi-axes of {v : v^T M^{-1} v = r^2}
        if longest is not None:
            axes = axes * (longest / axes.max(axis=-1, keepdims=True))
    t = np.linspace(0.0, 2.0 * np.pi, num)
    unit = np.stack([np.cos(t), np.sin(t)], axis=1)  # (num, 2)
    # v = Q diag(axes) u for every point u of the unit circle.
    pts = np.asarray(center, dtype=float)[..., None, :] + np.einsum("...ij,...j,nj->...ni", Q, axes, unit)
    return np.where(ok[..., None, None], pts, np.nan)


def _eig(A, name):
    A = np.asarray(A, dtype=float)
    if A.shape[-2:] != (2, 2):
        raise ValueError(f"{name} must hold 2 x 2 matrices, shape (..., 2, 2); got shape {A.shape}")
    finite = np.all(np.isfinite(A), axis=(-2, -1))
    A = np.where(finite[..., None, None], A, 0.0)
    lam, Q = np.linalg.eigh(0.5 * (A + np.swapaxes(A, -1, -2)))
    return np.where(finite[..., None], lam, np.nan), Q


def inverse_hessian_ellipse(center, M, r: float = 1.0, *, longest: float | None = None, num: int = 65) -> np.ndarray:
    """Outline of ``{c + v : v^T M^{-1} v = r^2}`` for symmetric positive definite ``2 x 2`` matrices ``M``.

    Its semi-axes lie along the eigenvectors of ``M`` with lengths ``r sqrt(lambda_i)``: the shape of the
    contours of a quadratic with Hessian ``M^{-1}`` (the model a quasi-Newton method minimizes).

    Args:
        center: ``(..., 2)`` centres ``c``.
        M: ``(..., 2, 2)`` matrices (symmetrized before use).
        r: the level ``r``.
        longest: if given, the length of the longest semi-axis instead (every ellipse the same size: compare
            shapes and orientations, not sizes); ``r`` is then ignored.
        num: points of each closed outline (the first equals the last).
    Returns:
        ``(..., num, 2)``; NaN for a matrix that is not finite and positive definite.
    Example: ``inverse_hessian_ellipse([0, 0], np.diag([4.0, 1.0]), longest=0.5)``
    """
    r = check_real("r", r, low=0.0, low_open=True)
    longest = check_real("longest", longest, low=0.0, low_open=True, allow_none=True)
    lam, Q = _eig(M, "M")
    return _ellipse(center, lam, Q, r, longest, check_int("num", num, low=3))


def hessian_ellipse(center, H, r: float = 1.0, *, longest: float | None = None, num: int = 65) -> np.ndarray:
    """:func:`inverse_hessian_ellipse` of ``M = H^{-1}`` without inverting ``H``: ``{c + v : v^T H v = r^2}``.

    NaN where ``H`` is not positive definite (a saddle, a singular Hessian: no ellipse). Example:
    ``hessian_ellipse(x, surface.hessian(x), longest=0.2)``
    """
    r = check_real("r", r, low=0.0, low_open=True)
    longest = check_real("longest", longest, low=0.0, low_open=True, allow_none=True)
    lam, Q = _eig(H, "H")
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(lam > 0, 1.0 / lam, -1.0)  # M's eigenvalues; not definite stays not definite
    return _ellipse(center, inv, Q, r, longest, check_int("num", num, low=3))
