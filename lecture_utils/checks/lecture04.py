"""Checkers for the exercises of lecture 04 (stochastic gradient descent and minibatch noise).

On a mismatch the message names the input, the expected and the received value, and the likely mistake when the
answers match a typical one on EVERY input: batches whose membership never changes (only their order is
shuffled, the bug that keeps class-sorted data single-class per batch), the last batch dropped, sampling with
replacement, an average divided by t instead of t + 1, a minibatch mean over n or over a set of rows.

Tolerances: a float32 answer is accepted: values within a relative 1e-5 and an absolute 1e-6 (float32 keeps
about 7 digits; a running sum over 40 rows loses one or two of them).

Example (the course's own :func:`lecture_utils.minibatch.epoch_batches` passes)::

    >>> from lecture_utils import minibatch
    >>> from lecture_utils.checks import lecture04
    >>> lecture04.check_epoch_batches(lambda n, batch_size, rng: minibatch.epoch_batches(n, batch_size, rng=rng))
    Correct: every example once per epoch, right batch sizes, new batches (not just a new order) each epoch.
    True
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np

from ._core import as_array, CheckFailed, exercise, expect_true, grade_cases, passed, plain, try_call

__all__ = ["check_epoch_batches", "check_running_average", "check_minibatch_grad"]


# ---------------------------------------------------------------------------------------------------------
# Exercise 1: the minibatches of one epoch
# ---------------------------------------------------------------------------------------------------------
def _as_batches(out, inputs):
    """The student's epoch as a list of 1D int arrays, or a message saying what it is instead."""
    if out is None:
        raise CheckFailed(f"for {inputs} your epoch_batches returned None. Likely mistake: a missing `return`.")
    if inspect.isgenerator(out) or not isinstance(out, (list, tuple, np.ndarray)) and not hasattr(out, "detach"):
        raise CheckFailed(f"for {inputs} return a list of index arrays, got {type(out).__name__}"
                          + (" (wrap the batches in a list: list(...))" if inspect.isgenerator(out) else ""))
    out = plain(out)
    if isinstance(out, np.ndarray) and out.ndim < 2 or len(out) and all(isinstance(b, (numbers.Number, np.number))
                                                                         for b in out):
        raise CheckFailed(f"for {inputs} you returned one flat sequence of indices; return a list of minibatches "
                          "(one index array per batch).")
    batches = []
    for b in out:
        if isinstance(b, (str, bytes, dict, set)) or inspect.isgenerator(b) or b is None:
            raise CheckFailed(f"for {inputs} every batch should be an array of integer indices, got "
                              f"{type(b).__name__} {str(b)[:30]!r}")
        b = np.asarray(plain(b))
        if b.size == 0:
            raise CheckFailed(f"for {inputs} one of your batches is empty. Hint: the slices start at 0, batch_size, "
                              "2 batch_size, ... below n.")
        if b.ndim != 1:
            raise CheckFailed(f"for {inputs} every batch should be a 1D array of indices, got one of shape "
                              f"{b.shape}.")
        if not np.issubdtype(b.dtype, np.integer):
            raise CheckFailed(f"for {inputs} the indices should be integers, got {b.dtype} values "
                              f"{np.array2string(b[:4], separator=', ')}. Index arrays hold positions 0..n-1.")
        batches.append(b.astype(int))
    return batches


def _check_one_epoch(batches, n, bs, inputs):
    sizes = [len(b) for b in batches]
    expected_sizes = [bs] * (n // bs) + ([n % bs] if n % bs else [])
    allidx = np.concatenate(batches) if batches else np.zeros(0, int)
    if allidx.size and (allidx.min() < 0 or allidx.max() >= n):
        outside = sorted({int(i) for i in allidx if not 0 <= i < n})
        one_based = sorted(allidx.tolist()) == list(range(1, n + 1))
        raise CheckFailed(f"for {inputs} the indices {outside[:4]} are outside 0..{n - 1}"
                          + (": indices start at 0, not 1." if one_based else "."))
    counts = np.bincount(allidx, minlength=n)
    if np.any(counts != 1):
        missing = np.flatnonzero(counts == 0).tolist()
        repeated = np.flatnonzero(counts > 1).tolist()
        if not repeated and n % bs and sizes == [bs] * (n // bs):
            raise CheckFailed(f"for {inputs} you returned only full batches, so {len(missing)} of the {n} examples "
                              f"are never used (missing: {missing[:8]}). Keep the last, smaller batch: there are "
                              f"ceil(n / batch_size) = {len(expected_sizes)} batches.")
        hint = ("an example drawn twice means sampling WITH replacement; an epoch shuffles the n indices (a "
                "permutation), then cuts them into pieces." if repeated else
                "cut the whole shuffled sequence into consecutive pieces, up to its end.")
        raise CheckFailed(f"for {inputs} each index 0..{n - 1} must appear exactly once per epoch; missing: "
                          f"{missing[:8]}, repeated: {repeated[:8]}. Hint: {hint}")
    if sizes != expected_sizes:
        raise CheckFailed(f"for {inputs} expected batch sizes {expected_sizes}, got {sizes}. Hint: consecutive "
                          "pieces of batch_size from the start of the shuffled sequence; only the last one may be "
                          "smaller.")


def _partition(batches) -> set:
    return {frozenset(b.tolist()) for b in batches}


def _blocks(batches, bs) -> bool:
    """Every batch is a fixed block {k bs, ..., k bs + bs - 1} of the stored order."""
    return all(sorted(b.tolist()) == list(range(b.min(), b.min() + len(b))) and b.min() % bs == 0 for b in batches)


@exercise(1)
def check_epoch_batches(fn) -> bool:
    """Grade ``fn(n, batch_size, rng) -> list of index arrays``: one epoch of shuffled minibatches, each example
    exactly once, batches of ``batch_size`` (the last one may be smaller), new batches on every call: which
    examples share a batch must change between epochs, not just the order of the batches."""
    for n, bs in [(10, 3), (64, 16), (7, 7), (5, 1)]:
        inputs = f"n={n}, batch_size={bs}"
        out = try_call(fn, n, bs, np.random.default_rng(0), what="your epoch_batches")
        _check_one_epoch(_as_batches(out, inputs), n, bs, inputs)
    n, bs = 50, 10
    inputs = f"n={n}, batch_size={bs}"
    rng = np.random.default_rng(1)
    epochs = [_as_batches(try_call(fn, n, bs, rng, what="your epoch_batches"), inputs) for _ in range(2)]
    for batches in epochs:
        _check_one_epoch(batches, n, bs, inputs)
    first, second = (np.concatenate(b) for b in epochs)
    expect_true(not np.array_equal(first, np.arange(n)),
                f"for {inputs} your epoch visits the examples in their stored order 0, 1, 2, ...: shuffle them first.")
    expect_true(not np.array_equal(first, second),
                f"for {inputs} two epochs drawn from the same generator came out in the same order: reshuffle every "
                "epoch, using the rng you are given (not a new generator with a fixed seed).")
    if _partition(epochs[0]) == _partition(epochs[1]):
        if _blocks(epochs[0], bs):
            raise CheckFailed(f"for {inputs} your batches are the fixed blocks 0..9, 10..19, ... of the stored order "
                              "in every epoch; only their ORDER is shuffled. Data sorted by class then stays "
                              "single-class in every batch. Shuffle the indices themselves, then cut them into "
                              "batches.")
        raise CheckFailed(f"for {inputs} the same examples share a batch in every epoch; only the order changed. "
                          "Draw a new permutation of all n indices each epoch, then cut it into batches.")
    again = np.concatenate(_as_batches(try_call(fn, n, bs, np.random.default_rng(1), what="your epoch_batches"),
                                       inputs))
    expect_true(np.array_equal(first, again),
                f"for {inputs} the same seed gave a different order: draw the permutation from the rng argument "
                "(rng.permutation), not from np.random or a new generator.")
    return passed("every example once per epoch, right batch sizes, new batches (not just a new order) each epoch.")


# ---------------------------------------------------------------------------------------------------------
# Exercise 2: Polyak (uniform) averaging of the iterates
# ---------------------------------------------------------------------------------------------------------
def _halving(thetas):
    avg = np.empty_like(thetas)
    avg[0] = thetas[0]
    for t in range(1, len(thetas)):
        avg[t] = (avg[t - 1] + thetas[t]) / 2
    return avg


_RA_MISTAKES = {
    "row t should divide the sum of t + 1 iterates by t + 1; you divided by t (an off-by-one).":
        lambda T: np.cumsum(T, axis=0) / np.maximum(np.arange(len(T)), 1)[:, None],
    "you returned running sums: divide row t by the number of rows it sums, t + 1.":
        lambda T: np.cumsum(T, axis=0),
    "every row is the mean of ALL iterates; row t averages only rows 0..t.":
        lambda T: np.broadcast_to(T.mean(axis=0), T.shape),
    "you averaged along the wrong axis: average over the iterates (axis 0, down the rows), one average per "
    "coordinate.": lambda T: np.cumsum(T, axis=1) / np.arange(1, T.shape[1] + 1),
    "(avg + theta_t) / 2 halves the weight of the past at every step; the uniform average gives every iterate "
    "the weight 1 / (t + 1).": _halving,
    "you returned the iterates unchanged: row t must be the mean of rows 0..t.": lambda T: T,
}


@exercise(2)
def check_running_average(fn) -> bool:
    """Grade ``fn(thetas) -> averages``: row ``t`` of the result is the mean of rows ``0..t`` of ``thetas``."""
    rng = np.random.default_rng(2)
    cases = [rng.normal(size=shape) + 0.3 for shape in [(5, 1), (40, 3), (1, 2)]]
    got, names = [], []
    for thetas in cases:
        T, p = thetas.shape
        inputs = f"thetas of shape {(T, p)}"
        g = as_array(plain(try_call(fn, thetas, what="your running_average", may_modify=False)),
                     "the running average", inputs)
        expected = np.cumsum(thetas, axis=0) / np.arange(1, T + 1)[:, None]
        if g.shape == (p,) and np.allclose(g, expected[-1], rtol=1e-5, atol=1e-6) and T > 1:
            raise CheckFailed(f"for {inputs} you returned only the final average; return every running average, "
                              f"shape {(T, p)} (row t = mean of the first t + 1 iterates).")
        if g.shape == (T - 1, p) and T > 1:
            raise CheckFailed(f"for {inputs} you returned {T - 1} rows, expected {T}: row 0 is the average of the "
                              "first iterate alone.")
        if g.shape == (T,) and p == 1 or g.shape == (T * p,):
            raise CheckFailed(f"for {inputs} you returned a flat array of shape {g.shape}; keep the shape (T, p) "
                              "of thetas (row t = the average after t + 1 iterates).")
        got.append(g)
        names.append(inputs)
    grade_cases(got, [np.cumsum(c, axis=0) / np.arange(1, len(c) + 1)[:, None] for c in cases], names,
           {h: [m(c) for c in cases] for h, m in _RA_MISTAKES.items()}, what="the running average", rtol=1e-5,
           atol=1e-6, hint="row t is (thetas[0] + ... + thetas[t]) / (t + 1).")
    return passed("the running (Polyak) average is right at every step.")


# ---------------------------------------------------------------------------------------------------------
# Exercise 3: a minibatch gradient of the least-squares loss
# ---------------------------------------------------------------------------------------------------------
def _minibatch_grad(theta, X, y, idx, *, k=None, sign=1.0, factor=2.0, bias=True):
    A = np.hstack([X, np.ones((len(X), 1))])
    Ab = A[idx]
    pred = Ab @ theta if bias else X[idx] @ theta[:-1]
    return sign * factor / (len(idx) if k is None else k) * Ab.T @ (pred - y[idx])


@exercise(3)
def check_minibatch_grad(fn) -> bool:
    """Grade ``fn(theta, X, y, idx)``: the gradient of the least-squares loss with a bias averaged over the rows
    ``idx`` only: ``2/k sum_{i in idx} (a_i . theta - y_i) a_i`` with ``a_i = (x_i, 1)`` and ``k = len(idx)``."""
    rng = np.random.default_rng(4)
    n = 30
    X = rng.normal(size=(n, 2))
    y = rng.normal(size=n) + 1.0
    theta = rng.normal(size=3)
    idxs = [np.array([3, 7, 11, 20]), np.array([5]), np.array([2, 2, 9]), np.array([29, 0, 14, 14, 8, 3])]
    got, names = [], []
    for idx in idxs:
        inputs = f"idx={idx.tolist()} (X of shape {X.shape})"
        g = as_array(plain(try_call(fn, theta, X, y, idx, what="your minibatch_grad", may_modify=False)),
                     "the minibatch gradient", inputs)
        if g.shape == (2,):
            raise CheckFailed(f"for {inputs} your gradient has 2 entries; it needs 3, one per weight and one for the "
                              "bias (weights first).")
        if g.shape == (len(idx),) and len(idx) != 3:
            raise CheckFailed(f"for {inputs} your gradient has one entry per row of the batch: sum over the rows "
                              "(axis 0), so that one entry per parameter is left (3).")
        got.append(g)
        names.append(inputs)
    mistakes = {
        "you returned the full-batch gradient; use only the rows in idx.":
            [_minibatch_grad(theta, X, y, np.arange(n)) for _ in idxs],
        f"you divided by n = {n}; a minibatch mean divides by its own size k = len(idx).":
            [_minibatch_grad(theta, X, y, idx, k=n) for idx in idxs],
        "a repeated index counts twice: take the rows with A[idx] directly, not through a set, np.unique or a "
        "boolean mask.": [_minibatch_grad(theta, X, y, np.unique(idx)) for idx in idxs],
        "a repeated index counts twice: take the rows with A[idx] directly, not through a set, np.unique or a "
        "boolean mask (here the repeat was dropped, but you still divided by len(idx)).":
            [_minibatch_grad(theta, X, y, np.unique(idx), k=len(idx)) for idx in idxs],
        "the residual is (a_i . theta - y_i); you flipped its sign.":
            [_minibatch_grad(theta, X, y, idx, sign=-1.0) for idx in idxs],
        "the derivative of r^2 is 2 r: you lost the factor 2.":
            [_minibatch_grad(theta, X, y, idx, factor=1.0) for idx in idxs],
        "the prediction is w . x + b: you left out the bias b.":
            [_minibatch_grad(theta, X, y, idx, bias=False) for idx in idxs],
    }
    grade_cases(got, [_minibatch_grad(theta, X, y, idx) for idx in idxs], names, mistakes,
           what="the minibatch gradient", rtol=1e-5, atol=1e-6,
           hint="the least-squares gradient with a bias, computed on the rows X[idx], y[idx] only.")
    return passed("the minibatch gradient uses exactly the chosen rows (repeated rows count twice).")
