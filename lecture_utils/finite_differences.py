"""Derivatives from function values: secant slopes, forward and central differences and their error against the
step ``h`` (lecture 01), numerical gradients with a count of function calls, directional derivatives and the
tangent of a level set (lecture 02).

Everything is numpy float64.

Example (the central difference's error falls like ``h^2``)::

    >>> import numpy as np
    >>> from lecture_utils import finite_differences as fd, measure
    >>> f, df = lambda x: 25 * np.sin(x) - x ** 2, lambda x: 25 * np.cos(x) - 2 * x
    >>> round(fd.central_difference(f, -2.0, 1e-4), 4)   # 25 cos(-2) + 4
    -6.4037
    >>> hs = [1e-1, 1e-2, 1e-3]
    >>> round(measure.loglog_slope(hs, fd.finite_difference_errors(f, df, -2.0, hs)), 2)
    2.0
    >>> fd.numerical_gradient(lambda v: v[0] ** 2 + 3 * v[1], [1.0, 2.0]).round(6)
    array([2., 3.])
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._validate import check_array, check_callable, check_choice, check_int, check_real, scalar_or_array

__all__ = ["secant_slope", "forward_difference", "central_difference", "finite_difference_errors", "best_step",
           "CountingFunction", "numerical_gradient", "unit_vector", "directional_derivative",
           "directional_derivative_fd", "directional_derivatives", "level_set_tangent"]


_EPS = float(np.finfo(float).eps)


def _check_positive_steps(h):
    h = check_array("h", h)
    if not np.all(np.isfinite(h)) or np.any(h <= 0):
        raise ValueError(f"h must be positive and finite, got {h}")
    return h


def secant_slope(f: Callable, x, y):
    """Slope of the secant through ``(x, f(x))`` and ``(y, f(y))``: ``(f(y) - f(x)) / (y - x)`` (lecture 01).

    Args:
        f: function of one variable, numpy-vectorized if ``x``/``y`` are arrays.
        x, y: points (scalars or broadcastable arrays) with ``x != y``.
    Returns:
        the slope, a float or an array. Example: ``secant_slope(np.square, 1.0, 3.0)  # 4.0``
    """
    check_callable("f", f)
    x, y = check_array("x", x), check_array("y", y)
    if np.any(x == y):
        raise ValueError("x and y must differ: a secant needs two distinct points")
    return scalar_or_array((np.asarray(f(y), dtype=float) - np.asarray(f(x), dtype=float)) / (y - x))


def forward_difference(f: Callable, x, h):
    """Forward difference ``(f(x + h) - f(x)) / h``: the secant slope over ``[x, x + h]``; error ``O(h)``.

    Args:
        f: function of one variable (numpy-vectorized when ``x`` or ``h`` is an array).
        x: point(s); h: positive step(s), broadcast against ``x``.
    Returns:
        float or array. Example: ``forward_difference(np.sin, 0.0, 1e-6)  # ~ 1.0``
    """
    check_callable("f", f)
    x, h = check_array("x", x), _check_positive_steps(h)
    with np.errstate(all="ignore"):
        return scalar_or_array((np.asarray(f(x + h), dtype=float) - np.asarray(f(x), dtype=float)) / h)


def central_difference(f: Callable, x, h):
    """Central difference ``(f(x + h) - f(x - h)) / (2h)``; its error is ``O(h^2)`` (lecture 01).

    Args:
        f: function of one variable (numpy-vectorized when ``x`` or ``h`` is an array).
        x: point(s); h: positive step(s), broadcast against ``x``.
    Returns:
        float or array. Example: ``central_difference(np.sin, 0.0, 1e-4)  # ~ 1.0``
    """
    check_callable("f", f)
    x, h = check_array("x", x), _check_positive_steps(h)
    with np.errstate(all="ignore"):
        return scalar_or_array((np.asarray(f(x + h), dtype=float) - np.asarray(f(x - h), dtype=float)) / (2 * h))


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
    return np.abs(np.asarray(approx, dtype=float) - float(check_callable("df", df)(x)))


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
        self.fn = check_callable("fn", fn)
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
    check_callable("f", f)
    x = check_array("x", x, ndim=1)
    h = check_real("h", h, low=0.0, low_open=True)
    check_choice("kind", kind, ("forward", "central"))
    grad = np.empty_like(x)
    with np.errstate(all="ignore"):  # f may overflow for a huge h: the result is inf/NaN, not a warning
        return _coordinate_differences(f, x, h, kind, grad)


def _coordinate_differences(f, x, h, kind, grad):
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
    return scalar_or_array((e / norms) @ g)


def directional_derivative_fd(f: Callable, x, e, h: float = 1e-5) -> float:
    """``d/dt f(x + t e)`` at ``t = 0`` by a central difference, from the definition (``e`` normalized).

    Example: ``directional_derivative_fd(s.value, [0.0, 0.0], [1.0, 1.0])``
    """
    check_callable("f", f)
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
    check_callable("f", f)
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
