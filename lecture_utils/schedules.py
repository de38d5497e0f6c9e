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

Warmup and its combinations (lecture 11): :class:`LinearLR` and :class:`ConstantLR` (warmup factors),
:class:`SequentialLR` (one schedule after another, as torch chains them at ``milestones``), :class:`WarmupCosineLR`
(linear warmup, then cosine decay) and :class:`OneCycleLR` (Smith's one cycle, whose ``base_lr`` is the peak rate)::

    >>> warm = schedules.WarmupCosineLR(warmup_steps=4, total_steps=12, start_factor=0.25)
    >>> [round(warm(0.1, step), 4) for step in (0, 1, 3, 4, 8, 11)]
    [0.025, 0.0438, 0.0813, 0.1, 0.05, 0.0038]
    >>> cycle = schedules.OneCycleLR(total_steps=10)   # 30% up from base_lr / 25, then cosine down
    >>> [round(cycle(1.0, step), 4) for step in (0, 2, 9)]
    [0.04, 1.0, 0.0]
"""
from __future__ import annotations

import bisect
import math

from ._validate import check_choice, check_int, check_real

__all__ = ["StepLR", "ExponentialLR", "CosineAnnealingLR", "PolynomialLR", "InverseTimeLR", "LinearLR", "ConstantLR",
           "SequentialLR", "WarmupCosineLR", "OneCycleLR"]


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


# ---- warmup and combined schedules (lecture 11) ----------------------------------------------------------
class LinearLR(_Schedule):
    """``lr * factor(step)``, the factor going linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    steps and staying there: a linear warmup (Goyal et al. 2017), as ``torch.optim.lr_scheduler.LinearLR``.

    ``factor = start + (end - start) * min(step, total_iters) / total_iters``. Example: ``LinearLR(0.1, 1.0, 5)``
    """

    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5):
        # torch's ranges: a start factor of 0 would divide by zero in its recursive form
        self.start_factor = check_real("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        self.end_factor = check_real("end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = check_int("total_iters", total_iters, low=1)

    def __call__(self, base_lr, step):
        frac = min(step, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class ConstantLR(_Schedule):
    """``lr * factor`` for the first ``total_iters`` steps, then ``lr``: a constant warmup, as
    ``torch.optim.lr_scheduler.ConstantLR``. Example: ``ConstantLR(0.1, 5)``"""

    def __init__(self, factor: float = 1.0 / 3, total_iters: int = 5):
        self.factor = check_real("factor", factor, low=0.0, high=1.0)
        self.total_iters = check_int("total_iters", total_iters, low=0)

    def __call__(self, base_lr, step):
        return base_lr * (self.factor if step < self.total_iters else 1.0)


class SequentialLR(_Schedule):
    """Schedules one after another: ``schedules[i]`` runs from ``milestones[i - 1]`` on, restarted at its own step
    0 (``step - milestones[i - 1]``), as ``torch.optim.lr_scheduler.SequentialLR`` chains them.

    Args:
        schedules: two or more schedules ``schedule(base_lr, step) -> lr`` of this module (or any such callable).
        milestones: ``len(schedules) - 1`` increasing steps ``>= 1`` at which the next schedule takes over.
    Example: ``SequentialLR([LinearLR(0.1, 1.0, 5), CosineAnnealingLR(95)], milestones=[5])``
    """

    def __init__(self, schedules, milestones):
        try:
            schedules, milestones = list(schedules), list(milestones)
        except TypeError:
            raise TypeError("schedules and milestones must be sequences, e.g. SequentialLR([LinearLR(0.1, 1.0, 5), "
                            "CosineAnnealingLR(95)], milestones=[5])") from None
        if len(schedules) < 1:
            raise ValueError("schedules must hold at least one schedule")
        for i, sch in enumerate(schedules):
            if not callable(sch):
                raise TypeError(f"schedules[{i}] must be a schedule(base_lr, step) -> lr, got {type(sch).__name__}")
        if len(milestones) != len(schedules) - 1:
            raise ValueError(f"milestones must have len(schedules) - 1 = {len(schedules) - 1} entries (the steps "
                             f"where the next schedule starts), got {len(milestones)}")
        milestones = [check_int(f"milestones[{i}]", m, low=1) for i, m in enumerate(milestones)]
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"milestones must increase strictly, got {milestones}")
        self.schedules, self.milestones = schedules, milestones

    def __call__(self, base_lr, step):
        i = bisect.bisect_right(self.milestones, step)
        return self.schedules[i](base_lr, step - (self.milestones[i - 1] if i else 0))


class WarmupCosineLR(SequentialLR):
    """Linear warmup over ``warmup_steps`` from ``start_factor * lr`` to ``lr``, then cosine decay to ``eta_min``
    at ``total_steps``: ``SequentialLR([LinearLR(start_factor, 1, warmup_steps),
    CosineAnnealingLR(total_steps - warmup_steps, eta_min)], [warmup_steps])``, torch's usual combination (the rate
    reaches ``lr`` at step ``warmup_steps``). ``warmup_steps=0`` is cosine decay alone.

    Example: ``WarmupCosineLR(warmup_steps=10, total_steps=100)``
    """

    def __init__(self, warmup_steps: int, total_steps: int, start_factor: float = 0.1, eta_min: float = 0.0):
        self.warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
        self.total_steps = check_int("total_steps", total_steps, low=self.warmup_steps + 1)
        self.start_factor = check_real("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        self.eta_min = check_real("eta_min", eta_min, low=0.0)
        cosine = CosineAnnealingLR(self.total_steps - self.warmup_steps, self.eta_min)
        if self.warmup_steps == 0:
            super().__init__([cosine], [])
        else:
            super().__init__([LinearLR(self.start_factor, 1.0, self.warmup_steps), cosine], [self.warmup_steps])

    def __repr__(self):
        return (f"WarmupCosineLR(warmup_steps={self.warmup_steps}, total_steps={self.total_steps}, "
                f"start_factor={self.start_factor:g}, eta_min={self.eta_min:g})")


class OneCycleLR(_Schedule):
    """Smith's one-cycle policy, as ``torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=base_lr, ...)`` with
    ``cycle_momentum=False``: ``base_lr`` is the PEAK rate. The rate rises from ``base_lr / div_factor`` to
    ``base_lr`` over the first ``pct_start`` of ``total_steps``, then anneals to ``base_lr / div_factor /
    final_div_factor`` at step ``total_steps - 1`` (``three_phase``: down to the start first, then to the end).

    Like torch, it is defined up to ``step = total_steps`` and refuses later steps.
    Example: ``OneCycleLR(total_steps=1000, pct_start=0.3)``
    """

    def __init__(self, total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False):
        self.total_steps = check_int("total_steps", total_steps, low=2)
        self.pct_start = check_real("pct_start", pct_start, low=0.0, high=1.0)
        self.anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = check_real("div_factor", div_factor, low=0.0, low_open=True)
        self.final_div_factor = check_real("final_div_factor", final_div_factor, low=0.0, low_open=True)
        if not isinstance(three_phase, bool):
            raise TypeError(f"three_phase must be True or False, got {three_phase!r}")
        self.three_phase = three_phase
        T, p = self.total_steps, self.pct_start
        # (end step, start factor, end factor) of each phase, as torch lays them out
        start, final = 1.0 / self.div_factor, 1.0 / self.div_factor / self.final_div_factor
        self._phases = ([(p * T - 1, start, 1.0), (2 * p * T - 2, 1.0, start), (T - 1, start, final)] if three_phase
                        else [(p * T - 1, start, 1.0), (T - 1, 1.0, final)])
        ends = [e for e, _, _ in self._phases]
        if any(b <= a for a, b in zip([0.0] + ends, ends)):
            raise ValueError(f"pct_start={p} leaves a phase of one cycle of total_steps={T} empty; choose pct_start "
                             f"so that each phase has at least one step")

    def __call__(self, base_lr, step):
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR is defined for steps 0..total_steps={self.total_steps}, got step {step}")
        start_step = 0.0
        for i, (end_step, a, b) in enumerate(self._phases):
            if step <= end_step or i == len(self._phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                lo, hi = base_lr * a, base_lr * b
                if self.anneal_strategy == "linear":
                    return (hi - lo) * pct + lo
                return hi + (lo - hi) / 2.0 * (math.cos(math.pi * pct) + 1)
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover

    def __repr__(self):
        return (f"OneCycleLR(total_steps={self.total_steps}, pct_start={self.pct_start:g}, "
                f"anneal_strategy={self.anneal_strategy!r}, div_factor={self.div_factor:g}, "
                f"final_div_factor={self.final_div_factor:g}, three_phase={self.three_phase})")
