"""Checkers for the exercises of lecture 01 (derivatives and the optimization problem), and notebook 00's first
checker.

Each checker calls the student's function on a few inputs, compares with a reference (closed forms and torch
autograd), and on a mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the input, the expected
and the received value, plus the likely mistake when the answers match a typical one ON EVERY INPUT (a forward
instead of a central difference, a missing factor 2, a descent step where ascent was asked, an iterate too many
or too few, a derivative taken at the wrong argument).

Tolerances: a float32 answer is accepted. ``check_central_difference`` and the derivative checkers allow a
relative error of 1e-4 (float32 has 7 digits, and ``1 - t**2`` near ``|t| = 1`` or ``f(x + h) - f(x - h)`` with
``h = 0.01`` lose two or three of them); ``check_gradient_ascent`` allows 1e-5 over its few steps. Every mistake
recognized here is at least 1e-3 (relative) away.

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

from ._core import (as_array, CheckFailed, each_case, exercise, grade_cases, Named, passed, plain,
                    try_call)

__all__ = ["check_central_difference", "check_gradient_ascent", "check_sigmoid_derivative",
           "check_tanh_derivative"]


# ---------------------------------------------------------------------------------------------------------
_CD_CASES = [  # (f, f', x, h); h >= 0.01 so that a float32 difference keeps 4 digits
    (Named("f(x) = x**3", lambda x: x ** 3), lambda x: 3 * x ** 2, 1.0, 0.1),
    (Named("f(x) = 25 sin(x) - x**2", lambda x: 25 * np.sin(x) - x ** 2), lambda x: 25 * np.cos(x) - 2 * x,
     -2.0, 0.01),
    (Named("f(x) = exp(x)", np.exp), np.exp, 0.5, 0.05),
]


@exercise(3)
def check_central_difference(central_difference) -> bool:
    """Check ``central_difference(f, x, h) -> (f(x + h) - f(x - h)) / (2 h)`` on three functions."""
    got = [try_call(central_difference, f, x, h, what="central_difference") for f, _, x, h in _CD_CASES]
    expected = each_case(_CD_CASES, lambda f, df, x, h: (f(x + h) - f(x - h)) / (2 * h))
    mistakes = {
        "that is the forward difference (f(x + h) - f(x)) / h; the central one uses f(x + h) and f(x - h).":
            lambda f, df, x, h: (f(x + h) - f(x)) / h,
        "that is the backward difference (f(x) - f(x - h)) / h; the central one uses f(x + h) and f(x - h).":
            lambda f, df, x, h: (f(x) - f(x - h)) / h,
        "that is twice the right value: f(x + h) and f(x - h) are 2h apart, so divide by 2 * h.":
            lambda f, df, x, h: (f(x + h) - f(x - h)) / h,
        "that has the wrong sign: subtract f(x - h) from f(x + h), not the other way round.":
            lambda f, df, x, h: (f(x - h) - f(x + h)) / (2 * h),
        "divide by (2 * h) with brackets: / 2 * h multiplies by h instead.":
            lambda f, df, x, h: (f(x + h) - f(x - h)) / 2 * h,
        "that is the exact derivative f'(x): use the step h you are given (not a fixed or global h).":
            lambda f, df, x, h: df(x),
        "you stepped by h / 2 (f(x + h/2) - f(x - h/2)) / h; the exercise's central difference steps by h to "
        "each side and divides by 2h.": lambda f, df, x, h: (f(x + h / 2) - f(x - h / 2)) / h,
        "x and h are swapped: the arguments come in the order central_difference(f, x, h).":
            lambda f, df, x, h: (f(h + x) - f(h - x)) / (2 * x),
    }
    grade_cases(got, expected, [f"{f!r}, x = {x}, h = {h}" for f, _, x, h in _CD_CASES],
           {hint: each_case(_CD_CASES, m) for hint, m in mistakes.items()},
           what="central_difference(f, x, h)", rtol=1e-4, atol=1e-8,
           hint="compute (f(x + h) - f(x - h)) / (2 * h) with the f, x and h you are given.")
    return passed("central_difference matches (f(x + h) - f(x - h)) / (2h) on x**3, 25 sin x - x**2 and exp.")


# ---------------------------------------------------------------------------------------------------------
_LECTURE_DF = Named("f' of f(x) = 25 sin x - x**2", lambda x: 25 * math.cos(x) - 2 * x)
_ASCENT_CASES = [  # (df, x0, lr, num_steps); the second function catches a global df, the last case 0 steps
    (_LECTURE_DF, -2.0, 0.01, 5),
    (_LECTURE_DF, 1.0, 0.02, 3),
    (Named("f' of f(x) = x - x**4 / 4", lambda x: 1 - x ** 3), 0.5, 0.1, 4),
    (_LECTURE_DF, 0.0, 0.005, 0),
]


def _ascend(df, x0, lr, num_steps, sign=1.0, at_start=False):
    xs = [x0]
    for _ in range(num_steps):
        xs.append(xs[-1] + sign * lr * df(x0 if at_start else xs[-1]))
    return np.array(xs)


@exercise(1)
def check_gradient_ascent(gradient_ascent) -> bool:
    """Check ``gradient_ascent(df, x0, lr, num_steps)``: returns ``[x0, x1, ..., x_num_steps]`` with
    ``x_{t+1} = x_t + lr * df(x_t)``."""
    rtol, atol = 1e-5, 1e-8
    got, names = [], []
    for df, x0, lr, num_steps in _ASCENT_CASES:
        inputs = f"df = {df!r}, x0 = {x0}, lr = {lr}, num_steps = {num_steps}"
        arr = as_array(plain(try_call(gradient_ascent, df, x0, lr, num_steps, what="gradient_ascent")),
                       "gradient_ascent", inputs)
        want = _ascend(df, x0, lr, num_steps)
        close = lambda a, b: a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)  # noqa: E731
        if arr.ndim == 0:
            last = " (you returned only the last point)" if close(arr, want[-1]) else ""
            raise CheckFailed(f"gradient_ascent({inputs}) should return every iterate as a list "
                              f"[x0, x1, ..., x{num_steps}], got the single number {float(arr):.6g}{last}.")
        if arr.ndim != 1:
            raise CheckFailed(f"gradient_ascent({inputs}) should return a flat list of {num_steps + 1} numbers "
                              f"[x0, x1, ..., x{num_steps}], got an array of shape {arr.shape}.")
        if len(arr) != num_steps + 1:
            told = f"gradient_ascent({inputs}) returned {len(arr)} values, expected {num_steps + 1} "
            told += f"[x0, x1, ..., x{num_steps}]"
            if num_steps and close(arr, want[1:]):
                raise CheckFailed(told + ": the start x0 is missing, include it as the first entry.")
            if num_steps and close(arr, want[:-1]):
                raise CheckFailed(told + f": you made {num_steps - 1} updates; make num_steps = {num_steps} "
                                         "updates (for _ in range(num_steps)).")
            if len(arr) == num_steps + 2 and close(arr[:-1], want):
                raise CheckFailed(told + f": you made one update too many ({num_steps + 1}); make num_steps = "
                                         f"{num_steps} updates (for _ in range(num_steps)).")
            if len(arr) == num_steps + 2 and close(arr[1:], want) and close(arr[:1], want[:1]):
                raise CheckFailed(told + ": x0 appears twice; start the list with x0 once.")
            raise CheckFailed(told + ": one entry for the start and one per update.")
        got.append(arr)
        names.append(inputs)
    expected = [_ascend(*case) for case in _ASCENT_CASES]
    mistakes = {
        "you stepped downhill: x - lr * f'(x) is gradient DESCENT. Ascent climbs with x + lr * f'(x), as the "
        "lecture's rule says.": [_ascend(*case, sign=-1.0) for case in _ASCENT_CASES],
        "every step uses df(x0): evaluate the derivative at the CURRENT point, x_next = x + lr * df(x).":
            [_ascend(*case, at_start=True) for case in _ASCENT_CASES],
        "the step is missing the learning rate: x_next = x + lr * df(x).":
            [_ascend(df, x0, 1.0, n) for df, x0, lr, n in _ASCENT_CASES],
    }
    grade_cases(got, expected, names, mistakes, what="the list of iterates", rtol=rtol, atol=atol,
           hint="each step is x_next = x + lr * df(x), starting from x0, with the df, lr and num_steps you are "
                "given.")
    return passed("gradient_ascent climbs with x + lr f'(x) and returns all num_steps + 1 iterates.")


# ---------------------------------------------------------------------------------------------------------
_XS = np.array([-3.0, -0.5, 0.0, 0.8, 2.0])


def _torch_derivative(name: str, xs: np.ndarray) -> np.ndarray:
    import torch

    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    getattr(torch, name)(x).sum().backward()
    return x.grad.numpy()


def _check_from_output(fn, name: str, act, mistakes: dict) -> None:
    outs = [float(act(x)) for x in _XS]
    got = [try_call(fn, out, what=f"{name}_derivative") for out in outs]
    symbol = "s" if name == "sigmoid" else "t"
    grade_cases(got, _torch_derivative(name, _XS), [f"{symbol} = {name}(x) = {out:.6g} (x = {x:g})"
                                              for out, x in zip(outs, _XS)],
           {hint: [m(out) for out in outs] for hint, m in mistakes.items()},
           what=f"{name}_derivative({symbol})", rtol=1e-4, atol=1e-7,
           hint=f"write the derivative of {name} at x through its output {symbol} = {name}(x) only.")


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@exercise(2)
def check_sigmoid_derivative(sigmoid_derivative) -> bool:
    """Check ``sigmoid_derivative(s)``: the derivative of the sigmoid written through its OUTPUT ``s = sigma(x)``,
    against torch autograd."""
    _check_from_output(sigmoid_derivative, "sigmoid", _sigmoid, {
        "you wrote s * (1 + s): check the sign inside the bracket (the slope must vanish as s -> 1).":
            lambda s: s * (1 + s),
        "1 - s is only one of two factors: differentiate 1 / (1 + exp(-x)) and write the result with s.":
            lambda s: 1 - s,
        "you applied the sigmoid again: the argument already IS s = sigma(x), so use s directly.":
            lambda s: _sigmoid(s) * (1 - _sigmoid(s)),
        "1 - s**2 is the rule for tanh; differentiate the sigmoid 1 / (1 + exp(-x)) itself.": lambda s: 1 - s * s,
        "the sign is flipped: the sigmoid increases, so its derivative is positive.": lambda s: -s * (1 - s),
        "you returned s itself, the value of the sigmoid, not its slope.": lambda s: s,
    })
    return passed("sigmoid'(x) = s (1 - s) with s = sigmoid(x), equal to torch autograd.")


@exercise(2)
def check_tanh_derivative(tanh_derivative) -> bool:
    """Check ``tanh_derivative(t)``: the derivative of tanh written through its OUTPUT ``t = tanh(x)``,
    against torch autograd."""
    _check_from_output(tanh_derivative, "tanh", math.tanh, {
        "you wrote 1 + t**2, a sign error: the slope of tanh is at most 1 and vanishes as |t| -> 1.":
            lambda t: 1 + t * t,
        "1 - t is not symmetric, but tanh' is an even function of x: check the power of t.": lambda t: 1 - t,
        "you applied tanh again: the argument already IS t = tanh(x), so use t directly.":
            lambda t: 1 - math.tanh(t) ** 2,
        "t * (1 - t) is the rule for the sigmoid; differentiate tanh = sinh / cosh itself.": lambda t: t * (1 - t),
        "the sign is flipped: tanh increases, so its derivative is positive.": lambda t: t * t - 1,
        "you squared (1 - t); only t is squared.": lambda t: (1 - t) ** 2,
    })
    return passed("tanh'(x) = 1 - t**2 with t = tanh(x), equal to torch autograd.")
