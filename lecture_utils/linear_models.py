"""Linear models whose losses we minimize by hand: least squares with a bias, the hinge classifier, softmax.

Introduced in lecture 03 (gradient descent on linear regression and on the hinge loss) and used again in
lecture 04 (minibatch gradients on the real digits). Everything is numpy, float64, and takes every
hyperparameter as an argument.

Parameters are one flat vector ``theta``: for a linear model on ``d`` features it holds the ``d`` weights and
then the bias, so ``theta = (w, b)`` and ``X @ w + b == add_bias(X) @ theta``.

The same models as sums over examples, with minibatch gradients for the SGD loops of lecture 04, are the
"problems" of :mod:`lecture_utils.problems`.

Example (three points on the line ``y = 2 x + 1``)::

    >>> import numpy as np
    >>> from lecture_utils import linear_models as lm
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([1.0, 3.0, 5.0])
    >>> theta = lm.normal_equations(X, y)         # closed form, O(d^3): (w, b)
    >>> theta.round(6)
    array([2., 1.])
    >>> bool(np.allclose(lm.mse_grad(theta, X, y), 0.0))   # the gradient vanishes at the solution
    True
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array, check_int, check_real
from .surrogates import hinge_loss

__all__ = [
    "line_data", "add_bias", "standardize", "mse_loss", "mse_grad", "normal_equations", "condition_number",
    "regression_surface", "hinge_objective", "hinge_subgradient", "fit_hinge", "HingeFit", "check_Xy", "check_pm1",
]


# ---------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------
def check_Xy(X, y, *, labels=False):
    """``(X (n, d), y (n,))`` as float arrays of matching length (integer-valued ``y`` when ``labels``)."""
    X = check_array("X", X, ndim=(1, 2))
    if X.ndim == 1:  # one feature given as a plain vector
        X = X[:, None]
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite: it contains infinity")
    y = check_array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y.shape[0]}")
    if X.shape[0] < 1:
        raise ValueError("X must hold at least one example")
    if labels and not np.all(y == np.round(y)):
        raise ValueError("y must hold integer class labels")
    return X, y


def line_data(n: int = 200, slope: float = 2.0, intercept: float = 1.0, noise: float = 0.7, *, x_mean: float = 0.0,
              x_std: float = 1.0, seed: int = 0):
    """Points scattered around a line: ``y = slope * x + intercept + noise * N(0, 1)`` (lectures 03, 04).

    Args:
        n: number of points; x_mean, x_std: the inputs are drawn from ``N(x_mean, x_std^2)`` (a large
            ``x_mean`` makes the least-squares loss badly conditioned, lecture 03).
    Returns:
        ``(x, y)`` of shapes ``(n, 1)`` and ``(n,)``. Example: ``x, y = line_data(100, x_mean=50, x_std=10)``
    """
    n = check_int("n", n, low=2)
    slope, intercept = check_real("slope", slope), check_real("intercept", intercept)
    noise = check_real("noise", noise, low=0.0)
    x_mean, x_std = check_real("x_mean", x_mean), check_real("x_std", x_std, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    x = rng.normal(x_mean, x_std, n)
    y = slope * x + intercept + noise * rng.standard_normal(n)
    return x[:, None], y


def add_bias(X) -> np.ndarray:
    """Append a column of ones, so that ``add_bias(X) @ (w, b) == X @ w + b`` (lecture 03).

    Args:
        X: inputs, shape ``(n, d)`` (or ``(n,)`` for one feature).
    Returns:
        ``(n, d + 1)`` array. Example: ``add_bias([[2.0], [3.0]])  # [[2, 1], [3, 1]]``
    """
    X = check_array("X", X, ndim=(1, 2))
    if X.ndim == 1:
        X = X[:, None]
    return np.hstack([X, np.ones((X.shape[0], 1))])


def standardize(X, mean=None, std=None, eps: float = 1e-12):
    """Shift and scale every column to mean 0 and standard deviation 1: ``(X - mean) / std`` (lectures 03, 07).

    Pass the training ``mean`` and ``std`` to transform validation or test inputs with the same numbers.
    Constant columns (std below ``eps``) are only centred.

    Args:
        X: ``(n, d)`` inputs.
        mean, std: ``(d,)`` statistics to use; computed from ``X`` when None.
    Returns:
        ``(X_std, mean, std)``. Example: ``Xs, mu, sd = standardize(X); Xt_s, _, _ = standardize(Xt, mu, sd)``
    """
    X = check_array("X", X, ndim=(1, 2))
    X2 = X[:, None] if X.ndim == 1 else X
    eps = check_real("eps", eps, low=0.0)
    mean = X2.mean(axis=0) if mean is None else check_array("mean", mean, ndim=1)
    std = X2.std(axis=0) if std is None else check_array("std", std, ndim=1)
    if mean.shape != (X2.shape[1],) or std.shape != (X2.shape[1],):
        raise ValueError(f"mean and std must have shape ({X2.shape[1]},), got {mean.shape} and {std.shape}")
    std = np.where(std > eps, std, 1.0)
    out = (X2 - mean) / std
    return (out[:, 0] if X.ndim == 1 else out), mean, std


# ---------------------------------------------------------------------------------------------------------
# Least squares with a bias
# ---------------------------------------------------------------------------------------------------------
def _thetas(theta, p):
    T = check_array("theta", theta, ndim=(1, 2))
    single = T.ndim == 1
    T = T[None, :] if single else T
    if T.shape[1] != p:
        raise ValueError(f"theta must hold {p} numbers (the {p - 1} weight(s), then the bias), got shape {T.shape[1:]}")
    return T, single


def mse_loss(theta, X, y):
    """Mean squared error of the linear model with a bias: ``1/n sum_i (w . x_i + b - y_i)^2`` (lecture 03).

    Args:
        theta: ``(d + 1,)`` weights then bias, or a batch ``(B, d + 1)``.
        X: ``(n, d)`` inputs; y: ``(n,)`` targets.
    Returns:
        a float, or ``(B,)`` for a batch of thetas. Example: ``mse_loss([2.0, 1.0], [[1.0]], [3.0])  # 0.0``
    """
    X, y = check_Xy(X, y)
    A = add_bias(X)
    T, single = _thetas(theta, A.shape[1])
    with np.errstate(all="ignore"):
        r = T @ A.T - y  # (B, n)
        out = np.mean(r * r, axis=1)
    return float(out[0]) if single else out


def mse_grad(theta, X, y):
    """Gradient of :func:`mse_loss`: ``2/n A^T (A theta - y)`` with ``A = add_bias(X)`` (lecture 03).

    Args:
        theta: ``(d + 1,)`` or ``(B, d + 1)``.
    Returns:
        same shape as ``theta``. Example: ``mse_grad(normal_equations(X, y), X, y)  # ~ zeros``
    """
    X, y = check_Xy(X, y)
    A = add_bias(X)
    T, single = _thetas(theta, A.shape[1])
    with np.errstate(all="ignore"):
        G = 2.0 / len(y) * (T @ A.T - y) @ A
    return G[0] if single else G


def normal_equations(X, y) -> np.ndarray:
    """The least-squares solution with a bias from the normal equations ``A^T A theta = A^T y`` (lecture 03).

    Solving the ``(d + 1) x (d + 1)`` system costs ``O(d^3)``; forming ``A^T A`` costs ``O(n d^2)``. When
    ``A^T A`` is singular (more features than examples, or a repeated column) the minimum-norm solution
    from ``lstsq`` is returned instead.

    Returns:
        ``theta`` of shape ``(d + 1,)``: weights, then bias. Example: ``w, b = normal_equations(x, 2 * x + 1)``
    """
    X, y = check_Xy(X, y)
    A = add_bias(X)
    M, v = A.T @ A, A.T @ y
    try:
        if np.linalg.cond(M) < 1e12:
            return np.linalg.solve(M, v)
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(A, y, rcond=None)[0]


def condition_number(X) -> float:
    """Condition number of ``A^T A`` with ``A = add_bias(X)``: the ratio of the largest to smallest
    curvature of the least-squares loss, which sets how many steps gradient descent needs (lecture 03).

    Example: ``condition_number(standardize(X)[0])  # 1.0 for one standardized feature``
    """
    X = check_array("X", X, ndim=(1, 2))
    eig = np.linalg.eigvalsh(add_bias(X).T @ add_bias(X))
    return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


def regression_surface(X, y, bounds=None, *, name: str = "least squares"):
    """The least-squares loss as a :class:`~lecture_utils.surfaces.Surface` over ``theta = (w, b)``.

    ``mse_loss(theta) = 1/2 theta^T H theta - g^T theta + c`` with ``H = 2 A^T A / n``, ``g = 2 A^T y / n``
    and ``c = y . y / n``, so :func:`~lecture_utils.surfaces.from_quadratic` gives it exactly, with its minimum
    (the normal-equations solution) known in closed form. With one feature it is a 2D surface that
    ``widgets.Explorer2D`` can draw (lecture 03).

    Args:
        bounds: plotting box per parameter; default: the solution +- 2.5 times the larger of 1 and its size.
    Returns:
        a Surface of dimension ``d + 1``. Example: ``s = regression_surface(x, y); s.minima[0]  # (w*, b*)``
    """
    from .surfaces import from_quadratic

    X, y = check_Xy(X, y)
    A = add_bias(X)
    n = len(y)
    H = 2.0 / n * (A.T @ A)
    H = 0.5 * (H + H.T)
    theta_star = normal_equations(X, y)
    if bounds is None:
        half = 2.5 * max(1.0, float(np.abs(theta_star).max()))
        bounds = [(t - half, t + half) for t in theta_star]
    s = from_quadratic(H, 2.0 / n * (A.T @ y), float(y @ y) / n, bounds=bounds, name=name)
    s.formula = (r"$\mathrm{mean}_i\,(w x_i + b - y_i)^2$" if A.shape[1] == 2
                 else r"$\mathrm{mean}_i\,(a_i \cdot \theta - y_i)^2$")
    return s


# ---------------------------------------------------------------------------------------------------------
# Hinge-loss linear classifier with L2 regularization
# ---------------------------------------------------------------------------------------------------------
def check_pm1(y):
    """Check that the labels ``y`` are all -1 or +1 (the hinge loss's convention)."""
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"y must hold labels -1 and +1 only, got values {np.unique(y)[:6]}")


def hinge_objective(theta, X, y, lam: float = 0.01):
    """``1/n sum_i max(0, 1 - y_i (w . x_i + b)) + lam ||w||^2`` (the bias is not penalized) (lecture 03).

    Args:
        theta: ``(d + 1,)`` or ``(B, d + 1)``; X: ``(n, d)``; y: ``(n,)`` labels in {-1, +1}; lam: >= 0.
    Returns:
        float or ``(B,)``. Example: ``hinge_objective([0, 0, 0], X, y)  # 1.0: every margin is 0``
    """
    X, y = check_Xy(X, y)
    check_pm1(y)
    lam = check_real("lam", lam, low=0.0)
    A = add_bias(X)
    T, single = _thetas(theta, A.shape[1])
    margins = y * (T @ A.T)
    out = hinge_loss(margins).mean(axis=1) + lam * np.sum(T[:, :-1] ** 2, axis=1)
    return float(out[0]) if single else out


def hinge_subgradient(theta, X, y, lam: float = 0.01):
    """A subgradient of :func:`hinge_objective`: ``-1/n sum_{margin_i < 1} y_i (x_i, 1) + 2 lam (w, 0)``.

    Where a margin equals 1 exactly the hinge has a kink; we take the zero slope there (as ``torch.relu``).

    Returns:
        same shape as ``theta``. Example: ``theta = theta - lr * hinge_subgradient(theta, X, y, lam)``
    """
    X, y = check_Xy(X, y)
    check_pm1(y)
    lam = check_real("lam", lam, low=0.0)
    A = add_bias(X)
    T, single = _thetas(theta, A.shape[1])
    active = (y * (T @ A.T) < 1.0).astype(float)  # (B, n)
    G = -(active * y) @ A / len(y)
    G[:, :-1] += 2.0 * lam * T[:, :-1]
    return G[0] if single else G


class HingeFit:
    """What :func:`fit_hinge` returns.

    Attributes:
        theta: ``(d + 1,)`` the iterate with the lowest objective seen (subgradient steps do not always descend).
        thetas: ``(num_steps + 1, d + 1)`` every iterate.
        objectives: ``(num_steps + 1,)`` the objective at each iterate.
        lrs: ``(num_steps,)`` step sizes used.
    """

    def __init__(self, thetas, objectives, lrs):
        self.thetas, self.objectives, self.lrs = thetas, objectives, lrs
        self.best_step = int(np.argmin(objectives))
        self.theta = thetas[self.best_step]

    def __repr__(self):
        return f"HingeFit(best objective {self.objectives[self.best_step]:.5g} at step {self.best_step})"


def fit_hinge(X, y, lam: float = 0.01, lr: float = 0.5, num_steps: int = 2000, *, decay: str = "sqrt",
              theta0=None) -> HingeFit:
    """Subgradient descent on :func:`hinge_objective` (lecture 03).

    A fixed step never settles at a kink, so the step shrinks: ``lr / sqrt(t + 1)`` (``decay="sqrt"``, the
    classic choice for subgradient methods), ``lr / (t + 1)`` (``"inverse"``) or stays ``lr`` (``"constant"``).

    Args:
        X: ``(n, d)``; y: ``(n,)`` in {-1, +1}; lam: L2 weight; lr: first step; num_steps: updates.
        theta0: start, default zeros.
    Returns:
        a :class:`HingeFit`. Example: ``fit = fit_hinge(X, y, lam=0.01); w, b = fit.theta[:-1], fit.theta[-1]``
    """
    X, y = check_Xy(X, y)
    check_pm1(y)
    lam = check_real("lam", lam, low=0.0)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    num_steps = check_int("num_steps", num_steps, low=1)
    if decay not in ("sqrt", "inverse", "constant"):
        raise ValueError(f"decay must be one of 'sqrt', 'inverse', 'constant'; got {decay!r}")
    p = X.shape[1] + 1
    theta = np.zeros(p) if theta0 is None else _thetas(theta0, p)[0][0].copy()
    thetas = np.empty((num_steps + 1, p))
    thetas[0] = theta
    t = np.arange(num_steps)
    lrs = {"sqrt": lr / np.sqrt(t + 1.0), "inverse": lr / (t + 1.0), "constant": np.full(num_steps, lr)}[decay]
    A = add_bias(X)
    yA = y[:, None] * A
    reg = np.full(p, 2.0 * lam)
    reg[-1] = 0.0  # the bias is not penalized
    for k in range(num_steps):  # the body of hinge_subgradient, without re-checking the data every step
        g = -yA[yA @ theta < 1.0].sum(axis=0) / len(y) + reg * theta
        theta = theta - lrs[k] * g
        thetas[k + 1] = theta
    return HingeFit(thetas, hinge_objective(thetas, X, y, lam), lrs)


