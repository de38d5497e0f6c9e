"""Checkers for the exercises of lecture 02 (gradients, directional derivatives and backpropagation).

References are torch autograd and closed forms. On a mismatch the message names the input, the expected and
the received value, and a hint when the answer matches a typical mistake: a path of the chain rule left out,
a sign error, a ReLU gate forgotten, a forward instead of a central difference, a backward rule that forgets
``out.grad`` or overwrites instead of adding.

Example (the chain rule written out in :mod:`lecture_utils.tiny_net` passes)::

    >>> from lecture_utils import tiny_net
    >>> from lecture_utils.checks import lecture02
    >>> lecture02.check_dL_dw111(tiny_net.dL_dw111_by_hand)
    Correct: dL/dw111 by the chain rule equals torch autograd, also when the ReLU is switched off.
    True
"""
from __future__ import annotations

import math

import numpy as np

from .. import autodiff
from ._core import CheckFailed, exercise, expect_close, expect_true, match_mistake, passed, try_call

__all__ = ["check_dL_dw111", "check_numerical_gradient", "check_softplus"]


# ---------------------------------------------------------------------------------------------------------
def _reference_dw111(W1, W2, x, y) -> float:
    import torch

    w1 = torch.tensor(W1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(W2, dtype=torch.float64)
    xt = torch.tensor(x, dtype=torch.float64)
    target = torch.tensor([y, 1.0 - y], dtype=torch.float64)
    loss = ((torch.relu(w1 @ xt) @ w2.T - target) ** 2).sum()
    loss.backward()
    return float(w1.grad[0, 0]) + 0.0  # + 0.0 turns -0.0 into 0.0 for the message


def _wrong_dw111(W1, W2, x, y) -> dict:
    a1 = float(W1[0] @ x)
    n = np.maximum(W1 @ x, 0.0)
    F = W2 @ n
    step = 1.0 if a1 > 0 else 0.0
    e1, e2 = -2 * (y - F[0]), -2 * ((1 - y) - F[1])
    right = (e1 * W2[0, 0] + e2 * W2[1, 0]) * x[0] * step
    return {
        "you kept only the path through output F1; w111 also reaches the loss through F2 "
        "(add -2((1 - y) - F2) * w221 * x1 * step(a1)).": e1 * W2[0, 0] * x[0] * step,
        "you kept only the path through output F2; w111 also reaches the loss through F1 "
        "(add -2(y - F1) * w211 * x1 * step(a1)).": e2 * W2[1, 0] * x[0] * step,
        "the sign is flipped: d/dF (y - F)^2 = -2 (y - F).": -right,
        "the ReLU gate is missing: when a1 = w111 x1 + w112 x2 + w113 x3 <= 0, n1 is flat and the "
        "derivative is 0 (multiply by step(a1)).": (e1 * W2[0, 0] + e2 * W2[1, 0]) * x[0],
        "the chain rule stops too early: dF1/dn1 = w211 and dF2/dn1 = w221 are missing.": (e1 + e2) * x[0] * step,
        "the last link is missing: da1/dw111 = x1.": (e1 * W2[0, 0] + e2 * W2[1, 0]) * step,
        "you used the net's outputs without the factor 2 from the square.": right / 2,
    }


@exercise(1)
def check_dL_dw111(dL_dw111) -> bool:
    """Check ``dL_dw111(W1, W2, x, y)``: the derivative of ``(y - F1)^2 + ((1 - y) - F2)^2`` with respect to
    ``w111`` for ONE example ``x`` (shape ``(3,)``), label ``y`` in ``{0, 1}``, ``W1 (2, 3)``, ``W2 (2, 2)``;
    compared with torch autograd."""
    rng = np.random.default_rng(7)
    W1 = np.array([[0.8, -0.4, 0.3], [0.5, 0.9, -0.7]])
    W2 = np.array([[1.2, -0.6], [0.7, 0.4]])
    cases = [
        ("both hidden units active, y = 1", W1, W2, np.array([1.5, 0.5, 1.0]), 1.0),
        ("both hidden units active, y = 0", W1, W2, np.array([1.0, 0.2, 0.5]), 0.0),
        ("hidden unit 1 switched off (a1 < 0)", W1, W2, np.array([-1.0, 0.5, -0.4]), 1.0),
        ("random weights", rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), np.array([0.9, -1.1, 0.4]),
         0.0),
    ]
    for name, W1c, W2c, x, y in cases:
        expected = _reference_dw111(W1c, W2c, x, y)
        got = try_call(dL_dw111, W1c.copy(), W2c.copy(), x.copy(), y, what="dL_dw111")
        try:
            got_f = float(np.asarray(got, dtype=float).reshape(()))
        except (TypeError, ValueError):
            raise CheckFailed(f"dL_dw111 should return one number, got {type(got).__name__} {got!r:.80}") from None
        inputs = (f"{name}: x = {x.tolist()}, y = {y:g}, W1 = {np.round(W1c, 3).tolist()}, "
                  f"W2 = {np.round(W2c, 3).tolist()}")
        expect_close(got_f, expected, what="dL/dw111", inputs=inputs, rtol=1e-7, atol=1e-10,
                     hint=match_mistake(got_f, _wrong_dw111(W1c, W2c, x, y)))
    return passed("dL/dw111 by the chain rule equals torch autograd, also when the ReLU is switched off.")


# ---------------------------------------------------------------------------------------------------------
def _test_function(v):
    return v[0] ** 2 * v[1] + np.sin(v[2]) + 0.5 * v[1] * v[2]


def _test_gradient(v):
    return np.array([2 * v[0] * v[1], v[0] ** 2 + 0.5 * v[2], np.cos(v[2]) + 0.5 * v[1]])


@exercise(2)
def check_numerical_gradient(numerical_gradient) -> bool:
    """Check ``numerical_gradient(f, x, h)``: the central-difference gradient of ``f: R^n -> R`` at ``x``
    (shape ``(n,)``), one coordinate at a time, with at most ``2n`` calls of ``f``."""
    for x, h in [(np.array([1.0, -2.0, 0.5]), 1e-3), (np.array([0.3, 0.7, -1.2]), 1e-2)]:
        calls = [0]

        def f(v):
            calls[0] += 1
            return float(_test_function(np.asarray(v, dtype=float)))

        inputs = f"f(v) = v0**2 v1 + sin(v2) + 0.5 v1 v2 at x = {x.tolist()}, h = {h}"
        got = try_call(numerical_gradient, f, x.copy(), h, what="numerical_gradient")
        n = x.size
        fx = _test_function(x)
        fwd = np.array([(_test_function(x + h * np.eye(n)[i]) - fx) / h for i in range(n)])
        cen = np.array([(_test_function(x + h * np.eye(n)[i]) - _test_function(x - h * np.eye(n)[i])) / (2 * h)
                        for i in range(n)])
        all_at_once = np.full(n, (_test_function(x + h) - _test_function(x - h)) / (2 * h))
        hint = match_mistake(got, {
            "that is the forward difference (f(x + h e_i) - f(x)) / h, with error O(h); use the central one "
            "(f(x + h e_i) - f(x - h e_i)) / (2h).": fwd,
            "each entry is twice too big: the two points are 2h apart, so divide by 2h.": 2 * cen,
            "the sign is flipped: f(x + h e_i) minus f(x - h e_i).": -cen,
            "you moved every coordinate at once (x + h); move only coordinate i: x + h e_i.": all_at_once,
        })
        # The central difference is exact to O(h^2): allow that, but not the O(h) error of a forward one.
        expect_close(got, _test_gradient(x), what="the gradient", inputs=inputs, rtol=0.0, atol=2 * h ** 2 * 10,
                     hint=hint)
        expect_true(calls[0] <= 2 * n + 1,
                    f"numerical_gradient called f {calls[0]} times for n = {n} coordinates ({inputs}); a central "
                    f"difference needs exactly 2n = {2 * n} calls: f(x + h e_i) and f(x - h e_i) for each i.")
    return passed("numerical_gradient is the central difference, one coordinate at a time, with 2n calls of f.")


# ---------------------------------------------------------------------------------------------------------
def _torch_softplus_grads(x0: float):
    import torch

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    sp = torch.nn.functional.softplus
    results = {}
    for name, expr in _SOFTPLUS_CASES.items():
        x.grad = None
        out = expr(x, sp)
        out.backward()
        results[name] = (float(out.detach()), float(x.grad))
    return results


_SOFTPLUS_CASES = {
    "softplus(x)": lambda x, sp: sp(x),
    "2 * softplus(3 * x)": lambda x, sp: 2 * sp(3 * x),
    "softplus(x) + softplus(x) (x used twice)": lambda x, sp: sp(x) + sp(x),
}


@exercise(3)
def check_softplus(softplus) -> bool:
    """Check a new operation ``softplus(v) -> Value`` for the autodiff engine: value ``log(1 + e^v)`` and a
    ``backward_fn`` that adds ``sigmoid(v) * out.grad`` to ``v.grad``; compared with torch autograd in three
    graphs (alone, inside a chain, and used twice)."""
    V = autodiff.Value
    builders = {
        "softplus(x)": lambda x: softplus(x),
        "2 * softplus(3 * x)": lambda x: 2 * softplus(3 * x),
        "softplus(x) + softplus(x) (x used twice)": lambda x: softplus(x) + softplus(x),
    }
    for x0 in (-2.0, 0.5, 3.0):
        ref = _torch_softplus_grads(x0)
        sig = 1.0 / (1.0 + math.exp(-x0))
        for name, build in builders.items():
            x = V(x0, label="x")
            out = try_call(build, x, what=f"softplus (building {name})")
            expect_true(isinstance(out, V), f"softplus should return a Value, got {type(out).__name__} "
                                            f"(for {name} at x = {x0})")
            want_value, want_grad = ref[name]
            expect_close(out.data, want_value, what=f"the value of {name}", inputs=f"x = {x0}", rtol=1e-9,
                         hint="softplus(v) = log(1 + exp(v.data)).")
            out.backward()
            hints = {
                "x.grad stayed 0: the output node is not connected to its input; create it with "
                "Value(..., parents=(v,), op='softplus') and set out.backward_fn.": 0.0,
            }
            if name == "2 * softplus(3 * x)":
                hints["the chain rule is missing: multiply the local derivative by out.grad "
                      "(v.grad += sigmoid(v.data) * out.grad)."] = 3 * (1.0 / (1.0 + math.exp(-3 * x0)))
            if name.startswith("softplus(x) + softplus(x)"):
                hints["the second use overwrote the first: gradients from several uses must ADD up "
                      "(v.grad += ..., not v.grad = ...)."] = sig
            expect_close(x.grad, want_grad, what=f"x.grad after ({name}).backward()", inputs=f"x = {x0}",
                         rtol=1e-9, atol=1e-12,
                         hint=match_mistake(x.grad, hints) or "the local derivative of softplus is sigmoid(v) = "
                                                      "1 / (1 + exp(-v)).")
    return passed("softplus has the right value and its backward rule passes the chain rule and accumulates.")
