"""Gradient descent and SGD loops against references: closed forms, optim.run, torch.optim and torch schedulers."""
import itertools
import math
import warnings

import numpy as np
import pytest
import torch

from lecture_utils import (averaging, basin_maps, descent, linear_models as lm, measure, minibatch, optim, problems,
                           schedules, sgd, surfaces)
from lecture_utils.datasets import load_digits


pytestmark = pytest.mark.usefixtures("float64_default")  # torch tensors default to float64 here


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def half_quadratic(a):
    """(a/2) x^2: curvature a, gradient descent stable iff 0 < lr < 2/a."""
    return surfaces.from_quadratic(np.array([[a]]), bounds=[(-3.0, 3.0)])


# ---- lecture 03: gradient descent -----------------------------------------------------------------------
def test_gradient_descent_matches_closed_form_on_a_quadratic():
    a, lr, x0 = 4.0, 0.1, 3.0
    res = descent.gradient_descent(half_quadratic(a), x0, lr=lr, tol=0.0, max_steps=25)
    np.testing.assert_allclose(res.xs[:, 0], x0 * (1 - lr * a) ** np.arange(26), rtol=1e-12)
    assert res.num_steps == 25 and not res.stopped and res.status() == "no stop after 25 steps"


def reference_stop(f, df, x0, lr, tol, max_steps):
    x = x0
    for t in range(1, max_steps + 1):
        x_new = x - lr * df(x)
        if abs(f(x_new) - f(x)) < tol:
            return x_new, t
        x = x_new
    return x, max_steps


@pytest.mark.parametrize("lr, tol", [(1.0, 1e-6), (0.1, 1e-6), (0.01, 1e-5), (0.3, 1e-9)])
def test_gradient_descent_stopping_rule_on_x_plus_sin(lr, tol):
    s = surfaces.get("x_plus_sin")
    res = descent.gradient_descent(s, 2.5, lr=lr, tol=tol, max_steps=20_000)
    x_ref, steps_ref = reference_stop(lambda x: x + math.sin(x), lambda x: 1 + math.cos(x), 2.5, lr, tol, 20_000)
    assert res.stopped and res.num_steps == steps_ref
    assert res.x[0] == pytest.approx(x_ref, rel=1e-12)
    assert abs(res.values[-1] - res.values[-2]) < tol <= abs(res.values[-2] - res.values[-3])


def test_gradient_descent_reports_divergence_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = descent.gradient_descent(half_quadratic(1.0), 1.0, lr=50.0, tol=1e-9, max_steps=10_000)
    traj = optim.run(half_quadratic(1.0), optim.SGD(lr=50.0), [1.0], num_steps=400)
    assert res.diverged_at > 0 and res.status() == f"diverged at step {res.diverged_at}"
    assert res.diverged_at == traj.diverged_at[0]  # the same step optim.run reports
    assert np.all(np.isfinite(res.xs))


def test_gradient_descent_rejects_bad_input():
    s = surfaces.get("x_plus_sin")
    for kwargs in (dict(lr=0.0), dict(lr=0.1, tol=-1.0), dict(lr=0.1, max_steps=0)):
        with pytest.raises(ValueError):
            descent.gradient_descent(s, 2.5, **kwargs)
    with pytest.raises(ValueError):
        descent.gradient_descent(s, [1.0, 2.0], lr=0.1)
    with pytest.raises(TypeError):
        descent.gradient_descent(42, 2.5, lr=0.1)
    by_name = descent.gradient_descent("x_plus_sin", 2.5, lr=0.1)  # a registered name is looked up
    np.testing.assert_array_equal(by_name.xs, descent.gradient_descent(s, 2.5, lr=0.1).xs)


def test_orbits_on_a_quadratic_converge_cycle_or_diverge_at_two_over_a():
    a = 4.0
    lrs = np.array([0.1, 0.3, 0.49, 0.5, 0.51, 1.0])
    orb = descent.gd_orbits(half_quadratic(a), lrs, x0=1.0, num_steps=2000, keep=8)
    assert [orb.period(i) for i in range(3)] == [1, 1, 1]
    np.testing.assert_allclose(orb.late[:3], 0.0, atol=1e-12)
    assert orb.period(3) == 2  # lr = 2/a exactly: x -> -x forever
    np.testing.assert_allclose(np.abs(orb.late[3]), 1.0)
    # just above 2/a: |1 - lr a| = 1.04, the iterates grow without bound (but stay finite for 2000 steps)
    assert orb.period(4) == 0 and np.all(np.diff(np.abs(orb.late[4])) > 0)
    assert orb.diverged_at[4] == -1
    assert orb.period(5) == -1 and np.all(np.isnan(orb.late[5]))
    ref = optim.run(half_quadratic(a), optim.SGD(lr=1.0), [1.0], num_steps=2000)
    assert orb.diverged_at[5] == ref.diverged_at[0] > 0  # the step at which it overflowed, as optim.run says
    bounded = descent.gd_orbits(half_quadratic(a), lrs, x0=1.0, num_steps=2000, keep=8, bound=1e3)
    assert bounded.diverged_at[4] == math.ceil(math.log(1e3) / math.log(1.04)) and bounded.period(4) == -1
    np.testing.assert_array_equal(bounded.late[:4], orb.late[:4])


def test_orbits_equal_point_by_point_runs_on_multi_minima():
    s = surfaces.get("multi_minima")
    lrs = np.array([0.05, 0.4, 0.6, 0.9, 1.3])
    orb = descent.gd_orbits(s, lrs, x0=1.0, num_steps=300, keep=5)
    for i, lr in enumerate(lrs):
        ref = optim.run(s, optim.SGD(lr=lr), [1.0], num_steps=300, tol=0.0)
        np.testing.assert_allclose(orb.late[i], ref.xs[-5:, 0, 0], rtol=1e-9, atol=1e-12)
    assert orb.period(0) == 1


def test_basin_map_boundaries_are_the_local_maxima_for_a_small_rate():
    s = surfaces.get("multi_minima")
    x0s = np.linspace(-4, 4, 801)
    bm = basin_maps.basin_map_1d(s, x0s, lr=0.05, num_steps=600)
    assert set(bm.labels.tolist()) == set(range(len(bm.minima)))
    ivs = bm.intervals()
    assert len(ivs) == len(bm.minima)  # one interval per minimum: the basins are contiguous
    maxima = np.sort(s.maxima[:, 0])
    for (lo, hi, lab), (lo2, _, _) in zip(ivs[:-1], ivs[1:]):
        boundary = 0.5 * (hi + lo2)
        assert np.min(np.abs(maxima - boundary)) < 0.01 + 1e-9
    # each start's label agrees with its own optim.run
    for i in (0, 250, 600, 800):
        ref = optim.run(s, optim.SGD(lr=0.05), [x0s[i]], num_steps=600, tol=0.0).final[0, 0]
        assert bm.minima[bm.labels[i]] == pytest.approx(ref, abs=1e-3)


@pytest.mark.parametrize("lr", [0.45, 0.48, 0.5])
def test_basin_map_a_minimum_attracts_only_if_lr_below_two_over_curvature(lr):
    s = surfaces.get("multi_minima")
    bm = basin_maps.basin_map_1d(s, np.linspace(-4, 4, 801), lr=lr, num_steps=600)
    for k, m in enumerate(bm.minima):
        stable = lr < 2 / s.hessian(m)
        assert (bm.labels == k).any() == stable


def test_basin_map_reports_divergence():
    bad = basin_maps.basin_map_1d(half_quadratic(1.0), np.array([-1.0, 1.0]), lr=5.0, num_steps=2000)
    assert np.all(bad.labels == -2)


# ---- lecture 04: minibatches -------------------------------------------------------------------------
def test_epoch_batches_orders():
    rng = np.random.default_rng(0)
    b = minibatch.epoch_batches(10, 4, rng=rng)
    assert [len(x) for x in b] == [4, 4, 2]
    assert sorted(np.concatenate(b).tolist()) == list(range(10))
    b2 = minibatch.epoch_batches(10, 4, rng=rng)
    assert not np.array_equal(np.concatenate(b), np.concatenate(b2))  # reshuffled every epoch
    fixed = minibatch.epoch_batches(10, 3, order="fixed")
    assert np.concatenate(fixed).tolist() == list(range(10))
    labels = np.array([2, 0, 1, 0, 2, 1, 0, 1, 2, 0])
    srt = np.concatenate(minibatch.epoch_batches(10, 5, order="sorted", labels=labels))
    assert np.all(np.diff(labels[srt]) >= 0)
    with pytest.raises(ValueError, match="labels"):
        minibatch.epoch_batches(10, 5, order="sorted")
    with pytest.raises(ValueError):
        minibatch.epoch_batches(10, 11)
    with pytest.raises(ValueError):
        minibatch.epoch_batches(10, 2, order="random")


def test_epoch_batches_match_torch_dataloader_sizes():
    for n, bs in [(1347, 32), (100, 7), (64, 64), (5, 1)]:
        loader = torch.utils.data.DataLoader(torch.arange(n), batch_size=bs, shuffle=True)
        assert [len(x) for x in loader] == [len(x) for x in minibatch.epoch_batches(n, bs, rng=1)]


def test_sampling_with_replacement_misses_about_one_over_e():
    n = 2000
    rng = np.random.default_rng(3)
    missed = [1 - len(np.unique(np.concatenate(minibatch.epoch_batches(n, 50, order="replacement", rng=rng)))) / n
              for _ in range(20)]
    assert np.mean(missed) == pytest.approx((1 - 1 / n) ** n, abs=0.01)


def test_minibatch_gradients_are_unbiased_and_exact_for_the_full_batch(digits):
    X, y, _, _ = digits
    prob = problems.SoftmaxRegression(X, y)
    theta = prob.init(scale=0.1, seed=0)
    g = prob.grad(theta)
    full = minibatch.minibatch_grads(prob, theta, prob.n, 3, replace=False)
    np.testing.assert_allclose(full, np.tile(g, (3, 1)), atol=1e-12)
    est = minibatch.minibatch_grads(prob, theta, 8, 4000, seed=1)
    se = est.std(axis=0) / np.sqrt(len(est))
    z = (est.mean(axis=0) - g) / np.maximum(se, 1e-12)
    assert np.mean(np.abs(z) < 3) > 0.97  # the average of many estimates sits on the full gradient
    # a single draw is the mean gradient of some 5 rows: on 6 distinct examples, one of the 252 multisets of 5
    tiny = problems.LeastSquares(np.arange(6.0)[:, None], np.array([0.3, -1.0, 2.0, 0.5, 4.0, -2.5]))
    t0 = np.array([0.7, -0.2])
    multisets = [list(c) for c in itertools.combinations_with_replacement(range(6), 5)]
    for seed in range(5):
        one = minibatch.minibatch_grads(tiny, t0, 5, 1, seed=seed)[0]
        hits = [c for c in multisets if np.allclose(one, tiny.grad(t0, np.array(c)), rtol=1e-12, atol=1e-12)]
        assert len(hits) >= 1
    assert not np.allclose(one, tiny.grad(t0))  # and not the full gradient


def test_gradient_spread_follows_sigma_over_sqrt_n(digits):
    X, y, _, _ = digits
    prob = problems.SoftmaxRegression(X, y)
    theta = prob.init(scale=0.1, seed=0)
    sizes = 2 ** np.arange(0, 11)
    sp = minibatch.gradient_spread(prob, theta, sizes, num_draws=300, replace=True, seed=0)
    np.testing.assert_allclose(sp.spread, sp.sigma / np.sqrt(sizes), rtol=0.15)
    assert measure.loglog_slope(sizes, sp.spread) == pytest.approx(-0.5, abs=0.05)
    G = prob.example_grads(theta)
    assert sp.sigma == pytest.approx(np.sqrt(np.mean(np.sum((G - G.mean(0)) ** 2, axis=1))))
    wo = minibatch.gradient_spread(prob, theta, np.array([16, 512, 1024, prob.n]), num_draws=300, replace=False)
    np.testing.assert_allclose(wo.spread[:3], wo.predicted[:3], rtol=0.15)
    assert wo.spread[-1] < 1e-12  # the whole data set: no noise left
    assert wo.predicted[2] < 0.6 * sp.predicted[-1]  # the finite-population factor at n = 1024 of 1347


def test_loglog_slope():
    assert measure.loglog_slope([1, 4, 16], [1.0, 0.5, 0.25]) == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        measure.loglog_slope([1, 2], [1.0, -1.0])


def test_inverse_time_lr_equals_torch_lambda_lr():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 50 / (50 + step))
    ours = schedules.InverseTimeLR(50)
    for step in range(200):
        assert ours(0.3, step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()


def test_batch_gd_equals_optim_run_on_the_regression_surface():
    rng = np.random.default_rng(0)
    x = rng.normal(size=64)
    y = 2 * x + 1 + 0.3 * rng.normal(size=64)
    prob = problems.LeastSquares(x, y)
    run = sgd.sgd(prob, np.array([-1.0, 3.0]), lr=0.2, batch_size=64, num_epochs=30, order="fixed")
    ref = optim.run(lm.regression_surface(x, y), optim.SGD(lr=0.2), [-1.0, 3.0], num_steps=30, tol=0.0)
    np.testing.assert_allclose(run.thetas, ref.xs[:, 0], rtol=1e-12, atol=1e-14)
    assert run.updates[-1] == 30 and run.grad_evals[-1] == 30 * 64 and run.label == "batch GD, lr 0.2"


def test_minibatch_sgd_equals_torch_optim_sgd_with_the_same_batches(digits):
    X, y, _, _ = digits
    X, y = X[:300], y[:300]
    prob = problems.SoftmaxRegression(X, y, weight_decay=0.01)
    theta0 = prob.init(scale=0.05, seed=3)
    run = sgd.sgd(prob, theta0, lr=0.5, batch_size=32, num_epochs=2, order="sorted", records_per_epoch=100,
                  lr_schedule=schedules.StepLR(step_size=5, gamma=0.5))
    # torch reference: same batches (sorted order), same loss, torch.optim.SGD + StepLR
    W = torch.nn.Parameter(torch.tensor(theta0).reshape(65, 10).clone())
    opt = torch.optim.SGD([W], lr=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    order = np.argsort(y, kind="stable")
    Xt, yt = torch.tensor(X), torch.tensor(y)
    path = [W.detach().numpy().ravel().copy()]
    for _ in range(2):
        for s in range(0, 300, 32):
            idx = torch.tensor(order[s:s + 32])
            loss = torch.nn.functional.cross_entropy(Xt[idx] @ W[:-1] + W[-1], yt[idx]) + 0.005 * (W[:-1] ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            path.append(W.detach().numpy().ravel().copy())
    np.testing.assert_allclose(run.thetas, np.array(path), rtol=1e-9, atol=1e-12)
    assert run.updates[-1] == 20 and run.grad_evals[-1] == 600


def test_sgd_counts_records_averaging_and_time(digits):
    X, y, Xv, yv = digits
    prob, val = problems.SoftmaxRegression(X, y), problems.SoftmaxRegression(Xv, yv)
    run = sgd.sgd(prob, prob.init(), lr=0.3, batch_size=64, num_epochs=2, val=val, records_per_epoch=200,
                  average_start=5, seed=4)
    nb = math.ceil(prob.n / 64)
    assert run.updates[-1] == 2 * nb and run.grad_evals[-1] == 2 * prob.n
    np.testing.assert_allclose(run.epochs, run.grad_evals / prob.n)
    assert len(run.updates) == 2 * nb + 1  # every update recorded (200 records asked for, 22 batches)
    assert np.all(np.diff(run.seconds) >= 0) and run.seconds[0] == 0
    np.testing.assert_allclose(run.val_loss[[0, -1]], [val.loss(run.thetas[0]), val.loss(run.theta)])
    expect = run.thetas[6:].mean(axis=0)  # the iterates after update 5
    np.testing.assert_allclose(run.theta_avg, expect, rtol=1e-10, atol=1e-13)
    assert run.avg_loss[-1] == pytest.approx(prob.loss(expect))
    assert run.train_loss[-1] < 0.6 * run.train_loss[0]


def test_sgd_fractional_epochs_and_callback():
    land = problems.TiltedLandscape(n=20, noise=1.0)
    seen = []
    run = sgd.sgd(land, [0.5], lr=0.01, batch_size=3, num_epochs=0.5, callback=lambda r: seen.append(len(r["updates"])))
    # half an epoch is 10 examples; batches of 3 reach it with the fourth update (3, 6, 9, 12 examples)
    assert run.grad_evals[-1] == 12 and run.epochs[-1] == pytest.approx(0.6)
    assert run.updates[-1] == 4 and seen == list(range(1, len(run.updates) + 1))


def test_sgd_reports_divergence_as_a_result():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50) * 10
    prob = problems.LeastSquares(x, 3 * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = sgd.sgd(prob, np.zeros(2), lr=10.0, batch_size=10, num_epochs=100)
    assert run.diverged_at > 0 and run.status().startswith("diverged at update")
    assert np.all(np.isfinite(run.theta))


def test_sgd_rejects_bad_input():
    land = problems.TiltedLandscape(n=20)
    for kwargs in (dict(lr=-1.0, batch_size=1), dict(lr=0.1, batch_size=0), dict(lr=0.1, batch_size=21),
                   dict(lr=0.1, batch_size=2, order="nope"), dict(lr=0.1, batch_size=2, num_epochs=0)):
        with pytest.raises(ValueError):
            sgd.sgd(land, [0.0], **kwargs)
    with pytest.raises(ValueError):
        sgd.sgd(land, [0.0, 1.0], lr=0.1, batch_size=2)
    with pytest.raises(TypeError):
        sgd.sgd(object(), [0.0], lr=0.1, batch_size=1)


def test_running_average_and_early_stopping():
    np.testing.assert_allclose(averaging.polyak_average([[0.0], [2.0], [4.0]]), [[0], [1], [2]])
    T = np.random.default_rng(0).normal(size=(30, 4))
    np.testing.assert_allclose(averaging.polyak_average(T)[-1], T.mean(0))
    assert sgd.early_stopping([3, 2, 1, 2, 3, 4], patience=2) == (2, 4)
    assert sgd.early_stopping([3, 2, 1, 0.5], patience=2) == (3, 3)
    assert sgd.early_stopping([1, np.nan, 2, 3], patience=3) == (0, 3)


# ---- the designed landscape -------------------------------------------------------------------------
def test_tilted_landscape_is_the_mean_of_its_examples():
    land = problems.TiltedLandscape(n=64, noise=5.0, seed=2)
    assert land.tilts.mean() == pytest.approx(0.0, abs=1e-12)
    assert land.tilts.std() == pytest.approx(5.0)
    for x in (-1.3, 0.0, 2.5):
        assert land.loss([x]) == pytest.approx(float(land.surface.value(x)))
        h = 1e-6
        fd = (land.surface.value(x + h) - land.surface.value(x - h)) / (2 * h)
        assert land.grad([x])[0] == pytest.approx(fd, rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(land.example_grads([x]).mean(), land.grad([x])[0], atol=1e-10)
        np.testing.assert_allclose(land.grad([x], [3, 5])[0], land.surface.grad(x) + land.tilts[[3, 5]].mean())
    assert land.surface.classify([land.sharp_min]) == "minimum" and land.surface.classify([land.good_min]) == "minimum"
    assert land.surface.value(land.sharp_min) > land.surface.value(land.good_min) + 0.2  # the sharp one is poor
    assert land.sharpness(land.sharp_min) > 20 * land.sharpness(land.good_min)
    assert land.sharp_min < land.barrier < land.good_min
    with pytest.raises(ValueError):
        problems.TiltedLandscape(depth=0.01)  # too shallow: no second minimum


def test_sgd_many_full_batch_is_gradient_descent_and_shuffles_without_replacement():
    land = problems.TiltedLandscape(n=32, noise=4.0)
    xs = land.sgd_many(-0.5, 0.02, 32, 200, num_runs=3)
    ref = optim.run(land.surface, optim.SGD(lr=0.02), [-0.5], num_steps=200, tol=0.0).xs[:, 0, 0]
    for r in range(3):
        np.testing.assert_allclose(xs[:, r], ref, rtol=1e-12)
    # batch size 1: within one epoch every example's tilt is used exactly once
    xs = land.sgd_many(-0.5, 0.02, 1, 64, num_runs=2, seed=5)
    used = -(xs[1:] - xs[:-1]) / 0.02 - land.surface.grad(xs[:-1].ravel()).reshape(64, 2)
    for r in range(2):
        for epoch in range(2):
            np.testing.assert_allclose(np.sort(used[32 * epoch:32 * (epoch + 1), r]), np.sort(land.tilts), atol=1e-8)


def test_noise_escapes_the_sharp_minimum_and_full_batch_stays():
    land = problems.TiltedLandscape()
    assert 0.02 < 2 / land.sharpness(land.sharp_min)  # full-batch descent is stable in the sharp well
    full = land.sgd_many(land.sharp_min, 0.02, land.n, 1000, num_runs=1)
    assert abs(full[-1, 0] - land.sharp_min) < 1e-9
    small = land.sgd_many(land.sharp_min, 0.02, 1, 2000, num_runs=40)
    big = land.sgd_many(land.sharp_min, 0.02, 64, 2000, num_runs=40)
    assert land.in_good_basin(small[-1]).mean() >= 0.9
    assert land.in_good_basin(big[-1]).mean() <= 0.1
    # the generic loop does the same thing
    ends = [sgd.sgd(land, [land.sharp_min], lr=0.02, batch_size=1, num_epochs=8, seed=s).theta[0] for s in range(5)]
    assert land.in_good_basin(ends).mean() >= 0.8


def test_sgd_record_at_given_updates():
    land = problems.TiltedLandscape(n=20, noise=1.0)
    run = sgd.sgd(land, [0.5], lr=0.01, batch_size=2, num_epochs=3, record_at=[1, 2, 5, 5.2, 17, 1000])
    assert run.updates.tolist() == [0, 1, 2, 5, 17, 30]
    every = sgd.sgd(land, [0.5], lr=0.01, batch_size=2, num_epochs=3, records_per_epoch=10)
    np.testing.assert_allclose(run.thetas, every.thetas[[0, 1, 2, 5, 17, 30]])


def test_with_bounds_keeps_the_function_and_changes_the_box():
    s = surfaces.get("x_plus_sin")
    w = s.with_bounds([(-4.5, 3.5)])
    assert w.bounds == ((-4.5, 3.5),) and s.bounds == ((-1.0, 7.0),)
    xs = np.linspace(-4, 3, 9)
    np.testing.assert_array_equal(w.value(xs), s.value(xs))
    np.testing.assert_array_equal(w.grad(xs), s.grad(xs))
    assert w.classify([-math.pi]) == "degenerate"
    with pytest.raises(ValueError):
        s.with_bounds([(1.0, 0.0)])
