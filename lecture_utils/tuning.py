"""Choosing a learning rate: a sweep over a grid of rates scored by a stated criterion, and rules of thumb from
the curvature of the surface.

A fair race between methods gives each its tuned setting (lecture 05's optimizer race, lecture 06's race of
first- and second-order methods). :func:`sweep_lr` runs one first-order method of
:func:`lecture_utils.second_order.methods.run_method` at every rate of a grid and keeps the best by the
criterion (the final value, the mean value over the last tenth of the run, the steps to reach a gradient
tolerance, or any function of the trajectory); it returns the chosen rate and the whole sweep, so a figure
can show how the criterion depends on the rate. The widgets' first-impression rates come from
:func:`max_curvature` (``1 / L`` is a safe gradient-descent rate, lecture 03) and :func:`default_lrs`.

Example (the best of 41 rates for momentum on Rosenbrock in 200 steps)::

    >>> from lecture_utils import surfaces, tuning
    >>> sweep = tuning.sweep_lr("momentum", surfaces.get("rosenbrock"), [-1.2, 1.0], 200, criterion="final_value")
    >>> f"{sweep.lr:.2g}", len(sweep.lrs), bool(sweep.scores[sweep.index] == sweep.scores.min())
    ('0.0032', 41, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_int, check_real
from .second_order.methods import FIRST_ORDER, run_method
from .surfaces import Surface, as_surface
from .trajectory import Trajectory

__all__ = ["LR_GRID", "CRITERIA", "LRSweep", "sweep_lr", "score", "max_curvature", "safe_lr", "default_lrs"]

#: The default grid of learning rates: 41 rates, 10 per decade, from 1e-5 to 1.
LR_GRID = np.geomspace(1e-5, 1.0, 41)
#: Built-in criteria (lower is better): ``final_value`` f at the last step; ``tail_mean`` the mean of f over
#: the last tenth of the steps (robust to a run that oscillates at the end); ``steps_to_tol`` the first
#: step whose gradient norm is under the run's ``tol`` (ties and runs that never get there are ranked by
#: ``tail_mean``).
CRITERIA = ("final_value", "tail_mean", "steps_to_tol")


@dataclass
class LRSweep:
    """What :func:`sweep_lr` returns: the chosen rate and every run of the sweep.

    Attributes:
        method: the method's name (as :func:`~lecture_utils.second_order.methods.run_method`).
        criterion: the criterion's name (or the function's ``__name__``).
        lrs: ``(n,)`` the rates tried, in the order given.
        scores: ``(n,)`` the criterion of each run, lower is better; ``inf`` for a run that diverged (or, for
            ``steps_to_tol``, never reached the tolerance).
        trajs: the ``n`` trajectories, one per rate.
        index: position of the chosen rate in ``lrs``.
    """

    method: str
    criterion: str
    lrs: np.ndarray
    scores: np.ndarray
    trajs: list
    index: int

    @property
    def lr(self) -> float:
        """The chosen learning rate."""
        return float(self.lrs[self.index])

    @property
    def best(self) -> Trajectory:
        """The run of the chosen rate."""
        return self.trajs[self.index]


def score(traj: Trajectory, criterion: str | Callable = "tail_mean", i: int = 0) -> float:
    """The criterion of start point ``i`` of ``traj`` (lower is better; ``inf`` when it diverged).

    ``criterion`` is one of :data:`CRITERIA` or a function ``traj -> float``. Example: ``score(traj, "final_value")``
    """
    if traj.diverged_at[i] >= 0:
        return float("inf")
    if callable(criterion):
        v = float(criterion(traj))
    elif criterion == "final_value":
        v = float(traj.values[-1, i])
    elif criterion == "tail_mean":
        v = float(np.mean(traj.values[-max(1, traj.num_steps // 10):, i]))
    elif criterion == "steps_to_tol":
        v = float(traj.converged_at[i]) if traj.converged_at[i] >= 0 else float("inf")
    else:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)} or a function of the trajectory, "
                         f"got {criterion!r}")
    return v if np.isfinite(v) else float("inf")


def sweep_lr(method: str, surface, x0, num_steps: int, *, lrs=None, criterion: str | Callable = "tail_mean",
             **kwargs) -> LRSweep:
    """Run a first-order ``method`` at every rate of ``lrs`` from ``x0`` and choose the best by ``criterion``.

    Args:
        method: a first-order name of :func:`~lecture_utils.second_order.methods.run_method` (``gd``,
            ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``, ``adam``, ``adamw``).
        surface: a Surface or a registered name.
        x0: one start point ``(d,)``.
        num_steps: the budget of every run.
        lrs: the rates to try (default :data:`LR_GRID`).
        criterion: one of :data:`CRITERIA` or a function ``traj -> float``; lower is better. The first rate
            with the lowest score wins (with ``steps_to_tol``, ties go to the lower ``tail_mean``); when every
            run diverged, the first rate is chosen.
        **kwargs: the method's other hyperparameters (``momentum=0.9``) and ``optim.run`` keywords (``tol``).
    Returns:
        an :class:`LRSweep` (``.lr`` the chosen rate, ``.best`` its run, ``.scores`` the whole sweep).
    Example: ``sweep_lr("gd", "rosenbrock", [-1.2, 1.0], 300).lr``
    """
    if method not in FIRST_ORDER:
        raise ValueError(f"method must be a first-order method, one of {', '.join(FIRST_ORDER)}; got {method!r}")
    if not callable(criterion) and criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)} or a function of the trajectory, "
                         f"got {criterion!r}")
    if "lr" in kwargs:
        raise TypeError("sweep_lr chooses lr itself; pass the rates to try as lrs=[...]")
    surface = as_surface(surface)
    x0 = surface.start_points(x0)
    if x0.shape[0] != 1:
        raise ValueError(f"x0 must be one start point of dimension {surface.dim}, got {x0.shape[0]} points")
    num_steps = check_int("num_steps", num_steps, low=1)
    lrs = LR_GRID if lrs is None else np.asarray(lrs, dtype=float).reshape(-1)
    if lrs.size == 0 or not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"lrs must be a non-empty list of positive rates, got {lrs!r}")
    trajs = [run_method(method, surface, x0[0], num_steps, lr=float(lr), **kwargs) for lr in lrs]
    scores = np.array([score(t, criterion) for t in trajs])
    if criterion == "steps_to_tol":
        tie = np.array([score(t, "tail_mean") for t in trajs])
    else:
        tie = np.zeros(len(trajs))
    # lexsort: the last key is the primary one; the position breaks the remaining ties (first rate wins).
    index = int(np.lexsort((np.arange(len(trajs)), tie, scores))[0])
    name = criterion if isinstance(criterion, str) else getattr(criterion, "__name__", "custom")
    return LRSweep(method, name, lrs.copy(), scores, trajs, index)


def max_curvature(surface: Surface, num: int = 6) -> float:
    """Largest ``|eigenvalue|`` of the Hessian on a grid of ``num`` points per axis over the plotting box.

    ``1 / L`` is a safe gradient-descent rate where the curvature is at most ``L`` (lecture 03). Returns NaN
    when no Hessian on the grid is finite. Example: ``max_curvature(surfaces.get("quadratic", kappa=10))  # 10``
    """
    surface = as_surface(surface)
    num = check_int("num", num, low=2)
    axes = [np.linspace(lo, hi, num) for lo, hi in surface.bounds]
    pts = np.stack([m.ravel() for m in np.meshgrid(*axes)], axis=1)
    with np.errstate(all="ignore"):
        H = surface.hessian_batch(pts)
    ok = np.all(np.isfinite(H), axis=(1, 2))
    if not ok.any():
        return float("nan")
    return float(np.abs(np.linalg.eigvalsh(H[ok])).max())


def safe_lr(surface: Surface, fraction: float = 0.9, *, num: int = 6, low: float = 1.1e-5, high: float = 9.0) -> float:
    """``fraction / L`` with ``L`` from :func:`max_curvature` (1 when the curvature is 0 or unknown), clipped
    to ``[low, high]``. Example: ``safe_lr(surfaces.get("quadratic", kappa=10), 0.9)  # 0.09``"""
    fraction = check_real("fraction", fraction, low=0.0, low_open=True)
    L = max_curvature(surface, num)
    if not (np.isfinite(L) and L > 0):
        L = 1.0
    return float(min(max(fraction / L, low), high))


def default_lrs(surface: Surface, kinds, *, num: int = 6) -> list[float]:
    """A first-impression rate per optimizer kind on ``surface``, from its curvature and the size of its box.

    ``sgd``: ``0.9 / L``; ``momentum`` and ``nesterov``: ``0.3 / L`` (momentum multiplies the effective step);
    adaptive methods move about ``lr`` per coordinate and step, so ``adam``, ``adamw``, ``rmsprop`` get a
    150th of the box's longest side and ``adagrad`` (whose steps shrink) a tenth. Clipped to ``[1.1e-5, 9]``.
    Example: ``default_lrs(surfaces.get("himmelblau"), ["sgd", "adam"])``
    """
    surface = as_surface(surface)
    span = max(hi - lo for lo, hi in surface.bounds)
    out = []
    for kind in kinds:
        if kind == "sgd":
            out.append(safe_lr(surface, 0.9, num=num))
        elif kind in ("momentum", "nesterov"):
            out.append(safe_lr(surface, 0.3, num=num))
        elif kind == "adagrad":
            out.append(min(max(span / 10, 1.1e-5), 9.0))
        else:
            out.append(min(max(span / 150, 1.1e-5), 9.0))
    return out
