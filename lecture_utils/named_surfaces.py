"""The named test surfaces of the course, registered with :func:`lecture_utils.surfaces.register`.

Each has a hand-derived gradient and Hessian (tested against autograd and finite differences); build one with
``surfaces.get(name, **params)`` and list them with ``surfaces.names()``. Lecture 01 to 09 use them: the 1D
functions of the seed notes (``sin_parabola``, ``x_plus_sin``, ``multi_minima``), the two-variable function of
lecture 02 (``lecture_2d``), the classic optimization benchmarks (Rosenbrock in 2 and n dimensions, Beale,
Himmelblau, Rastrigin, six-hump camel) and the shapes of lecture 05 (saddle, monkey saddle, plateau, cliff).

Example::

    >>> import numpy as np
    >>> from lecture_utils import surfaces
    >>> "himmelblau" in surfaces.names(dim=2)
    True
    >>> s = surfaces.get("rosenbrock_nd", n=10)
    >>> s.dim, float(s.value(np.ones(10)))        # the minimum is at (1, ..., 1)
    (10, 0.0)
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import check_int, check_real
from .surfaces import Surface, register


def cols(*columns):
    """Stack ``(B,)`` columns into ``(B, k)``: what ``np.stack(columns, axis=1)`` does, at a third of its
    overhead for the one-point runs a live widget makes on every slider move."""
    out = np.empty((len(columns[0]), len(columns)))
    for j, c in enumerate(columns):
        out[:, j] = c
    return out


def _stack_h(hxx, hxy, hyy):
    return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)


@register("sin_parabola", "f(x) = 25 sin x - x^2 (lecture 01: gradient ascent from x0 = -2)")
def _sin_parabola():
    return Surface(
        "sin_parabola", 1, [(-6.0, 6.0)],
        lambda X: 25 * np.sin(X[:, 0]) - X[:, 0] ** 2,
        lambda X: 25 * np.cos(X) - 2 * X,
        lambda X: (-25 * np.sin(X) - 2)[:, :, None],
        formula=r"$25\sin x - x^2$")


@register("x_plus_sin", "f(x) = x + sin x (lecture 03: learning rates 1, 0.1 and 0.01 from x0 = 2.5)")
def _x_plus_sin():
    return Surface(
        "x_plus_sin", 1, [(-1.0, 7.0)],
        lambda X: X[:, 0] + np.sin(X[:, 0]),
        lambda X: 1 + np.cos(X),
        lambda X: (-np.sin(X))[:, :, None],
        formula=r"$x + \sin x$")


@register("multi_minima", "f(x) = 0.1 x^2 + sin 2x: three minima in [-4, 4] (lecture 03: 1D basins)")
def _multi_minima():
    return Surface(
        "multi_minima", 1, [(-4.0, 4.0)],
        lambda X: 0.1 * X[:, 0] ** 2 + np.sin(2 * X[:, 0]),
        lambda X: 0.2 * X + 2 * np.cos(2 * X),
        lambda X: (0.2 - 4 * np.sin(2 * X))[:, :, None],
        formula=r"$0.1x^2 + \sin 2x$")


@register("lecture_2d", "f(x, y) = cos(3x + 2y) + cos(2x + 4y) - 2 sin(x + y) (lecture 02)")
def _lecture_2d():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return np.cos(3 * x + 2 * y) + np.cos(2 * x + 4 * y) - 2 * np.sin(x + y)

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        sa, sb, cc = np.sin(3 * x + 2 * y), np.sin(2 * x + 4 * y), np.cos(x + y)
        return cols(-3 * sa - 2 * sb - 2 * cc, -2 * sa - 4 * sb - 2 * cc)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        ca, cb, sc = np.cos(3 * x + 2 * y), np.cos(2 * x + 4 * y), np.sin(x + y)
        return _stack_h(-9 * ca - 4 * cb + 2 * sc, -6 * ca - 8 * cb + 2 * sc, -4 * ca - 16 * cb + 2 * sc)

    return Surface("lecture_2d", 2, [(-3.0, 3.0), (-3.0, 3.0)], value, grad, hess,
                   formula=r"$\cos(3x+2y) + \cos(2x+4y) - 2\sin(x+y)$")


@register("rosenbrock", "(a - x)^2 + b (y - x^2)^2, minimum at (a, a^2) (params: a=1, b=100)")
def _rosenbrock(a: float = 1.0, b: float = 100.0):
    a = check_real("a", a)
    b = check_real("b", b, low=0.0, low_open=True)

    def value(X):
        x, y = X[:, 0], X[:, 1]
        return (a - x) ** 2 + b * (y - x ** 2) ** 2

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        r = y - x ** 2
        return cols(-2 * (a - x) - 4 * b * x * r, 2 * b * r)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        return _stack_h(2 - 4 * b * y + 12 * b * x ** 2, -4 * b * x, np.full_like(x, 2 * b))

    return Surface("rosenbrock", 2, [(-2.0, 2.0), (-1.0, 3.0)], value, grad, hess,
                   formula=rf"$({a:g}-x)^2 + {b:g}(y-x^2)^2$", known_points=[((a, a * a), "minimum")],
                   params={"a": a, "b": b})


@register("beale", "Beale's function, minimum 0 at (3, 0.5)")
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
        return cols(sum(2 * t * tx for t, tx, _, _ in ts), sum(2 * t * ty for t, _, ty, _ in ts))

    def hess(X):
        x, y, ts = terms(X)
        hxx = sum(2 * tx * tx for _, tx, _, _ in ts)
        hxy = sum(2 * (tx * ty + t * i * y ** (i - 1)) for t, tx, ty, i in ts)
        hyy = sum(2 * (ty * ty + t * i * (i - 1) * x * y ** (i - 2 if i >= 2 else 0) * (i >= 2))
                  for t, _, ty, i in ts)
        return _stack_h(hxx, hxy, hyy)

    return Surface("beale", 2, [(-4.5, 4.5), (-4.5, 4.5)], value, grad, hess,
                   formula="Beale", known_points=[((3.0, 0.5), "minimum")])


@register("himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima of value 0")
def _himmelblau():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        u, v = x ** 2 + y - 11, x + y ** 2 - 7
        return cols(4 * x * u + 2 * v, 2 * u + 4 * y * v)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        u, v = x ** 2 + y - 11, x + y ** 2 - 7
        return _stack_h(4 * u + 8 * x ** 2 + 2, 4 * x + 4 * y, 2 + 4 * v + 8 * y ** 2)

    return Surface("himmelblau", 2, [(-5.0, 5.0), (-5.0, 5.0)], value, grad, hess,
                   formula=r"$(x^2+y-11)^2 + (x+y^2-7)^2$", known_points=[((3.0, 2.0), "minimum")])


@register("rastrigin", "20 + sum(x_i^2 - 10 cos 2 pi x_i): many local minima, global minimum 0 at the origin")
def _rastrigin():
    tp = 2 * math.pi
    return Surface(
        "rastrigin", 2, [(-5.12, 5.12), (-5.12, 5.12)],
        lambda X: 20 + np.sum(X ** 2 - 10 * np.cos(tp * X), axis=1),
        lambda X: 2 * X + 10 * tp * np.sin(tp * X),
        lambda X: np.eye(2) * (2 + 10 * tp * tp * np.cos(tp * X))[:, :, None],
        formula="Rastrigin", known_points=[((0.0, 0.0), "minimum")], search_grid=121)


@register("six_hump_camel", "six-hump camel: two global minima near (+-0.0898, -+0.7126)")
def _six_hump_camel():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        return cols(8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3)

    def hess(X):
        x, y = X[:, 0], X[:, 1]
        return _stack_h(8 - 25.2 * x ** 2 + 10 * x ** 4, np.ones_like(x), -8 + 48 * y ** 2)

    return Surface("six_hump_camel", 2, [(-2.0, 2.0), (-1.0, 1.0)], value, grad, hess, formula="six-hump camel")


@register("saddle", "x^2 - y^2: a saddle at the origin")
def _saddle():
    return Surface(
        "saddle", 2, [(-2.0, 2.0), (-2.0, 2.0)],
        lambda X: X[:, 0] ** 2 - X[:, 1] ** 2,
        lambda X: cols(2 * X[:, 0], -2 * X[:, 1]),
        lambda X: np.broadcast_to(np.diag([2.0, -2.0]), (X.shape[0], 2, 2)).copy(),
        formula=r"$x^2 - y^2$", known_points=[((0.0, 0.0), "saddle")], search_grid=3)


@register("monkey_saddle", "x^3 - 3 x y^2: a degenerate saddle with three downhill valleys")
def _monkey_saddle():
    def hess(X):
        x, y = X[:, 0], X[:, 1]
        return _stack_h(6 * x, -6 * y, -6 * x)

    return Surface(
        "monkey_saddle", 2, [(-1.5, 1.5), (-1.5, 1.5)],
        lambda X: X[:, 0] ** 3 - 3 * X[:, 0] * X[:, 1] ** 2,
        lambda X: cols(3 * X[:, 0] ** 2 - 3 * X[:, 1] ** 2, -6 * X[:, 0] * X[:, 1]),
        hess, formula=r"$x^3 - 3xy^2$", known_points=[((0.0, 0.0), "saddle")], search_grid=5)


@register("plateau", "1 - exp(-(x^2 + y^2) / 2): a narrow well in a wide, nearly flat plateau")
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


@register("cliff", "a gentle slope that drops off a cliff at x = 1 towards a minimum near (3, 0)")
def _cliff():
    def value(X):
        x, y = X[:, 0], X[:, 1]
        return 0.5 * y ** 2 + 0.1 * (x - 3) ** 2 + 3 * (1 - np.tanh(8 * (x - 1)))

    def grad(X):
        x, y = X[:, 0], X[:, 1]
        sech2 = 1 / np.cosh(8 * (x - 1)) ** 2
        return cols(0.2 * (x - 3) - 24 * sech2, y)

    def hess(X):
        x = X[:, 0]
        u = 8 * (x - 1)
        sech2 = 1 / np.cosh(u) ** 2
        return _stack_h(0.2 + 384 * sech2 * np.tanh(u), np.zeros_like(x), np.ones_like(x))

    return Surface("cliff", 2, [(-3.0, 6.0), (-3.0, 3.0)], value, grad, hess,
                   formula=r"$\frac{y^2}{2} + \frac{(x-3)^2}{10} + 3(1 - \tanh 8(x-1))$")


@register("rosenbrock_nd", "sum of 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 in n dimensions, minimum 0 at (1, ..., 1) "
                           "(params: n=4)")
def _rosenbrock_nd(n: int = 4):
    """The extended Rosenbrock function in ``n >= 2`` dimensions: a curved valley in many dimensions, the usual
    test problem for quasi-Newton memory (lecture 06). Its only critical point in the box is the minimum."""
    n = check_int("n", n, low=2)

    def value(X):
        a, b = X[:, :-1], X[:, 1:]
        return np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2, axis=1)

    def grad(X):
        a, b = X[:, :-1], X[:, 1:]
        r = b - a * a
        G = np.zeros_like(X)
        G[:, :-1] = -400.0 * a * r - 2.0 * (1.0 - a)
        G[:, 1:] += 200.0 * r
        return G

    def hess(X):
        a, b = X[:, :-1], X[:, 1:]
        H = np.zeros((X.shape[0], n, n))
        i = np.arange(n - 1)
        H[:, i, i] = 1200.0 * a * a - 400.0 * b + 2.0
        H[:, i + 1, i + 1] += 200.0
        H[:, i, i + 1] = -400.0 * a
        H[:, i + 1, i] = -400.0 * a
        return H

    # A grid search for critical points in n dimensions is out of reach; the minimum is known.
    return Surface(f"rosenbrock_{n}d", n, [(-2.0, 2.0)] * n, value, grad, hess,
                   formula=f"Rosenbrock in {n} dimensions", known_points=[(np.ones(n), "minimum")], search=False,
                   params={"n": n})
