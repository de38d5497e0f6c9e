"""lecture_utils.training.init (lecture 05): schemes equal torch.nn.init draw for draw; statistics across depth."""
import math

import pytest
import torch
from torch import nn

from lecture_utils.training import init


@pytest.mark.parametrize("scheme, reference", [
    ("glorot_uniform", lambda W, g: nn.init.xavier_uniform_(W, generator=g)),
    ("glorot_normal", lambda W, g: nn.init.xavier_normal_(W, generator=g)),
    ("he_normal", lambda W, g: nn.init.kaiming_normal_(W, nonlinearity="relu", generator=g)),
    ("uniform_fan_in", lambda W, g: nn.init.kaiming_uniform_(W, a=math.sqrt(5), generator=g)),  # nn.Linear's default
])
def test_schemes_equal_torch_init(scheme, reference):
    W = torch.empty(30, 50, dtype=torch.float64)
    R = torch.empty(30, 50, dtype=torch.float64)
    init.init_weight_(W, scheme, generator=torch.Generator().manual_seed(3))
    reference(R, torch.Generator().manual_seed(3))
    assert torch.allclose(W, R, rtol=1e-12, atol=1e-15)


def test_glorot_bound_has_sqrt6_and_variance_two_over_fan_sum():
    assert init.uniform_bound("glorot_uniform", 300, 100) == pytest.approx(math.sqrt(6) / 20)
    W = torch.empty(400, 600, dtype=torch.float64)
    init.init_weight_(W, "glorot_uniform", generator=torch.Generator().manual_seed(0))
    a = math.sqrt(6) / math.sqrt(1000)
    assert float(W.abs().max()) <= a and float(W.abs().max()) > 0.99 * a
    assert float(W.var()) == pytest.approx(2 / 1000, rel=0.02)
    assert init.weight_std("glorot_uniform", 600, 400) == pytest.approx(math.sqrt(2 / 1000))


def test_constant_init_keeps_hidden_units_equal_under_gradient_descent():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    init.initialize(net, "constant", value=0.3)
    X = torch.randn(64, 3, dtype=torch.float64)
    y = torch.randn(64, 2, dtype=torch.float64)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(50):
        opt.zero_grad()
        loss = ((net(X) - y) ** 2).mean()
        loss.backward()
        opt.step()
    W1 = net[0].weight.detach()
    assert torch.allclose(W1, W1[:1].expand_as(W1))  # every hidden unit has the same incoming weights
    assert not torch.allclose(W1, torch.full_like(W1, 0.3))  # ... although they did change
    init.initialize(net, "glorot_uniform", seed=0)
    assert not torch.allclose(net[0].weight, net[0].weight[:1].expand_as(net[0].weight))


def test_activation_stats_show_vanishing_saturation_and_stable_schemes():
    small = init.activation_stats("normal", std=0.01, depth=8, width=128, activation="tanh")
    large = init.activation_stats("normal", std=1.0, depth=8, width=128, activation="tanh")
    glorot = init.activation_stats("glorot_uniform", depth=8, width=128, activation="tanh")
    he = init.activation_stats("he_normal", depth=8, width=128, activation="relu")
    assert small["std"][-1] < 1e-6  # signals vanish
    assert large["saturated"][-1] > 0.5  # tanh saturates
    assert 0.1 < glorot["std"][-1] < 1.0
    assert 0.3 < he["std"][-1] < 2.0
    for s in (small, large, glorot, he):
        assert all(v.shape == (8,) for v in s.values())


def test_bad_input():
    with pytest.raises(ValueError, match="scheme must be one of"):
        init.init_weight_(torch.empty(2, 2), "xavier")
    with pytest.raises(ValueError, match="2-D tensor"):
        init.init_weight_(torch.empty(3), "glorot_uniform")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        init.initialize([1, 2], "glorot_uniform")
    with pytest.raises(ValueError, match="activation must be one of"):
        init.activation_stats("he_normal", activation="swish")
