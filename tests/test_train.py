"""The training loop against a hand-written reference loop with the same minibatches, plus its contract."""
import copy
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils import optim, schedules, set_seed
from lecture_utils.training import data, nets, optimizers, train


@pytest.fixture(scope="module")
def digits():
    return data.digits(device="cpu")


def small_data(n=90, seed=0):
    return data.blobs(n=n, num_classes=3, dim=4, std=1.0, seed=seed, device="cpu")


def reference_loop(net, X, y, torch_opt, epochs, batch_size, seed, aux_weight=0.0):
    """What a student writes: one permutation per epoch from a seeded generator, slices, loss, step."""
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            out = net(X[idx])
            if isinstance(out, tuple):
                loss = F.cross_entropy(out[0], y[idx])
                loss = loss + aux_weight * sum(F.cross_entropy(a, y[idx]) for a in out[1]) / len(out[1])
            else:
                loss = F.cross_entropy(out, y[idx])
            torch_opt.zero_grad()
            loss.backward()
            torch_opt.step()
            losses.append(loss.item())
    return losses


def twins(seed=0, **kwargs):
    torch.manual_seed(seed)
    net = nets.MLP(4, hidden=(8, 8), out_dim=3, **kwargs).double()
    return net, copy.deepcopy(net)


def params_close(a, b, **tol):
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, **tol)


@pytest.mark.parametrize("make_opt", [
    lambda net: optim.SGD(lr=0.1, momentum=0.9),
    lambda net: optim.Adam(lr=1e-2),
    lambda net: torch.optim.RMSprop(net.parameters(), lr=1e-2),
])
def test_fit_equals_reference_loop(make_opt):
    ds = small_data()
    net, ref = twins(batch_norm=True)
    records = list(train.fit(net, ds, make_opt(net), epochs=3, batch_size=16, seed=7, drop_last=False,
                             progress=False))
    ref_opt = optimizers.make_optimizer(make_opt(ref), ref.parameters())
    losses = reference_loop(ref, ds.X_train.double(), ds.y_train, ref_opt, 3, 16, seed=7)
    params_close(net, ref)
    # each epoch record averages that epoch's minibatch losses
    steps = math.ceil(len(ds.X_train) / 16)
    for e in range(3):
        assert records[e + 1]["train_loss"] == pytest.approx(np.mean(losses[e * steps:(e + 1) * steps]), rel=1e-9)


def test_optimizer_forms_agree():
    ds = small_data()
    results = []
    for form, kw in [(optim.SGD(lr=0.05, momentum=0.5), None), (torch.optim.SGD, {"lr": 0.05, "momentum": 0.5}),
                     ("momentum", {"lr": 0.05, "momentum": 0.5}),
                     (lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.5), None)]:
        net, _ = twins(seed=3)
        train.run(net, ds, form, epochs=2, batch_size=10, opt_kwargs=kw, seed=1, progress=False)
        results.append(net)
    for other in results[1:]:
        params_close(results[0], other, rtol=0, atol=0)


def test_aux_heads_weight_enters_the_loss():
    ds = small_data()
    net, ref = twins(aux_heads=True)
    train.run(net, ds, optim.SGD(lr=0.1), epochs=2, batch_size=30, aux_weight=0.5, seed=2, drop_last=False,
              progress=False)
    reference_loop(ref, ds.X_train.double(), ds.y_train, torch.optim.SGD(ref.parameters(), lr=0.1), 2, 30,
                   seed=2, aux_weight=0.5)
    params_close(net, ref)
    # the auxiliary heads were trained, so the weight really mattered
    net0, _ = twins(aux_heads=True)
    assert not torch.allclose(net.heads[0].weight, net0.heads[0].weight)


def test_records_contract(digits):
    set_seed(0)
    net = nets.MLP(64, hidden=(32,), out_dim=10)
    recs = list(train.fit(net, digits, optim.Adam(lr=3e-3), epochs=2, batch_size=100, progress=False))
    # 1,347 = 13 x 100 + 47: the last batch of 47 < 100 / 2 is skipped by drop_last="auto"
    assert [r["step"] for r in recs] == [0, 13, 26]
    assert [r["epoch"] for r in recs] == [0.0, 1.0, 2.0]
    assert [r["examples"] for r in recs] == [0, 1300, 2600]
    assert all(set(r) == set(train.RECORD_KEYS) for r in recs)
    assert all(r["lr"] == 3e-3 and not r["diverged"] for r in recs)
    assert recs[0]["train_seconds"] == 0 and recs[-1]["seconds"] >= recs[-1]["train_seconds"] > 0
    ev = train.evaluate(net, digits.X_test, digits.y_test)
    assert recs[-1]["test_acc"] == ev["acc"] and recs[-1]["test_loss"] == pytest.approx(ev["loss"])
    assert net.training  # mode restored


def test_eval_every_and_max_steps(digits):
    net = nets.MLP(64, hidden=(16,), out_dim=10)
    steps = [r["step"] for r in train.fit(net, digits, "sgd", epochs=3, batch_size=200, eval_every=5,
                                          opt_kwargs={"lr": 0.1}, progress=False, log_initial=False)]
    assert steps == [5, 10, 15, 20, 21]  # 7 steps per epoch, 21 in all, last one recorded too
    steps = [r["step"] for r in train.fit(net, digits, "sgd", epochs=3, batch_size=200, max_steps=9,
                                          opt_kwargs={"lr": 0.1}, progress=False)]
    assert steps == [0, 7, 9]


def test_evaluate_matches_manual(digits):
    torch.manual_seed(0)
    net = nets.MLP(64, hidden=(16,), out_dim=10, batch_norm=True)
    ev = train.evaluate(net, digits.X_test, digits.y_test, batch_size=37)
    net.eval()
    with torch.no_grad():
        logits = net(digits.X_test)
    assert ev["loss"] == pytest.approx(F.cross_entropy(logits, digits.y_test).item(), rel=1e-5)
    assert ev["acc"] == pytest.approx((logits.argmax(1) == digits.y_test).float().mean().item())


def test_deterministic_under_set_seed(digits):
    def once():
        set_seed(11)
        net = nets.MLP(64, hidden=(32,), out_dim=10, batch_norm=True)
        h = train.run(net, digits, optim.SGD(lr=0.1, momentum=0.9), epochs=2, batch_size=64, progress=False)
        return h["train_loss"], h["test_acc"]

    (a1, b1), (a2, b2) = once(), once()
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(b1, b2)


def test_learns_digits(digits):
    set_seed(0)
    net = nets.MLP(64, hidden=(64,), out_dim=10)
    hist = train.run(net, digits, optim.Adam(lr=1e-2), epochs=8, batch_size=64, progress=False)
    assert hist["test_acc"][0] < 0.3 and hist.last["test_acc"] > 0.93
    assert hist["train_loss"][-1] < hist["train_loss"][0] / 5


def test_cnn_trains_on_images():
    ds = data.digits(device="cpu", image=True)
    set_seed(0)
    net = nets.SmallCNN(channels=(8, 16), batch_norm=True)
    hist = train.run(net, ds, optim.Adam(lr=1e-2), epochs=3, batch_size=64, progress=False)
    assert hist.last["test_acc"] > 0.9


def test_regression_uses_mse():
    ds = data.regression(n=200, noise=0.0, seed=0, device="cpu")
    set_seed(0)
    net = nets.MLP(1, hidden=(32, 32), out_dim=1, activation="tanh")
    hist = train.run(net, ds, optim.Adam(lr=1e-2), epochs=60, batch_size=32, progress=False)
    assert math.isnan(hist.last["test_acc"])
    with torch.no_grad():
        mse = F.mse_loss(net(ds.X_test), ds.y_test).item()
    assert hist.last["test_loss"] == pytest.approx(mse, rel=1e-5) and mse < 0.02


def test_divergence_is_a_result_not_a_crash():
    ds = data.regression(n=100, seed=0, device="cpu")
    net = nets.MLP(1, hidden=(16,), out_dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hist = train.run(net, ds, optim.SGD(lr=50.0), epochs=50, batch_size=10, progress=False)
    assert hist.diverged and len(hist) < 51
    assert not math.isfinite(hist.last["train_loss"])


def test_lr_schedule_per_step_matches_torch_scheduler():
    ds = small_data()
    net, ref = twins()
    sched = schedules.StepLR(step_size=4, gamma=0.5)
    recs = list(train.fit(net, ds, optim.SGD(lr=0.2), epochs=2, batch_size=10, lr_schedule=sched, seed=0,
                          eval_every=1, progress=False, log_initial=False))
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.2)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref_opt, step_size=4, gamma=0.5)
    gen = torch.Generator().manual_seed(0)
    X, y = ds.X_train.double(), ds.y_train
    lrs = []
    for _ in range(2):
        perm = torch.randperm(len(X), generator=gen)
        for s in range(0, len(X), 10):
            idx = perm[s:s + 10]
            lrs.append(ref_opt.param_groups[0]["lr"])
            ref_opt.zero_grad()
            F.cross_entropy(ref(X[idx]), y[idx]).backward()
            ref_opt.step()
            ref_sched.step()
    params_close(net, ref)
    assert [r["lr"] for r in recs] == pytest.approx(lrs)


def test_torch_scheduler_steps_once_per_epoch():
    ds = small_data()
    net = nets.MLP(4, hidden=(8,), out_dim=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    recs = list(train.fit(net, ds, opt, epochs=3, batch_size=20, lr_schedule=sched, progress=False))
    assert [r["lr"] for r in recs] == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_sequential_and_custom_order():
    ds = small_data()
    net, ref = twins()
    easy_first = torch.argsort(ds.difficulty_train)
    seen = []

    def order(epoch, n, generator):
        seen.append((epoch, n))
        return easy_first[: n // 2]  # a curriculum may use a subset

    train.run(net, ds, optim.SGD(lr=0.1), epochs=2, batch_size=9, order=order, progress=False)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    X, y = ds.X_train.double(), ds.y_train
    for _ in range(2):
        for s in range(0, len(X) // 2, 9):
            idx = easy_first[: len(X) // 2][s:s + 9]
            ref_opt.zero_grad()
            F.cross_entropy(ref(X[idx]), y[idx]).backward()
            ref_opt.step()
    params_close(net, ref)
    assert seen == [(0, len(X)), (1, len(X))]

    net2, ref2 = twins()
    train.run(net2, ds, optim.SGD(lr=0.1), epochs=1, batch_size=9, order="sequential", drop_last=False,
              progress=False)
    ref_opt = torch.optim.SGD(ref2.parameters(), lr=0.1)
    for s in range(0, len(X), 9):
        ref_opt.zero_grad()
        F.cross_entropy(ref2(X[s:s + 9]), y[s:s + 9]).backward()
        ref_opt.step()
    params_close(net2, ref2)


def test_custom_loss_gets_inputs_and_indices_and_callback_can_stop():
    ds = small_data()
    net, _ = twins()
    calls = []

    def loss(y_hat, y, X, idx):
        torch.testing.assert_close(X, ds.X_train.double()[idx])
        torch.testing.assert_close(y, ds.y_train[idx])
        calls.append(len(idx))
        return F.cross_entropy(y_hat, y, label_smoothing=0.1)

    steps = []

    def callback(net_, step, batch_loss):
        assert net_ is net and batch_loss.dim() == 0 and all(p.grad is not None for p in net_.parameters())
        steps.append(step)
        return step < 4

    recs = list(train.fit(net, ds, optim.SGD(lr=0.1), epochs=5, batch_size=20, loss=loss, callback=callback,
                          progress=False))
    assert steps == [1, 2, 3, 4] and len(calls) == 4 and recs[-1]["step"] == 4
    two_arg = lambda y_hat, y: F.cross_entropy(y_hat, y)  # noqa: E731
    assert train.run(net, ds, optim.SGD(lr=0.1), epochs=1, loss=two_arg, progress=False).last["step"] > 0


def test_single_example_batch_is_skipped_for_batch_norm():
    ds = small_data(n=84)  # 63 training examples: batches of 31, 31 and 1
    net = nets.MLP(4, hidden=(8,), out_dim=3, batch_norm=True)
    hist = train.run(net, ds, optim.SGD(lr=0.1), epochs=2, batch_size=31, progress=False)
    assert hist.last["step"] == 4 and hist.last["examples"] == 124


@pytest.mark.parametrize("n_train, batch_size, drop_last, expected", [
    (67, 16, "auto", 4), (67, 16, False, 5), (67, 16, True, 4),   # 4 x 16 + 3
    (67, 20, "auto", 3), (67, 20, False, 4),                     # 3 x 20 + 7 (7 < 10 is skipped by auto)
    (67, 30, "auto", 2), (67, 12, "auto", 6),                     # 2 x 30 + 7; 5 x 12 + 7 (7 >= 6: kept)
    (67, 100, True, 1), (67, 66, False, 1),                       # the only batch of an epoch is kept; 1 is not
])
def test_drop_last(n_train, batch_size, drop_last, expected):
    ds = data.blobs(n=89, seed=0, device="cpu")
    assert len(ds.X_train) == n_train
    recs = list(train.fit(nets.MLP(2, hidden=(4,), out_dim=3), ds, optim.SGD(lr=0.1), epochs=1,
                          batch_size=batch_size, drop_last=drop_last, progress=False))
    assert recs[-1]["step"] == expected


def test_progress_bar_runs(capsys):
    ds = small_data()
    net = nets.MLP(4, hidden=(8,), out_dim=3)
    assert len(train.run(net, ds, optim.SGD(lr=0.1), epochs=2, progress=True)) == 3


def test_two_tuple_data_without_test_set():
    ds = small_data()
    net = nets.MLP(4, hidden=(8,), out_dim=3)
    hist = train.run(net, (ds.X_train, ds.y_train), optim.SGD(lr=0.1), epochs=1, progress=False)
    assert math.isnan(hist.last["test_loss"]) and math.isfinite(hist.last["train_loss"])


@pytest.mark.parametrize("kwargs, exc", [
    ({"epochs": -1}, ValueError),
    ({"batch_size": 0}, ValueError),
    ({"opt": 3}, TypeError),
    ({"opt": "lbfgs"}, ValueError),
    ({"opt": optim.SGD(lr=0.1), "opt_kwargs": {"lr": 1.0}}, ValueError),
    ({"order": "random"}, ValueError),
    ({"data": [1, 2, 3]}, TypeError),
    ({"lr_schedule": 0.5}, TypeError),
    ({"loss": "mse"}, TypeError),
    ({"drop_last": "yes"}, ValueError),
])
def test_bad_arguments_are_rejected(kwargs, exc):
    ds = small_data()
    args = {"net": nets.MLP(4, hidden=(8,), out_dim=3), "data": ds, "opt": optim.SGD(lr=0.1), "progress": False}
    args.update(kwargs)
    with pytest.raises(exc):
        list(train.fit(**args))
