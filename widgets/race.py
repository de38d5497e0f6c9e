"""OptimizerRace: several optimizers from the same start on one surface, animated together, with a results table.

Introduced in lecture 05 (the race on Rosenbrock, Beale and a saddle, each optimizer with its own tuned rate).

Example::

    from widgets import OptimizerRace
    OptimizerRace("rosenbrock", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
"""
from __future__ import annotations

import html
import math

import ipywidgets
import numpy as np

from .explorer2d import Explorer2D
from .optimizer_specs import suffix
from .style import color

__all__ = ["OptimizerRace", "RANK_BY"]

#: CSS class of the results table (browser tests find it by this class).
TABLE_CLASS = "lecture-race-table"
#: The named ranking criteria (``rank_by`` may also be a function of one result row).
RANK_BY = ("steps_to_tol", "final_value")
_CAPTIONS = {"steps_to_tol": "ranked by steps to converge (then final |grad|)", "final_value": "ranked by final f"}


def _by_steps(r):
    """Converged runs first, by the step they converged at; then the others by how close to a stationary point
    they ended (their last gradient norm); diverged runs last, the later divergence first."""
    if r["diverged_at"] >= 0:
        return (2, -r["diverged_at"], 0.0)
    if r["converged_at"] >= 0:
        return (0, r["converged_at"], r["final_value"])
    g = r["final_grad_norm"]
    return (1, 0, g if math.isfinite(g) else math.inf)


def _by_value(r):
    """The lowest final value first (on a saddle that is the run that went furthest down); diverged last."""
    if r["diverged_at"] >= 0 or not math.isfinite(r["final_value"]):
        return (1, -r["diverged_at"], 0.0)
    return (0, r["final_value"], r["converged_at"] if r["converged_at"] >= 0 else math.inf)


class OptimizerRace(Explorer2D):
    """The same start for several optimizers on one surface, animated together, with a table of results.

    Args:
        surface: a 2D surface name or Surface (default Rosenbrock).
        optimizers: up to 6 optimizer specs; default SGD, momentum, Nesterov, RMSprop and Adam, each with a
            learning rate tuned for the registered surfaces.
        lr, momentum, x0, num_steps, functions, tol, figsize, live: as :class:`Explorer2D`. The rates (and the
            start and steps) given here are kept for this surface: choosing it again in the ``function`` menu
            brings them back, while another surface gets its own first-impression rates.
        rank_by: how the table ranks the runs: ``"steps_to_tol"`` (default: converged runs by the step they
            converged at, then the others by their final gradient norm, diverged last), ``"final_value"`` (the
            lowest final ``f`` first; on a saddle, the run that went furthest down), or a function of one
            result row (a dict, see :attr:`results`) returning a sort key, smaller ranking higher.

    Controls: those of :class:`Explorer2D` (no formula box). :attr:`table` (an ``ipywidgets.HTML`` with CSS class
    ``lecture-race-table``) lists per optimizer the steps to converge, the final value and the value at the
    current step, ranked; :attr:`results` holds the same as dicts (keys ``index``, ``optimizer``, ``label``,
    ``converged_at``, ``diverged_at``, ``final_value``, ``final_grad_norm``, ``value_now``), in ranking order.
    Example: ``OptimizerRace("saddle", ["sgd", "adam"], rank_by="final_value")``
    """

    figsize = (8.2, 4.2)

    def __init__(self, surface="rosenbrock", optimizers=("sgd", "momentum", "nesterov", "rmsprop", "adam"), *,
                 lr=None, momentum=None, x0=None, num_steps=None, functions=None, tol: float = 1e-5,
                 rank_by="steps_to_tol", figsize=None, live=None):
        if not callable(rank_by) and rank_by not in RANK_BY:
            raise ValueError(f"rank_by must be one of {', '.join(map(repr, RANK_BY))} or a function of a result "
                             f"row, got {rank_by!r}")
        self.rank_by = rank_by
        self.table = ipywidgets.HTML(value="")
        self.table.add_class(TABLE_CLASS)
        self.results: list[dict] = []
        self._home = None  # the surface built on, with the caller's start, steps and rates
        super().__init__(surface, optimizers, lr=lr, momentum=momentum, x0=x0, num_steps=num_steps, formula=False,
                         functions=functions, tol=tol, figsize=figsize, live=live)
        self._home = (self.surface, self._start_point(), self.num_steps,
                      [float(self.controls["lr" + suffix(i)].value) for i in range(len(self.specs))])

    def _defaults(self, s):
        """On the surface the race was built on, the caller's start, steps and rates; elsewhere the defaults."""
        if self._home is not None and _same_surface(s, self._home[0]):
            x0, steps, lrs = self._home[1:]
            return np.array(x0), steps, list(lrs)
        return super()._defaults(s)

    def _extra_widgets(self):
        return [self.table]

    def _update_status(self):
        super()._update_status()
        if self.trajs:
            self._update_table(min(self.step, self.num_steps))

    def _update_table(self, k: int):
        rows = []
        for i, traj in enumerate(self.trajs):
            k_i = min(k, traj.num_steps)
            rows.append({
                "index": i,
                "optimizer": self.specs[i].title,
                "label": self.label(i),
                "converged_at": int(traj.converged_at[0]),
                "diverged_at": int(traj.diverged_at[0]),
                "final_value": float(traj.values[-1, 0]),
                "final_grad_norm": float(traj.grad_norms[-1, 0]),
                "value_now": float(traj.values[k_i, 0]),
            })
        key = {"steps_to_tol": _by_steps, "final_value": _by_value}.get(self.rank_by, self.rank_by)
        self.results = sorted(rows, key=key)
        cells = []
        for place, r in enumerate(self.results, start=1):
            if r["diverged_at"] >= 0:
                steps = f"diverged at step {r['diverged_at']}"
            elif r["converged_at"] >= 0:
                steps = str(r["converged_at"])
            else:
                steps = f"not within {self.num_steps}"
            final = f"{r['final_value']:.4g}" if math.isfinite(r["final_value"]) else "overflow"
            now = f"{r['value_now']:.4g}" if math.isfinite(r["value_now"]) else "overflow"
            cells.append(
                f"<tr><td>{place}</td><td style='color:{color(r['index'])};font-weight:bold'>"
                f"{html.escape(r['label'])}</td><td>{steps}</td><td>{final}</td><td>{now}</td></tr>")
        style = "border-collapse:collapse;font-family:monospace;font-size:" + ("1.3em" if self._presenter else "0.95em")
        by = _CAPTIONS.get(self.rank_by, "ranked by the given criterion") if isinstance(self.rank_by, str) \
            else "ranked by the given criterion"
        head = (f"<tr><th title='{by}'>#</th><th>optimizer</th><th>steps to converge</th><th>final f</th>"
                f"<th>f at step {k}</th></tr>")
        self.table.value = (f"<table style='{style}' cellpadding='4'><caption style='text-align:left'>{by}</caption>"
                            f"{head}{''.join(cells)}</table>")

    def set_presenter(self, on: bool):
        super().set_presenter(on)
        if self.trajs:
            self._update_table(min(self.step, self.num_steps))


def _same_surface(a, b) -> bool:
    """The same surface (the menu builds a registered one afresh each time it is chosen)."""
    return a is b or (a.name == b.name and a.formula == b.formula and a.dim == b.dim
                      and [tuple(x) for x in a.bounds] == [tuple(x) for x in b.bounds])
