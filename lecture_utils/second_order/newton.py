"""Newton's method and its safer variants: damped and saddle-free (lecture 06).

Newton's step minimizes the second-order Taylor model ``f(x) + g^T v + 1/2 v^T H v``: ``v = -H^{-1} g``.
On a quadratic with positive definite ``H`` it lands on the minimizer in one step. Where ``H`` has a negative
eigenvalue the model has no minimum and the step heads for the critical point of the model, which can be a
saddle or a maximum: plain Newton is attracted to saddles. Two repairs, written with ``H = Q diag(lam) Q^T``:

- ``variant="damped"``: ``v = -(H + damping I)^{-1} g`` (Levenberg's regularization; a descent direction once
  ``damping > -min(lam)``);
- ``variant="saddle_free"``: ``v = -(|H| + damping I)^{-1} g`` with ``|H| = Q diag(|lam|) Q^T`` (Dauphin et al.
  2014): along a negative-curvature direction it goes downhill instead of uphill.

Solving the ``n x n`` system costs ``O(n^3)`` operations; :func:`gaussian_elimination` counts them and
:func:`time_solve` measures the time.

Example (on ``x^2 - y^2`` plain Newton jumps to the saddle; the saddle-free step runs downhill in ``y``)::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order import newton
    >>> traj = newton.run_newton(surfaces.get("saddle"), [1.0, 0.5], 5)
    >>> traj.status(), traj.final
    ('converged at step 1', array([[0., 0.]]))
    >>> newton.run_newton(surfaces.get("saddle"), [1.0, 0.5], 5, variant="saddle_free", damping=0.0).final
    array([[ 0., 16.]])
"""
from __future__ import annotations

import time

import numpy as np

from .._validate import check_array, check_choice, check_int, check_real
from ..surfaces import Surface, as_surface
from .linesearch import armijo, fail_by_reason
from .recorder import Recorder, SecondOrderTrajectory

__all__ = ["VARIANTS", "newton_direction", "run_newton", "gaussian_elimination", "time_solve"]

VARIANTS = ("plain", "damped", "saddle_free")


def newton_direction(G, H, variant: str = "plain", damping: float = 0.0, *, rcond: float = 1e-12):
    """Newton directions for a batch: ``-M^{-1} g`` with ``M = H``, ``H + damping I`` or ``|H| + damping I``.

    Args:
        G: gradients ``(n, d)``.
        H: symmetric Hessians ``(n, d, d)``.
        variant: ``"plain"``, ``"damped"`` or ``"saddle_free"``.
        damping: added to the eigenvalues (``"damped"``) or to their absolute values (``"saddle_free"``).
        rcond: an eigenvalue of ``M`` under ``rcond * max|eigenvalue|`` counts as zero: ``M`` is singular.
    Returns:
        ``(D, eigenvalues, singular)``: directions ``(n, d)``, eigenvalues of ``H`` ``(n, d)`` (ascending),
        and a boolean ``(n,)`` marking singular ``M`` (their direction is NaN).
    Example: ``D, lam, bad = newton_direction(g[None], H[None])``
    """
    check_choice("variant", variant, VARIANTS)
    with np.errstate(all="ignore"):
        H = 0.5 * (H + np.swapaxes(H, -1, -2))
        finite = np.all(np.isfinite(H), axis=(1, 2)) & np.all(np.isfinite(G), axis=1)
        Hs = np.where(finite[:, None, None], H, 0.0)
        lam, Q = np.linalg.eigh(Hs)
        if variant == "plain":
            m = lam
        elif variant == "damped":
            m = lam + damping
        else:
            m = np.abs(lam) + damping
        scale = np.max(np.abs(m), axis=1, keepdims=True)
        singular = np.any(np.abs(m) <= rcond * np.maximum(scale, 1e-300), axis=1) | ~finite
        coef = np.einsum("nji,nj->ni", Q, G) / np.where(np.abs(m) > 0, m, 1.0)
        D = -np.einsum("nij,nj->ni", Q, coef)
    D[singular] = np.nan
    lam[~finite] = np.nan
    return D, lam, singular


def run_newton(surface: Surface, x0, num_steps: int = 20, *, variant: str = "plain", damping: float | None = None,
               line_search: str | None = None, lr: float = 1.0, tol: float = 1e-5, c1: float = 1e-4,
               max_evals: int = 30) -> SecondOrderTrajectory:
    """Run Newton's method (plain, damped or saddle-free) from one or many start points at once.

    Args:
        surface: a Surface with a Hessian (all of them have one).
        x0: start point(s), ``(d,)`` or ``(B, d)``.
        num_steps: number of Newton steps, at least 1.
        variant: ``"plain"`` (``-H^{-1} g``), ``"damped"`` (``-(H + damping I)^{-1} g``) or ``"saddle_free"``
            (``-(|H| + damping I)^{-1} g``).
        damping: default 1.0 for ``"damped"`` and 0.0 for ``"saddle_free"``; plain Newton takes none.
        line_search: None (take ``x + lr v``) or ``"armijo"`` (backtrack from ``lr`` until ``f`` decreases
            enough; a direction that is not downhill then stops the point, with the reason recorded).
        lr: step multiplier (1.0 is the full Newton step).
        tol: gradient norm under which a point counts as converged (it then stops).
        c1, max_evals: Armijo constant and bound on its trials.
    Returns:
        a trajectory; ``extras["hessian_eigenvalues"]`` ``(T, B, d)`` holds the eigenvalues of ``H`` at each
        position, ``extras["directions"]`` ``(num_steps, B, d)`` the Newton directions. A singular ``H`` stops
        the point (``extras["failed_at"]``).
    Example: ``run_newton(surfaces.get("rosenbrock"), [-1.2, 1.0], 30, line_search="armijo")``
    """
    surface = as_surface(surface)
    check_choice("variant", variant, VARIANTS)
    check_choice("line_search", line_search, (None, "armijo"))
    if damping is None:
        damping = 1.0 if variant == "damped" else 0.0
    damping = check_real("damping", damping, low=0.0)
    if variant == "plain" and damping != 0:
        raise ValueError(f"plain Newton takes no damping (got damping={damping}); use variant='damped' "
                         "or 'saddle_free'")
    lr = check_real("lr", lr, low=0.0, low_open=True)
    c1 = check_real("c1", c1, low=0.0, high=1.0, low_open=True, high_open=True)
    max_evals = check_int("max_evals", max_evals, low=1)
    names = {"plain": "Newton", "damped": f"damped Newton (damping={damping:g})",
             "saddle_free": "saddle-free Newton" + (f" (damping={damping:g})" if damping else "")}
    label = names[variant] + (" + Armijo" if line_search else "") + (f" (lr={lr:g})" if lr != 1 else "")
    rec = Recorder(surface, x0, num_steps, tol, label)
    T, B, d = rec.num_steps + 1, rec.B, rec.d
    eigs = np.full((T, B, d), np.nan)
    directions = np.full((T - 1, B, d), np.nan)

    def eig_row(t, idx):
        if idx.size:
            eigs[t, idx] = np.linalg.eigvalsh(np.nan_to_num(rec.hessian(rec.x[idx])))

    eig_row(0, np.arange(B))
    for t, idx, X, F, G in rec.steps():
        H = rec.hessian(X)
        D, _, singular = newton_direction(G, H, variant, damping)
        rec.fail(t, idx[singular], "the Hessian is singular here, so the Newton step is undefined")
        keep = ~singular
        idx, X, F, G, D = idx[keep], X[keep], F[keep], G[keep], D[keep]
        directions[t, idx] = D
        if line_search == "armijo":
            res = armijo(rec.evaluate, X, D, F, G, lr, c1=c1, max_evals=max_evals)
            rec.num_evals[idx] += res.evals
            fail_by_reason(rec, t, idx, res)
            ok = res.ok
            rec.move(t, idx[ok], res.x[ok], res.f[ok], res.g[ok], res.t[ok])
        else:
            with np.errstate(all="ignore"):
                Xn = X + lr * D
            f, g = rec.evaluate(Xn)
            rec.num_evals[idx] += 1
            rec.move(t, idx, Xn, f, g, lr)
        rec.record(t + 1)
        eig_row(t + 1, idx[np.isfinite(rec.f[idx])])
    return rec.finish({"hessian_eigenvalues": eigs, "directions": directions, "variant": variant,
                       "damping": damping})


def gaussian_elimination(A, b):
    """Solve ``A x = b`` by Gaussian elimination with partial pivoting, counting the multiply-adds it does.

    The elimination of column ``k`` updates the ``(n-k-1) x (n-k)`` block below and right of the pivot, so the
    count is about ``n^3 / 3``: doubling ``n`` multiplies the work by 8. This is the ``O(n^3)`` cost of one
    Newton step on ``n`` parameters.

    Args:
        A: ``(n, n)`` nonsingular matrix.
        b: ``(n,)`` right-hand side.
    Returns:
        ``(x, flops)``: the solution ``(n,)`` and the number of multiply-adds performed (an int).
    Example: ``x, flops = gaussian_elimination(np.eye(3) * 2, np.ones(3))``
    """
    A = check_array("A", A, ndim=2)
    b = check_array("b", b, ndim=1)
    n = A.shape[0]
    if A.shape != (n, n) or b.shape != (n,):
        raise ValueError(f"A must be square (n, n) and b of shape (n,); got {A.shape} and {b.shape}")
    M = np.concatenate([A, b[:, None]], axis=1)
    flops = 0
    scale = max(float(np.abs(A).max()), 1e-300)
    for k in range(n):
        p = k + int(np.argmax(np.abs(M[k:, k])))
        if abs(M[p, k]) <= 1e-14 * scale:
            raise ValueError(f"A is singular (no usable pivot in column {k})")
        if p != k:
            M[[k, p]] = M[[p, k]]
        factors = M[k + 1:, k] / M[k, k]
        M[k + 1:, k:] -= factors[:, None] * M[k, k:]
        flops += (n - k - 1) * (n - k + 1)  # one multiply-add per updated entry (b's column included)
    x = np.zeros(n)
    for k in range(n - 1, -1, -1):  # back substitution: O(n^2)
        x[k] = (M[k, n] - M[k, k + 1:n] @ x[k + 1:]) / M[k, k]
        flops += n - k
    return x, flops


def time_solve(sizes, repeats: int = 3, seed: int = 0) -> np.ndarray:
    """Seconds to solve one ``n x n`` Newton system ``H v = -g``, for each ``n`` in ``sizes``.

    The best of ``repeats`` runs of ``torch.linalg.solve`` (LU factorization, about ``2 n^3 / 3`` flops) on a
    random symmetric positive definite ``H`` in float64, on one thread: several threads on a shared machine
    make the times jump around. Times depend on the machine and its load: use them to see the growth (a
    log-log slope near 3 for large ``n``), not as fixed numbers.
    Example: ``time_solve([100, 200, 400])``
    """
    import torch

    sizes = [check_int("sizes[i]", n, low=1) for n in sizes]
    repeats = check_int("repeats", repeats, low=1)
    rng = np.random.default_rng(seed)
    out = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for n in sizes:
            Q = rng.standard_normal((n, n))
            H = torch.from_numpy(Q @ Q.T / n + np.eye(n))
            g = torch.from_numpy(rng.standard_normal(n))
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                torch.linalg.solve(H, -g)
                best = min(best, time.perf_counter() - start)
            out.append(best)
    finally:
        torch.set_num_threads(threads)
    return np.array(out)
