"""Checkers for the exercises of lecture 05 (saddles, cliffs, momentum, adaptive methods, initialization).

Each checker calls the student's function on a few inputs, compares with a reference (``torch.nn.utils``
clipping, algorithm 8.2, closed forms) and on a mismatch raises :class:`~lecture_utils.checks.CheckFailed`
naming the input, the expected and the received value, with a hint when the answer matches a typical mistake.
Example::

    >>> import numpy as np
    >>> from lecture_utils.checks import lecture05
    >>> def clip_by_norm(g, max_norm):
    ...     norm = np.linalg.norm(g)
    ...     return g * (max_norm / norm) if norm > max_norm else g
    >>> lecture05.check_clip_by_norm(clip_by_norm)   # doctest: +ELLIPSIS
    Correct: clip_by_norm equals torch.nn.utils.clip_grad_norm_ on five gradients, ...
    True
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ._core import as_array, CheckFailed, exercise, expect_close, match_mistake, passed, try_call

__all__ = ["check_clip_by_norm", "check_momentum_step", "check_glorot_bound", "check_best_momentum"]


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_clip_by_norm(clip_by_norm) -> bool:
    """Check ``clip_by_norm(g, max_norm)``: ``g`` rescaled to norm ``max_norm`` when its norm is larger, else ``g``.

    The reference is ``torch.nn.utils.clip_grad_norm_`` (which adds 1e-6 to the norm; we compare at rtol 1e-5).
    """
    rng = np.random.default_rng(5)
    cases = [(np.array([3.0, 4.0]), 1.0), (np.array([0.3, 0.4]), 1.0), (np.array([-30.0, 0.5, 2.0]), 5.0),
             (rng.standard_normal(6) * 10, 2.0), (np.zeros(3), 1.0)]
    for g, max_norm in cases:
        inputs = f"g = {np.round(g, 4).tolist()}, max_norm = {max_norm}"
        got = try_call(clip_by_norm, g.copy(), max_norm, what="clip_by_norm")
        got = as_array(got, "clip_by_norm", inputs)
        p = torch.zeros(len(g), dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_norm_([p], max_norm)
        expected = p.grad.numpy()
        norm = np.linalg.norm(g)
        if not np.all(np.isfinite(got)):
            raise CheckFailed(f"clip_by_norm({inputs}) returned {got}: not finite. Hint: when the norm is 0 (or "
                              "below max_norm) return g unchanged instead of dividing by the norm.")
        hint = match_mistake(got, {
            "that clips each entry to [-max_norm, max_norm] (clipping by value); clipping by norm rescales the "
            "whole vector by max_norm / |g| so its direction is kept.": np.clip(g, -max_norm, max_norm),
            "that rescales g even though its norm is already below max_norm; leave such a g unchanged.":
                g * max_norm / norm if norm > 0 else g + np.nan,
            "that multiplies by max_norm but forgets to divide by the norm of g.": g * max_norm,
            "that returns the unit vector g / |g|; multiply it by max_norm.": g / norm if norm > 0 else g + np.nan,
        })
        expect_close(got, expected, what="clip_by_norm(g, max_norm)", inputs=inputs, rtol=1e-5, atol=1e-9,
                     hint=hint or f"|g| = {norm:.4g}; the result should have norm min(|g|, max_norm).")
    return passed("clip_by_norm equals torch.nn.utils.clip_grad_norm_ on five gradients, including one below the "
                  "threshold and a zero gradient.")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_momentum_step(momentum_step) -> bool:
    """Check ``momentum_step(x, v, g, lr, momentum) -> (x_new, v_new)`` (algorithm 8.2).

    ``v_new = momentum * v - lr * g`` and ``x_new = x + v_new``.
    """
    rng = np.random.default_rng(8)
    cases = [(np.array([1.0, -2.0]), np.zeros(2), np.array([0.5, 1.0]), 0.1, 0.9),
             (rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3), 0.05, 0.5),
             (np.array([2.0]), np.array([-0.3]), np.array([4.0]), 0.01, 0.99)]
    for x, v, g, lr, momentum in cases:
        inputs = (f"x = {np.round(x, 3).tolist()}, v = {np.round(v, 3).tolist()}, g = {np.round(g, 3).tolist()}, "
                  f"lr = {lr}, momentum = {momentum}")
        got = try_call(momentum_step, x.copy(), v.copy(), g.copy(), lr, momentum, what="momentum_step")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise CheckFailed(f"momentum_step({inputs}) should return the pair (x_new, v_new), got {type(got).__name__}")
        x_new, v_new = (as_array(a, "momentum_step", inputs) for a in got)
        v_ref = momentum * v - lr * g
        x_ref = x + v_ref
        hint = match_mistake(v_new, {
            "the velocity has the wrong sign on the gradient term: v <- momentum * v - lr * g.": momentum * v + lr * g,
            "the old velocity must be scaled by momentum: v <- momentum * v - lr * g.": v - lr * g,
            "that scales the gradient by (1 - momentum); algorithm 8.2 uses v <- momentum * v - lr * g.":
                momentum * v - (1 - momentum) * lr * g,
        })
        expect_close(v_new, v_ref, what="v_new", inputs=inputs, rtol=1e-9, atol=1e-12, hint=hint)
        hint = match_mistake(x_new, {
            "x moved with the old velocity; update v first, then x <- x + v_new.": x + v,
            "x moved against the velocity; the velocity already points downhill: x <- x + v_new.": x - v_ref,
            "that is a plain gradient step; algorithm 8.2 moves x by the new velocity.": x - lr * g,
        })
        expect_close(x_new, x_ref, what="x_new", inputs=inputs, rtol=1e-9, atol=1e-12, hint=hint)
    return passed("momentum_step follows algorithm 8.2: v <- momentum v - lr g, then x <- x + v.")


# ---------------------------------------------------------------------------------------------------------
@exercise(3)
def check_glorot_bound(glorot_bound) -> bool:
    """Check ``glorot_bound(fan_in, fan_out)`` = ``sqrt(6) / sqrt(fan_in + fan_out)`` (Glorot & Bengio's bound)."""
    for fan_in, fan_out in [(784, 100), (256, 256), (3, 2), (1, 1)]:
        inputs = f"fan_in = {fan_in}, fan_out = {fan_out}"
        got = try_call(glorot_bound, fan_in, fan_out, what="glorot_bound")
        expected = math.sqrt(6.0) / math.sqrt(fan_in + fan_out)
        hint = match_mistake(got, {
            "that is 6 / sqrt(fan_in + fan_out), the slip in some lecture notes: the 6 belongs under the square "
            "root, sqrt(6) / sqrt(fan_in + fan_out), which gives weights of variance 2 / (fan_in + fan_out).":
                6.0 / math.sqrt(fan_in + fan_out),
            "that is 1 / sqrt(fan_in), the fan-in bound; Glorot's bound uses fan_in + fan_out and sqrt(6).":
                1.0 / math.sqrt(fan_in),
            "that is the standard deviation sqrt(2 / (fan_in + fan_out)); the uniform bound is sqrt(3) times it.":
                math.sqrt(2.0 / (fan_in + fan_out)),
            "use the sum fan_in + fan_out, not the product.": math.sqrt(6.0) / math.sqrt(fan_in * fan_out),
        })
        expect_close(got, expected, what="glorot_bound(fan_in, fan_out)", inputs=inputs, rtol=1e-9, hint=hint)
    return passed("glorot_bound = sqrt(6) / sqrt(fan_in + fan_out), the bound torch.nn.init.xavier_uniform_ uses.")


# ---------------------------------------------------------------------------------------------------------
@exercise(4)
def check_best_momentum(best_momentum) -> bool:
    """Check ``best_momentum(kappa) -> (lr, momentum)``: the heavy-ball tuning on a quadratic with Hessian
    eigenvalues 1 and ``kappa``: ``lr = 4 / (sqrt(kappa) + 1)^2``, ``momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``.
    """
    for kappa in (4.0, 100.0, 1e4):
        inputs = f"kappa = {kappa:g}"
        got = try_call(best_momentum, kappa, what="best_momentum")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise CheckFailed(f"best_momentum({inputs}) should return the pair (lr, momentum), got {got!r}")
        lr, momentum = got
        r = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        hint = match_mistake(momentum, {
            "that is the convergence rate (sqrt(kappa) - 1) / (sqrt(kappa) + 1); the best momentum is its square.": r,
            "that is plain gradient descent's rate (kappa - 1) / (kappa + 1), not a momentum.":
                (kappa - 1) / (kappa + 1),
        })
        expect_close(momentum, r * r, what="momentum", inputs=inputs, rtol=1e-9, hint=hint)
        hint = match_mistake(lr, {
            "that is gradient descent's best rate 2 / (1 + kappa); with momentum it is 4 / (sqrt(kappa) + 1)^2.":
                2.0 / (1.0 + kappa),
            "square the denominator: lr = 4 / (sqrt(kappa) + 1)**2.": 4.0 / (math.sqrt(kappa) + 1),
        })
        expect_close(lr, 4.0 / (math.sqrt(kappa) + 1) ** 2, what="lr", inputs=inputs, rtol=1e-9, hint=hint)
    return passed("best_momentum gives lr = 4 / (sqrt(kappa) + 1)^2 and momentum = ((sqrt(kappa) - 1) / "
                  "(sqrt(kappa) + 1))^2.")
