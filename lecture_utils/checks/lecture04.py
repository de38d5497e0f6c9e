"""Checkers for the exercises of lecture 04 (stochastic gradient descent and minibatch noise).

Example (the course's own :func:`lecture_utils.minibatch.epoch_batches` passes)::

    >>> from lecture_utils import minibatch
    >>> from lecture_utils.checks import lecture04
    >>> lecture04.check_epoch_batches(lambda n, batch_size, rng: minibatch.epoch_batches(n, batch_size, rng=rng))
    Correct: every example once per epoch, right batch sizes, a fresh shuffle each epoch.
    True
"""
from __future__ import annotations

import numpy as np

from ._core import CheckFailed, exercise, expect_close, expect_true, passed, try_call

__all__ = ["check_epoch_batches", "check_running_average", "check_minibatch_grad"]


# ---------------------------------------------------------------------------------------------------------
# Exercise: the minibatches of one epoch
# ---------------------------------------------------------------------------------------------------------
def _as_batches(out, inputs):
    if isinstance(out, np.ndarray) and out.ndim == 1:
        raise CheckFailed(f"for {inputs} you returned one flat array; return a list of minibatches "
                          "(one index array per batch).")
    try:
        batches = [np.asarray(b) for b in out]
    except TypeError:
        raise CheckFailed(f"for {inputs} return a list of index arrays, got {type(out).__name__}") from None
    for b in batches:
        if b.ndim != 1 or b.size == 0 or not np.issubdtype(b.dtype, np.integer):
            raise CheckFailed(f"for {inputs} every batch should be a non-empty 1D array of integer indices, "
                              f"got {b!r:.60}")
    return batches


@exercise(1)
def check_epoch_batches(fn) -> bool:
    """Grade ``fn(n, batch_size, rng) -> list of index arrays``: one epoch of shuffled minibatches, each example
    exactly once, batches of ``batch_size`` (the last one may be smaller), a new order on every call."""
    for n, bs in [(10, 3), (64, 16), (7, 7), (5, 1)]:
        inputs = f"n={n}, batch_size={bs}"
        batches = _as_batches(try_call(fn, n, bs, np.random.default_rng(0), what="your epoch_batches"), inputs)
        sizes = [len(b) for b in batches]
        expected_sizes = [bs] * (n // bs) + ([n % bs] if n % bs else [])
        allidx = np.concatenate(batches)
        if len(allidx) != n or sorted(allidx.tolist()) != list(range(n)):
            missing = sorted(set(range(n)) - set(allidx.tolist()))
            repeated = sorted({int(i) for i in allidx if (allidx == i).sum() > 1})
            raise CheckFailed(f"for {inputs} each index 0..{n - 1} must appear exactly once per epoch; "
                              f"missing: {missing[:8]}, repeated: {repeated[:8]}. Hint: shuffle with "
                              "rng.permutation(n) (sampling without replacement), then cut it into pieces.")
        if sizes != expected_sizes:
            raise CheckFailed(f"for {inputs} expected batch sizes {expected_sizes}, got {sizes}. Hint: consecutive "
                              "slices perm[i:i + batch_size] for i in range(0, n, batch_size).")
    n, bs = 50, 10
    rng = np.random.default_rng(1)
    first = np.concatenate(_as_batches(try_call(fn, n, bs, rng, what="your epoch_batches"), "n=50"))
    second = np.concatenate(_as_batches(try_call(fn, n, bs, rng, what="your epoch_batches"), "n=50"))
    expect_true(not np.array_equal(first, np.arange(n)),
                "for n=50 your epoch visits the examples in their stored order 0, 1, 2, ...: shuffle them first.")
    expect_true(not np.array_equal(first, second),
                "two epochs drawn from the same generator came out in the same order: reshuffle every epoch, "
                "using the rng you are given (not a new generator with a fixed seed).")
    again = np.concatenate(_as_batches(try_call(fn, n, bs, np.random.default_rng(1), what="your epoch_batches"), "n=50"))
    expect_true(np.array_equal(first, again),
                "the same seed gave a different order: draw the permutation from the rng argument "
                "(rng.permutation), not from np.random or a new generator.")
    return passed("every example once per epoch, right batch sizes, a fresh shuffle each epoch.")


# ---------------------------------------------------------------------------------------------------------
# Exercise: Polyak (uniform) averaging of the iterates
# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_running_average(fn) -> bool:
    """Grade ``fn(thetas) -> averages``: row ``t`` of the result is the mean of rows ``0..t`` of ``thetas``."""
    rng = np.random.default_rng(2)
    for T, p in [(5, 1), (40, 3)]:
        thetas = rng.normal(size=(T, p))
        inputs = f"thetas of shape {(T, p)}"
        got = try_call(fn, thetas.copy(), what="your running_average")
        expected = np.cumsum(thetas, axis=0) / np.arange(1, T + 1)[:, None]
        try:
            g = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise CheckFailed(f"your running_average should return an array, got {type(got).__name__}") from None
        if g.shape == (p,) and np.allclose(g, expected[-1]):
            raise CheckFailed(f"for {inputs} you returned only the final average; return every running average, "
                              f"shape {(T, p)} (row t = mean of the first t + 1 iterates).")
        if g.shape == expected.shape and not np.allclose(g, expected):
            shifted = np.cumsum(thetas, axis=0) / np.maximum(np.arange(T), 1)[:, None]
            if np.allclose(g[1:], shifted[1:]):
                raise CheckFailed(f"for {inputs} row t should divide the sum of t + 1 iterates by t + 1; you divided "
                                  "by t (an off-by-one).")
            if np.allclose(g, np.cumsum(thetas, axis=0)):
                raise CheckFailed(f"for {inputs} you returned running sums: divide row t by t + 1.")
        expect_close(g, expected, what="the running average", inputs=inputs, rtol=1e-9, atol=1e-12,
                     hint="np.cumsum(thetas, axis=0) / np.arange(1, T + 1)[:, None]")
    return passed("the running (Polyak) average is right at every step.")


# ---------------------------------------------------------------------------------------------------------
# Exercise: a minibatch gradient of the least-squares loss
# ---------------------------------------------------------------------------------------------------------
@exercise(3)
def check_minibatch_grad(fn) -> bool:
    """Grade ``fn(theta, X, y, idx)``: the gradient of the least-squares loss with a bias averaged over the rows
    ``idx`` only: ``2/k sum_{i in idx} (a_i . theta - y_i) a_i`` with ``a_i = (x_i, 1)`` and ``k = len(idx)``."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    y = rng.normal(size=30)
    theta = rng.normal(size=3)
    A = np.hstack([X, np.ones((30, 1))])
    for idx in (np.array([3, 7, 11, 20]), np.array([5]), np.array([2, 2, 9])):
        inputs = f"idx={idx.tolist()}"
        got = try_call(fn, theta.copy(), X.copy(), y.copy(), idx.copy(), what="your minibatch_grad")
        Ab = A[idx]
        expected = 2.0 / len(idx) * Ab.T @ (Ab @ theta - y[idx])
        try:
            g = np.asarray(got, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise CheckFailed(f"your minibatch_grad should return an array, got {type(got).__name__}") from None
        full = 2.0 / 30 * A.T @ (A @ theta - y)
        if g.shape == expected.shape and np.allclose(g, full) and not np.allclose(g, expected):
            raise CheckFailed(f"for {inputs} you returned the full-batch gradient; use only the rows in idx.")
        if g.shape == expected.shape and np.allclose(g, expected * len(idx) / 30) and len(idx) != 30:
            raise CheckFailed(f"for {inputs} you divided by n = 30; a minibatch mean divides by its own size "
                              f"k = {len(idx)}.")
        expect_close(g, expected, what="the minibatch gradient", inputs=inputs, rtol=1e-9, atol=1e-12,
                     hint="A = [X, 1]; take the rows A[idx], y[idx]; 2/k A_b^T (A_b theta - y_b)")
    return passed("the minibatch gradient uses exactly the chosen rows (repeated rows count twice).")
