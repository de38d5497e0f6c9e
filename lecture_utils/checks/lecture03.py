"""Checkers for the exercises of lecture 03 (gradient descent and the step size).

Each takes the student's function, runs it on a few inputs and compares with a reference; a wrong answer
raises :class:`~lecture_utils.checks.CheckFailed` saying which input, what was expected and what came back,
with the likely mistake when the answers match a typical one on EVERY input (a count one off, the wrong
stopping rule, a missing factor 2 or mean, the bias left out or regularized, the hinge's kink on the wrong side).

Tolerances: a float32 answer is accepted: values within a relative 1e-5 and an absolute 1e-6 (float32 keeps
about 7 digits; an entry of a gradient here is a mean of a few dozen terms of size 1 that can nearly cancel).
The number of updates of ``gradient_descent`` is compared exactly, so its loop must run in float64 (Python
floats do: in float32 the rule |f(x_new) - f(x)| < 1e-6 fires at another update); its final x may be returned
as float32 (relative 1e-6).

Example (``f'' = 2 a``, so descent on ``a x^2`` converges for ``lr < 2 / f'' = 1 / a``)::

    >>> from lecture_utils.checks import lecture03
    >>> lecture03.check_largest_stable_lr(lambda a: 1 / a)
    Correct: descent on a x^2 converges exactly for 0 < lr < 1/a (= 2 / f'').
    True
"""
from __future__ import annotations

import math

import numpy as np

from ._core import as_array, CheckFailed, exercise, grade_cases, Named, passed, plain, try_call

__all__ = ["check_gradient_descent", "check_mse_grad", "check_hinge_subgradient", "check_largest_stable_lr"]


# ---------------------------------------------------------------------------------------------------------
# Exercise 1: gradient descent with a stopping rule
# ---------------------------------------------------------------------------------------------------------
def _descent(f, df, x0, lr, tol, max_steps, *, sign=-1.0, rule="f", first_count=1, cap=0, give="new",
             tol_fixed=None):
    """Gradient descent with the stopping rule of the exercise, or with one typical change: ``sign=+1`` climbs,
    ``rule`` "x"/"grad" stops on positions/gradients, ``first_count=0`` counts one short, ``cap`` changes the
    budget by that many updates (None: no budget), ``give`` returns the x before ("old") or after one more
    update ("extra") at the stop, ``tol_fixed`` ignores ``tol``."""
    tol = tol if tol_fixed is None else tol_fixed
    budget = 10 ** 6 if cap is None else max_steps + cap
    x = x0
    with np.errstate(all="ignore"):
        try:
            for t in range(1, budget + 1):
                x_new = x + sign * lr * df(x)
                change = {"f": abs(f(x_new) - f(x)), "x": abs(x_new - x), "grad": abs(df(x_new))}[rule]
                if change < tol:
                    x_out = {"new": x_new, "old": x, "extra": x_new + sign * lr * df(x_new)}[give]
                    return x_out, t + first_count - 1 + (give == "extra")
                x = x_new
        except OverflowError:  # a deliberately wrong (uphill) candidate can overflow
            return math.nan, -1
    return x, budget


_QUAD = (Named("f(x) = (x - 1)^2", lambda x: (x - 1.0) ** 2),
         Named("df(x) = 2 (x - 1)", lambda x: 2.0 * (x - 1.0)))
_XSIN = (Named("f(x) = x + sin(x)", lambda x: x + math.sin(x)),
         Named("df(x) = 1 + cos(x)", lambda x: 1.0 + math.cos(x)))
_GD_CASES = [  # (f, df, x0, lr, tol, max_steps): stops on tol; stops at once; two rates; hits max_steps
    (*_QUAD, 4.0, 0.1, 1e-8, 1000),
    (*_QUAD, 1.001, 0.1, 1e-4, 50),
    (*_XSIN, 2.5, 0.1, 1e-6, 1000),
    (*_XSIN, 2.5, 0.01, 1e-6, 300),
]
_GD_MISTAKES = {
    "you went uphill: step against the gradient, x - lr * df(x).": dict(sign=1.0),
    "your x is right but the count is one short: count every update, including the one whose change fell "
    "below tol.": dict(first_count=0),
    "you returned the x from before the last update: return x_new, the point the stopping update reached.":
        dict(give="old"),
    "you stopped one update early: the update whose change falls below tol is made, counted and returned.":
        dict(give="old", first_count=0),
    "you made one update after the change fell below tol: stop right after that update.": dict(give="extra"),
    "the rule compares objective values |f(x_new) - f(x)| < tol, not positions |x_new - x|.": dict(rule="x"),
    "the rule compares objective values |f(x_new) - f(x)| < tol, not the gradient.": dict(rule="grad"),
    "never make more than max_steps updates.": dict(cap=None),
    "when the change never falls below tol, make max_steps updates, not max_steps - 1.": dict(cap=-1),
    "use the tol you are given, not a fixed 1e-6.": dict(tol_fixed=1e-6),
}


def _steps_count(steps, inputs):
    try:
        arr = as_array(plain(steps), "num_steps", inputs)
    except CheckFailed:
        raise CheckFailed(f"your gradient_descent should return (x, num_steps) with num_steps a whole number; for "
                          f"{inputs} num_steps is {type(steps).__name__} {str(steps)[:40]}") from None
    if arr.size != 1 or float(arr.reshape(-1)[0]) != int(arr.reshape(-1)[0]):
        raise CheckFailed(f"for {inputs} num_steps should be the whole number of updates made, got "
                          f"{str(steps)[:40]}")
    return int(arr.reshape(-1)[0])


@exercise(1)
def check_gradient_descent(fn) -> bool:
    """Grade ``fn(f, df, x0, lr, tol, max_steps) -> (x, num_steps)``: gradient descent that stops after the first
    update whose change ``|f(x_new) - f(x)|`` is below ``tol`` (that update counts), or after ``max_steps``."""
    answers, names = [], []
    for f, df, x0, lr, tol, max_steps in _GD_CASES:
        inputs = f"{f!r}, x0={x0}, lr={lr}, tol={tol:g}, max_steps={max_steps}"
        out = try_call(fn, f, df, x0, lr, tol, max_steps, what="your gradient_descent")
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise CheckFailed(f"your gradient_descent should return a pair (x, num_steps); for {inputs} it "
                              f"returned {type(out).__name__} {str(out)[:60]}")
        x = as_array(plain(out[0]), "the x your gradient_descent returned", inputs)
        if x.size != 1:
            raise CheckFailed(f"for {inputs} x should be one number, got an array of shape {x.shape}")
        want = _descent(f, df, x0, lr, tol, max_steps)
        try:
            swapped = float(x.reshape(-1)[0]) == want[1] and math.isclose(float(plain(out[1])), want[0],
                                                                           rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            swapped = False
        if swapped:
            raise CheckFailed(f"for {inputs} you returned (num_steps, x) = ({want[1]}, {float(plain(out[1])):.8g}); "
                              "the order is (x, num_steps).")
        answers.append((float(x.reshape(-1)[0]), _steps_count(out[1], inputs)))
        names.append(inputs)
    expected = [_descent(*case) for case in _GD_CASES]
    same = lambda a, b: a[1] == b[1] and math.isclose(a[0], b[0], rel_tol=1e-6, abs_tol=1e-9)  # noqa: E731
    for (x, steps), want, inputs in zip(answers, expected, names):
        if same((x, steps), want):
            continue
        hint = next((h for h, change in _GD_MISTAKES.items()
                     if all(same(a, _descent(*case, **change)) for a, case in zip(answers, _GD_CASES))),
                    "update x <- x - lr * df(x) with the lr you are given; stop after the first update with "
                    "|f(x_new) - f(x)| < tol (it counts) or after max_steps updates, and return the last x.")
        raise CheckFailed(f"for {inputs} expected (x, num_steps) = ({want[0]:.8g}, {want[1]}), got "
                          f"({x:.8g}, {steps}). Likely mistake: {hint}")
    return passed("gradient descent stops at the right update on all test functions.")


# ---------------------------------------------------------------------------------------------------------
# Exercise 2: the gradient of the least-squares loss with a bias
# ---------------------------------------------------------------------------------------------------------
def _with_ones(X):
    return np.hstack([X, np.ones((len(X), 1))])


def _mse_grad(theta, X, y):
    A = _with_ones(X)
    return 2.0 / len(y) * A.T @ (A @ theta - y)


def _linear_cases(seed, shapes):
    rng = np.random.default_rng(seed)
    cases = []
    for n, d in shapes:
        X = rng.normal(size=(n, d))
        cases.append((rng.normal(size=d + 1), X, rng.normal(size=n) + 0.5))
    return cases


_MSE_CASES = _linear_cases(3, [(7, 2), (12, 1), (6, 4)])  # n != d + 1: a wrong axis shows in the shape


def _shape_problem(g, theta, X, what) -> str:
    """A message for the usual wrong shapes of a gradient with respect to theta = (w, b), or ""."""
    n, d = X.shape
    if g.shape == (d + 1,):
        return ""
    if g.shape == (d,):
        return (f"{what} has {d} entries; it needs {d + 1}, one per weight and one for the bias b (the derivative "
                "with respect to b), weights first.")
    if g.shape == (n,):
        return (f"{what} has {n} entries, one per example: sum over the examples (axis 0), so that one entry per "
                f"parameter is left ({d + 1}).")
    if g.size == d + 1 and g.shape != (d + 1,):
        return f"{what} has shape {g.shape}; return a flat array of shape ({d + 1},), like theta."
    return ""


@exercise(2)
def check_mse_grad(fn) -> bool:
    """Grade ``fn(theta, X, y)``: the gradient of ``1/n sum_i (w . x_i + b - y_i)^2`` with ``theta = (w, b)``."""
    got, names = [], []
    for theta, X, y in _MSE_CASES:
        inputs = f"X of shape {X.shape}, theta of shape {theta.shape}"
        g = as_array(plain(try_call(fn, theta, X, y, what="your mse_grad", may_modify=False)), "your gradient",
                     inputs)
        problem = _shape_problem(g, theta, X, f"for {inputs} your gradient")
        if problem:
            raise CheckFailed(problem)
        got.append(g)
        names.append(inputs)
    variants = {
        "the derivative of r^2 is 2 r: you lost the factor 2.": lambda t, X, y: _mse_grad(t, X, y) / 2,
        "the loss is a mean: divide by n.": lambda t, X, y: _mse_grad(t, X, y) * len(y),
        "you divided by n twice.": lambda t, X, y: _mse_grad(t, X, y) / len(y),
        "the loss is a mean over n examples: divide by n, not n - 1.":
            lambda t, X, y: _mse_grad(t, X, y) * len(y) / (len(y) - 1),
        "the residual is (w . x + b - y); you flipped its sign.": lambda t, X, y: -_mse_grad(t, X, y),
        "the prediction is w . x + b: you left out the bias b.":
            lambda t, X, y: 2.0 / len(y) * _with_ones(X).T @ (X @ t[:-1] - y),
        "theta = (w, b) has the weights first and the bias LAST; the column of ones goes after X.":
            lambda t, X, y: 2.0 / len(y) * np.hstack([np.ones((len(X), 1)), X]).T
            @ (np.hstack([np.ones((len(X), 1)), X]) @ t - y),
    }
    grade_cases(got, [_mse_grad(*c) for c in _MSE_CASES], names,
           {h: [v(*c) for c in _MSE_CASES] for h, v in variants.items()}, what="your gradient", rtol=1e-5,
           atol=1e-6, hint="differentiate (w . x_i + b - y_i)^2 with respect to each weight and to b, then average.")
    return passed("the least-squares gradient with a bias is right (shape and values).")


# ---------------------------------------------------------------------------------------------------------
# Exercise 3: a subgradient of the L2-regularized hinge loss
# ---------------------------------------------------------------------------------------------------------
def _hinge_variant(theta, X, y, lam, *, at_one=False, below=1.0, sign=1.0, mean=True, margin_bias=True,
                   reg=2.0, reg_bias=False):
    """The subgradient, or one typical change of it (the keyword that differs from its default)."""
    A = _with_ones(X)
    margins = y * ((A @ theta) if margin_bias else (X @ theta[:-1]))
    active = (margins <= below) if at_one else (margins < below)
    g = -sign * (active * y) @ A / (len(y) if mean else 1)
    w = theta.copy() if reg_bias else np.r_[theta[:-1], 0.0]
    return g + reg * lam * w


# A hand-made case where margins are exactly 1 (the kink), 1.25, 0.5, 0, -0.25 and -0.75 (exact in binary),
# then random ones (margins on both sides of 0 and 1); lam = 0 once.
_HINGE_KINK = (np.array([0.5, -0.25, 0.5]),
               np.array([[1.0, 0.0], [2.0, 1.0], [-2.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [1.0, 1.0]]),
               np.array([1.0, 1.0, -1.0, -1.0, 1.0, -1.0]), 0.25)


def _hinge_cases():
    rng = np.random.default_rng(5)
    cases = [_HINGE_KINK]
    for n, d, lam in [(20, 2, 0.1), (9, 3, 0.5), (15, 1, 0.0)]:
        X = rng.normal(size=(n, d))
        y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        cases.append((rng.normal(size=d + 1), X, y, lam))
    return cases


_HINGE_CASES = _hinge_cases()
_HINGE_MISTAKES = {
    "you left out the regularizer: its gradient is 2 lam w.": dict(reg=0.0),
    "the gradient of lam ||w||^2 is 2 lam w, not lam w.": dict(reg=1.0),
    "the regularizer lam ||w||^2 adds to the objective: its gradient +2 lam w has a plus sign.": dict(reg=-2.0),
    "the bias b is not regularized: no 2 lam b term.": dict(reg_bias=True),
    "the hinge term's slope is -y_i (x_i, 1) where the margin is below 1: check the sign.": dict(sign=-1.0),
    "the hinge is active where the margin y_i f(x_i) is below 1, not below 0.": dict(below=0.0),
    "at a margin of exactly 1 the exercise takes the slope 0: the hinge is active where the margin is < 1, "
    "not <= 1.": dict(at_one=True),
    "the loss is a mean over examples: divide the hinge part by n.": dict(mean=False),
    "the margin is y_i (w . x_i + b): include the bias b.": dict(margin_bias=False),
}


@exercise(3)
def check_hinge_subgradient(fn) -> bool:
    """Grade ``fn(theta, X, y, lam)``: a subgradient of ``1/n sum_i max(0, 1 - y_i (w . x_i + b)) + lam ||w||^2``
    (slope 0 where a margin is exactly 1), on margins below 0, between 0 and 1, exactly 1 and above 1."""
    got, names = [], []
    for theta, X, y, lam in _HINGE_CASES:
        inputs = f"X of shape {X.shape}, lam={lam}" + (" (margins -0.75 to 1.25, one exactly 1)"
                                                        if X is _HINGE_KINK[1] else "")
        g = as_array(plain(try_call(fn, theta, X, y, lam, what="your hinge_subgradient", may_modify=False)),
                     "your subgradient", inputs)
        problem = _shape_problem(g, theta, X, f"for {inputs} your subgradient")
        if problem:
            raise CheckFailed(problem)
        got.append(g)
        names.append(inputs)
    grade_cases(got, [_hinge_variant(*c) for c in _HINGE_CASES], names,
           {h: [_hinge_variant(*c, **change) for c in _HINGE_CASES] for h, change in _HINGE_MISTAKES.items()},
           what="your subgradient", rtol=1e-5, atol=1e-6,
           hint="average -y_i (x_i, 1) over the examples with margin y_i (w . x_i + b) < 1, then add 2 lam (w, 0).")
    return passed("the hinge-loss subgradient is right, regularizer and bias included.")


# ---------------------------------------------------------------------------------------------------------
# Exercise 4: the largest stable learning rate for f(x) = a x^2
# ---------------------------------------------------------------------------------------------------------
_AS = (0.5, 2.0, 10.0, 0.3)


@exercise(4)
def check_largest_stable_lr(fn) -> bool:
    """Grade ``fn(a)``: the learning rate above which gradient descent on ``f(x) = a x^2`` stops converging."""
    got = [try_call(fn, a, what="your largest_stable_lr") for a in _AS]
    mistakes = {
        "2/a is the limit when a is the curvature f''. Here f''(x) = 2a, so the limit is 2 / f''.":
            [2 / a for a in _AS],
        "1/(2a) is the rate that lands on the minimum in ONE step (1 - 2 a lr = 0); larger rates still converge, "
        "overshooting: find where |1 - 2 a lr| reaches 1.": [0.5 / a for a in _AS],
        "that is the curvature f'' = 2a; the rate limit is 2 divided by the curvature.": [2 * a for a in _AS],
        "you returned a itself: one step maps x to (1 - 2 a lr) x; solve |1 - 2 a lr| < 1 for lr.": list(_AS),
        "the rate is positive: descent steps AGAINST the gradient with lr > 0.": [-1 / a for a in _AS],
    }
    grade_cases(got, [1 / a for a in _AS], [f"f(x) = {a} x^2" for a in _AS], mistakes,
           what="the largest stable learning rate", rtol=1e-6, atol=0.0,
           hint="one step maps x to (1 - 2 a lr) x; the iterates shrink iff |1 - 2 a lr| < 1.")
    return passed("descent on a x^2 converges exactly for 0 < lr < 1/a (= 2 / f'').")
