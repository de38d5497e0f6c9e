"""First-impression settings of the explorers and maps: start point, number of steps, learning rate per optimizer.

A table per registered surface (chosen so each optimizer moves visibly and none diverges from that start);
any other surface gets rates from its curvature (:func:`lecture_utils.tuning.default_lrs`,
:func:`lecture_utils.tuning.safe_lr`) and a start point in its box.

Example::

    from widgets.defaults import explorer2d_defaults
    x0, num_steps, lrs = explorer2d_defaults(surfaces.get("rosenbrock"), ["sgd", "adam"])
"""
from __future__ import annotations

import numpy as np

from lecture_utils import surfaces, tuning

__all__ = ["DEFAULTS_1D", "DEFAULTS_2D", "explorer1d_defaults", "explorer2d_defaults", "default_start"]

#: Per registered 1D surface: (lr, x0, num_steps).
DEFAULTS_1D = {
    "sin_parabola": (0.01, -2.0, 60),
    "x_plus_sin": (0.1, 2.5, 100),
    "multi_minima": (0.05, 3.2, 80),
}

#: Per registered 2D surface: start point, number of steps and a learning rate per optimizer kind.
DEFAULTS_2D = {
    "rosenbrock": ((-1.5, 2.0), 500, {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 0.1,
                                       "adamw": 0.1, "rmsprop": 0.01, "adagrad": 0.5}),
    "beale": ((0.5, -1.5), 300, {"sgd": 5e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 0.1,
                                 "adamw": 0.1, "rmsprop": 0.01, "adagrad": 0.3}),
    "himmelblau": ((0.0, 0.0), 200, {"sgd": 0.01, "momentum": 4e-3, "nesterov": 4e-3, "adam": 0.2,
                                     "adamw": 0.2, "rmsprop": 0.05, "adagrad": 0.5}),
    "quadratic": ((-2.5, 1.5), 200, {"sgd": 0.1, "momentum": 0.03, "nesterov": 0.03, "adam": 0.1,
                                     "adamw": 0.1, "rmsprop": 0.02, "adagrad": 0.5}),
    "saddle": ((-1.8, 0.02), 60, {"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adam": 0.05,
                                  "adamw": 0.05, "rmsprop": 0.02, "adagrad": 0.3}),
    "monkey_saddle": ((1.2, 0.05), 100, {"sgd": 0.01, "momentum": 3e-3, "nesterov": 3e-3, "adam": 0.02,
                                         "adamw": 0.02, "rmsprop": 0.01, "adagrad": 0.1}),
    "plateau": ((3.0, 2.5), 300, {"sgd": 1.0, "momentum": 0.5, "nesterov": 0.5, "adam": 0.1,
                                  "adamw": 0.1, "rmsprop": 0.05, "adagrad": 1.0}),
    "cliff": ((-2.0, 1.5), 200, {"sgd": 0.1, "momentum": 0.03, "nesterov": 0.03, "adam": 0.2,
                                 "adamw": 0.2, "rmsprop": 0.05, "adagrad": 0.5}),
    "lecture_2d": ((0.5, -0.5), 150, {"sgd": 0.02, "momentum": 0.01, "nesterov": 0.01, "adam": 0.05,
                                      "adamw": 0.05, "rmsprop": 0.02, "adagrad": 0.3}),
    "six_hump_camel": ((-1.0, 0.8), 200, {"sgd": 0.02, "momentum": 0.01, "nesterov": 0.01, "adam": 0.05,
                                          "adamw": 0.05, "rmsprop": 0.02, "adagrad": 0.3}),
    "rastrigin": ((2.3, 2.7), 200, {"sgd": 2e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 0.05,
                                    "adamw": 0.05, "rmsprop": 0.01, "adagrad": 0.3}),
}


def _in_table(s: surfaces.Surface) -> bool:
    # A quadratic from surfaces.from_quadratic shares the registered bowl's name but not its table.
    return s.name in DEFAULTS_2D and (s.name != "quadratic" or "kappa" in s.params)


def explorer1d_defaults(s: surfaces.Surface):
    """``(lr, x0, num_steps)`` on a 1D surface: the table, else ``0.5 / max |f''|`` on the box (in
    ``[1e-4, 1]``), a start one fifth into the box and 100 steps. Example: ``explorer1d_defaults(s)``"""
    if s.name in DEFAULTS_1D:
        return DEFAULTS_1D[s.name]
    lo, hi = s.bounds[0]
    return tuning.safe_lr(s, 0.5, num=401, low=1e-4, high=1.0), lo + 0.2 * (hi - lo), 100


def explorer2d_defaults(s: surfaces.Surface, kinds):
    """``(x0, num_steps, [lr per optimizer kind])`` on a 2D surface: the table, else from its curvature.

    ``kinds`` are names such as ``"sgd"``, ``"momentum"``, ``"adam"`` (:attr:`widgets.optimizer_specs.OptSpec.kind`).
    On the registered bowl the rate of plain and heavy-ball descent follows ``kappa`` (``1 / kappa`` is always
    safe). Example: ``explorer2d_defaults(surfaces.get("rosenbrock"), ["sgd", "adam"])``
    """
    kinds = list(kinds)
    if _in_table(s):
        x0, steps, table = DEFAULTS_2D[s.name]
        if s.name == "quadratic":
            base = 1.0 / float(s.params.get("kappa", 10.0))
            table = dict(table, sgd=base, momentum=0.3 * base, nesterov=0.3 * base)
        return np.array(x0, dtype=float), steps, [table.get(k, 0.01) for k in kinds]
    (xlo, xhi), (ylo, yhi) = s.bounds
    x0 = np.array([xlo + 0.2 * (xhi - xlo), ylo + 0.75 * (yhi - ylo)])  # upper left: room to move
    return x0, 200, tuning.default_lrs(s, kinds)


def default_start(s: surfaces.Surface) -> np.ndarray:
    """The start point of a run on ``s`` of any dimension (the phase diagram's): the table's for a 2D surface
    in :data:`DEFAULTS_2D`, else 80% along each axis of the box. Example: ``default_start(s)``"""
    if s.dim == 2 and s.name in DEFAULTS_2D:
        return np.array(DEFAULTS_2D[s.name][0], dtype=float)
    return np.array([lo + 0.8 * (hi - lo) for lo, hi in s.bounds])
