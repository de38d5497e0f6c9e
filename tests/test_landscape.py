"""Santurkar et al.'s measurements against a plain autograd computation on a copy of the net."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils import optim, set_seed
from lecture_utils.training import data, landscape, nets


def reference_probe(net, X, y, etas):
    """Move a deep copy of the net by hand and ask autograd for losses and gradients."""
    def loss_and_grad(model):
        model.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        return loss.item(), torch.cat([p.grad.reshape(-1) for p in model.parameters()])

    base = copy.deepcopy(net).train()
    loss0, g0 = loss_and_grad(base)
    losses, diffs = [], []
    for eta in etas:
        moved = copy.deepcopy(net).train()
        with torch.no_grad():
            offset = 0
            for p in moved.parameters():
                p -= eta * g0[offset:offset + p.numel()].reshape(p.shape)
                offset += p.numel()
        l, g = loss_and_grad(moved)
        losses.append(l)
        diffs.append(torch.linalg.vector_norm(g0 - g).item())
    return loss0, g0.norm().item(), np.array(losses), np.array(diffs)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_probe_matches_reference_and_leaves_net_untouched(batch_norm):
    torch.manual_seed(0)
    net = nets.MLP(6, hidden=(12, 12, 12), out_dim=3, batch_norm=batch_norm).double()
    net.eval()  # the probe must switch to training mode itself and switch back
    before = copy.deepcopy(net.state_dict())
    for prm in net.parameters():
        prm.grad = torch.full_like(prm, 7.0)  # e.g. called from fit's callback: gradients must survive
    X = torch.randn(32, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (32,))
    p = landscape.probe(net, X, y)
    loss0, gnorm, losses, diffs = reference_probe(net, X, y, landscape.DEFAULT_ETAS)
    assert p.loss == pytest.approx(loss0, rel=1e-10) and p.grad_norm == pytest.approx(gnorm, rel=1e-10)
    np.testing.assert_allclose(p.losses, losses, rtol=1e-9)
    np.testing.assert_allclose(p.grad_diffs, diffs, rtol=1e-8)
    assert p.beta == pytest.approx(np.max(diffs / (np.array(landscape.DEFAULT_ETAS) * gnorm)))
    assert not net.training
    assert all(torch.equal(prm.grad, torch.full_like(prm, 7.0)) for prm in net.parameters())
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_default_etas_span_the_papers_range():
    etas = np.array(landscape.DEFAULT_ETAS)
    assert etas[0] == 0.05 and etas[-1] == 0.4 and len(etas) == 8 and (np.diff(etas) > 0).all()


def test_probe_on_a_quadratic_has_known_answers():
    """A linear model with squared loss: loss along -g is a parabola, gradient change is eta * H g."""
    torch.manual_seed(1)
    net = torch.nn.Linear(3, 1, bias=False).double()
    X = torch.randn(20, 3, dtype=torch.float64)
    y = torch.randn(20, 1, dtype=torch.float64)
    p = landscape.probe(net, X, y, etas=[0.1, 0.2])
    w = net.weight.detach().reshape(-1)
    H = 2 * X.T @ X / 20
    g = H @ w - 2 * X.T @ y[:, 0] / 20
    for eta, l_eta, d in zip([0.1, 0.2], p.losses, p.grad_diffs):
        w2 = w - eta * g
        assert l_eta == pytest.approx(((X @ w2 - y[:, 0]) ** 2).mean().item(), rel=1e-10)
        assert d == pytest.approx(torch.linalg.vector_norm(eta * H @ g).item(), rel=1e-10)


def test_track_is_deterministic_and_shaped():
    ds = data.digits(device="cpu").subset(300, 100)

    def once():
        set_seed(3)
        net = nets.MLP(64, hidden=(16, 16), out_dim=10, batch_norm=True)
        return landscape.track(net, ds, optim.SGD(lr=0.1), epochs=2, batch_size=50, measure_every=4, seed=5)

    a, b = once(), once()
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.grad_diffs, b.grad_diffs)
    # 300 / 50 = 6 steps per epoch, 12 in all: probes at 0, 4, 8, 12
    np.testing.assert_array_equal(a.steps, [0, 4, 8, 12])
    assert a.losses.shape == (4, 8) and a.grad_diffs.shape == (4, 8) and a.beta.shape == (4,)
    assert [r["step"] for r in a.records] == [0, 6, 12]
    np.testing.assert_allclose(a.loss_range(), a.losses.max(1) - a.losses.min(1))
    c = landscape.track(nets.MLP(64, hidden=(16, 16), out_dim=10, batch_norm=True), ds, optim.SGD(lr=0.1),
                        epochs=2, batch_size=50, measure_every=4, seed=6)
    assert not np.array_equal(a.losses, c.losses)


def test_track_probe_equals_probe_of_the_same_state():
    """The step-0 probe of track is probe() on the initial net with the seeded probe batch."""
    ds = data.digits(device="cpu").subset(200, 50)
    torch.manual_seed(0)
    net = nets.MLP(64, hidden=(8,), out_dim=10)
    init = copy.deepcopy(net)
    tr = landscape.track(net, ds, optim.SGD(lr=0.1), epochs=1, batch_size=40, measure_every=100, seed=2)
    idx = torch.randperm(200, generator=torch.Generator().manual_seed(3))[:40]
    p = landscape.probe(init, ds.X_train[idx], ds.y_train[idx])
    np.testing.assert_allclose(tr.losses[0], p.losses, rtol=1e-6)


def test_layer_input_percentiles():
    torch.manual_seed(0)
    net = nets.MLP(5, hidden=(7, 7), out_dim=2, batch_norm=True)
    X = torch.randn(50, 5)
    got = landscape.layer_input_percentiles(net, X, layer=-1, q=(15, 50, 85), units=[0, 3])
    assert net.training  # mode restored
    net.eval()
    z = net.hidden_inputs(X)[1].detach().double().numpy()[:, [0, 3]]
    np.testing.assert_allclose(got, np.percentile(z, [15, 50, 85], axis=0))
    a = net.hidden_inputs(X, before_norm=True)[0].detach().double().numpy()
    np.testing.assert_allclose(landscape.layer_input_percentiles(net, X, layer=0, q=[85], before_norm=True),
                               np.percentile(a, [85], axis=0), rtol=1e-6)
    running = net.norms[1].running_mean.clone()
    got_train = landscape.layer_input_percentiles(net, X, layer=1, q=[50], train_mode=True)
    torch.testing.assert_close(net.norms[1].running_mean, running, rtol=0, atol=0)  # worked on a copy
    net.train()
    z_train = net.hidden_inputs(X)[1].detach().double().numpy()
    np.testing.assert_allclose(got_train, np.percentile(z_train, [50], axis=0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("call, exc", [
    (lambda net: landscape.probe(net, torch.randn(4, 3), torch.zeros(4, dtype=torch.long), etas=[]), ValueError),
    (lambda net: landscape.probe(net, torch.randn(4, 3), torch.zeros(4, dtype=torch.long), etas=[-0.1]), ValueError),
    (lambda net: landscape.layer_input_percentiles(net, torch.randn(4, 3), layer=5), ValueError),
    (lambda net: landscape.layer_input_percentiles(net, torch.randn(4, 3), layer=0, q=[120]), ValueError),
    (lambda net: landscape.layer_input_percentiles(torch.nn.Linear(3, 2), torch.randn(4, 3), layer=0), TypeError),
])
def test_bad_arguments_are_rejected(call, exc):
    net = nets.MLP(3, hidden=(4,), out_dim=2)
    with pytest.raises(exc):
        call(net)
