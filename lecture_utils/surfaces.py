"""Objective surfaces for optimizers: value, gradient and Hessian, batched over start points.

Introduced in lecture 01 and used by every lecture after it. A :class:`Surface` maps ``x`` of shape ``(d,)``
or ``(B, d)`` to values ``()`` / ``(B,)``, gradients ``(d,)`` / ``(B, d)`` and Hessians ``(d, d)`` /
``(B, d, d)``, all float64. The registered surfaces have hand-derived gradients and Hessians; surfaces built
from a torch function or a typed formula get theirs from autograd.

Example::

    s = get("rosenbrock"); s.value([1.0, 1.0])   # -> 0.0
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_real

__all__ = [
    "Surface", "CriticalPoint", "get", "names", "describe", "negate", "from_function", "from_expression",
    "from_quadratic", "quadratic",
]


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with its kind from the Hessian's eigenvalues."""

    point: np.ndarray
    kind: str  # "minimum", "maximum", "saddle" or "degenerate"
    value: float


class Surface:
    """An objective ``f: R^d -> R`` with its gradient and Hessian, vectorized over a leading batch axis.

    Args:
        name: short identifier (as in :func:`names`).
        dim: number of variables ``d``.
        bounds: plotting box, one ``(low, high)`` pair per dimension.
        value_fn, grad_fn, hess_fn: batched callables ``(B, d) -> (B,)``, ``(B, d)``, ``(B, d, d)``.
        formula: human-readable formula for titles.
        known_points: ``[(point, kind), ...]`` critical points known in closed form; the rest are found
            numerically on first use of :attr:`critical_points`.
        search_grid: points per axis for the numerical search of critical points.
    """

    def __init__(self, name: str, dim: int, bounds, value_fn: Callable, grad_fn: Callable, hess_fn: Callable,
                 *, formula: str = "", known_points=(), search_grid: int | None = None, params=None):
        self.name = name
        self.dim = int(dim)
        self.bounds = tuple((float(lo), float(hi)) for lo, hi in bounds)
        if len(self.bounds) != self.dim or any(lo >= hi for lo, hi in self.bounds):
            raise ValueError(f"bounds must hold one (low, high) pair with low < high per dimension ({dim}); "
                             f"got {bounds}")
        self._value, self._grad, self._hess = value_fn, grad_fn, hess_fn
        self.formula = formula or name
        self.params = dict(params or {})
        self._known = [(np.asarray(p, dtype=float), k) for p, k in known_points]
        self._search_grid = search_grid or (2001 if self.dim == 1 else 61)
        self._critical = None

    def __repr__(self):
        return f"Surface({self.name!r}, dim={self.dim}, bounds={self.bounds})"

    def with_bounds(self, bounds) -> "Surface":
        """The same function with another plotting box (the registered one may miss what a lesson needs).

        Known critical points are kept; those found numerically are searched again inside the new box.
        Example: ``get("x_plus_sin").with_bounds([(-4.5, 3.5)])`` shows the flat point at ``-pi``.
        """
        return Surface(self.name, self.dim, _check_bounds(bounds, self.dim), self._value, self._grad, self._hess,
                       formula=self.formula, known_points=self._known, search_grid=self._search_grid,
                       params=self.params)

    # ---- evaluation -------------------------------------------------------------------------------------
    def _batch(self, x):
        try:
            X = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"x must be an array of numbers of shape ({self.dim},) or (B, {self.dim}), "
                            f"got {type(x).__name__}") from exc
        if X.ndim == 0 and self.dim == 1:
            return X.reshape(1, 1), "scalar"
        if X.ndim == 1 and X.shape[0] == self.dim:
            return X[None, :], "single"
        if X.ndim == 1 and self.dim == 1:  # a 1D surface on a plain array of points: values per point
            return X[:, None], "points1d"
        if X.ndim == 2 and X.shape[1] == self.dim:
            return X, "batch"
        raise ValueError(f"x must have shape ({self.dim},) or (B, {self.dim}) for surface {self.name!r}, "
                         f"got shape {X.shape}")

    def value(self, x):
        """f(x): shape ``()`` for one point, ``(B,)`` for a batch (a 1D surface also takes a plain ``(B,)`` array). Overflow gives inf/NaN, never a warning."""
        X, kind = self._batch(x)
        with np.errstate(all="ignore"):
            v = np.asarray(self._value(X), dtype=float).reshape(X.shape[0])
        return v if kind in ("batch", "points1d") else v[0]

    def grad(self, x):
        """Gradient: shape ``(d,)`` for one point (``()`` for a 1D scalar input), ``(B, d)`` for a batch."""
        X, kind = self._batch(x)
        with np.errstate(all="ignore"):
            g = np.asarray(self._grad(X), dtype=float).reshape(X.shape[0], self.dim)
        if kind == "points1d":
            return g[:, 0]
        return g if kind == "batch" else (g[0, 0] if kind == "scalar" else g[0])

    def hessian(self, x):
        """Hessian: shape ``(d, d)`` for one point (``()`` for a 1D scalar input), ``(B, d, d)`` for a batch."""
        X, kind = self._batch(x)
        with np.errstate(all="ignore"):
            H = np.asarray(self._hess(X), dtype=float).reshape(X.shape[0], self.dim, self.dim)
        if kind == "points1d":
            return H[:, 0, 0]
        return H if kind == "batch" else (H[0, 0, 0] if kind == "scalar" else H[0])

    def grid(self, n: int = 200, bounds=None):
        """Values on a regular grid over ``bounds`` (default: the plotting box).

        Returns ``(xs, values)`` with ``xs`` of shape ``(n,)`` for 1D, or ``(X, Y, Z)`` meshes of shape
        ``(n, n)`` for 2D.
        """
        bounds = self.bounds if bounds is None else bounds
        if self.dim == 1:
            xs = np.linspace(*bounds[0], n)
            return xs, self.value(xs[:, None])
        if self.dim != 2:
            raise ValueError(f"grid is defined for 1D and 2D surfaces; {self.name!r} has dim={self.dim}")
        gx, gy = np.meshgrid(np.linspace(*bounds[0], n), np.linspace(*bounds[1], n))
        Z = self.value(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
        return gx, gy, Z

    # ---- critical points --------------------------------------------------------------------------------
    @property
    def critical_points(self) -> list[CriticalPoint]:
        """Critical points inside the plotting box: the known ones plus those Newton's method finds from a grid."""
        if self._critical is None:
            self._critical = self._find_critical_points()
        return self._critical

    def _points(self, kind):
        pts = [c.point for c in self.critical_points if c.kind == kind]
        return np.array(pts).reshape(-1, self.dim)

    @property
    def minima(self) -> np.ndarray:
        """Known local minimizers inside the box, shape ``(k, d)``, lowest value first."""
        return self._points("minimum")

    @property
    def saddles(self) -> np.ndarray:
        """Saddle points (indefinite Hessian, or known saddles such as the monkey saddle), shape ``(k, d)``."""
        return self._points("saddle")

    @property
    def maxima(self) -> np.ndarray:
        """Local maximizers inside the box, shape ``(k, d)``."""
        return self._points("maximum")

    def classify(self, point, tol: float = 1e-6) -> str:
        """Kind of a critical point from the Hessian's eigenvalues: minimum, maximum, saddle or degenerate."""
        eig = np.linalg.eigvalsh(self.hessian(np.asarray(point, dtype=float).reshape(self.dim)).reshape(self.dim, self.dim))
        scale = tol * max(1.0, float(np.abs(eig).max()))
        if np.all(eig > scale):
            return "minimum"
        if np.all(eig < -scale):
            return "maximum"
        if eig.min() < -scale and eig.max() > scale:
            return "saddle"
        return "degenerate"

    def _find_critical_points(self):
        lo = np.array([b[0] for b in self.bounds])
        hi = np.array([b[1] for b in self.bounds])
        n = self._search_grid
        axes = [np.linspace(lo[i], hi[i], n) for i in range(self.dim)]
        X = np.stack([m.ravel() for m in np.meshgrid(*axes)], axis=1)
        eye = np.eye(self.dim)
        with np.errstate(all="ignore"):
            for _ in range(80):
                g = self.grad(X)
                H = self.hessian(X)
                # A tiny ridge keeps singular Hessians (inflection points, monkey saddle) solvable.
                step = np.linalg.solve(H + 1e-12 * eye, g[..., None])[..., 0]
                X = X - np.clip(step, -(hi - lo), hi - lo)
                X = np.where(np.isfinite(X), X, lo)
            g = self.grad(X)
            f = self.value(X)
        span = hi - lo
        ok = (np.all(np.isfinite(X), axis=1) & np.isfinite(f)
              & np.all((X >= lo - 1e-9 * span) & (X <= hi + 1e-9 * span), axis=1)
              & (np.linalg.norm(g, axis=1) < 1e-7 * (1.0 + np.abs(f))))
        found = []
        for p, kind in self._known:
            found.append(CriticalPoint(p, kind, float(self.value(p))))
        cand = np.unique(np.round(X[ok], 6), axis=0)
        tol = 1e-4 * float(np.linalg.norm(span))
        for p in cand:
            if any(np.linalg.norm(p - c.point) < tol for c in found):
                continue
            # Polish the rounded point with a few Newton steps before classifying it.
            q = p.copy()
            with np.errstate(all="ignore"):
                for _ in range(5):
                    q = q - np.linalg.solve(self.hessian(q).reshape(self.dim, self.dim) + 1e-12 * eye,
                                            np.atleast_1d(self.grad(q)))
            if not np.all(np.isfinite(q)) or np.linalg.norm(q - p) > tol:
                q = p
            found.append(CriticalPoint(q, self.classify(q), float(self.value(q))))
        found.sort(key=lambda c: (c.kind != "minimum", c.value))
        return found


# ---------------------------------------------------------------------------------------------------------
# The registry: hand-derived gradients and Hessians, tested against autograd and finite differences.
# ---------------------------------------------------------------------------------------------------------
_REGISTRY: dict[str, tuple[Callable[..., Surface], str]] = {}


def _register(name: str, summary: str):
    def deco(factory):
        _REGISTRY[name] = (factory, summary)
        return factory
    return deco


def _cols(*columns):
    """Stack ``(B,)`` columns into ``(B, k)``: what ``np.stack(columns, axis=1)`` does, at a third of its
    overhead for the one-point runs a live widget makes on every slider move."""
    out = np.empty((len(columns[0]), len(columns)))
    for j, c in enumerate(columns):
        out[:, j] = c
    return out


def _stack_h(hxx, hxy, hyy):
    return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)


@_register("sin_parabola", "f(x) = 25 sin x - x^2 (lecture 01: gradient ascent from x0 = -2)")
def _sin_parabola():
    return Surface(
        "sin_parabola", 1, [(-6.0, 6.0)],
        lambda X: 25 * np.sin(X[:, 0]) - X[:, 0] ** 2,
        lambda X: 25 * np.cos(X) - 2 * X,
        lambda X: (-25 * np.sin(X) - 2)[:, :, None],
        formula=r"$25\sin x - x^2$")


@_register("x_plus_sin", "f(x) = x + sin x (lecture 03: learning rates 1, 0.1 and 0.01 from x0 = 2.5)")
def _x_plus_sin():
    return Surface(
        "x_plus_sin", 1, [(-1.0, 7.0)],
        lambda X: X[:, 0] + np.sin(X[:, 0]),
        lambda X: 1 + np.cos(X),
        lambda X: (-np.sin(X))[:, :, None],
        formula=r"$x + \sin x$")


@_register("multi_minima", "f(x) = 0.1 x^2 + sin 2x: three minima in [-4, 4] (lecture 03: 1D basins)")
def _multi_minima():
    return Surface(
        "multi_minima", 1, [(-4.0, 4.0)],
        lambda X: 0.1 * X[:, 0] ** 2 + np.sin(2 * X[:, 0]),
        lambda X: 0.2 * X + 2 * np.cos(2 * X),
        lambda X: (0.2 - 4 * np.sin(2 * X))[:, :, None],
        formula=r"$0.1x^2 + \sin 2x$")


@_register("lecture_2d", "f(x, y) = cos(3x + 2y) + cos(2x + 4y) - 2 sin(x + y) (lecture 02)")
def _lecture_2d():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return np.cos(3 * x + 2 * y) + np.cos(2 * x + 4 * y) - 2 * np.sin(x + y)

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        sa, sb, cc = np.sin(3 * x + 2 * y), np.sin(2 * x + 4 * y), np.cos(x + y)
        return _cols(-3 * sa - 2 * sb - 2 * cc, -2 * sa - 4 * sb - 2 * cc)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        ca, cb, sc = np.cos(3 * x + 2 * y), np.cos(2 * x + 4 * y), np.sin(x + y)
        return _stack_h(-9 * ca - 4 * cb + 2 * sc, -6 * ca - 8 * cb + 2 * sc, -4 * ca - 16 * cb + 2 * sc)

    return Surface("lecture_2d", 2, [(-3.0, 3.0), (-3.0, 3.0)], value, grad, hess,
                   formula=r"$\cos(3x+2y) + \cos(2x+4y) - 2\sin(x+y)$")


def from_quadratic(A, b=None, c: float = 0.0, *, bounds=None, name: str = "quadratic") -> Surface:
    """The quadratic ``f(x) = 1/2 x^T A x - b^T x + c`` in any dimension (lectures 03, 05, 06).

    Args:
        A: symmetric ``(d, d)`` matrix.
        b: ``(d,)`` vector (default zeros); the minimizer solves ``A x = b`` when ``A`` is positive definite.
        bounds: plotting box (default ``(-3, 3)`` per axis).
    Example: ``from_quadratic(np.diag([1.0, 10.0]))``
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.all(np.isfinite(A)):
        raise ValueError(f"A must be a finite square (d, d) matrix, got shape {A.shape}")
    if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12):
        raise ValueError("A must be symmetric (A == A.T)")
    d = A.shape[0]
    b = np.zeros(d) if b is None else np.asarray(b, dtype=float).reshape(-1)
    if b.shape != (d,):
        raise ValueError(f"b must have shape ({d},), got {b.shape}")
    c = check_real("c", c)
    A, b = A.copy(), b.copy()
    known = []
    eig = np.linalg.eigvalsh(A)
    if np.all(np.abs(eig) > 1e-12 * max(1.0, np.abs(eig).max())):
        xstar = np.linalg.solve(A, b)
        kind = "minimum" if eig.min() > 0 else ("maximum" if eig.max() < 0 else "saddle")
        known = [(xstar, kind)]
    bounds = bounds if bounds is not None else [(-3.0, 3.0)] * d
    s = Surface(name, d, bounds,
                lambda X: 0.5 * np.einsum("bi,ij,bj->b", X, A, X) - X @ b + c,
                lambda X: X @ A - b,  # A is symmetric
                lambda X: np.broadcast_to(A, (X.shape[0], d, d)).copy(),
                formula=r"$\frac{1}{2}x^\top A x - b^\top x$", known_points=known,
                search_grid=2, params={"A": A, "b": b, "c": c})
    s._critical = [CriticalPoint(p, k, float(s.value(p))) for p, k in known]  # exact: no search needed
    return s


@_register("quadratic", "1/2 x^T A x with eigenvalues 1 and kappa, rotated by angle (params: kappa, angle)")
def quadratic(kappa: float = 10.0, angle: float = 0.0) -> Surface:
    """A 2D quadratic bowl with Hessian eigenvalues ``1`` and ``kappa``, its axes rotated by ``angle`` radians.

    The condition number is ``kappa``; gradient descent converges iff ``0 < lr < 2 / kappa``.
    Example: ``quadratic(kappa=50, angle=np.pi / 6)``
    """
    kappa = check_real("kappa", kappa, low=1.0)
    angle = check_real("angle", angle)
    R = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    A = R @ np.diag([1.0, kappa]) @ R.T
    A = 0.5 * (A + A.T)
    s = from_quadratic(A, bounds=[(-3.0, 3.0), (-3.0, 3.0)], name="quadratic")
    s.formula = rf"$\frac{{1}}{{2}}x^\top A x,\ \kappa={kappa:g}$"
    s.params.update(kappa=kappa, angle=angle)
    return s


@_register("rosenbrock", "(a - x)^2 + b (y - x^2)^2, minimum at (a, a^2) (params: a=1, b=100)")
def _rosenbrock(a: float = 1.0, b: float = 100.0):
    a = check_real("a", a)
    b = check_real("b", b, low=0.0, low_open=True)

    def value(X):
        x, y = X[:, 0], X[:, 1]
        return (a - x) ** 2 + b * (y - x ** 2) ** 2

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        r = y - x ** 2
        return _cols(-2 * (a - x) - 4 * b * x * r, 2 * b * r)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        return _stack_h(2 - 4 * b * y + 12 * b * x ** 2, -4 * b * x, np.full_like(x, 2 * b))

    return Surface("rosenbrock", 2, [(-2.0, 2.0), (-1.0, 3.0)], value, grad, hess,
                   formula=r"$(1-x)^2 + 100(y-x^2)^2$", known_points=[((a, a * a), "minimum")],
                   params={"a": a, "b": b})


@_register("beale", "Beale's function, minimum 0 at (3, 0.5)")
def _beale():
    c = (1.5, 2.25, 2.625)

    def terms(X):
        x, y = X[:, 0], X[:, 1]
        return x, y, [(c[i - 1] - x + x * y ** i, y ** i - 1, i * x * y ** (i - 1), i) for i in (1, 2, 3)]

    def value(X):
        _, _, ts = terms(X)
        return sum(t ** 2 for t, *_ in ts)

    def grad(X):
        _, _, ts = terms(X)
        return _cols(sum(2 * t * tx for t, tx, _, _ in ts), sum(2 * t * ty for t, _, ty, _ in ts))

    def hess(X):
        x, y, ts = terms(X)
        hxx = sum(2 * tx * tx for _, tx, _, _ in ts)
        hxy = sum(2 * (tx * ty + t * i * y ** (i - 1)) for t, tx, ty, i in ts)
        hyy = sum(2 * (ty * ty + t * i * (i - 1) * x * y ** (i - 2 if i >= 2 else 0) * (i >= 2))
                  for t, _, ty, i in ts)
        return _stack_h(hxx, hxy, hyy)

    return Surface("beale", 2, [(-4.5, 4.5), (-4.5, 4.5)], value, grad, hess,
                   formula="Beale", known_points=[((3.0, 0.5), "minimum")])


@_register("himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima of value 0")
def _himmelblau():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        u, v = x ** 2 + y - 11, x + y ** 2 - 7
        return _cols(4 * x * u + 2 * v, 2 * u + 4 * y * v)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        u, v = x ** 2 + y - 11, x + y ** 2 - 7
        return _stack_h(4 * u + 8 * x ** 2 + 2, 4 * x + 4 * y, 2 + 4 * v + 8 * y ** 2)

    return Surface("himmelblau", 2, [(-5.0, 5.0), (-5.0, 5.0)], value, grad, hess,
                   formula=r"$(x^2+y-11)^2 + (x+y^2-7)^2$", known_points=[((3.0, 2.0), "minimum")])


@_register("rastrigin", "20 + sum(x_i^2 - 10 cos 2 pi x_i): many local minima, global minimum 0 at the origin")
def _rastrigin():
    tp = 2 * math.pi
    return Surface(
        "rastrigin", 2, [(-5.12, 5.12), (-5.12, 5.12)],
        lambda X: 20 + np.sum(X ** 2 - 10 * np.cos(tp * X), axis=1),
        lambda X: 2 * X + 10 * tp * np.sin(tp * X),
        lambda X: np.eye(2) * (2 + 10 * tp * tp * np.cos(tp * X))[:, :, None],
        formula="Rastrigin", known_points=[((0.0, 0.0), "minimum")], search_grid=121)


@_register("six_hump_camel", "six-hump camel: two global minima near (+-0.0898, -+0.7126)")
def _six_hump_camel():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        return _cols(8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        return _stack_h(8 - 25.2 * x ** 2 + 10 * x ** 4, np.ones_like(x), -8 + 48 * y ** 2)

    return Surface("six_hump_camel", 2, [(-2.0, 2.0), (-1.0, 1.0)], value, grad, hess, formula="six-hump camel")


@_register("saddle", "x^2 - y^2: a saddle at the origin")
def _saddle():
    return Surface(
        "saddle", 2, [(-2.0, 2.0), (-2.0, 2.0)],
        lambda X: X[:, 0] ** 2 - X[:, 1] ** 2,
        lambda X: _cols(2 * X[:, 0], -2 * X[:, 1]),
        lambda X: np.broadcast_to(np.diag([2.0, -2.0]), (X.shape[0], 2, 2)).copy(),
        formula=r"$x^2 - y^2$", known_points=[((0.0, 0.0), "saddle")], search_grid=3)


@_register("monkey_saddle", "x^3 - 3 x y^2: a degenerate saddle with three downhill valleys")
def _monkey_saddle():
    def hess(X):
        x, y = X[:, 0], X[:, 1]
        return _stack_h(6 * x, -6 * y, -6 * x)

    return Surface(
        "monkey_saddle", 2, [(-1.5, 1.5), (-1.5, 1.5)],
        lambda X: X[:, 0] ** 3 - 3 * X[:, 0] * X[:, 1] ** 2,
        lambda X: _cols(3 * X[:, 0] ** 2 - 3 * X[:, 1] ** 2, -6 * X[:, 0] * X[:, 1]),
        hess, formula=r"$x^3 - 3xy^2$", known_points=[((0.0, 0.0), "saddle")], search_grid=5)


@_register("plateau", "1 - exp(-(x^2 + y^2) / 2): a narrow well in a wide, nearly flat plateau")
def _plateau():
    def value(X):
        return 1 - np.exp(-0.5 * np.sum(X ** 2, axis=1))

    def grad(X):
        return np.exp(-0.5 * np.sum(X ** 2, axis=1))[:, None] * X

    def hess(X):
        e = np.exp(-0.5 * np.sum(X ** 2, axis=1))[:, None, None]
        return e * (np.eye(2) - X[:, :, None] * X[:, None, :])

    return Surface("plateau", 2, [(-5.0, 5.0), (-5.0, 5.0)], value, grad, hess,
                   formula=r"$1 - e^{-(x^2+y^2)/2}$", known_points=[((0.0, 0.0), "minimum")], search_grid=3)


@_register("cliff", "a gentle slope that drops off a cliff at x = 1 towards a minimum near (3, 0)")
def _cliff():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return 0.5 * y ** 2 + 0.1 * (x - 3) ** 2 + 3 * (1 - np.tanh(8 * (x - 1)))

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        sech2 = 1 / np.cosh(8 * (x - 1)) ** 2
        return _cols(0.2 * (x - 3) - 24 * sech2, y)

    def hess(X):
        x = X[:, 0]
        u = 8 * (x - 1)
        sech2 = 1 / np.cosh(u) ** 2
        return _stack_h(0.2 + 384 * sech2 * np.tanh(u), np.zeros_like(x), np.ones_like(x))

    return Surface("cliff", 2, [(-3.0, 6.0), (-3.0, 3.0)], value, grad, hess,
                   formula=r"$\frac{y^2}{2} + \frac{(x-3)^2}{10} + 3(1 - \tanh 8(x-1))$")


def names() -> list[str]:
    """Names of all registered surfaces, sorted."""
    return sorted(_REGISTRY)


def describe() -> dict[str, str]:
    """One-line summary of each registered surface, by name."""
    return {n: _REGISTRY[n][1] for n in names()}


def get(name: str, **params) -> Surface:
    """The registered surface ``name``, built with optional parameters (``get("quadratic", kappa=100)``).

    Raises ``ValueError`` naming the valid names for an unknown one.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(names())}; got {type(name).__name__}")
    if name not in _REGISTRY:
        raise ValueError(f"unknown surface {name!r}; valid names: {', '.join(names())}")
    factory = _REGISTRY[name][0]
    try:
        return factory(**params)
    except TypeError as exc:
        import inspect
        allowed = list(inspect.signature(factory).parameters)
        raise TypeError(f"surface {name!r} takes parameters {allowed or 'none'}; got {sorted(params)}") from exc


def negate(surface: Surface) -> Surface:
    """``-f``: maximizing ``f`` is minimizing ``-f`` (lecture 01). Maxima of ``f`` become minima."""
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a Surface, got {type(surface).__name__}")
    flip = {"minimum": "maximum", "maximum": "minimum"}
    known = [(p, flip.get(k, k)) for p, k in surface._known]
    return Surface(f"-{surface.name}", surface.dim, surface.bounds,
                   lambda X: -surface._value(X), lambda X: -surface._grad(X), lambda X: -surface._hess(X),
                   formula=f"$-$({surface.formula})", known_points=known, search_grid=surface._search_grid,
                   params=surface.params)


# ---------------------------------------------------------------------------------------------------------
# Surfaces from torch code: gradients and Hessians by autograd.
# ---------------------------------------------------------------------------------------------------------
def _autograd_surface(name, dim, bounds, fb, formula):
    """Wrap a batched torch function ``(B, d) -> (B,)`` as a Surface with autograd derivatives."""
    import torch

    def value(X):
        with torch.no_grad():
            return fb(torch.as_tensor(X, dtype=torch.float64)).numpy()

    def grad(X):
        Xt = torch.as_tensor(X, dtype=torch.float64).clone().requires_grad_(True)
        v = fb(Xt)
        if not v.requires_grad:
            return np.zeros_like(X)
        (g,) = torch.autograd.grad(v.sum(), Xt, allow_unused=True)
        return np.zeros_like(X) if g is None else g.detach().numpy()

    def hess(X):
        Xt = torch.as_tensor(X, dtype=torch.float64).clone().requires_grad_(True)
        v = fb(Xt)
        H = np.zeros((X.shape[0], dim, dim))
        if not v.requires_grad:
            return H
        (g,) = torch.autograd.grad(v.sum(), Xt, create_graph=True, allow_unused=True)
        if g is None or not g.requires_grad:
            return H
        for i in range(dim):
            (row,) = torch.autograd.grad(g[:, i].sum(), Xt, retain_graph=True, allow_unused=True)
            if row is not None:
                H[:, i, :] = row.detach().numpy()
        return H

    return Surface(name, dim, bounds, value, grad, hess, formula=formula)


def _check_bounds(bounds, dim):
    if bounds is None:
        return [(-3.0, 3.0)] * dim
    try:
        pairs = [(float(lo), float(hi)) for lo, hi in bounds]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"bounds must be a sequence of {dim} (low, high) pairs, got {bounds!r}") from exc
    if len(pairs) != dim or any(not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) for lo, hi in pairs):
        raise ValueError(f"bounds must be {dim} finite (low, high) pair(s) with low < high, got {bounds!r}")
    return pairs


def from_function(fn: Callable, dim: int, bounds=None, *, name: str = "custom") -> Surface:
    """A surface from a torch function ``fn(x)`` taking a tensor of shape ``(d,)`` and returning a scalar.

    Batched by ``torch.func.vmap`` (falling back to a loop when ``fn`` cannot be vmapped); gradient and
    Hessian come from autograd. Example: ``from_function(lambda x: (x ** 2).sum(), dim=2)``
    """
    import torch

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    bounds = _check_bounds(bounds, dim)
    probe = torch.tensor([0.5 * (lo + hi) for lo, hi in bounds], dtype=torch.float64)
    try:
        out = fn(probe)
    except Exception as exc:  # the user's function failed: say so with its own error
        raise ValueError(f"fn failed on a test point {probe.tolist()}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise ValueError(f"fn must return a scalar torch tensor for x of shape ({dim},), got {out!r}")

    batched = torch.func.vmap(fn)
    try:
        batched(torch.stack([probe, probe]))
    except Exception:  # data-dependent Python control flow: evaluate point by point
        def batched(X):
            return torch.stack([fn(x).reshape(()) for x in X])

    def fb(X):
        return batched(X).reshape(X.shape[0])

    return _autograd_surface(name, dim, bounds, fb, formula=name)


_FUNCS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log", "sqrt": "sqrt", "abs": "abs",
    "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "arctan": "atan", "atan": "atan", "sigmoid": "sigmoid",
    "relu": "relu", "log1p": "log1p",
}
_FUNCS2 = {"min": "minimum", "max": "maximum"}
_CONSTS = {"pi": math.pi, "e": math.e}
_ALLOWED_TEXT = ("numbers, the variables {vars}, the constants pi and e, the operators + - * / ** (^ means **), "
                 "parentheses and the functions " + ", ".join(sorted(_FUNCS) + sorted(_FUNCS2)))


def _compile_expression(expr: str, variables: tuple[str, ...]):
    """Turn a formula into a function of torch tensors, allowing only a small set of names and operators."""
    import torch

    allowed = _ALLOWED_TEXT.format(vars=", ".join(variables))
    try:
        tree = ast.parse(expr.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ValueError(f"could not parse formula {expr!r}{col}: {exc.msg}. A formula may use {allowed}.") from None

    binops = {ast.Add: torch.add, ast.Sub: torch.sub, ast.Mult: torch.mul, ast.Div: torch.div, ast.Pow: torch.pow}

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            val = float(node.value)
            return lambda env: torch.tensor(val, dtype=torch.float64)
        if isinstance(node, ast.Name):
            if node.id in variables:
                return lambda env, n=node.id: env[n]
            if node.id in _CONSTS:
                val = _CONSTS[node.id]
                return lambda env: torch.tensor(val, dtype=torch.float64)
            raise ValueError(f"unknown name {node.id!r} in formula {expr!r}. A formula may use {allowed}.")
        if isinstance(node, ast.BinOp) and type(node.op) in binops:
            op, left, right = binops[type(node.op)], build(node.left), build(node.right)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner, sign = build(node.operand), (-1.0 if isinstance(node.op, ast.USub) else 1.0)
            return lambda env: sign * inner(env)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            fname = node.func.id
            if fname in _FUNCS and len(node.args) == 1:
                f, arg = getattr(torch, _FUNCS[fname]), build(node.args[0])
                return lambda env: f(arg(env))
            if fname in _FUNCS2 and len(node.args) == 2:
                f, a, b = getattr(torch, _FUNCS2[fname]), build(node.args[0]), build(node.args[1])
                return lambda env: f(*torch.broadcast_tensors(a(env), b(env)))
            if fname in _FUNCS or fname in _FUNCS2:
                n = 1 if fname in _FUNCS else 2
                raise ValueError(f"{fname}() takes {n} argument(s) in formula {expr!r}")
            raise ValueError(f"unknown function {fname!r} in formula {expr!r}. A formula may use {allowed}.")
        what = {ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[...]')",
                ast.Call: "this kind of call", ast.Lambda: "lambda", ast.Compare: "comparisons",
                ast.BoolOp: "'and'/'or'"}.get(type(node), type(node).__name__)
        seg = ast.get_source_segment(expr.replace("^", "**"), node) or ""
        raise ValueError(f"formula {expr!r} uses {what}{f' ({seg!r})' if seg else ''}, which is not allowed. "
                         f"A formula may use {allowed}.")

    return build(tree)


def from_expression(expr: str, bounds=None, *, dim: int | None = None, name: str | None = None) -> Surface:
    """A surface from a formula a student types, such as ``"x**2 - y**2"`` or ``"sin(x) + 0.1*x^2"``.

    The formula is parsed into torch operations from an allow-list (never ``eval``): numbers, the variables
    ``x`` (1D) or ``x, y`` (2D), ``pi``, ``e``, ``+ - * / **`` (``^`` is read as ``**``) and common
    functions. Anything else raises ``ValueError`` saying what is allowed.

    Args:
        expr: the formula.
        bounds: plotting box (default ``(-3, 3)`` per axis).
        dim: 1 or 2; by default 2 if ``y`` appears in the formula, else 1.
    Example: ``from_expression("x**2 + 3*y**2", bounds=[(-2, 2), (-2, 2)])``
    """
    import torch

    if not isinstance(expr, str):
        raise TypeError(f"expr must be a string formula, got {type(expr).__name__}")
    if not expr.strip():
        raise ValueError("expr is empty: type a formula in x (1D) or x and y (2D), such as 'x**2 - y**2'")
    if len(expr) > 500:
        raise ValueError(f"expr is too long ({len(expr)} characters; at most 500)")
    if dim is None:
        try:
            used = {n.id for n in ast.walk(ast.parse(expr.replace("^", "**"), mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError:
            used = set()
        dim = 2 if "y" in used else 1
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 or 2, got {dim!r}")
    variables = ("x",) if dim == 1 else ("x", "y")
    f = _compile_expression(expr, variables)
    bounds = _check_bounds(bounds, dim)

    def fb(X):
        env = {v: X[:, i] for i, v in enumerate(variables)}
        out = f(env)
        return out + 0.0 * X[:, 0] if out.dim() == 0 else out

    probe = torch.tensor([[0.5 * (lo + hi) for lo, hi in bounds]], dtype=torch.float64)
    fb(probe)  # surfaces any remaining error now rather than at the first plot
    return _autograd_surface(name or expr, dim, bounds, fb, formula=f"${expr}$" if len(expr) < 60 else expr)
