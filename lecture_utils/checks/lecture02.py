"""Checkers for the exercises of lecture 02 (gradients, directional derivatives and backpropagation).

References are torch autograd and closed forms. On a mismatch the message names the input, the expected and
the received value, and the likely mistake when the answers match a typical one on EVERY input: a path of the
chain rule left out, a sign error, a ReLU forgotten in the forward pass or in the gate, a forward instead of a
central difference, a coordinate moved and never put back, a backward rule that forgets ``out.grad`` or
overwrites instead of adding.

Tolerances: a float32 answer is accepted. ``check_dL_dw111`` allows a relative error of 1e-5 (float32 keeps
about 7 digits; the chain rule here takes a dozen operations), ``check_numerical_gradient`` compares with the
float64 central difference at the same ``h`` within 1e-5 (float32 loses ``6e-8 |f| / h``, about 1e-6 here)
and ``check_softplus`` within 1e-6. Every mistake recognized here is at least 1e-3 away.

Example (the chain rule written out in :mod:`lecture_utils.tiny_net` passes)::

    >>> from lecture_utils import tiny_net
    >>> from lecture_utils.checks import lecture02
    >>> lecture02.check_dL_dw111(tiny_net.dL_dw111_by_hand)
    Correct: dL/dw111 by the chain rule equals torch autograd, with each hidden unit switched off in turn.
    True
"""
from __future__ import annotations

import math

import numpy as np

from .. import autodiff
from ._core import as_array, CheckFailed, exercise, expect_close, expect_true, grade_cases, passed, plain, try_call

__all__ = ["check_dL_dw111", "check_numerical_gradient", "check_softplus"]


# ---------------------------------------------------------------------------------------------------------
# Exercise 1: dL/dw111 by the chain rule
# ---------------------------------------------------------------------------------------------------------
_W1 = np.array([[0.8, -0.4, 0.3], [0.5, 0.9, -0.7]])
_W2 = np.array([[1.2, -0.6], [0.7, 0.4]])     # not symmetric: W2[0, 1] and W2[1, 0] differ
_W1b = np.array([[-0.6, 0.7, 0.2], [0.3, 0.4, 0.9]])
_W2b = np.array([[-0.5, 1.1], [0.9, -0.8]])
_DW_CASES = [  # every pattern of the two ReLUs that matters: a1 > 0 or not, a2 > 0 or not; both labels
    ("both hidden units on, y = 1", _W1, _W2, np.array([1.5, 0.5, 1.0]), 1.0),
    ("both hidden units on, y = 0", _W1, _W2, np.array([1.0, 0.2, 0.5]), 0.0),
    ("hidden unit 1 off (a1 < 0), unit 2 on", _W1, _W2, np.array([-1.0, 0.5, -0.4]), 1.0),
    ("hidden unit 1 on, unit 2 off (a2 < 0), y = 0", _W1, _W2, np.array([1.0, -0.5, 1.5]), 0.0),
    ("hidden unit 1 on, unit 2 off (a2 < 0), y = 1", _W1, _W2, np.array([0.5, -1.0, 0.8]), 1.0),
    ("other weights, x1 < 0", _W1b, _W2b, np.array([-1.2, 0.4, 0.5]), 1.0),
]


def _reference_dw111(W1, W2, x, y) -> float:
    import torch

    w1 = torch.tensor(W1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(W2, dtype=torch.float64)
    xt = torch.tensor(x, dtype=torch.float64)
    target = torch.tensor([y, 1.0 - y], dtype=torch.float64)
    loss = ((torch.relu(w1 @ xt) @ w2.T - target) ** 2).sum()
    loss.backward()
    return float(w1.grad[0, 0]) + 0.0  # + 0.0 turns -0.0 into 0.0 for the message


def _dw111_variant(W1, W2, x, y, *, relu=True, gate=True, gate_unit=0, w_f2=(1, 0), target2=None,
                   x_entry=0, factor=2.0, paths=(1, 1)):
    """dL/dw111 computed with one typical change (the keyword that differs from its default)."""
    a = W1 @ x
    n = np.maximum(a, 0.0) if relu else a
    F = W2 @ n
    step = float(a[gate_unit] > 0) if gate else 1.0
    t2 = 1 - y if target2 is None else target2
    e1, e2 = -factor * (y - F[0]), -factor * (t2 - F[1])
    return (paths[0] * e1 * W2[0, 0] + paths[1] * e2 * W2[w_f2]) * x[x_entry] * step


_DW_MISTAKES = {
    "you kept only the path through output F1; w111 also reaches the loss through F2.":
        dict(paths=(1, 0)),
    "you kept only the path through output F2; w111 also reaches the loss through F1.":
        dict(paths=(0, 1)),
    "the sign is flipped: differentiate (y - F)^2 with respect to F.": dict(factor=-2.0),
    "you used the net's outputs without the factor 2 from the square.": dict(factor=1.0),
    "your forward pass skips the ReLU: n = relu(W1 x), so a unit with a negative pre-activation outputs 0 "
    "(here a2 < 0 and n2 = 0).": dict(relu=False),
    "the ReLU is missing, in the forward pass and in the gate: n1 = relu(a1) is flat when a1 <= 0.":
        dict(relu=False, gate=False),
    "the ReLU gate is missing: when a1 = w111 x1 + w112 x2 + w113 x3 <= 0, n1 is flat and the derivative is 0.":
        dict(gate=False),
    "the gate belongs to unit 1: w111 acts through a1, so the factor is step(a1), not step(a2).":
        dict(gate_unit=1),
    "W2[1, 0] (row: output F2, column: unit n1) connects n1 to F2; you used W2[0, 1], the weight from n2 to F1.":
        dict(w_f2=(0, 1)),
    "the second output's target is 1 - y, not y: the loss is (y - F1)^2 + ((1 - y) - F2)^2.": "target",
    "the last link is da1/dw111 = x1, the FIRST input x[0].": dict(x_entry=1),
}


def _dw111_candidates() -> dict:
    out = {}
    for hint, change in _DW_MISTAKES.items():
        values = []
        for _, W1, W2, x, y in _DW_CASES:
            kwargs = dict(target2=y) if change == "target" else change
            values.append(_dw111_variant(W1, W2, x, y, **kwargs))
        out[hint] = values
    out["the chain rule stops too early: dF1/dn1 = w211 and dF2/dn1 = w221 are missing."] = [
        -2 * ((y - F[0]) + ((1 - y) - F[1])) * x[0] * float((W1 @ x)[0] > 0)
        for _, W1, W2, x, y in _DW_CASES for F in [W2 @ np.maximum(W1 @ x, 0)]]
    out["the last link is missing: da1/dw111 = x1."] = [
        _dw111_variant(W1, W2, x, y) / x[0] for _, W1, W2, x, y in _DW_CASES]
    return out


@exercise(1)
def check_dL_dw111(dL_dw111) -> bool:
    """Check ``dL_dw111(W1, W2, x, y)``: the derivative of ``(y - F1)^2 + ((1 - y) - F2)^2`` with respect to
    ``w111 = W1[0, 0]`` for ONE example ``x`` (shape ``(3,)``), label ``y`` in ``{0, 1}``, ``W1 (2, 3)``,
    ``W2 (2, 2)``; compared with torch autograd on inputs where each hidden unit is off in turn."""
    got, names = [], []
    for name, W1, W2, x, y in _DW_CASES:
        got.append(try_call(dL_dw111, W1, W2, x, y, what="dL_dw111", may_modify=False))
        names.append(f"{name}: x = {x.tolist()}, y = {y:g}, W1 = {W1.tolist()}, W2 = {W2.tolist()}")
    grade_cases(got, [_reference_dw111(W1, W2, x, y) for _, W1, W2, x, y in _DW_CASES], names, _dw111_candidates(),
           what="dL/dw111", rtol=1e-5, atol=1e-7,
           hint="follow w111 -> a1 -> n1 -> (F1 and F2) -> L and multiply the local derivatives along each path.")
    return passed("dL/dw111 by the chain rule equals torch autograd, with each hidden unit switched off in turn.")


# ---------------------------------------------------------------------------------------------------------
# Exercise 2: a numerical gradient
# ---------------------------------------------------------------------------------------------------------
def _test_function(v):
    return v[0] ** 3 * v[1] + v[1] ** 2 + np.sin(2 * v[2]) + 0.5 * v[1] * v[2]


def _test_gradient(v):
    return np.array([3 * v[0] ** 2 * v[1], v[0] ** 3 + 2 * v[1] + 0.5 * v[2], 2 * np.cos(2 * v[2]) + 0.5 * v[1]])


class _CountingF:
    """The test function ``f: R^3 -> R``; it counts its calls and shows its formula in messages."""

    def __init__(self):
        self.calls = 0

    def __call__(self, v):
        v = np.array(plain(v), dtype=float)
        if v.shape != (3,):
            raise ValueError(f"f takes one point of shape (3,), got shape {v.shape}")
        self.calls += 1
        return float(_test_function(v))

    def __repr__(self):
        return "f(v) = v0**3 v1 + v1**2 + sin(2 v2) + 0.5 v1 v2"


# (x, h): h is large enough that h matters (the third derivatives are not 0) and a float32 difference keeps
# 5 digits; the coordinates differ so that moving every one at once changes the answer.
_NG_CASES = [(np.array([1.0, -2.0, 0.5]), 0.1), (np.array([0.3, 0.7, -1.2]), 0.05)]


def _central(x, h, step=1.0, denom=2.0):
    n = x.size
    return np.array([(_test_function(x + step * h * e) - _test_function(x - step * h * e)) / (denom * h)
                     for e in np.eye(n)])


def _not_restored(x, h):
    x, g = x.copy(), np.zeros(x.size)
    for i in range(x.size):
        x[i] += h
        fp = _test_function(x)
        x[i] -= 2 * h
        g[i] = (fp - _test_function(x)) / (2 * h)
    return g


def _not_reset(x, h):
    e, g = np.zeros(x.size), np.zeros(x.size)
    for i in range(x.size):
        e[i] = h
        g[i] = (_test_function(x + e) - _test_function(x - e)) / (2 * h)
    return g


def _numgrad_candidates() -> dict:
    fx = lambda x: _test_function(x)  # noqa: E731
    mistakes = {
        "that is the forward difference (f(x + h e_i) - f(x)) / h, with error O(h); the central one uses "
        "f(x + h e_i) and f(x - h e_i).":
            lambda x, h: np.array([(_test_function(x + h * e) - fx(x)) / h for e in np.eye(x.size)]),
        "that is the backward difference (f(x) - f(x - h e_i)) / h; the central one uses f(x + h e_i) and "
        "f(x - h e_i).": lambda x, h: np.array([(fx(x) - _test_function(x - h * e)) / h for e in np.eye(x.size)]),
        "each entry is twice too big: the two points are 2h apart.": lambda x, h: _central(x, h, denom=1.0),
        "the sign is flipped: f(x + h e_i) minus f(x - h e_i).": lambda x, h: -_central(x, h),
        "you moved every coordinate at once (x + h); move only coordinate i: x + h e_i.":
            lambda x, h: np.full(x.size, (fx(x + h) - fx(x - h)) / (2 * h)),
        "that is the exact gradient: use the step h you are given (not a fixed or global h).":
            lambda x, h: _test_gradient(x),
        "you stepped by h / 2 to each side; the central difference steps by h and divides by 2h.":
            lambda x, h: _central(x, h, step=0.5, denom=1.0),
        "you changed x in place and did not put coordinate i back, so the later coordinates were measured at "
        "a shifted point: restore x[i] (or work on a copy) after each coordinate.": _not_restored,
        "the step vector e was not reset: after coordinate i it still moves the earlier coordinates; use a "
        "fresh e_i (all zeros but entry i) for each coordinate.": _not_reset,
    }
    return {hint: [m(x, h) for x, h in _NG_CASES] for hint, m in mistakes.items()}


@exercise(2)
def check_numerical_gradient(numerical_gradient) -> bool:
    """Check ``numerical_gradient(f, x, h)``: the central-difference gradient of ``f: R^n -> R`` at ``x``
    (shape ``(n,)``), one coordinate at a time, with exactly ``2n`` calls of ``f``."""
    got, names, calls = [], [], []
    for x, h in _NG_CASES:
        f = _CountingF()
        got.append(try_call(numerical_gradient, f, x, h, what="numerical_gradient"))
        names.append(f"{f!r} at x = {x.tolist()}, h = {h}")
        calls.append(f.calls)
    grade_cases(got, [_central(x, h) for x, h in _NG_CASES], names, _numgrad_candidates(), what="the gradient",
           rtol=1e-5, atol=1e-5, hint="entry i is (f(x + h e_i) - f(x - h e_i)) / (2h), e_i the i-th unit vector.")
    for (x, h), name, count in zip(_NG_CASES, names, calls):
        expect_true(count == 2 * x.size,
                    f"numerical_gradient called f {count} times for n = {x.size} coordinates ({name}); the "
                    f"exercise asks for exactly 2n = {2 * x.size} calls: f(x + h e_i) and f(x - h e_i) for each "
                    "i, and no others.")
    return passed("numerical_gradient is the central difference, one coordinate at a time, with 2n calls of f.")


# ---------------------------------------------------------------------------------------------------------
# Exercise 3: a new operation for the engine
# ---------------------------------------------------------------------------------------------------------
_SOFTPLUS_GRAPHS = {  # name: (build with the student's softplus, the same in torch)
    "softplus(x)": (lambda sp, x: sp(x), lambda sp, x: sp(x)),
    "2 * softplus(3 * x)": (lambda sp, x: 2 * sp(3 * x), lambda sp, x: 2 * sp(3 * x)),
    "softplus(x) + softplus(x) (x used twice)": (lambda sp, x: sp(x) + sp(x), lambda sp, x: sp(x) + sp(x)),
}


def _torch_softplus(x0: float, name: str):
    import torch

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    out = _SOFTPLUS_GRAPHS[name][1](torch.nn.functional.softplus, x)
    out.backward()
    return float(out.detach()), float(x.grad)


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _softplus_grad_mistakes(name: str, x0: float) -> dict:
    """What x.grad becomes in graph ``name`` with a typical slip in the backward rule."""
    inner, outer = (3.0, 2.0) if name.startswith("2 *") else (1.0, 1.0)
    uses = 2 if "twice" in name else 1
    v = inner * x0
    return {
        "the chain rule is missing: multiply the local derivative by out.grad.": uses * inner * _sig(v),
        "the second use overwrote the first: gradients from several uses must ADD up (+=, not =).":
            outer * inner * _sig(v) if uses == 2 else math.nan,
        "the local derivative of log(1 + e^v) is e^v / (1 + e^v) = sigma(v); you used sigma(-v) = 1 - sigma(v).":
            uses * outer * inner * _sig(-v),
        "evaluate the local derivative at the input v.data, not at the output out.data.":
            uses * outer * inner * _sig(math.log1p(math.exp(v))),
        "the local derivative is sigma(v) = e^v / (1 + e^v); you used e^v alone.": uses * outer * inner * math.exp(v),
    }


def _backward(out, where: str) -> None:
    """Run the backward pass; an error inside the student's backward_fn becomes a message naming the input."""
    try:
        out.backward()
    except Exception as exc:  # the student's backward_fn failed
        raise CheckFailed(f"the backward pass of {where} raised {type(exc).__name__}: {exc}. The error is in your "
                          "backward_fn (it runs during out.backward()).") from exc


def _zero_grad_hint(softplus, x0: float) -> str:
    """Why x.grad stayed 0 in softplus(x) although the output is connected to x."""
    V = autodiff.Value
    if softplus(V(x0)).backward_fn is V(0.0).backward_fn:
        return "x.grad stayed 0: out.backward_fn was never set; assign your function to out.backward_fn."
    return "x.grad stayed 0: your backward_fn must ADD the local derivative times out.grad to v.grad."


@exercise(3)
def check_softplus(softplus) -> bool:
    """Check a new operation ``softplus(v) -> Value`` for the autodiff engine: value ``log(1 + e^v)`` and a
    ``backward_fn`` that adds ``sigmoid(v) * out.grad`` to ``v.grad``; compared with torch autograd in three
    graphs (alone, inside a chain, and used twice) at negative and positive inputs."""
    V = autodiff.Value
    for x0 in (-2.0, 0.5, 3.0):
        for name, (build, _) in _SOFTPLUS_GRAPHS.items():
            where = f"{name} at x = {x0}"
            x = V(x0, label="x")
            out = try_call(build, softplus, x, what=f"softplus (building {where})")
            expect_true(out is not x, f"softplus returned its input v itself (for {where}); create and return a "
                                      "NEW Value: out = Value(..., parents=(v,), op='softplus').")
            expect_true(isinstance(out, V), f"softplus should return a Value, got {type(out).__name__} "
                                            f"{str(out)[:40]} (for {where})")
            expect_true(any(node is x for node in autodiff.topological_order(out)),
                        f"the output of {where} is not connected to x: create the new Value with parents=(v,), so "
                        "that backward() can reach v (and everything before it).")
            want_value, want_grad = _torch_softplus(x0, name)
            expect_close(out.data, want_value, what=f"the value of {name}", inputs=f"x = {x0}", rtol=1e-6,
                         atol=1e-9, hint="softplus(v) = log(1 + exp(v.data)).")
            _backward(out, where)
            if isinstance(x.grad, V):
                raise CheckFailed(f"after ({name}).backward() at x = {x0}, x.grad is a Value, not a number: "
                                  "compute the local derivative from v.data (a float) with math, not with "
                                  "Value operations.")
            hints = _softplus_grad_mistakes(name, x0)
            if name == "softplus(x)":
                hints[_zero_grad_hint(softplus, x0)] = 0.0
            found = [h for h, v in hints.items() if math.isfinite(v) and np.isclose(
                float(as_array(plain(x.grad), "x.grad", where)), v, rtol=1e-6, atol=1e-9)]
            expect_close(plain(x.grad), want_grad, what=f"x.grad after ({name}).backward()", inputs=f"x = {x0}",
                         rtol=1e-6, atol=1e-9, hint=found[0] if found else
                         "v.grad += (local derivative of softplus at v.data) * out.grad.")
    return passed("softplus has the right value and its backward rule passes the chain rule and accumulates.")
