"""How smooth is the loss along the gradient? Santurkar et al. (2018)'s measurements, and layer-input
percentiles for internal covariate shift (Ioffe & Szegedy 2015).

Introduced in lecture 07. At parameters ``theta`` with minibatch gradient ``g = grad L(theta)``, for each step
size ``eta`` in ``etas`` (default 8 values in ``[0.05, 0.4]``):

- **loss variation**: the values ``L(theta - eta g)``; their spread ``max - min`` over ``eta`` is small when the
  loss changes predictably along the gradient;
- **gradient predictiveness**: ``||grad L(theta) - grad L(theta - eta g)||``; small values mean the gradient here
  still describes the gradient a step away;
- **effective beta-smoothness**: ``max_eta ||grad L(theta) - grad L(theta - eta g)|| / (eta ||g||)``, a local
  Lipschitz constant of the gradient along the step.

The loss is the training loss on one minibatch with the net in training mode (batch norm uses that batch's
statistics, as during training); nothing in the net changes (running statistics included). Everything is
deterministic given the ``seed``.

Example::

    >>> from lecture_utils import optim, set_seed
    >>> from lecture_utils.training import data, landscape, nets
    >>> set_seed(0)
    0
    >>> ds, net = data.digits(), nets.MLP(64, (32,), 10)
    >>> p = landscape.probe(net, ds.X_train[:64], ds.y_train[:64])   # one point, the 8 default step sizes
    >>> p.losses.shape, p.grad_diffs.shape, bool(p.beta > 0)
    ((8,), (8,), True)
    >>> trace = landscape.track(net, ds, optim.SGD(lr=0.1), epochs=1, seed=0, progress=False)
    >>> trace.steps, trace.loss_range().shape     # probed every 10 steps; max - min of the loss over eta
    (array([ 0, 10, 20]), (3,))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_array, check_int
from .nets import main_output

__all__ = ["DEFAULT_ETAS", "Probe", "probe", "Trace", "track", "layer_input_percentiles"]

#: Step sizes of Santurkar et al.'s measurements.
DEFAULT_ETAS = tuple(np.linspace(0.05, 0.4, 8).round(4))


@dataclass
class Probe:
    """Loss and gradient along the negative gradient at one point (see the module docstring).

    Attributes:
        etas: step sizes ``(E,)``.
        loss: ``L(theta)`` (float).
        grad_norm: ``||grad L(theta)||`` (float).
        losses: ``L(theta - eta g)`` for each eta, ``(E,)``.
        grad_diffs: ``||grad L(theta) - grad L(theta - eta g)||`` for each eta, ``(E,)``.
    """

    etas: np.ndarray
    loss: float
    grad_norm: float
    losses: np.ndarray
    grad_diffs: np.ndarray

    @property
    def beta(self) -> float:
        """Effective beta-smoothness: ``max_eta grad_diff / (eta * grad_norm)`` (NaN if the gradient is 0)."""
        if self.grad_norm == 0 or not np.isfinite(self.grad_diffs).all():
            return math.nan
        return float(np.max(self.grad_diffs / (self.etas * self.grad_norm)))


def _loss_and_grad(work, params, X, y, loss_fn):
    loss = loss_fn(main_output(work(X)), y)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    flat = torch.cat([(g if g is not None else torch.zeros_like(v)).reshape(-1) for g, v in zip(grads, params)])
    return loss.detach(), flat


def probe(net: torch.nn.Module, X, y, etas=DEFAULT_ETAS, *, loss=None) -> Probe:
    """Measure loss variation and gradient predictiveness at the net's current parameters on ``(X, y)``.

    The net is moved along ``-eta g`` in place and restored exactly afterwards (parameters, running statistics,
    mode; ``.grad`` is never touched), so do not call it from another thread while the net is in use.

    Args:
        net: the model (left unchanged: parameters, running statistics, train/eval mode).
        X: a minibatch of inputs ``(m, ...)``; y: labels ``(m,)`` or targets.
        etas: step sizes ``(E,)``, positive.
        loss: ``loss(y_hat, y)``; ``None`` = cross-entropy for labels, MSE for targets.
    Returns:
        :class:`Probe`. Example: ``p = probe(net, X[:64], y[:64]); p.losses.max() - p.losses.min()``
    """
    from .train import task_loss

    etas = check_array("etas", etas, ndim=1)
    if len(etas) == 0 or (etas <= 0).any():
        raise ValueError(f"etas must be a non-empty list of positive step sizes, got {etas}")
    loss_fn = task_loss if loss is None else loss
    # Training mode: batch norm normalizes with this batch's statistics. The parameters are moved in place and,
    # like the running statistics and the mode, restored afterwards (cheaper than copying the net).
    was_training = net.training
    saved = {k: v.clone() for k, v in net.state_dict().items()}
    params = [p for p in net.parameters() if p.requires_grad]
    losses, diffs = [], []
    try:
        net.train()
        loss0, g0 = _loss_and_grad(net, params, X, y, loss_fn)
        start = [p.detach().clone() for p in params]
        pieces = torch.split(g0, [p.numel() for p in params])
        for eta in etas:
            with torch.no_grad():
                for p, p0, g in zip(params, start, pieces):
                    p.copy_(p0 - float(eta) * g.reshape(p.shape))
            l_eta, g_eta = _loss_and_grad(net, params, X, y, loss_fn)
            losses.append(float(l_eta))
            diffs.append(float(torch.linalg.vector_norm(g0 - g_eta)))
    finally:
        with torch.no_grad():
            for k, v in net.state_dict().items():
                v.copy_(saved[k])
        net.train(was_training)
    with np.errstate(all="ignore"):
        return Probe(etas=etas, loss=float(loss0), grad_norm=float(torch.linalg.vector_norm(g0)),
                     losses=np.array(losses), grad_diffs=np.array(diffs))


@dataclass
class Trace:
    """Probes taken along a training run (:func:`track`).

    Attributes:
        steps: optimizer steps at which each probe was taken ``(T,)`` (0 = before training).
        etas: ``(E,)``.
        loss: ``(T,)`` loss at the current parameters on the probe batch.
        grad_norm: ``(T,)``.
        losses: ``(T, E)`` loss after a step of size eta along the negative gradient.
        grad_diffs: ``(T, E)`` gradient change after that step.
        beta: ``(T,)`` effective beta-smoothness.
        records: the training records of :func:`lecture_utils.training.train.fit` (one per epoch).
    """

    steps: np.ndarray
    etas: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    losses: np.ndarray
    grad_diffs: np.ndarray
    beta: np.ndarray
    records: list = field(default_factory=list)

    def loss_range(self) -> np.ndarray:
        """``max - min`` of ``L(theta - eta g)`` over eta at each probe, ``(T,)``."""
        with np.errstate(invalid="ignore"):
            return self.losses.max(1) - self.losses.min(1)

    def grad_diff_max(self) -> np.ndarray:
        """Largest gradient change over eta at each probe, ``(T,)``."""
        return self.grad_diffs.max(1)


def track(net: torch.nn.Module, data, opt, epochs: int = 3, batch_size: int = 64, *, etas=DEFAULT_ETAS,
          measure_every: int = 10, probe_size: int | None = None, seed: int = 0, loss=None, **fit_kwargs) -> Trace:
    """Train ``net`` with :func:`lecture_utils.training.train.fit` and :func:`probe` it every ``measure_every`` steps.

    Each probe uses a fresh minibatch of ``probe_size`` training examples drawn with its own generator seeded
    by ``seed`` (the training order is seeded by ``seed`` too), so two calls with the same seed and the same
    initial net give identical traces.

    Args:
        net, data, opt, epochs, batch_size: as in :func:`lecture_utils.training.train.fit`.
        etas: step sizes of each probe.
        measure_every: steps between probes (a probe is also taken before the first step).
        probe_size: examples in each probe batch (default ``batch_size``).
        seed: seeds the training order and the probe batches.
        loss: as in :func:`probe` and ``fit``.
        **fit_kwargs: passed on to ``fit`` (``progress`` defaults to False here).
    Returns:
        :class:`Trace`. Example: ``trace = track(nets.MLP(64, (64,) * 4, 10), data.digits(), optim.SGD(lr=0.1))``
    """
    from .data import Dataset
    from .train import fit

    measure_every = check_int("measure_every", measure_every, low=1)
    seed = check_int("seed", seed, low=0)
    probe_size = check_int("probe_size", probe_size if probe_size is not None else batch_size, low=2)
    X = data.X_train if isinstance(data, Dataset) else data[0]
    y = data.y_train if isinstance(data, Dataset) else data[1]
    fit_kwargs.setdefault("progress", False)
    gen = torch.Generator().manual_seed(seed + 1)
    probes, steps = [], []

    def measure(step):
        idx = torch.randperm(len(X), generator=gen)[:probe_size]
        dev = next(net.parameters()).device
        dtype = next(net.parameters()).dtype
        Xb = X[idx.to(X.device)].to(dev)
        Xb = Xb.to(dtype) if Xb.is_floating_point() else Xb
        yb = y[idx.to(y.device)].to(dev)
        yb = yb.to(dtype) if yb.is_floating_point() else yb
        probes.append(probe(net, Xb, yb, etas, loss=loss))
        steps.append(step)

    user_callback = fit_kwargs.pop("callback", None)

    def callback(net_, step, batch_loss):
        if step % measure_every == 0:
            measure(step)
        return None if user_callback is None else user_callback(net_, step, batch_loss)

    keep_initial = fit_kwargs.pop("log_initial", True)
    records = []
    for rec in fit(net, data, opt, epochs, batch_size, seed=seed, loss=loss, callback=callback, log_initial=True,
                   **fit_kwargs):
        if rec["step"] == 0 and not steps:  # fit has moved the net and the data to the device by now
            measure(0)
            if not keep_initial:
                continue
        records.append(rec)
    return Trace(steps=np.array(steps), etas=np.asarray(probes[0].etas if probes else etas, dtype=float),
                 loss=np.array([p.loss for p in probes]), grad_norm=np.array([p.grad_norm for p in probes]),
                 losses=np.array([p.losses for p in probes]), grad_diffs=np.array([p.grad_diffs for p in probes]),
                 beta=np.array([p.beta for p in probes]), records=records)


@torch.no_grad()
def layer_input_percentiles(net: torch.nn.Module, X, layer: int, q=(15, 50, 85), *, units=None,
                            train_mode: bool = False, before_norm: bool = False) -> np.ndarray:
    """Percentiles of the inputs of one hidden layer's activation (Ioffe & Szegedy's Figure 1).

    Args:
        net: an :class:`lecture_utils.training.nets.MLP` (anything with ``hidden_inputs(X)``).
        X: inputs ``(n, ...)``, e.g. a fixed batch of test images.
        layer: index of the hidden layer (0 = first; negative counts from the last).
        q: percentiles in ``[0, 100]``.
        units: indices of the units to report; ``None`` = all units of the layer.
        train_mode: evaluate as during training (batch norm normalizes with the statistics of ``X``; a copy of
            the net is used so its running statistics do not move) instead of in eval mode.
        before_norm: the inputs of batch norm (outputs of the Linear layer) instead of its outputs.
    Returns:
        ``(len(q), len(units))`` array of percentiles over the ``n`` examples.
    Example: ``layer_input_percentiles(net, X_test, layer=-1, units=[0])``
    """
    if not hasattr(net, "hidden_inputs"):
        raise TypeError(f"net must offer hidden_inputs(X) (e.g. nets.MLP), got {type(net).__name__}")
    q = check_array("q", q, ndim=1)
    if ((q < 0) | (q > 100)).any():
        raise ValueError(f"q must lie in [0, 100], got {q}")
    if train_mode:
        import copy

        zs = copy.deepcopy(net).train().hidden_inputs(X, before_norm)
    else:
        was_training = net.training
        net.eval()
        try:
            zs = net.hidden_inputs(X, before_norm)
        finally:
            net.train(was_training)
    layer = check_int("layer", layer, low=-len(zs), high=len(zs) - 1)
    z = zs[layer].detach().cpu().double().numpy()
    if units is not None:
        z = z[:, np.asarray(units)]
    return np.percentile(z, q, axis=0)
