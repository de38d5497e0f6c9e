"""Checkers for the exercises of lecture 09 (gradient-free methods).

Each checker calls the student's function on a few inputs, compares with a reference computed here and on a
mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the input, the expected and the received value,
with a hint when the answer matches a typical mistake.

Example::

    >>> from lecture_utils.checks import lecture09
    >>> def pso_step(x, v, pbest, gbest, r1, r2, inertia, cognitive, social):
    ...     v = inertia * v + cognitive * r1 * (pbest - x) + social * r2 * (gbest - x)
    ...     return x + v, v
    >>> lecture09.check_pso_step(pso_step)        # doctest: +ELLIPSIS
    Correct: pso_step moves three swarms exactly as v <- w v + c1 r1 (p - x) + c2 r2 (g - x), x <- x + v.
    True
"""
from __future__ import annotations

import numpy as np

from ..surfaces import get
from ._core import CheckFailed, exercise, expect_close, match_mistake, passed, try_call

__all__ = ["check_pso_step", "check_random_search"]


@exercise(2)
def check_pso_step(pso_step) -> bool:
    """Check ``pso_step(x, v, pbest, gbest, r1, r2, inertia, cognitive, social) -> (x_new, v_new)``.

    One particle-swarm move for ``P`` particles in ``d`` dimensions (``x, v, pbest, r1, r2`` of shape ``(P, d)``,
    ``gbest`` of shape ``(d,)``): ``v_new = inertia v + cognitive r1 (pbest - x) + social r2 (gbest - x)`` and
    ``x_new = x + v_new``.
    """
    rng = np.random.default_rng(9)
    cases = []
    for P, d in ((1, 2), (5, 2), (4, 3)):
        x, v, pbest = (rng.standard_normal((P, d)) for _ in range(3))
        gbest = rng.standard_normal(d)
        r1, r2 = rng.random((P, d)), rng.random((P, d))
        cases.append((x, v, pbest, gbest, r1, r2, 0.7, 1.5, 2.0))
    for x, v, pbest, gbest, r1, r2, w, c1, c2 in cases:
        inputs = f"{x.shape[0]} particle(s) in {x.shape[1]}D, inertia = {w}, cognitive = {c1}, social = {c2}"
        out = try_call(pso_step, x.copy(), v.copy(), pbest.copy(), gbest.copy(), r1.copy(), r2.copy(), w, c1, c2,
                       what="pso_step")
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed(f"pso_step for {inputs} should return a pair (x_new, v_new), got {type(out).__name__}")
        x_new, v_new = (np.asarray(a, dtype=float) for a in out)
        v_ref = w * v + c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x)
        x_ref = x + v_ref
        hint = match_mistake(v_new, {
            "that swaps the roles of r1/cognitive (own best) and r2/social (swarm's best).":
                w * v + c1 * r1 * (gbest - x) + c2 * r2 * (pbest - x),
            "that leaves out the inertia term inertia * v.": c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x),
            "that points away from the bests: use (pbest - x) and (gbest - x), not (x - pbest).":
                w * v + c1 * r1 * (x - pbest) + c2 * r2 * (x - gbest),
        })
        expect_close(v_new, v_ref, what="v_new", inputs=inputs, rtol=1e-10, atol=1e-12,
                     hint=hint or "v_new = inertia v + cognitive r1 (pbest - x) + social r2 (gbest - x).")
        hint = match_mistake(x_new, {"that moves x with the OLD velocity v; move with v_new.": x + v})
        expect_close(x_new, x_ref, what="x_new", inputs=inputs, rtol=1e-10, atol=1e-12,
                     hint=hint or "x_new = x + v_new.")
    return passed("pso_step moves three swarms exactly as v <- w v + c1 r1 (p - x) + c2 r2 (g - x), x <- x + v.")


def _recording(surface):
    log = []

    return surface.observed(lambda X: log.append(np.array(X, copy=True))), log


@exercise(1)
def check_random_search(random_search) -> bool:
    """Check ``random_search(surface, num_evals, rng) -> (best_x, best_value)``.

    The function must evaluate ``surface.value`` on exactly ``num_evals`` points drawn uniformly inside
    ``surface.bounds`` (with the given ``numpy.random.Generator``) and return the best point and its value.
    The checker watches every point the function evaluates.
    """
    for name, num_evals, seed in (("himmelblau", 200, 0), ("rastrigin", 1000, 1), ("rosenbrock", 1, 2)):
        surface, log = _recording(get(name))
        inputs = f"surface {name!r}, num_evals = {num_evals}"
        out = try_call(random_search, surface, num_evals, np.random.default_rng(seed), what="random_search")
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailed(f"random_search for {inputs} should return a pair (best_x, best_value), got "
                              f"{type(out).__name__}")
        best_x, best_value = np.asarray(out[0], dtype=float), out[1]
        seen = np.concatenate([p.reshape(-1, surface.dim) for p in log]) if log else np.empty((0, surface.dim))
        if len(seen) != num_evals:
            raise CheckFailed(f"random_search for {inputs} evaluated the surface at {len(seen)} points; it should "
                              f"use exactly num_evals = {num_evals} evaluations (count every point you pass to "
                              "surface.value, including the one you report).")
        lo = np.array([b[0] for b in surface.bounds])
        hi = np.array([b[1] for b in surface.bounds])
        if np.any(seen < lo) or np.any(seen > hi):
            raise CheckFailed(f"random_search for {inputs} evaluated points outside the box {surface.bounds}; "
                              "draw them with lo + (hi - lo) * rng.random((num_evals, d)).")
        if best_x.shape != (surface.dim,):
            raise CheckFailed(f"best_x for {inputs} has shape {best_x.shape}, expected ({surface.dim},)")
        values = get(name).value(seen)
        expect_close(best_value, values.min(), what="best_value", inputs=inputs, rtol=1e-12, atol=1e-12,
                     hint="return the smallest value among the points you evaluated.")
        expect_close(get(name).value(best_x), best_value, what="the value at best_x", inputs=inputs, rtol=1e-12,
                     atol=1e-12, hint="best_x must be the point that has best_value.")
        if num_evals > 1 and len(np.unique(seen.round(12), axis=0)) < num_evals:
            raise CheckFailed(f"random_search for {inputs} evaluated the same point more than once; draw a fresh "
                              "random point for every evaluation.")
    return passed("random_search uses exactly num_evals evaluations inside the box and returns the best of them, "
                  "on three surfaces.")
