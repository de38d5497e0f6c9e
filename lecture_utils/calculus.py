"""Derivatives by hand, by finite differences and by the chain rule: the helpers of lectures 01 and 02.

Lecture 01: secant slopes and finite differences (forward and central, their error against the step ``h``),
surrogate losses against the margin, grid search, a chord test for convexity, activation derivatives written
through the activation itself, one-variable gradient ascent.
Lecture 02: numerical gradients (with a count of function calls), directional derivatives, level-set
tangents, and the 3-input / 2-hidden (ReLU) / 2-output net without biases, with its forward and backward pass
on an explicit computational graph and its loss derivative with respect to ``w_111`` written by hand.

Everything is numpy float64 unless it says torch. Example::

    from lecture_utils import calculus
    f = lambda x: 25 * np.sin(x) - x ** 2
    calculus.central_difference(f, -2.0, 1e-4)      # ~ 25 cos(-2) + 4 = -6.4037
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import autodiff
from ._validate import check_array, check_choice, check_int, check_real

__all__ = [
    "secant_slope", "forward_difference", "central_difference", "finite_difference_errors", "loglog_slope",
    "best_step", "CountingFunction", "numerical_gradient",
    "zero_one_loss", "hinge_loss", "logistic_loss", "squared_loss", "surrogate_losses",
    "grid_size", "GridSearchResult", "grid_search", "chord_gap", "max_chord_gap",
    "sigmoid", "tanh", "relu", "activation", "activation_derivative", "ACTIVATIONS",
    "gradient_ascent",
    "unit_vector", "directional_derivative", "directional_derivative_fd", "directional_derivatives",
    "level_set_tangent",
    "one_hot_targets", "tiny_net_init", "tiny_net_forward", "tiny_net_backward", "dL_dw111_by_hand",
    "tiny_net_loss_torch", "tiny_net_values", "WEIGHT_NAMES",
    "chain_function", "compare_gradient_costs",
]

_EPS = float(np.finfo(float).eps)


def _check_fn(name, fn):
    if not callable(fn):
        raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    return fn


def _check_positive_steps(h):
    h = check_array("h", h)
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ValueError(f"h must be positive and finite, got {h}")
    return h


def _scalar_or_array(a):
    return float(a) if np.ndim(a) == 0 else a


# ---------------------------------------------------------------------------------------------------------
# Lecture 01: secants and finite differences
# ---------------------------------------------------------------------------------------------------------
def secant_slope(f: Callable, x, y):
    """Slope of the secant through ``(x, f(x))`` and ``(y, f(y))``: ``(f(y) - f(x)) / (y - x)`` (lecture 01).

    Args:
        f: function of one variable, numpy-vectorized if ``x``/``y`` are arrays.
        x, y: points (scalars or broadcastable arrays) with ``x != y``.
    Returns:
        the slope, a float or an array. Example: ``secant_slope(np.square, 1.0, 3.0)  # 4.0``
    """
    _check_fn("f", f)
    x, y = check_array("x", x), check_array("y", y)
    if np.any(x == y):
        raise ValueError("x and y must differ: a secant needs two distinct points")
    return _scalar_or_array((np.asarray(f(y), dtype=float) - np.asarray(f(x), dtype=float)) / (y - x))


def forward_difference(f: Callable, x, h):
    """Forward difference ``(f(x + h) - f(x)) / h``: the secant slope over ``[x, x + h]``; error ``O(h)``.

    Args:
        f: function of one variable (numpy-vectorized when ``x`` or ``h`` is an array).
        x: point(s); h: positive step(s), broadcast against ``x``.
    Returns:
        float or array. Example: ``forward_difference(np.sin, 0.0, 1e-6)  # ~ 1.0``
    """
    _check_fn("f", f)
    x, h = check_array("x", x), _check_positive_steps(h)
    with np.errstate(all="ignore"):
        return _scalar_or_array((np.asarray(f(x + h), dtype=float) - np.asarray(f(x), dtype=float)) / h)


def central_difference(f: Callable, x, h):
    """Central difference ``(f(x + h) - f(x - h)) / (2h)``; its error is ``O(h^2)`` (lecture 01).

    Args:
        f: function of one variable (numpy-vectorized when ``x`` or ``h`` is an array).
        x: point(s); h: positive step(s), broadcast against ``x``.
    Returns:
        float or array. Example: ``central_difference(np.sin, 0.0, 1e-4)  # ~ 1.0``
    """
    _check_fn("f", f)
    x, h = check_array("x", x), _check_positive_steps(h)
    with np.errstate(all="ignore"):
        return _scalar_or_array((np.asarray(f(x + h), dtype=float) - np.asarray(f(x - h), dtype=float)) / (2 * h))


def finite_difference_errors(f: Callable, df: Callable, x: float, hs, kind: str = "central") -> np.ndarray:
    """Absolute error ``|D_h f(x) - f'(x)|`` of a finite difference for each step in ``hs`` (lecture 01).

    Args:
        f: function of one variable (numpy-vectorized); df: its exact derivative.
        x: the point; hs: steps, shape ``(k,)``; kind: ``"forward"`` or ``"central"``.
    Returns:
        errors, shape ``(k,)``. Example: ``finite_difference_errors(np.sin, np.cos, 1.0, [1e-2, 1e-3])``
    """
    check_choice("kind", kind, ("forward", "central"))
    x = check_real("x", x)
    hs = _check_positive_steps(np.atleast_1d(hs))
    approx = (forward_difference if kind == "forward" else central_difference)(f, x, hs)
    return np.abs(np.asarray(approx, dtype=float) - float(_check_fn("df", df)(x)))


def loglog_slope(hs, errors) -> float:
    """Least-squares slope of ``log(errors)`` against ``log(hs)``: the order ``p`` in ``error ~ C h^p``.

    Args:
        hs, errors: positive arrays of the same shape ``(k,)``, ``k >= 2``.
    Returns:
        the fitted slope. Example: ``loglog_slope([1e-1, 1e-2], [1e-2, 1e-4])  # 2.0``
    """
    hs, errors = check_array("hs", hs, ndim=1), check_array("errors", errors, ndim=1)
    if hs.shape != errors.shape or hs.size < 2:
        raise ValueError(f"hs and errors need the same shape with at least 2 entries, got {hs.shape}, {errors.shape}")
    if np.any(hs <= 0) or np.any(errors <= 0):
        raise ValueError("hs and errors must be positive to take logarithms (an error of exactly 0 cannot be fitted)")
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


def best_step(kind: str = "central", scale: float = 1.0) -> float:
    """The step that balances truncation and round-off error: ``~eps^(1/2)`` forward, ``~eps^(1/3)`` central.

    Args:
        kind: ``"forward"`` or ``"central"``; scale: the size of ``x`` (the step grows with it).
    Returns:
        the rule-of-thumb step. Example: ``best_step("central")  # ~ 6e-6``
    """
    check_choice("kind", kind, ("forward", "central"))
    scale = check_real("scale", scale, low=0.0, low_open=True)
    return scale * (_EPS ** 0.5 if kind == "forward" else _EPS ** (1.0 / 3.0))


class CountingFunction:
    """Wrap a function and count its calls: the cost measure of lecture 02 (forward passes).

    Example: ``g = CountingFunction(np.sum); g([1, 2]); g.calls  # 1``
    """

    def __init__(self, fn: Callable):
        self.fn = _check_fn("fn", fn)
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)

    def reset(self) -> None:
        """Set the call count back to zero."""
        self.calls = 0


def numerical_gradient(f: Callable, x, h: float = 1e-5, kind: str = "central") -> np.ndarray:
    """Gradient of ``f: R^n -> R`` by finite differences, one coordinate at a time (lecture 02).

    The central version calls ``f`` exactly ``2n`` times, the forward version ``n + 1`` times.

    Args:
        f: takes an ``(n,)`` array (or a list of floats) and returns a number.
        x: the point, shape ``(n,)``; h: step; kind: ``"central"`` or ``"forward"``.
    Returns:
        ``(n,)`` array. Example: ``numerical_gradient(lambda v: v[0] * v[1], [2.0, 3.0])  # [3, 2]``
    """
    _check_fn("f", f)
    x = check_array("x", x, ndim=1)
    h = check_real("h", h, low=0.0, low_open=True)
    check_choice("kind", kind, ("forward", "central"))
    grad = np.empty_like(x)
    f0 = float(f(x.copy())) if kind == "forward" else None
    for i in range(x.size):
        xp = x.copy()
        xp[i] += h
        if kind == "forward":
            grad[i] = (float(f(xp)) - f0) / h
        else:
            xm = x.copy()
            xm[i] -= h
            grad[i] = (float(f(xp)) - float(f(xm))) / (2 * h)
    return grad


# ---------------------------------------------------------------------------------------------------------
# Lecture 01: surrogate losses against the margin m = y f(x), labels y in {-1, +1}
# ---------------------------------------------------------------------------------------------------------
def zero_one_loss(margin):
    """0-1 loss: 1 when the margin ``y f(x)`` is <= 0 (wrong side or on the boundary), else 0.

    Example: ``zero_one_loss([-1.0, 0.0, 2.0])  # [1, 1, 0]``
    """
    m = check_array("margin", margin)
    return _scalar_or_array((m <= 0).astype(float))


def hinge_loss(margin):
    """Hinge loss ``max(0, 1 - m)``: a convex upper bound on the 0-1 loss. Example: ``hinge_loss(0.5)  # 0.5``"""
    m = check_array("margin", margin)
    return _scalar_or_array(np.maximum(0.0, 1.0 - m))


def logistic_loss(margin):
    """Logistic loss in bits, ``log2(1 + e^{-m})``: smooth, convex, equal to 1 at ``m = 0``, above the 0-1 loss.

    Computed with ``logaddexp`` so that large negative margins do not overflow.
    Example: ``logistic_loss(0.0)  # 1.0``
    """
    m = check_array("margin", margin)
    return _scalar_or_array(np.logaddexp(0.0, -m) / math.log(2.0))


def squared_loss(margin):
    """Squared loss on labels ``+-1`` written in the margin: ``(y - f)^2 = (1 - m)^2`` since ``y^2 = 1``.

    Example: ``squared_loss(3.0)  # 4.0`` (it also punishes being *too* right)
    """
    m = check_array("margin", margin)
    return _scalar_or_array((1.0 - m) ** 2)


def surrogate_losses(margin) -> dict:
    """The four losses of lecture 01 on the same margins.

    Returns ``{"0-1": ..., "hinge": ..., "logistic": ..., "squared": ...}``, each shaped like ``margin``.
    Example: ``surrogate_losses(np.linspace(-2, 2, 5))["hinge"]``
    """
    return {"0-1": zero_one_loss(margin), "hinge": hinge_loss(margin),
            "logistic": logistic_loss(margin), "squared": squared_loss(margin)}


# ---------------------------------------------------------------------------------------------------------
# Lecture 01: grid search and convexity
# ---------------------------------------------------------------------------------------------------------
def grid_size(points_per_axis: int, dim: int) -> int:
    """Number of evaluations a full grid needs: ``k ** d`` (an exact Python integer, however large).

    Example: ``grid_size(100, 10)  # 10**20``
    """
    k = check_int("points_per_axis", points_per_axis, low=1)
    d = check_int("dim", dim, low=1)
    return k ** d


@dataclass(frozen=True)
class GridSearchResult:
    """Best grid point ``x`` (shape ``(d,)``), its value ``fx`` and the number of evaluations ``num_evals``."""

    x: np.ndarray
    fx: float
    num_evals: int


def grid_search(f: Callable, bounds, points_per_axis: int, *, maximize: bool = False) -> GridSearchResult:
    """Evaluate ``f`` on a regular grid over the box ``bounds`` and keep the best point (lecture 01).

    Args:
        f: batched function ``(B, d) -> (B,)`` (a surface's ``value`` works).
        bounds: ``[(low, high)] * d``; points_per_axis: ``k`` points per axis, ``k ** d`` in all.
        maximize: keep the largest value instead of the smallest.
    Returns:
        :class:`GridSearchResult`. Example: ``grid_search(s.value, s.bounds, 1001, maximize=True)``
    """
    _check_fn("f", f)
    k = check_int("points_per_axis", points_per_axis, low=1)
    bounds = [(check_real("low", lo), check_real("high", hi)) for lo, hi in bounds]
    d = len(bounds)
    if d == 0 or any(lo >= hi for lo, hi in bounds):
        raise ValueError(f"bounds must hold (low, high) pairs with low < high, got {bounds}")
    if k ** d > 5_000_000:
        raise ValueError(f"a grid of {k}^{d} = {k ** d:,} points is too large to evaluate here; "
                         f"that is the point of the lecture (use grid_size to count it)")
    axes = [np.linspace(lo, hi, k) for lo, hi in bounds]
    X = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    values = np.asarray(f(X), dtype=float).reshape(-1)
    values = np.where(np.isfinite(values), values, -np.inf if maximize else np.inf)
    i = int(np.argmax(values) if maximize else np.argmin(values))
    return GridSearchResult(X[i].copy(), float(values[i]), int(X.shape[0]))


def chord_gap(f: Callable, a, b, t):
    """``f(t a + (1 - t) b) - (t f(a) + (1 - t) f(b))``: positive means the graph rises above the chord.

    A function is convex exactly when this is ``<= 0`` for all ``a, b`` and ``t`` in ``[0, 1]`` (lecture 01).
    Example: ``chord_gap(np.square, -1.0, 1.0, 0.5)  # -1.0``
    """
    _check_fn("f", f)
    a, b, t = check_array("a", a), check_array("b", b), check_array("t", t)
    if np.any((t < 0) | (t > 1)):
        raise ValueError("t must lie in [0, 1]")
    val = lambda z: np.asarray(f(z), dtype=float)  # noqa: E731
    return _scalar_or_array(val(t * a + (1 - t) * b) - (t * val(a) + (1 - t) * val(b)))


def max_chord_gap(f: Callable, low: float, high: float, num_pairs: int = 20000, seed: int = 0):
    """Search random chords in ``[low, high]`` for the largest :func:`chord_gap` (a convexity counterexample).

    Args:
        f: vectorized function of one variable; low, high: the interval; num_pairs: chords tried.
    Returns:
        ``(gap, a, b, t)`` for the worst chord found; ``gap > 0`` proves ``f`` is not convex there.
    Example: ``max_chord_gap(np.sin, 0, 6)[0] > 0  # True``
    """
    low, high = check_real("low", low), check_real("high", high)
    if low >= high:
        raise ValueError(f"low must be < high, got {low}, {high}")
    n = check_int("num_pairs", num_pairs, low=1)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    a, b, t = rng.uniform(low, high, n), rng.uniform(low, high, n), rng.uniform(0, 1, n)
    gaps = np.asarray(chord_gap(f, a, b, t), dtype=float).reshape(-1)
    i = int(np.argmax(gaps))
    return float(gaps[i]), float(a[i]), float(b[i]), float(t[i])


# ---------------------------------------------------------------------------------------------------------
# Lecture 01: activations and their derivatives written through the function itself
# ---------------------------------------------------------------------------------------------------------
def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + e^{-x})``, without overflow for large ``|x|``."""
    x = check_array("x", x)
    return _scalar_or_array(np.exp(-np.logaddexp(0.0, -x)))


def tanh(x):
    """Hyperbolic tangent."""
    return _scalar_or_array(np.tanh(check_array("x", x)))


def relu(x):
    """``max(x, 0)``."""
    return _scalar_or_array(np.maximum(check_array("x", x), 0.0))


ACTIVATIONS = ("sigmoid", "tanh", "relu")


def activation(name: str, x):
    """The activation ``name`` (one of :data:`ACTIVATIONS`) at ``x``."""
    check_choice("name", name, ACTIVATIONS)
    return {"sigmoid": sigmoid, "tanh": tanh, "relu": relu}[name](x)


def activation_derivative(name: str, x):
    """Derivative of an activation computed from its own output (lecture 01).

    ``sigmoid' = s (1 - s)``, ``tanh' = 1 - t^2``, ``relu' = step(x)`` (1 if ``x > 0`` else 0, as torch uses at 0).
    Example: ``activation_derivative("sigmoid", 0.0)  # 0.25``
    """
    check_choice("name", name, ACTIVATIONS)
    y = np.asarray(activation(name, x), dtype=float)
    if name == "sigmoid":
        return _scalar_or_array(y * (1.0 - y))
    if name == "tanh":
        return _scalar_or_array(1.0 - y ** 2)
    return _scalar_or_array((y > 0).astype(float))  # relu(x) > 0 exactly when x > 0


# ---------------------------------------------------------------------------------------------------------
# Lecture 01: gradient ascent in one variable
# ---------------------------------------------------------------------------------------------------------
def gradient_ascent(df: Callable, x0: float, lr: float, num_steps: int) -> np.ndarray:
    """Iterate ``x <- x + lr f'(x)`` (uphill: a plus sign) and return every iterate (lecture 01).

    Args:
        df: derivative ``f'``; x0: start; lr: learning rate > 0; num_steps: number of steps.
    Returns:
        ``(num_steps + 1,)`` array ``[x0, x1, ...]``; once an iterate stops being finite the rest are NaN.
    Example: ``gradient_ascent(lambda x: 25 * np.cos(x) - 2 * x, -2.0, 0.01, 200)[-1]  # ~ -4.36``
    """
    _check_fn("df", df)
    x = check_real("x0", x0)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    n = check_int("num_steps", num_steps, low=0)
    xs = np.full(n + 1, np.nan)
    xs[0] = x
    with np.errstate(all="ignore"):
        for t in range(n):
            x = x + lr * float(df(x))
            if not math.isfinite(x):
                break
            xs[t + 1] = x
    return xs


# ---------------------------------------------------------------------------------------------------------
# Lecture 02: directional derivatives and level sets
# ---------------------------------------------------------------------------------------------------------
def unit_vector(angle):
    """``(cos angle, sin angle)``: shape ``(2,)`` for one angle (radians), ``(k, 2)`` for ``k`` angles."""
    a = check_array("angle", angle)
    return np.stack([np.cos(a), np.sin(a)], axis=-1)


def directional_derivative(grad, e):
    """``D_e f = e . grad f`` for the unit vector along ``e`` (``e`` is normalized first) (lecture 02).

    Args:
        grad: gradient at the point, shape ``(d,)``; e: direction, shape ``(d,)`` or ``(k, d)``, nonzero.
    Returns:
        float, or ``(k,)`` array. Example: ``directional_derivative([3.0, 4.0], [1.0, 0.0])  # 3.0``
    """
    g = check_array("grad", grad, ndim=1)
    e = check_array("e", e, ndim=(1, 2))
    if e.shape[-1] != g.shape[0]:
        raise ValueError(f"e must have {g.shape[0]} components like grad, got shape {e.shape}")
    norms = np.linalg.norm(e, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("e must be a nonzero direction")
    return _scalar_or_array((e / norms) @ g)


def directional_derivative_fd(f: Callable, x, e, h: float = 1e-5) -> float:
    """``d/dt f(x + t e)`` at ``t = 0`` by a central difference, from the definition (``e`` normalized).

    Example: ``directional_derivative_fd(s.value, [0.0, 0.0], [1.0, 1.0])``
    """
    _check_fn("f", f)
    x = check_array("x", x, ndim=1)
    e = check_array("e", e, ndim=1)
    if e.shape != x.shape or not np.linalg.norm(e) > 0:
        raise ValueError(f"e must be a nonzero vector shaped like x {x.shape}, got {e.shape}")
    e = e / np.linalg.norm(e)
    h = check_real("h", h, low=0.0, low_open=True)
    return float((float(f(x + h * e)) - float(f(x - h * e))) / (2 * h))


def directional_derivatives(grad, angles) -> np.ndarray:
    """``D_e f`` for the 2D unit directions at ``angles`` (radians): equals ``|grad| cos(angle - angle_of_grad)``.

    Example: ``directional_derivatives([1.0, 0.0], np.linspace(0, 2 * np.pi, 5))``
    """
    g = check_array("grad", grad, ndim=1)
    if g.shape != (2,):
        raise ValueError(f"grad must have shape (2,), got {g.shape}")
    return unit_vector(angles).reshape(-1, 2) @ g


def level_set_tangent(f: Callable, x, radius: float = 1e-3, num_angles: int = 360) -> np.ndarray:
    """Unit tangent of the level set ``{f = f(x)}`` at ``x``, found WITHOUT the gradient (lecture 02).

    It walks a small circle around ``x``, finds the two places where ``f`` crosses the level ``f(x)`` (sign
    changes, refined by bisection) and returns the direction of the chord between them.

    Args:
        f: function of a ``(2,)`` point (or batched ``(B, 2) -> (B,)``); x: point ``(2,)``;
        radius: circle radius; num_angles: samples on the circle.
    Returns:
        ``(2,)`` unit vector. Raises ``ValueError`` if the level set does not cross the circle exactly twice
        (for example at a critical point).
    Example: ``level_set_tangent(lambda p: p[..., 0] ** 2 + p[..., 1] ** 2, [1.0, 0.0])  # ~ [0, +-1]``
    """
    _check_fn("f", f)
    x = check_array("x", x, ndim=1)
    if x.shape != (2,):
        raise ValueError(f"x must have shape (2,), got {x.shape}")
    r = check_real("radius", radius, low=0.0, low_open=True)
    n = check_int("num_angles", num_angles, low=16)
    level = float(f(x))

    def g(angles):
        pts = x + r * unit_vector(np.atleast_1d(angles))
        return np.asarray(f(pts), dtype=float).reshape(-1) - level

    th = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    vals = g(th)
    nxt = np.roll(vals, -1)
    idx = np.nonzero(np.sign(vals) != np.sign(nxt))[0]
    if idx.size != 2:
        raise ValueError(f"the level set crosses the circle of radius {r} around {x} {idx.size} times, not twice "
                         "(a critical point, or a radius too large for the curvature)")
    # Bisection on both brackets at once (one batched call of f per halving); 48 halvings of a bracket of
    # 2 pi / num_angles leave an angle error far below 1e-12.
    lo = th[idx]
    hi = lo + 2 * np.pi / n
    glo = vals[idx]
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        gm = g(mid)
        same = np.sign(gm) == np.sign(glo)
        lo, glo, hi = np.where(same, mid, lo), np.where(same, gm, glo), np.where(same, hi, mid)
    crossings = x + r * unit_vector(0.5 * (lo + hi))
    chord = crossings[1] - crossings[0]
    return chord / np.linalg.norm(chord)


# ---------------------------------------------------------------------------------------------------------
# Lecture 02: the 3-input, 2-hidden (ReLU), 2-output net without biases, least squares on one-hot targets
# ---------------------------------------------------------------------------------------------------------
#: The ten weights in the lecture's order: w_1jk (hidden unit j, input k), then w_2jk (output j, hidden k).
WEIGHT_NAMES = ("w111", "w112", "w113", "w121", "w122", "w123", "w211", "w212", "w221", "w222")


def _check_net(W1, W2):
    W1 = check_array("W1", W1, ndim=2)
    W2 = check_array("W2", W2, ndim=2)
    if W1.shape != (2, 3) or W2.shape != (2, 2):
        raise ValueError(f"W1 must have shape (2, 3) and W2 shape (2, 2), got {W1.shape} and {W2.shape}")
    return W1, W2


def _check_batch(X, Y):
    X = check_array("X", X, ndim=(1, 2))
    Y = check_array("Y", Y, ndim=(1, 2))
    X = X[None, :] if X.ndim == 1 else X
    Y = Y[None, :] if Y.ndim == 1 else Y
    if X.shape[1] != 3 or Y.shape != (X.shape[0], 2):
        raise ValueError(f"X must have shape (N, 3) and Y shape (N, 2), got {X.shape} and {Y.shape}")
    return X, Y


def one_hot_targets(y) -> np.ndarray:
    """Targets ``[y, 1 - y]`` for labels ``y`` in ``{0, 1}``: output 1 should say "y = 1", output 2 "y = 0".

    Example: ``one_hot_targets([1, 0])  # [[1, 0], [0, 1]]``
    """
    y = check_array("y", y, ndim=(0, 1))
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold labels 0 or 1, got {y}")
    return np.stack([y, 1.0 - y], axis=-1)


def tiny_net_init(seed: int = 0):
    """Random weights ``(W1 (2, 3), W2 (2, 2))`` from a standard normal, seeded (lecture 02).

    Example: ``W1, W2 = tiny_net_init(0)``
    """
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    return rng.standard_normal((2, 3)), rng.standard_normal((2, 2))


def tiny_net_forward(W1, W2, X, Y) -> dict:
    """Forward pass, keeping every node of the computational graph (lecture 02).

    ``a = X W1^T`` (pre-activations), ``h = relu(a)``, ``y_hat = h W2^T``, ``r = y_hat - Y``,
    ``loss = (1/N) sum_i |r_i|^2``.

    Args:
        W1: ``(2, 3)``; W2: ``(2, 2)``; X: ``(N, 3)`` or ``(3,)``; Y: one-hot targets ``(N, 2)`` or ``(2,)``.
    Returns:
        dict with ``x (N, 3)``, ``a (N, 2)``, ``h (N, 2)``, ``y_hat (N, 2)``, ``r (N, 2)``, ``loss`` (float).
    Example: ``tiny_net_forward(W1, W2, [1.0, 2.0, -1.0], [1.0, 0.0])["loss"]``
    """
    W1, W2 = _check_net(W1, W2)
    X, Y = _check_batch(X, Y)
    a = X @ W1.T
    h = np.maximum(a, 0.0)
    y_hat = h @ W2.T
    r = y_hat - Y
    return {"x": X, "a": a, "h": h, "y_hat": y_hat, "r": r, "loss": float(np.sum(r ** 2) / X.shape[0])}


def tiny_net_backward(W1, W2, cache: dict) -> dict:
    """Backward pass through the graph of :func:`tiny_net_forward`, node by node in reverse order.

    Each adjoint ``d_node = dloss/dnode`` is the next node's adjoint times a local derivative:
    ``d_r = 2 r / N``, ``d_y_hat = d_r``, ``dW2 = d_y_hat^T h``, ``d_h = d_y_hat W2``, ``d_a = d_h * step(a)``,
    ``dW1 = d_a^T x``.

    Returns:
        dict with ``r, y_hat, h, a`` (adjoints, each ``(N, 2)``), ``W1`` ``(2, 3)`` and ``W2`` ``(2, 2)``.
    Example: ``tiny_net_backward(W1, W2, tiny_net_forward(W1, W2, X, Y))["W1"][0, 0]  # dloss/dw111``
    """
    W1, W2 = _check_net(W1, W2)
    missing = {"x", "a", "h", "r"} - set(cache)
    if missing:
        raise ValueError(f"cache must come from tiny_net_forward; missing {sorted(missing)}")
    N = cache["x"].shape[0]
    d_r = 2.0 * cache["r"] / N
    d_y_hat = d_r                              # r = y_hat - Y
    dW2 = d_y_hat.T @ cache["h"]               # y_hat = h W2^T
    d_h = d_y_hat @ W2
    d_a = d_h * (cache["a"] > 0)               # h = relu(a): the step function gates the gradient
    dW1 = d_a.T @ cache["x"]                   # a = x W1^T
    return {"r": d_r, "y_hat": d_y_hat, "h": d_h, "a": d_a, "W1": dW1, "W2": dW2}


def dL_dw111_by_hand(W1, W2, X, y) -> float:
    """``dloss/dw_111`` written out with the chain rule, as in the lecture (labels ``y`` in ``{0, 1}``).

    ``(1/N) sum_i [-2 (y_i - F_1) w_211 - 2 ((1 - y_i) - F_2) w_221] x_i1 step(w_111 x_i1 + w_112 x_i2 + w_113 x_i3)``

    Args:
        W1: ``(2, 3)``; W2: ``(2, 2)``; X: ``(N, 3)`` or ``(3,)``; y: labels ``(N,)`` or a scalar.
    Returns:
        float. Example: ``dL_dw111_by_hand(W1, W2, [1.0, 2.0, -1.0], 1)``
    """
    W1, W2 = _check_net(W1, W2)
    X = check_array("X", X, ndim=(1, 2))
    X = X[None, :] if X.ndim == 1 else X
    y = np.atleast_1d(check_array("y", y, ndim=(0, 1)))
    if X.shape[1] != 3 or y.shape != (X.shape[0],):
        raise ValueError(f"X must have shape (N, 3) and y shape (N,), got {X.shape} and {y.shape}")
    a1 = X @ W1[0]
    n1 = np.maximum(a1, 0.0)
    n2 = np.maximum(X @ W1[1], 0.0)
    F1 = W2[0, 0] * n1 + W2[0, 1] * n2
    F2 = W2[1, 0] * n1 + W2[1, 1] * n2
    step = (a1 > 0).astype(float)
    terms = (-2 * (y - F1) * W2[0, 0] - 2 * ((1 - y) - F2) * W2[1, 0]) * X[:, 0] * step
    return float(np.mean(terms))


def tiny_net_loss_torch(W1, W2, X, Y):
    """The same loss in torch (``W1``, ``W2`` tensors, possibly with ``requires_grad``), for autograd checks."""
    import torch

    X = torch.as_tensor(np.asarray(X, dtype=float)).reshape(-1, 3).to(W1.dtype)
    Y = torch.as_tensor(np.asarray(Y, dtype=float)).reshape(-1, 2).to(W1.dtype)
    y_hat = torch.relu(X @ W1.T) @ W2.T
    return ((y_hat - Y) ** 2).sum() / X.shape[0]


def tiny_net_values(W1, W2, x, y_onehot):
    """The net on one example built from :class:`lecture_utils.autodiff.Value` nodes, ready for ``backward``.

    Returns:
        ``(loss, weights)``: the loss node and a dict ``{"w111": Value, ...}`` of the ten weight leaves.
    Example: ``loss, w = tiny_net_values(W1, W2, x, [1, 0]); loss.backward(); w["w111"].grad``
    """
    W1, W2 = _check_net(W1, W2)
    X, Y = _check_batch(x, y_onehot)
    if X.shape[0] != 1:
        raise ValueError("tiny_net_values builds the graph of one example: pass x of shape (3,)")
    V = autodiff.Value
    w = {name: V(float(val), label=name) for name, val in zip(WEIGHT_NAMES, np.concatenate([W1.ravel(), W2.ravel()]))}
    xs = [V(float(v), label=f"x{k + 1}") for k, v in enumerate(X[0])]
    hidden = []
    for j in (1, 2):
        a = w[f"w1{j}1"] * xs[0] + w[f"w1{j}2"] * xs[1] + w[f"w1{j}3"] * xs[2]
        a.label = f"a{j}"
        n = a.relu()
        n.label = f"n{j}"
        hidden.append(n)
    loss = None
    for j in (1, 2):
        F = w[f"w2{j}1"] * hidden[0] + w[f"w2{j}2"] * hidden[1]
        F.label = f"F{j}"
        r = F - V(float(Y[0, j - 1]), label=f"y{j}")
        r.label = f"r{j}"
        term = r ** 2
        loss = term if loss is None else loss + term
    loss.label = "loss"
    return loss, w


# ---------------------------------------------------------------------------------------------------------
# Lecture 02: what a gradient costs, reverse mode vs finite differences
# ---------------------------------------------------------------------------------------------------------
def chain_function(v):
    """A test function of ``n >= 2`` inputs whose cost grows linearly with ``n``, for floats or ``Value`` nodes.

    ``f(v) = sum_i tanh(v_i v_{i+1}) + 0.1 v_i^2``. Example: ``chain_function([0.1, 0.2, 0.3])``
    """
    total = 0.0
    for i in range(len(v) - 1):
        total = total + autodiff.tanh(v[i] * v[i + 1]) + 0.1 * v[i] * v[i]
    return total


def compare_gradient_costs(ns, *, h: float = 1e-5, repeats: int = 1, seed: int = 0) -> dict:
    """Gradient of :func:`chain_function` in ``n`` variables by reverse mode and by central differences.

    Counts are exact (calls of the function; reverse mode also reports its backward pass and graph size);
    times are wall-clock, the best of ``repeats`` runs, so only their growth with ``n`` means anything.

    Args:
        ns: sizes to try, each >= 2; h: finite-difference step; repeats: timing repeats.
    Returns:
        dict of ``(len(ns),)`` arrays: ``n``, ``fd_calls``, ``fd_seconds``, ``ad_forward_calls``,
        ``ad_backward_passes``, ``ad_nodes``, ``ad_seconds``, ``max_abs_diff`` (between the two gradients).
    Example: ``compare_gradient_costs([2, 8, 32])["fd_calls"]  # [4, 16, 64]``
    """
    ns = [check_int("n", n, low=2) for n in np.atleast_1d(ns).tolist()]
    repeats = check_int("repeats", repeats, low=1)
    h = check_real("h", h, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    out = {k: [] for k in ("n", "fd_calls", "fd_seconds", "ad_forward_calls", "ad_backward_passes",
                           "ad_nodes", "ad_seconds", "max_abs_diff")}
    for n in ns:
        x = rng.uniform(-1, 1, n)
        xs = x.tolist()
        fd_fn = CountingFunction(lambda v: chain_function(list(v)))
        ad_fn = CountingFunction(chain_function)
        best_fd = best_ad = math.inf
        for _ in range(repeats):
            fd_fn.reset()
            t0 = time.perf_counter()
            g_fd = numerical_gradient(fd_fn, x, h=h)
            best_fd = min(best_fd, time.perf_counter() - t0)
            ad_fn.reset()
            t0 = time.perf_counter()
            _, g_ad, info = autodiff.value_and_grad(ad_fn, xs)
            best_ad = min(best_ad, time.perf_counter() - t0)
        out["n"].append(n)
        out["fd_calls"].append(fd_fn.calls)
        out["fd_seconds"].append(best_fd)
        out["ad_forward_calls"].append(ad_fn.calls)
        out["ad_backward_passes"].append(info["backward_passes"])
        out["ad_nodes"].append(info["nodes"])
        out["ad_seconds"].append(best_ad)
        out["max_abs_diff"].append(float(np.max(np.abs(np.asarray(g_ad) - g_fd))))
    return {k: np.asarray(v) for k, v in out.items()}
