"""The learning-rate range test against a plain torch loop on the same minibatches, and the batched Lanczos
sharpness against exact Hessian eigenvalues (torch.autograd.functional.hessian) and the closed form of least
squares."""
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from lecture_utils.training import nets, range_test as RT
from lecture_utils.training.stacked import StackedMLP


def _data(n=64, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return X, y


def _models(K, hidden=(6,), seed=0, d=4, out=3):
    out_ = []
    for k in range(K):
        torch.manual_seed(seed + k)
        out_.append(nets.MLP(d, hidden, out).double())
    return out_


def exact_top_eigenvalue(net, X, y):
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for _, p in net.named_parameters()]
    w0 = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss(w):
        parts, i = {}, 0
        for n, s in zip(names, shapes):
            m = int(np.prod(s))
            parts[n] = w[i:i + m].reshape(s)
            i += m
        return torch.nn.functional.cross_entropy(functional_call(net, parts, (X,)), y)

    H = torch.autograd.functional.hessian(loss, w0)
    return float(torch.linalg.eigvalsh(H)[-1])


def test_sharpness_equals_the_exact_top_hessian_eigenvalue_of_every_model():
    X, y = _data()
    models = _models(3)
    exact = [exact_top_eigenvalue(m, X, y) for m in models]
    got = RT.sharpness(StackedMLP(models), X, y, num_iters=30)
    np.testing.assert_allclose(got, exact, rtol=1e-8)
    assert len(set(np.round(exact, 6))) == 3  # three different nets, three different answers
    quick = RT.sharpness(models, X, y, num_iters=12)  # a list of nets works too
    np.testing.assert_allclose(quick, exact, rtol=1e-3)


def test_sharpness_at_a_checkpoint_uses_those_parameters():
    X, y = _data()
    models = _models(2)
    stack = StackedMLP(models)
    scaled = stack.flat.detach() * 1.7
    other = [stack.net(k, flat=scaled) for k in range(2)]
    np.testing.assert_allclose(RT.sharpness(stack, X, y, flat=scaled, num_iters=30),
                               [exact_top_eigenvalue(m, X, y) for m in other], rtol=1e-8)


def test_sharpness_of_least_squares_is_its_closed_form():
    """A linear model with mean squared error over n examples and C outputs: H = 2 A^T A / (n C) per output,
    A = [X, 1]."""
    X, _ = _data(n=50)
    Y = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    models = _models(2, hidden=(), out=2)
    A = torch.cat([X, torch.ones(50, 1, dtype=torch.float64)], 1)
    want = 2 * float(torch.linalg.eigvalsh(A.T @ A)[-1]) / (50 * 2)
    np.testing.assert_allclose(RT.sharpness(StackedMLP(models), X, Y, num_iters=10), [want, want], rtol=1e-10)


def test_sharpness_at_a_checkpoint_leaves_the_stack_as_it_was():
    X, y = _data()
    stack = StackedMLP(_models(2))
    before = stack.flat.detach().clone()
    RT.sharpness(stack, X, y, flat=before * 2.0)
    assert torch.equal(stack.flat, before)
    with pytest.raises(ValueError, match="shape"):
        RT.sharpness(stack, X, y, flat=before[:-1])


def test_range_test_follows_a_plain_torch_loop_with_an_exponential_rate():
    """K = 2 nets: each step's minibatch loss equals torch.optim.SGD on the same shuffled minibatches, with the rate
    lr_min * gamma ** t."""
    X, y = _data(n=64)
    models = _models(2)
    ref = [m.state_dict() for m in _models(2)]
    rt = RT.lr_range_test(models, (X, y), lr_min=0.01, lr_max=1.0, num_steps=20, batch_size=16, seeds=[5, 6],
                          stop_on_blowup=False)
    np.testing.assert_allclose(rt.lrs, 0.01 * (100 ** (1 / 19)) ** np.arange(20), rtol=1e-12)
    assert rt.lrs[0] == pytest.approx(0.01) and rt.lrs[-1] == pytest.approx(1.0)
    for k, seed in enumerate([5, 6]):
        net = _models(1)[0]
        net.load_state_dict(ref[k])
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for t in range(20):
            if t % 4 == 0:
                perm = torch.randperm(64, generator=gen)
            idx = perm[(t % 4) * 16:(t % 4 + 1) * 16]
            for g in opt.param_groups:
                g["lr"] = float(rt.lrs[t])
            loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        np.testing.assert_allclose(rt.losses[:, k], losses, rtol=1e-10)


def test_range_test_finds_the_blow_up_and_keeps_checkpoints():
    X, y = _data(n=64)
    models = _models(3)
    rt = RT.lr_range_test(models, (X, y), lr_min=0.01, lr_max=1e4, num_steps=80, batch_size=16, seeds=[0, 1, 2],
                          checkpoint_every=10, beta=0.9, blowup=2.0)
    assert (rt.blowup_step >= 0).all() and np.all(rt.blowup_lr == rt.lrs[rt.blowup_step])
    for k in range(3):
        b = rt.blowup_step[k]
        s = rt.smoothed[:, k]
        assert np.isnan(rt.losses[b + 1:, k]).all()           # the run of that net ends at its blow-up
        before = s[:b]
        assert np.all(before <= 2.0 * np.minimum.accumulate(before) + 1e-12)  # no earlier blow-up
        assert not np.isfinite(rt.losses[b, k]) or s[b] > 2.0 * np.nanmin(s[:b + 1]) - 1e-12
        assert rt.min_lr[k] < rt.blowup_lr[k]
    assert sorted(rt.checkpoints)[0] == 0 and all(s % 10 == 0 for s in rt.checkpoints)
    assert max(rt.checkpoints) <= rt.blowup_step.max() + 1  # it stopped once all had blown up
    torch.testing.assert_close(rt.checkpoints[0], StackedMLP(_models(3)).flat)


def test_smoothed_losses_are_a_bias_corrected_average():
    np.testing.assert_allclose(RT.smoothed_losses([2.0, 2.0, 2.0], 0.9), [2.0, 2.0, 2.0])
    got = RT.smoothed_losses([1.0, 3.0], 0.5)
    assert got[1] == pytest.approx((0.5 * 0.5 * 1.0 + 0.5 * 3.0) / (1 - 0.25))
    assert RT.smoothed_losses(np.ones((4, 3))).shape == (4, 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr_min": 0.0}, "lr_min"),
    ({"lr_min": 1.0, "lr_max": 0.5}, "lr_max"),
    ({"num_steps": 1}, "num_steps"),
    ({"blowup": 1.0}, "blowup"),
    ({"beta": 1.0}, "beta"),
    ({"checkpoint_every": 0}, "checkpoint_every"),
    ({"batch_size": 1000}, "batch_size"),
])
def test_range_test_refuses_bad_settings(kwargs, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        RT.lr_range_test(_models(1), (X, y), **kwargs)


def test_a_loss_that_overflows_is_a_blow_up_not_an_error():
    X, y = _data(n=64)
    rt = RT.lr_range_test(_models(2), (X * 100, y), lr_min=1.0, lr_max=1e8, num_steps=30, batch_size=16,
                          seeds=[0, 1])
    assert (rt.blowup_step >= 0).all() and not math.isnan(rt.blowup_lr[0])
