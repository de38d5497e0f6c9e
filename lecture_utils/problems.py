"""Training problems for the numpy SGD loops of lecture 04: losses that are means over examples, with minibatch
gradients by row index.

Every problem offers ``n``, ``num_params``, ``loss(theta, idx)``, ``grad(theta, idx)`` (the mean over the rows
``idx``, all rows when ``idx`` is None), ``example_grads(theta, idx)`` (one row per example) and the unchecked
``batch_grad(theta, rows)`` the loops call once per update. :class:`LeastSquares`, :class:`SoftmaxRegression`
and :class:`HingeClassifier` are the linear models of lectures 03 and 04; :class:`TiltedLandscape` is a designed
1D problem where minibatch noise escapes a sharp, poor minimum that full-batch descent cannot leave.

Example::

    >>> import numpy as np
    >>> from lecture_utils import problems
    >>> prob = problems.LeastSquares(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([1.0, 3.0, 5.0, 7.5]))
    >>> prob
    LeastSquares(n=4, d=1, num_params=2)
    >>> theta = prob.solution()                   # (w, b) of the least-squares line
    >>> bool(np.allclose(prob.grad(theta), 0.0)), prob.example_grads(theta, [0, 1]).shape
    (True, (2, 2))
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_generator, check_array, check_int, check_real
from .linear_models import add_bias, check_Xy, check_pm1, normal_equations
from .surfaces import Surface
from .surrogates import hinge_loss

__all__ = ["check_problem", "LeastSquares", "SoftmaxRegression", "HingeClassifier", "TiltedLandscape", "softmax"]


def check_problem(problem, name: str = "problem"):
    """Check that ``problem`` offers the interface of this module; ``TypeError`` naming what is missing."""
    for attr in ("n", "num_params", "loss", "grad", "example_grads"):
        if not hasattr(problem, attr):
            raise TypeError(f"{name} must offer n, num_params, loss, grad and example_grads (like "
                            f"problems.SoftmaxRegression); {type(problem).__name__} has no {attr!r}")
    return problem


class _Problem:
    """Shared plumbing: data, index checks, and the mean of per-example gradients."""

    def __init__(self, X, y, *, labels=False):
        X, y = check_Xy(X, y, labels=labels)
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
            return self.batch_grad(theta, rows)

    def example_grads(self, theta, idx=None):
        """Per-example gradients, one row per index in ``idx`` (all rows when None): ``(k, num_params)``."""
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        with np.errstate(all="ignore"):
            return self._example_grads(theta, rows)

    def batch_grad(self, theta, rows):
        """The mean gradient over ``rows`` without argument checks (the SGD loops call this once per update)."""
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

    def batch_grad(self, theta, rows):
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

    def batch_grad(self, theta, rows):
        A = self.A[rows]
        G = A.T @ self._residual(theta, rows, A) / A.shape[0]
        if self.weight_decay:
            G = G + self.weight_decay * self._mask * theta.reshape(self.d + 1, self.num_classes)
        return G.ravel()


class HingeClassifier(_Problem):
    """The L2-regularized hinge loss as a sum over examples, for minibatch subgradients (lectures 03, 04).

    ``loss_i = max(0, 1 - y_i (w . x_i + b)) + lam ||w||^2``, so the mean over all rows is
    :func:`lecture_utils.linear_models.hinge_objective`. Labels must be -1 and +1.
    """

    def __init__(self, X, y, lam: float = 0.01):
        super().__init__(X, y)
        check_pm1(self.y)
        self.lam = check_real("lam", lam, low=0.0)
        self.num_params = self.d + 1

    def loss(self, theta, idx=None) -> float:
        theta = self._theta(theta)
        rows, _ = self._idx(idx)
        m = self.y[rows] * (self.A[rows] @ theta)
        return float(hinge_loss(m).mean() + self.lam * theta[:-1] @ theta[:-1])

    def _example_grads(self, theta, rows):
        A, y = self.A[rows], self.y[rows]
        G = -((y * (A @ theta) < 1.0) * y)[:, None] * A
        G[:, :-1] += 2.0 * self.lam * theta[:-1]
        return G


class TiltedLandscape:
    """A 1D training loss with a wide good minimum and a sharp, poor one, built from ``n`` example losses.

    The full loss is ``L(x) = curvature/2 (x - good)^2 - depth * exp(-(x - sharp)^2 / (2 width^2))``. Example
    ``i`` sees it tilted: ``loss_i(x) = L(x) + tilt_i * x`` with tilts of mean exactly 0 and standard
    deviation ``noise``. The mean over all examples is ``L`` (full-batch descent sees no tilt); a minibatch sees
    ``L`` tilted by the mean tilt of its examples, so its gradient is ``L'(x)`` plus noise of size about
    ``noise / sqrt(batch_size)``: the seed notes' picture of a loss that changes from one data subset to the
    next. Lecture 04.

    Attributes:
        n, num_params (= 1), tilts ``(n,)``, surface (``L`` as a Surface, for plots and ``optim.run``),
        sharp_min and good_min (the two local minimizers), barrier (the local maximum between them).
    Example: ``land = TiltedLandscape(); sgd(land, [land.sharp_min], lr=0.02, batch_size=1, num_epochs=40)``
    """

    def __init__(self, n: int = 128, noise: float = 8.0, *, sharp: float = -1.0, depth: float = 0.6,
                 width: float = 0.1, good: float = 2.0, curvature: float = 0.2, seed: int = 0):
        self.n = check_int("n", n, low=2)
        self.noise = check_real("noise", noise, low=0.0)
        self.sharp = check_real("sharp", sharp)
        self.depth = check_real("depth", depth, low=0.0, low_open=True)
        self.width = check_real("width", width, low=0.0, low_open=True)
        self.good = check_real("good", good)
        self.curvature = check_real("curvature", curvature, low=0.0, low_open=True)
        self.num_params = 1
        t = as_generator(seed).standard_normal(self.n)
        t = t - t.mean()
        self.tilts = self.noise * t / t.std() if self.noise > 0 else np.zeros(self.n)
        self.surface = self._surface()
        self.sharp_min, self.barrier, self.good_min = self._critical_points()

    def _L(self, x):
        return 0.5 * self.curvature * (x - self.good) ** 2 - self.depth * np.exp(-(x - self.sharp) ** 2 / (2 * self.width ** 2))

    def _dL(self, x):
        e = np.exp(-(x - self.sharp) ** 2 / (2 * self.width ** 2))
        return self.curvature * (x - self.good) + self.depth * (x - self.sharp) / self.width ** 2 * e

    def _d2L(self, x):
        e = np.exp(-(x - self.sharp) ** 2 / (2 * self.width ** 2))
        u = (x - self.sharp) / self.width
        return self.curvature + self.depth / self.width ** 2 * e * (1 - u * u)

    def _surface(self):
        lo, hi = min(self.sharp, self.good) - 2.5, max(self.sharp, self.good) + 2.5
        return Surface("tilted_landscape", 1, [(lo, hi)], lambda X: self._L(X[:, 0]), lambda X: self._dL(X),
                       lambda X: self._d2L(X)[:, :, None],
                       formula=r"$\frac{c}{2}(x - x_g)^2 - d\,e^{-(x - x_s)^2 / 2w^2}$")

    def _critical_points(self):
        crit = self.surface.critical_points
        mins = sorted(c.point[0] for c in crit if c.kind == "minimum")
        maxs = sorted(c.point[0] for c in crit if c.kind == "maximum")
        sharp = min(mins, key=lambda m: abs(m - self.sharp))
        good = min(mins, key=lambda m: abs(m - self.good))
        if abs(sharp - good) < 1e-6 or not maxs:
            raise ValueError("these parameters give no separate sharp minimum: make depth larger or width smaller")
        between = [m for m in maxs if min(sharp, good) < m < max(sharp, good)]
        return float(sharp), float(between[0] if between else maxs[0]), float(good)

    def sharpness(self, x: float) -> float:
        """Second derivative ``L''(x)``; gradient descent is stable at a minimum only if ``lr < 2 / L''``."""
        return float(self._d2L(np.asarray(float(x))))

    def in_good_basin(self, x) -> np.ndarray:
        """True where plain gradient descent (small steps) from ``x`` flows to the good minimum."""
        x = np.asarray(x, dtype=float)
        return (x > self.barrier) if self.good > self.sharp else (x < self.barrier)

    def _theta(self, theta):
        theta = np.asarray(theta, dtype=float).reshape(-1)
        if theta.shape != (1,):
            raise ValueError(f"theta must be one number (shape (1,)), got shape {theta.shape}")
        return theta[0]

    def _rows(self, idx):
        return slice(None) if idx is None else np.asarray(idx)

    def loss(self, theta, idx=None) -> float:
        x = self._theta(theta)
        return float(self._L(x) + self.tilts[self._rows(idx)].mean() * x)

    def grad(self, theta, idx=None) -> np.ndarray:
        x = self._theta(theta)
        return np.array([self._dL(x) + self.tilts[self._rows(idx)].mean()])

    def example_grads(self, theta, idx=None) -> np.ndarray:
        x = self._theta(theta)
        return (self._dL(x) + self.tilts[self._rows(idx)])[:, None]

    def sgd_many(self, x0: float, lr: float, batch_size: int, num_updates: int, num_runs: int = 40,
                 seed: int = 0) -> np.ndarray:
        """Many independent runs of shuffled minibatch SGD at once (the loop of :func:`lecture_utils.sgd.sgd`, vectorized over runs).

        Each run reshuffles the examples every epoch and steps on consecutive minibatches, exactly as
        :func:`lecture_utils.sgd.sgd` with ``order="shuffle"`` does; ``batch_size = n`` is full-batch descent.

        Returns:
            ``(num_updates + 1, num_runs)`` iterates. Example: ``land.in_good_basin(land.sgd_many(-1, 0.02, 1, 2000)[-1]).mean()``
        """
        x0 = check_real("x0", x0)
        lr = check_real("lr", lr, low=0.0, low_open=True)
        batch_size = check_int("batch_size", batch_size, low=1, high=self.n)
        num_updates = check_int("num_updates", num_updates, low=1)
        num_runs = check_int("num_runs", num_runs, low=1)
        rng = as_generator(seed)
        starts = np.arange(0, self.n, batch_size)
        xs = np.empty((num_updates + 1, num_runs))
        x = np.full(num_runs, x0)
        xs[0] = x
        nb = len(starts)
        ends = np.minimum(starts + batch_size, self.n)
        epochs_left = math.ceil(num_updates / nb)
        chunk = max(1, 2_000_000 // (num_runs * self.n))  # shuffle many epochs in one call
        t = 0
        with np.errstate(all="ignore"):
            while t < num_updates:
                E = min(chunk, epochs_left)
                epochs_left -= E
                if batch_size == self.n:  # the whole data set: the mean tilt is exactly zero
                    batch_tilt = np.zeros((num_runs, E * nb))
                else:
                    perm = np.argsort(rng.random((num_runs, E, self.n)), axis=2)
                    csum = np.concatenate([np.zeros((num_runs, E, 1)), np.cumsum(self.tilts[perm], axis=2)], axis=2)
                    batch_tilt = ((csum[:, :, ends] - csum[:, :, starts]) / (ends - starts)).reshape(num_runs, E * nb)
                for j in range(E * nb):
                    if t >= num_updates:
                        break
                    x = x - lr * (self._dL(x) + batch_tilt[:, j])
                    t += 1
                    xs[t] = x
        return xs

    def __repr__(self):
        return (f"TiltedLandscape(n={self.n}, noise={self.noise:g}; sharp minimum at {self.sharp_min:.3f} "
                f"with L''={self.sharpness(self.sharp_min):.1f}, good minimum at {self.good_min:.3f})")
