"""Minibatches: which rows each update sees (shuffled, with replacement, fixed or sorted by class), and how far
minibatch gradients scatter around the full gradient as the batch grows (lecture 04).

The functions work on any "problem" with ``n``, ``num_params`` and ``example_grads(theta, idx)``, such as those
in :mod:`lecture_utils.problems`.

Example (one shuffled epoch of 10 rows in batches of 4)::

    >>> import numpy as np
    >>> from lecture_utils import minibatch
    >>> batches = minibatch.epoch_batches(10, 4, rng=0)
    >>> [len(b) for b in batches]
    [4, 4, 2]
    >>> np.sort(np.concatenate(batches))          # every row exactly once
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_generator, check_choice, check_int, check_memory
from .problems import check_problem

__all__ = ["ORDERS", "epoch_batches", "selection_matrix", "minibatch_grads", "Spread", "gradient_spread"]


ORDERS = ("shuffle", "replacement", "fixed", "sorted")


def epoch_batches(n: int, batch_size: int, *, order: str = "shuffle", rng=None, labels=None) -> list[np.ndarray]:
    """The minibatches of one epoch, as arrays of row indices (lecture 04).

    Every order makes ``ceil(n / batch_size)`` batches of ``batch_size`` rows (the last one smaller when
    ``batch_size`` does not divide ``n``), as ``torch.utils.data.DataLoader`` does:

    - ``"shuffle"``: a new random permutation each epoch, so each example is used exactly once;
    - ``"replacement"``: ``n`` indices drawn independently with replacement (some examples twice, about
      ``(1 - 1/n)^n ~ 37 %`` not at all);
    - ``"fixed"``: rows ``0, 1, ..., n - 1`` in the stored order, every epoch the same;
    - ``"sorted"``: rows sorted by ``labels`` (all of class 0, then class 1, ...), the failure case.

    Args:
        n: number of examples; batch_size: rows per batch (1 <= batch_size <= n).
        rng: a ``numpy.random.Generator`` or seed (for "shuffle" and "replacement").
        labels: ``(n,)`` class labels (for "sorted").
    Returns:
        list of int arrays. Example: ``epoch_batches(10, 4, rng=0)  # 3 batches: 4 + 4 + 2 rows``
    """
    n = check_int("n", n, low=1)
    check_memory("n", n, 16, "one epoch of indices")
    batch_size = check_int("batch_size", batch_size, low=1, high=n)
    check_choice("order", order, ORDERS)
    if order == "shuffle":
        idx = as_generator(0 if rng is None else rng, "rng").permutation(n)
    elif order == "replacement":
        idx = as_generator(0 if rng is None else rng, "rng").integers(0, n, n)
    elif order == "fixed":
        idx = np.arange(n)
    else:
        if labels is None:
            raise ValueError('order="sorted" needs the class labels: pass labels=y')
        labels = np.asarray(labels).reshape(-1)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
        idx = np.argsort(labels, kind="stable")
    return [idx[i:i + batch_size] for i in range(0, n, batch_size)]


def selection_matrix(n: int, batch_size: int, num_draws: int, rng, replace: bool) -> np.ndarray:
    """``(num_draws, n)`` weights so that row ``k`` times the ``(n, p)`` per-example gradients is the mean
    gradient of minibatch ``k`` (``batch_size`` rows drawn with or without replacement by the Generator ``rng``).
    Example: ``selection_matrix(100, 8, 500, np.random.default_rng(0), True) @ G  # 500 minibatch gradients``"""
    W = np.zeros((num_draws, n))
    if replace:
        idx = rng.integers(0, n, (num_draws, batch_size))
        np.add.at(W, (np.repeat(np.arange(num_draws), batch_size), idx.ravel()), 1.0)
    else:
        idx = np.argpartition(rng.random((num_draws, n)), batch_size - 1, axis=1)[:, :batch_size] \
            if batch_size < n else np.tile(np.arange(n), (num_draws, 1))
        W[np.arange(num_draws)[:, None], idx] = 1.0
    return W / batch_size


def minibatch_grads(problem, theta, batch_size: int, num_draws: int = 100, *, replace: bool = True,
                    seed=0, G=None) -> np.ndarray:
    """``num_draws`` independent minibatch gradient estimates at ``theta`` (lecture 04).

    Each draw picks ``batch_size`` examples uniformly (with replacement, or without within the draw) and
    averages their gradients. The per-example gradients are computed once (pass them as ``G`` to reuse them).

    Returns:
        ``(num_draws, num_params)``. Example: ``minibatch_grads(prob, theta, 32, 1000).mean(0)  # ~ prob.grad(theta)``
    """
    check_problem(problem)
    batch_size = check_int("batch_size", batch_size, low=1, high=problem.n)
    num_draws = check_int("num_draws", num_draws, low=1)
    check_memory("num_draws", num_draws, 8 * (problem.n + problem.num_params), f"{problem.n} examples")
    G = problem.example_grads(theta) if G is None else G
    return selection_matrix(problem.n, batch_size, num_draws, as_generator(seed), replace) @ G


@dataclass
class Spread:
    """What :func:`gradient_spread` returns (all arrays of shape ``(len(batch_sizes),)``).

    Attributes:
        batch_sizes: the minibatch sizes n.
        spread: measured root-mean-square distance ``sqrt(E ||g_B - g||^2)`` of a minibatch gradient from the
            full gradient.
        sigma: ``sqrt(1/N sum_i ||g_i - g||^2)``, the spread of a single example's gradient (a number).
        predicted: ``sigma / sqrt(n)`` (with replacement) or ``sigma / sqrt(n) * sqrt((N - n) / (N - 1))``
            (without replacement: the finite-population correction).
    """

    batch_sizes: np.ndarray
    spread: np.ndarray
    sigma: float
    predicted: np.ndarray
    replace: bool


def gradient_spread(problem, theta, batch_sizes, num_draws: int = 200, *, replace: bool = True, seed=0) -> Spread:
    """Measure how far minibatch gradients scatter around the full gradient, for several batch sizes (lecture 04).

    Args:
        problem: a problem with ``example_grads``; theta: where to measure.
        batch_sizes: sizes n to try, each between 1 and ``problem.n``.
        num_draws: minibatches drawn per size.
        replace: draw each minibatch with replacement (independent examples) or without.
    Returns:
        :class:`Spread`. Example: ``s = gradient_spread(prob, theta, 2 ** np.arange(11)); loglog_slope(s.batch_sizes, s.spread)``
    """
    check_problem(problem)
    sizes = np.asarray(batch_sizes)
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"batch_sizes must be a non-empty 1D array of integers, got {batch_sizes!r}")
    if sizes.min() < 1 or sizes.max() > problem.n:
        raise ValueError(f"batch_sizes must lie in 1..{problem.n} (the number of examples), got {sizes.min()}..{sizes.max()}")
    num_draws = check_int("num_draws", num_draws, low=2)
    check_memory("num_draws", num_draws, 8 * (problem.n + problem.num_params), f"{problem.n} examples")
    rng = as_generator(seed)
    G = problem.example_grads(theta)
    g = G.mean(axis=0)
    N = problem.n
    sigma = float(np.sqrt(np.mean(np.sum((G - g) ** 2, axis=1))))
    spread = np.empty(len(sizes))
    for k, b in enumerate(sizes):
        est = selection_matrix(N, int(b), num_draws, rng, replace) @ G
        spread[k] = np.sqrt(np.mean(np.sum((est - g) ** 2, axis=1)))
    pred = sigma / np.sqrt(sizes)
    if not replace:
        pred = pred * np.sqrt((N - sizes) / max(N - 1, 1))
    return Spread(sizes.astype(np.int64), spread, sigma, pred, bool(replace))
