"""Coordinate descent against closed forms and scipy; sparse coding's alternating steps against their optimality conditions."""
import numpy as np
import pytest
from scipy import optimize

from lecture_utils import coordinate, surfaces


def random_spd(d, rng, cond=20.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return Q @ np.diag(np.geomspace(1.0, cond, d)) @ Q.T


@pytest.mark.parametrize("blocks", [None, [[0, 1], [2, 3, 4]], [[4], [0, 2], [1, 3]]])
def test_coordinate_descent_reaches_closed_form_minimizer(blocks):
    rng = np.random.default_rng(0)
    A = random_spd(5, rng)
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(5)
    s = surfaces.from_quadratic(A, b)
    x0 = rng.standard_normal((4, 5)) * 3
    traj = coordinate.coordinate_descent(s, x0, num_sweeps=400, blocks=blocks)
    np.testing.assert_allclose(traj.final, np.tile(np.linalg.solve(A, b), (4, 1)), atol=1e-8)
    assert np.all(traj.converged_at >= 0)
    # exact block minimization never increases the objective
    assert np.all(np.diff(traj.values, axis=0) <= 1e-12)


def test_each_exact_step_is_the_line_minimum_found_by_scipy():
    rng = np.random.default_rng(1)
    A = random_spd(3, rng)
    A = 0.5 * (A + A.T)
    b = rng.standard_normal(3)
    s = surfaces.from_quadratic(A, b)
    x0 = np.array([1.0, -2.0, 0.5])
    traj = coordinate.coordinate_descent(s, x0, num_sweeps=2)
    for t in range(1, traj.xs.shape[0]):
        i = (t - 1) % 3
        prev = traj.xs[t - 1, 0].copy()

        def along(z):
            p = prev.copy()
            p[i] = z
            return float(s.value(p))

        best = optimize.minimize_scalar(along, tol=1e-12).x
        assert traj.xs[t, 0, i] == pytest.approx(best, abs=1e-6)
        others = np.delete(np.arange(3), i)
        np.testing.assert_array_equal(traj.xs[t, 0, others], prev[others])


def test_coupled_case_shrinks_by_the_predicted_factor_per_sweep():
    for alpha in (0.01, 0.1, 1.0):
        s = coordinate.coupled_surface(alpha)
        # the surface is the lecture's formula
        w = np.array([[0.3, -1.2], [2.0, 0.7]])
        expected = (w[:, 0] - w[:, 1]) ** 2 + alpha * (w ** 2).sum(1)
        np.testing.assert_allclose(s.value(w), expected, rtol=1e-12)
        traj = coordinate.coordinate_descent(s, [1.0, 1.0], num_sweeps=10)
        ends = traj.xs[traj.extras["sweep_index"], 0, 1]  # w2 after each sweep
        ratios = ends[1:] / ends[:-1]
        np.testing.assert_allclose(ratios, 1 / (1 + alpha) ** 2, rtol=1e-10)
        assert coordinate.coordinate_sweep_factor(alpha) == pytest.approx(1 / (1 + alpha) ** 2)


def test_small_alpha_is_slow_compared_with_large_alpha():
    slow = coordinate.coordinate_descent(coordinate.coupled_surface(0.01), [1.0, 1.0], num_sweeps=50)
    fast = coordinate.coordinate_descent(coordinate.coupled_surface(1.0), [1.0, 1.0], num_sweeps=50)
    assert np.linalg.norm(slow.final) > 0.1
    assert np.linalg.norm(fast.final) < 1e-20


def test_block_gradient_steps_on_a_non_quadratic_surface():
    s = surfaces.get("rosenbrock")
    traj = coordinate.coordinate_descent(s, [-1.0, 1.0], num_sweeps=3000, lr=1e-3)
    assert traj.values[-1, 0] < traj.values[0, 0]
    # a gradient step on coordinate 0 changes only coordinate 0
    np.testing.assert_array_equal(traj.xs[1, 0, 1], traj.xs[0, 0, 1])
    g = s.grad(np.array([-1.0, 1.0]))
    assert traj.xs[1, 0, 0] == pytest.approx(-1.0 - 1e-3 * g[0])


def test_bad_inputs_are_rejected():
    s = coordinate.coupled_surface(0.1)
    with pytest.raises(ValueError, match="alpha"):
        coordinate.coupled_surface(0.0)
    with pytest.raises(ValueError, match="x0"):
        coordinate.coordinate_descent(s, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="blocks"):
        coordinate.coordinate_descent(s, [1.0, 2.0], blocks=[[0]])
    with pytest.raises(ValueError, match="quadratic"):
        coordinate.coordinate_descent(surfaces.get("rosenbrock"), [0.0, 0.0])
    with pytest.raises(ValueError, match="positive definite"):
        coordinate.coordinate_descent(surfaces.get("saddle").__class__(
            "s", 2, [(-1, 1), (-1, 1)], lambda X: X[:, 0], lambda X: X, lambda X: X[:, :, None] * 0,
            params={"A": np.diag([1.0, -1.0]), "b": np.zeros(2)}), [0.5, 0.5])
    with pytest.raises(TypeError):
        coordinate.coordinate_descent("quadratic", [0.0, 0.0])


def test_soft_threshold_solves_its_one_dimensional_problem():
    z = np.linspace(-3, 3, 13)
    for thr in (0.0, 0.5, 2.0):
        got = coordinate.soft_threshold(z, thr)
        for zi, gi in zip(z, got):
            ref = optimize.minimize_scalar(lambda h: 0.5 * (h - zi) ** 2 + thr * abs(h),
                                           bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}).x
            assert gi == pytest.approx(ref, abs=1e-6)


def test_lasso_step_satisfies_the_optimality_conditions():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 6))
    W = rng.standard_normal((4, 6))
    lam = 2.0
    H = coordinate.lasso_coordinate_descent(X, W, lam, num_sweeps=500)
    # subgradient conditions of ||X - H W||^2 + lam |H|_1:  2 (X - H W) W^T in lam * sign(H), or [-lam, lam] at 0
    G = 2 * (X - H @ W) @ W.T
    nz = H != 0
    np.testing.assert_allclose(G[nz], lam * np.sign(H[nz]), atol=1e-6)
    assert np.all(np.abs(G[~nz]) <= lam + 1e-6)
    assert (~nz).any()  # the L1 term really makes some codes zero


def test_lasso_step_matches_scipy_on_one_example():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 5))
    W = rng.standard_normal((3, 5))
    lam = 1.0
    H = coordinate.lasso_coordinate_descent(x, W, lam, num_sweeps=1000)
    obj = lambda h: float(((x[0] - h @ W) ** 2).sum() + lam * np.abs(h).sum())  # noqa: E731
    ref = optimize.minimize(obj, np.zeros(3), method="Powell", options={"xtol": 1e-10, "ftol": 1e-14}).x
    assert obj(H[0]) <= obj(ref) + 1e-8


def test_sparse_coding_objective_never_increases_and_atoms_stay_in_the_unit_ball():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 8))
    res = coordinate.sparse_coding(X, num_atoms=5, lam=1.0, num_iters=8, seed=0)
    assert np.all(np.diff(res.objective) <= 1e-9)
    assert res.objective[-1] < 0.8 * res.objective[0]
    assert np.all(np.linalg.norm(res.W, axis=1) <= 1 + 1e-12)
    direct = ((X - res.H @ res.W) ** 2).sum() + 1.0 * np.abs(res.H).sum()
    assert res.objective[-1] == pytest.approx(direct)
    assert 0.0 <= res.sparsity[-1] <= 1.0


def test_one_atom_update_is_the_constrained_minimizer_found_by_scipy():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((20, 4)) * 3
    H = rng.standard_normal((20, 3))
    W0 = rng.standard_normal((3, 4))
    W0 /= np.linalg.norm(W0, axis=1, keepdims=True)
    # one sweep updates atom 0 first, with atoms 1 and 2 still at W0
    W = coordinate.dictionary_coordinate_descent(X, H, W0, num_sweeps=1)

    def obj(w):
        M = W0.copy()
        M[0] = w
        return float(((X - H @ M) ** 2).sum())

    ref = optimize.minimize(obj, W0[0], method="SLSQP", options={"ftol": 1e-14, "maxiter": 500},
                            constraints=[{"type": "ineq", "fun": lambda w: 1 - w @ w}]).x
    np.testing.assert_allclose(W[0], ref, atol=1e-5)
    # after enough sweeps the dictionary satisfies the KKT conditions of the constrained least squares
    W = coordinate.dictionary_coordinate_descent(X, H, W0, num_sweeps=2000)
    G = -2 * H.T @ (X - H @ W)  # gradient of ||X - H W||^2 with respect to W
    for j in range(3):
        if np.linalg.norm(W[j]) < 1 - 1e-6:
            np.testing.assert_allclose(G[j], 0, atol=1e-5)
        else:  # on the sphere: the gradient points inwards, along -w_j
            cos = G[j] @ W[j] / (np.linalg.norm(G[j]) * np.linalg.norm(W[j]) + 1e-300)
            assert cos < -1 + 1e-6 or np.linalg.norm(G[j]) < 1e-6


def test_unused_atom_moves_without_changing_the_objective():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((10, 3))
    H = rng.standard_normal((10, 2))
    H[:, 1] = 0.0
    W0 = np.eye(2, 3)
    W = coordinate.dictionary_coordinate_descent(X, H, W0, num_sweeps=1)
    assert np.linalg.norm(W[1]) == pytest.approx(1.0)
    assert not np.allclose(W[1], W0[1])
