"""Linear models whose losses we minimize by hand: least squares with a bias, the hinge classifier, softmax.

Introduced in lecture 03 (gradient descent on linear regression and on the hinge loss) and used again in
lecture 04 (minibatch gradients on the real digits). Everything is numpy, float64, and takes every
hyperparameter as an argument.

Parameters are one flat vector ``theta``: for a linear model on ``d`` features it holds the ``d`` weights and
then the bias, so ``theta = (w, b)`` and ``X @ w + b == add_bias(X) @ theta``.

The three "problems" (:class:`LeastSquares`, :class:`SoftmaxRegression`, :class:`HingeClassifier`) share one
interface that the SGD loops in :mod:`lecture_utils.sgd` rely on: ``loss(theta, idx)``, ``grad(theta, idx)``
(the mean over the rows ``idx``, all rows when ``idx`` is None) and ``example_grads(theta, idx)`` (one row per
example). Example::

    from lecture_utils import linear_models as lm
    theta = lm.normal_equations(X, y)          # closed form, O(d^3)
    prob = lm.LeastSquares(X, y); prob.grad(theta)   # ~ 0 at the solution
"""
from __future__ import annotations

import numpy as np

from ._validate import check_array, check_int, check_real

__all__ = [
    "line_data", "add_bias", "standardize", "mse_loss", "mse_grad", "normal_equations", "condition_number",
    "regression_surface", "hinge_objective", "hinge_subgradient", "fit_hinge", "HingeFit", "LeastSquares",
    "SoftmaxRegression", "HingeClassifier", "softmax",
]


# ---------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------
def _check_Xy(X, y, *, labels=False):
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
    X, y = _check_Xy(X, y)
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
    X, y = _check_Xy(X, y)
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
    X, y = _check_Xy(X, y)
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
    and ``c = y . y / n``, so :func:`surfaces.from_quadratic` gives it exactly, with its minimum (the
    normal-equations solution) known in closed form. With one feature it is a 2D surface that
    ``widgets.Explorer2D`` can draw (lecture 03).

    Args:
        bounds: plotting box per parameter; default: the solution +- 2.5 times the larger of 1 and its size.
    Returns:
        a Surface of dimension ``d + 1``. Example: ``s = regression_surface(x, y); s.minima[0]  # (w*, b*)``
    """
    from .surfaces import from_quadratic

    X, y = _check_Xy(X, y)
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
def _check_pm1(y):
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"y must hold labels -1 and +1 only, got values {np.unique(y)[:6]}")


def hinge_objective(theta, X, y, lam: float = 0.01):
    """``1/n sum_i max(0, 1 - y_i (w . x_i + b)) + lam ||w||^2`` (the bias is not penalized) (lecture 03).

    Args:
        theta: ``(d + 1,)`` or ``(B, d + 1)``; X: ``(n, d)``; y: ``(n,)`` labels in {-1, +1}; lam: >= 0.
    Returns:
        float or ``(B,)``. Example: ``hinge_objective([0, 0, 0], X, y)  # 1.0: every margin is 0``
    """
    X, y = _check_Xy(X, y)
    _check_pm1(y)
    lam = check_real("lam", lam, low=0.0)
    A = add_bias(X)
    T, single = _thetas(theta, A.shape[1])
    margins = y * (T @ A.T)
    out = np.maximum(0.0, 1.0 - margins).mean(axis=1) + lam * np.sum(T[:, :-1] ** 2, axis=1)
    return float(out[0]) if single else out


def hinge_subgradient(theta, X, y, lam: float = 0.01):
    """A subgradient of :func:`hinge_objective`: ``-1/n sum_{margin_i < 1} y_i (x_i, 1) + 2 lam (w, 0)``.

    Where a margin equals 1 exactly the hinge has a kink; we take the zero slope there (as ``torch.relu``).

    Returns:
        same shape as ``theta``. Example: ``theta = theta - lr * hinge_subgradient(theta, X, y, lam)``
    """
    X, y = _check_Xy(X, y)
    _check_pm1(y)
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
    X, y = _check_Xy(X, y)
    _check_pm1(y)
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


# ---------------------------------------------------------------------------------------------------------
# Problems with minibatch gradients by index (lecture 04)
# ---------------------------------------------------------------------------------------------------------
class _Problem:
    """Shared plumbing: data, index checks, and the mean of per-example gradients."""

    def __init__(self, X, y, *, labels=False):
        X, y = _check_Xy(X, y, labels=labels)
        self.X, self.y = X, y
        self.A = add_bias(X)
        self.n, self.d = X.shape

    def _idx(self, idx):
        if idx is None:
            return slice(None), self.n
        idx = np.asarray(idx)
        if idx.dtype == bool or not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"idx must be a non-empty 1D array of integer row indices, got {idx!r:.60}")
        if idx.min() < -self.n or idx.max() >= self.n:
            raise ValueError(f"idx must index rows 0..{self.n - 1}, got values from {idx.min()} to {idx.max()}")
        return idx, idx.size

    def _theta(self, theta):
        theta = check_array("theta", theta, ndim=1, allow_nan=True)
        if theta.shape != (self.num_params,):
            raise ValueError(f"theta must have shape ({self.num_params},), got {theta.shape}")
        return theta

    def grad(self, theta, idx=None):
        """Mean gradient over the rows ``idx`` (all rows when None), shape ``(num_params,)``."""
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        with np.errstate(all="ignore"):
            return self._batch_grad(theta, rows)

    def example_grads(self, theta, idx=None):
        """Per-example gradients, one row per index in ``idx`` (all rows when None): ``(k, num_params)``."""
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        with np.errstate(all="ignore"):
            return self._example_grads(theta, rows)

    def _batch_grad(self, theta, rows):
        """The mean gradient without argument checks (the SGD loops call this once per update)."""
        return self._example_grads(theta, rows).mean(axis=0)

    def __repr__(self):
        return f"{type(self).__name__}(n={self.n}, d={self.d}, num_params={self.num_params})"


class LeastSquares(_Problem):
    """Least squares with a bias as a sum over examples: ``loss_i = (w . x_i + b - y_i)^2`` (lectures 03, 04).

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` targets.
    Example: ``prob = LeastSquares(X, y); prob.grad(theta, idx=[0, 5, 9])  # minibatch gradient``
    """

    def __init__(self, X, y):
        super().__init__(X, y)
        self.num_params = self.d + 1

    def solution(self) -> np.ndarray:
        """The minimizer from the normal equations, shape ``(d + 1,)``."""
        return normal_equations(self.X, self.y)

    def loss(self, theta, idx=None) -> float:
        """Mean squared error over rows ``idx`` (all when None)."""
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        with np.errstate(all="ignore"):
            r = self.A[rows] @ theta - self.y[rows]
            return float(np.mean(r * r))

    def _example_grads(self, theta, rows):
        A = self.A[rows]  # per-example gradient 2 (a_i . theta - y_i) a_i
        return 2.0 * (A @ theta - self.y[rows])[:, None] * A

    def _batch_grad(self, theta, rows):
        A = self.A[rows]
        return 2.0 / A.shape[0] * (A @ theta - self.y[rows]) @ A


def softmax(logits) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so that large logits do not overflow."""
    z = np.asarray(logits, dtype=float)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class SoftmaxRegression(_Problem):
    """Multinomial logistic (softmax) regression with cross-entropy loss (lecture 04, on the digits).

    ``theta`` is the flattened ``(d + 1, C)`` matrix whose last row is the bias; the logits of ``x`` are
    ``add_bias(x) @ theta.reshape(d + 1, C)``. ``weight_decay`` adds ``weight_decay / 2 * ||W||^2`` on the
    weights (not the biases) to every example's loss.

    Args:
        X: ``(n, d)`` inputs; y: ``(n,)`` integer labels in ``0..num_classes - 1``.
        num_classes: default ``max(y) + 1``.
    Example: ``prob = SoftmaxRegression(X, y); prob.loss(prob.init())  # log(10) for 10 classes``
    """

    def __init__(self, X, y, num_classes: int | None = None, weight_decay: float = 0.0):
        super().__init__(X, y, labels=True)
        self.y = self.y.astype(np.int64)
        self.num_classes = (int(self.y.max()) + 1 if num_classes is None
                            else check_int("num_classes", num_classes, low=2))
        if self.y.min() < 0 or self.y.max() >= self.num_classes:
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got {self.y.min()}..{self.y.max()}")
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        self.num_params = (self.d + 1) * self.num_classes
        self._mask = np.ones((self.d + 1, self.num_classes))
        self._mask[-1] = 0.0  # no decay on the bias row

    def init(self, scale: float = 0.0, seed: int = 0) -> np.ndarray:
        """A start point: zeros (``scale=0``) or small Gaussian weights, shape ``(num_params,)``."""
        scale = check_real("scale", scale, low=0.0)
        return np.random.default_rng(check_int("seed", seed, low=0)).normal(0.0, 1.0, self.num_params) * scale

    def logits(self, theta, X=None) -> np.ndarray:
        """Logits ``(n, C)`` for the training inputs, or for other inputs ``X`` of shape ``(m, d)``."""
        theta = self._theta(theta)
        A = self.A if X is None else add_bias(X)
        return A @ theta.reshape(self.d + 1, self.num_classes)

    def predict(self, theta, X=None) -> np.ndarray:
        """Predicted labels ``(n,)``."""
        return np.argmax(self.logits(theta, X), axis=1)

    def accuracy(self, theta, X=None, y=None) -> float:
        """Fraction of correct predictions on the training data, or on ``(X, y)``."""
        y = self.y if y is None else np.asarray(y)
        return float(np.mean(self.predict(theta, X) == y))

    def loss(self, theta, idx=None) -> float:
        """Mean cross-entropy over rows ``idx`` (plus the weight-decay term). Overflow gives inf, not a warning."""
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        with np.errstate(all="ignore"):
            Z = self.A[rows] @ theta.reshape(self.d + 1, self.num_classes)
            m = Z.max(axis=1, keepdims=True)
            lse = (m[:, 0] + np.log(np.exp(Z - m).sum(axis=1)))
            ce = float(np.mean(lse - Z[np.arange(len(Z)), self.y[rows]]))
            if self.weight_decay:
                W = theta.reshape(self.d + 1, self.num_classes)[:-1]
                ce += 0.5 * self.weight_decay * float(np.sum(W * W))
        return ce if np.isfinite(ce) else float("inf")

    def _residual(self, theta, rows, A=None):
        P = (self.A[rows] if A is None else A) @ theta.reshape(self.d + 1, self.num_classes)
        P -= P.max(axis=1, keepdims=True)  # softmax in place: this runs once per SGD update
        np.exp(P, out=P)
        P /= P.sum(axis=1, keepdims=True)
        P[np.arange(len(P)), self.y[rows]] -= 1.0
        return P  # dloss_i / dlogits_i

    def _example_grads(self, theta, rows):
        R = self._residual(theta, rows)  # per-example gradient a_i (p_i - onehot(y_i))^T, flattened
        G = np.einsum("ni,nc->nic", self.A[rows], R).reshape(len(R), -1)
        if self.weight_decay:
            G += self.weight_decay * (self._mask * theta.reshape(self.d + 1, self.num_classes)).ravel()
        return G

    def _batch_grad(self, theta, rows):
        A = self.A[rows]
        G = A.T @ self._residual(theta, rows, A) / A.shape[0]
        if self.weight_decay:
            G = G + self.weight_decay * self._mask * theta.reshape(self.d + 1, self.num_classes)
        return G.ravel()


class HingeClassifier(_Problem):
    """The L2-regularized hinge loss as a sum over examples, for minibatch subgradients (lectures 03, 04).

    ``loss_i = max(0, 1 - y_i (w . x_i + b)) + lam ||w||^2``, so the mean over all rows is
    :func:`hinge_objective`. Labels must be -1 and +1.
    """

    def __init__(self, X, y, lam: float = 0.01):
        super().__init__(X, y)
        _check_pm1(self.y)
        self.lam = check_real("lam", lam, low=0.0)
        self.num_params = self.d + 1

    def loss(self, theta, idx=None) -> float:
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        m = self.y[rows] * (self.A[rows] @ theta)
        return float(np.maximum(0.0, 1.0 - m).mean() + self.lam * theta[:-1] @ theta[:-1])

    def _example_grads(self, theta, rows):
        A, y = self.A[rows], self.y[rows]
        G = -((y * (A @ theta) < 1.0) * y)[:, None] * A
        G[:, :-1] += 2.0 * self.lam * theta[:-1]
        return G
