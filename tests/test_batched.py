"""K nets trained together (training.batched) against the same nets trained alone by train.fit, step for step.

Every equivalence test runs in float64 (the nets are made float64, the data follow them) for 100 steps and compares
each model's per-step losses (from callbacks), its records and its final parameters and batch-norm buffers with a
solo ``train.fit`` run on a copy of the same initial net with the same seed.
"""
import copy
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils import averaging, optim, schedules
from lecture_utils.training import batched, curriculum, data, distillation, nets, train
from lecture_utils.training.stacked import StackedMLP, StackedOptimizer

RTOL, ATOL = 1e-6, 1e-10
STEPS = dict(epochs=12, batch_size=32, max_steps=100)  # 300 training examples: 9 steps an epoch (12 left over)


@pytest.fixture(scope="module")
def blobs():
    return data.blobs(n=400, num_classes=3, dim=4, std=1.5, seed=0, device="cpu")


def make_nets(seeds, in_dim=4, hidden=(8, 8), out_dim=3, **kwargs):
    out = []
    for s in seeds:
        torch.manual_seed(s)
        out.append(nets.MLP(in_dim, hidden=hidden, out_dim=out_dim, **kwargs).double())
    return out


def solo(net, ds, opt, **kw):
    """train.fit on a copy of ``net`` alone: (History, per-step losses, trained net)."""
    net, losses = copy.deepcopy(net), []
    hist = train.run(net, ds, opt, progress=False, callback=lambda n, step, loss: losses.append(loss.item()), **kw)
    return hist, np.array(losses), net


def together(models, ds, opt, **kw):
    """batched.run_many on copies of ``models``: (BatchedHistory, per-step losses (steps, K))."""
    losses = []
    res = batched.run_many(copy.deepcopy(models), ds, opt, progress=False,
                           callback=lambda stack, step, loss: losses.append(loss.numpy().copy()), **kw)
    return res, np.array(losses)


def assert_same_run(res, k, batched_losses, solo_run):
    hist, solo_losses, solo_net = solo_run
    assert len(solo_losses) > 0
    np.testing.assert_allclose(batched_losses[:len(solo_losses), k], solo_losses, rtol=RTOL, atol=ATOL)
    mine = res.history(k)
    np.testing.assert_array_equal(mine["step"], hist["step"])
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
        np.testing.assert_allclose(mine[key], hist[key], rtol=RTOL, atol=ATOL, err_msg=key)
    for (name, a), b in zip(res.net(k).state_dict().items(), solo_net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL, msg=lambda m: f"model {k}, {name}: {m}")


def check_all(models, ds, opt, seeds, solo_kw=None, **kw):
    res, losses = together(models, ds, opt, seeds=seeds, **kw)
    for k, net in enumerate(models):
        assert_same_run(res, k, losses, solo(net, ds, opt, seed=seeds[k], **{**kw, **(solo_kw or {}).get(k, {})}))
    return res, losses


@pytest.mark.parametrize("opt, opt_kwargs", [
    (optim.SGD(lr=0.05, momentum=0.9), None),
    (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("adam", {"lr": 1e-2}),
    (torch.optim.Adam, {"lr": 1e-2, "amsgrad": True, "weight_decay": 1e-3}),
    (optim.AdamW(lr=1e-2, weight_decay=0.1), None),
])
def test_plain_mlp_equals_solo_fit(blobs, opt, opt_kwargs):
    seeds = [3, 1, 4, 15]
    models = make_nets(range(4))
    res, losses = check_all(models, blobs, opt, seeds, opt_kwargs=opt_kwargs, **STEPS)
    assert losses.shape == (100, 4) and res.last["step"] == 100
    assert np.ptp(losses[-1]) > 0  # four different runs, not one run four times


@pytest.mark.parametrize("batch_norm", [True, "ours"])
def test_batch_norm_equals_solo_fit_in_training_and_eval_mode(blobs, batch_norm):
    seeds = [0, 1, 2]
    models = make_nets([7, 8, 9], hidden=(8, 8, 8), batch_norm=batch_norm)
    res, _ = check_all(models, blobs, optim.SGD(lr=0.1, momentum=0.9), seeds, **STEPS)  # incl. running stats
    for k in range(3):
        net = res.net(k)
        assert net.norms[0].num_batches_tracked.item() == 100
        assert not torch.allclose(net.norms[0].running_mean, torch.zeros(8, dtype=torch.float64))
        ev = train.evaluate(net, blobs.X_test.double(), blobs.y_test)  # eval mode: the running statistics
        assert ev["loss"] == pytest.approx(res.last["test_loss"][k], rel=RTOL)
        assert ev["acc"] == res.last["test_acc"][k]


@pytest.mark.parametrize("make_opt", [lambda lr: optim.SGD(lr=lr, momentum=0.5),
                                      lambda lr: optim.Adam(lr=lr, betas=(0.8, 0.99))])
def test_per_model_learning_rates(blobs, make_opt):
    lrs = [0.003, 0.03, 0.3]
    models = make_nets([0, 0, 0])  # the same net three times: only the rate differs
    res, losses = together(models, blobs, make_opt(1.0), seeds=[5, 5, 5], lrs=lrs, **STEPS)
    for k, lr in enumerate(lrs):
        assert_same_run(res, k, losses, solo(models[k], blobs, make_opt(lr), seed=5, **STEPS))
    np.testing.assert_allclose(res["lr"][:, -1], lrs)


def test_per_model_learning_rates_with_a_schedule(blobs):
    lrs, sched = [0.05, 0.2], schedules.StepLR(step_size=30, gamma=0.5)
    models = make_nets([1, 2])
    res, losses = together(models, blobs, optim.SGD(lr=1.0), seeds=[0, 1], lrs=lrs, lr_schedule=sched, **STEPS)
    for k, lr in enumerate(lrs):
        assert_same_run(res, k, losses, solo(models[k], blobs, optim.SGD(lr=lr), seed=k, lr_schedule=sched, **STEPS))
    np.testing.assert_allclose(res.last["lr"], [lr * 0.5 ** 3 for lr in lrs])


def test_clip_norm_is_per_model(blobs):
    models = make_nets([0, 1, 2])
    seeds = [0, 1, 2]
    check_all(models, blobs, optim.SGD(lr=0.2, momentum=0.9), seeds, clip_norm=0.3, **STEPS)
    # clipping was active: without it the runs differ
    unclipped = solo(models[0], blobs, optim.SGD(lr=0.2, momentum=0.9), seed=0, **STEPS)[1]
    clipped = solo(models[0], blobs, optim.SGD(lr=0.2, momentum=0.9), seed=0, clip_norm=0.3, **STEPS)[1]
    assert np.abs(unclipped - clipped).max() > 1e-3


def test_custom_order_and_a_loss_with_inputs_and_indices(blobs):
    order = curriculum.curriculum_order(blobs.difficulty_train, "easy_to_hard", ramp_epochs=4)
    gen = torch.Generator().manual_seed(0)
    teacher = torch.randn(len(blobs.X_train), 3, generator=gen, dtype=torch.float64)
    weight = torch.rand(len(blobs.X_train), generator=gen, dtype=torch.float64) + 0.5
    distil = distillation.DistillationLoss(teacher, tau=2.0, lam=0.5)

    def loss(y_hat, y, X, idx):
        torch.testing.assert_close(X, blobs.X_train.double()[idx])  # each model gets its own minibatch
        torch.testing.assert_close(y, blobs.y_train[idx])
        return distil(y_hat, y, idx) + (weight[idx] * F.cross_entropy(y_hat, y, reduction="none")).mean()

    check_all(make_nets([0, 1, 2]), blobs, optim.Adam(lr=1e-2), [10, 11, 12], order=order, loss=loss, **STEPS)


def test_aux_heads_skip_connections_and_projections(blobs):
    models = make_nets([0, 1, 2], hidden=(8, 6, 6), aux_heads=True, skip=True, activation="tanh")
    assert not isinstance(models[0].projections[1], torch.nn.Identity)  # 8 -> 6 needs a projection
    res, _ = check_all(models, blobs, optim.SGD(lr=0.1, momentum=0.9), [0, 1, 2], aux_weight=0.5, **STEPS)
    assert not torch.allclose(res.net(0).heads[0].weight, models[0].heads[0].weight)  # the heads were trained


@pytest.mark.parametrize("activation", ["sigmoid", "gelu", "identity"])
def test_other_activations(blobs, activation):
    check_all(make_nets([0, 1], activation=activation), blobs, "momentum", [0, 1], opt_kwargs={"lr": 0.1},
              epochs=3, batch_size=32)


@pytest.mark.parametrize("batch_norm, hidden, bad_lr", [(False, (16,), 50.0), (True, (16, 16), 5.0)])
def test_a_diverging_model_does_not_poison_the_others(batch_norm, hidden, bad_lr):
    ds = data.regression(n=100, seed=0, device="cpu")
    models = make_nets([0, 1, 2], in_dim=1, hidden=hidden, out_dim=1, batch_norm=batch_norm)
    lrs, seeds = [0.05, bad_lr, 0.1], [0, 1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # divergence is a result: no overflow warning either
        res, losses = together(models, ds, optim.SGD(lr=1.0), seeds=seeds, lrs=lrs, epochs=20, batch_size=10)
        alone = [solo(models[k], ds, optim.SGD(lr=lr), seed=seeds[k], epochs=20, batch_size=10)
                 for k, lr in enumerate(lrs)]
    assert alone[1][0].diverged and not alone[0][0].diverged and not alone[2][0].diverged
    np.testing.assert_array_equal(res.diverged, [False, True, False])
    for k in (0, 2):
        assert_same_run(res, k, losses, alone[k])
    # the diverged model: the same steps while its loss is moderate (beyond, a blow-up amplifies rounding), frozen
    # at the step whose loss was not finite, marked diverged from the next record on
    solo_losses = alone[1][1]
    moderate = int(np.argmax(~(solo_losses < 1e6)))
    np.testing.assert_allclose(losses[:moderate, 1], solo_losses[:moderate], rtol=RTOL)
    first_bad = res.diverged_at[1]
    assert first_bad > moderate and not np.isfinite(losses[first_bad - 1, 1])
    assert np.isfinite(losses[:first_bad - 1, 1]).all()
    mine = res.history(1)
    assert mine.diverged and not math.isfinite(mine.last["train_loss"]) and mine.last["step"] >= first_bad
    r = len(mine) - 1
    assert res["diverged"][1, r:].all() and not res["diverged"][1, :r].any()
    assert np.isnan(res["test_loss"][1, r:]).all() and np.isnan(res["train_loss"][1, r + 1:]).all()
    if not batch_norm:  # this one overflows steadily (x 1e4 a step): the very same step and record as fit's
        assert first_bad == int(np.argmax(~np.isfinite(solo_losses))) + 1 and len(mine) == len(alone[1][0])
    assert all(torch.isfinite(p).all() for p in res.net(1).parameters())
    for m in res.net(1).norms if batch_norm else []:  # its statistics froze with it, before the bad batch
        assert m.num_batches_tracked.item() == first_bad - 1
    for k in (0, 2):
        assert all(m.num_batches_tracked.item() == 20 * 8 for m in res.net(k).norms if batch_norm)
    assert res.last["step"] == res.history(0).last["step"] == 20 * 8  # the stable ones trained to the end


def test_all_models_diverging_ends_the_run():
    ds = data.regression(n=100, seed=0, device="cpu")
    res = batched.run_many(make_nets([0, 1], in_dim=1, hidden=(16,), out_dim=1), ds, optim.SGD(lr=50.0),
                           seeds=[0, 1], epochs=20, batch_size=10, progress=False)
    assert res.diverged.all() and res.last["step"] < 20 * 8 and res.last["diverged"].all()


@pytest.mark.parametrize("kind", ["exponential", "uniform"])
def test_average_equals_model_average_in_a_callback(blobs, kind):
    models = make_nets([0, 1])
    res = batched.run_many(copy.deepcopy(models), blobs, optim.SGD(lr=0.1, momentum=0.9), seeds=[0, 1],
                           average=kind, average_decay=0.9, progress=False, **STEPS)
    for k in range(2):
        net = copy.deepcopy(models[k])
        avg = averaging.ModelAverage(net, kind, decay=0.9)
        train.run(net, blobs, optim.SGD(lr=0.1, momentum=0.9), seed=k, callback=lambda n, s, l: avg.update(n),
                  progress=False, **STEPS)
        for a, b in zip(res.average_net(k).parameters(), avg.module.parameters()):
            torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)
        ev = train.evaluate(avg.module, blobs.X_test.double(), blobs.y_test)
        assert res.last["average_test_loss"][k] == pytest.approx(ev["loss"], rel=RTOL)
    with pytest.raises(ValueError, match="no average"):
        batched.run_many(models, blobs, "sgd", epochs=1, seeds=[0, 1], progress=False).average_net(0)


def test_records_contract(blobs):
    models = make_nets([0, 1, 2])
    gen = batched.fit_many(copy.deepcopy(models), blobs, "sgd", epochs=3, batch_size=64, seeds=[0, 1, 2],
                           eval_every=2, opt_kwargs={"lr": 0.1}, progress=False)
    recs = list(gen)
    hist = train.run(copy.deepcopy(models[0]), blobs, "sgd", epochs=3, batch_size=64, seed=0, eval_every=2,
                     opt_kwargs={"lr": 0.1}, progress=False)
    assert [r["step"] for r in recs] == list(hist["step"])  # 4 steps an epoch (the batch of 44 is kept)
    assert all(set(train.RECORD_KEYS) <= set(r) for r in recs)
    assert all(r[key].shape == (3,) for r in recs for key in batched.PER_MODEL_KEYS)
    res = batched.run_many(copy.deepcopy(models), blobs, "sgd", epochs=3, seeds=[0, 1, 2],
                           opt_kwargs={"lr": 0.1}, progress=False)
    assert res["test_acc"].shape == (3, 4) and res["step"].shape == (3, 4) and len(res) == 4
    assert isinstance(res.history(1), train.History) and "3 nets" in repr(res)
    np.testing.assert_array_equal(res.seeds, [0, 1, 2])
    with pytest.raises(KeyError):
        res["nope"]
    # the nets passed in are trained in place (as fit's), in their original mode
    trained = copy.deepcopy(models)
    trained[1].eval()
    res = batched.run_many(trained, blobs, "sgd", epochs=1, seeds=[0, 1, 2], opt_kwargs={"lr": 0.1},
                           progress=False)
    assert res.net(1) is trained[1] and not trained[1].training and trained[0].training
    assert not torch.equal(trained[0].out.weight, models[0].out.weight)


def test_stacked_model_forward_and_net_k(blobs):
    models = make_nets([0, 1, 2], batch_norm=True, aux_heads=True, hidden=(8, 8, 8))
    stack = StackedMLP(models)
    X = blobs.X_test.double()
    with torch.no_grad():
        logits, aux = stack.forward(X, train=False, shared=True)
        for k, net in enumerate(models):
            net.eval()
            want, want_aux = net(X)
            torch.testing.assert_close(logits[k], want)
            torch.testing.assert_close(aux[1][k], want_aux[1])
            rebuilt = stack.net(k).eval()
            torch.testing.assert_close(rebuilt(X)[0], want)
    assert stack.net(2) is not models[2]


def test_stacked_optimizer_equals_torch_optim_per_model():
    gen = torch.Generator().manual_seed(0)
    K, P = 3, 7
    lrs = torch.tensor([0.01, 0.1, 0.5], dtype=torch.float64)
    for name, hyper in [("SGD", {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
                        ("SGD", {"momentum": 0.9, "nesterov": True, "maximize": True}),
                        ("Adam", {"betas": (0.8, 0.99), "weight_decay": 0.01, "amsgrad": True}),
                        ("AdamW", {"weight_decay": 0.1})]:
        p = torch.randn(K, P, generator=gen, dtype=torch.float64)
        grads = [torch.randn(K, P, generator=gen, dtype=torch.float64) for _ in range(5)]
        ref = [p[k].clone().requires_grad_() for k in range(K)]
        ref_opt = [getattr(torch.optim, name)([ref[k]], lr=float(lrs[k]), **hyper) for k in range(K)]
        opt = StackedOptimizer(name, hyper)
        for g in grads:
            opt.step(p, g, lrs[:, None])
            for k in range(K):
                ref[k].grad = g[k].clone()
                ref_opt[k].step()
        torch.testing.assert_close(p, torch.stack([r.detach() for r in ref]), rtol=1e-12, atol=1e-14)
        frozen = torch.zeros(K, P, dtype=torch.bool)
        frozen[1] = True
        before = p.clone()
        opt.step(p, grads[0], lrs[:, None], frozen)
        assert torch.equal(p[1], before[1]) and not torch.equal(p[0], before[0])


@pytest.mark.parametrize("change, exc, match", [
    ({"nets": []}, ValueError, "at least one"),
    ({"nets": "different widths"}, ValueError, "hidden"),
    ({"nets": "different dtypes"}, ValueError, "float"),
    ({"nets": "cnn"}, TypeError, "only lecture_utils.training.nets.MLP"),
    ({"nets": "sequential"}, TypeError, "MLP"),
    ({"nets": "one net"}, TypeError, "list"),
    ({"nets": "no running stats"}, ValueError, "running statistics"),
    ({"nets": "other momentum"}, ValueError, "momentum"),
    ({"seeds": [0, 1]}, ValueError, "seeds"),
    ({"seeds": [0, 1, -2]}, ValueError, "seeds"),
    ({"lrs": [0.1]}, ValueError, "lrs"),
    ({"lrs": [0.1, 0.1, 0.0]}, ValueError, "lrs"),
    ({"opt": torch.optim.RMSprop}, ValueError, "SGD, Adam, AdamW"),
    ({"opt": "instance"}, TypeError, "instance"),
    ({"opt": 3}, TypeError, "opt"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"average": "ema"}, ValueError, "average"),
    ({"drop_last": "yes"}, ValueError, "drop_last"),
    ({"order": "random"}, ValueError, "order"),
    ({"lr_schedule": "instance"}, TypeError, "lr_schedule"),
    ({"loss": "mse"}, TypeError, "loss"),
    ({"data": [1, 2, 3]}, TypeError, "data"),
])
def test_bad_arguments_are_rejected_when_called(blobs, change, exc, match):
    models = make_nets([0, 1, 2])
    special = {
        "different widths": lambda: models[:2] + make_nets([2], hidden=(8, 4)),
        "different dtypes": lambda: models[:2] + [models[2].float()],
        "cnn": lambda: [nets.SmallCNN() for _ in range(3)],
        "sequential": lambda: [torch.nn.Sequential(torch.nn.Linear(4, 3)) for _ in range(3)],
        "one net": lambda: models[0],
        "no running stats": lambda: [_without_running_stats(n) for n in make_nets([0, 1, 2], batch_norm=True)],
        "other momentum": lambda: [_momentum(n, 0.1 * (i + 1))
                                   for i, n in enumerate(make_nets([0, 1], batch_norm=True))],
        "instance": lambda: torch.optim.SGD(models[0].parameters(), lr=0.1),
    }
    args = {"nets": models, "data": blobs, "opt": optim.SGD(lr=0.1), "seeds": [0, 1, 2], "progress": False}
    for key, value in change.items():
        if key == "lr_schedule":
            value = torch.optim.lr_scheduler.StepLR(torch.optim.SGD(models[0].parameters(), lr=0.1), 1)
        args[key] = special[value]() if isinstance(value, str) and value in special else value
    if key == "nets" and isinstance(args["nets"], list):
        args["seeds"] = list(range(len(args["nets"])))
    with pytest.raises(exc, match=match):
        batched.fit_many(**args)  # checked when called, before the first record


def test_order_must_give_every_model_as_many_indices(blobs):
    def order(epoch, n, generator):
        return torch.randperm(n, generator=generator)[:int(torch.randint(100, 200, (1,), generator=generator))]

    with pytest.raises(ValueError, match="same number"):
        list(batched.fit_many(make_nets([0, 1]), blobs, "sgd", seeds=[0, 1], order=order, progress=False))


def _without_running_stats(net):
    for i, m in enumerate(net.norms):
        net.norms[i] = torch.nn.BatchNorm1d(m.num_features, track_running_stats=False).double()
    return net


def _momentum(net, momentum):
    for m in net.norms:
        m.momentum = momentum
    return net
