"""Checkers for the exercises of lecture 03 (gradient descent and the step size).

Each takes the student's function, runs it on a few inputs and compares with a reference; a wrong answer
raises :class:`~lecture_utils.checks.CheckFailed` saying which input, what was expected and what came back,
with a hint for the usual mistakes.

Example (``f'' = 2 a``, so descent on ``a x^2`` converges for ``lr < 2 / f'' = 1 / a``)::

    >>> from lecture_utils.checks import lecture03
    >>> lecture03.check_largest_stable_lr(lambda a: 1 / a)
    Correct: descent on a x^2 converges exactly for 0 < lr < 1/a (= 2 / f'').
    True
"""
from __future__ import annotations

import math

import numpy as np

from ._core import CheckFailed, exercise, expect_close, passed, try_call

__all__ = ["check_gradient_descent", "check_mse_grad", "check_hinge_subgradient", "check_largest_stable_lr"]


# ---------------------------------------------------------------------------------------------------------
# Exercise: gradient descent with a stopping rule
# ---------------------------------------------------------------------------------------------------------
def _reference_gd(f, df, x0, lr, tol, max_steps):
    x = x0
    try:
        for t in range(1, max_steps + 1):
            x_new = x - lr * df(x)
            if abs(f(x_new) - f(x)) < tol:
                return x_new, t
            x = x_new
    except OverflowError:  # only the deliberately wrong (uphill) reference can overflow
        return math.nan, -1
    return x, max_steps


_GD_CASES = [
    ("f(x) = (x - 1)^2", lambda x: (x - 1.0) ** 2, lambda x: 2.0 * (x - 1.0), 4.0, 0.1, 1e-8, 1000),
    ("f(x) = x + sin(x)", lambda x: x + math.sin(x), lambda x: 1.0 + math.cos(x), 2.5, 0.1, 1e-6, 1000),
    ("f(x) = x + sin(x)", lambda x: x + math.sin(x), lambda x: 1.0 + math.cos(x), 2.5, 0.01, 1e-6, 300),
]


@exercise(1)
def check_gradient_descent(fn) -> bool:
    """Grade ``fn(f, df, x0, lr, tol, max_steps) -> (x, num_steps)``: gradient descent that stops after the first
    update whose change ``|f(x_new) - f(x)|`` is below ``tol`` (that update counts), or after ``max_steps``."""
    for name, f, df, x0, lr, tol, max_steps in _GD_CASES:
        inputs = f"{name}, x0={x0}, lr={lr}, tol={tol:g}, max_steps={max_steps}"
        out = try_call(fn, f, df, x0, lr, tol, max_steps, what="your gradient_descent")
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise CheckFailed(f"your gradient_descent should return a pair (x, num_steps); for {inputs} it "
                              f"returned {out!r:.80}")
        x, steps = out
        x_ref, steps_ref = _reference_gd(f, df, x0, lr, tol, max_steps)
        try:
            steps = int(steps)
            x = float(x)
        except (TypeError, ValueError):
            raise CheckFailed(f"your gradient_descent should return (x, num_steps) as two numbers; for {inputs} "
                              f"it returned {out!r:.80}") from None
        x_up, steps_up = _reference_gd(f, lambda z: -df(z), x0, lr, tol, max_steps)
        if steps == steps_up and math.isclose(x, x_up, rel_tol=1e-9) and not math.isclose(x, x_ref, rel_tol=1e-6):
            raise CheckFailed(f"for {inputs} your x went uphill (to {x:.6g}; expected {x_ref:.6g}). Hint: step "
                              "against the gradient, x <- x - lr * df(x).")
        if steps != steps_ref:
            if abs(steps - steps_ref) == 1:
                early = "early" if steps < steps_ref else "late"
                hint = ("count every update, including the one whose change fell below tol"
                        if early == "early" else "stop right after the update whose change fell below tol")
                raise CheckFailed(f"for {inputs} you stopped one step {early}: expected {steps_ref} updates, "
                                  f"got {steps}. Hint: {hint}.")
            hint = ("never make more than max_steps updates" if steps > max_steps else
                    "the rule compares objective values |f(x_new) - f(x)| < tol, not positions or gradients")
            raise CheckFailed(f"for {inputs} expected {steps_ref} updates, got {steps}. Hint: {hint}.")
        expect_close(x, x_ref, what="the final x", inputs=inputs, rtol=1e-9, atol=1e-12,
                     hint="update x <- x - lr * df(x) and return the last x")
    return passed("gradient descent stops at the right update on all test functions.")


# ---------------------------------------------------------------------------------------------------------
# Exercise: the gradient of the least-squares loss with a bias
# ---------------------------------------------------------------------------------------------------------
def _mse_grad(theta, X, y):
    A = np.hstack([X, np.ones((len(X), 1))])
    return 2.0 / len(y) * A.T @ (A @ theta - y)


@exercise(2)
def check_mse_grad(fn) -> bool:
    """Grade ``fn(theta, X, y)``: the gradient of ``1/n sum_i (w . x_i + b - y_i)^2`` with ``theta = (w, b)``."""
    rng = np.random.default_rng(3)
    for n, d in [(7, 2), (12, 1), (5, 4)]:
        X = rng.normal(size=(n, d))
        y = rng.normal(size=n)
        theta = rng.normal(size=d + 1)
        inputs = f"X of shape {X.shape}, theta of shape {theta.shape}"
        got = try_call(fn, theta.copy(), X.copy(), y.copy(), what="your mse_grad")
        expected = _mse_grad(theta, X, y)
        try:
            g = np.asarray(got, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise CheckFailed(f"your mse_grad should return an array of {d + 1} numbers, got {type(got).__name__}") from None
        if g.shape == (d,):
            raise CheckFailed(f"for {inputs} your gradient has {d} entries; it needs {d + 1}: one per weight and "
                              "one for the bias b (the derivative of the loss with respect to b).")
        if g.shape == expected.shape and not np.allclose(g, expected, rtol=1e-7, atol=1e-10):
            A = np.hstack([X, np.ones((n, 1))])
            for wrong, hint in [
                (expected / 2, "the derivative of r^2 is 2 r: you lost the factor 2"),
                (expected * n, "the loss is a mean: divide by n"),
                (expected / n, "you divided by n twice"),
                (-expected, "the residual is (w . x + b - y); you flipped its sign"),
                (2.0 / n * A.T @ (X @ theta[:-1] - y), "the prediction is w . x + b: you left out the bias b"),
            ]:
                if np.allclose(g, wrong, rtol=1e-7, atol=1e-10):
                    raise CheckFailed(f"for {inputs} the gradient is wrong: expected {np.round(expected, 4)}, "
                                      f"got {np.round(g, 4)}. Hint: {hint}.")
        expect_close(g, expected, what="your gradient", inputs=inputs, rtol=1e-7, atol=1e-10,
                     hint="with A = [X, 1] the gradient is 2/n A^T (A theta - y)")
    return passed("the least-squares gradient with a bias is right (shape and values).")


# ---------------------------------------------------------------------------------------------------------
# Exercise: a subgradient of the L2-regularized hinge loss
# ---------------------------------------------------------------------------------------------------------
def _hinge_sub(theta, X, y, lam):
    A = np.hstack([X, np.ones((len(X), 1))])
    active = y * (A @ theta) < 1.0
    g = -(active * y) @ A / len(y)
    g[:-1] += 2.0 * lam * theta[:-1]
    return g


@exercise(3)
def check_hinge_subgradient(fn) -> bool:
    """Grade ``fn(theta, X, y, lam)``: a subgradient of ``1/n sum_i max(0, 1 - y_i (w . x_i + b)) + lam ||w||^2``."""
    rng = np.random.default_rng(5)
    for n, d, lam in [(20, 2, 0.1), (9, 3, 0.5), (15, 1, 0.0)]:
        X = rng.normal(size=(n, d))
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        theta = rng.normal(size=d + 1)
        A = np.hstack([X, np.ones((n, 1))])
        margins = y * (A @ theta)
        inputs = f"X of shape {X.shape}, lam={lam}"
        got = try_call(fn, theta.copy(), X.copy(), y.copy(), lam, what="your hinge_subgradient")
        expected = _hinge_sub(theta, X, y, lam)
        try:
            g = np.asarray(got, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise CheckFailed(f"your hinge_subgradient should return an array, got {type(got).__name__}") from None
        if g.shape != expected.shape:
            raise CheckFailed(f"for {inputs} your subgradient has shape {g.shape}, expected {expected.shape}: "
                              "one entry per weight, then one for the bias.")
        if not np.allclose(g, expected, rtol=1e-7, atol=1e-10):
            reg = np.r_[2.0 * lam * theta[:-1], 0.0]
            data = expected - reg
            for wrong, hint in [
                (data, "you left out the regularizer: its gradient is 2 lam w"),
                (data + reg / 2, "the gradient of lam ||w||^2 is 2 lam w, not lam w"),
                (data + 2.0 * lam * theta, "the bias b is not regularized: no 2 lam b term"),
                (-data + reg, "the hinge term's gradient is -y_i (x_i, 1) where the margin is below 1: check the sign"),
                (-((margins < 0) * y) @ A / n + reg,
                 "the hinge is active where the margin y_i f(x_i) is below 1, not below 0"),
                (-((margins < 1) * y) @ A + reg, "the loss is a mean over examples: divide the hinge part by n"),
            ]:
                if np.allclose(g, wrong, rtol=1e-7, atol=1e-10):
                    raise CheckFailed(f"for {inputs} the subgradient is wrong: expected {np.round(expected, 4)}, "
                                      f"got {np.round(g, 4)}. Hint: {hint}.")
            expect_close(g, expected, what="your subgradient", inputs=inputs, rtol=1e-7, atol=1e-10)
    return passed("the hinge-loss subgradient is right, regularizer and bias included.")


# ---------------------------------------------------------------------------------------------------------
# Exercise: the largest stable learning rate for f(x) = a x^2
# ---------------------------------------------------------------------------------------------------------
@exercise(4)
def check_largest_stable_lr(fn) -> bool:
    """Grade ``fn(a)``: the learning rate above which gradient descent on ``f(x) = a x^2`` stops converging."""
    for a in (0.5, 2.0, 10.0):
        got = try_call(fn, a, what="your largest_stable_lr")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise CheckFailed(f"your largest_stable_lr should return a number, got {type(got).__name__}") from None
        expected = 1.0 / a
        if math.isclose(got, 2.0 / a, rel_tol=1e-9):
            raise CheckFailed(f"for f(x) = {a} x^2 you answered 2/a = {got:g}, expected {expected:g}. Hint: 2/a is the "
                              f"limit when a is the curvature f''. Here f''(x) = 2a = {2 * a:g}, so the limit is "
                              f"2 / f'' = 1/a.")
        expect_close(got, expected, what="the largest stable learning rate", inputs=f"f(x) = {a} x^2", rtol=1e-9,
                     hint="one step maps x to (1 - 2 a lr) x; the iterates shrink iff |1 - 2 a lr| < 1")
    return passed("descent on a x^2 converges exactly for 0 < lr < 1/a (= 2 / f'').")

