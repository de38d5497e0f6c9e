"""Training loop for in-memory data, written as a generator of metrics so widgets draw live and tests run headless.

Introduced in lecture 07 (batch norm) and used by lecture 08. The data stay on the device; each
minibatch is a slice of one ``torch.randperm`` per epoch (drawn with a seeded ``torch.Generator`` on the CPU, so
the order is the same on every device), with no ``DataLoader`` in between. Any optimizer works: a
``torch.optim`` instance, a ``torch.optim`` class plus ``opt_kwargs``, one of ours from
:mod:`lecture_utils.optim` (converted with ``.to_torch``), or a name for :func:`lecture_utils.optim.make`. How the
data are walked (accepted forms, the order of each epoch, which short batch is skipped, how a loss is called) is
in :mod:`lecture_utils.training.batching`.

Example (1,347 training digits in batches of 128: 10 full batches and one of 67, kept)::

    >>> from lecture_utils import optim, set_seed
    >>> from lecture_utils.training import data, nets, train
    >>> set_seed(0)
    0
    >>> ds, net = data.digits(), nets.MLP(64, hidden=(32,), out_dim=10)
    >>> for rec in train.fit(net, ds, optim.SGD(lr=0.1, momentum=0.9), epochs=2, batch_size=128, progress=False):
    ...     print(rec["epoch"], rec["step"], rec["examples"])   # also train_loss, test_acc, lr, seconds, ...
    0.0 0 0
    1.0 11 1347
    2.0 22 2694
    >>> hist = train.run(net, ds, "adam", epochs=1, opt_kwargs={"lr": 1e-3}, progress=False)   # all records at once
    >>> hist["step"]                              # numpy arrays, one entry per record
    array([ 0., 21.])
"""
from __future__ import annotations

import math
import time
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_int, check_real
from ..optim import scheduled_lr
from .batching import DROP_LAST, MAX_STEPS, MinibatchLoop, check_order, loss_caller, steps_per_epoch, unpack_data
from .nets import main_output
from .optimizers import make_optimizer

__all__ = ["fit", "run", "History", "evaluate", "task_loss", "RECORD_KEYS"]

#: Keys of every record that :func:`fit` yields.
RECORD_KEYS = ("step", "epoch", "examples", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
               "train_seconds", "diverged")


# ---------------------------------------------------------------------------------------------------------
# Losses and evaluation
# ---------------------------------------------------------------------------------------------------------
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
class _Metrics:
    """Mean minibatch loss and accuracy since the last record, summed on the device (one sync per record)."""

    def __init__(self, device: torch.device, classification: bool):
        dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.loss = torch.zeros((), device=device, dtype=dtype)
        self.correct = torch.zeros((), device=device, dtype=dtype)
        self.batches, self.examples = 0, 0
        self.classification = classification

    def add(self, batch_loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.loss += batch_loss
        self.batches += 1
        if self.classification:
            self.correct += (logits.detach().argmax(1) == y).sum()
            self.examples += len(y)

    def flush(self) -> tuple[float, float]:
        """``(train_loss, train_acc)`` since the last flush; the sums start again from zero."""
        tl = float(self.loss) / max(self.batches, 1)
        ta = float(self.correct) / max(self.examples, 1) if self.classification else math.nan
        self.loss.zero_()
        self.correct.zero_()
        self.batches, self.examples = 0, 0
        return tl, ta


def _placed(net, data, device):
    """The net and the data on one device, floating-point data in the net's dtype."""
    from ..device import get_device

    X, y, X_test, y_test = unpack_data(data)
    if len(X) != len(y):
        raise ValueError(f"X_train and y_train differ in length: {len(X)} vs {len(y)}")
    if len(X) < 2:
        raise ValueError(f"need at least 2 training examples, got {len(X)}")
    if device is None:
        p0 = next(net.parameters(), None)
        device = p0.device if p0 is not None and p0.device.type != "cpu" else get_device()
    device = get_device(device, name="device")  # an unknown or unavailable device is a ValueError naming the available ones
    net.to(device)
    p0 = next(net.parameters(), None)
    dtype = p0.dtype if p0 is not None and p0.is_floating_point() else torch.float32

    def cast(t):
        if t is None:
            return None
        if not isinstance(t, torch.Tensor):  # numpy arrays (data sets made with device="numpy"), lists
            t = torch.as_tensor(np.asarray(t))
        return t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)

    X, y, X_test, y_test = cast(X), cast(y), cast(X_test), cast(y_test)
    _probe(net, X, y)
    return device, X, y, X_test, y_test


def _probe(net, X, y) -> None:
    """One forward pass on two examples, so that data the net cannot take fail now with a clear message."""
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            out = main_output(net(X[:2]))
    except (RuntimeError, IndexError, ValueError) as exc:
        raise ValueError(f"the net cannot take the inputs: X_train has shape {tuple(X.shape)} "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    finally:
        net.train(was_training)
    if _is_classification(y) and len(y) and (int(y.min()) < 0 or int(y.max()) >= out.shape[-1]):
        raise ValueError(f"class labels must lie in 0..{out.shape[-1] - 1} for a net with {out.shape[-1]} outputs, "
                         f"got labels {int(y.min())}..{int(y.max())}")
    if not _is_classification(y) and y.dim() == 1 and out.shape[-1] != 1:
        raise ValueError(f"y_train holds {'floats' if y.is_floating_point() else 'values'} of shape {tuple(y.shape)}, "
                         f"but the net has {out.shape[-1]} outputs: integer class labels (torch.long) train a "
                         f"classifier, targets of shape (n, {out.shape[-1]}) a regression")


def _split_schedule(lr_schedule, optimizer):
    """``(schedule(base_lr, step) or None, torch lr_scheduler or None)`` from fit's ``lr_schedule``."""
    if lr_schedule is None:
        return None, None
    if isinstance(lr_schedule, torch.optim.lr_scheduler.LRScheduler):
        if lr_schedule.optimizer is not optimizer:
            raise ValueError("a torch lr_scheduler must be built on the optimizer instance passed as opt")
        return None, lr_schedule
    if not callable(lr_schedule):
        raise TypeError("lr_schedule must be a schedule(base_lr, step) -> lr or a torch lr_scheduler")
    return lr_schedule, None


class _Fit(MinibatchLoop):
    """The state of one :func:`fit` run; :meth:`records` is the generator ``fit`` returns."""

    def __init__(self, net, data, opt, epochs, batch_size, *, opt_kwargs, loss, aux_weight, lr_schedule, eval_every,
                 clip_norm, seed, order, callback, max_steps, log_initial, drop_last, device, progress):
        self.net, self.epochs, self.batch_size = net, epochs, batch_size
        self.aux_weight, self.eval_every, self.clip_norm = aux_weight, eval_every, clip_norm
        self.callback, self.max_steps, self.log_initial, self.drop_last = callback, max_steps, log_initial, drop_last
        self.device, self.X, self.y, self.X_test, self.y_test = _placed(net, data, device)
        self.optimizer = make_optimizer(opt, net.parameters(), **(opt_kwargs or {}))
        self.lr_fn, self.torch_sched = _split_schedule(lr_schedule, self.optimizer)
        self.base_lrs = [g["lr"] for g in self.optimizer.param_groups]
        self.loss_fn = loss_caller(loss, task_loss)
        self.order_fn = check_order(order)
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self.gen = torch.Generator().manual_seed(seed)
        self.metrics = _Metrics(self.device, _is_classification(self.y))
        n = len(self.X)
        per_epoch = steps_per_epoch(n, batch_size, drop_last)
        total = epochs * per_epoch
        if total > MAX_STEPS:
            raise ValueError(f"epochs={epochs} would take {total:,} steps; the largest allowed epochs is "
                             f"{MAX_STEPS // max(per_epoch, 1):,} here ({per_epoch} steps per epoch)")
        self.total_steps = total if max_steps is None else min(max_steps, total)
        self.progress = progress

    def record(self, train_loss, train_acc, diverged=False) -> dict:
        has_test = self.X_test is not None and len(self.X_test) > 0
        ev = evaluate(self.net, self.X_test, self.y_test) if has_test else {"loss": math.nan, "acc": math.nan}
        rec = {"step": self.step, "epoch": self.epoch_float, "examples": self.examples, "train_loss": train_loss,
               "train_acc": train_acc, "test_loss": ev["loss"], "test_acc": ev["acc"],
               "lr": float(self.optimizer.param_groups[0]["lr"]), "seconds": time.perf_counter() - self.t_start,
               "train_seconds": self.train_time, "diverged": diverged}
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{train_loss:.3g}", test_acc=f"{ev['acc']:.3f}", refresh=False)
        return rec

    def flush(self) -> dict:
        """The record of the steps since the last one; a training loss that is not finite marks divergence."""
        train_loss, train_acc = self.metrics.flush()
        return self.record(train_loss, train_acc, diverged=not math.isfinite(train_loss))

    def train_step(self, idx) -> torch.Tensor:
        """One optimizer step on the rows ``idx``; returns the detached minibatch loss."""
        if self.lr_fn is not None:
            for g, base in zip(self.optimizer.param_groups, self.base_lrs):
                g["lr"] = scheduled_lr(self.lr_fn, base, self.step)
        Xb, yb = self.X[idx], self.y[idx]
        out = self.net(Xb)
        logits, aux = out if isinstance(out, tuple) else (out, None)
        batch_loss = self.loss_fn(logits, yb, Xb, idx)
        if aux and self.aux_weight > 0:
            batch_loss = batch_loss + self.aux_weight * sum(self.loss_fn(a, yb, Xb, idx) for a in aux) / len(aux)
        self.optimizer.zero_grad(set_to_none=True)
        batch_loss.backward()
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.clip_norm)
        self.optimizer.step()
        detached = batch_loss.detach()
        self.metrics.add(detached, logits, yb)
        return detached

    def epoch_order(self, epoch: int) -> torch.Tensor:
        self.net.train()
        return self.as_indices(self.order_fn(epoch, len(self.X), self.gen))

    def call_back(self, loss) -> bool:
        return self.callback is None or self.callback(self.net, self.step, loss) is not False

    def initial_record(self) -> dict:
        init = evaluate(self.net, self.X, self.y)
        return self.record(init["loss"], init["acc"])

    def ends_training(self, rec: dict) -> bool:
        return rec["diverged"]

    def end_of_epoch(self) -> None:
        if self.torch_sched is not None:
            self.torch_sched.step()

    def start(self) -> None:
        self.was_training = self.net.training

    def finish(self) -> None:
        self.net.train(self.was_training)


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
        opt: optimizer in any form :func:`lecture_utils.training.optimizers.make_optimizer` accepts (e.g. ``optim.SGD(lr=0.1)``,
            ``torch.optim.Adam`` with ``opt_kwargs={"lr": 1e-3}``, ``"momentum"``, or a built instance).
        epochs: passes over the training data.
        batch_size: examples per step.
        opt_kwargs: hyperparameters when ``opt`` is a class or a name.
        loss: ``None`` = :func:`task_loss` (cross-entropy or MSE); or a callable ``loss(y_hat, y)`` on the main
            output, which may also take keyword arguments ``X`` (the minibatch inputs) and ``idx`` (their indices
            into the training set), e.g. for distillation. The test loss is always :func:`task_loss`.
        aux_weight: weight of the mean auxiliary-head loss (nets returning ``(logits, aux_list)``).
        lr_schedule: ``None``; a schedule from :mod:`lecture_utils.schedules` (``lr = schedule(base_lr, step)``
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
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    if opt_kwargs is not None and not isinstance(opt_kwargs, dict):
        raise TypeError(f"opt_kwargs must be a dict of hyperparameters such as {{'lr': 0.1}}, got "
                        f"{type(opt_kwargs).__name__} {opt_kwargs!r:.40}")
    if drop_last not in DROP_LAST:
        raise ValueError(f"drop_last must be True, False or 'auto'; got {drop_last!r}")
    # Arguments are checked here, when fit is called, not at the first next() of the generator.
    run_ = _Fit(net, data, opt, check_int("epochs", epochs, low=0), check_int("batch_size", batch_size, low=1),
                opt_kwargs=opt_kwargs, loss=loss, aux_weight=check_real("aux_weight", aux_weight, low=0.0),
                lr_schedule=lr_schedule, eval_every=check_int("eval_every", eval_every, low=1, allow_none=True),
                clip_norm=check_real("clip_norm", clip_norm, low=0.0, low_open=True, allow_none=True),
                seed=check_int("seed", seed, low=0, allow_none=True), order=order, callback=callback,
                max_steps=check_int("max_steps", max_steps, low=0, allow_none=True), log_initial=log_initial,
                drop_last=drop_last, device=device, progress=progress)
    return run_.records()


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
