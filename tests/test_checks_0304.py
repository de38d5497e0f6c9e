"""The exercise checkers of lectures 03 and 04: a right answer passes, typical wrong answers fail and say why."""
import math

import numpy as np
import pytest

from lecture_utils import averaging, descent, linear_models as lm, minibatch, problems
from lecture_utils.checks import CheckFailed, lecture03, lecture04


# ---- lecture 03: gradient descent with a stopping rule ----------------------------------------------------
def gd_right(f, df, x0, lr, tol, max_steps):
    x = x0
    for t in range(1, max_steps + 1):
        x_new = x - lr * df(x)
        if abs(f(x_new) - f(x)) < tol:
            return x_new, t
        x = x_new
    return x, max_steps


def gd_early(f, df, x0, lr, tol, max_steps):  # returns the old x and does not count the last update
    x = x0
    for t in range(max_steps):
        x_new = x - lr * df(x)
        if abs(f(x_new) - f(x)) < tol:
            return x_new, t
        x = x_new
    return x, max_steps


def gd_positions(f, df, x0, lr, tol, max_steps):  # stops on the change of x instead of f
    x = x0
    for t in range(1, max_steps + 1):
        x_new = x - lr * df(x)
        if abs(x_new - x) < tol:
            return x_new, t
        x = x_new
    return x, max_steps


def gd_uphill(f, df, x0, lr, tol, max_steps):
    x = x0
    for t in range(1, max_steps + 1):
        x_new = x + lr * df(x)
        if abs(f(x_new) - f(x)) < tol:
            return x_new, t
        x = x_new
    return x, max_steps


def gd_no_cap(f, df, x0, lr, tol, max_steps):
    return gd_right(f, df, x0, lr, tol, 10 * max_steps)


def test_gradient_descent_checker_agrees_with_the_library():
    from lecture_utils import surfaces
    res = descent.gradient_descent(surfaces.get("x_plus_sin"), 2.5, lr=0.1, tol=1e-6, max_steps=1000)
    x, steps = gd_right(lambda x: x + math.sin(x), lambda x: 1 + math.cos(x), 2.5, 0.1, 1e-6, 1000)
    assert steps == res.num_steps and x == pytest.approx(res.x[0])
    assert lecture03.check_gradient_descent(gd_right) is True


@pytest.mark.parametrize("wrong, message", [
    (gd_early, "count is one short"),
    (gd_positions, "objective values"),
    (gd_uphill, "uphill"),
    (gd_no_cap, "max_steps"),
    (lambda f, df, x0, lr, tol, max_steps: x0, "pair"),
    (lambda f, df, x0, lr, tol, max_steps: (x0, "many"), "whole number"),
])
def test_gradient_descent_checker_explains_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lecture03.check_gradient_descent(wrong)


# ---- lecture 03: the least-squares gradient -------------------------------------------------------------
def mse_right(theta, X, y):
    return lm.mse_grad(theta, X, y)


@pytest.mark.parametrize("wrong, message", [
    (lambda t, X, y: lm.mse_grad(t, X, y) / 2, "factor 2"),
    (lambda t, X, y: lm.mse_grad(t, X, y) * len(y), "divide by n"),
    (lambda t, X, y: -lm.mse_grad(t, X, y), "sign"),
    (lambda t, X, y: lm.mse_grad(t, X, y)[:-1], "bias"),
    (lambda t, X, y: 2 / len(y) * lm.add_bias(X).T @ (X @ t[:-1] - y), "left out the bias"),
    (lambda t, X, y: lm.mse_grad(t, X, y) + 0.01, "expected"),
    (lambda t, X, y: "gradient", "array"),
])
def test_mse_grad_checker(wrong, message):
    assert lecture03.check_mse_grad(mse_right) is True
    with pytest.raises(CheckFailed, match=message):
        lecture03.check_mse_grad(wrong)


# ---- lecture 03: the hinge subgradient ----------------------------------------------------------------
def hinge_parts(theta, X, y):
    A = lm.add_bias(X)
    m = y * (A @ theta)
    return A, m


@pytest.mark.parametrize("wrong, message", [
    (lambda t, X, y, lam: lm.hinge_subgradient(t, X, y, 0.0), "left out the regularizer"),
    (lambda t, X, y, lam: lm.hinge_subgradient(t, X, y, lam / 2), "not lam w"),
    (lambda t, X, y, lam: lm.hinge_subgradient(t, X, y, lam) + np.r_[np.zeros(len(t) - 1), 2 * lam * t[-1]],
     "bias b is not regularized"),
    (lambda t, X, y, lam: -((hinge_parts(t, X, y)[1] < 0) * y) @ hinge_parts(t, X, y)[0] / len(y)
     + np.r_[2 * lam * t[:-1], 0.0], "below 1, not below 0"),
    (lambda t, X, y, lam: -((hinge_parts(t, X, y)[1] < 1) * y) @ hinge_parts(t, X, y)[0]
     + np.r_[2 * lam * t[:-1], 0.0], "divide the hinge part by n"),
    (lambda t, X, y, lam: lm.hinge_subgradient(t, X, y, lam)[:-1], "shape"),
])
def test_hinge_checker(wrong, message):
    assert lecture03.check_hinge_subgradient(lambda t, X, y, lam: lm.hinge_subgradient(t, X, y, lam)) is True
    with pytest.raises(CheckFailed, match=message):
        lecture03.check_hinge_subgradient(wrong)


def test_largest_stable_lr_checker():
    assert lecture03.check_largest_stable_lr(lambda a: 1 / a) is True
    with pytest.raises(CheckFailed, match="f''"):
        lecture03.check_largest_stable_lr(lambda a: 2 / a)
    with pytest.raises(CheckFailed, match="expected 2"):
        lecture03.check_largest_stable_lr(lambda a: 0.5 / a)
    with pytest.raises(CheckFailed, match="returned None"):
        lecture03.check_largest_stable_lr(lambda a: None)


def test_largest_stable_lr_is_really_the_threshold():
    """The checker's answer is what descent does: converge just below 1/a, not just above."""
    for a in (0.5, 2.0, 10.0):
        lrs = np.array([0.99 / a, 1.01 / a])
        from lecture_utils import surfaces
        f = surfaces.from_quadratic(np.array([[2 * a]]), bounds=[(-2, 2)])  # 1/2 (2a) x^2 = a x^2
        assert f.value(1.5) == pytest.approx(a * 1.5 ** 2)
        orb = descent.gd_orbits(f, lrs, 1.0, 3000, 4, bound=1e6)
        assert orb.period(0) == 1 and abs(orb.late[0, -1]) < 1e-6
        assert orb.period(1) == -1


# ---- lecture 04 --------------------------------------------------------------------------------------------
def batches_right(n, batch_size, rng):
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


@pytest.mark.parametrize("wrong, message", [
    (lambda n, bs, rng: [np.arange(n)[i:i + bs] for i in range(0, n, bs)], "stored order"),
    (lambda n, bs, rng: [rng.integers(0, n, min(bs, n - i)) for i in range(0, n, bs)], "exactly once"),
    (lambda n, bs, rng: batches_right(n, bs, np.random.default_rng(0)), "reshuffle every epoch"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [np.random.permutation(n)] for i in range(0, n, bs)], "same seed"),
    (lambda n, bs, rng: rng.permutation(n), "one flat sequence"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [rng.permutation(n)] for i in range(0, n - bs + 1, bs)], "only full batches"),
    (lambda n, bs, rng: np.array_split(rng.permutation(n), max(1, n // bs)), "batch sizes"),
])
def test_epoch_batches_checker(wrong, message):
    assert lecture04.check_epoch_batches(batches_right) is True
    assert lecture04.check_epoch_batches(lambda n, bs, rng: minibatch.epoch_batches(n, bs, rng=rng)) is True
    with pytest.raises(CheckFailed, match=message):
        lecture04.check_epoch_batches(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda T: T.mean(axis=0), "only the final average"),
    (lambda T: np.cumsum(T, axis=0) / np.maximum(np.arange(len(T)), 1)[:, None], "off-by-one"),
    (lambda T: np.cumsum(T, axis=0), "running sums"),
    (lambda T: T, "running average"),
])
def test_running_average_checker(wrong, message):
    assert lecture04.check_running_average(averaging.polyak_average) is True
    with pytest.raises(CheckFailed, match=message):
        lecture04.check_running_average(wrong)


def test_minibatch_grad_checker():
    def right(theta, X, y, idx):
        return problems.LeastSquares(X, y).grad(theta, idx)

    assert lecture04.check_minibatch_grad(right) is True
    with pytest.raises(CheckFailed, match="full-batch"):
        lecture04.check_minibatch_grad(lambda t, X, y, idx: lm.mse_grad(t, X, y))
    with pytest.raises(CheckFailed, match="divided by n = 30"):
        lecture04.check_minibatch_grad(lambda t, X, y, idx: right(t, X, y, idx) * len(idx) / 30)
    with pytest.raises(CheckFailed, match=r"idx=\[2, 2, 9\]"):  # a set of rows drops the repeat
        lecture04.check_minibatch_grad(lambda t, X, y, idx: right(t, X, y, np.unique(idx)))
