"""Run any optimizer of the course by name: first-order (lecture 05) or second-order (lecture 06).

:func:`run_method` returns the same :class:`~lecture_utils.trajectory.Trajectory` for every method, so a widget
can offer one dropdown over GD, momentum, Adam, Newton, CG, BFGS and L-BFGS.

Example::

    >>> from lecture_utils import surfaces
    >>> from lecture_utils.second_order.methods import run_method
    >>> s = surfaces.get("rosenbrock")
    >>> [run_method(m, s, [-1.2, 1.0], 200).status() for m in ("newton", "bfgs", "lbfgs")]
    ['converged at step 5', 'converged at step 30', 'converged at step 35']
"""
from __future__ import annotations

import inspect


from .. import optim
from .._validate import check_choice
from ..surfaces import Surface
from ..trajectory import Trajectory
from . import cg, newton, quasi_newton, steepest

__all__ = ["FIRST_ORDER", "SECOND_ORDER", "names", "run_method", "is_quadratic"]

FIRST_ORDER = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
SECOND_ORDER = ("newton", "damped_newton", "saddle_free_newton", "steepest_descent", "cg", "bfgs", "lbfgs")
_RUN_KEYS = set(inspect.signature(optim.run).parameters) - {"surface", "opt", "x0", "num_steps"}


def names() -> list[str]:
    """Every method :func:`run_method` knows, first-order ones first."""
    return list(FIRST_ORDER + SECOND_ORDER)


def is_quadratic(surface: Surface) -> bool:
    """True for surfaces built by ``surfaces.from_quadratic`` / ``surfaces.quadratic`` (exact line search works)."""
    params = getattr(surface, "params", {}) or {}
    return "A" in params and "b" in params


def _second_order_call(name, surface):
    if name in ("newton", "damped_newton", "saddle_free_newton"):
        variant = {"newton": "plain", "damped_newton": "damped", "saddle_free_newton": "saddle_free"}[name]
        return newton.run_newton, {"variant": variant}
    default_ls = "exact" if is_quadratic(surface) else "wolfe"
    if name == "steepest_descent":
        return steepest.steepest_descent, {"line_search": default_ls}
    if name == "cg":
        return cg.nonlinear_cg, {"line_search": default_ls}
    if name == "bfgs":
        return quasi_newton.bfgs, {}
    return quasi_newton.lbfgs, {}


def run_method(name: str, surface: Surface, x0, num_steps: int = 100, **kwargs) -> Trajectory:
    """Run the method ``name`` on ``surface`` from ``x0`` (``(d,)`` or ``(B, d)``) for ``num_steps`` steps.

    First-order names (``gd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``, ``adam``, ``adamw``) build
    ``optim.make(name, **hyperparameters)`` and call :func:`lecture_utils.optim.run`; keywords of ``run``
    (``tol``, ``clip_norm``, ...) go to it, the rest (``lr``, ``momentum``, ...) to the optimizer.
    Second-order names: ``newton``, ``damped_newton``, ``saddle_free_newton`` (:func:`newton.run_newton`),
    ``steepest_descent`` (:func:`steepest.steepest_descent`), ``cg`` (:func:`cg.nonlinear_cg`), ``bfgs``
    and ``lbfgs`` (:mod:`quasi_newton`); keywords go to those functions. ``steepest_descent`` and ``cg`` use
    the exact line search on quadratic surfaces and strong Wolfe elsewhere unless ``line_search`` is given.

    Raises ``ValueError`` for an unknown name and ``TypeError`` naming the accepted keywords for a wrong one.
    Example: ``run_method("adam", s, [-1.5, 2.0], 500, lr=0.05)``
    """
    check_choice("name", name, names())
    if name in FIRST_ORDER:
        run_kw = {k: v for k, v in kwargs.items() if k in _RUN_KEYS}
        opt_kw = {k: v for k, v in kwargs.items() if k not in _RUN_KEYS}
        key = "sgd" if name == "gd" else name
        try:
            opt = optim.make(key, **opt_kw)
        except TypeError as exc:
            cls = type(optim.make(key))
            allowed = sorted(set(inspect.signature(cls.__init__).parameters) - {"self"} | _RUN_KEYS)
            raise TypeError(f"{name} got unexpected keyword(s) {sorted(opt_kw)}; it accepts {allowed}") from exc
        return optim.run(surface, opt, x0, num_steps, **run_kw)
    fn, defaults = _second_order_call(name, surface)
    allowed = set(inspect.signature(fn).parameters) - {"surface", "x0", "num_steps", "variant"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"{name} got unexpected keyword(s) {unknown}; it accepts {sorted(allowed)}")
    call = {**defaults, **kwargs}
    return fn(surface, x0, num_steps, **call)
