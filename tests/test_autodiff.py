"""The scalar autodiff engine against torch autograd, plus its graph export and its cost accounting."""
import math

import numpy as np
import pytest
import torch

from lecture_utils import autodiff as ad
from lecture_utils.autodiff import Value


def _torch_grads(fn, xs):
    t = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(t)
    out.backward()
    return float(out.detach()), [float(v.grad) for v in t]


# Each expression is written once and evaluated with Value nodes and with torch tensors.
EXPRESSIONS = {
    "add_mul": (lambda v, m: v[0] * v[1] + v[1] * 3.0 - 2.0, [1.3, -0.7]),
    "div_pow": (lambda v, m: v[0] / v[1] + v[1] ** 3 - 1.0 / v[0] + v[0] ** 0.5, [2.0, -1.5]),
    "rsub_rdiv": (lambda v, m: 2.0 - v[0] * (4.0 / v[1]), [0.3, 1.7]),
    "neg": (lambda v, m: -v[0] * v[1] + (-v[1]), [0.4, 2.5]),
    "transcendental": (lambda v, m: m.exp(v[0]) * m.sin(v[1]) + m.cos(v[0] * v[1]) + m.log(v[1] * v[1] + 1.0),
                       [0.5, -1.2]),
    "activations": (lambda v, m: m.tanh(v[0]) * m.sigmoid(v[1]) + m.relu(v[0] - v[1]) + m.relu(v[1]), [0.9, -0.4]),
    "shared_subexpression": (lambda v, m: (lambda s: s * s + m.tanh(s) * s)(v[0] * v[1] + v[2]), [0.6, -1.1, 0.2]),
    "reused_input_many_times": (lambda v, m: v[0] * v[0] * v[0] + v[0] + v[0], [1.7]),
}


class _TorchMath:
    exp, sin, cos, tanh, sigmoid, relu = torch.exp, torch.sin, torch.cos, torch.tanh, torch.sigmoid, torch.relu

    @staticmethod
    def log(x):
        return torch.log(x)


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_value_and_grad_equal_torch_autograd(name):
    fn, xs = EXPRESSIONS[name]
    value, grad, info = ad.value_and_grad(lambda v: fn(v, ad), xs)
    t_value, t_grad = _torch_grads(lambda v: fn(v, _TorchMath), xs)
    assert value == pytest.approx(t_value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)
    assert info["forward_passes"] == 1 and info["backward_passes"] == 1


def test_random_mlp_graph_equals_torch():
    """A 4-3-1 tanh net on one example, every weight's gradient against torch."""
    rng = np.random.default_rng(0)
    W1, W2, x = rng.normal(size=(3, 4)), rng.normal(size=(1, 3)), rng.normal(size=4)

    def net(params, m):
        w1 = [[params[4 * j + k] for k in range(4)] for j in range(3)]
        w2 = [params[12 + j] for j in range(3)]
        hidden = [m.tanh(sum((w1[j][k] * float(x[k]) for k in range(4)), 0.0)) for j in range(3)]
        out = sum((w2[j] * hidden[j] for j in range(3)), 0.0)
        return (out - 0.5) ** 2

    params = list(W1.ravel()) + list(W2.ravel())
    _, grad, _ = ad.value_and_grad(lambda v: net(v, ad), params)
    _, t_grad = _torch_grads(lambda v: net(v, _TorchMath), params)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)


def test_plain_floats_go_through_the_same_functions():
    for name in ("exp", "sin", "cos", "tanh"):
        assert getattr(ad, name)(0.3) == pytest.approx(getattr(math, name)(0.3))
    assert ad.sigmoid(0.0) == 0.5 and ad.sigmoid(-800.0) == 0.0 and ad.sigmoid(800.0) == 1.0
    assert ad.relu(-2.0) == 0.0 and ad.relu(2.0) == 2.0 and ad.log(math.e) == pytest.approx(1.0)


def test_backward_visits_each_node_once_and_returns_the_count():
    x = Value(2.0, label="x")
    y = x * x          # x used twice by one node
    z = y + y          # y used twice
    n = z.backward()
    assert n == len(ad.topological_order(z)) == 3
    assert x.grad == pytest.approx(8.0)   # d(2x^2)/dx = 4x


def test_topological_order_puts_parents_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = ad.topological_order(e)
    pos = {id(n): i for i, n in enumerate(order)}
    assert order[-1] is e and len(order) == 5
    for node in order:
        assert all(pos[id(p)] < pos[id(node)] for p in node.parents)


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-9)


def test_gradients_accumulate_and_zero_grad_resets():
    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()        # gradients add up, as in torch
    assert x.grad == pytest.approx(12.0)
    y.zero_grad()
    assert x.grad == 0.0 and y.grad == 0.0


def test_graph_export_nodes_edges_levels():
    w, x = Value(2.0, label="w"), Value(1.5, label="x")
    loss = (ad.relu(w * x + 4.0) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    g = ad.graph(loss)
    by_label = {n["label"]: n for n in g.nodes if n["label"]}
    assert by_label["loss"]["data"] == 36.0 and by_label["loss"]["op"] == "**2"
    assert by_label["w"]["grad"] == pytest.approx(18.0) and by_label["w"]["op"] == ""
    # 2 labelled inputs + 2 constants (4.0, 1.0) + 5 operations
    assert len(g.nodes) == 9
    assert len(g.edges) == sum(len(n.parents) for n in ad.topological_order(loss)) == 8
    levels = {n["id"]: n["level"] for n in g.nodes}
    for src, dst in g.edges:
        assert levels[src] < levels[dst]
    assert all(n["level"] == 0 for n in g.nodes if n["op"] == "")
    assert by_label["loss"]["level"] == max(levels.values()) == 5


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="data must be a real number"):
        Value("3")
    with pytest.raises(TypeError, match="data must be a real number"):
        Value(True)
    with pytest.raises(TypeError, match="constant real exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / Value(0.0)
    with pytest.raises(ValueError, match="fractional power"):
        Value(-2.0) ** 0.5
    with pytest.raises(TypeError, match="root must be a Value"):
        ad.topological_order(3.0)
    with pytest.raises(TypeError, match="parents must be Value"):
        Value(1.0, parents=(2.0,))


def test_a_user_defined_operation_plugs_in():
    """The extension point the lecture 02 exercise uses: parents, op and backward_fn."""
    def cube(v):
        out = Value(v.data ** 3, parents=(v,), op="cube")

        def backward_fn():
            v.grad += 3 * v.data ** 2 * out.grad
        out.backward_fn = backward_fn
        return out

    x = Value(1.2)
    (cube(x) * 2.0 + cube(x)).backward()
    assert x.grad == pytest.approx(9 * 1.2 ** 2)
