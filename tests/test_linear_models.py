"""Linear models against references: torch autograd, numpy/scipy least squares, a scipy QP for the hinge loss."""
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from lecture_utils import linear_models as lm, optim, problems
from lecture_utils.datasets import load_digits


pytestmark = pytest.mark.usefixtures("float64_default")  # torch tensors default to float64 here


def regression_data(n=50, d=3, seed=0, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale + shift
    y = X @ rng.normal(size=d) + 0.7 + 0.1 * rng.normal(size=n)
    return X, y


def blobs(n=60, seed=1):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal([-1, -1], 0.8, (n // 2, 2)), rng.normal([1.2, 0.8], 0.8, (n // 2, 2))])
    return X, np.r_[-np.ones(n // 2), np.ones(n // 2)]


# ---- least squares ------------------------------------------------------------------------------------
def torch_mse(theta, X, y):
    t = torch.tensor(theta, requires_grad=True)
    A = torch.cat([torch.tensor(X), torch.ones(len(X), 1)], dim=1)
    loss = torch.mean((A @ t - torch.tensor(y)) ** 2)
    loss.backward()
    return loss.item(), t.grad.numpy()


@pytest.mark.parametrize("seed", range(3))
def test_mse_loss_and_grad_equal_autograd(seed):
    X, y = regression_data(seed=seed)
    theta = np.random.default_rng(seed + 10).normal(size=4)
    ref_loss, ref_grad = torch_mse(theta, X, y)
    assert lm.mse_loss(theta, X, y) == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(lm.mse_grad(theta, X, y), ref_grad, rtol=1e-10, atol=1e-12)
    # batched thetas give one row per theta
    T = np.stack([theta, 2 * theta])
    np.testing.assert_allclose(lm.mse_loss(T, X, y), [ref_loss, torch_mse(2 * theta, X, y)[0]], rtol=1e-12)
    np.testing.assert_allclose(lm.mse_grad(T, X, y)[0], ref_grad, rtol=1e-10)


def test_normal_equations_equal_lstsq_and_zero_gradient():
    X, y = regression_data(n=80, d=5)
    theta = lm.normal_equations(X, y)
    ref = np.linalg.lstsq(np.hstack([X, np.ones((80, 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(theta, ref, rtol=1e-9, atol=1e-11)
    assert np.linalg.norm(lm.mse_grad(theta, X, y)) < 1e-10


def test_normal_equations_fall_back_to_minimum_norm_when_singular():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])  # repeated column: A^T A is singular
    y = np.array([1.0, 2.0, 3.0])
    theta = lm.normal_equations(X, y)
    np.testing.assert_allclose(theta, np.linalg.pinv(lm.add_bias(X)) @ y, atol=1e-10)


def test_regression_surface_is_the_loss_and_gd_reaches_the_closed_form():
    X, y = regression_data(n=40, d=1, seed=3)
    s = lm.regression_surface(X, y)
    pts = np.random.default_rng(0).normal(size=(7, 2)) * 3
    np.testing.assert_allclose(s.value(pts), lm.mse_loss(pts, X, y), rtol=1e-10)
    np.testing.assert_allclose(s.grad(pts), lm.mse_grad(pts, X, y), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s.minima[0], lm.normal_equations(X, y), rtol=1e-10)
    H = s.hessian(pts[0])
    lr = 1.0 / np.linalg.eigvalsh(H).max()
    traj = optim.run(s, optim.SGD(lr=lr), [-3.0, 4.0], num_steps=3000, tol=1e-10)
    np.testing.assert_allclose(traj.final[0], lm.normal_equations(X, y), atol=1e-8)
    assert s.dim == 2 and len(s.bounds) == 2


def test_standardize_uses_given_statistics_and_makes_contours_round():
    X, _ = regression_data(n=200, d=2, scale=10.0, shift=50.0)
    Xs, mean, std = lm.standardize(X)
    np.testing.assert_allclose(Xs.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(0), 1.0, rtol=1e-12)
    Xt = X[:10] * 2
    np.testing.assert_allclose(lm.standardize(Xt, mean, std)[0], (Xt - mean) / std)
    # raw inputs far from 0 give a badly conditioned loss; standardized ones do not
    assert lm.condition_number(X) > 1000
    assert lm.condition_number(Xs) < 3
    A = lm.add_bias(X)
    assert lm.condition_number(X) == pytest.approx(np.linalg.cond(A.T @ A), rel=1e-6)
    # a constant column is only centred
    Xc, _, sc = lm.standardize(np.c_[X[:, 0], np.full(200, 4.0)])
    np.testing.assert_allclose(Xc[:, 1], 0.0)
    assert sc[1] == 1.0


def test_one_standardized_feature_has_condition_number_one():
    x = np.random.default_rng(0).normal(size=100)
    assert lm.condition_number(lm.standardize(x)[0]) == pytest.approx(1.0, abs=1e-9)


# ---- hinge ------------------------------------------------------------------------------------------
def torch_hinge(theta, X, y, lam):
    t = torch.tensor(theta, requires_grad=True)
    m = torch.tensor(y) * (torch.tensor(X) @ t[:-1] + t[-1])
    obj = torch.relu(1 - m).mean() + lam * (t[:-1] ** 2).sum()
    obj.backward()
    return obj.item(), t.grad.numpy()


@pytest.mark.parametrize("seed", range(4))
def test_hinge_objective_and_subgradient_equal_autograd(seed):
    X, y = blobs(seed=seed)
    theta = np.random.default_rng(seed).normal(size=3)
    ref_obj, ref_grad = torch_hinge(theta, X, y, 0.05)
    assert lm.hinge_objective(theta, X, y, 0.05) == pytest.approx(ref_obj, rel=1e-12)
    np.testing.assert_allclose(lm.hinge_subgradient(theta, X, y, 0.05), ref_grad, rtol=1e-10, atol=1e-12)


def test_hinge_at_zero_is_one_and_bounds_zero_one_loss():
    X, y = blobs()
    assert lm.hinge_objective(np.zeros(3), X, y, 1.0) == pytest.approx(1.0)
    theta = np.array([0.3, -0.2, 0.1])
    margins = y * (X @ theta[:2] + theta[2])
    assert lm.hinge_objective(theta, X, y, 0.0) >= np.mean(margins < 0)


def test_fit_hinge_reaches_the_qp_optimum():
    X, y = blobs(n=40)
    lam = 0.05
    fit = lm.fit_hinge(X, y, lam=lam, lr=1.0, num_steps=3000)
    n = len(y)
    cons = [{"type": "ineq", "fun": lambda z: z[3:] - (1 - y * (X @ z[:2] + z[2]))},
            {"type": "ineq", "fun": lambda z: z[3:]}]
    ref = minimize(lambda z: z[3:].mean() + lam * z[:2] @ z[:2], np.zeros(3 + n), constraints=cons,
                   method="SLSQP", options={"maxiter": 500, "ftol": 1e-12})
    assert ref.success
    assert fit.objectives[fit.best_step] == pytest.approx(ref.fun, rel=1e-4)
    np.testing.assert_allclose(fit.theta, ref.x[:3], atol=5e-3)
    assert fit.thetas.shape == (3001, 3) and fit.lrs[0] == 1.0 and fit.lrs[3] == pytest.approx(0.5)
    # every objective value recorded is the objective of that iterate
    np.testing.assert_allclose(fit.objectives[[0, 10, 500]], lm.hinge_objective(fit.thetas[[0, 10, 500]], X, y, lam))


def test_fit_hinge_rejects_bad_labels_and_decay():
    X, y = blobs()
    with pytest.raises(ValueError, match="-1 and \\+1"):
        lm.fit_hinge(X, (y > 0).astype(float), lam=0.1)
    with pytest.raises(ValueError, match="decay"):
        lm.fit_hinge(X, y, decay="fast")


def test_hinge_classifier_problem_matches_the_functions():
    X, y = blobs()
    prob = problems.HingeClassifier(X, y, lam=0.05)
    theta = np.array([0.5, -0.3, 0.2])
    assert prob.loss(theta) == pytest.approx(lm.hinge_objective(theta, X, y, 0.05))
    np.testing.assert_allclose(prob.grad(theta), lm.hinge_subgradient(theta, X, y, 0.05), atol=1e-14)
    np.testing.assert_allclose(prob.example_grads(theta).mean(0), prob.grad(theta), atol=1e-14)


# ---- softmax regression on the digits ------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_digits()


def torch_softmax(theta, X, y, C, wd=0.0):
    t = torch.tensor(theta, requires_grad=True)
    W = t.reshape(X.shape[1] + 1, C)
    logits = torch.tensor(X) @ W[:-1] + W[-1]
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y)) + 0.5 * wd * (W[:-1] ** 2).sum()
    loss.backward()
    return loss.item(), t.grad.numpy()


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_softmax_loss_and_grad_equal_torch(digits, wd):
    X, y, _, _ = digits
    prob = problems.SoftmaxRegression(X, y, weight_decay=wd)
    theta = prob.init(scale=0.3, seed=1)
    ref_loss, ref_grad = torch_softmax(theta, X, y, 10, wd)
    assert prob.loss(theta) == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(prob.grad(theta), ref_grad, rtol=1e-8, atol=1e-12)
    idx = np.array([3, 17, 17, 400, 1000])  # a minibatch (a repeated row counts twice)
    sub_loss, sub_grad = torch_softmax(theta, X[idx], y[idx], 10, wd)
    assert prob.loss(theta, idx) == pytest.approx(sub_loss, rel=1e-10)
    np.testing.assert_allclose(prob.grad(theta, idx), sub_grad, rtol=1e-8, atol=1e-12)


def test_softmax_example_grads_equal_per_example_autograd(digits):
    X, y, _, _ = digits
    prob = problems.SoftmaxRegression(X, y, weight_decay=0.01)
    theta = prob.init(scale=0.2, seed=2)
    idx = np.array([0, 5, 99])
    G = prob.example_grads(theta, idx)
    assert G.shape == (3, 650)
    for row, i in zip(G, idx):
        np.testing.assert_allclose(row, torch_softmax(theta, X[[i]], y[[i]], 10, 0.01)[1], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(prob.example_grads(theta).mean(0), prob.grad(theta), atol=1e-12)


def test_softmax_start_accuracy_and_overflow(digits):
    X, y, Xt, yt = digits
    prob = problems.SoftmaxRegression(X, y)
    assert prob.num_params == 650
    assert prob.loss(prob.init()) == pytest.approx(np.log(10))
    theta = np.zeros(650)
    theta.reshape(65, 10)[-1, 3] = 1.0  # predicts class 3 everywhere
    assert prob.accuracy(theta) == pytest.approx(np.mean(y == 3))
    assert prob.accuracy(theta, Xt, yt) == pytest.approx(np.mean(yt == 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prob.loss(prob.init(scale=1e307, seed=0)) == np.inf  # overflow is reported as inf, not NaN
        big = prob.init(scale=1e3, seed=0)
        assert np.isfinite(prob.loss(big))  # shifted log-sum-exp: large logits do not overflow


def test_least_squares_problem(digits):
    X, y = regression_data(n=30, d=2)
    prob = problems.LeastSquares(X, y)
    theta = np.array([0.1, -0.2, 0.3])
    assert prob.loss(theta) == pytest.approx(lm.mse_loss(theta, X, y))
    np.testing.assert_allclose(prob.grad(theta), lm.mse_grad(theta, X, y), rtol=1e-12)
    np.testing.assert_allclose(prob.grad(theta, [2, 4]), lm.mse_grad(theta, X[[2, 4]], y[[2, 4]]), rtol=1e-12)
    np.testing.assert_allclose(prob.example_grads(theta).mean(0), prob.grad(theta), rtol=1e-12)
    np.testing.assert_allclose(prob.solution(), lm.normal_equations(X, y))


@pytest.mark.parametrize("bad, err", [
    (dict(idx=[]), ValueError), (dict(idx=[0.5]), ValueError), (dict(idx=[10_000]), ValueError),
    (dict(idx=np.array([True, False])), ValueError), (dict(theta=np.zeros(5)), ValueError),
])
def test_problem_rejects_bad_input(bad, err):
    X, y = regression_data(n=30, d=2)
    prob = problems.LeastSquares(X, y)
    args = {"theta": np.zeros(3), "idx": None} | bad
    with pytest.raises(err):
        prob.grad(args["theta"], args["idx"])


@pytest.mark.parametrize("call", [
    lambda: lm.mse_loss([1.0, 2.0], [[1.0], [2.0]], [1.0]),           # rows differ
    lambda: lm.mse_loss([1.0], [[1.0]], [1.0]),                       # theta too short
    lambda: lm.mse_grad([1.0, 0.0], [[np.nan]], [1.0]),               # NaN input
    lambda: lm.hinge_objective([0, 0, 0], [[1, 2]], [1], lam=-1),     # negative lam
    lambda: problems.SoftmaxRegression([[1.0], [2.0]], [0.5, 1.0]),          # non-integer labels
    lambda: problems.SoftmaxRegression([[1.0], [2.0]], [0, 3], num_classes=2),
    lambda: lm.standardize([[1.0, 2.0]], mean=[0.0]),
])
def test_functions_reject_bad_input(call):
    with pytest.raises((ValueError, TypeError)):
        call()


def test_add_bias():
    np.testing.assert_array_equal(lm.add_bias([[2.0], [3.0]]), [[2, 1], [3, 1]])
    np.testing.assert_array_equal(lm.add_bias([2.0, 3.0]), [[2, 1], [3, 1]])


def test_line_data():
    x, y = lm.line_data(500, slope=-1.5, intercept=4.0, noise=0.2, x_mean=10.0, x_std=3.0, seed=1)
    assert x.shape == (500, 1) and y.shape == (500,)
    assert x.mean() == pytest.approx(10.0, abs=0.5) and x.std() == pytest.approx(3.0, rel=0.1)
    np.testing.assert_allclose(lm.normal_equations(x, y), [-1.5, 4.0], atol=0.1)
    np.testing.assert_array_equal(lm.line_data(seed=3)[1], lm.line_data(seed=3)[1])
