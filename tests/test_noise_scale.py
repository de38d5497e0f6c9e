"""Per-example gradients (vmap vs a loop vs autograd per example), the gradient noise scale against its formulas and
its bootstrap error against the truth of known distributions, steps to a target against the training records they
come from, and the critical-batch fit against exact curves."""
import math

import numpy as np
import pytest
import torch

from lecture_utils.training import batched, nets, noise_scale as NS


def _data(n=60, d=5, classes=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=dtype)
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).long() + (X[:, 2] > 0.8).long()
    return X, y


def _net(seed=0, d=5, out=3, hidden=(7,)):
    torch.manual_seed(seed)
    return nets.MLP(d, hidden, out).double()


def test_per_example_gradients_equal_the_loop_and_autograd_of_each_loss():
    X, y = _data()
    net = _net()
    G = NS.per_example_gradients(net, X, y)
    assert G.shape == (60, sum(p.numel() for p in net.parameters()))
    torch.testing.assert_close(G, NS.per_example_gradients_loop(net, X, y), rtol=1e-12, atol=1e-14)
    i = 17  # one example by hand: the gradient of its cross-entropy
    loss = torch.nn.functional.cross_entropy(net(X[i:i + 1]), y[i:i + 1])
    by_hand = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(net.parameters()))])
    torch.testing.assert_close(G[i], by_hand, rtol=1e-12, atol=1e-14)
    # their mean is the gradient of the mean loss
    mean_loss = torch.nn.functional.cross_entropy(net(X), y)
    full = torch.cat([g.reshape(-1) for g in torch.autograd.grad(mean_loss, list(net.parameters()))])
    torch.testing.assert_close(G.mean(0), full, rtol=1e-10, atol=1e-13)


def test_per_example_gradients_of_a_regression_use_the_squared_error():
    X, _ = _data()
    y = X[:, :2] * 2 - 1
    net = _net(out=2)
    G = NS.per_example_gradients(net, X, y)
    torch.testing.assert_close(G, NS.per_example_gradients_loop(net, X, y), rtol=1e-12, atol=1e-14)


def test_batch_norm_is_refused_and_the_net_is_unchanged():
    X, y = _data()
    with pytest.raises(ValueError, match="batch norm"):
        NS.per_example_gradients(nets.MLP(5, (7,), 3, batch_norm=True).double(), X, y)
    with pytest.raises(TypeError, match="net must be"):
        NS.per_example_gradients("net", X, y)
    net = _net()
    before = [p.clone() for p in net.parameters()]
    NS.per_example_gradients(net, X, y)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_noise_scale_formulas():
    rng = np.random.default_rng(0)
    G = rng.normal(0.3, 1.0, size=(50, 4))
    mean = G.mean(0)
    tr_unbiased = ((G - mean) ** 2).sum() / 49
    un = NS.noise_scale(G, num_bootstrap=0)
    assert un.trace_sigma == pytest.approx(tr_unbiased, rel=1e-12)
    assert un.grad_norm_sq == pytest.approx(mean @ mean - tr_unbiased / 50, rel=1e-12)
    assert un.b_simple == pytest.approx(un.trace_sigma / un.grad_norm_sq, rel=1e-12)
    assert math.isnan(un.low) and un.n == 50
    pop = NS.noise_scale(G, estimator="population", num_bootstrap=0)
    assert pop.trace_sigma == pytest.approx(((G - mean) ** 2).sum() / 50, rel=1e-12)
    assert pop.grad_norm_sq == pytest.approx(mean @ mean, rel=1e-12)
    torch_form = NS.noise_scale(torch.tensor(G, dtype=torch.float32), num_bootstrap=0)
    assert torch_form.b_simple == pytest.approx(un.b_simple, rel=1e-5)


def test_noise_swamping_the_signal_gives_an_infinite_noise_scale():
    G = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # mean exactly 0
    ns = NS.noise_scale(G, num_bootstrap=20, seed=1)
    assert ns.b_simple == math.inf and ns.grad_norm_sq < 0
    assert ns.high == math.inf


def test_the_bootstrap_interval_covers_the_true_noise_scale():
    """Rows drawn from N(mu, diag(s^2)): the true B_simple is sum(s^2) / |mu|^2 = 20. The 95% interval from 400
    rows covers it in most of 40 draws."""
    mu, s = np.array([0.5, -0.5, 0.5, 0.5]), np.full(4, math.sqrt(5.0))
    truth = (s ** 2).sum() / (mu @ mu)
    rng = np.random.default_rng(42)
    covered, estimates = 0, []
    for trial in range(40):
        ns = NS.noise_scale(mu + s * rng.standard_normal((400, 4)), num_bootstrap=200, seed=trial)
        covered += ns.low <= truth <= ns.high
        estimates.append(ns.b_simple)
    assert covered >= 34, covered   # about 95% expected; 34 of 40 leaves room for chance
    assert abs(np.median(estimates) / truth - 1) < 0.1


def test_the_corrected_signal_is_unbiased_and_the_plain_one_is_not():
    """E|g_bar|^2 = |mu|^2 + tr(Sigma) / n: over 400 draws of 50 rows the corrected |G|^2 averages to |mu|^2 = 1,
    the plain |g_bar|^2 to 1 + 20 / 50 = 1.4."""
    mu, s = np.array([0.5, -0.5, 0.5, 0.5]), np.full(4, math.sqrt(5.0))
    rng = np.random.default_rng(7)
    corrected, plain = [], []
    for _ in range(400):
        G = mu + s * rng.standard_normal((50, 4))
        corrected.append(NS.noise_scale(G, num_bootstrap=0).grad_norm_sq)
        plain.append(G.mean(0) @ G.mean(0))
    se = np.std(corrected) / math.sqrt(400)
    assert abs(np.mean(corrected) - 1.0) < 3 * se
    assert abs(np.mean(plain) - 1.4) < 3 * np.std(plain) / math.sqrt(400)


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((1, 3)), ValueError, "n >= 2"),
    (np.zeros(5), ValueError, "shape"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "NaN|finite"),
    ("grads", TypeError, "grads"),
])
def test_noise_scale_refuses_bad_gradients(bad, error, match):
    with pytest.raises(error, match=match):
        NS.noise_scale(bad)


def test_noise_scale_refuses_bad_options():
    with pytest.raises(ValueError, match="estimator"):
        NS.noise_scale(np.ones((3, 2)), estimator="biased")
    with pytest.raises(ValueError, match="num_bootstrap"):
        NS.noise_scale(np.ones((3, 2)), num_bootstrap=-1)


def _make(seed):
    torch.manual_seed(seed)
    return nets.MLP(5, (8,), 3).double()


def test_steps_to_target_is_the_first_record_at_or_below_the_target():
    X, y = _data(n=96)
    lrs, seeds, target = [0.05, 0.3, 1.0], [0, 1], 0.6
    res = NS.steps_to_target(_make, (X, y), 16, lrs, seeds, target, max_steps=400, eval_every=4, stop_early=False)
    assert res.steps.shape == (3, 2) and res.losses.shape[1:] == (3, 2)
    # the same training, record by record, with fit_many itself
    models = [_make(s) for _ in lrs for s in seeds]
    recs = list(batched.fit_many(models, (X, y, X, y), "sgd", epochs=400 // 6 + 1, batch_size=16, seeds=seeds * 3,
                                 lrs=np.repeat(lrs, 2).tolist(), eval_every=4, max_steps=400, drop_last=True,
                                 progress=False))
    losses = np.array([r["test_loss"] for r in recs])
    steps = np.array([r["step"] for r in recs])
    for j in range(6):
        below = np.nonzero(losses[:, j] <= target)[0]
        want = steps[below[0]] if below.size else np.inf
        assert res.steps.reshape(-1)[j] == want
    R = len(res.record_steps)  # it stops once every net has reached the target
    assert np.isfinite(res.steps).all() or R == len(recs)
    np.testing.assert_allclose(res.losses.reshape(R, -1), losses[:R], rtol=1e-12)
    np.testing.assert_array_equal(res.record_steps, steps[:R])
    assert np.isfinite(res.steps[1]).all()          # a good rate reaches the target
    assert np.all(res.examples == 16 * res.steps)


def test_stop_early_keeps_the_best_rate_and_its_seeds():
    X, y = _data(n=96)
    full = NS.steps_to_target(_make, (X, y), 16, [0.05, 0.3, 1.0], [0, 1, 2], 0.6, max_steps=400, eval_every=4,
                              stop_early=False)
    early = NS.steps_to_target(_make, (X, y), 16, [0.05, 0.3, 1.0], [0, 1, 2], 0.6, max_steps=400, eval_every=4)
    assert early.best == full.best
    np.testing.assert_array_equal(early.steps[early.best], full.steps[full.best])
    assert early.record_steps[-1] <= full.record_steps[-1]


def test_patience_gives_up_on_nets_whose_loss_stopped_falling():
    X, y = _data(n=96)
    stuck = NS.steps_to_target(_make, (X, y), 16, [1e-9], [0, 1], 0.01, max_steps=2000, eval_every=2, patience=5)
    assert np.isinf(stuck.steps).all() and stuck.record_steps[-1] <= 2 * 7
    patient = NS.steps_to_target(_make, (X, y), 16, [1e-9], [0, 1], 0.01, max_steps=60, eval_every=2)
    assert patient.record_steps[-1] == 60  # without patience it runs to max_steps
    with pytest.raises(ValueError, match="patience"):
        NS.steps_to_target(_make, (X, y), 16, [0.1], [0], 0.5, patience=0)


def test_a_rate_that_diverges_never_counts_as_reaching_the_target():
    X, y = _data(n=96)
    res = NS.steps_to_target(_make, (X, y), 16, [1e4], [0, 1], 0.6, max_steps=50, eval_every=2)
    assert res.diverged.all() and np.isinf(res.steps).all()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 1000}, ValueError, "larger than"),
    ({"target": -1.0}, ValueError, "target"),
    ({"lrs": []}, ValueError, "at least one"),
    ({"make_net": 3}, TypeError, "make_net"),
    ({"max_steps": 0}, ValueError, "max_steps"),
])
def test_steps_to_target_refuses_bad_input(kwargs, error, match):
    X, y = _data(n=96)
    args = dict(make_net=_make, data=(X, y), batch_size=16, lrs=[0.1], seeds=[0], target=0.5)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        NS.steps_to_target(**args)


def test_sweep_takes_each_batch_size_at_its_best_rate():
    X, y = _data(n=96)
    sweep = NS.sweep_batch_sizes(_make, (X, y), [8, 32], lambda b: [0.1 * b ** 0.5, 0.2 * b ** 0.5], [0, 1], 0.6,
                                 max_steps=300, eval_every=2)
    assert sweep.steps.shape == (2, 2) and sweep.best_lr.shape == (2,)
    for i, run in enumerate(sweep.runs):
        assert sweep.best_lr[i] == run.lrs[run.best]
        np.testing.assert_array_equal(sweep.steps[i], run.steps[run.best])
    np.testing.assert_array_equal(sweep.examples, sweep.batch_sizes[:, None] * sweep.steps)


@pytest.mark.parametrize("b_crit, s_min", [(32.0, 100.0), (5.0, 40.0), (700.0, 12.0)])
def test_the_critical_batch_fit_recovers_exact_curves(b_crit, s_min):
    B = np.array([4, 8, 16, 64, 256, 1024, 4096])
    fit = NS.fit_critical_batch(B, s_min * (1 + b_crit / B))
    assert fit.b_crit == pytest.approx(b_crit, rel=2e-3)
    assert fit.s_min == pytest.approx(s_min, rel=2e-3)
    assert fit.e_min == pytest.approx(s_min * b_crit, rel=4e-3)
    assert fit.rms_log_error < 1e-3
    np.testing.assert_allclose(fit.steps(B), s_min * (1 + b_crit / B), rtol=5e-3)


def test_the_critical_batch_fit_of_noisy_steps_stays_close():
    rng = np.random.default_rng(3)
    B = np.array([8, 16, 32, 64, 128, 256, 512])
    S = 90 * (1 + 30 / B) * np.exp(0.05 * rng.standard_normal(B.size))
    fit = NS.fit_critical_batch(B, S)
    assert 20 < fit.b_crit < 45 and fit.rms_log_error < 0.1


@pytest.mark.parametrize("B, S, match", [
    ([8], [10], "at least 2"),
    ([8, 16], [10, np.inf], "finite"),
    ([8, -16], [10, 5], "positive"),
    ([8, 16, 32], [10, 5], "same shape"),
])
def test_the_critical_batch_fit_refuses_what_cannot_be_fitted(B, S, match):
    with pytest.raises(ValueError, match=match):
        NS.fit_critical_batch(B, S)
