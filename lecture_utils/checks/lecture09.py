"""Checkers for the exercises of lecture 09 (gradient-free methods).

Each checker calls the student's function on a few inputs, compares with a reference computed here and on a
mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the input, the expected and the received value,
with a hint when the answer matches a typical mistake. ``check_pso_step`` compares values at a relative tolerance
of 1e-5 (float32 answers meet it); ``check_random_search`` watches every point the function evaluates, on boxes
that exclude [0, 1]^d, and tests that the points are uniform over the box and come from the ``rng`` argument.

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
from ._core import (CheckFailed, as_array, exercise, expect_close, expect_tuple, is_close, match_mistake, passed,
                    try_call)

__all__ = ["check_pso_step", "check_random_search"]

#: float32 answers are within about 1e-6 relative; no typical mistake is that close.
RTOL = 1e-5


def _atol(expected) -> float:
    return RTOL * max(1.0, float(np.max(np.abs(expected))))


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_pso_step(pso_step) -> bool:
    """Check ``pso_step(x, v, pbest, gbest, r1, r2, inertia, cognitive, social) -> (x_new, v_new)``.

    One particle-swarm move for ``P`` particles in ``d`` dimensions (``x, v, pbest, r1, r2`` of shape ``(P, d)``,
    ``gbest`` of shape ``(d,)``): ``v_new = inertia v + cognitive r1 (pbest - x) + social r2 (gbest - x)`` and
    ``x_new = x + v_new``. The three swarms use different coefficients, so a hard-coded one fails.
    """
    rng = np.random.default_rng(9)
    cases = []
    for (P, d), coefs in zip(((1, 2), (5, 2), (4, 3)), ((0.7, 1.5, 2.0), (0.4, 2.0, 1.2), (0.9, 0.5, 1.7))):
        x, v, pbest = (rng.standard_normal((P, d)) for _ in range(3))
        gbest = rng.standard_normal(d)
        r1, r2 = rng.random((P, d)), rng.random((P, d))
        cases.append((x, v, pbest, gbest, r1, r2) + coefs)
    for x, v, pbest, gbest, r1, r2, w, c1, c2 in cases:
        inputs = f"{x.shape[0]} particle(s) in {x.shape[1]}D, inertia = {w}, cognitive = {c1}, social = {c2}"
        out = try_call(pso_step, x, v, pbest, gbest, r1, r2, w, c1, c2, what="pso_step", may_modify=False,
                       inputs=inputs)
        x_new, v_new = expect_tuple(out, ("x_new", "v_new"), what="pso_step", inputs=inputs)
        v_ref = w * v + c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x)
        x_ref = x + v_ref
        if is_close(x_new, v_ref, rtol=RTOL) and is_close(v_new, x_ref, rtol=RTOL):
            raise CheckFailed(f"pso_step for {inputs} returned the pair in the wrong order: it should return "
                              "(x_new, v_new), the positions first.")
        x_new, v_new = as_array(x_new, "x_new", inputs), as_array(v_new, "v_new", inputs)
        hint = match_mistake(v_new, {
            "that swaps the roles of the particle's own best (pbest, with r1 and cognitive) and the swarm's best "
            "(gbest, with r2 and social).": w * v + c1 * r1 * (gbest - x) + c2 * r2 * (pbest - x),
            "r1 and r2 are swapped: r1 goes with the cognitive term (pbest), r2 with the social one (gbest).":
                w * v + c1 * r2 * (pbest - x) + c2 * r1 * (gbest - x),
            "cognitive and social are swapped: cognitive weights the pull towards pbest, social towards gbest.":
                w * v + c2 * r1 * (pbest - x) + c1 * r2 * (gbest - x),
            "that leaves out the inertia term inertia * v.": c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x),
            "the inertia multiplies only the old velocity, not the two pulls.":
                w * (v + c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x)),
            "that points away from the bests: the pulls are (pbest - x) and (gbest - x).":
                w * v + c1 * r1 * (x - pbest) + c2 * r2 * (x - gbest),
            "the random factors r1 and r2 are missing.": w * v + c1 * (pbest - x) + c2 * (gbest - x),
            "both pulls go towards pbest; the social one goes towards the swarm's best gbest.":
                w * v + c1 * r1 * (pbest - x) + c2 * r2 * (pbest - x),
            "both pulls go towards gbest; the cognitive one goes towards the particle's own best pbest.":
                w * v + c1 * r1 * (gbest - x) + c2 * r2 * (gbest - x),
            "v_new is the old velocity v: return the updated one.": v,
        }, rtol=RTOL, atol=_atol(v_ref), unique=True)
        expect_close(v_new, v_ref, what="v_new", inputs=inputs, rtol=RTOL, atol=_atol(v_ref),
                     hint=hint, advice="the new velocity keeps inertia times the old one and adds the two random pulls "
                                       "of section 5.")
        hint = match_mistake(x_new, {
            "that moves x with the OLD velocity v; move with v_new.": x + v,
            "x moved against the velocity: x_new = x + v_new.": x - v_ref,
            "x_new is x unchanged: move the particles by v_new.": x,
        }, rtol=RTOL, atol=_atol(x_ref), unique=True)
        expect_close(x_new, x_ref, what="x_new", inputs=inputs, rtol=RTOL, atol=_atol(x_ref),
                     hint=hint, advice="the particles move by their new velocity.")
    return passed("pso_step moves three swarms exactly as v <- w v + c1 r1 (p - x) + c2 r2 (g - x), x <- x + v.")


# ---------------------------------------------------------------------------------------------------------
def _recording(surface):
    log = []
    return surface.observed(lambda X: log.append(np.array(X, dtype=float, copy=True))), log


def _run(random_search, surface_name, bounds, num_evals, seed, inputs):
    surface, log = _recording(get(surface_name).with_bounds(bounds))
    out = try_call(random_search, surface, num_evals, np.random.default_rng(seed), what="random_search",
                   inputs=inputs)
    seen = np.concatenate([p.reshape(-1, surface.dim) for p in log]) if log else np.empty((0, surface.dim))
    return out, seen


def _box_mistake(seen, lo, hi):
    """The hint for points outside the box that all lie in the box a typical mistake draws from ("" if none)."""
    d = len(lo)
    boxes = [
        ("the points lie in [0, 1]^d: rng.random draws in [0, 1), so scale each coordinate into its own "
         "interval [low, high].", np.zeros(d), np.ones(d)),
    ]
    if d == 2:  # lo, hi = np.array(surface.bounds): the rows are the pairs, so the "lows" are (low_0, high_0)
        wrong_lo, wrong_hi = np.array([lo[0], hi[0]]), np.array([lo[1], hi[1]])
        boxes.append(("you read surface.bounds as (lows, highs); it holds one (low, high) pair per dimension.",
                      np.minimum(wrong_lo, wrong_hi), np.maximum(wrong_lo, wrong_hi)))
    boxes += [
        ("every coordinate was drawn in the interval of the first axis; each axis has its own (low, high) in "
         "surface.bounds.", np.full(d, lo[0]), np.full(d, hi[0])),
        ("the lower end is missing: the points lie between 0 and high.", np.minimum(0, hi), np.maximum(0, hi)),
        ("the width of each interval is high - low, not high.", np.minimum(lo, lo + hi), np.maximum(lo, lo + hi)),
    ]
    for hint, b_lo, b_hi in boxes:
        width = np.maximum(b_hi - b_lo, 1e-12)
        inside = np.all((seen >= b_lo - 1e-9 * width) & (seen <= b_hi + 1e-9 * width))
        spread = np.all(seen.max(0) - seen.min(0) >= 0.5 * width) if len(seen) >= 20 else True
        if inside and spread:
            return hint
    return ""


def _uniformity(seen, lo, hi):
    """A message if the points are visibly not independent and uniform over the box ("" if they may be)."""
    n, d = seen.shape
    u = (seen - lo) / (hi - lo)
    grid = np.arange(1, n + 1) / n
    for k in range(d):
        uk = np.sort(u[:, k])
        ks = max(np.max(grid - uk), np.max(uk - (grid - 1 / n)))
        if ks > 3.0 / np.sqrt(n):  # a uniform sample exceeds this with probability below 1e-7
            quarters = np.histogram(uk, bins=4, range=(0, 1))[0] / n
            return (f"the points are not spread uniformly along axis {k} of the box: the four quarters of "
                    f"[{lo[k]:g}, {hi[k]:g}] hold {', '.join(f'{q:.0%}' for q in quarters)} of them (a uniform "
                    f"draw puts about 25% in each). Hint: rng.random is uniform in [0, 1); scale it linearly.")
    if d > 1:
        corr = np.corrcoef(u.T)
        k, l = np.unravel_index(np.argmax(np.abs(corr - np.eye(d))), corr.shape)
        if abs(corr[k, l]) > 6.0 / np.sqrt(n):
            return (f"coordinates {k} and {l} of the points are correlated (correlation {corr[k, l]:.2f}; "
                    f"independent draws give about 0): draw d independent numbers per point, not one number "
                    f"shared by all coordinates.")
    return ""


@exercise(1)
def check_random_search(random_search) -> bool:
    """Check ``random_search(surface, num_evals, rng) -> (best_x, best_value)``.

    The function must evaluate ``surface.value`` on exactly ``num_evals`` distinct points drawn uniformly inside
    ``surface.bounds`` with the given ``numpy.random.Generator``, and return the best point and its value. The
    checker watches every point the function evaluates, on boxes that exclude [0, 1]^d (in 1, 2 and 4
    dimensions), tests that the points fill the box uniformly and independently (with 500 to 2000 points, so a
    correct answer passes with probability above 1 - 1e-6), and that the same seed gives the same points and
    another seed others.
    """
    cases = [("himmelblau", [(1.5, 4.5), (-4.0, -1.0)], 2000, 0),
             ("rastrigin", [(-3.0, -0.5), (2.0, 6.0)], 1000, 1),
             ("rosenbrock_nd", [(-2.0, -1.0), (1.5, 2.5), (0.25, 3.0), (-3.0, 0.5)], 1500, 2),
             ("multi_minima", [(-4.0, -1.0)], 500, 3),
             ("rosenbrock", [(2.0, 3.0), (-2.0, -1.0)], 1, 4)]
    for name, bounds, num_evals, seed in cases:
        lo = np.array([b[0] for b in bounds])
        hi = np.array([b[1] for b in bounds])
        d = len(bounds)
        box = " x ".join(f"[{a:g}, {b:g}]" for a, b in bounds)
        inputs = f"surface {name!r} on the box {box}, num_evals = {num_evals}"
        out, seen = _run(random_search, name, bounds, num_evals, seed, inputs)
        best_x, best_value = expect_tuple(out, ("best_x", "best_value"), what="random_search", inputs=inputs)
        if d > 1 and np.ndim(best_x) == 0 and np.shape(best_value) == (d,):
            raise CheckFailed(f"random_search for {inputs} returned the pair in the wrong order: it should "
                              "return (best_x, best_value), the point first.")
        if len(seen) != num_evals:
            why = ("it never called surface.value: evaluate the points you draw" if len(seen) == 0 else
                   "one too many: keep the best value from your evaluations instead of evaluating best_x again"
                   if len(seen) == num_evals + 1 else "count every point you pass to surface.value")
            raise CheckFailed(f"random_search for {inputs} evaluated the surface at {len(seen)} points; it should "
                              f"use exactly num_evals = {num_evals} evaluations. Likely mistake: {why}.")
        outside = np.any((seen < lo) | (seen > hi), axis=1)
        if np.any(outside):
            first = seen[np.argmax(outside)]
            hint = _box_mistake(seen, lo, hi)
            raise CheckFailed(f"random_search for {inputs} evaluated {int(outside.sum())} of {num_evals} points "
                              f"outside the box, the first at {np.round(first, 4).tolist()}. "
                              + (f"Likely mistake: {hint}" if hint else "Hint: draw each coordinate in its own "
                                 "interval (low, high) of surface.bounds."))
        if num_evals > 1 and len(np.unique(seen.round(12), axis=0)) < num_evals:
            integer = np.all(seen == np.round(seen))
            raise CheckFailed(f"random_search for {inputs} evaluated the same point more than once ("
                              f"{num_evals - len(np.unique(seen.round(12), axis=0))} repeats). Likely mistake: "
                              + ("all coordinates are whole numbers (rng.integers?); draw real numbers with "
                                 "rng.random." if integer else "draw a fresh random point for every evaluation."))
        _, again = _run(random_search, name, bounds, num_evals, seed, inputs)
        if again.shape != seen.shape or not np.array_equal(again, seen):
            raise CheckFailed(f"random_search for {inputs} evaluated other points when called again with a "
                              "generator of the same seed: draw every random number from the rng argument "
                              "(np.random.rand or a new default_rng() ignore it).")
        _, other = _run(random_search, name, bounds, num_evals, seed + 100, inputs)
        if other.shape == seen.shape and np.array_equal(other, seen):
            raise CheckFailed(f"random_search for {inputs} evaluated the same points for generators of different "
                              "seeds: the points must come from the rng argument (a fixed seed inside the function, "
                              "or a grid, ignores it).")
        if num_evals >= 500:
            problem = _uniformity(seen, lo, hi)
            if problem:
                raise CheckFailed(f"random_search for {inputs}: {problem}")
        values = get(name).value(seen)
        hint = match_mistake(best_value, {
            "that is the largest value; random search keeps the smallest.": values.max(),
            "that is the value of the last point evaluated; keep the smallest of all.": values[-1],
            "that is the value of the first point evaluated; keep the smallest of all.": values[0],
        }, rtol=RTOL, unique=True) if num_evals > 1 else ""
        expect_close(best_value, values.min(), what="best_value", inputs=inputs, rtol=RTOL, atol=1e-12,
                     hint=hint, advice="return the smallest value among the points you evaluated.")
        best_x = as_array(best_x, "best_x", inputs)
        if best_x.shape != (d,):
            raise CheckFailed(f"best_x for {inputs} has shape {best_x.shape}, expected ({d},): one point.")
        scale = RTOL * float(np.max(np.abs(np.concatenate([lo, hi]))))  # a float32 best_x is close enough
        hint = match_mistake(best_x, {
            "that is the point with the largest value; random search keeps the smallest.": seen[np.argmax(values)],
            "that is the last point evaluated; return the point that has best_value.": seen[-1],
            "that is the first point evaluated; return the point that has best_value.": seen[0],
        }, rtol=RTOL, atol=scale, unique=True) if num_evals > 1 else ""
        expect_close(best_x, seen[np.argmin(values)], what="best_x", inputs=inputs, rtol=RTOL, atol=scale,
                     hint=hint, advice="best_x must be the evaluated point that has best_value (the same index).")
    return passed("random_search uses exactly num_evals evaluations, uniform over the box and drawn from rng, and "
                  "returns the best of them, on five boxes in 1, 2 and 4 dimensions.")
