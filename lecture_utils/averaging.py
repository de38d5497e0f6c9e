"""Polyak averaging: average the iterates of an optimizer instead of keeping only the last one (lecture 08).

Two averages of the iterates ``theta_1, theta_2, ...``:

- **uniform** (Polyak & Juditsky): ``theta_hat_t = (1/t) sum_{i<=t} theta_i``, or the running form
  ``theta_hat_t = theta_hat_{t-1} + (theta_t - theta_hat_{t-1}) / t``;
- **exponential**: ``theta_hat_1 = theta_1`` and ``theta_hat_t = decay * theta_hat_{t-1} + (1 - decay) * theta_t``,
  the running average used for non-convex problems (``decay`` is the lecture's ``alpha``).

Both start from the first iterate, as ``torch.optim.swa_utils.AveragedModel`` does (its first update copies the
model). :func:`polyak_average` averages stored iterates (numpy, any trailing shape); :class:`ModelAverage` keeps
a running average of a ``torch.nn.Module``'s parameters during training.

Example (noisy gradients: the average of the late iterates sits nearer the minimum at 0 than the last one)::

    >>> import numpy as np
    >>> from lecture_utils import averaging, optim, surfaces
    >>> traj = optim.run(surfaces.get("quadratic"), optim.SGD(lr=0.05), [2.0, 2.0], 500, grad_noise=1.0, seed=0)
    >>> avg = averaging.polyak_average(traj.xs, kind="uniform", start=100)
    >>> avg.shape                                   # (T, B, d), like traj.xs
    (501, 1, 2)
    >>> bool(np.linalg.norm(avg[-1]) < np.linalg.norm(traj.xs[-1]))
    True
"""
from __future__ import annotations

import copy

import numpy as np

from ._validate import check_array, check_choice, check_int, check_real

__all__ = ["polyak_average", "ModelAverage", "KINDS"]

KINDS = ("uniform", "exponential")


def polyak_average(xs, kind: str = "uniform", *, decay: float = 0.99, start: int = 0) -> np.ndarray:
    """Running Polyak average of stored iterates along the first axis.

    Args:
        xs: iterates ``(T, ...)`` (e.g. a trajectory's ``xs`` of shape ``(T, B, d)``).
        kind: ``"uniform"`` (mean of the iterates so far) or ``"exponential"`` (running average with ``decay``).
        decay: weight of the old average in the exponential case, in ``[0, 1)``.
        start: first iterate to include (a *burn-in*: iterates before it are ignored and the average there
            equals the iterate itself).
    Returns:
        ``(T, ...)`` array: row ``t`` is the average of iterates ``start..t``. Example:
        ``polyak_average(np.arange(4.0), "uniform")  # [0, 0.5, 1, 1.5]``
    """
    xs = check_array("xs", xs, allow_nan=True)
    if xs.ndim < 1 or xs.shape[0] < 1:
        raise ValueError(f"xs must have at least one iterate along its first axis, got shape {xs.shape}")
    check_choice("kind", kind, KINDS)
    decay = check_real("decay", decay, low=0.0, high=1.0, high_open=True)
    start = check_int("start", start, low=0, high=xs.shape[0] - 1)
    out = xs.copy()
    tail = xs[start:]
    if kind == "uniform":
        counts = np.arange(1, len(tail) + 1, dtype=float).reshape((-1,) + (1,) * (xs.ndim - 1))
        out[start:] = np.cumsum(tail, axis=0) / counts
    else:
        acc = tail[0].copy()
        for i in range(1, len(tail)):
            acc = decay * acc + (1 - decay) * tail[i]
            out[start + i] = acc
    return out


class ModelAverage:
    """A running Polyak average of a ``torch.nn.Module``'s parameters, kept in a copy of the module.

    Call :meth:`update` after each optimizer step (or each epoch); :attr:`module` is the averaged net, ready for
    evaluation. Buffers (batch-norm statistics) are copied from the net, not averaged, as
    ``AveragedModel(use_buffers=False)`` does.

    Args:
        net: the model being trained (it is copied once; the copy holds the average).
        kind: ``"uniform"`` or ``"exponential"``.
        decay: weight of the old average for ``"exponential"``.
    Example::

        avg = ModelAverage(net, "exponential", decay=0.99)
        for rec in train.fit(net, ds, opt, callback=lambda net, step, loss: avg.update(net)): ...
        train.evaluate(avg.module, ds.X_test, ds.y_test)
    """

    def __init__(self, net, kind: str = "exponential", decay: float = 0.99):
        import torch

        if not isinstance(net, torch.nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        check_choice("kind", kind, KINDS)
        self.kind = kind
        self.decay = check_real("decay", decay, low=0.0, high=1.0, high_open=True)
        self.module = copy.deepcopy(net)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.num_averaged = 0

    def update(self, net) -> None:
        """Fold the current parameters of ``net`` into the average (the first call copies them)."""
        import torch

        with torch.no_grad():
            params = list(net.parameters())
            mine = list(self.module.parameters())
            if len(params) != len(mine):
                raise ValueError("net does not have the same parameters as the net this average was built from")
            for p_avg, p in zip(mine, params):
                p = p.detach().to(p_avg.device)
                if self.num_averaged == 0:
                    p_avg.copy_(p)
                elif self.kind == "uniform":
                    p_avg.add_((p - p_avg) / (self.num_averaged + 1))
                else:
                    p_avg.mul_(self.decay).add_(p, alpha=1 - self.decay)
            for b_avg, b in zip(self.module.buffers(), net.buffers()):
                b_avg.copy_(b.detach().to(b_avg.device))
        self.num_averaged += 1

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def __repr__(self):
        extra = f", decay={self.decay:g}" if self.kind == "exponential" else ""
        return f"ModelAverage({self.kind}{extra}, {self.num_averaged} updates)"
