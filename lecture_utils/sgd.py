"""Minibatch stochastic gradient descent (algorithm 8.1 of the Deep Learning book) in numpy, counting every
per-example gradient and the wall time of the updates (lecture 04), and early stopping on a validation curve.

The loop works on any "problem" of :mod:`lecture_utils.problems` (``n``, ``num_params``, ``loss(theta, idx)``,
``grad(theta, idx)``, ``example_grads(theta, idx)``); minibatches come from
:func:`lecture_utils.minibatch.epoch_batches`.

Example (softmax regression on the 1,347 training digits)::

    >>> from lecture_utils import problems, sgd
    >>> from lecture_utils.datasets import load_digits
    >>> X, y, X_val, y_val = load_digits()
    >>> prob = problems.SoftmaxRegression(X, y)
    >>> run = sgd.sgd(prob, prob.init(), lr=0.5, batch_size=32, num_epochs=5)
    >>> int(run.grad_evals[-1]), int(run.updates[-1])   # 5 * 1347 per-example gradients in 5 * 43 updates
    (6735, 215)
    >>> round(float(run.train_loss[0]), 4), bool(run.train_loss[-1] < 0.5)   # from log(10) at theta = 0
    (2.3026, True)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import as_generator, check_array, check_choice, check_int, check_real
from .minibatch import ORDERS, epoch_batches
from .problems import check_problem

__all__ = ["SGDRun", "sgd", "early_stopping"]

#: The most example gradients one call may compute (about an hour of numpy at this scale), and records per epoch.
MAX_EXAMPLES = 10**9
MAX_RECORDS_PER_EPOCH = 100_000


@dataclass
class SGDRun:
    """What :func:`sgd` returns. Recorded arrays all have one entry per record (the start is record 0).

    Attributes:
        label: legend text, e.g. ``'SGD, batch 32, lr 0.5'``.
        epochs: fractional epochs done (examples processed / n).
        updates: parameter updates done.
        grad_evals: per-example gradients computed (the same per epoch for every batch size).
        seconds: wall time spent in gradient steps (evaluation of the recorded losses excluded).
        train_loss: full training loss at the record; val_loss: validation loss (NaN without ``val``).
        avg_loss: training loss of the averaged iterate (NaN without averaging).
        thetas: ``(R, num_params)`` recorded iterates; avg_thetas likewise for the average.
        theta: last iterate; theta_avg: averaged iterate (None without averaging).
        diverged_at: update whose loss or parameters stopped being finite (training stops), -1 if none.
    """

    label: str
    batch_size: int
    lr: float
    epochs: np.ndarray
    updates: np.ndarray
    grad_evals: np.ndarray
    seconds: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    avg_loss: np.ndarray
    thetas: np.ndarray
    avg_thetas: np.ndarray | None
    theta: np.ndarray
    theta_avg: np.ndarray | None
    diverged_at: int = -1

    def status(self) -> str:
        if self.diverged_at >= 0:
            return f"diverged at update {self.diverged_at}"
        return f"loss {self.train_loss[-1]:.4g} after {self.epochs[-1]:g} epochs ({int(self.updates[-1])} updates)"


def sgd(problem, theta0, lr: float, batch_size: int, num_epochs: float = 1, *, order: str = "shuffle",
        lr_schedule: Callable[[float, int], float] | None = None, average_start: int | None = None,
        val=None, records_per_epoch: int = 1, record_at=None, seed=0, callback: Callable | None = None, label: str | None = None
        ) -> SGDRun:
    """Minibatch stochastic gradient descent (algorithm 8.1 of the Deep Learning book), in numpy (lecture 04).

    Each epoch splits the data into minibatches by :func:`epoch_batches` (``order``) and makes one update
    ``theta <- theta - lr_k * mean gradient of the batch`` per batch. ``batch_size=problem.n`` with
    ``order="fixed"`` is batch gradient descent, ``batch_size=1`` is plain SGD.

    Args:
        problem: a problem (e.g. :class:`~lecture_utils.problems.SoftmaxRegression`).
        theta0: start, ``(num_params,)``.
        lr: base learning rate; lr_schedule: ``schedule(lr, update) -> rate`` (``schedules.StepLR``,
            ``schedules.InverseTimeLR``, ...), evaluated at the 0-based update count.
        batch_size: rows per minibatch; num_epochs: passes over the data (a fraction stops mid-epoch).
        order: "shuffle", "replacement", "fixed" or "sorted" (see :func:`epoch_batches`).
        average_start: keep a running uniform average of the iterates from this update on (None: no average).
        val: a second problem on held-out data whose loss is recorded too.
        records_per_epoch: how often the full losses are evaluated and recorded.
        record_at: update counts at which to record instead (e.g. ``np.geomspace(1, 10_000, 40)`` for a
            log-scale axis); the start and the end are always recorded.
        seed: seed (or Generator) of the data order.
        callback: called as ``callback(run_so_far_dict)`` at every record, e.g. to draw live.
    Returns:
        :class:`SGDRun`. Example: ``sgd(prob, prob.init(), lr=0.5, batch_size=32, num_epochs=3).status()``
    """
    check_problem(problem)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    batch_size = check_int("batch_size", batch_size, low=1, high=problem.n)
    num_epochs = check_real("num_epochs", num_epochs, low=0.0, low_open=True)
    check_choice("order", order, ORDERS)
    average_start = check_int("average_start", average_start, low=0, allow_none=True)
    records_per_epoch = check_int("records_per_epoch", records_per_epoch, low=1, high=MAX_RECORDS_PER_EPOCH)
    if num_epochs * problem.n > MAX_EXAMPLES:
        raise ValueError(f"num_epochs={num_epochs:g} means {num_epochs * problem.n:.3g} example gradients on "
                         f"{problem.n} examples; the largest allowed num_epochs is {MAX_EXAMPLES // problem.n:,}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError("lr_schedule must be a callable schedule(base_lr, step)")
    theta = check_array("theta0", theta0, ndim=1).copy()
    if theta.shape != (problem.num_params,):
        raise ValueError(f"theta0 must have shape ({problem.num_params},), got {theta.shape}")
    if val is not None:
        check_problem(val, "val")
    at = None
    if record_at is not None:
        at = np.unique(np.round(check_array("record_at", record_at, ndim=1)).astype(np.int64))
        at = set(at[at > 0].tolist())
    rng = as_generator(seed)
    n = problem.n
    labels = getattr(problem, "y", None)
    budget = int(round(num_epochs * n))
    rec = _Records(problem, val, average_start, callback)
    # Our own problems offer an unchecked batch gradient; the indices come from epoch_batches, so they are valid.
    batch_grad = getattr(problem, "batch_grad", problem.grad)
    rec.record(theta)
    diverged_at = -1
    with np.errstate(all="ignore"):
        while rec.evals < budget and diverged_at < 0:
            batches = epoch_batches(n, batch_size, order=order, rng=rng, labels=labels)
            nb = len(batches)
            marks = {min(nb - 1, int(math.ceil((r + 1) * nb / records_per_epoch)) - 1) for r in range(records_per_epoch)}
            for j, idx in enumerate(batches):
                if rec.evals >= budget:
                    break
                step_lr = lr if lr_schedule is None else float(lr_schedule(lr, rec.updates))
                t0 = time.perf_counter()
                theta = theta - step_lr * batch_grad(theta, idx)
                rec.seconds += time.perf_counter() - t0
                rec.updates += 1
                rec.evals += len(idx)
                if not np.isfinite(theta).all():
                    diverged_at = rec.updates
                    theta = rec.thetas[-1].copy()
                    break
                rec.average(theta)
                if (rec.updates in at if at is not None else j in marks) or rec.evals >= budget:
                    rec.record(theta)
                    if not np.isfinite(rec.train_loss[-1]):
                        diverged_at = rec.updates
                        break
    kind = "batch GD" if batch_size == n else ("SGD" if batch_size == 1 else f"minibatch {batch_size}")
    return rec.result(label or f"{kind}, lr {lr:g}", batch_size, lr, theta, diverged_at)


class _Records:
    """What :func:`sgd` records: counters, losses, iterates and the running average of the iterates."""

    def __init__(self, problem, val, average_start, callback):
        self.problem, self.val, self.average_start, self.callback = problem, val, average_start, callback
        self.updates, self.evals, self.seconds = 0, 0, 0.0
        self.avg, self.avg_count = None, 0
        self.keys = ("epochs", "updates", "grad_evals", "seconds", "train_loss", "val_loss", "avg_loss")
        self.rows = {k: [] for k in self.keys}
        self.thetas, self.avg_thetas = [], []

    @property
    def train_loss(self) -> list:
        return self.rows["train_loss"]

    def average(self, theta) -> None:
        """Fold ``theta`` into the uniform running average once ``average_start`` updates are done."""
        if self.average_start is not None and self.updates > self.average_start:
            self.avg_count += 1
            self.avg = theta.copy() if self.avg is None else self.avg + (theta - self.avg) / self.avg_count

    def record(self, theta) -> None:
        r = self.rows
        r["epochs"].append(self.evals / self.problem.n)
        r["updates"].append(self.updates)
        r["grad_evals"].append(self.evals)
        r["seconds"].append(self.seconds)
        r["train_loss"].append(self.problem.loss(theta))
        r["val_loss"].append(self.val.loss(theta) if self.val is not None else np.nan)
        self.thetas.append(theta.copy())
        if self.average_start is not None:
            a = self.avg if self.avg is not None else theta
            r["avg_loss"].append(self.problem.loss(a))
            self.avg_thetas.append(a.copy())
        else:
            r["avg_loss"].append(np.nan)
        if self.callback is not None:
            self.callback({**r, "thetas": self.thetas, "avg_thetas": self.avg_thetas})

    def result(self, label, batch_size, lr, theta, diverged_at) -> SGDRun:
        averaging = self.average_start is not None
        theta_avg = (self.avg if self.avg is not None else theta.copy()) if averaging else None
        return SGDRun(label=label, batch_size=batch_size, lr=lr, thetas=np.array(self.thetas),
                      avg_thetas=np.array(self.avg_thetas) if averaging else None, theta=theta, theta_avg=theta_avg,
                      diverged_at=diverged_at, **{k: np.array(v) for k, v in self.rows.items()})


def early_stopping(val_losses, patience: int = 10) -> tuple[int, int]:
    """Where early stopping with ``patience`` stops, and which recorded point it keeps (lecture 04).

    Training stops at the first record that is ``patience`` records past the best validation loss so far;
    the parameters kept are those of the best record.

    Args:
        val_losses: ``(R,)`` validation losses in recording order; patience: records to wait (>= 1).
    Returns:
        ``(best_index, stop_index)``; ``stop_index`` is ``R - 1`` if patience never ran out.
    Example: ``early_stopping([3, 2, 1, 2, 3, 4], patience=2)  # (2, 4)``
    """
    v = check_array("val_losses", val_losses, ndim=1, allow_nan=True)
    patience = check_int("patience", patience, low=1)
    if v.size == 0:
        raise ValueError("val_losses is empty")
    best, best_val = 0, v[0] if np.isfinite(v[0]) else np.inf
    for i in range(1, len(v)):
        if np.isfinite(v[i]) and v[i] < best_val:
            best, best_val = i, v[i]
        elif i - best >= patience:
            return best, i
    return best, len(v) - 1
