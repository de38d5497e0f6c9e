"""Training loop for in-memory data, written as a generator of metrics so widgets draw live and tests run headless.

Introduced in lecture 07 (batch norm) and used by lectures 08 and 09. The data stay on the device; each
minibatch is a slice of one ``torch.randperm`` per epoch (drawn with a seeded ``torch.Generator`` on the CPU, so
the order is the same on every device), with no ``DataLoader`` in between. Any optimizer works: a
``torch.optim`` instance, a ``torch.optim`` class plus ``opt_kwargs``, one of ours from
:mod:`lecture_utils.optim` (converted with ``.to_torch``), or a name for :func:`lecture_utils.optim.make`.

Example::

    from lecture_utils import data, nets, optim, train, set_seed
    set_seed(0)
    ds = data.digits()
    net = nets.MLP(64, hidden=(64, 64), out_dim=10)
    for rec in train.fit(net, ds, optim.SGD(lr=0.1, momentum=0.9), epochs=5, batch_size=64):
        print(rec["epoch"], rec["train_loss"], rec["test_acc"])
    hist = train.run(net, ds, "adam", epochs=5, opt_kwargs={"lr": 1e-3})   # all records at once
    hist["test_acc"]       # numpy array, one entry per record
"""
from __future__ import annotations

import inspect
import math
import time
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_int, check_real
from .data import Dataset
from .nets import main_output

__all__ = ["fit", "run", "History", "evaluate", "make_optimizer", "task_loss", "RECORD_KEYS"]

#: Keys of every record that :func:`fit` yields.
RECORD_KEYS = ("step", "epoch", "examples", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
               "train_seconds", "diverged")


# ---------------------------------------------------------------------------------------------------------
# Optimizers and losses
# ---------------------------------------------------------------------------------------------------------
def make_optimizer(opt, params, **opt_kwargs) -> torch.optim.Optimizer:
    """A ``torch.optim.Optimizer`` over ``params`` from any of the forms :func:`fit` accepts.

    Args:
        opt: a ``torch.optim.Optimizer`` instance (returned as is; ``params`` is ignored), a ``torch.optim``
            class (built with ``opt_kwargs``), a :class:`lecture_utils.optim.Optimizer` (its ``.to_torch``), an
            optimizer name such as ``"adam"`` or ``"momentum"`` (:func:`lecture_utils.optim.make` with
            ``opt_kwargs``), or a callable ``params -> optimizer``.
        params: the parameters to optimize (``net.parameters()``).
        **opt_kwargs: hyperparameters for a class or a name, e.g. ``lr=0.1``.
    Returns:
        A ``torch.optim.Optimizer``. Example: ``make_optimizer(torch.optim.SGD, net.parameters(), lr=0.1)``
    """
    from .. import optim as our_optim

    if isinstance(opt, torch.optim.Optimizer):
        if opt_kwargs:
            raise ValueError("opt_kwargs are only used with an optimizer class or name, not with an instance")
        return opt
    if isinstance(opt, our_optim.Optimizer):
        if opt_kwargs:
            raise ValueError("opt_kwargs are only used with an optimizer class or name; set hyperparameters "
                             "on our optimizer instead, e.g. optim.SGD(lr=0.1)")
        return opt.to_torch(params)
    if isinstance(opt, str):
        return our_optim.make(opt, **opt_kwargs).to_torch(params)
    if isinstance(opt, type) and issubclass(opt, torch.optim.Optimizer):
        return opt(params, **opt_kwargs)
    if callable(opt):
        made = opt(params, **opt_kwargs)
        if not isinstance(made, torch.optim.Optimizer):
            raise TypeError(f"opt(params) must return a torch.optim.Optimizer, got {type(made).__name__}")
        return made
    raise TypeError("opt must be a torch.optim optimizer or class, one of lecture_utils.optim's optimizers, an "
                    f"optimizer name like 'adam', or a callable params -> optimizer; got {type(opt).__name__}")


def _is_classification(y) -> bool:
    return y.dim() == 1 and not torch.is_floating_point(y)


def task_loss(y_hat, y):
    """The default loss: cross-entropy for integer class labels ``(n,)``, mean squared error otherwise.

    Args:
        y_hat: net output (logits ``(n, C)`` or predictions ``(n, k)``; a tuple from aux heads uses its logits).
        y: labels ``(n,)`` int64, or targets with the shape of ``y_hat``.
    Returns:
        Scalar tensor. Example: ``task_loss(net(X), y)``
    """
    y_hat = main_output(y_hat)
    if _is_classification(y):
        return F.cross_entropy(y_hat, y)
    return F.mse_loss(y_hat, y.reshape(y_hat.shape))


@torch.no_grad()
def evaluate(net: torch.nn.Module, X, y, *, batch_size: int = 4096) -> dict:
    """Loss and accuracy of ``net`` on ``(X, y)`` in eval mode (batch norm uses its running statistics).

    The loss is :func:`task_loss` of the main output; accuracy is ``NaN`` for regression. The net's
    train/eval mode is restored afterwards.

    Args:
        net: the model. X: inputs ``(n, ...)``. y: labels ``(n,)`` or targets ``(n, k)``.
        batch_size: examples per forward pass (memory only; the result does not depend on it).
    Returns:
        ``{"loss": float, "acc": float}``. Example: ``evaluate(net, ds.X_test, ds.y_test)["acc"]``
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    was_training = net.training
    net.eval()
    try:
        total, correct, n = 0.0, 0.0, len(X)
        cls = _is_classification(y)
        for i in range(0, n, batch_size):
            out = main_output(net(X[i:i + batch_size]))
            yb = y[i:i + batch_size]
            total += float(task_loss(out, yb)) * len(yb)
            if cls:
                correct += float((out.argmax(1) == yb).sum())
        return {"loss": total / max(n, 1), "acc": correct / max(n, 1) if cls else math.nan}
    finally:
        net.train(was_training)


# ---------------------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------------------
def _unpack(data):
    if isinstance(data, Dataset):
        return data.X_train, data.y_train, data.X_test, data.y_test
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        return tuple(data) if len(data) == 4 else (data[0], data[1], None, None)
    raise TypeError("data must be a lecture_utils.training.data.Dataset, (X_train, y_train, X_test, y_test) or "
                    f"(X_train, y_train); got {type(data).__name__}")


def _loss_caller(loss):
    """Wrap a user loss so it is always called as ``f(y_hat, y, X, idx)``."""
    if loss is None:
        return lambda y_hat, y, X, idx: task_loss(y_hat, y)
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


def _default_order(epoch, n, generator):
    return torch.randperm(n, generator=generator)


def _skip_batch(size, start, batch_size, drop_last) -> bool:
    """Whether a minibatch of ``size`` examples starting at ``start`` of the epoch's order is skipped."""
    if size < 2:
        return True
    if size == batch_size or start == 0:  # never skip the only batch of an epoch
        return False
    return drop_last is True or (drop_last == "auto" and 2 * size < batch_size)


def fit(net: torch.nn.Module, data, opt, epochs: int = 10, batch_size: int = 64, *, opt_kwargs: dict | None = None,
        loss: Callable | None = None, aux_weight: float = 0.3, lr_schedule=None, eval_every: int | None = None,
        clip_norm: float | None = None, seed: int | None = None, order: Callable | str | None = None,
        callback: Callable | None = None, max_steps: int | None = None, log_initial: bool = True,
        drop_last: bool | str = "auto", device=None, progress: bool = True) -> Iterator[dict]:
    """Train ``net`` on in-memory data, yielding a dict of metrics once per epoch (or every ``eval_every`` steps).

    Each record has the keys :data:`RECORD_KEYS`:

    - ``step`` optimizer steps so far; ``epoch`` epochs so far (fractional between epoch ends);
      ``examples`` training examples processed so far;
    - ``train_loss`` mean minibatch training loss since the previous record (for the step-0 record: the loss on
      the whole training set in eval mode); ``train_acc`` the matching minibatch accuracy (NaN for regression);
    - ``test_loss`` / ``test_acc`` on the test part in eval mode (:func:`evaluate`; NaN without test data);
    - ``lr`` learning rate of the first parameter group; ``seconds`` wall-clock time since the start;
      ``train_seconds`` the part of it spent in training steps (evaluation excluded);
    - ``diverged`` True when the training loss stopped being finite: that record is the last one.

    Args:
        net: a ``torch.nn.Module``; it is moved to ``device``; its train/eval mode is restored at the end.
        data: a :class:`lecture_utils.training.data.Dataset`, ``(X_train, y_train, X_test, y_test)`` or ``(X, y)``.
        opt: optimizer in any form :func:`make_optimizer` accepts (e.g. ``optim.SGD(lr=0.1)``,
            ``torch.optim.Adam`` with ``opt_kwargs={"lr": 1e-3}``, ``"momentum"``, or a built instance).
        epochs: passes over the training data.
        batch_size: examples per step.
        opt_kwargs: hyperparameters when ``opt`` is a class or a name.
        loss: ``None`` = :func:`task_loss` (cross-entropy or MSE); or a callable ``loss(y_hat, y)`` on the main
            output, which may also take keyword arguments ``X`` (the minibatch inputs) and ``idx`` (their indices
            into the training set), e.g. for distillation. The test loss is always :func:`task_loss`.
        aux_weight: weight of the mean auxiliary-head loss (nets returning ``(logits, aux_list)``).
        lr_schedule: ``None``; a schedule from :mod:`lecture_utils.optim` (``lr = schedule(base_lr, step)``
            set before every step); or a ``torch.optim.lr_scheduler`` built on the optimizer ``opt`` you passed
            (stepped once per epoch).
        eval_every: record every this many steps (and at the end); ``None`` = at the end of every epoch.
        clip_norm: clip the global gradient norm to this value (``torch.nn.utils.clip_grad_norm_``).
        seed: seed of the minibatch order; ``None`` draws one from torch's global generator, so the run is
            still deterministic after :func:`lecture_utils.set_seed`.
        order: ``None`` (a fresh random permutation each epoch), ``"sequential"`` (no shuffling), or a callable
            ``order(epoch, n, generator) -> LongTensor`` of training indices for that epoch (any length;
            repeats allowed), e.g. an easy-to-hard curriculum.
        callback: ``callback(net, step, loss)`` after every optimizer step (gradients still in ``p.grad``;
            ``loss`` is the detached minibatch loss tensor); a return value of ``False`` stops training.
        max_steps: stop after this many steps (a final record is yielded).
        log_initial: yield a record at step 0, before any update.
        drop_last: what to do with the last, smaller minibatch of an epoch: ``True`` skip it, ``False`` train on
            it, ``"auto"`` (default) skip it only when it holds fewer than ``batch_size / 2`` examples (a batch of
            3 gives batch norm meaningless statistics and a noisy step; the order changes every epoch, so no
            example is left out for good). A minibatch of a single example is always skipped; the first
            minibatch of an epoch never is.
        device: where to train; ``None`` = the device of the net's parameters if they are not on the CPU, else
            :func:`lecture_utils.get_device`.
        progress: show a ``tqdm.auto`` progress bar.
    Yields:
        dict per record (see above).
    Example: ``for rec in fit(net, data.digits(), optim.Adam(lr=1e-3), epochs=3): print(rec["test_acc"])``
    """
    from ..device import get_device

    epochs = check_int("epochs", epochs, low=0)
    batch_size = check_int("batch_size", batch_size, low=1)
    aux_weight = check_real("aux_weight", aux_weight, low=0.0)
    eval_every = check_int("eval_every", eval_every, low=1, allow_none=True)
    clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_open=True, allow_none=True)
    seed = check_int("seed", seed, low=0, allow_none=True)
    max_steps = check_int("max_steps", max_steps, low=0, allow_none=True)
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    if drop_last not in (True, False, "auto"):
        raise ValueError(f"drop_last must be True, False or 'auto'; got {drop_last!r}")
    if order is not None and order != "sequential" and not callable(order):
        raise ValueError("order must be None, 'sequential' or a callable (epoch, n, generator) -> indices; "
                         f"got {order!r}")
    X, y, X_test, y_test = _unpack(data)
    if len(X) != len(y):
        raise ValueError(f"X_train and y_train differ in length: {len(X)} vs {len(y)}")
    if len(X) < 2:
        raise ValueError(f"need at least 2 training examples, got {len(X)}")

    if device is None:
        p0 = next(net.parameters(), None)
        device = p0.device if p0 is not None and p0.device.type != "cpu" else get_device()
    device = torch.device(device)
    net.to(device)
    p0 = next(net.parameters(), None)
    dtype = p0.dtype if p0 is not None and p0.is_floating_point() else torch.float32

    def cast(t):
        return None if t is None else t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)

    X, y, X_test, y_test = cast(X), cast(y), cast(X_test), cast(y_test)
    classification = _is_classification(y)

    optimizer = make_optimizer(opt, net.parameters(), **(opt_kwargs or {}))
    torch_sched = None
    if lr_schedule is not None:
        if isinstance(lr_schedule, torch.optim.lr_scheduler.LRScheduler):
            if lr_schedule.optimizer is not optimizer:
                raise ValueError("a torch lr_scheduler must be built on the optimizer instance passed as opt")
            torch_sched, lr_schedule = lr_schedule, None
        elif not callable(lr_schedule):
            raise TypeError("lr_schedule must be a schedule(base_lr, step) -> lr or a torch lr_scheduler")
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    loss_fn = _loss_caller(loss)

    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    gen = torch.Generator().manual_seed(seed)
    n = len(X)
    order_fn = _default_order if order is None else (lambda e, m, g: torch.arange(m)) if order == "sequential" \
        else order

    was_training = net.training
    t_start = time.perf_counter()
    train_time = 0.0
    step, examples = 0, 0
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    acc_loss = torch.zeros((), device=device, dtype=acc_dtype)
    acc_correct = torch.zeros((), device=device, dtype=acc_dtype)
    acc_batches, acc_examples = 0, 0
    epoch_float = 0.0
    steps_per_epoch = sum(not _skip_batch(min(batch_size, n - s), s, batch_size, drop_last)
                          for s in range(0, n, batch_size))
    total_steps = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, desc="training", unit="step", leave=False, mininterval=0.25)

    def record(train_loss, train_acc, diverged=False):
        has_test = X_test is not None and len(X_test) > 0
        ev = evaluate(net, X_test, y_test) if has_test else {"loss": math.nan, "acc": math.nan}
        rec = {"step": step, "epoch": epoch_float, "examples": examples, "train_loss": train_loss,
               "train_acc": train_acc, "test_loss": ev["loss"], "test_acc": ev["acc"],
               "lr": float(optimizer.param_groups[0]["lr"]), "seconds": time.perf_counter() - t_start,
               "train_seconds": train_time, "diverged": diverged}
        if bar is not None:
            bar.set_postfix(loss=f"{train_loss:.3g}", test_acc=f"{ev['acc']:.3f}", refresh=False)
        return rec

    def flush(diverged=False):
        nonlocal acc_loss, acc_correct, acc_batches, acc_examples
        tl = float(acc_loss) / max(acc_batches, 1)
        ta = float(acc_correct) / max(acc_examples, 1) if classification else math.nan
        if not math.isfinite(tl):
            diverged = True
        acc_loss.zero_()
        acc_correct.zero_()
        acc_batches, acc_examples = 0, 0
        return record(tl, ta, diverged)

    try:
        if log_initial:
            init = evaluate(net, X, y)
            yield record(init["loss"], init["acc"])
        stop = max_steps == 0
        last_recorded = 0
        for epoch in range(epochs):
            if stop:
                break
            net.train()
            idx_all = order_fn(epoch, n, gen)
            if not isinstance(idx_all, torch.Tensor):
                idx_all = torch.as_tensor(np.asarray(idx_all))
            idx_all = idx_all.to(device=device, dtype=torch.long)
            m = len(idx_all)
            for start in range(0, m, batch_size):
                idx = idx_all[start:start + batch_size]
                if _skip_batch(len(idx), start, batch_size, drop_last):
                    continue  # batch norm cannot normalize one example, and a tiny batch gives wild statistics
                t0 = time.perf_counter()
                if lr_schedule is not None:
                    for g, base in zip(optimizer.param_groups, base_lrs):
                        g["lr"] = lr_schedule(base, step)
                Xb, yb = X[idx], y[idx]
                out = net(Xb)
                if isinstance(out, tuple):
                    logits, aux = out
                    batch_loss = loss_fn(logits, yb, Xb, idx)
                    if aux and aux_weight > 0:
                        batch_loss = batch_loss + aux_weight * sum(loss_fn(a, yb, Xb, idx) for a in aux) / len(aux)
                else:
                    logits = out
                    batch_loss = loss_fn(logits, yb, Xb, idx)
                optimizer.zero_grad(set_to_none=True)
                batch_loss.backward()
                if clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), clip_norm)
                optimizer.step()
                step += 1
                examples += len(idx)
                epoch_float = epoch + min(start + batch_size, m) / m
                detached = batch_loss.detach()
                acc_loss += detached
                acc_batches += 1
                if classification:
                    acc_correct += (logits.detach().argmax(1) == yb).sum()
                    acc_examples += len(idx)
                train_time += time.perf_counter() - t0
                if bar is not None:
                    bar.update(1)
                if callback is not None and callback(net, step, detached) is False:
                    stop = True
                if max_steps is not None and step >= max_steps:
                    stop = True
                if (eval_every is not None and step % eval_every == 0) or stop:
                    rec = flush()
                    last_recorded = step
                    yield rec
                    if rec["diverged"]:
                        return
                if stop:
                    break
            if torch_sched is not None:
                torch_sched.step()
            if eval_every is None and not stop and step > last_recorded:
                epoch_float = float(epoch + 1)
                rec = flush()
                last_recorded = step
                yield rec
                if rec["diverged"]:
                    return
        if eval_every is not None and step > last_recorded:
            yield flush()
    finally:
        if bar is not None:
            bar.close()
        net.train(was_training)


class History:
    """All records of a :func:`fit` run. ``hist["test_acc"]`` is a numpy array over records; ``hist.last`` the
    final record; ``hist.diverged`` whether the run diverged. Example: ``run(net, ds, "adam").last["test_acc"]``"""

    def __init__(self, records: list[dict]):
        self.records = list(records)

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in RECORD_KEYS and (not self.records or key not in self.records[0]):
            raise KeyError(f"unknown key {key!r}; records have {', '.join(RECORD_KEYS)}")
        return np.array([r[key] for r in self.records], dtype=float)

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def last(self) -> dict:
        """The final record."""
        return self.records[-1]

    @property
    def diverged(self) -> bool:
        """True if training stopped because the loss was no longer finite."""
        return bool(self.records and self.records[-1]["diverged"])

    def __repr__(self):
        if not self.records:
            return "History(empty)"
        r = self.last
        return (f"History({len(self)} records, step {r['step']}, train_loss {r['train_loss']:.4g}, "
                f"test_acc {r['test_acc']:.4g}{', diverged' if r['diverged'] else ''})")


def run(net, data, opt, epochs: int = 10, batch_size: int = 64, **kwargs) -> History:
    """Run :func:`fit` to the end and return its records as a :class:`History` (same arguments as ``fit``).

    Example: ``hist = run(net, data.digits(), optim.SGD(lr=0.1), epochs=5, progress=False); hist["test_acc"][-1]``
    """
    return History(fit(net, data, opt, epochs, batch_size, **kwargs))
