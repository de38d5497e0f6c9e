"""Polyak averaging against torch.optim.swa_utils.AveragedModel and against the closed-form running means."""
import copy

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn

from lecture_utils import averaging, optim, surfaces


def test_uniform_average_is_the_mean_of_the_iterates_so_far():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((30, 4, 2))
    avg = averaging.polyak_average(xs, "uniform")
    for t in range(30):
        np.testing.assert_allclose(avg[t], xs[: t + 1].mean(0), rtol=1e-12, atol=1e-14)
    burn = averaging.polyak_average(xs, "uniform", start=10)
    np.testing.assert_array_equal(burn[:10], xs[:10])
    np.testing.assert_allclose(burn[-1], xs[10:].mean(0), rtol=1e-12)


def test_exponential_average_as_an_explicit_weighted_sum():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((25, 3))
    decay = 0.8
    avg = averaging.polyak_average(xs, "exponential", decay=decay)
    # theta_hat_t = decay^(t) x_0 + sum_{i=1..t} (1 - decay) decay^(t - i) x_i
    for t in range(25):
        w = np.array([decay ** t] + [(1 - decay) * decay ** (t - i) for i in range(1, t + 1)])
        np.testing.assert_allclose(avg[t], w @ xs[: t + 1], rtol=1e-12, atol=1e-14)


def _sgd_snapshots(seed, num_steps=15):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5)
    X, y = torch.randn(40, 3), torch.randint(0, 2, (40,))
    for _ in range(num_steps):
        loss = torch.nn.functional.cross_entropy(net(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        yield net


@pytest.mark.parametrize("use_multi", [True, False])
def test_exponential_model_average_equals_torch_averaged_model(use_multi):
    decay = 0.9
    ours = None
    ref = None
    vectors = []
    for net in _sgd_snapshots(0):
        if ours is None:
            ours = averaging.ModelAverage(net, "exponential", decay=decay)
            fn = {"multi_avg_fn": get_ema_multi_avg_fn(decay)} if use_multi else {"avg_fn": get_ema_avg_fn(decay)}
            ref = AveragedModel(net, **fn)
        ours.update(net)
        ref.update_parameters(net)
        vectors.append(torch.nn.utils.parameters_to_vector(net.parameters()).detach().numpy().copy())
    for p, q in zip(ours.module.parameters(), ref.module.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    for b, c in zip(ours.module.buffers(), ref.module.buffers()):
        torch.testing.assert_close(b, c)
    # the numpy average over flattened parameter vectors is the same thing
    flat = averaging.polyak_average(np.stack(vectors), "exponential", decay=decay)[-1]
    np.testing.assert_allclose(flat, torch.nn.utils.parameters_to_vector(ref.module.parameters()).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_uniform_model_average_equals_torch_swa_average():
    ours = ref = None
    for net in _sgd_snapshots(1):
        if ours is None:
            ours, ref = averaging.ModelAverage(net, "uniform"), AveragedModel(net)
        ours.update(net)
        ref.update_parameters(net)
    for p, q in zip(ours.module.parameters(), ref.module.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert ours.num_averaged == 15


def test_model_average_does_not_touch_the_trained_net():
    snaps = _sgd_snapshots(2, num_steps=3)
    net = next(snaps)
    before = copy.deepcopy(net.state_dict())
    avg = averaging.ModelAverage(net, "exponential", decay=0.5)
    avg.update(net)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k])
    assert all(not p.requires_grad for p in avg.module.parameters())


def test_averaged_iterate_is_closer_to_the_optimum_than_the_last_sgd_iterate():
    s = surfaces.get("quadratic", kappa=10.0, angle=0.5)  # minimum at the origin
    B = 60  # 60 independent noisy runs (each start point draws its own gradient noise)
    traj = optim.run(s, optim.SGD(lr=0.05), np.tile([2.0, 2.0], (B, 1)), num_steps=2000, grad_noise=2.0,
                     seed=123, tol=0.0)
    last = np.linalg.norm(traj.xs[-1], axis=1)
    uniform = np.linalg.norm(averaging.polyak_average(traj.xs, "uniform", start=200)[-1], axis=1)
    ema = np.linalg.norm(averaging.polyak_average(traj.xs, "exponential", decay=0.99)[-1], axis=1)
    assert np.mean(uniform < last) >= 0.9
    assert np.mean(ema < last) >= 0.75
    assert uniform.mean() < 0.5 * last.mean()
    assert ema.mean() < 0.6 * last.mean()


def test_bad_inputs():
    with pytest.raises(ValueError, match="kind"):
        averaging.polyak_average(np.zeros((3, 2)), "median")
    with pytest.raises(ValueError, match="decay"):
        averaging.polyak_average(np.zeros((3, 2)), "exponential", decay=1.0)
    with pytest.raises(ValueError, match="start"):
        averaging.polyak_average(np.zeros((3, 2)), start=3)
    with pytest.raises(TypeError, match="net"):
        averaging.ModelAverage([1, 2, 3])
    avg = averaging.ModelAverage(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="same parameters"):
        avg.update(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)))
