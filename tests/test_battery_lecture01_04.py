"""The checkers of lectures 01 to 04 under attack: a battery of the mistakes students really make, each rejected
with a message that names it correctly (or, where the checker does not recognize it, says expected vs got and a
generic hint, never a wrong diagnosis); hostile returns (tensors that require grad, complex, NaN, inf, strings,
generators, None, wrong shapes, crashes) handled with a short message; every correct form accepted (numpy and
torch, list and array, float32 and float64); and each checker passes the notebook's own reference solution."""
import ast
import json
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from lecture_utils import autodiff, averaging, linear_models as lm, minibatch, problems, tiny_net
from lecture_utils.autodiff import Value
from lecture_utils.checks import CheckFailed, lecture01, lecture02, lecture03, lecture04

ROOT = Path(__file__).resolve().parents[1]
MAX_MESSAGE = 600  # characters: a message is a few lines, never a dump


def rejects_at(check, answer, phrase, where):
    """Rejected with ``phrase``; the message names the input (``where``, or the arguments of a call that crashed or
    changed its input in place)."""
    msg = rejects(check, answer, phrase)
    named = "called with" if " raised " in msg or "changed its argument" in msg else where
    assert named in msg, f"{named!r} not in message:\n{msg}"
    return msg


def rejects(check, answer, *phrases, absent=()):
    """``check(answer)`` raises CheckFailed whose (short) message holds every phrase and none of ``absent``."""
    with pytest.raises(CheckFailed) as info:
        check(answer)
    msg = str(info.value)
    assert len(msg) < MAX_MESSAGE, f"message too long ({len(msg)} characters):\n{msg}"
    for phrase in phrases:
        assert phrase in msg, f"{phrase!r} not in message:\n{msg}"
    for phrase in absent:
        assert phrase not in msg, f"{phrase!r} should not be in message:\n{msg}"
    if " raised " in msg:  # a crash of the student's code always names the input it crashed on
        assert "called with" in msg or " at x = " in msg, msg
    return msg


def accepts(check, answer):
    assert check(answer) is True


def hostile(correct, kind):
    """``correct`` with its answer replaced by a hostile one of the given kind."""
    def answer(*args):
        out = correct(*args)
        arr = np.asarray(out, dtype=float)
        return {
            "complex": lambda: arr + 1e-3j,
            "complex_zero_imag": lambda: arr.astype(complex),
            "nan": lambda: arr * np.nan,
            "inf": lambda: arr + np.inf,
            "string": lambda: str(out),
            "generator": lambda: (v for v in np.atleast_1d(arr)),
            "none": lambda: None,
            "wrong_shape": lambda: np.stack([arr, arr]),
            "crash": lambda: 1 / 0,
        }[kind]()
    return answer


# Each hostile return and the phrase the message must hold.
HOSTILE = [("complex", "complex"), ("complex_zero_imag", "complex"), ("nan", "not finite"), ("inf", "not finite"),
           ("string", "should be a number"), ("generator", "should be a number"), ("none", "returned None"),
           ("wrong_shape", "shape"), ("crash", "raised ZeroDivisionError")]


def as_grad_tensor(correct, dtype=torch.float64):
    """``correct`` returning a torch tensor that requires grad (its values are right)."""
    def answer(*args):
        return torch.tensor(np.asarray(correct(*args), dtype=float), dtype=dtype, requires_grad=True) * 1
    return answer


# =========================================================================================================
# lecture 01: central difference (also notebook 00)
# =========================================================================================================
def cd_right(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


CD_MISTAKES = [  # (wrong implementation, phrase its message must hold)
    (lambda f, x, h: (f(x + h) - f(x)) / h, "forward difference"),
    (lambda f, x, h: (f(x) - f(x - h)) / h, "backward difference"),
    (lambda f, x, h: (f(x + h) - f(x - h)) / h, "divide by 2 * h"),
    (lambda f, x, h: (f(x - h) - f(x + h)) / (2 * h), "wrong sign"),
    (lambda f, x, h: (f(x + h) - f(x - h)) / 2 * h, "with brackets"),
    (lambda f, x, h: cd_right(f, x, 1e-6), "use the step h you are given"),                    # a global h
    (lambda f, x, h: (f(x + h / 2) - f(x - h / 2)) / h, "h / 2"),
    (lambda f, h, x: (f(x + h) - f(x - h)) / (2 * h), "swapped"),                               # argument order
    (lambda f, x, h: (np.sin(x + h) - np.sin(x - h)) / (2 * h), "with the f, x and h you are given"),  # a fixed f
    (lambda f, x, h: 3.01, "with the f, x and h you are given"),             # hard-coded answer of the first case
    (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h) + 1e-3, "expected"),
]


@pytest.mark.parametrize("wrong, phrase", CD_MISTAKES)
def test_central_difference_battery(wrong, phrase):
    rejects(lecture01.check_central_difference, wrong, phrase, "expected", "got", "x = ")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_central_difference_hostile_returns(kind, phrase):
    rejects(lecture01.check_central_difference, hostile(cd_right, kind), phrase)


def test_central_difference_crash_names_the_input():
    rejects(lecture01.check_central_difference, hostile(cd_right, "crash"), "f(x) = x**3", "1", "0.1")


@pytest.mark.parametrize("right", [
    cd_right,
    lambda f, x, h: ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h) / 2,            # mean of forward and backward
    lambda f, x, h: np.float32(cd_right(f, x, h)),                                      # a float32 result
    lambda f, x, h: cd_right(f, np.float32(x), np.float32(h)),                          # float32 throughout
    lambda f, x, h: torch.tensor(cd_right(f, x, h), requires_grad=True),               # a float32 tensor with grad
    lambda f, x, h: [cd_right(f, x, h)],                                                # a one-entry list
])
def test_central_difference_accepts_every_correct_form(right):
    accepts(lecture01.check_central_difference, right)


# =========================================================================================================
# lecture 01: gradient ascent
# =========================================================================================================
def ascent(df, x0, lr, num_steps, sign=1.0):
    xs = [x0]
    for _ in range(num_steps):
        xs.append(xs[-1] + sign * lr * df(xs[-1]))
    return xs


def ascent_short(df, x0, lr, num_steps):          # the loop runs num_steps - 1 times
    return ascent(df, x0, lr, max(num_steps - 1, 0))


def ascent_at_x0(df, x0, lr, num_steps):
    xs = [x0]
    for _ in range(num_steps):
        xs.append(xs[-1] + lr * df(x0))
    return xs


def lecture_df(x):                                 # the notebook's own df, used instead of the argument
    return 25 * math.cos(x) - 2 * x


ASCENT_MISTAKES = [
    (lambda *a: ascent(*a, sign=-1.0), "stepped downhill"),
    (lambda *a: ascent(*a)[1:], "start x0 is missing"),
    (ascent_short, "you made 4 updates"),
    (lambda df, x0, lr, n: ascent(df, x0, lr, n + 1), "one update too many"),
    (lambda *a: [a[1]] + ascent(*a), "x0 appears twice"),
    (lambda *a: ascent(*a)[-1], "only the last point"),
    (ascent_at_x0, "CURRENT point"),
    (lambda df, x0, lr, n: ascent(df, x0, 1.0, n), "missing the learning rate"),
    (lambda df, x0, lr, n: ascent(df, x0, 0.01, n), "with the df, lr and num_steps you are given"),  # global lr
    (lambda df, x0, lr, n: ascent(lecture_df, x0, lr, n), "with the df, lr and num_steps you are given"),
    (lambda df, x0, lr, n: ascent(df, x0, lr, 5), "returned 6 values, expected 4"),              # fixed count
    (lambda df, x0, lr, n: ascent(df, -2.0, 0.01, 5), "one entry for the start and one per update"),  # hard-coded
]


@pytest.mark.parametrize("wrong, phrase", ASCENT_MISTAKES)
def test_gradient_ascent_battery(wrong, phrase):
    rejects_at(lecture01.check_gradient_ascent, wrong, phrase, "x0 = ")


def test_gradient_ascent_off_by_one_is_not_told_to_include_x0():
    """Stopping one update short gives num_steps values too; x0 is there, so "include x0" would mislead."""
    rejects(lecture01.check_gradient_ascent, ascent_short, "num_steps = 5 updates", absent=("x0 is missing",))


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_gradient_ascent_hostile_returns(kind, phrase):
    phrase = "flat list" if kind == "wrong_shape" else phrase
    rejects(lecture01.check_gradient_ascent, hostile(ascent, kind), phrase)


@pytest.mark.parametrize("right", [
    ascent,
    lambda *a: np.array(ascent(*a)),
    lambda *a: tuple(ascent(*a)),
    lambda df, x0, lr, n: ascent(lambda x: np.float32(df(x)), np.float32(x0), np.float32(lr), n),  # float32
    as_grad_tensor(ascent),
    lambda *a: [torch.tensor(x, dtype=torch.float64, requires_grad=True) * 1 for x in ascent(*a)],  # tensors
])
def test_gradient_ascent_accepts_every_correct_form(right):
    accepts(lecture01.check_gradient_ascent, right)


# =========================================================================================================
# lecture 01: derivatives written through the output
# =========================================================================================================
def sig(z):
    return 1 / (1 + math.exp(-z))


SIGMOID_MISTAKES = [
    (lambda s: s * (1 + s), "s * (1 + s)"),
    (lambda s: 1 - s, "only one of two factors"),
    (lambda s: sig(s) * (1 - sig(s)), "applied the sigmoid again"),
    (lambda s: 1 - s ** 2, "rule for tanh"),
    (lambda s: -s * (1 - s), "sign is flipped"),
    (lambda s: s, "returned s itself"),
    (lambda s: s * (1 - s) / 2, "expected"),
    (lambda s: 0.25, "expected"),                 # the value at x = 0 for every input
]

TANH_MISTAKES = [
    (lambda t: 1 + t * t, "sign error"),
    (lambda t: 1 - t, "power of t"),
    (lambda t: 1 - math.tanh(t) ** 2, "applied tanh again"),
    (lambda t: t * (1 - t), "rule for the sigmoid"),
    (lambda t: t * t - 1, "sign is flipped"),
    (lambda t: (1 - t) ** 2, "squared (1 - t)"),
    (lambda t: 1 - 2 * t, "expected"),
    (lambda t: 0.0, "expected"),
]


@pytest.mark.parametrize("wrong, phrase", SIGMOID_MISTAKES)
def test_sigmoid_derivative_battery(wrong, phrase):
    rejects(lecture01.check_sigmoid_derivative, wrong, phrase, "expected", "got", "(x = ")


@pytest.mark.parametrize("wrong, phrase", TANH_MISTAKES)
def test_tanh_derivative_battery(wrong, phrase):
    rejects(lecture01.check_tanh_derivative, wrong, phrase, "expected", "got", "(x = ")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_activation_derivatives_hostile_returns(kind, phrase):
    rejects(lecture01.check_sigmoid_derivative, hostile(lambda s: s * (1 - s), kind), phrase)
    rejects(lecture01.check_tanh_derivative, hostile(lambda t: 1 - t * t, kind), phrase)


@pytest.mark.parametrize("right", [
    lambda s: s * (1 - s),
    lambda s: s - s ** 2,
    lambda s: sig(math.log(s / (1 - s))) * (1 - sig(math.log(s / (1 - s)))),   # back to x, then sigma'(x)
    lambda s: np.float32(s) * (1 - np.float32(s)),
    lambda s: torch.tensor(s, requires_grad=True) * (1 - torch.tensor(s)),        # float32, requires grad
    lambda s: np.array([s * (1 - s)]),
])
def test_sigmoid_derivative_accepts_every_correct_form(right):
    accepts(lecture01.check_sigmoid_derivative, right)


@pytest.mark.parametrize("right", [
    lambda t: 1 - t ** 2,
    lambda t: (1 - t) * (1 + t),
    lambda t: 1 / math.cosh(math.atanh(t)) ** 2,
    lambda t: 1 - np.float32(t) ** 2,
    lambda t: 1 - torch.tensor(t, requires_grad=True) ** 2,
])
def test_tanh_derivative_accepts_every_correct_form(right):
    accepts(lecture01.check_tanh_derivative, right)


# =========================================================================================================
# lecture 02: dL/dw111
# =========================================================================================================
def dw111(W1, W2, x, y, *, relu=True, gate=True, gate_unit=0, w_f2=(1, 0), target2=None, x_entry=0, factor=2.0,
          paths=(1, 1), dtype=float):
    W1, W2, x = (np.asarray(a, dtype=dtype) for a in (W1, W2, x))
    a = W1 @ x
    n = np.maximum(a, 0) if relu else a
    F = W2 @ n
    step = float(a[gate_unit] > 0) if gate else 1.0
    e1 = -factor * (y - F[0])
    e2 = -factor * ((1 - y if target2 is None else target2) - F[1])
    return (paths[0] * e1 * W2[0, 0] + paths[1] * e2 * W2[w_f2]) * x[x_entry] * step


def dw111_autograd(W1, W2, x, y, dtype=torch.float64):
    w1 = torch.tensor(W1, dtype=dtype, requires_grad=True)
    F = torch.tensor(W2, dtype=dtype) @ torch.relu(w1 @ torch.tensor(x, dtype=dtype))
    loss = (y - F[0]) ** 2 + ((1 - y) - F[1]) ** 2
    loss.backward()
    return w1.grad[0, 0]


def dw111_in_place(W1, W2, x, y):
    W1[1] = np.maximum(W1[1], 0)            # edits the caller's weights
    return dw111(W1, W2, x, y)


DW_MISTAKES = [
    (lambda *a: dw111(*a, paths=(1, 0)), "only the path through output F1"),
    (lambda *a: dw111(*a, paths=(0, 1)), "only the path through output F2"),
    (lambda *a: dw111(*a, factor=-2.0), "sign is flipped"),
    (lambda *a: dw111(*a, factor=1.0), "factor 2"),
    (lambda *a: dw111(*a, relu=False), "forward pass skips the ReLU"),         # the gate alone does not save it
    (lambda *a: dw111(*a, relu=False, gate=False), "in the forward pass and in the gate"),
    (lambda *a: dw111(*a, gate=False), "ReLU gate is missing"),
    (lambda *a: dw111(*a, gate_unit=1), "not step(a2)"),
    (lambda *a: dw111(*a, w_f2=(0, 1)), "you used W2[0, 1]"),
    (lambda W1, W2, x, y: dw111(W1, W2, x, y, target2=y), "target is 1 - y"),
    (lambda *a: dw111(*a, x_entry=1), "the FIRST input x[0]"),
    (lambda W1, W2, x, y: dw111(W1, W2, x, y) / x[0], "da1/dw111 = x1"),
    (lambda W1, W2, x, y: 3.267, "expected"),                                   # the first case, hard-coded
    (lambda W1, W2, x, y: dw111(W1, W2, x, 1 - y), "expected"),                 # labels swapped
]


@pytest.mark.parametrize("wrong, phrase", DW_MISTAKES)
def test_dw111_battery(wrong, phrase):
    rejects_at(lecture02.check_dL_dw111, wrong, phrase, "x = [")


def test_dw111_in_place_edit_is_told():
    rejects(lecture02.check_dL_dw111, dw111_in_place, "in place", "W1")


def test_dw111_forward_without_relu_is_caught_where_unit_2_is_off():
    """The gate step(a1) alone is not enough: with unit 2 off, n2 = relu(a2) = 0 changes F."""
    rejects(lecture02.check_dL_dw111, lambda *a: dw111(*a, relu=False), "unit 2 off (a2 < 0)", "expected 4.197")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_dw111_hostile_returns(kind, phrase):
    phrase = "one number" if kind == "wrong_shape" else phrase
    rejects(lecture02.check_dL_dw111, hostile(dw111, kind), phrase)


@pytest.mark.parametrize("right", [
    dw111,
    tiny_net.dL_dw111_by_hand,
    dw111_autograd,                                                          # a float64 tensor
    as_grad_tensor(dw111),
    lambda *a: dw111_autograd(*a, dtype=torch.float32),                     # float32 throughout
    lambda *a: dw111(*a, dtype=np.float32),
    lambda *a: [dw111(*a)],
])
def test_dw111_accepts_every_correct_form(right):
    accepts(lecture02.check_dL_dw111, right)


# =========================================================================================================
# lecture 02: numerical gradient
# =========================================================================================================
def numgrad(f, x, h):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def numgrad_in_place_restored(f, x, h):       # moves x[i] and puts it back (up to rounding): correct
    g = np.zeros(x.size)
    for i in range(x.size):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        x[i] += h
        g[i] = (fp - fm) / (2 * h)
    return g


def numgrad_not_restored(f, x, h):
    g = np.zeros(x.size)
    for i in range(x.size):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        g[i] = (fp - f(x)) / (2 * h)
    return g


def numgrad_not_reset(f, x, h):
    g, e = np.zeros(x.size), np.zeros(x.size)
    for i in range(x.size):
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def numgrad_extra_call(f, x, h):
    f(x)
    return numgrad(f, x, h)


NUMGRAD_MISTAKES = [
    (lambda f, x, h: np.array([(f(x + h * e) - f(x)) / h for e in np.eye(x.size)]), "forward difference"),
    (lambda f, x, h: np.array([(f(x) - f(x - h * e)) / h for e in np.eye(x.size)]), "backward difference"),
    (lambda f, x, h: 2 * numgrad(f, x, h), "twice too big"),
    (lambda f, x, h: -numgrad(f, x, h), "sign is flipped"),
    (lambda f, x, h: np.full(x.size, (f(x + h) - f(x - h)) / (2 * h)), "every coordinate at once"),
    (lambda f, x, h: numgrad(f, x, 1e-6), "use the step h you are given"),
    (lambda f, x, h: numgrad(f, x, h / 2), "h / 2"),
    (numgrad_not_restored, "did not put coordinate i back"),
    (numgrad_not_reset, "was not reset"),
    (numgrad_extra_call, "called f 7 times"),
    (lambda f, x, h: numgrad(f, x, h)[:2], "shape (2,)"),
    (lambda f, x, h: numgrad(f, x, h)[[0, 1, 1]], "expected"),                  # the last entry copied
    (lambda f, x, h: numgrad(f, np.array([0.0, 1.0, 2.0]), h), "expected"),    # a global x
    (lambda f, x, h: np.array([(f(x[i] + h) - f(x[i] - h)) / (2 * h) for i in range(x.size)]),
     "f takes one point of shape (3,)"),                                        # f called on one coordinate
]


@pytest.mark.parametrize("wrong, phrase", NUMGRAD_MISTAKES)
def test_numerical_gradient_battery(wrong, phrase):
    rejects_at(lecture02.check_numerical_gradient, wrong, phrase, "x = [")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_numerical_gradient_hostile_returns(kind, phrase):
    rejects(lecture02.check_numerical_gradient, hostile(numgrad, kind), phrase)


@pytest.mark.parametrize("right", [
    numgrad,
    numgrad_in_place_restored,
    lambda f, x, h: [float(v) for v in numgrad(f, x, h)],
    lambda f, x, h: numgrad(lambda v: np.float32(f(v)), x.astype(np.float32), np.float32(h)),   # float32
    lambda f, x, h: torch.tensor(numgrad(f, x, h), requires_grad=True),
])
def test_numerical_gradient_accepts_every_correct_form(right):
    accepts(lecture02.check_numerical_gradient, right)


# =========================================================================================================
# lecture 02: softplus for the autodiff engine
# =========================================================================================================
def make_softplus(local=lambda v, out: 1 / (1 + math.exp(-v.data)), *, accumulate=True, chain=True,
                  connected=True, set_fn=True, value=lambda d: math.log1p(math.exp(d))):
    def softplus(v):
        out = Value(value(v.data), parents=(v,) if connected else (), op="softplus")

        def backward_fn():
            g = local(v, out) * (out.grad if chain else 1.0)
            if accumulate:
                v.grad += g
            else:
                v.grad = g
        if set_fn:
            out.backward_fn = backward_fn
        return out
    return softplus


def softplus_in_place(v):
    v.data = math.log1p(math.exp(v.data))
    return v


def softplus_writes_out(v):
    out = Value(math.log1p(math.exp(v.data)), parents=(v,), op="softplus")

    def backward_fn():
        out.grad += 1 / (1 + math.exp(-v.data))
    out.backward_fn = backward_fn
    return out


SOFTPLUS_MISTAKES = [
    (make_softplus(chain=False), "chain rule is missing"),
    (make_softplus(accumulate=False), "must ADD up"),
    (make_softplus(connected=False), "not connected to x"),
    (make_softplus(set_fn=False), "never set"),
    (softplus_writes_out, "must ADD the local derivative"),
    (make_softplus(lambda v, out: 1 / (1 + math.exp(v.data))), "sigma(-v)"),
    (make_softplus(lambda v, out: 1 / (1 + math.exp(-out.data))), "not at the output"),
    (make_softplus(lambda v, out: math.exp(v.data)), "e^v alone"),
    (make_softplus(lambda v, out: autodiff.sigmoid(v)), "x.grad is a Value"),
    (make_softplus(value=math.exp), "log(1 + exp(v.data))"),
    (lambda v: math.log1p(math.exp(v.data)), "should return a Value"),
    (softplus_in_place, "returned its input"),
    (make_softplus(lambda v, out: 0.5), "expected"),
    (lambda v: None, "should return a Value, got NoneType"),
]


@pytest.mark.parametrize("wrong, phrase", SOFTPLUS_MISTAKES)
def test_softplus_battery(wrong, phrase):
    rejects_at(lecture02.check_softplus, wrong, phrase, "x")


@pytest.mark.parametrize("local, phrase", [
    (lambda v, out: 1 / 0, "raised ZeroDivisionError"),
    (lambda v, out: undefined_name, "raised NameError"),  # noqa: F821
    (lambda v, out: complex(1, 1), "complex"),
    (lambda v, out: math.nan, "not finite"),
    (lambda v, out: math.inf, "not finite"),
])
def test_softplus_errors_in_the_backward_function(local, phrase):
    msg = rejects(lecture02.check_softplus, make_softplus(local), phrase, "x = -2.0")
    if "raised" in msg:
        assert "backward_fn" in msg


def test_softplus_error_while_building_names_the_graph():
    rejects(lecture02.check_softplus, lambda v: Value(math.log1p(math.exp(v.data)) + 1j), "raised TypeError",
            "softplus(x) at x = -2.0")


@pytest.mark.parametrize("right", [
    make_softplus(),
    lambda v: (v.exp() + 1).log(),                                            # built from the engine's own ops
    make_softplus(value=lambda d: d + math.log1p(math.exp(-d)) if d > 0 else math.log1p(math.exp(d))),  # stable
    make_softplus(lambda v, out: float(np.float32(1 / (1 + math.exp(-v.data))))),                      # float32
    make_softplus(lambda v, out: 1 - 1 / (1 + math.exp(v.data))),
    make_softplus(lambda v, out: torch.sigmoid(torch.tensor(v.data, requires_grad=True))),   # x.grad a tensor
])
def test_softplus_accepts_every_correct_form(right):
    accepts(lecture02.check_softplus, right)


# =========================================================================================================
# lecture 03: gradient descent with a stopping rule
# =========================================================================================================
def gd(f, df, x0, lr, tol, max_steps, *, sign=-1.0, rule="f", count0=1, budget=None, give="new", fixed_tol=None,
       dtype=float):
    x, lr = dtype(x0), dtype(lr)
    tol = tol if fixed_tol is None else fixed_tol
    for t in range(1, (max_steps if budget is None else budget(max_steps)) + 1):
        x_new = x + sign * lr * dtype(df(x))
        change = {"f": abs(dtype(f(x_new)) - dtype(f(x))), "x": abs(x_new - x), "grad": abs(df(x_new))}[rule]
        if change < tol:
            return {"new": x_new, "old": x, "extra": x_new + sign * lr * df(x_new)}[give], \
                t + count0 - 1 + (give == "extra")
        x = x_new
    return x, (max_steps if budget is None else budget(max_steps))


def gd_while(f, df, x0, lr, tol, max_steps):       # the same rule written as a while loop
    x, steps = x0, 0
    while steps < max_steps:
        x_new = x - lr * df(x)
        steps += 1
        done = abs(f(x_new) - f(x)) < tol
        x = x_new
        if done:
            break
    return x, steps


GD_MISTAKES = [
    (lambda *a: gd(*a, sign=1.0), "went uphill"),
    (lambda *a: gd(*a, count0=0), "count is one short"),
    (lambda *a: gd(*a, give="old"), "from before the last update"),
    (lambda *a: gd(*a, give="old", count0=0), "stopped one update early"),
    (lambda *a: gd(*a, give="extra"), "one update after the change fell below tol"),
    (lambda *a: gd(*a, rule="x"), "not positions"),
    (lambda *a: gd(*a, rule="grad"), "not the gradient"),
    (lambda *a: gd(*a, budget=lambda m: 10 * m), "never make more than max_steps"),
    (lambda *a: gd(*a, budget=lambda m: m - 1), "not max_steps - 1"),
    (lambda *a: gd(*a, fixed_tol=1e-6), "use the tol you are given"),
    (lambda f, df, x0, lr, tol, m: gd(f, df, x0, 0.1, tol, m), "update x <- x - lr * df(x)"),   # a global lr
    (lambda *a: gd(*a)[::-1], "the order is (x, num_steps)"),
    (lambda *a: gd(*a)[0], "pair (x, num_steps)"),
    (lambda *a: (gd(*a)[0], gd(*a)[1] + 0.5), "whole number"),
    (lambda *a: (-2.0 * math.pi, 44), "update x <- x - lr * df(x)"),                          # hard-coded
]


@pytest.mark.parametrize("wrong, phrase", GD_MISTAKES)
def test_gradient_descent_battery(wrong, phrase):
    rejects_at(lecture03.check_gradient_descent, wrong, phrase, "x0=")


def overflow_uphill(f, df, x0, lr, tol, max_steps):
    x = x0
    for t in range(1, 10 * max_steps):
        x = x + lr * df(x) * 10
        f(x)
    return x, max_steps


@pytest.mark.parametrize("steps, phrase", [(None, "whole number"), ("45", "whole number"), (45 + 1j, "whole number"),
                                           (np.array([45, 46]), "whole number"), (math.nan, "whole number")])
def test_gradient_descent_hostile_num_steps(steps, phrase):
    rejects(lecture03.check_gradient_descent, lambda *a: (gd(*a)[0], steps), phrase, "x0=")


def test_gradient_descent_overflow_in_student_code_is_a_message():
    rejects(lecture03.check_gradient_descent, overflow_uphill, "raised OverflowError", "(x - 1)^2", "1e-08")


@pytest.mark.parametrize("kind, phrase", [k for k in HOSTILE if k[0] not in ("wrong_shape", "generator", "string")]
                         + [("wrong_shape", "one number"), ("generator", "should be a number"),
                            ("string", "should be a number")])
def test_gradient_descent_hostile_x(kind, phrase):
    def answer(*args):
        x, steps = gd(*args)
        return hostile(lambda: x, kind)(), steps
    rejects(lecture03.check_gradient_descent, answer, phrase)


@pytest.mark.parametrize("right", [
    gd,
    gd_while,
    lambda *a: list(gd(*a)),
    lambda *a: (np.float32(gd(*a)[0]), np.int64(gd(*a)[1])),
    lambda *a: (torch.tensor(gd(*a)[0], requires_grad=True), float(gd(*a)[1])),
    lambda *a: (np.array([gd(*a)[0]]), gd(*a)[1]),
])
def test_gradient_descent_accepts_every_correct_form(right):
    accepts(lecture03.check_gradient_descent, right)


def test_gradient_descent_in_float32_throughout_changes_the_count():
    """The step count is compared exactly; a loop run in float32 stops at another update here, so the checker
    (rightly) wants float64, which plain Python floats give."""
    with pytest.raises(CheckFailed, match="expected"):
        lecture03.check_gradient_descent(lambda *a: gd(*a, dtype=np.float32))


# =========================================================================================================
# lecture 03: the least-squares gradient
# =========================================================================================================
def mse(theta, X, y):
    A = np.hstack([X, np.ones((len(X), 1))])
    return 2.0 / len(y) * A.T @ (A @ theta - y)


def mse_torch(theta, X, y, dtype=torch.float64):
    t = torch.tensor(theta, dtype=dtype, requires_grad=True)
    Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y, dtype=dtype)
    ((Xt @ t[:-1] + t[-1] - yt) ** 2).mean().backward()
    return t.grad


def mse_in_place(theta, X, y):
    theta[-1] = theta[-1]  # harmless
    y -= X @ theta[:-1] + theta[-1]          # the residual, written into the caller's y
    return 2.0 / len(y) * np.append(-X.T @ y, -y.sum())


MSE_MISTAKES = [
    (lambda t, X, y: mse(t, X, y) / 2, "factor 2"),
    (lambda t, X, y: mse(t, X, y) * len(y), "divide by n"),
    (lambda t, X, y: mse(t, X, y) / len(y), "divided by n twice"),
    (lambda t, X, y: mse(t, X, y) * len(y) / (len(y) - 1), "not n - 1"),
    (lambda t, X, y: -mse(t, X, y), "flipped its sign"),
    (lambda t, X, y: 2 / len(y) * lm.add_bias(X).T @ (X @ t[:-1] - y), "left out the bias"),
    (lambda t, X, y: mse(t, X, y)[:-1], "one for the bias"),
    (lambda t, X, y: 2 / len(y) * X.T @ (X @ t[:-1] + t[-1] - y), "one for the bias"),
    (lambda t, X, y: mse(np.r_[t[-1], t[:-1]], np.hstack([np.ones((len(X), 0)), X]), y) if False else
     2 / len(y) * np.hstack([np.ones((len(X), 1)), X]).T @ (np.hstack([np.ones((len(X), 1)), X]) @ t - y),
     "bias LAST"),
    (lambda t, X, y: np.mean(2 * (lm.add_bias(X) @ t - y)[:, None] * lm.add_bias(X), axis=1), "one per example"),
    (lambda t, X, y: mse(t, X, y)[:, None], "flat array"),
    (mse_in_place, "in place"),
    (lambda t, X, y: mse(t, X[:, :1], y), "raised"),                        # hard-coded one feature
    (lambda t, X, y: mse(t, X, y) + 0.01, "expected"),
]


@pytest.mark.parametrize("wrong, phrase", MSE_MISTAKES)
def test_mse_grad_battery(wrong, phrase):
    rejects_at(lecture03.check_mse_grad, wrong, phrase, "X of shape")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_mse_grad_hostile_returns(kind, phrase):
    rejects(lecture03.check_mse_grad, hostile(mse, kind), "shape" if kind == "wrong_shape" else phrase)


@pytest.mark.parametrize("right", [
    mse,
    lm.mse_grad,
    mse_torch,
    as_grad_tensor(mse),
    lambda t, X, y: mse_torch(t, X, y, dtype=torch.float32),
    lambda t, X, y: mse(t.astype(np.float32), X.astype(np.float32), y.astype(np.float32)),
    lambda t, X, y: list(mse(t, X, y)),
])
def test_mse_grad_accepts_every_correct_form(right):
    accepts(lecture03.check_mse_grad, right)


# =========================================================================================================
# lecture 03: the hinge subgradient
# =========================================================================================================
def hinge(theta, X, y, lam, *, at_one=False, below=1.0, sign=1.0, mean=True, margin_bias=True, reg=2.0,
          reg_bias=False):
    A = lm.add_bias(X)
    m = y * ((A @ theta) if margin_bias else (X @ theta[:-1]))
    active = (m <= below) if at_one else (m < below)
    g = -sign * (active * y) @ A / (len(y) if mean else 1)
    return g + reg * lam * (theta if reg_bias else np.r_[theta[:-1], 0.0])


def hinge_torch(theta, X, y, lam, dtype=torch.float64):
    t = torch.tensor(theta, dtype=dtype, requires_grad=True)
    Xt, yt = torch.tensor(X, dtype=dtype), torch.tensor(y, dtype=dtype)
    (torch.relu(1 - yt * (Xt @ t[:-1] + t[-1])).mean() + lam * (t[:-1] ** 2).sum()).backward()
    return t.grad                               # relu'(0) = 0: the slope 0 at a margin of exactly 1


def hinge_zeroes_bias_in_place(theta, X, y, lam):
    w = theta
    g = hinge(theta, X, y, 0.0)
    w[-1] = 0.0                                  # edits the caller's theta
    return g + 2 * lam * w


HINGE_MISTAKES = [
    (lambda t, X, y, lam: hinge(t, X, y, lam, reg=0.0), "left out the regularizer"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, reg=1.0), "not lam w"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, reg=-2.0), "plus sign"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, reg_bias=True), "bias b is not regularized"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, sign=-1.0), "check the sign"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, below=0.0), "below 1, not below 0"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, at_one=True), "not <= 1"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, mean=False), "divide the hinge part by n"),
    (lambda t, X, y, lam: hinge(t, X, y, lam, margin_bias=False), "include the bias b"),
    (lambda t, X, y, lam: hinge(t, X, y, lam)[:-1], "one for the bias"),
    (lambda t, X, y, lam: hinge(t, X, y, 0.1), "average -y_i (x_i, 1)"),          # a global lam
    (hinge_zeroes_bias_in_place, "in place"),
]


@pytest.mark.parametrize("wrong, phrase", HINGE_MISTAKES)
def test_hinge_subgradient_battery(wrong, phrase):
    rejects_at(lecture03.check_hinge_subgradient, wrong, phrase, "X of shape")


def test_hinge_kink_is_reached():
    """The kink case comes first: a margin of exactly 1 is where <= and < differ."""
    rejects(lecture03.check_hinge_subgradient, lambda *a: hinge(*a, at_one=True), "one exactly 1", "expected")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_hinge_subgradient_hostile_returns(kind, phrase):
    rejects(lecture03.check_hinge_subgradient, hostile(hinge, kind), "shape" if kind == "wrong_shape" else phrase)


@pytest.mark.parametrize("right", [
    hinge,
    lm.hinge_subgradient,
    hinge_torch,
    as_grad_tensor(hinge, dtype=torch.float32),
    lambda *a: hinge_torch(*a, dtype=torch.float32),
    lambda t, X, y, lam: hinge(t.astype(np.float32), X.astype(np.float32), y.astype(np.float32), np.float32(lam)),
    lambda *a: hinge(*a).tolist(),
])
def test_hinge_subgradient_accepts_every_correct_form(right):
    accepts(lecture03.check_hinge_subgradient, right)


# =========================================================================================================
# lecture 03: the largest stable learning rate
# =========================================================================================================
LR_MISTAKES = [
    (lambda a: 2 / a, "2 / f''"),
    (lambda a: 1 / (2 * a), "ONE step"),
    (lambda a: 2 * a, "that is the curvature"),
    (lambda a: a, "returned a itself"),
    (lambda a: -1 / a, "rate is positive"),
    (lambda a: 1 / a ** 2, "|1 - 2 a lr| < 1"),
    (lambda a: 2.0, "|1 - 2 a lr| < 1"),                                    # hard-coded for a = 0.5
    (lambda a: 0.99 / a, "|1 - 2 a lr| < 1"),                               # a rate that is merely stable
]


@pytest.mark.parametrize("wrong, phrase", LR_MISTAKES)
def test_largest_stable_lr_battery(wrong, phrase):
    rejects(lecture03.check_largest_stable_lr, wrong, phrase, "f(x) = ", "expected")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_largest_stable_lr_hostile_returns(kind, phrase):
    rejects(lecture03.check_largest_stable_lr, hostile(lambda a: 1 / a, kind),
            "one number" if kind == "wrong_shape" else phrase)


@pytest.mark.parametrize("right", [
    lambda a: 1 / a,
    lambda a: 2 / (2 * a),
    lambda a: np.float32(1 / a),
    lambda a: torch.tensor(1 / a, requires_grad=True),
    lambda a: [1 / a],
])
def test_largest_stable_lr_accepts_every_correct_form(right):
    accepts(lecture03.check_largest_stable_lr, right)


# =========================================================================================================
# lecture 04: the minibatches of one epoch
# =========================================================================================================
def batches(n, batch_size, rng):
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def blocks_shuffled(n, bs, rng):                  # fixed consecutive blocks, only their order shuffled
    blocks = [np.arange(i, min(i + bs, n)) for i in range(0, n, bs)]
    return [blocks[j] for j in rng.permutation(len(blocks))]


def blocks_inner_shuffled(n, bs, rng):            # fixed blocks, shuffled inside and in order
    return [rng.permutation(b) for b in blocks_shuffled(n, bs, rng)]


_FIXED_PERM = np.random.default_rng(123).permutation(64)


def one_permutation_for_ever(n, bs, rng):         # a permutation drawn once, then only the batch order shuffled
    perm = np.argsort(_FIXED_PERM[:n])
    b = [perm[i:i + bs] for i in range(0, n, bs)]
    return [b[j] for j in rng.permutation(len(b))]


def strided(n, bs, rng):                          # membership by stride: i, i + k, i + 2k, ...
    k = -(-n // bs)
    idx = [np.arange(i, n, k) for i in range(k)]
    return [idx[j] for j in rng.permutation(k)]


EPOCH_MISTAKES = [
    (blocks_shuffled, "fixed blocks 0..9, 10..19"),
    (blocks_inner_shuffled, "fixed blocks 0..9, 10..19"),
    (one_permutation_for_ever, "same examples share a batch in every epoch"),
    (strided, "expected batch sizes"),
    (lambda n, bs, rng: [np.arange(n)[i:i + bs] for i in range(0, n, bs)], "stored order"),
    (lambda n, bs, rng: [rng.integers(0, n, min(bs, n - i)) for i in range(0, n, bs)], "WITH replacement"),
    (lambda n, bs, rng: batches(n, bs, np.random.default_rng(0)), "reshuffle every epoch"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [np.random.permutation(n)] for i in range(0, n, bs)], "same seed"),
    (lambda n, bs, rng: rng.permutation(n), "one flat sequence"),
    (lambda n, bs, rng: list(rng.permutation(n)), "one flat sequence"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [rng.permutation(n)] for i in range(0, n - bs + 1, bs)],
     "only full batches"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [rng.permutation(n)] for i in range(0, n - 1, bs)], "only full batches"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [rng.permutation(n)] for i in range(1, n, bs)], "missing"),
    (lambda n, bs, rng: np.array_split(rng.permutation(n), max(1, n // bs)), "batch sizes"),
    (lambda n, bs, rng: [p[i:i + bs] for p in [rng.permutation(n)] for i in range(0, n + bs, bs)], "is empty"),
    (lambda n, bs, rng: [b + 1 for b in batches(n, bs, rng)], "start at 0, not 1"),
    (lambda n, bs, rng: [b.astype(float) for b in batches(n, bs, rng)], "integers"),
    (lambda n, bs, rng: [p[i:i + 32] for p in [rng.permutation(n)] for i in range(0, n, 32)], "batch sizes"),
    (lambda n, bs, rng: (b for b in batches(n, bs, rng)), "list(...)"),
    (lambda n, bs, rng: None, "returned None"),
    (lambda n, bs, rng: "0 1 2", "list of index arrays"),
    (lambda n, bs, rng: rng.permutation(n).reshape(-1, bs), "raised"),              # bs does not divide n
    (lambda n, bs, rng: [p[i:i + bs] for p in [rng.shuffle(np.arange(n))] for i in range(0, n, bs)],
     "raised TypeError"),                                                             # shuffle returns None
]


@pytest.mark.parametrize("wrong, phrase", EPOCH_MISTAKES)
def test_epoch_batches_battery(wrong, phrase):
    rejects_at(lecture04.check_epoch_batches, wrong, phrase, "n=")


@pytest.mark.parametrize("answer, phrase", [
    (lambda n, bs, rng: [b + 0j for b in batches(n, bs, rng)], "integers"),
    (lambda n, bs, rng: [b * np.nan for b in batches(n, bs, rng)], "integers"),
    (lambda n, bs, rng: [str(b) for b in batches(n, bs, rng)], "got str"),
    (lambda n, bs, rng: [None for b in batches(n, bs, rng)], "got NoneType"),
    (lambda n, bs, rng: [float(i) for i in rng.permutation(n)], "one flat sequence"),
    (lambda n, bs, rng: [b[:, None] for b in batches(n, bs, rng)], "1D array of indices, got one of shape"),
    (lambda n, bs, rng: 1 / 0, "raised ZeroDivisionError"),
    (lambda n, bs, rng: 42, "list of index arrays"),
])
def test_epoch_batches_hostile_returns(answer, phrase):
    rejects(lecture04.check_epoch_batches, answer, phrase, "n=" if "raised" not in phrase else "called with")


def test_epoch_batches_membership_must_change_not_only_the_order():
    """The bug that keeps class-sorted data single-class per batch: the ORDER of fixed batches is shuffled."""
    msg = rejects(lecture04.check_epoch_batches, blocks_shuffled, "only their ORDER is shuffled", "single-class")
    assert "visits the examples in their stored order" not in msg


@pytest.mark.parametrize("right", [
    batches,
    lambda n, bs, rng: minibatch.epoch_batches(n, bs, rng=rng),
    lambda n, bs, rng: [p[i:i + bs] for p in [rng.choice(n, n, replace=False)] for i in range(0, n, bs)],
    lambda n, bs, rng: np.array_split(rng.permutation(n), range(bs, n, bs)),
    lambda n, bs, rng: [b.tolist() for b in batches(n, bs, rng)],
    lambda n, bs, rng: tuple(torch.from_numpy(b) for b in batches(n, bs, rng)),
    lambda n, bs, rng: torch.split(torch.from_numpy(rng.permutation(n)), bs),
])
def test_epoch_batches_accepts_every_correct_form(right):
    accepts(lecture04.check_epoch_batches, right)


# =========================================================================================================
# lecture 04: the running (Polyak) average
# =========================================================================================================
def running(thetas):
    return np.cumsum(thetas, axis=0) / np.arange(1, len(thetas) + 1)[:, None]


def running_loop(thetas):                     # incremental update, into a new array
    avg = np.zeros_like(thetas)
    for t in range(len(thetas)):
        avg[t] = thetas[t] if t == 0 else avg[t - 1] + (thetas[t] - avg[t - 1]) / (t + 1)
    return avg


def running_in_place(thetas):                 # the right values, written over the caller's iterates
    for t in range(1, len(thetas)):
        thetas[t] = (thetas[t - 1] * t + thetas[t]) / (t + 1)
    return thetas


def running_halving(thetas):
    avg = thetas.copy()
    for t in range(1, len(thetas)):
        avg[t] = (avg[t - 1] + thetas[t]) / 2
    return avg


RA_MISTAKES = [
    (lambda T: T.mean(axis=0), "only the final average"),
    (lambda T: np.cumsum(T, axis=0) / np.maximum(np.arange(len(T)), 1)[:, None], "off-by-one"),
    (lambda T: np.cumsum(T, axis=0), "running sums"),
    (lambda T: np.tile(T.mean(axis=0), (len(T), 1)), "mean of ALL iterates"),
    (lambda T: np.cumsum(T, axis=1) / np.arange(1, T.shape[1] + 1), "wrong axis"),
    (running_halving, "halves the weight"),
    (lambda T: T, "iterates unchanged"),
    (lambda T: running(T)[1:], "row 0"),
    (lambda T: running(T).ravel(), "flat array"),
    (running_in_place, "in place"),
    (lambda T: running(T[::-1]), "row t is"),                       # averaging from the end
]


@pytest.mark.parametrize("wrong, phrase", RA_MISTAKES)
def test_running_average_battery(wrong, phrase):
    rejects_at(lecture04.check_running_average, wrong, phrase, "thetas")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_running_average_hostile_returns(kind, phrase):
    rejects(lecture04.check_running_average, hostile(running, kind), "shape" if kind == "wrong_shape" else phrase)


@pytest.mark.parametrize("right", [
    running,
    running_loop,
    averaging.polyak_average,
    lambda T: running(T.astype(np.float32)),
    lambda T: torch.cumsum(torch.tensor(T, requires_grad=True), 0) / torch.arange(1, len(T) + 1)[:, None],
    lambda T: [list(row) for row in running(T)],
])
def test_running_average_accepts_every_correct_form(right):
    accepts(lecture04.check_running_average, right)


# =========================================================================================================
# lecture 04: the minibatch gradient
# =========================================================================================================
def mb(theta, X, y, idx):
    A = np.hstack([X, np.ones((len(X), 1))])[idx]
    return 2.0 / len(idx) * A.T @ (A @ theta - y[idx])


def mb_sorts_idx(theta, X, y, idx):
    idx.sort()                                 # reorders the caller's batch
    return mb(theta, X, y, idx)


def mb_mask(theta, X, y, idx):                # a boolean mask keeps a repeated row once
    mask = np.zeros(len(X), bool)
    mask[idx] = True
    A = np.hstack([X, np.ones((len(X), 1))])[mask]
    return 2.0 / len(idx) * A.T @ (A @ theta - y[mask])


def mb_unbiased(theta, X, y, idx):           # divides by k - 1, which is 0 for a batch of one
    with np.errstate(divide="ignore", invalid="ignore"):
        return mb(theta, X, y, idx) * len(idx) / (len(idx) - 1)


MB_MISTAKES = [
    (lambda t, X, y, idx: lm.mse_grad(t, X, y), "full-batch"),
    (lambda t, X, y, idx: mb(t, X, y, idx) * len(idx) / len(X), "divided by n = 30"),
    (lambda t, X, y, idx: mb(t, X, y, np.unique(idx)), "repeated index counts twice"),
    (mb_mask, "repeated index counts twice"),
    (lambda t, X, y, idx: -mb(t, X, y, idx), "flipped its sign"),
    (lambda t, X, y, idx: mb(t, X, y, idx) / 2, "factor 2"),
    (lambda t, X, y, idx: 2 / len(idx) * lm.add_bias(X[idx]).T @ (X[idx] @ t[:-1] - y[idx]), "left out the bias"),
    (lambda t, X, y, idx: mb(t, X, y, idx)[:-1], "one for the bias"),
    (mb_unbiased, "not finite"),
    (lambda t, X, y, idx: mb(t, X, y, np.array([3, 7, 11, 20])), "expected"),             # a global batch
    (lambda t, X, y, idx: mb(t, X, y, idx[:-1]) if len(idx) > 1 else mb(t, X, y, idx), "expected"),  # off-by-one
    (mb_sorts_idx, "in place"),
]


@pytest.mark.parametrize("wrong, phrase", MB_MISTAKES)
def test_minibatch_grad_battery(wrong, phrase):
    rejects_at(lecture04.check_minibatch_grad, wrong, phrase, "idx=")


@pytest.mark.parametrize("kind, phrase", HOSTILE)
def test_minibatch_grad_hostile_returns(kind, phrase):
    rejects(lecture04.check_minibatch_grad, hostile(mb, kind), "shape" if kind == "wrong_shape" else phrase)


@pytest.mark.parametrize("right", [
    mb,
    lambda t, X, y, idx: problems.LeastSquares(X, y).grad(t, idx),
    lambda t, X, y, idx: lm.mse_grad(t, X[idx], y[idx]),
    lambda t, X, y, idx: mb(t.astype(np.float32), X.astype(np.float32), y.astype(np.float32), idx),
    lambda t, X, y, idx: torch.tensor(mb(t, X, y, idx), requires_grad=True),
    lambda t, X, y, idx: list(mb(t, X, y, list(idx))),
])
def test_minibatch_grad_accepts_every_correct_form(right):
    accepts(lecture04.check_minibatch_grad, right)


# =========================================================================================================
# Every checker passes the notebook's own reference solution
# =========================================================================================================
NOTEBOOK_CHECKERS = [  # (notebook, checker): the exercise cell calls the checker on the student's function
    ("00_start_here.ipynb", lecture01.check_central_difference),
    ("01_derivatives.ipynb", lecture01.check_gradient_ascent),
    ("01_derivatives.ipynb", lecture01.check_sigmoid_derivative),
    ("01_derivatives.ipynb", lecture01.check_tanh_derivative),
    ("02_gradients_and_backprop.ipynb", lecture02.check_dL_dw111),
    ("02_gradients_and_backprop.ipynb", lecture02.check_numerical_gradient),
    ("02_gradients_and_backprop.ipynb", lecture02.check_softplus),
    ("03_gradient_descent_step_size.ipynb", lecture03.check_gradient_descent),
    ("03_gradient_descent_step_size.ipynb", lecture03.check_mse_grad),
    ("03_gradient_descent_step_size.ipynb", lecture03.check_hinge_subgradient),
    ("03_gradient_descent_step_size.ipynb", lecture03.check_largest_stable_lr),
    ("04_sgd_and_minibatch_noise.ipynb", lecture04.check_epoch_batches),
    ("04_sgd_and_minibatch_noise.ipynb", lecture04.check_running_average),
    ("04_sgd_and_minibatch_noise.ipynb", lecture04.check_minibatch_grad),
]


def _cells(notebook, kind):
    nb = json.loads((ROOT / "notebooks" / notebook).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind]


def graded_function(notebook, checker):
    """The name of the function the exercise's stub cell defines and passes to ``checker``."""
    module = checker.__module__.rsplit(".", 1)[1]
    for source in _cells(notebook, "code"):
        found = re.search(rf"{module}\.{checker.__name__}\((\w+)\)", source)
        if found and "raise NotImplementedError" in source:
            return found.group(1)
    raise AssertionError(f"no stub cell of {notebook} calls {module}.{checker.__name__}")


def reference_solution(notebook, name):
    """The python block inside a ``<details>`` solution of ``notebook`` that defines ``name``, reduced to its
    imports and function definitions (usage lines after it need the notebook's state), executed."""
    for text in _cells(notebook, "markdown"):
        for details in re.findall(r"<details>(.*?)</details>", text, re.S):
            for block in re.findall(r"```python\n(.*?)```", details, re.S):
                code = textwrap.dedent(block)
                if re.search(rf"^def {name}\(", code, re.M):
                    tree = ast.parse(code)
                    tree.body = [node for node in tree.body
                                 if isinstance(node, (ast.FunctionDef, ast.Import, ast.ImportFrom))]
                    namespace = {"np": np, "math": math, "torch": torch, "Value": Value, "lm": lm}
                    exec(compile(tree, f"{notebook}: solution of {name}", "exec"), namespace)
                    return namespace[name]
    raise AssertionError(f"no <details> solution in {notebook} defines {name}")


@pytest.mark.parametrize("notebook, checker", NOTEBOOK_CHECKERS,
                         ids=[f"{nb[:2]}-{c.__name__}" for nb, c in NOTEBOOK_CHECKERS])
def test_the_notebook_solution_passes(notebook, checker, capsys):
    solution = reference_solution(notebook, graded_function(notebook, checker))
    assert checker(solution) is True
    assert capsys.readouterr().out.startswith("Correct:")


def test_every_checker_of_lectures_01_to_04_is_tested_against_its_notebook():
    tested = {c for _, c in NOTEBOOK_CHECKERS}
    for module in (lecture01, lecture02, lecture03, lecture04):
        for name in module.__all__:
            assert getattr(module, name) in tested, f"{module.__name__}.{name} has no notebook solution test"
