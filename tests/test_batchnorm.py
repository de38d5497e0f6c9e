"""Batch norm from scratch against torch.nn.BatchNorm1d and autograd, in float64."""
import copy

import numpy as np
import pytest
import torch

from lecture_utils import optim
from lecture_utils.training import data, nets, train
from lecture_utils.training.batchnorm import BatchNorm1d, batch_norm_backward, batch_norm_forward


def random_inputs(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(*shape, generator=g, dtype=torch.float64) + 2
    C = shape[1]
    gamma = torch.rand(C, generator=g, dtype=torch.float64) + 0.5
    beta = torch.randn(C, generator=g, dtype=torch.float64)
    return x, gamma, beta


@pytest.mark.parametrize("shape", [(16, 5), (7, 3, 4)])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_forward_equals_torch_functional(shape, eps):
    x, gamma, beta = random_inputs(shape)
    y, cache = batch_norm_forward(x, gamma, beta, eps)
    ref = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    torch.testing.assert_close(y, ref)
    dims = (0,) if len(shape) == 2 else (0, 2)
    torch.testing.assert_close(cache["var"], x.var(dims, unbiased=False))


@pytest.mark.parametrize("shape", [(16, 5), (7, 3, 4), (2, 6)])
def test_backward_by_hand_equals_autograd(shape):
    x, gamma, beta = random_inputs(shape, seed=1)
    x.requires_grad_(True)
    gamma.requires_grad_(True)
    beta.requires_grad_(True)
    dy = torch.randn(*shape, dtype=torch.float64)
    y = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)
    y.backward(dy)
    _, cache = batch_norm_forward(x.detach(), gamma.detach(), beta.detach(), 1e-5)
    dx, dgamma, dbeta = batch_norm_backward(dy, cache)
    torch.testing.assert_close(dx, x.grad)
    torch.testing.assert_close(dgamma, gamma.grad)
    torch.testing.assert_close(dbeta, beta.grad)


def test_backward_passes_gradcheck():
    x, gamma, beta = random_inputs((6, 3), seed=2)
    from lecture_utils.training.batchnorm import BatchNormFunction

    args = (x.requires_grad_(True), gamma.requires_grad_(True), beta.requires_grad_(True), 1e-5)
    assert torch.autograd.gradcheck(BatchNormFunction.apply, args)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine, track", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("shape", [(10, 4), (5, 4, 3)])
def test_module_equals_torch_over_training_and_eval(momentum, affine, track, shape):
    torch.manual_seed(0)
    ours = BatchNorm1d(4, eps=1e-3, momentum=momentum, affine=affine, track_running_stats=track).double()
    ref = torch.nn.BatchNorm1d(4, eps=1e-3, momentum=momentum, affine=affine, track_running_stats=track).double()
    if affine:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.normal_()
            ours.weight.copy_(ref.weight)
            ours.bias.copy_(ref.bias)
    for step in range(4):
        x, _, _ = random_inputs(shape, seed=10 + step)
        x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        y1, y2 = ours(x1), ref(x2)
        torch.testing.assert_close(y1, y2)
        dy = torch.randn(*shape, dtype=torch.float64)
        y1.backward(dy)
        y2.backward(dy)
        torch.testing.assert_close(x1.grad, x2.grad)
        if affine:
            torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
            torch.testing.assert_close(ours.bias.grad, ref.bias.grad)
        if track:
            torch.testing.assert_close(ours.running_mean, ref.running_mean)
            torch.testing.assert_close(ours.running_var, ref.running_var)  # unbiased variance inside
            assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == step + 1
    ours.eval()
    ref.eval()
    x, _, _ = random_inputs(shape, seed=99)
    torch.testing.assert_close(ours(x), ref(x))


def test_running_var_uses_unbiased_variance():
    bn = BatchNorm1d(2, momentum=1.0).double()
    x = torch.tensor([[0.0, 1.0], [2.0, 5.0], [4.0, 3.0]], dtype=torch.float64)
    bn(x)
    expected = np.var(x.numpy(), axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_var.numpy(), expected)
    np.testing.assert_allclose(bn.running_mean.numpy(), x.numpy().mean(0))


def test_state_dict_interchangeable_with_torch():
    ref = torch.nn.BatchNorm1d(3)
    ref(torch.randn(8, 3))
    ours = BatchNorm1d(3)
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    ref.eval()
    x = torch.randn(4, 3)
    torch.testing.assert_close(ours(x), ref(x))


def test_mlp_with_our_batch_norm_trains_like_torch_batch_norm():
    ds = data.digits(device="cpu")
    torch.manual_seed(0)
    a = nets.MLP(64, hidden=(32, 32), out_dim=10, batch_norm="ours").double()
    b = nets.MLP(64, hidden=(32, 32), out_dim=10, batch_norm=True).double()
    b.load_state_dict(a.state_dict())
    for net in (a, b):
        train.run(net, ds, optim.SGD(lr=0.1, momentum=0.9), epochs=2, batch_size=64, seed=0, progress=False)
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        torch.testing.assert_close(p, q)


def test_bad_input_is_rejected():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError):
        bn(torch.randn(4, 5))
    with pytest.raises(ValueError):
        bn(torch.randn(1, 3))
    with pytest.raises(ValueError):
        BatchNorm1d(0)
    with pytest.raises(ValueError):
        BatchNorm1d(3, momentum=2.0)
    with pytest.raises(ValueError):
        batch_norm_forward(torch.randn(2, 3, 4, 5), torch.ones(3), torch.zeros(3))
    assert copy.deepcopy(bn).num_features == 3
