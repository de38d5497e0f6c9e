"""Checkers for the exercises of lecture 05 (saddles, cliffs, momentum, adaptive methods, initialization).

Each checker calls the student's function on a few inputs chosen so that every branch runs (a gradient above
and one below the threshold, a nonzero velocity, a non-unit ``max_norm``), compares with a closed form and on a
mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the input, the expected and the received value,
and the likely mistake when the answer equals what a typical mistake gives. Answers may be numbers, lists, numpy
arrays or torch tensors, in float32 or float64: values are compared at a relative tolerance of 1e-5, which a
float32 computation (about 7 significant digits) meets with room to spare, while every typical mistake is off by
far more. The student's function must not change its inputs in place.

Example::

    >>> import numpy as np
    >>> from lecture_utils.checks import lecture05
    >>> def clip_by_norm(g, max_norm):
    ...     norm = np.linalg.norm(g)
    ...     return g * (max_norm / norm) if norm > max_norm else g
    >>> lecture05.check_clip_by_norm(clip_by_norm)   # doctest: +ELLIPSIS
    Correct: clip_by_norm rescales g to norm max_norm when it is longer and leaves it alone otherwise, ...
    True
"""
from __future__ import annotations

import math

import numpy as np

from ._core import (CheckFailed, as_array, exercise, expect_close, expect_tuple, is_close, match_mistake, passed,
                    try_call)

__all__ = ["check_clip_by_norm", "check_momentum_step", "check_glorot_bound", "check_best_momentum"]

#: float32 answers carry a relative error of about 1e-7 per operation; 1e-5 accepts them, no typical mistake is
#: that close.
RTOL = 1e-5

_NEVER = float("nan")  # a candidate that does not apply to this input (never matches)


def _fmt(a) -> str:
    return str(np.round(np.asarray(a, dtype=float), 4).tolist())


def _swapped(first, second, ref_first, ref_second) -> bool:
    """Whether a returned pair holds the right values in the wrong order."""
    return (not is_close(ref_first, ref_second, rtol=RTOL) and is_close(first, ref_second, rtol=RTOL)
            and is_close(second, ref_first, rtol=RTOL))


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_clip_by_norm(clip_by_norm) -> bool:
    """Check ``clip_by_norm(g, max_norm)``: ``g`` rescaled to norm ``max_norm`` when its norm is larger, else ``g``
    (also for ``g = 0``). The reference is ``g * min(1, max_norm / |g|)``, which is what
    ``torch.nn.utils.clip_grad_norm_`` computes up to the 1e-6 it adds to the norm.
    """
    rng = np.random.default_rng(5)
    cases = [(np.array([3.0, 4.0]), 2.0),             # |g| = 5 > max_norm: rescaled
             (np.array([0.3, 0.4]), 1.0),             # |g| = 0.5 < max_norm: unchanged
             (np.array([-30.0, 0.5, 2.0]), 5.0),      # rescaled, a large max_norm
             (np.array([1.2, -0.9, 0.4, 2.0]), 4.0),  # 1 < |g| = 2.5 < max_norm: unchanged (a threshold of 1 fails)
             (rng.standard_normal(6) * 10, 2.0),
             (np.zeros(3), 1.0)]                      # |g| = 0: unchanged, no 0 / 0
    for g, max_norm in cases:
        norm = float(np.linalg.norm(g))
        inputs = f"g = {_fmt(g)} (|g| = {norm:.4g}), max_norm = {max_norm}"
        got = try_call(clip_by_norm, g, max_norm, what="clip_by_norm", may_modify=False, inputs=inputs)
        got = as_array(got, "clip_by_norm(g, max_norm)", inputs, allow_nan=True)
        if not np.all(np.isfinite(got)):
            raise CheckFailed(f"clip_by_norm for {inputs} returned {got.tolist() if got.size <= 6 else 'NaN or inf'}:"
                              f" not finite. Likely mistake: a division by |g| = {norm:.4g}"
                              + (" (a zero gradient must come back unchanged: test the norm before dividing)."
                                 if norm == 0 else "."))
        expected = g * min(1.0, max_norm / norm) if norm > 0 else g
        big, small = norm > max_norm, 0 < norm <= max_norm
        hint = match_mistake(got, {
            "that clips each entry to [-max_norm, max_norm] (clipping by value); clipping by norm rescales the "
            "whole vector by one factor, so its direction is kept.": np.clip(g, -max_norm, max_norm)
            if big else _NEVER,
            "g came back unchanged although its norm is above max_norm: rescale it when |g| > max_norm (is the "
            "comparison the right way round?).": g if big else _NEVER,
            "that rescales g although its norm is already below max_norm; leave such a g unchanged.":
                g * max_norm / norm if small else _NEVER,
            "that multiplies by max_norm but forgets to divide by the norm of g.": g * max_norm if big else _NEVER,
            "that returns the unit vector g / |g|: its norm is 1, not max_norm.": g / norm if big else _NEVER,
            "that divides by the squared norm sum(g**2); the norm is its square root.":
                g * max_norm / norm ** 2 if norm ** 2 > max_norm else _NEVER,
            "that uses the L1 norm sum |g_i|; clipping by norm uses the Euclidean norm sqrt(sum g_i**2).":
                g * max_norm / np.abs(g).sum() if np.abs(g).sum() > max_norm else _NEVER,
            "that uses the largest entry max |g_i| as the norm; use the Euclidean norm sqrt(sum g_i**2).":
                g * max_norm / np.abs(g).max() if np.abs(g).max() > max_norm else _NEVER,
            "that is what max_norm = 1 gives: use the max_norm argument, not a fixed value.":
                g / norm if (small and norm > 1) else _NEVER,  # when |g| > max_norm it is the unit vector above
        }, rtol=RTOL, unique=True)
        expect_close(got, expected, what="clip_by_norm(g, max_norm)", inputs=inputs, rtol=RTOL, atol=1e-9,
                     hint=hint, advice="the result should point like g and have norm min(|g|, max_norm).")
    return passed("clip_by_norm rescales g to norm max_norm when it is longer and leaves it alone otherwise, "
                  "on six gradients (one of them 0).")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_momentum_step(momentum_step) -> bool:
    """Check ``momentum_step(x, v, g, lr, momentum) -> (x_new, v_new)`` (algorithm 8.2):
    ``v_new = momentum * v - lr * g`` and ``x_new = x + v_new``.
    """
    rng = np.random.default_rng(8)
    cases = [(np.array([1.0, -2.0]), np.array([0.5, -0.25]), np.array([0.5, 1.0]), 0.2, 0.9),  # lr != 1 - momentum
             (rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3), 0.05, 0.5),
             (np.array([2.0]), np.array([-0.3]), np.array([4.0]), 0.01, 0.99),
             (np.array([1.0, 1.0]), np.array([2.0, -1.0]), np.array([1.0, 3.0]), 0.2, 0.0)]  # no momentum
    for x, v, g, lr, momentum in cases:
        inputs = f"x = {_fmt(x)}, v = {_fmt(v)}, g = {_fmt(g)}, lr = {lr}, momentum = {momentum}"
        out = try_call(momentum_step, x, v, g, lr, momentum, what="momentum_step", may_modify=False, inputs=inputs)
        x_new, v_new = expect_tuple(out, ("x_new", "v_new"), what="momentum_step", inputs=inputs)
        v_ref = momentum * v - lr * g
        x_ref = x + v_ref
        if _swapped(x_new, v_new, x_ref, v_ref):
            raise CheckFailed(f"momentum_step for {inputs} returned the pair in the wrong order: it should return "
                              "(x_new, v_new), the new point first.")
        x_new = as_array(x_new, "x_new", inputs)
        v_new = as_array(v_new, "v_new", inputs)
        hint = match_mistake(v_new, {
            "the gradient term has the wrong sign: the velocity moves against the gradient, - lr * g.":
                momentum * v + lr * g,
            "the old velocity is not scaled by momentum.": v - lr * g if momentum != 1 else _NEVER,
            "the old velocity is missing: the new velocity keeps momentum times the old one.": -lr * g
                if momentum != 0 else _NEVER,
            "that scales the gradient by (1 - momentum) (dampening); algorithm 8.2 uses lr * g alone.":
                momentum * v - (1 - momentum) * lr * g if momentum != 0 else _NEVER,
            "lr and momentum are swapped: momentum multiplies the old velocity, lr the gradient.":
                lr * v - momentum * g,
            "that is torch.optim.SGD's convention (v <- momentum v + g, then x <- x - lr v); algorithm 8.2 keeps "
            "lr inside the velocity and moves x by + v.": momentum * v + g,
            "that is an average of gradients, momentum v + (1 - momentum) g (Adam's first moment); the velocity of "
            "algorithm 8.2 is a step: it contains - lr * g.": momentum * v + (1 - momentum) * g,
        }, rtol=RTOL, unique=True)
        expect_close(v_new, v_ref, what="v_new", inputs=inputs, rtol=RTOL, atol=1e-9,
                     hint=hint, advice="the velocity keeps a fraction momentum of the old one and adds the scaled "
                                       "step against the gradient.")
        hint = match_mistake(x_new, {
            "x moved with the old velocity; compute v_new first, then move x by v_new.": x + v,
            "x moved against the velocity; the velocity already points downhill, so x moves by + v_new.":
                x - v_ref,
            "that is a plain gradient step x - lr * g; algorithm 8.2 moves x by the new velocity.": x - lr * g,
            "that multiplies the velocity by lr again; v_new already contains lr, so x moves by v_new.":
                x + lr * v_ref,
        }, rtol=RTOL, unique=True)
        expect_close(x_new, x_ref, what="x_new", inputs=inputs, rtol=RTOL, atol=1e-9,
                     hint=hint, advice="x_new is x moved by the new velocity.")
    return passed("momentum_step follows algorithm 8.2: v <- momentum v - lr g, then x <- x + v (four steps, "
                  "one without momentum).")


# ---------------------------------------------------------------------------------------------------------
@exercise(3)
def check_glorot_bound(glorot_bound) -> bool:
    """Check ``glorot_bound(fan_in, fan_out)`` = ``sqrt(6) / sqrt(fan_in + fan_out)`` (Glorot & Bengio's bound)."""
    for fan_in, fan_out in [(784, 100), (256, 256), (3, 2), (1, 1), (10, 90)]:
        inputs = f"fan_in = {fan_in}, fan_out = {fan_out}"
        got = try_call(glorot_bound, fan_in, fan_out, what="glorot_bound", inputs=inputs)
        expected = math.sqrt(6.0) / math.sqrt(fan_in + fan_out)
        n = fan_in + fan_out
        hint = match_mistake(got, {
            "that is 6 / sqrt(fan_in + fan_out), the slip in some lecture notes: the 6 belongs under the square "
            "root too.": 6.0 / math.sqrt(n),
            "that is 1 / sqrt(fan_in), the fan-in bound; Glorot's bound uses fan_in + fan_out and sqrt(6).":
                1.0 / math.sqrt(fan_in),
            "that is He's bound sqrt(6 / fan_in) for ReLU nets; Glorot's bound averages fan_in and fan_out.":
                math.sqrt(6.0 / fan_in),
            "that is the standard deviation sqrt(2 / (fan_in + fan_out)); the half-width a of U(-a, a) is sqrt(3) "
            "times the standard deviation.": math.sqrt(2.0 / n),
            "that is the variance 2 / (fan_in + fan_out); the bound is a half-width, in the units of a weight.":
                2.0 / n,
            "that gives weights of variance 1 / (fan_in + fan_out), half of Glorot's 2 / (fan_in + fan_out).":
                math.sqrt(3.0 / n),
            "that divides by the average (fan_in + fan_out) / 2; the formula has the sum under the root.":
                math.sqrt(12.0 / n),
            "use the sum fan_in + fan_out, not the product.": math.sqrt(6.0) / math.sqrt(fan_in * fan_out),
        }, rtol=RTOL, unique=True)
        got = as_array(got, "glorot_bound(fan_in, fan_out)", inputs)
        if got.shape != ():
            raise CheckFailed(f"glorot_bound for {inputs} should return one number, the half-width a of U(-a, a), "
                              f"got shape {got.shape}.")
        expect_close(got, expected, what="glorot_bound(fan_in, fan_out)", inputs=inputs, rtol=RTOL, hint=hint)
    return passed("glorot_bound = sqrt(6) / sqrt(fan_in + fan_out), the bound torch.nn.init.xavier_uniform_ uses.")


# ---------------------------------------------------------------------------------------------------------
@exercise(4)
def check_best_momentum(best_momentum) -> bool:
    """Check ``best_momentum(kappa) -> (lr, momentum)``: the heavy-ball tuning on a quadratic with Hessian
    eigenvalues 1 and ``kappa``: ``lr = 4 / (sqrt(kappa) + 1)^2``, ``momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) +
    1))^2``.
    """
    for kappa in (100.0, 4.0, 1e4, 1.0):
        inputs = f"kappa = {kappa:g}"
        out = try_call(best_momentum, kappa, what="best_momentum", inputs=inputs)
        lr, momentum = expect_tuple(out, ("lr", "momentum"), what="best_momentum", inputs=inputs)
        q = math.sqrt(kappa)
        r = (q - 1) / (q + 1)
        lr_ref, m_ref = 4.0 / (q + 1) ** 2, r * r
        if _swapped(lr, momentum, lr_ref, m_ref):
            raise CheckFailed(f"best_momentum for {inputs} returned the pair in the wrong order: it should return "
                              "(lr, momentum).")
        hint = match_mistake(momentum, {
            "that is the convergence rate (sqrt(kappa) - 1) / (sqrt(kappa) + 1); the best momentum is its square.":
                r,
            "that is plain gradient descent's rate (kappa - 1) / (kappa + 1), not a momentum.":
                (kappa - 1) / (kappa + 1),
            "that uses kappa where the formula has sqrt(kappa).": ((kappa - 1) / (kappa + 1)) ** 2,
        }, rtol=RTOL, unique=True)
        expect_close(momentum, m_ref, what="momentum", inputs=inputs, rtol=RTOL, atol=1e-12, hint=hint)
        hint = match_mistake(lr, {
            "that is gradient descent's best rate 2 / (1 + kappa); heavy ball allows a larger one.":
                2.0 / (1.0 + kappa),
            "the denominator (sqrt(kappa) + 1) must be squared.": 4.0 / (q + 1),
            "that uses kappa where the formula has sqrt(kappa).": 4.0 / (kappa + 1) ** 2,
            "that is 1 / kappa (1 / L, gradient descent's safe rate), not the heavy-ball rate.": 1.0 / kappa,
            "the numerator is 4, not 2.": 2.0 / (q + 1) ** 2,
        }, rtol=RTOL, unique=True)
        expect_close(lr, lr_ref, what="lr", inputs=inputs, rtol=RTOL, atol=1e-12, hint=hint)
    return passed("best_momentum gives lr = 4 / (sqrt(kappa) + 1)^2 and momentum = ((sqrt(kappa) - 1) / "
                  "(sqrt(kappa) + 1))^2, also for kappa = 1.")
