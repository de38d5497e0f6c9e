"""Curriculum learning (Bengio et al. 2009): show easy examples first, then the whole task (lecture 08).

A curriculum is a sequence of training distributions ``Q_lambda(x) ∝ W_lambda(x) P(x)`` for ``lambda`` from 0 to 1,
with example weights ``0 <= W_lambda(x) <= 1`` that grow with ``lambda`` and reach ``W_1(x) = 1`` (the real task);
Bengio et al. also ask that the entropy of ``Q_lambda`` grows. Here ``lambda = min(epoch / ramp_epochs, 1)`` and a
difficulty score per example (lower = easier) defines the weights:

- ``"easy_to_hard"``: ``W_lambda(x) = 1`` for the easiest fraction ``start + (1 - start) lambda`` of the examples,
  0 for the rest (the pool grows from the easy end);
- ``"stochastic"``: ``W_lambda(x) = exp(-sharpness (1 - lambda) rank(x))`` with ``rank`` in ``[0, 1]`` (0 = easiest):
  every example can be drawn at any time, hard ones rarely at first;
- ``"hard_to_easy"``: the anti-curriculum, a control (the pool grows from the hard end);
- ``"random"``: the baseline, uniform weights from the start.

:func:`curriculum_order` turns a kind into an ``order(epoch, n, generator)`` callable for
:func:`lecture_utils.training.train.fit`. Every kind yields ``n`` indices per epoch (drawing from the current pool with
fresh permutations as often as needed), so every run takes the same number of steps and the learning curves
compare equal compute.

Example (easy to hard: epoch 0 draws from the easiest quarter of the 450 training points, epoch 5 from all)::

    >>> import torch
    >>> from lecture_utils.training import curriculum, data, nets, train
    >>> ds = data.blobs(n=600, std=1.5)
    >>> order = curriculum.curriculum_order(ds.difficulty_train, "easy_to_hard", ramp_epochs=5)
    >>> gen = torch.Generator().manual_seed(0)
    >>> [len(torch.unique(order(epoch, 450, gen))) for epoch in (0, 5)]
    [113, 450]
    >>> hist = train.run(nets.MLP(2, (32,), 3), ds, "sgd", epochs=2, opt_kwargs={"lr": 0.1}, order=order,
    ...                  progress=False)
    >>> len(hist)                                 # the step-0 record and one per epoch
    3
"""
from __future__ import annotations

import numpy as np
import torch

from .._validate import check_array, check_choice, check_int, check_real

__all__ = ["KINDS", "difficulty_ranks", "curriculum_lambda", "example_weights", "weights_entropy",
           "curriculum_order"]

KINDS = ("random", "easy_to_hard", "stochastic", "hard_to_easy")


def difficulty_ranks(difficulty) -> np.ndarray:
    """Each example's rank by difficulty, scaled to ``[0, 1]``: 0 = the easiest, 1 = the hardest (ties: stable).

    Example: ``difficulty_ranks([3.0, -1.0, 0.5])  # [1.0, 0.0, 0.5]``
    """
    d = check_array("difficulty", difficulty, ndim=1)
    if len(d) < 1:
        raise ValueError("difficulty must hold at least one score")
    ranks = np.empty(len(d))
    ranks[np.argsort(d, kind="stable")] = np.arange(len(d))
    return ranks / max(len(d) - 1, 1)


def curriculum_lambda(epoch: int, ramp_epochs: int) -> float:
    """The curriculum's progress ``lambda = min(epoch / ramp_epochs, 1)`` (1 = the real task)."""
    epoch = check_int("epoch", epoch, low=0)
    ramp_epochs = check_int("ramp_epochs", ramp_epochs, low=0)
    return 1.0 if ramp_epochs == 0 else min(epoch / ramp_epochs, 1.0)


def example_weights(difficulty, lam: float, kind: str = "easy_to_hard", *, start_fraction: float = 0.25,
                    sharpness: float = 5.0) -> np.ndarray:
    """The weights ``W_lambda(x)`` of every example at curriculum progress ``lam``, shape ``(n,)``, in ``[0, 1]``.

    Args:
        difficulty: ``(n,)`` scores, lower = easier.
        lam: progress in ``[0, 1]``.
        kind: one of :data:`KINDS`.
        start_fraction: share of the examples in the pool at ``lam = 0`` (``easy_to_hard``, ``hard_to_easy``).
        sharpness: how strongly ``stochastic`` favours easy examples at ``lam = 0``.
    Example: ``example_weights(ds.difficulty_train, 0.0, "stochastic")``
    """
    lam = check_real("lam", lam, low=0.0, high=1.0)
    check_choice("kind", kind, KINDS)
    start_fraction = check_real("start_fraction", start_fraction, low=0.0, high=1.0, low_open=True)
    sharpness = check_real("sharpness", sharpness, low=0.0)
    ranks = difficulty_ranks(difficulty)
    n = len(ranks)
    if kind == "random":
        return np.ones(n)
    if kind == "stochastic":
        return np.exp(-sharpness * (1 - lam) * ranks)
    size = max(1, int(np.ceil((start_fraction + (1 - start_fraction) * lam) * n - 1e-9)))
    order = np.rint(ranks * max(n - 1, 1)).astype(int)  # 0 .. n-1
    pool = order < size if kind == "easy_to_hard" else order >= n - size
    return pool.astype(float)


def weights_entropy(weights) -> float:
    """Entropy (nats) of the training distribution ``Q(x) ∝ W(x)`` over the examples (Bengio et al.'s condition)."""
    w = check_array("weights", weights, ndim=1)
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be >= 0 and not all zero")
    q = w / w.sum()
    q = q[q > 0]
    return float(-(q * np.log(q)).sum())


def curriculum_order(difficulty, kind: str = "easy_to_hard", *, ramp_epochs: int = 5,
                     start_fraction: float = 0.25, sharpness: float = 5.0):
    """An ``order(epoch, n, generator) -> LongTensor`` for :func:`lecture_utils.training.train.fit` that follows a curriculum.

    Each epoch returns ``n`` training indices: for the pool kinds, fresh random permutations of the current pool
    concatenated and cut to ``n``; for ``stochastic``, ``n`` draws with replacement with probabilities
    ``∝ W_lambda(x)``; for ``random``, one permutation of all examples. All randomness comes from the
    ``generator`` that ``fit`` passes, so runs are reproducible from ``fit``'s ``seed``.

    Args:
        difficulty: ``(n_train,)`` difficulty of every training example (lower = easier), numpy or torch.
        kind: one of :data:`KINDS`.
        ramp_epochs: epochs until the curriculum reaches the real task (``lambda = 1``).
        start_fraction, sharpness: as in :func:`example_weights`.
    Returns:
        a callable; its attribute ``kind`` names it. Example:
        ``train.run(net, ds, "sgd", order=curriculum_order(ds.difficulty_train, "stochastic"))``
    """
    if isinstance(difficulty, torch.Tensor):
        difficulty = difficulty.detach().cpu().numpy()
    diff = check_array("difficulty", difficulty, ndim=1)
    check_choice("kind", kind, KINDS)
    ramp_epochs = check_int("ramp_epochs", ramp_epochs, low=0)
    example_weights(diff, 0.0, kind, start_fraction=start_fraction, sharpness=sharpness)  # validates the rest
    n_total = len(diff)

    def order(epoch, n, generator):
        if n != n_total:
            raise ValueError(f"the curriculum was built for {n_total} training examples, but fit has {n}")
        if kind == "random":
            return torch.randperm(n, generator=generator)
        w = example_weights(diff, curriculum_lambda(epoch, ramp_epochs), kind, start_fraction=start_fraction,
                            sharpness=sharpness)
        if kind == "stochastic":
            probs = torch.as_tensor(w / w.sum(), dtype=torch.float64)
            return torch.multinomial(probs, n, replacement=True, generator=generator)
        pool = torch.as_tensor(np.flatnonzero(w > 0))
        reps = -(-n // len(pool))
        idx = torch.cat([pool[torch.randperm(len(pool), generator=generator)] for _ in range(reps)])
        return idx[:n]

    order.kind = kind
    return order
