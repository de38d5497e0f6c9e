"""The exercise checkers of lectures 01 and 02: a right answer passes, typical wrong answers fail with a
message that names the input, the expected and the received value, and says what the mistake looks like."""
import math

import numpy as np
import pytest

from lecture_utils import autodiff
from lecture_utils.checks import CheckFailed, lecture01, lecture02


def _fails(check, answer, *phrases):
    with pytest.raises(CheckFailed) as info:
        check(answer)
    msg = str(info.value)
    for phrase in phrases:
        assert phrase in msg, f"{phrase!r} not in message:\n{msg}"
    return msg


# ---- lecture 01 ---------------------------------------------------------------------------------------
def test_central_difference_right_answer_passes(capsys):
    assert lecture01.check_central_difference(lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h)) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, phrase", [
    (lambda f, x, h: (f(x + h) - f(x)) / h, "forward difference"),
    (lambda f, x, h: (f(x) - f(x - h)) / h, "backward difference"),
    (lambda f, x, h: (f(x + h) - f(x - h)) / h, "divide by 2 * h"),
    (lambda f, x, h: (f(x - h) - f(x + h)) / (2 * h), "wrong sign"),
    (lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h, "with brackets"),
])
def test_central_difference_typical_mistakes(wrong, phrase):
    msg = _fails(lecture01.check_central_difference, wrong, phrase, "expected 3.01", "x = 1.0, h = 0.1")
    assert "got" in msg


def test_central_difference_stub_and_crash():
    _fails(lecture01.check_central_difference, lambda f, x: 0.0, "raised TypeError")


def _ascent(df, x0, lr, num_steps, sign=+1.0):
    xs = [x0]
    for _ in range(num_steps):
        xs.append(xs[-1] + sign * lr * df(xs[-1]))
    return xs


def test_gradient_ascent_right_answer_passes():
    assert lecture01.check_gradient_ascent(_ascent)


def test_gradient_ascent_typical_mistakes():
    _fails(lecture01.check_gradient_ascent, lambda *a: _ascent(*a, sign=-1.0), "stepped downhill", "DESCENT",
           "x0 = -2.0", "expected", "got")
    _fails(lecture01.check_gradient_ascent, lambda *a: _ascent(*a)[1:], "start x0 is missing")
    _fails(lecture01.check_gradient_ascent, lambda *a: _ascent(*a)[-1], "only the last point")
    # a step that is too large: generic hint with the update rule
    _fails(lecture01.check_gradient_ascent, lambda df, x0, lr, n: _ascent(df, x0, 2 * lr, n),
           "x_next = x + lr * df(x)", "lr = 0.01")


def test_activation_derivative_checks():
    assert lecture01.check_sigmoid_derivative(lambda s: s * (1 - s))
    assert lecture01.check_tanh_derivative(lambda t: 1 - t ** 2)
    _fails(lecture01.check_sigmoid_derivative, lambda s: s * (1 + s), "s * (1 + s)", "sign", "x = -3")
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    _fails(lecture01.check_sigmoid_derivative, lambda s: sig(s) * (1 - sig(s)), "applied the sigmoid again")
    _fails(lecture01.check_tanh_derivative, lambda t: 1 + t * t, "sign error", "expected 0.00986604")
    _fails(lecture01.check_tanh_derivative, lambda t: 1 - math.tanh(t) ** 2, "applied tanh again")
    _fails(lecture01.check_tanh_derivative, lambda t: 0.0, "expected", "got 0")


# ---- lecture 02: dL/dw111 -----------------------------------------------------------------------------
def _parts(W1, W2, x, y):
    a = W1 @ x
    n = np.maximum(a, 0)
    F = W2 @ n
    step = float(a[0] > 0)
    return -2 * (y - F[0]), -2 * ((1 - y) - F[1]), step


def right_dw111(W1, W2, x, y):
    e1, e2, step = _parts(W1, W2, x, y)
    return (e1 * W2[0, 0] + e2 * W2[1, 0]) * x[0] * step


def test_dw111_right_answer_passes():
    assert lecture02.check_dL_dw111(right_dw111)


def _only_f1(W1, W2, x, y):
    e1, e2, s = _parts(W1, W2, x, y)
    return e1 * W2[0, 0] * x[0] * s


def _only_f2(W1, W2, x, y):
    e1, e2, s = _parts(W1, W2, x, y)
    return e2 * W2[1, 0] * x[0] * s


def _no_gate(W1, W2, x, y):
    e1, e2, s = _parts(W1, W2, x, y)
    return (e1 * W2[0, 0] + e2 * W2[1, 0]) * x[0]


def _no_output_weights(W1, W2, x, y):
    e1, e2, s = _parts(W1, W2, x, y)
    return (e1 + e2) * x[0] * s


def _no_input(W1, W2, x, y):
    e1, e2, s = _parts(W1, W2, x, y)
    return (e1 * W2[0, 0] + e2 * W2[1, 0]) * s


@pytest.mark.parametrize("wrong, phrase", [
    (_only_f1, "only the path through output F1"),
    (_only_f2, "only the path through output F2"),
    (lambda W1, W2, x, y: -right_dw111(W1, W2, x, y), "sign is flipped"),
    (_no_gate, "ReLU gate is missing"),
    (_no_output_weights, "chain rule stops too early"),
    (_no_input, "da1/dw111 = x1"),
])
def test_dw111_typical_mistakes(wrong, phrase):
    msg = _fails(lecture02.check_dL_dw111, wrong, phrase, "expected", "got", "x = [")
    assert "W1 = " in msg


def test_dw111_missing_gate_is_caught_on_the_switched_off_case():
    _fails(lecture02.check_dL_dw111, _no_gate, "hidden unit 1 off", "expected 0")


def test_dw111_returns_something_else():
    _fails(lecture02.check_dL_dw111, lambda W1, W2, x, y: [1.0, 2.0], "one number")


# ---- lecture 02: numerical gradient -------------------------------------------------------------------
def right_numgrad(f, x, h):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_numerical_gradient_right_answer_passes():
    assert lecture02.check_numerical_gradient(right_numgrad)


def test_numerical_gradient_typical_mistakes():
    def forward(f, x, h):
        return np.array([(f(x + h * np.eye(x.size)[i]) - f(x)) / h for i in range(x.size)])

    def all_at_once(f, x, h):
        return np.full(x.size, (f(x + h) - f(x - h)) / (2 * h))

    def wasteful(f, x, h):
        for _ in range(10):
            f(x)
        return right_numgrad(f, x, h)

    _fails(lecture02.check_numerical_gradient, forward, "forward difference", "x = [1.0, -2.0, 0.5]", "got")
    _fails(lecture02.check_numerical_gradient, lambda f, x, h: 2 * right_numgrad(f, x, h), "twice too big")
    _fails(lecture02.check_numerical_gradient, lambda f, x, h: -right_numgrad(f, x, h), "sign is flipped")
    _fails(lecture02.check_numerical_gradient, all_at_once, "every coordinate at once")
    _fails(lecture02.check_numerical_gradient, wasteful, "called f 16 times", "2n = 6")
    _fails(lecture02.check_numerical_gradient, lambda f, x, h: right_numgrad(f, x, h)[:2], "shape (2,)")


# ---- lecture 02: a new operation for the engine -------------------------------------------------------
def _softplus(accumulate=True, chain=True, connected=True):
    def softplus(v):
        out = autodiff.Value(math.log1p(math.exp(v.data)), parents=(v,) if connected else (), op="softplus")

        def backward_fn():
            local = 1 / (1 + math.exp(-v.data))
            g = local * out.grad if chain else local
            if accumulate:
                v.grad += g
            else:
                v.grad = g
        out.backward_fn = backward_fn
        return out
    return softplus


def test_softplus_right_answer_passes():
    assert lecture02.check_softplus(_softplus())


def test_softplus_typical_mistakes():
    _fails(lecture02.check_softplus, _softplus(chain=False), "chain rule is missing", "2 * softplus(3 * x)",
           "out.grad")
    _fails(lecture02.check_softplus, _softplus(accumulate=False), "must ADD up", "x used twice")
    _fails(lecture02.check_softplus, _softplus(connected=False), "not connected")
    _fails(lecture02.check_softplus, lambda v: math.log1p(math.exp(v.data)), "should return a Value")

    def wrong_value(v):
        out = _softplus()(v)
        out.data = math.exp(v.data)
        return out
    _fails(lecture02.check_softplus, wrong_value, "the value of softplus(x)", "log(1 + exp(v.data))")
