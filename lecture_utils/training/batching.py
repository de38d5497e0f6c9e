"""How a training loop walks in-memory data: the accepted forms of the data, the order of each epoch, which short
minibatch is skipped, and how a user's loss is called. Shared by :func:`lecture_utils.training.train.fit` and
the many-models trainer, so both follow exactly the same steps (lectures 07 and 08).

Example (1000 examples in batches of 64: 15 full batches and one of 40)::

    >>> from lecture_utils.training import batching
    >>> batching.steps_per_epoch(1000, 64, drop_last="auto")   # 40 >= 64 / 2: the short batch is kept
    16
    >>> batching.steps_per_epoch(1000, 64, drop_last=True)
    15
    >>> batching.steps_per_epoch(1000, 64, drop_last="auto") == batching.steps_per_epoch(1000, 64, drop_last=False)
    True
"""
from __future__ import annotations

import inspect
from typing import Callable

import torch

from .data import Dataset

__all__ = ["DROP_LAST", "unpack_data", "shuffled_order", "sequential_order", "check_order", "skip_batch",
           "steps_per_epoch", "loss_caller"]

#: The values ``drop_last`` may take.
DROP_LAST = (True, False, "auto")


def unpack_data(data, name: str = "data"):
    """``(X_train, y_train, X_test, y_test)`` from a :class:`~lecture_utils.training.data.Dataset`, a 4-tuple or an
    ``(X, y)`` pair (test parts None). ``TypeError`` naming ``name`` for anything else."""
    if isinstance(data, Dataset):
        return data.X_train, data.y_train, data.X_test, data.y_test
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        return tuple(data) if len(data) == 4 else (data[0], data[1], None, None)
    raise TypeError(f"{name} must be a lecture_utils.training.data.Dataset, (X_train, y_train, X_test, y_test) or "
                    f"(X_train, y_train); got {type(data).__name__}")


def shuffled_order(epoch: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """The default epoch order: a fresh random permutation of ``0..n-1`` from ``generator``."""
    return torch.randperm(n, generator=generator)


def sequential_order(epoch: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """The stored order ``0..n-1`` every epoch (no shuffling)."""
    return torch.arange(n)


def check_order(order) -> Callable:
    """``order`` (None, ``"sequential"`` or a callable ``order(epoch, n, generator) -> indices``) as a callable."""
    if order is None:
        return shuffled_order
    if order == "sequential":
        return sequential_order
    if not callable(order):
        raise ValueError("order must be None, 'sequential' or a callable (epoch, n, generator) -> indices; "
                         f"got {order!r}")
    return order


def skip_batch(size: int, start: int, batch_size: int, drop_last) -> bool:
    """Whether a minibatch of ``size`` examples starting at ``start`` of the epoch's order is skipped.

    A single example is always skipped (batch norm cannot normalize it); the first minibatch of an epoch never is;
    a short last batch is skipped with ``drop_last=True``, or with ``"auto"`` when it holds fewer than
    ``batch_size / 2`` examples (its batch-norm statistics would be wild and its step noisy).
    """
    if size < 2:
        return True
    if size == batch_size or start == 0:  # never skip the only batch of an epoch
        return False
    return drop_last is True or (drop_last == "auto" and 2 * size < batch_size)


def steps_per_epoch(n: int, batch_size: int, drop_last="auto") -> int:
    """Optimizer steps in one epoch of ``n`` examples in the default order (see :func:`skip_batch`)."""
    return sum(not skip_batch(min(batch_size, n - s), s, batch_size, drop_last) for s in range(0, n, batch_size))


def loss_caller(loss, default: Callable) -> Callable:
    """Wrap a user loss so it is always called as ``f(y_hat, y, X, idx)``.

    ``loss`` may take keyword arguments ``X`` (the minibatch inputs) and ``idx`` (their indices into the training
    set), e.g. for distillation; None gives ``default(y_hat, y)``.
    """
    if loss is None:
        return lambda y_hat, y, X, idx: default(y_hat, y)
    if not callable(loss):
        raise TypeError(f"loss must be None or a callable loss(y_hat, y), got {type(loss).__name__}")
    try:
        sig = inspect.signature(loss)
        names = set(sig.parameters)
        var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        names, var_kw = set(), False
    want_X, want_idx = var_kw or "X" in names, var_kw or "idx" in names

    def call(y_hat, y, X, idx):
        kw = {}
        if want_X:
            kw["X"] = X
        if want_idx:
            kw["idx"] = idx
        return loss(y_hat, y, **kw)

    return call
