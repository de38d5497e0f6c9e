"""Loss landscapes: filter normalization gives every filter of a direction the norm of the weights' filter; the
batched grid equals pointwise evaluation; interpolation and trajectory PCA against their definitions."""
import copy

import numpy as np
import pytest
import torch

from lecture_utils.training import curvature, data, nets, train
from lecture_utils.training import loss_landscape as ll


@pytest.fixture(scope="module")
def digits():
    ds = data.digits(seed=0, device="cpu")
    return ds.X_train[:60], ds.y_train[:60]


def _mlp(seed=0, **kw):
    torch.manual_seed(seed)
    return nets.MLP(64, (16, 16), 10, **kw)


def _loss_at(net, theta, X, y):
    """The reference: load theta into a copy of the net, call it in training mode."""
    work = copy.deepcopy(net)
    with torch.no_grad():
        for p, t in zip(work.parameters(), theta.split([p.numel() for p in work.parameters()])):
            p.copy_(t.view(p.shape))
    work.train()
    with torch.no_grad():
        return float(train.task_loss(work(X), y))


@pytest.mark.parametrize("make", [lambda: _mlp(batch_norm=True), lambda: _mlp(skip=True),
                                  lambda: nets.SmallCNN(10, channels=(4, 8))], ids=["mlp+bn", "mlp+skip", "cnn"])
def test_filter_normalization_gives_each_filter_the_weights_norm(make):
    torch.manual_seed(1)
    net = make()
    d = ll.random_direction(net, seed=3)
    want, got = ll.filter_norms(net), ll.filter_norms(net, d)
    assert len(want) == len(got) == sum(p.dim() >= 2 for p in net.parameters())
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-5)
    pieces = d.split([p.numel() for p in net.parameters()])
    for p, piece in zip(net.parameters(), pieces):
        if p.dim() <= 1:  # biases and batch-norm scales and shifts stay put (Li et al.'s ignore='biasbn')
            assert torch.equal(piece, torch.zeros_like(piece))
    # The rows of a direction are not all rescaled by one factor: a per-layer normalization would fail this.
    layer = ll.random_direction(net, seed=3, normalization="layer")
    lw = [np.linalg.norm(w) for w in want]
    lg = [np.linalg.norm(g) for g in ll.filter_norms(net, layer)]
    np.testing.assert_allclose(lg, lw, rtol=1e-5)
    assert any(not np.allclose(g, w, rtol=1e-2) for g, w in zip(ll.filter_norms(net, layer), want))


def test_direction_options(digits):
    net = _mlp()
    d_w = ll.random_direction(net, seed=0, bias="weights")
    theta = curvature.flat_parameters(net)
    for p, piece, t in zip(net.parameters(), d_w.split([p.numel() for p in net.parameters()]),
                           theta.split([p.numel() for p in net.parameters()])):
        if p.dim() == 1:
            assert torch.equal(piece, t)
    raw = ll.random_direction(net, seed=0, normalization=None)
    assert torch.equal(ll.random_direction(net, seed=0, normalization=None), raw)  # same seed, same draw
    assert not torch.equal(ll.random_direction(net, seed=1, normalization=None), raw)
    assert torch.equal(ll.random_direction(net, seed=5), ll.random_direction(net, seed=5))


def test_scaling_the_weights_scales_the_filter_normalized_direction(digits):
    """Li et al.'s point: a net whose weights are scaled gets a direction scaled the same way."""
    net = _mlp()
    big = copy.deepcopy(net)
    with torch.no_grad():
        big.linears[0].weight.mul_(10.0)
    d, d_big = ll.random_direction(net, seed=2), ll.random_direction(big, seed=2)
    n0 = net.linears[0].weight.numel()
    torch.testing.assert_close(d_big[:n0], 10.0 * d[:n0])
    torch.testing.assert_close(d_big[n0:], d[n0:])


@pytest.mark.parametrize("kind", ["plain", "batch norm", "skip", "cnn"])
def test_the_batched_grid_equals_pointwise_evaluation(kind, digits):
    X, y = digits
    net = {"plain": lambda: _mlp(activation="tanh"), "batch norm": lambda: _mlp(batch_norm=True),
           "skip": lambda: _mlp(skip=True), "cnn": lambda: nets.SmallCNN(10, channels=(4, 8))}[kind]()
    d1, d2 = ll.random_direction(net, seed=1), ll.random_direction(net, seed=2)
    alphas, betas = np.linspace(-1, 1, 5), np.linspace(-0.5, 1.0, 4)
    g = ll.grid_2d(net, X, y, d1, d2, alphas, betas, chunk_size=7)
    ref = ll.grid_2d(net, X, y, d1, d2, alphas, betas, batched=False)
    assert g.losses.shape == (4, 5)
    np.testing.assert_allclose(g.losses, ref.losses, rtol=2e-5)
    theta = curvature.flat_parameters(net)
    for i, j in [(0, 0), (3, 4), (1, 2)]:
        point = theta + float(alphas[j]) * d1 + float(betas[i]) * d2
        assert g.losses[i, j] == pytest.approx(_loss_at(net, point, X, y), rel=2e-5)
    assert g.losses[np.argmin(np.abs(betas)), np.argmin(np.abs(alphas))] != pytest.approx(1e9)


def test_the_grid_leaves_the_net_alone(digits):
    X, y = digits
    net = _mlp(batch_norm=True)
    net.eval()
    before = copy.deepcopy(net.state_dict())
    ll.grid_2d(net, X, y, ll.random_direction(net, seed=1), ll.random_direction(net, seed=2), [0, 1], [0, 1])
    ll.grid_2d(net, X, y, ll.random_direction(net, seed=1), ll.random_direction(net, seed=2), [0, 1], [0, 1],
               batched=False)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert not net.training


def test_eval_mode_uses_running_statistics(digits):
    X, y = digits
    net = _mlp(batch_norm=True)
    train.run(net, (X, y), "sgd", epochs=2, batch_size=20, opt_kwargs={"lr": 0.1}, seed=0, progress=False)
    theta = curvature.flat_parameters(net)[None]
    ev = ll.losses_at(net, X, y, theta, mode="eval")
    assert ev[0] == pytest.approx(train.evaluate(net, X, y)["loss"], rel=1e-5)
    np.testing.assert_allclose(ll.losses_at(net, X, y, theta, mode="eval", batched=False), ev, rtol=1e-5)
    assert ll.losses_at(net, X, y, theta)[0] != pytest.approx(ev[0], rel=1e-3)


def test_interpolation_hits_both_ends(digits):
    X, y = digits
    a, b = _mlp(seed=0), _mlp(seed=1)
    ta, tb = curvature.flat_parameters(a), curvature.flat_parameters(b)
    losses = ll.interpolate(a, ta, tb, X, y, alphas=[0.0, 0.5, 1.0])
    assert losses[0] == pytest.approx(_loss_at(a, ta, X, y), rel=1e-5)
    assert losses[2] == pytest.approx(_loss_at(b, tb, X, y), rel=1e-5)
    assert losses[1] == pytest.approx(_loss_at(a, 0.5 * (ta + tb), X, y), rel=1e-5)
    assert ll.interpolate(a, ta, tb, X, y).shape == (41,)


def test_trajectory_pca_on_a_trajectory_in_a_plane():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((50, 2)))
    t = np.linspace(0, 1, 30)
    coords = np.stack([3 * (1 - t), 0.5 * np.sin(6 * t)], 1)   # ends at the origin
    thetas = torch.as_tensor(coords @ basis.T + 7.0)
    pca = ll.trajectory_pca(thetas)
    assert pca.directions.shape == (2, 50) and pca.coords.shape == (30, 2)
    np.testing.assert_allclose(pca.explained.sum(), 1.0, rtol=1e-10)
    torch.testing.assert_close(pca.directions @ pca.directions.T, torch.eye(2, dtype=torch.float64))
    recon = pca.coords @ pca.directions.numpy() + pca.center.numpy()
    np.testing.assert_allclose(recon, thetas.numpy(), atol=1e-10)       # the plane holds the whole trajectory
    assert pca.coords[0, 0] > 0 and pca.coords[0, 1] >= 0 - 1e-12       # starts at positive coordinates
    assert pca.explained[0] > pca.explained[1]
    # the same directions as numpy's SVD, up to sign
    _, s, vt = np.linalg.svd(thetas.numpy() - thetas.numpy()[-1], full_matrices=False)
    np.testing.assert_allclose(np.abs(pca.directions.numpy()), np.abs(vt[:2]), atol=1e-10)
    np.testing.assert_allclose(pca.explained, s[:2] ** 2 / (s ** 2).sum())


def test_bad_arguments_are_refused(digits):
    X, y = digits
    net = _mlp()
    with pytest.raises(ValueError, match="normalization must be one of"):
        ll.random_direction(net, normalization="row")
    with pytest.raises(ValueError, match="bias must be one of"):
        ll.random_direction(net, bias="keep")
    with pytest.raises(ValueError, match=r"points must have shape \(N, 1482\)"):
        ll.losses_at(net, X, y, torch.zeros(3, 5))
    with pytest.raises(ValueError, match="thetas must be"):
        ll.trajectory_pca(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        ll.losses_at(net, X, y, torch.zeros(1, 1482), chunk_size=0)
    with pytest.raises(ValueError, match="alphas must have 1 dimension"):
        ll.grid_2d(net, X, y, torch.zeros(1482), torch.zeros(1482), [[0.0]], [0.0])
