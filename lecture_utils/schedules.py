"""Learning-rate schedules as closed forms of ``torch.optim.lr_scheduler``: ``schedule(base_lr, step) -> lr`` at
the 0-based ``step`` (lecture 03; the inverse-time decay of lecture 04). Equal to torch's schedulers step for
step (tested), and accepted by ``optim.run``, ``sgd.sgd`` and ``training.train.fit``.

Example (halve the rate every 30 steps)::

    >>> from lecture_utils import optim, schedules, surfaces
    >>> sched = schedules.StepLR(30, 0.5)
    >>> [sched(0.1, step) for step in (0, 29, 30, 60)]
    [0.1, 0.1, 0.05, 0.025]
    >>> traj = optim.run(surfaces.get("quadratic"), optim.SGD(lr=0.1), [2.0, 1.0], 100, lr_schedule=sched)
    >>> traj.lrs[[0, 30, 60]]                     # the rate used at each step
    array([0.1  , 0.05 , 0.025])
"""
from __future__ import annotations

import math

from ._validate import check_int, check_real

__all__ = ["StepLR", "ExponentialLR", "CosineAnnealingLR", "PolynomialLR", "InverseTimeLR"]


class _Schedule:
    """A schedule maps ``(base_lr, step)`` to the learning rate used at 0-based ``step``."""

    def __call__(self, base_lr: float, step: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class StepLR(_Schedule):
    """``lr * gamma ** (step // step_size)``, as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = check_int("step_size", step_size, low=1)
        self.gamma = check_real("gamma", gamma, low=0.0, low_open=True)

    def __call__(self, base_lr, step):
        return base_lr * self.gamma ** (step // self.step_size)


class ExponentialLR(_Schedule):
    """``lr * gamma ** step``, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    def __init__(self, gamma: float):
        self.gamma = check_real("gamma", gamma, low=0.0, low_open=True)

    def __call__(self, base_lr, step):
        return base_lr * self.gamma ** step


class CosineAnnealingLR(_Schedule):
    """``eta_min + (lr - eta_min) (1 + cos(pi step / T_max)) / 2``, as ``torch.optim.lr_scheduler.CosineAnnealingLR``."""

    def __init__(self, T_max: int, eta_min: float = 0.0):
        self.T_max = check_int("T_max", T_max, low=1)
        self.eta_min = check_real("eta_min", eta_min, low=0.0)

    def __call__(self, base_lr, step):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * step / self.T_max)) / 2


class PolynomialLR(_Schedule):
    """``lr * (1 - min(step, total_iters) / total_iters) ** power``, as ``torch.optim.lr_scheduler.PolynomialLR``."""

    def __init__(self, total_iters: int = 5, power: float = 1.0):
        self.total_iters = check_int("total_iters", total_iters, low=1)
        self.power = check_real("power", power, low=0.0)

    def __call__(self, base_lr, step):
        return base_lr * (1 - min(step, self.total_iters) / self.total_iters) ** self.power


class InverseTimeLR(_Schedule):
    """``lr * t0 / (t0 + step)``: a rate that decays like ``1/t``, the classic choice that lets SGD converge
    (lecture 04). Equal to
    ``torch.optim.lr_scheduler.LambdaLR(opt, lambda step: t0 / (t0 + step))``.

    Example: ``sgd(prob, theta0, lr=0.1, batch_size=1, num_epochs=5, lr_schedule=InverseTimeLR(100))``
    """

    def __init__(self, t0: float):
        self.t0 = check_real("t0", t0, low=0.0, low_open=True)

    def __call__(self, base_lr, step):
        return base_lr * self.t0 / (self.t0 + step)

    def __repr__(self):
        return f"InverseTimeLR(t0={self.t0:g})"
