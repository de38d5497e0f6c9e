"""Checkers for the exercises of lecture 01 (derivatives and the optimization problem).

Each checker calls the student's function on a few inputs, compares with a reference (closed forms and
torch autograd), and on a mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the input, the
expected and the received value, plus a hint when the answer matches a typical mistake (a forward instead of a
central difference, a missing factor 2, a descent step where ascent was asked, a derivative taken at the wrong
argument).

Example::

    >>> from lecture_utils.checks import lecture01
    >>> lecture01.check_central_difference(lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h))
    Correct: central_difference matches (f(x + h) - f(x - h)) / (2h) on x**3, 25 sin x - x**2 and exp.
    True
    >>> lecture01.check_central_difference(lambda f, x, h: (f(x + h) - f(x)) / h)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lecture_utils.checks._core.CheckFailed: central_difference(f, x, h) ... Likely mistake: that is the forward difference ...
"""
from __future__ import annotations

import math

import numpy as np

from ._core import CheckFailed, exercise, expect_close, expect_true, match_mistake, passed, try_call

__all__ = ["check_central_difference", "check_gradient_ascent", "check_sigmoid_derivative",
           "check_tanh_derivative"]


# ---------------------------------------------------------------------------------------------------------
@exercise(3)
def check_central_difference(central_difference) -> bool:
    """Check ``central_difference(f, x, h) -> (f(x + h) - f(x - h)) / (2 h)`` on three functions."""
    cases = [
        ("f(x) = x**3", lambda x: x ** 3, 1.0, 0.1),
        ("f(x) = 25 sin(x) - x**2", lambda x: 25 * np.sin(x) - x ** 2, -2.0, 1e-3),
        ("f(x) = exp(x)", np.exp, 0.5, 0.05),
    ]
    for name, f, x, h in cases:
        got = try_call(central_difference, f, x, h, what="central_difference")
        expected = (f(x + h) - f(x - h)) / (2 * h)
        hint = match_mistake(got, {
            "that is the forward difference (f(x + h) - f(x)) / h; the central one uses f(x + h) and f(x - h).":
                (f(x + h) - f(x)) / h,
            "that is the backward difference (f(x) - f(x - h)) / h; the central one uses f(x + h) and f(x - h).":
                (f(x) - f(x - h)) / h,
            "that is twice the right value: f(x + h) and f(x - h) are 2h apart, so divide by 2 * h.":
                2 * expected,
            "that has the wrong sign: subtract f(x - h) from f(x + h), not the other way round.":
                -expected,
            "divide by (2 * h) with brackets: / 2 * h multiplies by h instead.":
                (f(x + h) - f(x - h)) / 2 * h,
        })
        expect_close(got, expected, what="central_difference(f, x, h)", inputs=f"{name}, x = {x}, h = {h}",
                     rtol=1e-9, atol=1e-12, hint=hint)
    return passed("central_difference matches (f(x + h) - f(x - h)) / (2h) on x**3, 25 sin x - x**2 and exp.")


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_gradient_ascent(gradient_ascent) -> bool:
    """Check ``gradient_ascent(df, x0, lr, num_steps)``: returns ``[x0, x1, ..., x_num_steps]`` with
    ``x_{t+1} = x_t + lr * df(x_t)``."""
    df = lambda x: 25 * np.cos(x) - 2 * x  # noqa: E731  (f(x) = 25 sin x - x^2)
    for x0, lr, num_steps in [(-2.0, 0.01, 5), (1.0, 0.02, 3), (0.0, 0.005, 0)]:
        inputs = f"df = f' of 25 sin x - x**2, x0 = {x0}, lr = {lr}, num_steps = {num_steps}"
        got = try_call(gradient_ascent, df, x0, lr, num_steps, what="gradient_ascent")
        expected, descent = [x0], [x0]
        for _ in range(num_steps):
            expected.append(expected[-1] + lr * df(expected[-1]))
            descent.append(descent[-1] - lr * df(descent[-1]))
        try:
            arr = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"gradient_ascent({inputs}) should return a list or array of numbers, "
                              f"got {type(got).__name__}") from None
        expect_true(arr.ndim == 1, f"gradient_ascent({inputs}) should return every iterate as a 1D list "
                                   f"[x0, x1, ..., x{num_steps}], got a value of shape {arr.shape} "
                                   "(did you return only the last point?)")
        if arr.shape[0] == num_steps:
            raise CheckFailed(f"gradient_ascent({inputs}) returned {num_steps} values, expected {num_steps + 1}: "
                              "include the start x0 as the first entry.")
        hint = match_mistake(arr, {
            "you stepped downhill: x - lr * f'(x) is gradient DESCENT. Ascent climbs with x + lr * f'(x), "
            "as the lecture's one-variable rule says (only its two-variable summary prints a minus sign, "
            "by mistake).": np.array(descent),
        })
        expect_close(arr, np.array(expected), what="the iterates", inputs=inputs, rtol=1e-9, atol=1e-12,
                     hint=hint or "each step is x_next = x + lr * df(x), starting from x0.")
    return passed("gradient_ascent climbs with x + lr f'(x) and returns all num_steps + 1 iterates.")


# ---------------------------------------------------------------------------------------------------------
def _torch_derivative(name: str, xs: np.ndarray) -> np.ndarray:
    import torch

    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    getattr(torch, name)(x).sum().backward()
    return x.grad.numpy()


def _check_from_output(fn, name: str, act, wrong: dict) -> None:
    xs = np.array([-3.0, -0.5, 0.0, 0.8, 2.0])
    expected = _torch_derivative(name, xs)
    for x, want in zip(xs, expected):
        out = float(act(x))
        got = try_call(fn, out, what=f"{name}_derivative")
        hints = {hint: w(out) for hint, w in wrong.items()}
        expect_close(got, want, what=f"{name}_derivative(y)",
                     inputs=f"y = {name}(x) = {out:.6g} (x = {x:g})", rtol=1e-9, atol=1e-12,
                     hint=match_mistake(got, hints))


@exercise(2)
def check_sigmoid_derivative(sigmoid_derivative) -> bool:
    """Check ``sigmoid_derivative(s)``: the derivative of the sigmoid written through its OUTPUT ``s = sigma(x)``,
    against torch autograd."""
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    _check_from_output(sigmoid_derivative, "sigmoid", sig, {
        "you wrote s * (1 + s); the derivative is s * (1 - s).": lambda s: s * (1 + s),
        "you are missing a factor: the derivative is s * (1 - s), not 1 - s.": lambda s: 1 - s,
        "you applied the sigmoid again: the argument already IS s = sigma(x), so use s * (1 - s) directly.":
            lambda s: sig(s) * (1 - sig(s)),
    })
    return passed("sigmoid'(x) = s (1 - s) with s = sigmoid(x), equal to torch autograd.")


@exercise(2)
def check_tanh_derivative(tanh_derivative) -> bool:
    """Check ``tanh_derivative(t)``: the derivative of tanh written through its OUTPUT ``t = tanh(x)``,
    against torch autograd."""
    _check_from_output(tanh_derivative, "tanh", math.tanh, {
        "you wrote 1 + t**2; the derivative is 1 - t**2 (a sign error).": lambda t: 1 + t * t,
        "you wrote 1 - t; the derivative is 1 - t**2.": lambda t: 1 - t,
        "you applied tanh again: the argument already IS t = tanh(x), so use 1 - t**2 directly.":
            lambda t: 1 - math.tanh(t) ** 2,
    })
    return passed("tanh'(x) = 1 - t**2 with t = tanh(x), equal to torch autograd.")
