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

from .style import color
from .explorer2d import Explorer2D

__all__ = ["OptimizerRace"]

#: CSS class of the results table (browser tests find it by this class).
TABLE_CLASS = "lecture-race-table"


class OptimizerRace(Explorer2D):
    """The same start for several optimizers on one surface, animated together, with a table of results.

    Args:
        surface: a 2D surface name or Surface (default Rosenbrock).
        optimizers: up to 6 optimizer specs; default SGD, momentum, Nesterov, RMSprop and Adam, each with a
            learning rate tuned for the registered surfaces.
        lr, momentum, x0, num_steps, functions, tol, figsize, live: as :class:`Explorer2D`.

    Controls: those of :class:`Explorer2D` (no formula box). :attr:`table` (an ``ipywidgets.HTML`` with CSS class
    ``lecture-race-table``) lists per optimizer the steps to converge, the final value and the value at the
    current step, ranked; :attr:`results` holds the same as dicts.
    Example: ``OptimizerRace("beale", ["sgd", "adam"])``
    """

    figsize = (9.0, 4.0)

    def __init__(self, surface="rosenbrock", optimizers=("sgd", "momentum", "nesterov", "rmsprop", "adam"), *,
                 lr=None, momentum=None, x0=None, num_steps=None, functions=None, tol: float = 1e-5,
                 figsize=None, live=None):
        self.table = ipywidgets.HTML(value="")
        self.table.add_class(TABLE_CLASS)
        self.results: list[dict] = []
        super().__init__(surface, optimizers, lr=lr, momentum=momentum, x0=x0, num_steps=num_steps, formula=False,
                         functions=functions, tol=tol, figsize=figsize, live=live)

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
                "label": self.optimizer(i).label,
                "converged_at": int(traj.converged_at[0]),
                "diverged_at": int(traj.diverged_at[0]),
                "final_value": float(traj.values[-1, 0]),
                "value_now": float(traj.values[k_i, 0]),
            })

        def rank(r):
            if r["diverged_at"] >= 0:
                return (2, -r["diverged_at"], 0.0)
            if r["converged_at"] >= 0:
                return (0, r["converged_at"], r["final_value"])
            return (1, 0, r["final_value"])

        self.results = sorted(rows, key=rank)
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
        head = (f"<tr><th>#</th><th>optimizer</th><th>steps to converge</th><th>final f</th>"
                f"<th>f at step {k}</th></tr>")
        self.table.value = (f"<table style='{style}' cellpadding='4'>{head}{''.join(cells)}</table>")

    def set_presenter(self, on: bool):
        super().set_presenter(on)
        if self.trajs:
            self._update_table(min(self.step, self.num_steps))
