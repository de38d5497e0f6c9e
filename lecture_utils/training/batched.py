"""Train K small nets at once (K seeds, or K learning rates) with one batched forward and backward for all K.

Introduced in lecture 07 (how often batch norm beats the plain net, over seeds and learning rates) and used in
lecture 08 (averaging, distillation, curricula, auxiliary heads over several seeds): a claim about a random effect
is stated as "in k of n seeds, median, range" at little more than the price of one run. Each model keeps its own
initialization (the nets you pass), its own data order (its own seed) and its own batch-norm statistics, and
follows the same trajectory as :func:`lecture_utils.training.train.fit` on that net alone, step for step: the
data walk is :mod:`lecture_utils.training.batching`'s, the stacked model
:class:`lecture_utils.training.stacked.StackedMLP`.

Example (three seeds of a small net, each with its own initialization and data order)::

    >>> import torch
    >>> from lecture_utils.training import batched, data, nets
    >>> models = []
    >>> for seed in range(3):
    ...     _ = torch.manual_seed(seed)
    ...     models.append(nets.MLP(2, (16,), 3))
    >>> res = batched.run_many(models, data.blobs(n=200, seed=0), "sgd", epochs=5, batch_size=32, seeds=[0, 1, 2],
    ...                        opt_kwargs={"lr": 0.1}, progress=False)
    >>> res["test_acc"].shape, res.net(2) is models[2]        # (K, records); the nets are trained in place
    ((3, 6), True)
"""
from __future__ import annotations

import inspect
import math
import time
from typing import Callable, Iterator

import numpy as np
import torch

from .._validate import check_choice, check_int, check_real
from ..optim import scheduled_lr
from .batching import DROP_LAST, MAX_STEPS, MinibatchLoop, check_order, loss_caller, steps_per_epoch, unpack_data
from .stacked import StackedMLP, StackedOptimizer, task_losses
from .train import RECORD_KEYS, History

__all__ = ["fit_many", "run_many", "BatchedHistory", "PER_MODEL_KEYS", "AVERAGES"]

#: Record keys that hold one value per model, ``(K,)`` arrays (the others, step, epoch, ..., are shared).
PER_MODEL_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "diverged")
#: The kinds of parameter average :func:`fit_many` can keep.
AVERAGES = ("uniform", "exponential")


def _per_model(name, values, K):
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of {K} values (one per net), got {values!r}") from None
    if len(values) != K:
        raise ValueError(f"{name} must have one value per net: {K} nets but {len(values)} {name}")
    return values


class _ManyFit(MinibatchLoop):
    """The state of one :func:`fit_many` run; :meth:`records` is the generator ``fit_many`` returns."""

    def __init__(self, nets, data, opt, epochs, batch_size, *, seeds, lrs, opt_kwargs, loss, aux_weight,
                 lr_schedule, eval_every, clip_norm, order, average, average_decay, callback, max_steps,
                 log_initial, drop_last, device, progress):
        from ..device import get_device

        self.epochs = check_int("epochs", epochs, low=0)
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.aux_weight = check_real("aux_weight", aux_weight, low=0.0)
        self.eval_every = check_int("eval_every", eval_every, low=1, allow_none=True)
        self.clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_open=True, allow_none=True)
        self.max_steps = check_int("max_steps", max_steps, low=0, allow_none=True)
        self.average_decay = check_real("average_decay", average_decay, low=0.0, high=1.0, high_open=True)
        self.average = None if average is None else check_choice("average", average, AVERAGES)
        self.drop_last = check_choice("drop_last", drop_last, DROP_LAST)
        self.order_fn = check_order(order)
        if lr_schedule is not None and (isinstance(lr_schedule, torch.optim.lr_scheduler.LRScheduler)
                                        or not callable(lr_schedule)):
            raise TypeError("lr_schedule must be None or a schedule(base_lr, step) -> lr from lecture_utils.schedules "
                            "(a torch lr_scheduler is bound to one optimizer)")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        self.lr_schedule, self.callback, self.log_initial, self.progress = lr_schedule, callback, log_initial, progress
        self.optimizer = StackedOptimizer.from_spec(opt, opt_kwargs)
        self.loss_fn = None if loss is None else loss_caller(loss, None)
        if isinstance(nets, torch.nn.Module) or not hasattr(nets, "__len__"):
            raise TypeError(f"nets must be a list of nets.MLP, got {type(nets).__name__}")
        self.nets = list(nets)
        for k, net in enumerate(self.nets):
            if not isinstance(net, torch.nn.Module):
                raise TypeError(f"nets[{k}] must be a nets.MLP, got {type(net).__name__}")
        X, y, X_test, y_test = unpack_data(data)
        if len(X) != len(y) or len(X) < 2:
            raise ValueError(f"X_train and y_train need one length >= 2, got {len(X)} and {len(y)}")
        p0 = next(self.nets[0].parameters(), None) if self.nets else None
        if device is None:
            device = p0.device if p0 is not None and p0.device.type != "cpu" else get_device()
        self.device = torch.device(device)
        if p0 is not None and p0.device != self.device:  # fit moves its net too
            self.nets = [net.to(self.device) for net in self.nets]
        self.stack = StackedMLP(self.nets)
        K = self.K = self.stack.K
        if seeds is None:  # as fit draws its seed
            seeds = [int(torch.randint(0, 2**62, (1,)).item()) for _ in range(K)]
        self.seeds = [check_int(f"seeds[{k}]", s, low=0) for k, s in enumerate(_per_model("seeds", seeds, K))]
        self.base_lrs = [self.optimizer.lr] * K if lrs is None else \
            [check_real(f"lrs[{k}]", v, low=0.0, low_open=True) for k, v in enumerate(_per_model("lrs", lrs, K))]
        self.lr = list(self.base_lrs)
        dtype = self.stack.flat.dtype
        cast = lambda t: None if t is None else t.to(self.device, dtype if t.is_floating_point() else t.dtype)  # noqa
        self.X, self.y, self.X_test, self.y_test = cast(X), cast(y), cast(X_test), cast(y_test)
        self.classification = self.y.dim() == 1 and not torch.is_floating_point(self.y)
        self.gens = [torch.Generator().manual_seed(s) for s in self.seeds]
        per_epoch = steps_per_epoch(len(self.X), self.batch_size, self.drop_last)
        total = self.epochs * per_epoch
        if total > MAX_STEPS:
            raise ValueError(f"epochs={self.epochs} would take {total:,} steps; the largest allowed epochs is "
                             f"{MAX_STEPS // max(per_epoch, 1):,} here ({per_epoch} steps per epoch)")
        self.total_steps = total if self.max_steps is None else min(self.max_steps, total)
        self.avg, self.num_averaged = None, 0
        self.alive, self.everyone = torch.ones(K, dtype=torch.bool, device=self.device), True  # all K alive
        self.reported = np.zeros(K, dtype=bool)  # diverged and said so: NaN from then on
        self.diverged_at = np.full(K, -1)
        self.sum_loss = torch.zeros(K, dtype=torch.float64, device=self.device)
        self.sum_correct = torch.zeros(K, dtype=torch.float64, device=self.device)
        self.batches = self.examples_since = 0
        self.progress_label = f"training {K} nets"

    def record(self, train_loss, train_acc) -> dict:
        nan = np.full(self.K, math.nan)
        dead = ~self.alive.cpu().numpy()
        has_test = self.X_test is not None and len(self.X_test) > 0
        test = self.stack.evaluate(self.X_test, self.y_test) if has_test else (nan, nan)
        rec = {"step": self.step, "epoch": self.epoch_float, "examples": self.examples,
               "train_loss": np.where(self.reported, nan, train_loss), "train_acc": np.where(dead, nan, train_acc),
               "test_loss": np.where(dead, nan, test[0]), "test_acc": np.where(dead, nan, test[1]),
               "lr": np.array(self.lr, dtype=float), "seconds": time.perf_counter() - self.t_start,
               "train_seconds": self.train_time, "diverged": dead}
        if self.average is not None:
            ev = self.stack.evaluate(self.X_test, self.y_test, self.avg) if has_test and self.avg is not None \
                else test
            rec["average_test_loss"], rec["average_test_acc"] = np.where(dead, nan, ev[0]), np.where(dead, nan, ev[1])
        self.reported |= dead
        if self.bar is not None:
            self.bar.set_postfix(median_loss=f"{_median(rec['train_loss']):.3g}", refresh=False)
        return rec

    def flush(self) -> dict:
        """The record of the steps since the last one (per model, the mean minibatch loss and accuracy)."""
        tl = (self.sum_loss / max(self.batches, 1)).cpu().numpy()
        ta = (self.sum_correct / max(self.examples_since, 1)).cpu().numpy() if self.classification else \
            np.full(self.K, math.nan)
        self.sum_loss.zero_()
        self.sum_correct.zero_()
        self.batches = self.examples_since = 0
        return self.record(tl, ta)

    def losses(self, idx):
        """Every model's training loss on its minibatch ``idx[k]``, ``(K,)`` (with fit's aux term), and logits."""
        Xb, yb = self.X[idx], self.y[idx]
        out = self.stack.forward(Xb)
        logits, aux = out if isinstance(out, tuple) else (out, [])
        use_aux = bool(aux) and self.aux_weight > 0
        if self.loss_fn is None:
            losses = task_losses(logits, yb)
            if use_aux:
                losses = losses + self.aux_weight * sum(task_losses(a, yb) for a in aux) / len(aux)
            return losses, logits, yb
        per = lambda o, k: self.loss_fn(o[k], yb[k], Xb[k], idx[k])  # noqa: E731
        w = self.aux_weight
        return torch.stack([per(logits, k) + (w * sum(per(a, k) for a in aux) / len(aux) if use_aux else 0)
                            for k in range(self.K)]), logits, yb

    def train_step(self, idx) -> torch.Tensor:
        """One optimizer step of every model still alive on its rows ``idx[k]``; returns the losses ``(K,)``."""
        stack = self.stack
        if self.lr_schedule is not None:
            self.lr = [scheduled_lr(self.lr_schedule, b, self.step) for b in self.base_lrs]
        bn_state = stack.batch_norm_state() if stack.bn_layers else None
        losses, logits, yb = self.losses(idx)
        stack.grad.zero_()
        losses.sum().backward()  # model k's parameters get only model k's gradient
        detached = losses.detach()
        finite = torch.isfinite(detached)
        hit = logits.detach().contiguous().argmax(-1) == yb if self.classification else None
        if not (self.everyone and bool(finite.all())):  # a model diverges: freeze it, the others go on
            detached = torch.where(self.alive, detached, 0)  # the non-finite loss itself is kept, as in fit
            hit = None if hit is None else hit & self.alive[:, None]
            self.diverged_at[(self.alive & ~finite).cpu().numpy()] = self.step + 1
            self.alive, self.everyone = self.alive & finite, False
        self.sum_loss += detached
        self.batches += 1
        if hit is not None:
            self.sum_correct += hit.sum(1)
            self.examples_since += idx.shape[1]
        if self.clip_norm is not None:  # as clip_grad_norm_, each model on its own gradient norm
            norms = torch.stack([q.grad.flatten(1).norm(dim=1) for q in stack.params], 1).norm(dim=1)
            stack.grad.mul_(stack.expand((self.clip_norm / (norms + 1e-6)).clamp(max=1.0)))
        frozen = None if self.everyone else stack.expand(~self.alive)
        lr = self.lr[0] if all(v == self.lr[0] for v in self.lr) else \
            stack.expand(torch.tensor(self.lr, dtype=stack.flat.dtype, device=self.device))
        self.optimizer.step(stack.flat, stack.grad, lr, frozen)
        if frozen is not None and bn_state is not None:  # frozen models keep their statistics too
            stack.restore_batch_norm_state(bn_state, ~self.alive)
        if self.average is not None:
            self._update_average(frozen)
        return detached

    @torch.no_grad()
    def _update_average(self, frozen):
        p = self.stack.flat  # the first update copies, as lecture_utils.averaging.ModelAverage does
        if self.avg is None:
            self.avg = p.clone()
        else:
            new = self.avg + (p - self.avg) / (self.num_averaged + 1) if self.average == "uniform" else \
                self.avg * self.average_decay + p * (1 - self.average_decay)
            self.avg = new if frozen is None else torch.where(frozen, self.avg, new)
        self.num_averaged += 1

    def epoch_order(self, epoch: int) -> torch.Tensor:
        n = len(self.X)
        orders = [self.as_indices(self.order_fn(epoch, n, g)) for g in self.gens]
        if len({len(i) for i in orders}) > 1:
            raise ValueError(f"order returned different numbers of indices for the models in epoch {epoch}: "
                             f"{sorted({len(i) for i in orders})}; batched training needs the same number")
        return torch.stack(orders)

    def call_back(self, losses) -> bool:
        return self.callback is None or self.callback(self.stack, self.step, losses) is not False

    def exhausted(self) -> bool:
        return not bool(self.alive.any())

    def initial_record(self) -> dict:
        return self.record(*self.stack.evaluate(self.X, self.y))

    def start(self) -> None:
        self.was_training = [net.training for net in self.nets]

    def finish(self) -> None:
        for k, net in enumerate(self.nets):  # the nets end up trained, as fit's net does
            self.stack.write_to(net, k)
            net.train(self.was_training[k])


def fit_many(nets, data, opt, epochs: int = 10, batch_size: int = 64, *, seeds=None, lrs=None,
             opt_kwargs: dict | None = None, loss: Callable | None = None, aux_weight: float = 0.3,
             lr_schedule=None, eval_every: int | None = None, clip_norm: float | None = None,
             order: Callable | str | None = None, average: str | None = None, average_decay: float = 0.99,
             callback: Callable | None = None, max_steps: int | None = None, log_initial: bool = True,
             drop_last: bool | str = "auto", device=None, progress: bool = True) -> Iterator[dict]:
    """Train K nets together, yielding one record per epoch (or every ``eval_every`` steps) for all of them.

    Model k follows :func:`lecture_utils.training.train.fit` on ``nets[k]`` with ``seed=seeds[k]`` (and learning
    rate ``lrs[k]``). A record has the keys of :data:`lecture_utils.training.train.RECORD_KEYS`; those in
    :data:`PER_MODEL_KEYS` are ``(K,)`` numpy arrays. A model whose loss stops being finite is frozen at its last
    weights; its ``diverged`` is True from the next record on (whose ``train_loss`` is not finite, as fit's) and
    its other values are NaN, while the others train on. With ``average``, records also have
    ``average_test_loss`` and ``average_test_acc`` ``(K,)``. At the end the nets hold their trained weights and
    batch-norm statistics (as ``fit`` trains its net in place). Arguments are checked when it is called.

    Args:
        nets: K >= 1 initialized :class:`lecture_utils.training.nets.MLP` of one architecture (e.g. each built
            after ``set_seed(seed_k)``); :class:`~lecture_utils.training.stacked.StackedMLP` says what is supported.
        data: a :class:`lecture_utils.training.data.Dataset`, ``(X_train, y_train, X_test, y_test)`` or ``(X, y)``.
        opt: ``torch.optim.SGD``, ``Adam`` or ``AdamW`` (with ``opt_kwargs``), a name such as ``"momentum"``
            (:func:`lecture_utils.optim.make`), or ``lecture_utils.optim``'s ``SGD``, ``Adam``, ``AdamW``.
        epochs, batch_size, opt_kwargs, aux_weight, eval_every, max_steps, log_initial, drop_last, progress: as
            in ``fit``. clip_norm: clip each model's own gradient norm to this value.
        seeds: K data-order seeds (``None``: K seeds drawn from torch's global generator, as ``fit`` draws one).
        lrs: K learning rates replacing the optimizer's ``lr`` (``None``: the optimizer's for every model).
        loss: ``None`` (cross-entropy or MSE) or ``loss(y_hat, y[, X=..., idx=...])`` as in ``fit``, called per
            model on its ``(B, C)`` outputs and its own minibatch indices (distillation works unchanged).
        lr_schedule: ``None`` or a :mod:`lecture_utils.schedules` schedule: ``lr = schedule(lr_k, step)`` each step.
        order: ``None``, ``"sequential"`` or ``order(epoch, n, generator)`` as in ``fit``, called with each model's
            generator; it must return the same number of indices for every model.
        average: ``None``, ``"uniform"`` or ``"exponential"`` (decay ``average_decay``): a Polyak average of each
            model's parameters after every step, as :class:`lecture_utils.averaging.ModelAverage` keeps.
        callback: ``callback(stack, step, losses)`` after every step (the ``StackedMLP``, losses ``(K,)``);
            returning ``False`` stops.
        device: where to train; ``None`` = the nets' device if not the CPU, else :func:`lecture_utils.get_device`.
    Yields:
        dict per record (see above).
    Example: ``for rec in fit_many(models, ds, "adam", seeds=range(4)): print(rec["test_acc"])``
    """
    return _ManyFit(nets, data, opt, epochs, batch_size, seeds=seeds, lrs=lrs, opt_kwargs=opt_kwargs, loss=loss,
                    aux_weight=aux_weight, lr_schedule=lr_schedule, eval_every=eval_every, clip_norm=clip_norm,
                    order=order, average=average, average_decay=average_decay, callback=callback,
                    max_steps=max_steps, log_initial=log_initial, drop_last=drop_last, device=device,
                    progress=progress).records()


def _median(values) -> float:
    """Median of the finite values (NaN if none, without numpy's all-NaN warning)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else math.nan


def _index(k, K):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < K:
        raise ValueError(f"k must be an int in [0, {K - 1}], got {k!r}")
    return int(k)


class BatchedHistory(History):
    """All records of a :func:`run_many` run. ``res["test_acc"]`` is a ``(K, num_records)`` array (shared keys
    such as ``step`` repeat on every row); ``res.net(k)`` the trained net k; ``res.history(k)`` model k's records
    as a :class:`lecture_utils.training.train.History`. Example: ``run_many(models, ds, "adam").last["test_acc"]``

    Attributes: seeds ``(K,)``; lrs ``(K,)`` the base learning rates; diverged_at ``(K,)`` the 1-based step whose
    loss was not finite (-1 for a model that never diverged).
    """

    def __init__(self, records, run: _ManyFit):
        super().__init__(records)
        self.nets, self.K = run.nets, run.K
        self.seeds, self.lrs = np.array(run.seeds), np.array(run.base_lrs)
        self.diverged_at = run.diverged_at.copy()
        self._stack, self._average = run.stack, run.avg

    def __getitem__(self, key: str) -> np.ndarray:
        if not self.records or key not in self.records[0]:
            raise KeyError(f"unknown key {key!r}; records have {', '.join(RECORD_KEYS)}")
        return np.stack([np.broadcast_to(np.asarray(r[key], dtype=float), (self.K,)) for r in self.records], 1)

    @property
    def diverged(self) -> np.ndarray:
        """``(K,)`` bool: which models stopped because their loss was no longer finite."""
        return self.diverged_at >= 0

    def net(self, k: int):
        """Trained net ``k``: the k-th net passed in, trained in place. Example: ``res.net(0)(X)``"""
        return self.nets[_index(k, self.K)]

    def average_net(self, k: int):
        """Net ``k`` with its averaged parameters (and its final batch-norm statistics), as a new module."""
        if self._average is None:
            raise ValueError("no average was kept: pass average='uniform' or 'exponential' to run_many")
        return self._stack.net(_index(k, self.K), self._average)

    def history(self, k: int) -> History:
        """Model ``k``'s records as ``train.fit`` would yield them for it alone (up to its diverged record)."""
        k, out = _index(k, self.K), []
        for r in self.records:
            out.append({key: (v[k].item() if isinstance(v, np.ndarray) else v) for key, v in r.items()})
            if out[-1]["diverged"]:
                break
        return History(out)

    def __repr__(self):
        if not self.records:
            return f"BatchedHistory({self.K} nets, empty)"
        return (f"BatchedHistory({self.K} nets, {len(self)} records, step {self.last['step']}, median test_acc "
                f"{_median(self.last['test_acc']):.4g}, {int(self.diverged.sum())} diverged)")


def run_many(nets, data, opt, epochs: int = 10, batch_size: int = 64, **kwargs) -> BatchedHistory:
    """Run :func:`fit_many` to the end (same arguments) and return its records as a :class:`BatchedHistory`.

    Example: ``res = run_many(models, data.digits(), optim.SGD(lr=0.1), seeds=range(len(models)), progress=False)``
    """
    run = _ManyFit(nets, data, opt, epochs, batch_size, **{**_DEFAULTS, **kwargs})
    return BatchedHistory(list(run.records()), run)


_DEFAULTS = {name: p.default for name, p in inspect.signature(fit_many).parameters.items()
             if p.kind is p.KEYWORD_ONLY}  # run_many passes fit_many's defaults for what it is not given
