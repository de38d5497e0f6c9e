"""Warmup, sequential, warmup-cosine and one-cycle schedules (lecture 11) against ``torch.optim.lr_scheduler``, step
for step: as closed forms, inside the many-models trainer and inside ``train.fit``; bad arguments are refused by
name."""
import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L

from lecture_utils import schedules
from lecture_utils.training import batched, nets, train


def torch_rates(make, num_steps, base_lr=0.1):
    """The rate torch's scheduler sets before each of ``num_steps`` optimizer steps."""
    p = [torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD(p, lr=base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation notes about step(epoch)
        sched = make(opt)
        out = []
        for t in range(num_steps):
            out.append(opt.param_groups[0]["lr"])
            if t < num_steps - 1:
                opt.step()
                sched.step()
    return np.array(out)


def ours(schedule, num_steps, base_lr=0.1):
    return np.array([schedule(base_lr, t) for t in range(num_steps)])


CASES = [
    ("LinearLR", lambda: schedules.LinearLR(0.1, 1.0, 7), lambda o: L.LinearLR(o, 0.1, 1.0, 7), 20),
    ("LinearLR down", lambda: schedules.LinearLR(1.0, 0.25, 5), lambda o: L.LinearLR(o, 1.0, 0.25, 5), 12),
    ("ConstantLR", lambda: schedules.ConstantLR(0.2, 4), lambda o: L.ConstantLR(o, 0.2, 4), 10),
    ("warmup then cosine", lambda: schedules.SequentialLR([schedules.LinearLR(0.05, 1.0, 6),
                                                           schedules.CosineAnnealingLR(30, 1e-3)], [6]),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.05, 1.0, 6), L.CosineAnnealingLR(o, 30, 1e-3)], [6]), 50),
    ("warmup then step", lambda: schedules.SequentialLR([schedules.LinearLR(0.1, 1.0, 5), schedules.StepLR(4, 0.5)],
                                                        [5]),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 5), L.StepLR(o, 4, 0.5)], [5]), 25),
    ("three pieces", lambda: schedules.SequentialLR([schedules.ConstantLR(0.1, 3), schedules.ExponentialLR(0.9),
                                                     schedules.CosineAnnealingLR(8)], [3, 10]),
     lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 3), L.ExponentialLR(o, 0.9), L.CosineAnnealingLR(o, 8)],
                              [3, 10]), 25),
    ("WarmupCosineLR", lambda: schedules.WarmupCosineLR(8, 40, start_factor=0.2, eta_min=1e-4),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.2, 1.0, 8), L.CosineAnnealingLR(o, 32, 1e-4)], [8]), 40),
    ("WarmupCosineLR no warmup", lambda: schedules.WarmupCosineLR(0, 15),
     lambda o: L.CosineAnnealingLR(o, 15), 15),
    ("OneCycleLR", lambda: schedules.OneCycleLR(50), lambda o: L.OneCycleLR(o, 0.1, total_steps=50,
                                                                            cycle_momentum=False), 51),
    ("OneCycleLR linear", lambda: schedules.OneCycleLR(33, pct_start=0.25, anneal_strategy="linear", div_factor=10,
                                                       final_div_factor=100),
     lambda o: L.OneCycleLR(o, 0.1, total_steps=33, pct_start=0.25, anneal_strategy="linear", div_factor=10,
                            final_div_factor=100, cycle_momentum=False), 34),
    ("OneCycleLR three phases", lambda: schedules.OneCycleLR(40, pct_start=0.3, three_phase=True),
     lambda o: L.OneCycleLR(o, 0.1, total_steps=40, pct_start=0.3, three_phase=True, cycle_momentum=False), 41),
]


@pytest.mark.parametrize("name, ours_, theirs, n", CASES, ids=[c[0] for c in CASES])
def test_equals_torch_step_for_step(name, ours_, theirs, n):
    got, want = ours(ours_(), n), torch_rates(theirs, n)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_the_comparison_can_fail():
    """An off-by-one warmup (the milestone one step late) differs from torch's: the test above would notice."""
    late = schedules.SequentialLR([schedules.LinearLR(0.05, 1.0, 6), schedules.CosineAnnealingLR(30)], [7])
    want = torch_rates(lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.05, 1.0, 6), L.CosineAnnealingLR(o, 30)], [6]),
                       40)
    assert not np.allclose(ours(late, 40), want, rtol=1e-6)


def test_warmup_cosine_reaches_the_base_rate_at_the_end_of_warmup():
    s = schedules.WarmupCosineLR(10, 100, start_factor=0.1)
    assert s(1.0, 0) == pytest.approx(0.1)
    assert s(1.0, 9) < 1.0 and s(1.0, 10) == 1.0
    assert s(1.0, 55) == pytest.approx(0.5)
    assert s(1.0, 99) == pytest.approx((1 + math.cos(math.pi * 89 / 90)) / 2)


def test_one_cycle_peaks_at_base_lr_and_refuses_steps_past_total():
    s = schedules.OneCycleLR(100, pct_start=0.3)
    rates = ours(s, 100, 2.0)
    assert rates.max() == pytest.approx(2.0) and int(rates.argmax()) == 29
    assert rates[0] == pytest.approx(2.0 / 25) and rates[-1] == pytest.approx(2.0 / 25 / 1e4)
    s(2.0, 100)  # torch allows one step past the cycle
    with pytest.raises(ValueError, match="total_steps=100"):
        s(2.0, 101)


def _full_batch_data(seed=0, n=48):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g, dtype=torch.float64)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    return X, y


def _nets(K, seed=0):
    out = []
    for k in range(K):
        torch.manual_seed(seed + k)
        out.append(nets.MLP(5, (8,), 3).double())
    return out


@pytest.mark.parametrize("kind", ["warmup_cosine", "one_cycle"])
def test_many_models_trainer_follows_torch_schedulers_step_for_step(kind):
    """fit_many with K learning rates and our schedule equals, model by model, torch.optim.SGD (momentum) driven by
    torch's scheduler, stepped after every optimizer step (one full batch per epoch, so the order plays no role)."""
    X, y = _full_batch_data()
    steps, lrs = 30, [0.05, 0.2, 0.5]
    if kind == "warmup_cosine":
        ours_s = schedules.WarmupCosineLR(6, steps, start_factor=0.1, eta_min=1e-3)

        def theirs(o):
            return L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 6), L.CosineAnnealingLR(o, steps - 6, 1e-3)], [6])
    else:
        ours_s = schedules.OneCycleLR(steps, pct_start=0.4)
        theirs = None
    models = _nets(len(lrs))
    reference = [{n: v.clone() for n, v in m.state_dict().items()} for m in models]
    list(batched.fit_many(models, (X, y), "sgd", epochs=steps, batch_size=len(X), seeds=[0, 1, 2], lrs=lrs,
                          opt_kwargs={"momentum": 0.9}, lr_schedule=ours_s, progress=False))
    for k, lr in enumerate(lrs):
        net = _nets(1)[0]
        net.load_state_dict(reference[k])
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = theirs(opt) if theirs else L.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.4,
                                                            cycle_momentum=False)
            for _ in range(steps):
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(X), y).backward()
                opt.step()
                sched.step()
        for a, b in zip(models[k].parameters(), net.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_train_fit_with_our_schedule_equals_fit_with_torchs_scheduler():
    """train.fit steps a torch scheduler once per epoch: with one full batch per epoch that is once per step."""
    X, y = _full_batch_data(seed=3)
    a, b = _nets(1, seed=5)[0], _nets(1, seed=5)[0]
    steps = 20
    train.run(a, (X, y), torch.optim.SGD(a.parameters(), lr=0.3), epochs=steps, batch_size=len(X),
              lr_schedule=schedules.WarmupCosineLR(5, steps, start_factor=0.2), progress=False)
    opt = torch.optim.SGD(b.parameters(), lr=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = L.SequentialLR(opt, [L.LinearLR(opt, 0.2, 1.0, 5), L.CosineAnnealingLR(opt, steps - 5)], [5])
        train.run(b, (X, y), opt, epochs=steps, batch_size=len(X), lr_schedule=sched, progress=False)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.LinearLR(0.0, 1.0, 5), "start_factor"),
    (lambda: schedules.LinearLR(0.5, 1.5, 5), "end_factor"),
    (lambda: schedules.LinearLR(0.5, 1.0, 0), "total_iters"),
    (lambda: schedules.ConstantLR(1.5, 3), "factor"),
    (lambda: schedules.SequentialLR([schedules.StepLR(3)], [4]), "milestones"),
    (lambda: schedules.SequentialLR([schedules.StepLR(3), schedules.StepLR(3), schedules.StepLR(2)], [5, 5]),
     "increase"),
    (lambda: schedules.SequentialLR([schedules.StepLR(3), schedules.StepLR(3)], [0]), "milestones"),
    (lambda: schedules.SequentialLR([], []), "at least one"),
    (lambda: schedules.WarmupCosineLR(10, 10), "total_steps"),
    (lambda: schedules.WarmupCosineLR(-1, 10), "warmup_steps"),
    (lambda: schedules.OneCycleLR(1), "total_steps"),
    (lambda: schedules.OneCycleLR(10, pct_start=1.5), "pct_start"),
    (lambda: schedules.OneCycleLR(10, pct_start=0.0), "pct_start"),
    (lambda: schedules.OneCycleLR(10, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: schedules.OneCycleLR(10, div_factor=0), "div_factor"),
])
def test_bad_arguments_are_refused_by_name(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.SequentialLR([schedules.StepLR(3), "cosine"], [4]), r"schedules\[1\]"),
    (lambda: schedules.SequentialLR(schedules.StepLR(3), [4]), "sequences"),
    (lambda: schedules.LinearLR("0.1"), "start_factor"),
    (lambda: schedules.OneCycleLR(10, three_phase=1), "three_phase"),
    (lambda: schedules.WarmupCosineLR(2.5, 10), "warmup_steps"),
])
def test_wrong_types_are_refused_by_name(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_reprs_name_the_settings():
    assert repr(schedules.WarmupCosineLR(5, 50)) == \
        "WarmupCosineLR(warmup_steps=5, total_steps=50, start_factor=0.1, eta_min=0)"
    assert "total_steps=20" in repr(schedules.OneCycleLR(20))
    assert repr(schedules.LinearLR(0.5, 1.0, 3)) == "LinearLR(start_factor=0.5, end_factor=1.0, total_iters=3)"
