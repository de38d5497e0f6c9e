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
import time
from typing import Callable, Iterator

import numpy as np
import torch

from .data import Dataset

#: The most optimizer steps one training call may take (a typo such as epochs=10**12 would run for ever).
MAX_STEPS = 100_000_000

__all__ = ["DROP_LAST", "unpack_data", "shuffled_order", "sequential_order", "check_order", "skip_batch",
           "steps_per_epoch", "loss_caller", "MinibatchLoop"]

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


class MinibatchLoop:
    """The walk both training loops share: epochs of minibatches cut from each epoch's order, a record at the end
    of every epoch (or every ``eval_every`` steps, and at the end), a stop on ``max_steps`` or a callback that
    returns False. Subclasses set ``epochs``, ``batch_size``, ``drop_last``, ``eval_every``, ``max_steps``,
    ``log_initial``, ``progress``, ``total_steps`` and ``device``, and implement the hooks below; the minibatch
    indices may have a leading model axis (the last axis is the one cut into batches)."""

    progress_label = "training"

    def epoch_order(self, epoch: int) -> torch.Tensor:  # pragma: no cover - abstract
        """The indices of epoch ``epoch``, ``(m,)`` (or ``(K, m)``), as a long tensor on the device."""
        raise NotImplementedError

    def train_step(self, idx):  # pragma: no cover - abstract
        """One optimizer step on the minibatch ``idx``; returns what the callback gets as its loss."""
        raise NotImplementedError

    def call_back(self, loss) -> bool:
        """Run the user's callback after a step; False stops training."""
        return True

    def exhausted(self) -> bool:
        """True when nothing is left to train (e.g. every model diverged)."""
        return False

    def initial_record(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def flush(self) -> dict:  # pragma: no cover - abstract
        """The record of the steps since the previous one."""
        raise NotImplementedError

    def ends_training(self, rec: dict) -> bool:
        """Whether ``rec`` is the last record (``fit`` stops at its first diverged record)."""
        return False

    def end_of_epoch(self) -> None:
        """Called after every epoch (``fit`` steps a torch lr_scheduler here)."""

    def start(self) -> None:
        """Called before the first record."""

    def finish(self) -> None:
        """Called at the end, even when the caller stops iterating early or a step fails."""

    def as_indices(self, order) -> torch.Tensor:
        """An epoch's order as a long tensor on the device, checked: a 1D sequence of row indices in ``0..n-1``."""
        try:
            idx = order if isinstance(order, torch.Tensor) else torch.as_tensor(np.asarray(order))
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"order must return a 1D sequence of row indices, got {type(order).__name__}") from None
        n = len(self.X)
        if idx.dim() != 1 or idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
            raise ValueError(f"order must return a 1D sequence of integer row indices, got {idx.dtype} of shape "
                             f"{tuple(idx.shape)}")
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueError(f"order returned indices from {int(idx.min())} to {int(idx.max())}; rows are 0..{n - 1}")
        return idx.to(device=self.device, dtype=torch.long)

    def epoch(self, epoch: int) -> Iterator[dict]:
        """Train one epoch, yielding the ``eval_every`` records; sets ``self.stop`` when training must end."""
        idx_all = self.epoch_order(epoch)
        m = idx_all.shape[-1]
        for start in range(0, m, self.batch_size):
            idx = idx_all[..., start:start + self.batch_size]
            if skip_batch(idx.shape[-1], start, self.batch_size, self.drop_last):
                continue
            t0 = time.perf_counter()
            loss = self.train_step(idx)
            self.step += 1
            self.examples += idx.shape[-1]
            self.epoch_float = epoch + min(start + self.batch_size, m) / m
            self.train_time += time.perf_counter() - t0
            if self.bar is not None:
                self.bar.update(1)
            if self.call_back(loss) is False:
                self.stop = True
            if (self.max_steps is not None and self.step >= self.max_steps) or self.exhausted():
                self.stop = True
            if (self.eval_every is not None and self.step % self.eval_every == 0) or self.stop:
                yield self.flush()
                self.last_recorded = self.step
            if self.stop:
                return

    def records(self) -> Iterator[dict]:
        """The generator the loop's public function returns: every record, in order."""
        self.step, self.examples, self.epoch_float, self.train_time = 0, 0, 0.0, 0.0
        self.t_start, self.bar = time.perf_counter(), None
        if self.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total_steps, desc=self.progress_label, unit="step", leave=False,
                            mininterval=0.25)
        self.start()
        try:
            if self.log_initial:
                yield self.initial_record()
            self.stop, self.last_recorded = self.max_steps == 0, 0
            for epoch in range(self.epochs):
                if self.stop:
                    break
                for rec in self.epoch(epoch):
                    yield rec
                    if self.ends_training(rec):
                        return
                self.end_of_epoch()
                if self.eval_every is None and not self.stop and self.step > self.last_recorded:
                    self.epoch_float = float(epoch + 1)
                    rec = self.flush()
                    self.last_recorded = self.step
                    yield rec
                    if self.ends_training(rec):
                        return
            if self.eval_every is not None and self.step > self.last_recorded:
                yield self.flush()
        finally:
            if self.bar is not None:
                self.bar.close()
            self.finish()
