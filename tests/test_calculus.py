"""lecture_utils.calculus against closed forms, torch autograd, scipy and the course's own optimizers."""
import math

import numpy as np
import pytest
import torch

from lecture_utils import (activations, autodiff, convexity, descent, finite_differences, grid_search, measure,
                           optim, surrogates, tiny_net)
from lecture_utils import surfaces

f = lambda x: 25 * np.sin(x) - x ** 2  # noqa: E731  the lecture-01 function
df = lambda x: 25 * np.cos(x) - 2 * x  # noqa: E731


# ---- secants and finite differences -------------------------------------------------------------------
def test_secant_and_differences_closed_forms():
    assert finite_differences.secant_slope(np.square, 1.0, 3.0) == pytest.approx(4.0)
    # x^3 at 1: forward = 3 + 3h + h^2, central = 3 + h^2 (exact algebra)
    h = 0.1
    assert finite_differences.forward_difference(lambda x: x ** 3, 1.0, h) == pytest.approx(3 + 3 * h + h * h, rel=1e-12)
    assert finite_differences.central_difference(lambda x: x ** 3, 1.0, h) == pytest.approx(3 + h * h, rel=1e-12)
    # the secant over [x, x + h] is the forward difference
    assert finite_differences.secant_slope(f, -2.0, -2.0 + 1e-3) == pytest.approx(finite_differences.forward_difference(f, -2.0, 1e-3))


def test_differences_broadcast_over_steps():
    hs = np.array([1e-1, 1e-2, 1e-3])
    got = finite_differences.central_difference(f, -2.0, hs)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, [(f(-2 + h) - f(-2 - h)) / (2 * h) for h in hs], rtol=1e-12)


def test_central_is_second_order_forward_first_order():
    hs = np.logspace(-4, -1, 12)
    central = finite_differences.finite_difference_errors(f, df, -2.0, hs, "central")
    forward = finite_differences.finite_difference_errors(f, df, -2.0, hs, "forward")
    assert measure.loglog_slope(hs, central) == pytest.approx(2.0, abs=0.05)
    assert measure.loglog_slope(hs, forward) == pytest.approx(1.0, abs=0.05)
    assert np.all(central < forward)


def test_round_off_takes_over_for_tiny_steps():
    hs = np.logspace(-13, -1, 49)
    err = finite_differences.finite_difference_errors(f, df, -2.0, hs, "central")
    best = hs[np.argmin(err)]
    # the best step sits within two decades of the eps^(1/3) rule of thumb, and tiny steps are far worse
    assert abs(math.log10(best) - math.log10(finite_differences.best_step("central"))) < 2
    assert err[0] > 100 * err.min()
    assert finite_differences.best_step("forward") == pytest.approx(np.finfo(float).eps ** 0.5)


def test_loglog_slope_exact_and_validation():
    assert measure.loglog_slope([1e-1, 1e-2, 1e-3], [3e-2, 3e-4, 3e-6]) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        measure.loglog_slope([1e-1, 1e-2], [0.0, 1e-3])
    with pytest.raises(ValueError, match="same shape"):
        measure.loglog_slope([1e-1, 1e-2], [1e-3])


def test_finite_difference_validation():
    with pytest.raises(ValueError, match="h must be positive"):
        finite_differences.central_difference(f, 0.0, 0.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        finite_differences.finite_difference_errors(f, df, 0.0, [1e-3], "backward")
    with pytest.raises(TypeError, match="f must be a function"):
        finite_differences.forward_difference(3.0, 0.0, 1e-3)
    with pytest.raises(ValueError, match="must differ"):
        finite_differences.secant_slope(f, 1.0, 1.0)


def test_numerical_gradient_matches_autograd_and_counts_calls():
    def g(v):
        return v[0] ** 2 * v[1] + torch.sin(v[2]) if torch.is_tensor(v) else v[0] ** 2 * v[1] + np.sin(v[2])

    x = np.array([0.7, -1.3, 2.1])
    t = torch.tensor(x, requires_grad=True)
    g(t).backward()
    counted = finite_differences.CountingFunction(g)
    np.testing.assert_allclose(finite_differences.numerical_gradient(counted, x, h=1e-5), t.grad.numpy(), atol=1e-8)
    assert counted.calls == 2 * x.size
    counted.reset()
    np.testing.assert_allclose(finite_differences.numerical_gradient(counted, x, h=1e-7, kind="forward"), t.grad.numpy(),
                               atol=1e-5)
    assert counted.calls == x.size + 1


# ---- surrogate losses ---------------------------------------------------------------------------------
def test_surrogate_losses_against_torch_and_bounds():
    m = np.linspace(-4, 4, 801)
    L = surrogates.surrogate_losses(m)
    mt = torch.tensor(m)
    ones = torch.ones_like(mt)
    # torch's soft-margin loss is log(1 + exp(-y x)); ours is the same in bits
    soft = torch.nn.functional.soft_margin_loss(mt, ones, reduction="none").numpy() / math.log(2)
    np.testing.assert_allclose(L["logistic"], soft, rtol=1e-12)
    np.testing.assert_allclose(L["squared"], torch.nn.functional.mse_loss(mt, ones, reduction="none").numpy())
    np.testing.assert_allclose(L["hinge"], torch.relu(1 - mt).numpy())
    assert np.all(L["0-1"] == (m <= 0))
    for name in ("hinge", "logistic"):
        assert np.all(L[name] >= L["0-1"]), name
    assert surrogates.logistic_loss(0.0) == pytest.approx(1.0)
    assert surrogates.logistic_loss(-1000.0) == pytest.approx(1000 / math.log(2))   # no overflow


# ---- grid search and convexity ------------------------------------------------------------------------
def test_grid_search_equals_scipy_brute():
    from scipy import optimize

    s = surfaces.get("six_hump_camel")
    res = grid_search.grid_search(s.value, s.bounds, 21)
    ranges = [slice(lo, hi + 1e-12, (hi - lo) / 20) for lo, hi in s.bounds]
    x_ref = optimize.brute(lambda p: s.value(p), ranges, finish=None)
    np.testing.assert_allclose(res.x, x_ref, atol=1e-9)
    assert res.num_evals == 21 ** 2 == grid_search.grid_size(21, 2)


def test_grid_search_maximize_on_the_lecture_function():
    s = surfaces.get("sin_parabola")
    res = grid_search.grid_search(s.value, [(-6.0, 6.0)], 12001, maximize=True)
    top = max(s.maxima, key=lambda p: s.value(p))
    assert abs(res.x[0] - top[0]) < 1e-3 and res.num_evals == 12001


def test_grid_size_is_exact_and_large_grids_are_refused():
    assert grid_search.grid_size(10, 30) == 10 ** 30
    with pytest.raises(ValueError, match="too large"):
        grid_search.grid_search(lambda X: X.sum(1), [(0, 1)] * 8, 10)


def test_chord_gap_convex_and_non_convex():
    for convex in (np.square, np.exp, lambda x: np.abs(x)):
        assert convexity.max_chord_gap(convex, -3, 3)[0] <= 1e-12
    gap, a, b, t = convexity.max_chord_gap(f, -6, 6)
    assert gap > 1.0
    # the returned chord really is a counterexample
    assert f(t * a + (1 - t) * b) > t * f(a) + (1 - t) * f(b)


# ---- activations --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", activations.ACTIVATIONS)
def test_activation_derivatives_equal_autograd(name):
    x = np.concatenate([np.linspace(-6, 6, 121), [-40.0, 40.0]])
    x = x[x != 0]  # relu is not differentiable at 0
    t = torch.tensor(x, requires_grad=True)
    y = getattr(torch, name)(t)
    y.sum().backward()
    np.testing.assert_allclose(activations.activation(name, x), y.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(activations.activation_derivative(name, x), t.grad.numpy(), rtol=1e-9, atol=1e-15)


# ---- gradient ascent ----------------------------------------------------------------------------------
def test_gradient_ascent_equals_sgd_on_the_negated_surface():
    s = surfaces.get("sin_parabola")
    xs = descent.gradient_ascent(s.grad, -2.0, 0.01, 300)
    traj = optim.run(s.negated(), optim.SGD(lr=0.01), [-2.0], num_steps=300, tol=0.0)
    np.testing.assert_allclose(xs, traj.xs[:, 0, 0], rtol=1e-12)
    # the lecture's point: a local maximum, and a higher one exists
    assert abs(s.grad(xs[-1])) < 1e-6 and s.hessian(xs[-1]) < 0
    assert max(s.value(p) for p in s.maxima) > s.value(xs[-1]) + 10


def test_gradient_ascent_divergence_is_a_result():
    xs = descent.gradient_ascent(lambda x: x * x, 1.0, 10.0, 50)
    assert xs.shape == (51,) and np.isnan(xs[-1]) and np.isfinite(xs[:3]).all()


# ---- directional derivatives and level sets -----------------------------------------------------------
def test_directional_derivative_equals_autograd_and_definition():
    s = surfaces.get("lecture_2d")
    x = np.array([0.4, -0.3])
    p = torch.tensor(x, requires_grad=True)
    (torch.cos(3 * p[0] + 2 * p[1]) + torch.cos(2 * p[0] + 4 * p[1]) - 2 * torch.sin(p[0] + p[1])).backward()
    for angle in np.linspace(0, 2 * np.pi, 7):
        e = finite_differences.unit_vector(angle)
        jvp = float(p.grad @ torch.tensor(e))
        assert finite_differences.directional_derivative(s.grad(x), e) == pytest.approx(float(jvp), abs=1e-12)
        assert finite_differences.directional_derivative_fd(s.value, x, e) == pytest.approx(float(jvp), abs=1e-8)
    # e is normalized first
    assert finite_differences.directional_derivative([3.0, 4.0], [2.0, 0.0]) == pytest.approx(3.0)


def test_directional_derivatives_peak_along_the_gradient():
    g = np.array([1.0, -2.0])
    angles = np.linspace(-np.pi, np.pi, 3601)
    d = finite_differences.directional_derivatives(g, angles)
    np.testing.assert_allclose(d, np.linalg.norm(g) * np.cos(angles - math.atan2(g[1], g[0])), atol=1e-12)
    assert d.max() == pytest.approx(np.linalg.norm(g), rel=1e-6)
    assert abs(angles[np.argmax(d)] - math.atan2(g[1], g[0])) < 2e-3


def test_level_set_tangent_on_a_circle_and_on_the_lecture_surface():
    t = finite_differences.level_set_tangent(lambda p: p[..., 0] ** 2 + p[..., 1] ** 2, [1.0, 0.0])
    assert abs(t[0]) < 1e-6 and abs(abs(t[1]) - 1) < 1e-9
    s = surfaces.get("lecture_2d")
    rng = np.random.default_rng(1)
    for x in rng.uniform(-2.5, 2.5, (20, 2)):
        g = s.grad(x)
        if np.linalg.norm(g) < 0.5:
            continue
        tangent = finite_differences.level_set_tangent(s.value, x, radius=1e-4)
        assert abs(tangent @ g) / np.linalg.norm(g) < 1e-3


def test_level_set_tangent_refuses_a_critical_point():
    with pytest.raises(ValueError, match="not twice"):
        finite_differences.level_set_tangent(lambda p: p[..., 0] ** 2 + p[..., 1] ** 2, [0.0, 0.0])


# ---- the 3-2-2 net ------------------------------------------------------------------------------------
def _net_data(seed=0, n=6):
    rng = np.random.default_rng(seed)
    W1, W2 = tiny_net.init(seed)
    X = rng.normal(size=(n, 3))
    y = rng.integers(0, 2, n).astype(float)
    return W1, W2, X, y, tiny_net.one_hot_targets(y)


def test_tiny_net_backward_equals_autograd_for_all_weights():
    for seed in range(5):
        W1, W2, X, y, Y = _net_data(seed)
        cache = tiny_net.forward(W1, W2, X, Y)
        grads = tiny_net.backward(W1, W2, cache)
        w1 = torch.tensor(W1, requires_grad=True)
        w2 = torch.tensor(W2, requires_grad=True)
        loss = tiny_net.loss_torch(w1, w2, X, Y)
        loss.backward()
        assert cache["loss"] == pytest.approx(float(loss.detach()), rel=1e-12)
        np.testing.assert_allclose(grads["W1"], w1.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grads["W2"], w2.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert tiny_net.dL_dw111_by_hand(W1, W2, X, y) == pytest.approx(float(w1.grad[0, 0]), rel=1e-10, abs=1e-12)


def test_tiny_net_by_hand_is_zero_when_the_relu_is_off():
    W1, W2, _, _, _ = _net_data(0)
    x = np.array([1.0, 1.0, 1.0])
    W1 = W1.copy()
    W1[0] = [-1.0, -1.0, -1.0]         # a1 = -3 < 0
    assert tiny_net.dL_dw111_by_hand(W1, W2, x, 1.0) == 0.0


def test_tiny_net_values_engine_equals_autograd():
    W1, W2, X, y, Y = _net_data(3, n=1)
    loss, w = tiny_net.value_graph(W1, W2, X[0], Y[0])
    loss.backward()
    w1 = torch.tensor(W1, requires_grad=True)
    w2 = torch.tensor(W2, requires_grad=True)
    ref = tiny_net.loss_torch(w1, w2, X, Y)
    ref.backward()
    assert loss.data == pytest.approx(float(ref.detach()))
    got = np.array([w[name].grad for name in tiny_net.WEIGHT_NAMES])
    np.testing.assert_allclose(got, np.concatenate([w1.grad.numpy().ravel(), w2.grad.numpy().ravel()]),
                               rtol=1e-10, atol=1e-12)
    labels = {n["label"] for n in autodiff.graph(loss).nodes}
    assert {"a1", "n1", "F1", "F2", "loss", "x1", "w111"} <= labels


def test_tiny_net_validation():
    W1, W2, X, y, Y = _net_data(0)
    with pytest.raises(ValueError, match="W1 must have shape"):
        tiny_net.forward(W1.T, W2, X, Y)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        tiny_net.one_hot_targets([0, 2])
    with pytest.raises(ValueError, match="one example"):
        tiny_net.value_graph(W1, W2, X, Y)


# ---- cost of a gradient -------------------------------------------------------------------------------
def test_compare_gradient_costs_counts_exactly_and_gradients_agree():
    res = autodiff.compare_gradient_costs([2, 5, 40])
    np.testing.assert_array_equal(res["fd_calls"], 2 * res["n"])
    np.testing.assert_array_equal(res["ad_forward_calls"], [1, 1, 1])
    np.testing.assert_array_equal(res["ad_backward_passes"], [1, 1, 1])
    assert np.all(np.diff(res["ad_nodes"]) > 0)           # the graph grows linearly with n
    assert np.all(res["max_abs_diff"] < 1e-8)
    assert np.all(res["fd_seconds"] > 0) and np.all(res["ad_seconds"] > 0)


def test_chain_function_gradient_equals_autograd():
    x = np.random.default_rng(0).uniform(-1, 1, 7)
    _, g, _ = autodiff.value_and_grad(autodiff.chain_function, x.tolist())
    t = torch.tensor(x, requires_grad=True)
    (torch.tanh(t[:-1] * t[1:]) + 0.1 * t[:-1] ** 2).sum().backward()
    np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)
