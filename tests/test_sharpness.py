"""The edge-of-stability loop: every model's Hessian-vector products from the stacked backward equal its own; the
training equals full-batch gradient descent alone; the recorded sharpness equals the exact top eigenvalue; the
claims' measurements on hand-made histories; divergence is a result."""
import copy
import warnings

import numpy as np
import pytest
import torch

from lecture_utils.training import curvature, data, nets, sharpness, train
from lecture_utils.training.stacked import StackedMLP


@pytest.fixture(scope="module")
def digits():
    ds = data.digits(seed=0, device="cpu")
    X = ds.X_train[:80].double()
    return X, torch.eye(10, dtype=torch.float64)[ds.y_train[:80]]     # one-hot targets: MSE


def _models(K, hidden=(6,), seed=0, in_dim=64, out_dim=10):
    out = []
    for k in range(K):
        torch.manual_seed(seed + k)
        out.append(nets.MLP(in_dim, hidden, out_dim, activation="tanh").double())
    return out


def test_stacked_products_equal_each_models_own(digits):
    X, y = digits
    models = _models(3)
    H = sharpness.StackedHessian(StackedMLP(models), X, y)
    P = sum(p.numel() for p in models[0].parameters())
    assert (H.batch, H.dim) == (3, P)
    V = torch.randn(3, P, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    HV = H(V)
    for k, net in enumerate(models):
        own = curvature.HessianOperator(net, X, y)
        torch.testing.assert_close(HV[k], own(V[k]), rtol=1e-9, atol=1e-12)
        assert H.loss[k] == pytest.approx(own.loss, rel=1e-12)


def test_training_is_full_batch_gradient_descent_and_sharpness_is_exact(digits):
    X, y = digits
    lrs = [0.3, 0.6]
    models = _models(2)
    alone = [copy.deepcopy(m) for m in models]
    hist = sharpness.run_sharpness(models, (X, y), lrs, 30, every=10, num_iters=60)
    assert hist.steps.tolist() == [0, 10, 20, 30] and hist.step_loss.shape == (2, 31)
    for k, (net, lr) in enumerate(zip(alone, lrs)):
        losses = []
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        for step in range(31):
            loss = train.task_loss(net(X), y)
            losses.append(loss.item())
            if step % 10 == 0:
                H = curvature.exact_hessian(net, X, y)
                exact = float(torch.linalg.eigvalsh(H)[-1])
                assert hist.sharpness[k, step // 10] == pytest.approx(exact, rel=1e-8), (k, step)
                assert hist.loss[k, step // 10] == pytest.approx(losses[-1], rel=1e-10)
            if step == 30:
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
        np.testing.assert_allclose(hist.step_loss[k], losses, rtol=1e-10)
        for p, q in zip(net.parameters(), models[k].parameters()):  # the nets are trained in place
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_a_few_warm_started_lanczos_steps_track_the_sharpness(digits):
    X, y = digits
    models = _models(2, hidden=(8,))
    hist = sharpness.run_sharpness(models, (X, y), [0.5, 0.5], 60, every=20, num_iters=8)
    for k, net in enumerate(models):  # the final measurement, against the exact Hessian of the trained net
        exact = float(torch.linalg.eigvalsh(curvature.exact_hessian(net, X, y))[-1])
        assert hist.sharpness[k, -1] == pytest.approx(exact, rel=1e-4)


def test_records_arrive_live_and_the_last_one_is_at_num_steps(digits):
    X, y = digits
    recs = list(sharpness.fit_sharpness(_models(2), (X, y), [0.1, 0.2], 25, every=10))
    assert [r["step"] for r in recs] == [0, 10, 20, 25]
    assert [r["step_loss"].shape[1] for r in recs] == [0, 10, 10, 5]
    assert all(r["sharpness"].shape == (2,) and r["loss"].shape == (2,) for r in recs)


def _history(sharp, lrs, step_loss, every=1):
    sharp = np.asarray(sharp, float)
    steps = np.arange(sharp.shape[1]) * every
    return sharpness.SharpnessHistory(steps=steps, loss=np.asarray(step_loss, float)[:, ::every],
                                      sharpness=sharp, step_loss=np.asarray(step_loss, float), lrs=np.asarray(lrs),
                                      diverged=np.zeros(len(lrs), bool))


def test_the_measurements_of_the_claims():
    # Run 0 (2 / lr = 4) reaches at record 2 and hovers; run 1 (2 / lr = 10) never reaches.
    h = _history([[1.0, 3.0, 4.2, 3.8, 4.4], [1.0, 2.0, 3.0, 4.0, 5.0]], [0.5, 0.2],
                 [[1.0, 0.8, 0.6, 0.7, 0.5], [1.0, 0.9, 0.8, 0.7, 0.6]])
    np.testing.assert_allclose(h.threshold, [4.0, 10.0])
    assert h.first_reach().tolist() == [2, -1]
    assert h.first_reach(0.5).tolist() == [1, 4]
    np.testing.assert_allclose(h.reach_step(), [2, np.nan])
    low, high = h.band()
    np.testing.assert_allclose([low[0], high[0]], [0.95, 1.1])
    assert np.isnan(low[1]) and np.isnan(high[1])
    np.testing.assert_allclose(h.band(skip=1)[0][0], 0.95)
    np.testing.assert_allclose(h.loss_at_reach(), [0.6, np.nan])
    np.testing.assert_allclose(h.final_loss, [0.5, 0.6])
    assert h.loss_increases().tolist() == [1, 0]
    h5 = _history([[1.0, 4.5]], [0.5], [[1.0, 0.9, 0.8, 0.85, 0.7, 0.6]], every=5)
    assert h5.reach_step().tolist() == [5.0] and h5.loss_at_reach().tolist() == [0.6]


def test_divergence_is_a_result_not_a_crash(digits):
    X, y = (t.float() for t in digits)
    models = [m.float() for m in _models(2)]
    alone = copy.deepcopy(models[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = sharpness.run_sharpness(models, (X, y), [0.1, 1e3], 20, every=5)
    assert hist.diverged.tolist() == [False, True]
    assert np.isnan(hist.sharpness[1, -1]) and np.isfinite(hist.sharpness[0]).all()
    first_bad = int(np.argmax(~np.isfinite(hist.step_loss[1])))
    assert 0 < first_bad < 20 and np.isnan(hist.step_loss[1, first_bad + 1:]).all()  # NaN after, never 0
    ref = sharpness.run_sharpness([alone], (X, y), [0.1], 20, every=5)
    np.testing.assert_allclose(hist.sharpness[0], ref.sharpness[0], rtol=1e-6)   # the other model is unaffected
    np.testing.assert_allclose(hist.step_loss[0], ref.step_loss[0], rtol=1e-6)
    both = sharpness.run_sharpness([m.float() for m in _models(1)], (X, y), [1e3], 20, every=5)
    # every model diverged: training stops there, and the history ends at that step
    assert both.diverged.tolist() == [True] and both.steps[-1] < 20
    assert both.step_loss.shape == (1, both.steps[-1] + 1) and not np.isfinite(both.step_loss[0, -1])


def test_progressive_sharpening_and_the_edge_of_stability_on_a_small_net():
    """The notebook's claim at a small size: the sharpness rises to 2 / lr and stays near it, the loss falls."""
    ds = data.digits(seed=0, device="cpu")
    X, y = ds.X_train[:200], torch.eye(10)[ds.y_train[:200]]
    models = _models(2, hidden=(16, 16), seed=10)
    models = [m.float() for m in models]
    hist = sharpness.run_sharpness(models, (X, y), [1.0, 1.0], 400, every=20, num_iters=10)
    assert (hist.ratio[:, 0] < 0.9).all() and (hist.first_reach() > 0).all()
    low, high = hist.band()
    assert (low > 0.8).all() and (high < 1.4).all()
    assert (hist.final_loss < hist.loss_at_reach()).all() and (hist.loss_increases() > 0).all()


def test_bad_arguments_are_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="every must be >= 1"):
        next(sharpness.fit_sharpness(_models(1), (X, y), [0.1], 10, every=0))
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        next(sharpness.fit_sharpness(_models(1), (X, y), [0.1], 0))
    with pytest.raises(ValueError, match="lrs must have one value per net"):
        next(sharpness.fit_sharpness(_models(2), (X, y), [0.1], 10))
    with pytest.raises(TypeError, match="data must be a Dataset"):
        next(sharpness.fit_sharpness(_models(1), X, [0.1], 10))
