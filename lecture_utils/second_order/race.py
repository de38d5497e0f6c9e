"""A race of first- and second-order methods from one start point, each with its tuned setting (lecture 06).

:func:`race_trajectories` runs gradient descent, momentum, Newton, CG, BFGS and L-BFGS on one surface.
Gradient descent and momentum need a learning rate: :func:`tuned_first_order` gives them the best one
(in closed form on a quadratic bowl, by a sweep over a grid of rates elsewhere, see
:func:`lecture_utils.tuning.sweep_lr`); the other methods need none. :func:`num_evaluations` counts what each
run cost in ``(f, grad f)`` evaluations.

Example (on a quadratic with condition number 30, Newton takes one step and CG two, one per dimension)::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order.race import race_trajectories
    >>> trajs = race_trajectories(surfaces.get("quadratic", kappa=30.0), [2.5, 1.5], 50)
    >>> {name: int(t.converged_at[0]) for name, t in trajs.items()}
    {'GD': -1, 'momentum': -1, 'Newton': 1, 'CG': 2, 'BFGS': 4, 'L-BFGS': 8}
"""
from __future__ import annotations

import numpy as np

from .. import optim, tuning
from ..surfaces import Surface, as_surface
from ..trajectory import Trajectory
from .methods import is_quadratic, run_method

__all__ = ["RACE_METHODS", "quadratic_optimal_hyperparameters", "tuned_first_order", "race_trajectories",
           "num_evaluations"]

#: The racers, in the order the widgets list them.
RACE_METHODS = ("GD", "momentum", "Newton", "CG", "BFGS", "L-BFGS")
#: Momentum of the heavy ball when its rate is tuned on a grid.
MOMENTUM = 0.9


def quadratic_optimal_hyperparameters(name: str, mu: float, L: float) -> dict:
    """The fastest fixed setting on a quadratic whose Hessian eigenvalues lie in ``[mu, L]`` (``0 < mu <= L``).

    ``"GD"``: ``lr = 2 / (mu + L)`` (contraction ``(kappa - 1) / (kappa + 1)`` per step). ``"momentum"`` (the heavy
    ball, Polyak 1964): ``lr = 4 / (sqrt(L) + sqrt(mu))^2`` and ``momentum = ((sqrt(L) - sqrt(mu)) /
    (sqrt(L) + sqrt(mu)))^2``. Returns ``{"lr": ...}`` or ``{"lr": ..., "momentum": ...}``.
    Example: ``quadratic_optimal_hyperparameters("GD", 1.0, 100.0)  # {'lr': 0.0198...}``
    """
    if not 0 < mu <= L:
        raise ValueError(f"need 0 < mu <= L, got mu={mu}, L={L}")
    if name == "GD":
        return {"lr": 2.0 / (mu + L)}
    if name == "momentum":
        a, b = np.sqrt(L), np.sqrt(mu)
        return {"lr": float(4.0 / (a + b) ** 2), "momentum": float(((a - b) / (a + b)) ** 2)}
    raise ValueError(f"name must be 'GD' or 'momentum', got {name!r}")


def _positive_definite_spectrum(surface: Surface):
    """``(mu, L)`` of a quadratic surface's Hessian when it is positive definite, else None."""
    if not is_quadratic(surface):
        return None
    if "kappa" in surface.params:  # the registered bowl: eigenvalues 1 and kappa exactly
        return 1.0, float(surface.params["kappa"])
    lam = np.linalg.eigvalsh(np.asarray(surface.params["A"], dtype=float))
    return (float(lam[0]), float(lam[-1])) if lam[0] > 0 else None


def tuned_first_order(surface, x0, num_steps: int, name: str, *, lrs=None) -> Trajectory:
    """The run of ``"GD"`` or ``"momentum"`` (momentum 0.9) with its best learning rate.

    On a positive definite quadratic the closed-form best setting
    (:func:`quadratic_optimal_hyperparameters`) is used; elsewhere :func:`lecture_utils.tuning.sweep_lr` with the
    ``tail_mean`` criterion (the mean value over the last tenth of the run) over ``lrs`` (default
    ``tuning.LR_GRID``). The trajectory's label names the rate. Example:
    ``tuned_first_order(surfaces.get("rosenbrock"), [-1.2, 1.0], 100, "GD").lrs[0]``
    """
    if name not in ("GD", "momentum"):
        raise ValueError(f"name must be 'GD' or 'momentum', got {name!r}")
    surface = as_surface(surface)
    spectrum = _positive_definite_spectrum(surface)
    if spectrum is not None:
        hp = quadratic_optimal_hyperparameters(name, *spectrum)
        return optim.run(surface, optim.SGD(**hp), x0, num_steps)
    method, kw = ("gd", {}) if name == "GD" else ("momentum", {"momentum": MOMENTUM})
    return tuning.sweep_lr(method, surface, x0, num_steps, lrs=lrs, criterion="tail_mean", **kw).best


def race_trajectories(surface, x0, num_steps: int, methods=RACE_METHODS) -> dict:
    """``{method: Trajectory}``: every method of ``methods`` (a subset of :data:`RACE_METHODS`) from ``x0``.

    GD and momentum get :func:`tuned_first_order`; CG uses the Polak-Ribiere+ formula, L-BFGS a memory of 5.
    Raises ``ValueError`` for an unknown method. Example: ``race_trajectories("rosenbrock", [-1.2, 1.0], 50)``
    """
    surface = as_surface(surface)
    bad = [m for m in methods if m not in RACE_METHODS]
    if bad:
        raise ValueError(f"unknown method {bad[0]!r}; choose from {', '.join(RACE_METHODS)}")
    out = {}
    for name in methods:
        if name in ("GD", "momentum"):
            out[name] = tuned_first_order(surface, x0, num_steps, name)
        elif name == "Newton":
            out[name] = run_method("newton", surface, x0, num_steps)
        elif name == "CG":
            out[name] = run_method("cg", surface, x0, num_steps, beta="PR+")
        elif name == "BFGS":
            out[name] = run_method("bfgs", surface, x0, num_steps)
        else:
            out[name] = run_method("lbfgs", surface, x0, num_steps, m=5)
    return out


def num_evaluations(traj: Trajectory) -> int:
    """``(f, grad f)`` evaluations a run made: counted by the second-order methods (line-search trials
    included), one per step up to convergence for a first-order run. Example: ``num_evaluations(trajs["BFGS"])``
    """
    counted = traj.extras.get("num_evals") if traj.extras else None
    if counted is not None:
        return int(counted[0])
    stop = traj.converged_at[0] if traj.converged_at[0] >= 0 else traj.num_steps
    return int(stop) + 1
