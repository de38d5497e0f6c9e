"""Small nets against hand-written forward passes with the same weights, and their output conventions."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from lecture_utils.training import nets


def manual_mlp(net, x, *, train_mode):
    """Reference forward pass written out with the net's weights (batch norm by its formula)."""
    x = x.reshape(len(x), -1)
    hs = []
    for i, lin in enumerate(net.linears):
        z = x @ lin.weight.T + lin.bias
        if net.batch_norm:
            bn = net.norms[i]
            if train_mode:
                mu, var = z.mean(0), z.var(0, unbiased=False)
            else:
                mu, var = bn.running_mean, bn.running_var
            z = (z - mu) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
        h = {"relu": torch.relu, "tanh": torch.tanh}[net.activation](z)
        if net.skip and i > 0:
            proj = net.projections[i]
            h = h + (x if isinstance(proj, torch.nn.Identity) else x @ proj.weight.T)
        x = h
        hs.append(x)
    out = x @ net.out.weight.T + net.out.bias
    return out, hs


@pytest.mark.parametrize("batch_norm, skip, activation", list(itertools.product([False, True], [False, True],
                                                                           ["relu", "tanh"])))
def test_mlp_forward_matches_manual(batch_norm, skip, activation):
    torch.manual_seed(0)
    net = nets.MLP(5, hidden=(7, 7, 4), out_dim=3, batch_norm=batch_norm, skip=skip, activation=activation).double()
    x = torch.randn(11, 5, dtype=torch.float64)
    ref, _ = manual_mlp(net, x, train_mode=True)
    torch.testing.assert_close(net(x), ref)
    net.eval()
    ref_eval, _ = manual_mlp(net, x, train_mode=False)
    torch.testing.assert_close(net(x), ref_eval)


def test_mlp_aux_heads_return_tuple_from_each_lower_layer():
    torch.manual_seed(1)
    net = nets.MLP(6, hidden=(8, 8, 8), out_dim=4, aux_heads=True).double()
    x = torch.randn(5, 6, dtype=torch.float64)
    logits, aux = net(x)
    ref, hs = manual_mlp(net, x, train_mode=True)
    torch.testing.assert_close(logits, ref)
    assert len(aux) == 2
    for head, h, a in zip(net.heads, hs[:-1], aux):
        torch.testing.assert_close(a, h @ head.weight.T + head.bias)
    net.eval()
    assert isinstance(net(x), tuple)  # same form in eval mode
    torch.testing.assert_close(nets.main_output(net(x)), logits)


def test_mlp_without_hidden_layers_is_linear():
    net = nets.MLP(4, hidden=(), out_dim=2)
    x = torch.randn(3, 4)
    torch.testing.assert_close(net(x), F.linear(x, net.out.weight, net.out.bias))
    assert nets.count_parameters(net) == 4 * 2 + 2


def test_hidden_inputs_are_the_inputs_of_each_activation():
    torch.manual_seed(2)
    net = nets.MLP(3, hidden=(5, 5), out_dim=2, batch_norm=True)
    x = torch.randn(20, 3)
    z = net.hidden_inputs(x)
    assert [t.shape for t in z] == [(20, 5), (20, 5)]
    # after batch norm in training mode each unit has batch mean 0 and variance ~1 (gamma=1, beta=0)
    torch.testing.assert_close(z[1].mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(z[1].var(0, unbiased=False), torch.ones(5), atol=1e-3, rtol=0)
    a = net.hidden_inputs(x, before_norm=True)
    torch.testing.assert_close(a[1], torch.relu(z[0]) @ net.linears[1].weight.T + net.linears[1].bias)
    torch.testing.assert_close(a[0], x @ net.linears[0].weight.T + net.linears[0].bias)
    plain = nets.MLP(3, hidden=(5,), out_dim=2)
    torch.testing.assert_close(plain.hidden_inputs(x)[0], plain.hidden_inputs(x, before_norm=True)[0])


def test_count_parameters_matches_formula():
    net = nets.MLP(64, hidden=(32, 16), out_dim=10, batch_norm=True)
    expected = (64 * 32 + 32) + (32 * 16 + 16) + (16 * 10 + 10) + 2 * (32 + 16)
    assert nets.count_parameters(net) == expected


@pytest.mark.parametrize("batch_norm, skip, aux", list(itertools.product([False, True], repeat=3)))
def test_cnn_shapes_and_flat_input(batch_norm, skip, aux):
    torch.manual_seed(3)
    cnn = nets.SmallCNN(num_classes=10, channels=(4, 6), batch_norm=batch_norm, skip=skip, aux_heads=aux)
    cnn.eval()
    x = torch.rand(9, 1, 8, 8)
    out_img, out_flat = cnn(x), cnn(x.reshape(9, 64))
    torch.testing.assert_close(nets.main_output(out_img), nets.main_output(out_flat))
    assert nets.main_output(out_img).shape == (9, 10)
    if aux:
        assert isinstance(out_img, tuple) and len(out_img[1]) == 1 and out_img[1][0].shape == (9, 10)


def test_cnn_forward_matches_manual():
    torch.manual_seed(4)
    cnn = nets.SmallCNN(num_classes=3, channels=(2, 5), skip=True).double()
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    h = x
    for block in cnn.blocks:
        conv = F.conv2d(h, block.conv.weight, block.conv.bias, padding=1)
        shortcut = h if isinstance(block.proj, torch.nn.Identity) else F.conv2d(h, block.proj.weight)
        h = F.max_pool2d(torch.relu(conv) + shortcut, 2)
    ref = h.flatten(1) @ cnn.out.weight.T + cnn.out.bias
    torch.testing.assert_close(cnn(x), ref)


def test_aux_heads_receive_gradient_and_plain_heads_do_not_exist():
    net = nets.MLP(4, hidden=(6, 6), out_dim=3, aux_heads=True)
    logits, aux = net(torch.randn(8, 4))
    (logits.sum() + aux[0].sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    assert len(nets.MLP(4, hidden=(6, 6), out_dim=3).heads) == 0


@pytest.mark.parametrize("call, exc", [
    (lambda: nets.MLP(0, (4,), 2), ValueError),
    (lambda: nets.MLP(3, (4, -1), 2), ValueError),
    (lambda: nets.MLP(3, "wide", 2), TypeError),
    (lambda: nets.MLP(3, (4,), 2, activation="swish"), ValueError),
    (lambda: nets.MLP(3, (4,), 2, batch_norm="yes"), ValueError),
    (lambda: nets.MLP(3, (4,), 2, skip=1), TypeError),
    (lambda: nets.SmallCNN(channels=(4, 4, 4, 4)), ValueError),
    (lambda: nets.SmallCNN(batch_norm="ours"), ValueError),
])
def test_bad_arguments_are_rejected(call, exc):
    with pytest.raises(exc):
        call()
