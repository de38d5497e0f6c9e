"""Every registered surface: analytic gradients and Hessians against torch autograd and finite differences."""
import math

import numpy as np
import pytest
import torch

from lecture_utils import custom_surfaces, surfaces


def _torch_value(s, x):
    """The same formulas as the registry, written with torch ops for autograd (an independent oracle)."""
    X, Y = (x[0], x[1]) if x.numel() > 1 else (x[0], None)
    n = s.name
    if n == "sin_parabola":
        return 25 * torch.sin(X) - X ** 2
    if n == "x_plus_sin":
        return X + torch.sin(X)
    if n == "multi_minima":
        return 0.1 * X ** 2 + torch.sin(2 * X)
    if n == "lecture_2d":
        return torch.cos(3 * X + 2 * Y) + torch.cos(2 * X + 4 * Y) - 2 * torch.sin(X + Y)
    if n == "quadratic":
        A = torch.tensor(s.params["A"])
        return 0.5 * x @ A @ x
    if n == "rosenbrock":
        return (1 - X) ** 2 + 100 * (Y - X ** 2) ** 2
    if s.name == f"rosenbrock_{s.dim}d":
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    if n == "beale":
        return (1.5 - X + X * Y) ** 2 + (2.25 - X + X * Y ** 2) ** 2 + (2.625 - X + X * Y ** 3) ** 2
    if n == "himmelblau":
        return (X ** 2 + Y - 11) ** 2 + (X + Y ** 2 - 7) ** 2
    if n == "rastrigin":
        return 20 + (x ** 2 - 10 * torch.cos(2 * math.pi * x)).sum()
    if n == "six_hump_camel":
        return (4 - 2.1 * X ** 2 + X ** 4 / 3) * X ** 2 + X * Y + (-4 + 4 * Y ** 2) * Y ** 2
    if n == "saddle":
        return X ** 2 - Y ** 2
    if n == "monkey_saddle":
        return X ** 3 - 3 * X * Y ** 2
    if n == "plateau":
        return 1 - torch.exp(-0.5 * (x ** 2).sum())
    if n == "cliff":
        return 0.5 * Y ** 2 + 0.1 * (X - 3) ** 2 + 3 * (1 - torch.tanh(8 * (X - 1)))
    raise KeyError(n)


def _random_points(s, n=20, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([b[0] for b in s.bounds])
    hi = np.array([b[1] for b in s.bounds])
    return lo + (hi - lo) * rng.random((n, s.dim))


@pytest.mark.parametrize("name", surfaces.names())
def test_value_grad_hessian_match_autograd(name):
    s = surfaces.get(name)
    X = _random_points(s)
    V, G, H = s.value(X), s.grad(X), s.hessian(X)
    assert V.shape == (len(X),) and G.shape == (len(X), s.dim) and H.shape == (len(X), s.dim, s.dim)
    for i, x in enumerate(X):
        xt = torch.tensor(x, requires_grad=True)
        f = lambda t: _torch_value(s, t)
        v = f(xt)
        (g,) = torch.autograd.grad(v, xt)
        h = torch.autograd.functional.hessian(f, torch.tensor(x))
        np.testing.assert_allclose(V[i], v.item(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(G[i], g.numpy(), rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(H[i], h.numpy(), rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("name", surfaces.names())
def test_grad_and_hessian_match_central_differences(name):
    s = surfaces.get(name)
    X = _random_points(s, n=10, seed=1)
    h = 1e-5
    for x in X:
        fd_g = np.array([(s.value(x + h * e) - s.value(x - h * e)) / (2 * h) for e in np.eye(s.dim)])
        fd_h = np.array([(s.grad(x + h * e) - s.grad(x - h * e)) / (2 * h) for e in np.eye(s.dim)])
        scale = 1 + np.abs(s.value(x))
        np.testing.assert_allclose(s.grad(x), fd_g, rtol=1e-6, atol=1e-6 * scale)
        np.testing.assert_allclose(s.hessian(x), fd_h.T, rtol=1e-5, atol=1e-5 * (1 + np.abs(s.grad(x)).max()))


# (minima, saddles, maxima) inside the plotting box, counted by hand: Himmelblau's four minima, four saddles and
# one maximum; Rastrigin's 11 x 11 grid of minima, 10 x 10 maxima and 2 * 11 * 10 saddles between them; ...
KNOWN_COUNTS = {"himmelblau": (4, 4, 1), "rastrigin": (121, 220, 100), "multi_minima": (3, 0, 2),
                "sin_parabola": (2, 0, 2), "saddle": (0, 1, 0), "monkey_saddle": (0, 1, 0), "quadratic": (1, 0, 0),
                "rosenbrock": (1, 0, 0), "rosenbrock_nd": (1, 0, 0), "plateau": (1, 0, 0), "cliff": (1, 0, 0),
                "x_plus_sin": (0, 0, 0)}
NO_MINIMUM = {"saddle", "monkey_saddle", "x_plus_sin"}


@pytest.mark.parametrize("name", surfaces.names())
def test_critical_points_have_zero_gradient_and_the_curvature_of_their_kind(name):
    s = surfaces.get(name)
    assert (len(s.minima) == 0) == (name in NO_MINIMUM)  # not vacuous: every other surface has a minimum
    if name in KNOWN_COUNTS:
        assert (len(s.minima), len(s.saddles), len(s.maxima)) == KNOWN_COUNTS[name]
    for c in s.critical_points:
        assert np.linalg.norm(s.grad(c.point)) < 1e-6
        eig = np.linalg.eigvalsh(np.atleast_2d(s.hessian(c.point)))
        if c.kind == "minimum":
            assert np.all(eig > 0)
        elif c.kind == "maximum":
            assert np.all(eig < 0)
        elif c.kind == "saddle" and name != "monkey_saddle":  # the monkey saddle's Hessian is 0 there
            assert eig.min() < 0 < eig.max()


def test_single_point_and_batch_shapes():
    s = surfaces.get("rosenbrock")
    assert np.shape(s.value([1.0, 1.0])) == ()
    assert s.value([1.0, 1.0]) == 0.0
    assert s.grad([0.0, 0.0]).shape == (2,)
    assert s.hessian([0.0, 0.0]).shape == (2, 2)
    one = surfaces.get("sin_parabola")
    assert np.shape(one.value(0.3)) == () and np.shape(one.grad(0.3)) == ()
    assert one.grad(np.zeros((5, 1))).shape == (5, 1)
    xs = np.linspace(-1, 1, 7)  # a plain array of points on a 1D surface
    assert one.value(xs).shape == one.grad(xs).shape == one.hessian(xs).shape == (7,)
    np.testing.assert_allclose(one.grad(xs), 25 * np.cos(xs) - 2 * xs)


def test_classic_minima_are_where_the_literature_puts_them():
    assert np.allclose(surfaces.get("rosenbrock").minima[0], [1, 1])
    assert np.allclose(surfaces.get("beale").minima[0], [3, 0.5])
    him = surfaces.get("himmelblau")
    assert len(him.minima) == 4
    assert np.allclose(sorted(him.value(him.minima)), 0, atol=1e-10)
    camel = surfaces.get("six_hump_camel")
    assert np.isclose(camel.value(camel.minima[0]), -1.0316, atol=1e-4)
    assert surfaces.get("saddle").saddles.tolist() == [[0.0, 0.0]]
    assert surfaces.get("multi_minima").minima.shape == (3, 1)
    assert surfaces.get("x_plus_sin").critical_points[0].kind == "degenerate"


def test_quadratic_condition_number_and_rotation():
    s = surfaces.get("quadratic", kappa=25.0, angle=0.4)
    eig = np.linalg.eigvalsh(s.hessian([0.3, -0.2]))
    np.testing.assert_allclose(eig, [1.0, 25.0])
    v = np.linalg.eigh(s.hessian([0.0, 0.0]))[1][:, 1]
    assert np.isclose(abs(v @ [-math.sin(0.4), math.cos(0.4)]), 1.0)
    with pytest.raises(ValueError, match="kappa"):
        surfaces.get("quadratic", kappa=0.5)


def test_from_quadratic_nd_minimizer_solves_linear_system():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((5, 5))
    A = M @ M.T + 5 * np.eye(5)
    b = rng.standard_normal(5)
    s = surfaces.from_quadratic(A, b)
    np.testing.assert_allclose(s.minima[0], np.linalg.solve(A, b))
    with pytest.raises(ValueError, match="symmetric"):
        surfaces.from_quadratic(M)


def test_get_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match="valid names: .*rosenbrock"):
        surfaces.get("rosenbrok")
    with pytest.raises(TypeError, match="takes parameters"):
        surfaces.get("himmelblau", kappa=3)
    with pytest.raises(TypeError):
        surfaces.get(3)


def test_bad_x_shapes_are_rejected_with_the_expected_shape():
    s = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match=r"\(2,\) or \(B, 2\)"):
        s.value([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        s.value("abc")


def test_overflow_gives_inf_without_warnings():
    s = surfaces.get("rosenbrock")
    with np.errstate(all="raise"):
        v = s.value([1e200, 1e200])
    assert not np.isfinite(v)


def test_negate_turns_maxima_into_minima():
    s = surfaces.get("sin_parabola")
    m = s.negated()
    np.testing.assert_allclose(np.sort(m.minima.ravel()), np.sort(s.maxima.ravel()), atol=1e-8)
    assert m.value(0.7) == -s.value(0.7)
    q = surfaces.get("quadratic", kappa=10.0)
    assert q.negated().params == q.params  # still says which quadratic it is


def test_with_bounds_keeps_function_params_and_known_points():
    s = surfaces.get("himmelblau")
    w = s.with_bounds([(0.0, 5.0), (0.0, 5.0)])
    assert w.bounds == ((0.0, 5.0), (0.0, 5.0)) and s.bounds == ((-5.0, 5.0), (-5.0, 5.0))
    X = _random_points(s, 10, seed=7)
    np.testing.assert_array_equal(w.value(X), s.value(X))
    np.testing.assert_array_equal(w.hessian(X), s.hessian(X))
    assert w.params == s.params and w.name == s.name and w.formula == s.formula
    known = {tuple(np.round(p, 6)) for p, _ in s.known_points}
    assert known and known <= {tuple(np.round(c.point, 6)) for c in w.critical_points}
    with pytest.raises(ValueError, match="bounds"):
        s.with_bounds([(1.0, 0.0), (0.0, 1.0)])
    with pytest.raises(ValueError, match="bounds"):
        s.with_bounds([(0.0, 1.0)])


def test_from_function_matches_registered_surface():
    ref = surfaces.get("himmelblau")
    s = custom_surfaces.from_function(lambda x: (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2,
                               dim=2, bounds=[(-5, 5), (-5, 5)])
    X = _random_points(ref, 15, seed=4)
    np.testing.assert_allclose(s.value(X), ref.value(X), rtol=1e-12)
    np.testing.assert_allclose(s.grad(X), ref.grad(X), rtol=1e-10)
    np.testing.assert_allclose(s.hessian(X), ref.hessian(X), rtol=1e-10, atol=1e-10)


def test_from_function_falls_back_when_vmap_cannot_trace():
    def f(x):
        return (x ** 2).sum() if float(x[0].detach()) > 0 else (2 * x ** 2).sum()  # data-dependent branch
    s = custom_surfaces.from_function(f, dim=2)
    np.testing.assert_allclose(s.value([[1.0, 1.0], [-1.0, 1.0]]), [2.0, 4.0])
    np.testing.assert_allclose(s.grad([-1.0, 1.0]), [-4.0, 4.0])


def test_from_function_rejects_bad_functions():
    with pytest.raises(ValueError, match="scalar"):
        custom_surfaces.from_function(lambda x: x * 2, dim=2)
    with pytest.raises(TypeError):
        custom_surfaces.from_function("x**2", dim=1)
    with pytest.raises(ValueError, match="dim"):
        custom_surfaces.from_function(lambda x: x.sum(), dim=0)


def test_from_expression_matches_registered_surfaces():
    for name, expr in [("saddle", "x**2 - y**2"), ("sin_parabola", "25*sin(x) - x^2"),
                       ("lecture_2d", "cos(3*x + 2*y) + cos(2*x + 4*y) - 2*sin(x + y)")]:
        ref = surfaces.get(name)
        s = custom_surfaces.from_expression(expr, bounds=ref.bounds)
        assert s.dim == ref.dim
        X = _random_points(ref, 12, seed=5)
        np.testing.assert_allclose(s.value(X), ref.value(X), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s.grad(X), ref.grad(X), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(s.hessian(X), ref.hessian(X), rtol=1e-10, atol=1e-10)


def test_from_expression_constants_and_functions():
    s = custom_surfaces.from_expression("3")
    assert s.value(1.0) == 3.0 and s.grad(1.0) == 0.0
    s = custom_surfaces.from_expression("max(x, 0) + pi*e*abs(y)")
    assert np.isclose(s.value([2.0, -1.0]), 2 + math.pi * math.e)


@pytest.mark.parametrize("expr, message", [
    ("__import__('os').system('echo hi')", "not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
    ("x.real", "attribute access"),
    ("x[0]", "indexing"),
    ("x**", "could not parse"),
    ("z + 1", "unknown name 'z'"),
    ("sin(x, y)", "takes 1 argument"),
    ("(lambda: 1)()", "not allowed"),
    ("", "empty"),
])
def test_from_expression_rejects_unsafe_or_broken_formulas(expr, message):
    with pytest.raises(ValueError, match=message) as info:
        custom_surfaces.from_expression(expr)
    if "unknown" in message or "not allowed" in message or "parse" in message:
        assert "A formula may use" in str(info.value)
