"""Objective surfaces for optimizers: value, gradient and Hessian, batched over start points.

Introduced in lecture 01 and used by every lecture after it. A :class:`Surface` maps ``x`` of shape ``(d,)``
or ``(B, d)`` to values ``()`` / ``(B,)``, gradients ``(d,)`` / ``(B, d)`` and Hessians ``(d, d)`` /
``(B, d, d)``, all float64. This module holds the class, the registry of named surfaces (:func:`get`,
:func:`names`; their definitions, with hand-derived gradients and Hessians, are in
:mod:`lecture_utils.named_surfaces`), quadratics in any dimension, and :func:`as_surface`, which every entry
point of the course calls on its ``surface`` argument. Surfaces from a typed formula or a torch function are
in :mod:`lecture_utils.custom_surfaces`.

Example::

    >>> from lecture_utils import surfaces
    >>> s = surfaces.get("rosenbrock")
    >>> s
    Surface('rosenbrock', dim=2, bounds=((-2.0, 2.0), (-1.0, 3.0)))
    >>> float(s.value([1.0, 1.0]))
    0.0
    >>> s.value([[1.0, 1.0], [0.0, 0.0]])         # a batch of B = 2 points gives (B,) values
    array([0., 1.])
    >>> s.grad([0.0, 0.0])
    array([-2.,  0.])
    >>> s.minima
    array([[1., 1.]])
"""
from __future__ import annotations

import importlib
import inspect
import math
from typing import Callable

import numpy as np

from . import critical_points
from ._validate import as_points, check_array, check_int, check_real
from .critical_points import CriticalPoint

__all__ = [
    "Surface", "CriticalPoint", "as_surface", "check_bounds", "get", "names", "describe", "register",
    "from_quadratic", "quadratic",
]


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
        search: False when ``known_points`` are all the critical points in the box (a quadratic, a function in
            many dimensions where a grid search is out of reach): no numerical search is made.
        search_grid: points per axis for the numerical search of critical points.
        params: the parameters the surface was built with (``get("rosenbrock", b=10).params``).

    Hot loops (``optim.run``, the second-order methods) call :meth:`value_batch` and :meth:`grad_batch`, which
    skip the shape handling of :meth:`value` and :meth:`grad`.
    Example: ``Surface("bowl", 2, [(-2, 2), (-2, 2)], lambda X: (X ** 2).sum(1), lambda X: 2 * X,
    lambda X: np.broadcast_to(2 * np.eye(2), (len(X), 2, 2)), known_points=[((0, 0), "minimum")], search=False)``
    """

    def __init__(self, name: str, dim: int, bounds, value_fn: Callable, grad_fn: Callable, hess_fn: Callable,
                 *, formula: str = "", known_points=(), search: bool = True, search_grid: int | None = None,
                 params=None):
        self.name = name
        self.dim = int(dim)
        self.bounds = tuple(check_bounds(bounds, self.dim))
        if len(self.bounds) != self.dim or any(lo >= hi for lo, hi in self.bounds):
            raise ValueError(f"bounds must hold one (low, high) pair with low < high per dimension ({dim}); "
                             f"got {bounds}")
        self._value, self._grad, self._hess = value_fn, grad_fn, hess_fn
        self.formula = formula or name
        self.params = dict(params or {})
        self._known = [(np.asarray(p, dtype=float), k) for p, k in known_points]
        self.search = bool(search)
        self.search_grid = int(search_grid or (2001 if self.dim == 1 else 61))
        self._critical = None

    def __repr__(self):
        return f"Surface({self.name!r}, dim={self.dim}, bounds={self.bounds})"

    def with_bounds(self, bounds) -> "Surface":
        """The same function with another plotting box (the registered one may miss what a lesson needs).

        Known critical points are kept; those found numerically are searched again inside the new box.
        Example: ``get("x_plus_sin").with_bounds([(-4.5, 3.5)])`` shows the flat point at ``-pi``.
        """
        return Surface(self.name, self.dim, check_bounds(bounds, self.dim), self._value, self._grad, self._hess,
                       formula=self.formula, known_points=self._known, search=self.search,
                       search_grid=self.search_grid, params=self.params)

    def negated(self) -> "Surface":
        """``-f``: maximizing ``f`` is minimizing ``-f`` (lecture 01). Maxima of ``f`` become minima."""
        flip = {"minimum": "maximum", "maximum": "minimum"}
        value, grad, hess = self._value, self._grad, self._hess
        return Surface(f"-{self.name}", self.dim, self.bounds, lambda X: -value(X), lambda X: -grad(X),
                       lambda X: -hess(X), formula=f"$-$({self.formula})",
                       known_points=[(p, flip.get(k, k)) for p, k in self._known], search=self.search,
                       search_grid=self.search_grid, params=self.params)

    def observed(self, on_value: Callable) -> "Surface":
        """The same surface, calling ``on_value(X)`` with every ``(B, d)`` batch of points where ``f`` is evaluated
        (to count or record evaluations from outside the code under test). Example:
        ``seen = []; s2 = s.observed(seen.append)``"""
        value = self._value

        def observed_value(X):
            on_value(X)
            return value(X)

        return Surface(self.name, self.dim, self.bounds, observed_value, self._grad, self._hess,
                       formula=self.formula, known_points=self._known, search=self.search,
                       search_grid=self.search_grid, params=self.params)

    @property
    def known_points(self) -> list[tuple[np.ndarray, str]]:
        """The critical points given in closed form, ``[(point (d,), kind), ...]`` (copies)."""
        return [(p.copy(), k) for p, k in self._known]

    # ---- batched entry points for hot loops ------------------------------------------------------------
    def value_batch(self, X: np.ndarray) -> np.ndarray:
        """``f`` at ``B`` points: ``X`` a float ``(B, d)`` array (not checked), returns ``(B,)``.

        No shape handling and no ``np.errstate``: the caller decides what overflow means. Example:
        ``s.value_batch(np.zeros((4, s.dim)))``
        """
        return np.asarray(self._value(X), dtype=float).reshape(X.shape[0])

    def grad_batch(self, X: np.ndarray) -> np.ndarray:
        """Gradients at ``B`` points: ``(B, d)`` in, ``(B, d)`` out (see :meth:`value_batch`)."""
        return np.asarray(self._grad(X), dtype=float).reshape(X.shape[0], self.dim)

    def hessian_batch(self, X: np.ndarray) -> np.ndarray:
        """Hessians at ``B`` points: ``(B, d)`` in, ``(B, d, d)`` out (see :meth:`value_batch`)."""
        return np.asarray(self._hess(X), dtype=float).reshape(X.shape[0], self.dim, self.dim)

    def start_points(self, x0, name: str = "x0") -> np.ndarray:
        """``x0`` as a ``(B, d)`` float array of finite start points (a ``(d,)`` point becomes ``B = 1``).

        Raises ``TypeError`` for non-numbers (complex ones included, which would lose their imaginary part)
        and ``ValueError`` for a wrong shape or a non-finite entry; messages name ``name``.
        Example: ``get("rosenbrock").start_points([-1.2, 1.0]).shape  # (1, 2)``
        """
        return as_points(x0, self.dim, name, what=f"surface {self.name!r} of dimension {self.dim}")

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
        n = check_int("n", n, low=2, high=20_000 if self.dim == 1 else 4_000)  # 4000 x 4000 is 16 million points
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
            self._critical = critical_points.find_critical_points(self)
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
        return critical_points.classify_hessian(self.hessian(np.asarray(point, dtype=float).reshape(self.dim)), tol)

    def newton_polish(self, X, num_steps: int = 5, *, max_step=None, box=None) -> np.ndarray:
        """Newton steps from each row of ``X`` ``(B, d)`` towards the nearest critical point of any kind: see
        :func:`lecture_utils.critical_points.newton_polish`. Example: ``get("himmelblau").newton_polish([[3.1, 1.9]])``
        """
        return critical_points.newton_polish(self, X, num_steps, max_step=max_step, box=box)


# ---------------------------------------------------------------------------------------------------------
# The registry of named surfaces.
# ---------------------------------------------------------------------------------------------------------
_REGISTRY: dict[str, tuple[Callable[..., Surface], str]] = {}
_DIMS: dict[str, int] = {}


def register(name: str, summary: str):
    """Decorator: register ``factory(**params) -> Surface`` under ``name`` with a one-line ``summary``."""
    def deco(factory):
        _REGISTRY[name] = (factory, summary)
        return factory
    return deco


def _registry() -> dict:
    # The named surfaces register themselves when their module is first imported.
    importlib.import_module(".named_surfaces", __package__)
    return _REGISTRY


def names(dim: int | None = None) -> list[str]:
    """Names of all registered surfaces (of dimension ``dim`` if given), sorted. Example: ``names(dim=1)``"""
    reg = _registry()
    if dim is None:
        return sorted(reg)
    for n in reg:
        if n not in _DIMS:
            _DIMS[n] = reg[n][0]().dim
    return sorted(n for n in reg if _DIMS[n] == dim)


def describe() -> dict[str, str]:
    """One-line summary of each registered surface, by name."""
    reg = _registry()
    return {n: reg[n][1] for n in sorted(reg)}


def get(name: str, **params) -> Surface:
    """The registered surface ``name``, built with optional parameters (``get("quadratic", kappa=100)``).

    Raises ``ValueError`` naming the valid names for an unknown one.
    """
    reg = _registry()
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(sorted(reg))}; got {type(name).__name__}")
    if name not in reg:
        raise ValueError(f"unknown surface {name!r}; valid names: {', '.join(sorted(reg))}")
    factory = reg[name][0]
    try:
        return factory(**params)
    except TypeError as exc:
        allowed = list(inspect.signature(factory).parameters)
        raise TypeError(f"surface {name!r} takes parameters {allowed or 'none'}; got {sorted(params)}") from exc


def as_surface(surface, *, dim: int | None = None, name: str = "surface") -> Surface:
    """``surface`` as a :class:`Surface`: a Surface is returned as is, a string is looked up with :func:`get`.

    Args:
        surface: a Surface or a registered name.
        dim: the dimension the caller needs (None: any).
        name: the argument's name in error messages.
    Raises ``TypeError`` for anything else and ``ValueError`` for an unknown name or a wrong dimension, each
    naming the argument and what is allowed. Example: ``as_surface("himmelblau", dim=2)``
    """
    if isinstance(surface, str):
        allowed = names(dim)
        if surface not in allowed:
            what = f"a {dim}D surface name" if dim else "a surface name"
            raise ValueError(f"{name} must be {what}, one of {', '.join(allowed)}, or a Surface; got {surface!r}")
        return get(surface)
    if not isinstance(surface, Surface):
        raise TypeError(f"{name} must be a lecture_utils.surfaces.Surface or a surface name, "
                        f"got {type(surface).__name__}")
    if dim is not None and surface.dim != dim:
        raise ValueError(f"{name} must be a {dim}D surface, got {surface.name!r} of dimension {surface.dim}")
    return surface


def check_bounds(bounds, dim: int, name: str = "bounds"):
    """``bounds`` as ``dim`` finite ``(low, high)`` float pairs with ``low < high`` (default ``(-3, 3)`` each)."""
    if bounds is None:
        return [(-3.0, 3.0)] * dim
    try:
        pairs = [(float(lo), float(hi)) for lo, hi in bounds]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of {dim} (low, high) pairs, got {bounds!r}") from exc
    if len(pairs) != dim or any(not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) for lo, hi in pairs):
        raise ValueError(f"{name} must be {dim} finite (low, high) pair(s) with low < high, got {bounds!r}")
    return pairs


def from_quadratic(A, b=None, c: float = 0.0, *, bounds=None, name: str = "quadratic") -> Surface:
    """The quadratic ``f(x) = 1/2 x^T A x - b^T x + c`` in any dimension (lectures 03, 05, 06).

    Args:
        A: symmetric ``(d, d)`` matrix.
        b: ``(d,)`` vector (default zeros); the minimizer solves ``A x = b`` when ``A`` is positive definite.
        bounds: plotting box (default ``(-3, 3)`` per axis).
    Example: ``from_quadratic(np.diag([1.0, 10.0]))``
    """
    A = check_array("A", A)
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
    return Surface(name, d, bounds,
                   lambda X: 0.5 * np.einsum("bi,ij,bj->b", X, A, X) - X @ b + c,
                   lambda X: X @ A - b,  # A is symmetric
                   lambda X: np.broadcast_to(A, (X.shape[0], d, d)).copy(),
                   formula=r"$\frac{1}{2}x^\top A x - b^\top x$", known_points=known, search=False,
                   params={"A": A, "b": b, "c": c})


@register("quadratic", "1/2 x^T A x with eigenvalues 1 and kappa, rotated by angle (params: kappa, angle)")
def quadratic(kappa: float = 10.0, angle: float = 0.0) -> Surface:
    """A 2D quadratic bowl with Hessian eigenvalues ``1`` and ``kappa``, its axes rotated by ``angle`` radians.

    The condition number is ``kappa``; gradient descent converges iff ``0 < lr < 2 / kappa``.
    Example: ``quadratic(kappa=50, angle=np.pi / 6)``
    """
    kappa = check_real("kappa", kappa, low=1.0, high=1e12)
    angle = check_real("angle", angle)
    R = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    A = R @ np.diag([1.0, kappa]) @ R.T
    A = 0.5 * (A + A.T)
    s = from_quadratic(A, bounds=[(-3.0, 3.0), (-3.0, 3.0)], name="quadratic")
    s.formula = rf"$\frac{{1}}{{2}}x^\top A x,\ \kappa={kappa:g}$"
    s.params.update(kappa=kappa, angle=angle)
    return s
