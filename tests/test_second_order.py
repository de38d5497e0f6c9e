"""Second-order and line-search methods against references: closed forms, scipy, torch autograd, torch.optim.LBFGS.

Run with ``-s`` to see the iteration-count table against scipy.optimize.minimize.
"""

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg
import torch

from lecture_utils import custom_surfaces, surfaces
from lecture_utils.second_order import cg, linesearch, newton, quasi_newton, steepest
from lecture_utils.second_order.methods import run_method


def random_spd(n, kappa, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1.0, kappa, n)
    A = Q @ np.diag(lam) @ Q.T
    return 0.5 * (A + A.T)


def random_quadratic(n, kappa, seed):
    rng = np.random.default_rng(seed)
    A = random_spd(n, kappa, rng)
    b = rng.standard_normal(n)
    return surfaces.from_quadratic(A, b), A, b, rng


# ---------------------------------------------------------------------------------------------------------
# Linear conjugate gradients
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, kappa", [(2, 50.0), (5, 50.0), (10, 50.0), (30, 10.0)])
def test_linear_cg_solves_spd_system_in_n_steps(n, kappa):
    # Rounding erodes conjugacy as n and kappa grow (n = 30, kappa = 50 needs 37 steps for 1e-12); these
    # sizes stay within "n steps, to rounding".
    rng = np.random.default_rng(n)
    A = random_spd(n, kappa, rng)
    b = rng.standard_normal(n)
    res = cg.linear_cg(A, b, tol=0.0, max_iter=n)
    x_star = np.linalg.solve(A, b)
    assert res.num_iter <= n
    assert np.linalg.norm(res.x - x_star) <= 1e-8 * np.linalg.norm(x_star)
    # Before step n the iterate is not yet the solution (CG needs all n directions on a generic problem).
    if 2 < n <= 10:
        assert np.linalg.norm(res.xs[n - 2] - x_star) > 1e-6 * np.linalg.norm(x_star)


def test_linear_cg_directions_are_conjugate_and_residuals_orthogonal():
    rng = np.random.default_rng(1)
    n = 8
    A = random_spd(n, 20.0, rng)
    b = rng.standard_normal(n)
    res = cg.linear_cg(A, b, tol=0.0, max_iter=n)
    D = res.directions
    G = D @ A @ D.T
    scale = np.sqrt(np.outer(np.diag(G), np.diag(G)))
    off = np.abs(G / scale)[~np.eye(len(D), dtype=bool)]
    assert off.max() < 1e-8
    R = b[None, :] - res.xs[:-1] @ A.T  # residuals r_0 .. r_{n-1}
    C = (R @ R.T) / np.outer(np.linalg.norm(R, axis=1), np.linalg.norm(R, axis=1))
    assert np.abs(C[~np.eye(n, dtype=bool)]).max() < 1e-8
    assert np.allclose(res.residual_norms, np.linalg.norm(b[None, :] - res.xs @ A.T, axis=1), rtol=1e-6, atol=1e-12)


def test_linear_cg_iterates_match_scipy_sparse_cg():
    rng = np.random.default_rng(3)
    n = 12
    A = random_spd(n, 30.0, rng)
    b = rng.standard_normal(n)
    ref = []
    scipy.sparse.linalg.cg(A, b, x0=np.zeros(n), rtol=1e-14, atol=0.0, maxiter=n, callback=lambda xk: ref.append(xk.copy()))
    res = cg.linear_cg(A, b, tol=0.0, max_iter=len(ref))
    assert np.allclose(res.xs[1:], np.array(ref), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("A, match", [
    (np.array([[1.0, 0.0], [0.0, -2.0]]), "positive definite"),
    (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    (np.ones((2, 3)), "square"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "NaN"),
    (np.array([[1.0, 1.0], [1.0, 1.0]]), "positive definite"),
])
def test_linear_cg_rejects_non_spd(A, match):
    with pytest.raises(ValueError, match=match):
        cg.linear_cg(A, np.ones(A.shape[0]))


def test_linear_cg_bad_shapes():
    with pytest.raises(ValueError, match="b must be"):
        cg.linear_cg(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="x0 must be"):
        cg.linear_cg(np.eye(3), np.ones(3), x0=np.ones(4))
    with pytest.raises(ValueError, match="max_iter"):
        cg.linear_cg(np.eye(3), np.ones(3), max_iter=-1)


# ---------------------------------------------------------------------------------------------------------
# Newton
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 5])
def test_newton_solves_quadratic_in_one_step(n):
    s, A, b, rng = random_quadratic(n, 100.0, seed=n)
    X0 = rng.uniform(-3, 3, size=(4, n))
    tr = newton.run_newton(s, X0, 3)
    x_star = np.linalg.solve(A, b)
    assert np.allclose(tr.xs[1], x_star[None, :], rtol=1e-10, atol=1e-10)
    assert np.all(tr.converged_at == 1)


def test_newton_iterates_match_torch_autograd_reference():
    s = surfaces.get("rosenbrock")

    def f(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    x = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    ref = [x.numpy().copy()]
    for _ in range(5):
        g = torch.autograd.functional.jacobian(f, x)
        H = torch.autograd.functional.hessian(f, x)
        x = x - torch.linalg.solve(H, g)
        ref.append(x.numpy().copy())
    tr = newton.run_newton(s, [-1.2, 1.0], 5, tol=0.0)
    assert np.allclose(tr.xs[:, 0], np.array(ref), rtol=1e-10, atol=1e-12)


def test_newton_directions_match_linear_algebra_references():
    rng = np.random.default_rng(0)
    d = 4
    M = rng.standard_normal((d, d))
    H = 0.5 * (M + M.T)  # indefinite
    g = rng.standard_normal(d)
    D, lam, bad = newton.newton_direction(g[None], H[None], "plain")
    assert not bad[0]
    assert np.allclose(D[0], -np.linalg.solve(H, g))
    assert np.allclose(lam[0], np.linalg.eigvalsh(H))
    D, _, _ = newton.newton_direction(g[None], H[None], "damped", 2.5)
    assert np.allclose(D[0], -np.linalg.solve(H + 2.5 * np.eye(d), g))
    absH = np.real(scipy.linalg.sqrtm(H @ H))  # |H| as the matrix square root of H^2
    D, _, _ = newton.newton_direction(g[None], H[None], "saddle_free", 0.1)
    assert np.allclose(D[0], -np.linalg.solve(absH + 0.1 * np.eye(d), g), rtol=1e-7)
    assert g @ D[0] < 0  # saddle-free directions always go downhill


def test_newton_is_attracted_to_the_saddle_and_saddle_free_escapes():
    s = surfaces.get("saddle")
    rng = np.random.default_rng(0)
    X0 = rng.uniform(-2, 2, size=(20, 2))
    plain = newton.run_newton(s, X0, 5)
    assert np.allclose(plain.xs[1], 0.0, atol=1e-14)  # every start jumps onto the saddle at once
    assert np.all(plain.converged_at == 1)
    free = newton.run_newton(s, X0, 5, variant="saddle_free")
    y = free.xs[:, :, 1]
    assert np.all(np.abs(y[-1]) > np.abs(y[0]))  # moved away from the saddle along the negative-curvature axis
    assert np.all(np.diff(free.values, axis=0) < 0)  # and f went down every step
    # Damping below the negative curvature (|lambda_min| = 2) keeps the attraction or oscillation;
    # damping above it turns the y-step downhill.
    weak = newton.run_newton(s, [1.0, 0.3], 6, variant="damped", damping=1.0)
    assert np.allclose(np.abs(weak.xs[:, 0, 1]), 0.3)
    strong = newton.run_newton(s, [1.0, 0.3], 6, variant="damped", damping=3.0)
    assert np.allclose(strong.xs[:, 0, 1], 0.3 * 3.0 ** np.arange(7))


def test_newton_armijo_records_ascent_direction_as_failure():
    s = surfaces.get("himmelblau")
    tr = newton.run_newton(s, [0.0, 0.0], 10, line_search="armijo")  # (0, 0) is near a maximum: H < 0
    assert tr.extras["failed_at"][0] == 0
    assert "descent direction" in tr.status()
    assert np.all(tr.xs[:, 0] == 0.0)


def test_newton_singular_hessian_is_a_recorded_failure():
    s = surfaces.from_quadratic(np.diag([1.0, 0.0]), np.array([1.0, 0.0]))
    tr = newton.run_newton(s, [[2.0, 1.0], [0.5, 0.0]], 3)
    assert np.all(tr.extras["failed_at"] == 0)
    assert "singular" in tr.status(0)


def test_gaussian_elimination_solves_and_counts_n_cubed_over_three():
    rng = np.random.default_rng(0)
    for n in (1, 7, 40):
        A = rng.standard_normal((n, n)) + n * np.eye(n)
        b = rng.standard_normal(n)
        x, flops = newton.gaussian_elimination(A, b)
        assert np.allclose(x, np.linalg.solve(A, b))
        # sum over pivots of (n-k-1)(n-k+1), plus back substitution n(n+1)/2
        expected = (n - 1) * n * (2 * n - 1) // 6 + n * (n - 1) + n * (n + 1) // 2
        assert flops == expected
    f200 = newton.gaussian_elimination(np.eye(200) * 2, np.ones(200))[1]
    f400 = newton.gaussian_elimination(np.eye(400) * 2, np.ones(400))[1]
    assert 7.8 < f400 / f200 < 8.2
    with pytest.raises(ValueError, match="singular"):
        newton.gaussian_elimination(np.ones((3, 3)), np.ones(3))


def test_time_solve_returns_one_positive_time_per_size():
    times = newton.time_solve([5, 10], repeats=1)
    assert times.shape == (2,) and np.all(np.isfinite(times)) and np.all(times > 0)


# ---------------------------------------------------------------------------------------------------------
# Line searches and steepest descent
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, kappa", [(2, 10.0), (2, 200.0), (6, 50.0)])
def test_exact_steepest_descent_directions_are_orthogonal(n, kappa):
    s, A, b, rng = random_quadratic(n, kappa, seed=int(kappa))
    tr = steepest.steepest_descent(s, rng.uniform(-3, 3, size=(3, n)), 12, line_search="exact", tol=1e-12)
    D = tr.extras["directions"]
    norms = np.linalg.norm(D, axis=2)
    checked = 0
    for k in range(10):
        if np.any(norms[k + 1] < 1e-6 * norms[0]):
            break  # rounding in g = A x - b dominates tiny gradients
        checked += 1
        cos = np.einsum("bd,bd->b", D[k], D[k + 1]) / (np.linalg.norm(D[k], axis=1) * np.linalg.norm(D[k + 1], axis=1))
        assert np.all(np.abs(cos) < 1e-8)
    assert checked >= 3


def test_exact_line_search_matches_scalar_minimizer_and_kantorovich_rate():
    s, A, b, rng = random_quadratic(3, 40.0, seed=7)
    tr = steepest.steepest_descent(s, [2.0, -1.0, 0.5], 15, line_search="exact", tol=0.0)
    x, g = tr.xs[0, 0], s.grad(tr.xs[0, 0])
    ref = scipy.optimize.minimize_scalar(lambda t: float(s.value(x - t * g)), bounds=(0, 10), method="bounded",
                                         options={"xatol": 1e-12})
    assert tr.extras["step_sizes"][0, 0] == pytest.approx(ref.x, rel=1e-6)
    f_star = float(s.value(np.linalg.solve(A, b)))
    gap = tr.values[:, 0] - f_star
    kappa = np.linalg.cond(A)
    rate = ((kappa - 1) / (kappa + 1)) ** 2
    assert np.all(gap[1:] <= rate * gap[:-1] * (1 + 1e-9) + 1e-14)


def test_exact_line_search_needs_a_quadratic():
    with pytest.raises(ValueError, match="quadratic"):
        steepest.steepest_descent(surfaces.get("rosenbrock"), [0.0, 0.0], 5, line_search="exact")


def _fun(s):
    return lambda X: (s.value(X), s.grad(X))


def test_armijo_accepts_first_step_with_sufficient_decrease():
    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.5, 1.5, size=(50, 2))
    F, G = s.value(X), s.grad(X)
    res = linesearch.armijo(_fun(s), X, -G, F, G, 1.0, c1=1e-4, shrink=0.5)
    assert res.ok.all()
    gtd = -np.einsum("nd,nd->n", G, G)
    assert np.all(res.f <= F + 1e-4 * res.t * gtd)
    prev = res.t / 0.5  # the trial just before the accepted one failed the test (unless t = t0)
    tried = res.t < 1.0
    f_prev = s.value(X[tried] - prev[tried, None] * G[tried])
    assert np.all(f_prev > F[tried] + 1e-4 * prev[tried] * gtd[tried])
    assert np.allclose(np.log2(res.t), np.round(np.log2(res.t)))


def test_strong_wolfe_steps_satisfy_both_conditions_and_match_torch():
    from torch.optim.lbfgs import _strong_wolfe

    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(1)
    X = rng.uniform(-1.5, 1.5, size=(30, 2))
    F, G = s.value(X), s.grad(X)
    D = -G
    t0 = np.minimum(1.0, 1.0 / np.abs(G).sum(axis=1))
    res = linesearch.strong_wolfe(_fun(s), X, D, F, G, t0, c1=1e-4, c2=0.9)
    gtd = np.einsum("nd,nd->n", G, D)
    assert res.ok.all()
    assert np.all(res.f <= F + 1e-4 * res.t * gtd)
    assert np.all(np.abs(np.einsum("nd,nd->n", res.g, D)) <= 0.9 * np.abs(gtd) + 1e-12)
    for i in range(len(X)):
        def obj(x, t, d):
            p = x + t * d
            return float(s.value(p.numpy())), torch.tensor(s.grad(p.numpy()))
        x = torch.tensor(X[i])
        d = torch.tensor(D[i])
        _, _, t_ref, _ = _strong_wolfe(obj, x, float(t0[i]), d, float(F[i]), torch.tensor(G[i]), d.dot(torch.tensor(G[i])))
        assert res.t[i] == pytest.approx(float(t_ref), rel=1e-10)


def test_line_searches_report_failure_instead_of_looping():
    s = surfaces.get("quadratic", kappa=10)
    X = np.array([[2.0, 1.0]])
    F, G = s.value(X), s.grad(X)
    res = linesearch.armijo(_fun(s), X, G, F, G, 1.0)  # uphill direction
    assert not res.ok[0] and "descent" in res.reason[0] and res.evals[0] == 0
    res = linesearch.armijo(_fun(s), X, -G, F, G, 1e6, max_evals=2)  # far too long, too few trials
    assert not res.ok[0] and "no sufficient decrease in 2 trials" in res.reason[0]
    res = linesearch.strong_wolfe(_fun(s), X, G, F, G, 1.0)
    assert not res.ok[0] and "descent" in res.reason[0]
    tr = steepest.steepest_descent(s, [2.0, 1.0], 20, line_search="armijo", t0=1e6, max_evals=3)
    assert tr.extras["failed_at"][0] == 0 and "Armijo" in tr.status()
    # Unbounded below: the Wolfe search extrapolates a bounded number of times; the run ends as divergence.
    line = custom_surfaces.from_expression("-x", bounds=[(-5, 5)])
    tr = steepest.steepest_descent(line, 0.0, 200, line_search="wolfe")
    assert tr.diverged_at[0] > 0 or tr.extras["num_evals"][0] <= 200 * 27
    assert tr.extras["num_evals"][0] <= 200 * 27


def test_line_search_survives_nan_values():
    s = custom_surfaces.from_expression("sqrt(x) + (x - 1)**2", bounds=[(0.0, 3.0)])  # NaN for x < 0
    for kind in ("armijo", "wolfe"):
        tr = steepest.steepest_descent(s, 2.5, 30, line_search=kind, t0=10.0)
        assert np.all(np.isfinite(tr.values[:, 0]))
        assert tr.values[-1, 0] < tr.values[0, 0]


# ---------------------------------------------------------------------------------------------------------
# Nonlinear CG
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("beta", ["FR", "PR", "PR+"])
def test_nonlinear_cg_with_exact_search_is_linear_cg(beta):
    n = 6
    s, A, b, rng = random_quadratic(n, 30.0, seed=11)
    x0 = rng.standard_normal(n)
    tr = cg.nonlinear_cg(s, x0, n, beta=beta, line_search="exact", tol=0.0)
    ref = cg.linear_cg(A, b, x0=x0, tol=0.0, max_iter=n)
    assert np.allclose(tr.xs[:, 0], ref.xs, rtol=1e-7, atol=1e-9)
    assert np.allclose(tr.xs[-1, 0], np.linalg.solve(A, b), rtol=1e-7, atol=1e-9)


def test_nonlinear_cg_restart_every_step_is_steepest_descent():
    s = surfaces.get("rosenbrock")
    a = cg.nonlinear_cg(s, [-1.2, 1.0], 30, beta="FR", restart_every=1, c2=0.9)
    b = steepest.steepest_descent(s, [-1.2, 1.0], 30, line_search="wolfe", t0=1.0 / 234.4)
    assert np.all(a.extras["restarts"][:, 0])
    assert np.all(a.extras["betas"][:, 0] == 0)
    cos = np.einsum("td,td->t", a.extras["directions"][:, 0], -s.grad(a.xs[:-1, 0]))
    assert np.all(cos > 0)
    assert np.allclose(a.extras["directions"][:, 0], -s.grad(a.xs[:-1, 0]))
    assert b.values[-1, 0] < b.values[0, 0]


def test_nonlinear_cg_converges_on_rosenbrock_with_restarts():
    s = surfaces.get("rosenbrock")
    for beta in ("FR", "PR", "PR+"):
        tr = cg.nonlinear_cg(s, [-1.2, 1.0], 500, beta=beta, restart_every=2)
        assert tr.converged_at[0] > 0, (beta, tr.status())
        assert np.allclose(tr.final[0], [1.0, 1.0], atol=1e-4)


# ---------------------------------------------------------------------------------------------------------
# BFGS and L-BFGS
# ---------------------------------------------------------------------------------------------------------
def test_bfgs_update_satisfies_secant_condition_and_stays_positive_definite():
    rng = np.random.default_rng(0)
    d = 5
    M = np.stack([random_spd(d, 10.0, rng) for _ in range(20)])
    s = rng.standard_normal((20, d))
    y = s + 0.3 * rng.standard_normal((20, d))
    keep = np.einsum("nd,nd->n", s, y) > 0
    M, s, y = M[keep], s[keep], y[keep]
    Mn = quasi_newton.bfgs_update(M, s, y)
    assert np.allclose(np.einsum("nij,nj->ni", Mn, y), s)
    assert np.allclose(Mn, np.swapaxes(Mn, 1, 2))
    assert np.all(np.linalg.eigvalsh(Mn) > 0)
    # The product form (I - rho s y^T) M (I - rho y s^T) + rho s s^T, written out directly.
    rho = 1 / np.einsum("nd,nd->n", s, y)
    V = np.eye(d) - rho[:, None, None] * s[:, :, None] * y[:, None, :]
    ref = V @ M @ np.swapaxes(V, 1, 2) + rho[:, None, None] * s[:, :, None] * s[:, None, :]
    assert np.allclose(Mn, ref)


def test_lbfgs_dense_matrix_is_bfgs_updates_from_scaled_identity():
    rng = np.random.default_rng(2)
    d, m = 4, 3
    A = random_spd(d, 20.0, rng)
    S = rng.standard_normal((1, m, d))
    Y = S @ A  # curvature pairs of a quadratic
    rho = 1 / np.einsum("nkd,nkd->nk", S, Y)
    gamma = np.array([float(S[0, -1] @ Y[0, -1] / (Y[0, -1] @ Y[0, -1]))])
    dense = quasi_newton.lbfgs_inverse_hessian(S, Y, rho, gamma)
    ref = gamma[0] * np.eye(d)[None]
    for k in range(m):
        ref = quasi_newton.bfgs_update(ref, S[:, k], Y[:, k])
    assert np.allclose(dense, ref)
    v = rng.standard_normal((1, d))
    assert np.allclose(quasi_newton.two_loop(v, S, Y, rho, gamma), np.einsum("nij,nj->ni", ref, v))


def torch_lbfgs_path(surface, x0, num_steps, m, lr, line_search_fn):
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], lr=lr, max_iter=1, max_eval=26, history_size=m, line_search_fn=line_search_fn,
                            tolerance_grad=1e-300, tolerance_change=1e-9)

    def closure():
        opt.zero_grad()
        x = p.detach().numpy()
        p.grad = torch.tensor(np.asarray(surface.grad(x), dtype=float))
        return torch.tensor(float(surface.value(x)), dtype=torch.float64)

    path = [p.detach().numpy().copy()]
    for _ in range(num_steps):
        opt.step(closure)
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize("name, x0, lr, ls", [
    ("quadratic", [2.0, 1.0], 0.5, None), ("quadratic", [2.0, 1.0], 1.0, "wolfe"),
    ("rosenbrock", [-1.2, 1.0], 0.1, None), ("rosenbrock", [-1.2, 1.0], 1.0, "wolfe"),
    ("beale", [1.0, 1.0], 1.0, "wolfe"), ("himmelblau", [-4.0, 4.0], 1.0, "wolfe"),
])
@pytest.mark.parametrize("m", [1, 5])
def test_lbfgs_matches_torch_step_for_step(name, x0, lr, ls, m):
    s = surfaces.get("quadratic", kappa=30, angle=0.4) if name == "quadratic" else surfaces.get(name)
    num_steps = 40
    ref = torch_lbfgs_path(s, x0, num_steps, m, lr, "strong_wolfe" if ls else None)
    tr = quasi_newton.lbfgs(s, x0, num_steps, m=m, lr=lr, line_search=ls, tol=0.0, tolerance_change=1e-9)
    moved = np.any(ref[1:] != ref[:-1], axis=1)
    k = int(np.argmin(moved)) if not moved.all() else num_steps  # torch stops moving once it hits its own test
    assert k >= 3
    assert np.allclose(tr.xs[:k + 1, 0], ref[:k + 1], rtol=1e-8, atol=1e-10)


def test_inverse_hessian_shapes_and_first_matrix():
    s = surfaces.get("rosenbrock")
    X0 = [[-1.2, 1.0], [0.5, 0.5], [1.5, 2.5]]
    for tr in (quasi_newton.bfgs(s, X0, 30), quasi_newton.lbfgs(s, X0, 30, m=3)):
        M = tr.extras["inv_hessians"]
        assert M.shape == (31, 3, 2, 2)
        assert np.allclose(M[0], np.eye(2))
        assert np.allclose(M, np.swapaxes(M, -1, -2))
        assert np.all(np.linalg.eigvalsh(M[-1]) > 0)
    # Near the minimum BFGS's matrix approaches the true inverse Hessian.
    tr = quasi_newton.bfgs(s, [-1.2, 1.0], 200, tol=1e-9)
    H_inv = np.linalg.inv(s.hessian(tr.final[0]))
    last = tr.extras["inv_hessians"][-1, 0]
    assert np.linalg.norm(last - H_inv) / np.linalg.norm(H_inv) < 0.2


def test_lbfgs_rejects_bad_memory():
    s = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match="m must be >= 1"):
        quasi_newton.lbfgs(s, [0.0, 0.0], 10, m=0)
    with pytest.raises(TypeError, match="m must be an integer"):
        quasi_newton.lbfgs(s, [0.0, 0.0], 10, m=2.5)


# ---------------------------------------------------------------------------------------------------------
# Batched runs equal single runs; every method on every start
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, kw", [
    ("newton", {"line_search": "armijo"}), ("saddle_free_newton", {}), ("steepest_descent", {}),
    ("cg", {"beta": "PR+"}), ("bfgs", {}), ("lbfgs", {"m": 3}),
])
def test_batched_run_equals_runs_one_by_one(method, kw):
    s = surfaces.get("himmelblau")
    rng = np.random.default_rng(0)
    X0 = rng.uniform(-4.5, 4.5, size=(6, 2))
    batch = run_method(method, s, X0, 60, **kw)
    for i in range(len(X0)):
        one = run_method(method, s, X0[i], 60, **kw)
        assert np.allclose(batch.xs[:, i], one.xs[:, 0], rtol=1e-9, atol=1e-12), (method, i)
        assert batch.converged_at[i] == one.converged_at[0]
        assert batch.status(i) == one.status(0)


def test_divergence_is_recorded_without_warnings():
    s = surfaces.get("rosenbrock")
    tr = quasi_newton.lbfgs(s, [-1.2, 1.0], 50, lr=50.0, line_search=None)
    assert tr.diverged_at[0] > 0
    assert np.isnan(tr.values[-1, 0]) and np.all(np.isfinite(tr.xs))
    assert "diverged" in tr.status()


# ---------------------------------------------------------------------------------------------------------
# Same minimizers as scipy.optimize.minimize; iteration counts side by side (run with -s to see them)
# ---------------------------------------------------------------------------------------------------------
def _rosenbrock_4d():
    return surfaces.get("rosenbrock_nd", n=4)


SCIPY_CASES = [
    ("rosenbrock", [-1.2, 1.0]), ("rosenbrock", [2.0, -0.5]), ("beale", [1.0, 1.0]), ("beale", [2.0, 2.0]),
    ("himmelblau", [1.0, 1.0]), ("himmelblau", [-4.0, 4.0]), ("six_hump_camel", [1.5, 0.5]),
    ("quadratic_k100", [2.0, 1.0]), ("rosenbrock_4d", [-1.2, 1.0, -1.2, 1.0]),
]
OURS_VS_SCIPY = [("bfgs", "BFGS"), ("lbfgs", "L-BFGS-B"), ("cg", "CG"), ("saddle_free_newton", "Newton-CG")]


def scipy_comparison_rows():
    rows = []
    for name, x0 in SCIPY_CASES:
        s = (surfaces.get("quadratic", kappa=100, angle=0.4) if name == "quadratic_k100" else
             _rosenbrock_4d() if name == "rosenbrock_4d" else surfaces.get(name))
        x0 = np.array(x0)
        for ours, ref in OURS_VS_SCIPY:
            kw = {"line_search": "armijo"} if ours == "saddle_free_newton" else {}
            tr = run_method(ours, s, x0, 1000, tol=1e-6, **kw)
            f, g = (lambda x: float(s.value(x))), (lambda x: np.asarray(s.grad(x), dtype=float))
            opts = {"gtol": 1e-6} if ref in ("BFGS", "CG") else {"gtol": 1e-9, "ftol": 1e-15} if ref == "L-BFGS-B" else {"xtol": 1e-10}
            res = scipy.optimize.minimize(f, x0, jac=g, method=ref, options=opts,
                                          **({"hess": lambda x: np.asarray(s.hessian(x))} if ref == "Newton-CG" else {}))
            rows.append((name, x0, ours, tr, ref, res))
    return rows


@pytest.fixture(scope="module")
def comparison():
    return scipy_comparison_rows()


def test_same_minimizers_as_scipy(comparison):
    lines = [f"{'surface':15s} {'start':>20s} {'ours':19s} {'iters':>5s} {'evals':>5s} {'final point':>24s} | "
             f"{'scipy':10s} {'nit':>4s} {'nfev':>4s} {'final point':>24s}"]
    for name, x0, ours, tr, ref, res in comparison:
        assert tr.converged_at[0] >= 0, (name, x0, ours, tr.status())
        assert np.allclose(tr.final[0], res.x, atol=1e-4), (name, x0, ours, tr.final[0], ref, res.x)
        fmt = lambda v: "(" + ", ".join(f"{c:.5f}" for c in v) + ")"
        lines.append(f"{name:15s} {fmt(x0):>20s} {ours:19s} {int(tr.iterations[0]):5d} {int(tr.extras['num_evals'][0]):5d} "
                     f"{fmt(tr.final[0]):>24s} | {ref:10s} {res.nit:4d} {res.nfev:4d} {fmt(res.x):>24s}")
    print("\n" + "\n".join(lines))
