"""lecture_utils.second_order.race and the inverse-Hessian ellipses of quasi_newton (what lecture 06's widgets draw)."""
import numpy as np
import pytest

from lecture_utils import optim, surfaces, tuning
from lecture_utils.second_order import quasi_newton, race


def test_ellipse_shape_follows_the_matrix():
    M = np.array([[4.0, 0.0], [0.0, 1.0]])
    pts = quasi_newton.inverse_hessian_ellipse([1.0, 2.0], M, longest=0.5) - np.array([1.0, 2.0])
    assert pts.shape == (65, 2)
    assert np.max(np.abs(pts[:, 0])) == pytest.approx(0.5)  # long axis along x (eigenvalue 4)
    assert np.max(np.abs(pts[:, 1])) == pytest.approx(0.25)  # sqrt(1/4) of it along y
    q = np.einsum("ni,ij,nj->n", pts, np.linalg.inv(M), pts)
    assert np.allclose(q, q[0])  # a level set of v^T M^{-1} v
    assert np.all(np.isnan(quasi_newton.inverse_hessian_ellipse([0, 0], np.diag([1.0, -1.0]), longest=1.0)))


def test_ellipse_is_the_level_set_r_squared_for_a_batch_of_matrices():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 2, 2))
    M = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(2)
    c = rng.standard_normal((6, 2))
    pts = quasi_newton.inverse_hessian_ellipse(c, M, r=0.7, num=33)
    assert pts.shape == (6, 33, 2)
    v = pts - c[:, None, :]
    q = np.einsum("bni,bij,bnj->bn", v, np.linalg.inv(M), v)
    np.testing.assert_allclose(q, 0.49)
    # The true-Hessian version is the same ellipse for M = H^{-1}, computed without inverting H.
    H = np.linalg.inv(M)
    v2 = quasi_newton.hessian_ellipse(c, H, r=0.7, num=33) - c[:, None, :]
    np.testing.assert_allclose(np.einsum("bni,bij,bnj->bn", v2, H, v2), 0.49)
    singular = quasi_newton.hessian_ellipse([0, 0], np.diag([1.0, 0.0]), longest=1.0)
    assert np.all(np.isnan(singular))  # no ellipse where the Hessian is not positive definite
    assert np.all(np.isnan(quasi_newton.inverse_hessian_ellipse([0, 0], np.full((2, 2), np.nan))))


def test_closed_form_rates_are_the_fastest_on_the_quadratic():
    kappa = 50.0
    s = surfaces.get("quadratic", kappa=kappa, angle=0.5)
    gd = race.quadratic_optimal_hyperparameters("GD", 1.0, kappa)
    assert gd == {"lr": pytest.approx(2 / 51)}
    hb = race.quadratic_optimal_hyperparameters("momentum", 1.0, kappa)
    r = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    assert hb["lr"] == pytest.approx(4 / (np.sqrt(kappa) + 1) ** 2) and hb["momentum"] == pytest.approx(r * r)
    x0 = [2.5, 1.5]
    tuned = race.tuned_first_order(s, x0, 150, "GD")
    assert tuned.lrs[0] == pytest.approx(2 / 51)
    for lr in (0.8 * 2 / 51, 1.2 * 2 / 51):  # a rate either side converges more slowly
        other = optim.run(s, optim.SGD(lr=lr), x0, 150)
        assert other.values[-1, 0] > tuned.values[-1, 0]
    heavy = race.tuned_first_order(s, x0, 150, "momentum")
    assert heavy.values[-1, 0] < tuned.values[-1, 0]  # the heavy ball's sqrt(kappa) speed-up


def test_tuned_first_order_elsewhere_is_the_sweep():
    s = surfaces.get("rosenbrock")
    tr = race.tuned_first_order(s, [-1.2, 1.0], 60, "momentum")
    sweep = tuning.sweep_lr("momentum", s, [-1.2, 1.0], 60, criterion="tail_mean", momentum=0.9)
    assert tr.lrs[0] == pytest.approx(sweep.lr) and np.array_equal(tr.xs, sweep.best.xs)


def test_race_trajectories_and_evaluation_counts():
    s = surfaces.get("quadratic", kappa=100.0, angle=0.5)
    trajs = race.race_trajectories(s, [2.5, 1.5], 60)
    assert tuple(trajs) == race.RACE_METHODS
    assert trajs["Newton"].converged_at[0] == 1 and trajs["CG"].converged_at[0] <= 2
    assert race.num_evaluations(trajs["GD"]) == 61   # not converged: one evaluation per position
    assert race.num_evaluations(trajs["BFGS"]) == int(trajs["BFGS"].extras["num_evals"][0])
    with pytest.raises(ValueError, match="unknown method"):
        race.race_trajectories(s, [0.0, 0.0], 5, methods=("GD", "Adam"))
