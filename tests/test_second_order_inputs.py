"""Bad input to the second-order methods gets a clear error; every method returns the common trajectory."""
import numpy as np
import pytest

from lecture_utils import surfaces
from lecture_utils.second_order import cg, newton, quasi_newton, steepest
from lecture_utils.second_order.methods import FIRST_ORDER, SECOND_ORDER, is_quadratic, names, run_method
from lecture_utils.trajectory import Trajectory

ROSEN = surfaces.get("rosenbrock")


@pytest.mark.parametrize("call, exc, match", [
    (lambda: newton.run_newton(ROSEN, [0, 0], 5, variant="cubic"), ValueError, "variant must be one of"),
    (lambda: newton.run_newton(ROSEN, [0, 0], 5, damping=1.0), ValueError, "plain Newton takes no damping"),
    (lambda: newton.run_newton(ROSEN, [0, 0], 5, variant="damped", damping=-1.0), ValueError, "damping must be >="),
    (lambda: newton.run_newton(ROSEN, [0, 0], 5, line_search="wolfe"), ValueError, "line_search must be one of"),
    (lambda: newton.run_newton(ROSEN, [0, 0], 0), ValueError, "num_steps must be >= 1"),
    (lambda: newton.run_newton(ROSEN, [0, 0, 0], 5), ValueError, r"x0 must have shape \(2,\)"),
    (lambda: newton.run_newton(ROSEN, [np.nan, 0], 5), ValueError, "x0 must be finite"),
    (lambda: newton.run_newton(np.eye(2), [0, 0], 5), TypeError, "surface must be"),
    (lambda: newton.run_newton("rosenbrok", [0, 0], 5), ValueError, "surface must be a surface name"),
    (lambda: steepest.steepest_descent(ROSEN, [0, 0], 5, line_search="golden"), ValueError, "line_search"),
    (lambda: steepest.steepest_descent(ROSEN, [0, 0], 5, "wolfe", c1=0.9, c2=0.1), ValueError, "0 < c1 < c2 < 1"),
    (lambda: steepest.steepest_descent(ROSEN, [0, 0], 5, "armijo", t0=0.0), ValueError, "t0 must be >"),
    (lambda: cg.nonlinear_cg(ROSEN, [0, 0], 5, beta="HS"), ValueError, "beta must be one of"),
    (lambda: cg.nonlinear_cg(ROSEN, [0, 0], 5, restart_every=0), ValueError, "restart_every must be >= 1"),
    (lambda: cg.nonlinear_cg(ROSEN, [0, 0], 5, line_search="exact"), ValueError, "quadratic"),
    (lambda: quasi_newton.bfgs(ROSEN, [0, 0], 5, line_search=None), ValueError, "line_search"),
    (lambda: quasi_newton.bfgs(ROSEN, [0, 0], 5, inv_hessians="yes"), TypeError, "inv_hessians"),
    (lambda: quasi_newton.lbfgs(ROSEN, [0, 0], 5, m=0), ValueError, "m must be >= 1"),
    (lambda: quasi_newton.lbfgs(ROSEN, [0, 0], 5, lr=-1.0), ValueError, "lr must be >"),
    (lambda: quasi_newton.lbfgs(ROSEN, [0, 0], 5, max_evals=0), ValueError, "max_evals must be >= 1"),
    (lambda: run_method("adamax", ROSEN, [0, 0]), ValueError, "name must be one of"),
    (lambda: run_method("bfgs", ROSEN, [0, 0], 5, lr=0.1), TypeError, r"bfgs got unexpected keyword\(s\) \['lr'\]"),
    (lambda: run_method("newton", ROSEN, [0, 0], 5, variant="damped"), TypeError, "unexpected keyword"),
    (lambda: run_method("adam", ROSEN, [0, 0], 5, gamma=0.1), TypeError, "adam got unexpected keyword"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("name", names())
def test_every_method_returns_the_common_trajectory(name):
    s = surfaces.get("quadratic", kappa=10, angle=0.3)
    kw = {"lr": 0.05} if name in FIRST_ORDER else {}
    tr = run_method(name, s, [[2.0, 1.0], [-1.0, 2.0], [0.5, -2.5]], 40, **kw)
    assert isinstance(tr, Trajectory)
    assert tr.xs.shape == (41, 3, 2)
    assert tr.values.shape == tr.grad_norms.shape == (41, 3)
    assert tr.lrs.shape == (40,)
    assert tr.diverged_at.shape == tr.converged_at.shape == (3,)
    assert isinstance(tr.label, str) and tr.label
    assert np.allclose(tr.values, s.value(tr.xs.reshape(-1, 2)).reshape(41, 3))
    assert np.all(np.isfinite(tr.xs))
    for i in range(3):
        assert isinstance(tr.status(i), str)
    if name in SECOND_ORDER:
        if name != "steepest_descent":  # zig-zags: needs more than 40 steps for |g| < 1e-5 here
            assert np.all(tr.converged_at >= 0), [tr.status(i) for i in range(3)]
        ss = tr.extras["step_sizes"]
        assert ss.shape == (40, 3)
        assert tr.extras["num_evals"].shape == (3,) and np.all(tr.extras["num_evals"] >= 1)


def test_single_start_point_reports_step_lengths_in_lrs():
    tr = steepest.steepest_descent(surfaces.get("quadratic", kappa=10), [2.0, 1.0], 5, tol=0.0)
    assert np.all(np.isfinite(tr.lrs)) and np.allclose(tr.lrs, tr.extras["step_sizes"][:, 0])
    trb = steepest.steepest_descent(surfaces.get("quadratic", kappa=10), [[2.0, 1.0], [1.0, 1.0]], 5, tol=0.0)
    assert np.all(np.isnan(trb.lrs))


def test_converged_points_stop_and_are_frozen():
    s = surfaces.get("quadratic", kappa=5)
    tr = newton.run_newton(s, [[1.0, 1.0], [0.0, 0.0]], 4)
    assert list(tr.converged_at) == [1, 0]
    assert np.all(tr.xs[1:, 0] == tr.xs[1, 0]) and np.all(tr.xs[:, 1] == 0.0)
    assert np.all(tr.iterations == [1, 0])


def test_is_quadratic_and_default_line_search():
    q = surfaces.get("quadratic", kappa=10)
    assert is_quadratic(q) and is_quadratic(surfaces.from_quadratic(np.eye(3))) and not is_quadratic(ROSEN)
    assert run_method("cg", q, [2.0, 1.0], 5).converged_at[0] <= 2  # exact search: CG in n = 2 steps
    assert run_method("cg", ROSEN, [-1.2, 1.0], 5).xs.shape == (6, 1, 2)  # Wolfe search elsewhere


def test_higher_dimensional_surfaces_work_and_skip_dense_matrices_when_large():
    rng = np.random.default_rng(0)
    d = 12
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = Q @ np.diag(np.linspace(1, 30, d)) @ Q.T
    s = surfaces.from_quadratic(0.5 * (A + A.T), rng.standard_normal(d))
    for tr in (quasi_newton.bfgs(s, np.zeros(d), 60), quasi_newton.lbfgs(s, np.zeros(d), 60, m=4)):
        assert "inv_hessians" not in tr.extras
        assert tr.converged_at[0] > 0
    tr = quasi_newton.bfgs(s, np.zeros(d), 60, inv_hessians=True)
    assert tr.extras["inv_hessians"].shape == (61, 1, d, d)


def test_rosenbrock_nd_matches_autograd_and_the_2d_surface():
    import torch


    s = surfaces.get("rosenbrock_nd", n=6)
    X = np.random.default_rng(0).uniform(-2, 2, size=(4, 6))

    def f(p):
        return (100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2).sum()

    for x, g, H in zip(X, s.grad(X), s.hessian(X)):
        t = torch.tensor(x)
        assert np.allclose(g, torch.autograd.functional.jacobian(f, t).numpy(), rtol=1e-12, atol=1e-9)
        assert np.allclose(H, torch.autograd.functional.hessian(f, t).numpy(), rtol=1e-12, atol=1e-9)
    r2 = surfaces.get("rosenbrock_nd", n=2)
    assert np.allclose(r2.value(X[:, :2]), ROSEN.value(X[:, :2]))
    assert np.allclose(s.minima, np.ones((1, 6))) and s.value(np.ones(6)) == 0.0
