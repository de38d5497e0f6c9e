"""Coordinate and block coordinate descent, and alternating minimization for sparse coding (lecture 08).

Coordinate descent minimizes the objective along one variable (or one block of variables) at a time, holding
the others fixed. On a quadratic ``f(x) = 1/2 x^T A x - b^T x`` each block has a closed-form minimizer, so
:func:`coordinate_descent` takes exact block steps; on any other surface it takes a gradient step on the block.

The *coupled* bad case ``J(w1, w2) = (w1 - w2)^2 + alpha (w1^2 + w2^2)`` (:func:`coupled_surface`) shows why the
method can crawl: each exact step on ``w1`` lands at ``w2 / (1 + alpha)``, so one sweep shrinks the iterate only
by ``1 / (1 + alpha)^2``.

Example (one sweep: ``w1`` lands at ``w2 / 1.1``, then ``w2`` at ``w1 / 1.1``)::

    >>> from lecture_utils import coordinate
    >>> s = coordinate.coupled_surface(alpha=0.1)
    >>> traj = coordinate.coordinate_descent(s, [1.0, 0.5], num_sweeps=1)
    >>> traj.xs[:, 0].round(4)                    # the start, then after each coordinate step
    array([[1.    , 0.5   ],
           [0.4545, 0.5   ],
           [0.4545, 0.4132]])
    >>> round(coordinate.coordinate_sweep_factor(0.1), 4)   # 1 / (1 + alpha)^2 per sweep
    0.8264
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array, check_int, check_real
from .trajectory import Trajectory
from .surfaces import Surface, from_quadratic

__all__ = ["coupled_surface", "coordinate_descent", "coordinate_sweep_factor", "sparse_coding_objective",
           "sparse_coding", "lasso_coordinate_descent", "dictionary_coordinate_descent", "soft_threshold",
           "SparseCodingResult"]


def coupled_surface(alpha: float = 0.1) -> Surface:
    """The coupled bad case ``J(w1, w2) = (w1 - w2)^2 + alpha (w1^2 + w2^2)`` as a quadratic surface.

    In the form ``1/2 w^T A w`` the Hessian is ``A = [[2 + 2 alpha, -2], [-2, 2 + 2 alpha]]``; its minimum is
    ``0`` at the origin and its condition number is ``(2 + alpha) / alpha``.

    Args:
        alpha: weight of the penalty, > 0 (small alpha = strongly coupled = slow coordinate descent).
    Returns:
        a 2D :class:`~lecture_utils.surfaces.Surface`. Example: ``coupled_surface(0.05).value([1, 1])  # 0.1``
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    A = np.array([[2 + 2 * alpha, -2.0], [-2.0, 2 + 2 * alpha]])
    s = from_quadratic(A, bounds=[(-1.5, 1.5), (-1.5, 1.5)], name="coupled")
    s.formula = rf"$(w_1 - w_2)^2 + {alpha:g}\,(w_1^2 + w_2^2)$"
    s.params["alpha"] = alpha
    return s


def coordinate_sweep_factor(alpha: float) -> float:
    """How much one sweep of exact coordinate descent shrinks ``w`` on :func:`coupled_surface`: ``1/(1+alpha)^2``.

    After the first half-sweep ``w1 = w2 / (1 + alpha)`` and then ``w2 = w1 / (1 + alpha)``, so both coordinates
    shrink by this factor per sweep. Example: ``coordinate_sweep_factor(0.1)  # 0.826...``
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    return 1.0 / (1.0 + alpha) ** 2


def _blocks(dim, blocks):
    if blocks is None:
        return [np.array([i]) for i in range(dim)]
    out, seen = [], []
    try:
        for blk in blocks:
            idx = np.atleast_1d(np.asarray(blk))
            if idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError
            out.append(idx.astype(int))
            seen.extend(idx.tolist())
    except (TypeError, ValueError):
        raise ValueError(f"blocks must be a list of non-empty lists of coordinate indices in 0..{dim - 1}, "
                         f"got {blocks!r}") from None
    if sorted(seen) != list(range(dim)):
        raise ValueError(f"blocks must cover every coordinate 0..{dim - 1} exactly once, got {blocks!r}")
    return out


def coordinate_descent(surface: Surface, x0, num_sweeps: int = 20, *, blocks=None, lr: float | None = None,
                       tol: float = 1e-5) -> Trajectory:
    """Cyclic (block) coordinate descent from one or many start points; every block update is recorded.

    On a quadratic surface (built by :func:`~lecture_utils.surfaces.from_quadratic`, so it knows ``A`` and
    ``b``) and with ``lr=None``, each update minimizes ``f`` exactly over its block:
    ``x_S <- A_SS^{-1} (b_S - A_S,rest x_rest)``. Otherwise each update is a gradient step on the block only,
    ``x_S <- x_S - lr * grad_S f(x)``.

    Args:
        surface: the objective.
        x0: start point(s), shape ``(d,)`` or ``(B, d)``.
        num_sweeps: passes over all blocks.
        blocks: list of index lists, e.g. ``[[0, 1], [2]]``; ``None`` = one coordinate per block.
        lr: step size for block gradient steps; ``None`` = exact minimization (quadratic surfaces only).
        tol: gradient norm under which a point counts as converged.
    Returns:
        :class:`~lecture_utils.trajectory.Trajectory` with ``num_sweeps * len(blocks)`` steps (one per block update):
        ``xs`` ``(T, B, d)``; ``extras["sweep_index"]`` gives the row of ``xs`` that ends each sweep.
    Example: ``coordinate_descent(coupled_surface(0.1), [1.0, 0.5], num_sweeps=10).final``
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a lecture_utils.surfaces.Surface, got {type(surface).__name__}")
    num_sweeps = check_int("num_sweeps", num_sweeps, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True, allow_none=True)
    tol = check_real("tol", tol, low=0.0)
    X = check_array("x0", x0)
    d = surface.dim
    if X.ndim == 1 and X.shape[0] == d:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"x0 must have shape ({d},) or (B, {d}), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("x0 must be finite")
    blks = _blocks(d, blocks)
    exact = lr is None
    if exact:
        if "A" not in surface.params:
            raise ValueError("exact coordinate minimization needs a quadratic surface from surfaces.from_quadratic; "
                             "pass lr=... for block gradient steps on other surfaces")
        A, b = surface.params["A"], surface.params["b"]
        for blk in blks:
            if np.linalg.eigvalsh(A[np.ix_(blk, blk)]).min() <= 0:
                raise ValueError(f"block {blk.tolist()} of A is not positive definite: f has no minimum along it")
    B = X.shape[0]
    T = num_sweeps * len(blks) + 1
    xs = np.empty((T, B, d))
    xs[0] = X
    x = X.copy()
    t = 0
    with np.errstate(all="ignore"):
        for _ in range(num_sweeps):
            for blk in blks:
                if exact:
                    rest = np.setdiff1d(np.arange(d), blk)
                    rhs = b[blk][None, :] - x[:, rest] @ A[np.ix_(blk, rest)].T
                    x[:, blk] = np.linalg.solve(A[np.ix_(blk, blk)], rhs.T).T
                else:
                    g = surface.grad(x)
                    x[:, blk] = x[:, blk] - lr * g[:, blk]
                t += 1
                xs[t] = x
        values = surface.value(xs.reshape(-1, d)).reshape(T, B)
        grad_norms = np.linalg.norm(surface.grad(xs.reshape(-1, d)).reshape(T, B, d), axis=-1)
    bad = ~np.isfinite(values) | ~np.all(np.isfinite(xs), axis=-1)
    diverged_at = np.where(bad.any(0), bad.argmax(0), -1)
    for i in np.flatnonzero(diverged_at >= 0):
        k = diverged_at[i]
        xs[k:, i] = xs[max(k - 1, 0), i]
        values[k:, i] = np.nan
        grad_norms[k:, i] = np.nan
    conv = grad_norms < tol
    converged_at = np.where(conv.any(0), conv.argmax(0), -1)
    label = "coordinate descent" if blocks is None else "block coordinate descent"
    label += " (exact)" if exact else f" (lr={lr:g})"
    return Trajectory(xs, values, grad_norms, np.full(T - 1, np.nan if exact else lr), diverged_at, converged_at,
                      label=label, tol=tol,
                      extras={"sweep_index": np.arange(1, num_sweeps + 1) * len(blks), "blocks": blks})


# ---------------------------------------------------------------------------------------------------------
# Sparse coding by alternating minimization
# ---------------------------------------------------------------------------------------------------------
def soft_threshold(z, threshold):
    """``sign(z) * max(|z| - threshold, 0)``, elementwise: the minimizer of ``1/2 (h - z)^2 + threshold |h|``."""
    z = np.asarray(z, dtype=float)
    return np.sign(z) * np.maximum(np.abs(z) - threshold, 0.0)


def sparse_coding_objective(X, H, W, lam: float) -> float:
    """``J(H, W) = ||X - H W||_F^2 + lam * sum |H|`` with ``X`` ``(n, d)``, codes ``H`` ``(n, k)``, dictionary
    ``W`` ``(k, d)``.

    This is the lecture's ``sum (X - W^T H)^2 + sum |H|`` with examples as rows instead of columns.
    Example: ``sparse_coding_objective(X, H, W, lam=0.1)``
    """
    X, H, W = (np.asarray(a, dtype=float) for a in (X, H, W))
    return float(((X - H @ W) ** 2).sum() + lam * np.abs(H).sum())


def lasso_coordinate_descent(X, W, lam: float, H0=None, num_sweeps: int = 50) -> np.ndarray:
    """The H-step: minimize ``||X - H W||^2 + lam |H|_1`` over the codes ``H`` by exact coordinate descent.

    Each update sets one code column to its exact minimizer with the others fixed,
    ``H[:, j] = soft_threshold(r_j @ W[j], lam / 2) / ||W[j]||^2`` with ``r_j`` the residual without atom ``j``,
    so the objective never increases. The problem is convex in ``H`` (a lasso per example).

    Args:
        X: data ``(n, d)``. W: dictionary ``(k, d)``. lam: L1 weight >= 0.
        H0: start codes ``(n, k)`` (default zeros). num_sweeps: passes over the ``k`` atoms.
    Returns:
        codes ``H`` ``(n, k)``. Example: ``H = lasso_coordinate_descent(X, W, lam=0.1)``
    """
    X = check_array("X", X, ndim=2)
    W = check_array("W", W, ndim=2)
    lam = check_real("lam", lam, low=0.0)
    num_sweeps = check_int("num_sweeps", num_sweeps, low=1)
    if W.shape[1] != X.shape[1]:
        raise ValueError(f"W must have shape (k, {X.shape[1]}) to match X {X.shape}, got {W.shape}")
    k = W.shape[0]
    H = np.zeros((X.shape[0], k)) if H0 is None else check_array("H0", H0, ndim=2).copy()
    if H.shape != (X.shape[0], k):
        raise ValueError(f"H0 must have shape {(X.shape[0], k)}, got {H.shape}")
    norms = (W ** 2).sum(1)
    R = X - H @ W
    for _ in range(num_sweeps):
        for j in range(k):
            if norms[j] == 0:
                R += np.outer(H[:, j], W[j])
                H[:, j] = 0.0
                continue
            rj = R + np.outer(H[:, j], W[j])
            H[:, j] = soft_threshold(rj @ W[j], lam / 2) / norms[j]
            R = rj - np.outer(H[:, j], W[j])
    return H


class SparseCodingResult:
    """What :func:`sparse_coding` returns.

    Attributes:
        H: codes ``(n, k)``; W: dictionary ``(k, d)``.
        objective: ``(2 * num_iters + 1,)`` values of ``J`` at the start and after every half step (H, then W).
        sparsity: ``(num_iters,)`` fraction of zero codes after each H-step.
    """

    def __init__(self, H, W, objective, sparsity):
        self.H, self.W = H, W
        self.objective = np.asarray(objective)
        self.sparsity = np.asarray(sparsity)

    def __repr__(self):
        return (f"SparseCodingResult(J {self.objective[0]:.4g} -> {self.objective[-1]:.4g}, "
                f"{self.sparsity[-1]:.0%} zero codes)")


def dictionary_coordinate_descent(X, H, W0, num_sweeps: int = 3) -> np.ndarray:
    """The W-step: minimize ``||X - H W||^2`` over the dictionary ``W`` with every atom in the unit ball.

    Block coordinate descent over the atoms (the rows of ``W``): with the other atoms fixed, the objective in atom
    ``j`` is ``||h_j||^2 ||w_j||^2 - 2 w_j . (R_j^T h_j) + const`` (``R_j`` the residual without atom ``j``), an
    isotropic quadratic, so its minimizer over the ball ``||w_j|| <= 1`` is the unconstrained one,
    ``R_j^T h_j / ||h_j||^2``, projected onto the ball. An atom no example uses (``h_j = 0``) does not change ``J``;
    it is moved to the direction of the worst-reconstructed example so that it can be used in the next H-step.

    Args:
        X: data ``(n, d)``. H: codes ``(n, k)``. W0: start dictionary ``(k, d)``. num_sweeps: passes over the atoms.
    Returns:
        dictionary ``W`` ``(k, d)`` with rows of norm at most 1. Example: ``W = dictionary_coordinate_descent(X, H, W)``
    """
    X = check_array("X", X, ndim=2)
    H = check_array("H", H, ndim=2)
    W = check_array("W0", W0, ndim=2).copy()
    num_sweeps = check_int("num_sweeps", num_sweeps, low=1)
    if H.shape != (X.shape[0], W.shape[0]) or W.shape[1] != X.shape[1]:
        raise ValueError(f"shapes do not match: X {X.shape}, H {H.shape}, W0 {W.shape}; need H (n, k), W0 (k, d)")
    R = X - H @ W
    for _ in range(num_sweeps):
        for j in range(W.shape[0]):
            hj = H[:, j]
            hh = float(hj @ hj)
            if hh == 0:
                worst = int(np.argmax((R ** 2).sum(1)))
                norm = np.linalg.norm(R[worst])
                if norm > 0:
                    W[j] = R[worst] / norm
                continue
            Rj = R + np.outer(hj, W[j])
            w = Rj.T @ hj / hh
            W[j] = w / max(1.0, float(np.linalg.norm(w)))
            R = Rj - np.outer(hj, W[j])
    return W


def sparse_coding(X, num_atoms: int, lam: float = 0.1, num_iters: int = 20, *, lasso_sweeps: int = 20,
                  dict_sweeps: int = 3, seed: int = 0) -> SparseCodingResult:
    """Alternating minimization of ``J(H, W) = ||X - H W||^2 + lam |H|_1`` with atoms of norm at most 1.

    ``J`` is not convex in ``(H, W)`` jointly, but it is convex in each block: with ``W`` fixed the H-step is a
    lasso (:func:`lasso_coordinate_descent`, started from the previous codes), and with ``H`` fixed the W-step is
    a least-squares problem over the unit ball of each atom (:func:`dictionary_coordinate_descent`). Every update
    inside both steps is an exact block minimization, so ``J`` never increases. The norm constraint is what keeps
    the L1 penalty meaningful: without it, ``(c W, H / c)`` lowers ``J`` for any ``c > 1``.

    Args:
        X: data ``(n, d)``. num_atoms: dictionary size ``k``. lam: L1 weight on the codes.
        num_iters: number of (H-step, W-step) rounds.
        lasso_sweeps: coordinate sweeps per H-step. dict_sweeps: sweeps over the atoms per W-step.
        seed: seed of the initial dictionary (randomly chosen examples, scaled to unit norm).
    Returns:
        :class:`SparseCodingResult`. Example: ``res = sparse_coding(X, num_atoms=8, lam=0.5); res.objective``
    """
    X = check_array("X", X, ndim=2)
    num_atoms = check_int("num_atoms", num_atoms, low=1)
    lam = check_real("lam", lam, low=0.0)
    num_iters = check_int("num_iters", num_iters, low=1)
    lasso_sweeps = check_int("lasso_sweeps", lasso_sweeps, low=1)
    dict_sweeps = check_int("dict_sweeps", dict_sweeps, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    # Start from randomly chosen examples (scaled to unit norm): atoms that already look like the data give
    # codes above the L1 threshold; random directions could be zeroed out entirely by the first H-step.
    rows = rng.choice(X.shape[0], size=num_atoms, replace=num_atoms > X.shape[0])
    W = X[rows] + 1e-3 * rng.standard_normal((num_atoms, X.shape[1]))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    H = np.zeros((X.shape[0], num_atoms))
    objective, sparsity = [sparse_coding_objective(X, H, W, lam)], []
    for _ in range(num_iters):
        H = lasso_coordinate_descent(X, W, lam, H0=H, num_sweeps=lasso_sweeps)
        objective.append(sparse_coding_objective(X, H, W, lam))
        sparsity.append(float((H == 0).mean()))
        W = dictionary_coordinate_descent(X, H, W, num_sweeps=dict_sweeps)
        objective.append(sparse_coding_objective(X, H, W, lam))
    return SparseCodingResult(H, W, objective, sparsity)
