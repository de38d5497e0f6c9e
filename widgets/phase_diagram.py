"""PhaseDiagram: learning rate x momentum, every pair run from one start, coloured by steps to converge.

Introduced in lecture 05 (the phase diagram of momentum on an ill-conditioned quadratic). The whole grid of
``(lr, momentum)`` pairs runs in ONE batched ``optim.run`` call with :class:`lecture_utils.basin_maps.GridSGD`
(or ``GridAdam``), which gives every row its own hyperparameters; the sliders only move the marked pair.

Example::

    from widgets import PhaseDiagram
    PhaseDiagram(surfaces.get("quadratic", kappa=20), "momentum")
"""
from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.patches import Patch

from lecture_utils.trajectory import Trajectory
from lecture_utils import optim, surfaces
from lecture_utils._validate import check_choice, check_int, check_real
from lecture_utils.basin_maps import GridAdam, GridSGD

from .axes import surface_title
from .base import Widget, callback
from .controls import float_slider, int_slider, log_slider, row
from .defaults import default_start
from .style import DIVERGED_COLOR, UNSETTLED_COLOR, color

__all__ = ["PhaseDiagram"]


class PhaseDiagram(Widget):
    """Learning rate x momentum: every pair run from the same start, coloured by steps to converge; red where
    the run diverged (overflowed, or its gradient norm grew from start to end). The right panel shows the
    run of the chosen pair (the marker).

    Args:
        surface: a surface name or Surface of any dimension (default the quadratic with kappa = 20).
        optimizer: ``"momentum"`` (heavy ball), ``"nesterov"`` or ``"adam"`` (then the second axis is beta1).
        x0: the common start point (default a good first choice for the surface).
        num_steps: steps per run.
        lr_range: ``(low, high)`` of the log-spaced learning-rate axis.
        resolution: ``(n_lr, n_momentum)`` grid size or one number for both.
        lr, momentum: the marked choice (sliders ``lr`` and ``momentum`` move the marker only).
        tol: gradient-norm tolerance of "converged".
        figsize, live: as :class:`~widgets.base.Widget`.

    Controls: ``lr``, ``momentum`` (move the marker and the right panel; no recompute), ``num_steps``
    (recomputes the diagram). A click on the diagram (or ``w.click(lr, momentum)``) picks that pair.
    Example: ``PhaseDiagram(surfaces.get("quadratic", kappa=20), "momentum")``
    """

    figsize = (8.2, 4.0)
    _data_attrs = ("traj", "steps", "diverged")

    def __init__(self, surface=None, optimizer: str = "momentum", *, x0=None, num_steps: int = 200,
                 lr_range=(1e-3, 1.0), resolution=(80, 60), lr=None, momentum=None, tol: float = 1e-5,
                 figsize=None, live=None):
        if surface is None:
            surface = surfaces.get("quadratic", kappa=20.0, angle=0.4)
        surface = surfaces.as_surface(surface)
        check_choice("optimizer", optimizer, ("momentum", "nesterov", "adam"))
        num_steps = check_int("num_steps", num_steps, low=1, high=5000)
        try:
            lo, hi = (float(v) for v in lr_range)
        except (TypeError, ValueError):
            raise TypeError(f"lr_range must be a pair (low, high), got {lr_range!r}") from None
        if not (0 < lo < hi):
            raise ValueError(f"lr_range must satisfy 0 < low < high, got {lr_range!r}")
        if isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool):
            resolution = (resolution, resolution)
        if not isinstance(resolution, (tuple, list)) or len(resolution) != 2:
            raise TypeError(f"resolution must be an int or a pair of ints (n_lr, n_momentum), got {resolution!r}")
        n_lr, n_m = (check_int("resolution", v, low=5, high=300) for v in resolution)
        self.tol = check_real("tol", tol, low=0.0)
        self.surface, self.kind = surface, optimizer
        d = surface.dim
        if x0 is None:
            x0 = default_start(surface)
        x0 = np.asarray(x0, dtype=float).reshape(-1)
        if x0.shape != (d,) or not np.all(np.isfinite(x0)):
            raise ValueError(f"x0 must be a finite point of dimension {d}, got {x0!r}")
        self.x0 = x0
        self.lr_values = np.geomspace(lo, hi, n_lr)
        self.mom_values = np.linspace(0.0, 0.99, n_m) if optimizer != "nesterov" else np.linspace(0.01, 0.99, n_m)
        lr = check_real("lr", lr if lr is not None else math.sqrt(lo * hi), low=0.0, low_open=True)
        mname = "beta1" if optimizer == "adam" else "momentum"
        momentum = check_real(mname, momentum if momentum is not None else 0.5, low=0.0, high=0.99)
        super().__init__(figsize=figsize, live=live)
        self.mname = mname
        self.controls["lr"] = log_slider("lr", lr, lo, hi, continuous_update=self.live)
        self.controls["momentum"] = float_slider(mname, momentum, float(self.mom_values[0]), 0.99, 0.01,
                                                 continuous_update=self.live)
        self.controls["num_steps"] = int_slider("num_steps", num_steps, 1, 5000, continuous_update=False)
        self._build_axes()
        self.controls["lr"].observe(self._on_choice, names="value")
        self.controls["momentum"].observe(self._on_choice, names="value")
        self.controls["num_steps"].observe(self._on_num_steps, names="value")
        self.connect_canvas("button_press_event", self._on_click)
        self.recompute()
        self._draw_map()
        self._draw_choice()
        self.redraw(full=True)

    def _build_axes(self):
        gs = self.fig.add_gridspec(1, 2, width_ratios=[1.15, 1.0])
        self.ax = self.fig.add_subplot(gs[0, 0])
        self.ax_run = self.fig.add_subplot(gs[0, 1])
        n_lr, n_m = self.lr_values.size, self.mom_values.size
        cmap = matplotlib.colormaps["viridis_r"].with_extremes(bad=UNSETTLED_COLOR, over=DIVERGED_COLOR)
        self.mesh = self.ax.pcolormesh(self.lr_values, self.mom_values, np.zeros((n_m, n_lr)), cmap=cmap,
                                       norm=LogNorm(vmin=1, vmax=2), shading="nearest", zorder=1)
        self.ax.set_xscale("log")
        self.ax.set_xlabel("learning rate (log scale)")
        self.ax.set_ylabel(self.mname)
        self.cbar = self.fig.colorbar(self.mesh, ax=self.ax, extend="max", pad=0.01)
        self.cbar.set_label("steps to converge (log scale)")
        # The two outcomes the colour scale has no number for: one legend entry each, under the diagram.
        self.outcome_handles = [Patch(facecolor=DIVERGED_COLOR, edgecolor="black", label="diverged"),
                                Patch(facecolor=UNSETTLED_COLOR, edgecolor="black", label="not converged")]
        self.outcome_legend = self.ax.legend(handles=self.outcome_handles, loc="upper center", ncol=2,
                                             bbox_to_anchor=(0.5, -0.2), fontsize="small", frameon=False,
                                             borderaxespad=0.0, handlelength=1.2, columnspacing=1.0)
        self.marker = self.animate(self.ax.plot([], [], marker="o", ms=11, mfc="none", mec="white", mew=2.5,
                                                ls="none", zorder=5)[0])
        self.marker_in = self.animate(self.ax.plot([], [], marker="o", ms=11, mfc="none", mec="black", mew=1.0,
                                                   ls="none", zorder=6)[0])
        (self.run_line,) = [self.animate(self.ax_run.plot([], [], color=color(0), lw=1.8)[0])]
        self.ax_run.set_yscale("log")
        self.ax_run.set_xlabel("step")
        self.ax_run.set_ylabel(r"$\|\nabla f(x_t)\|$ (log scale)")
        self.ax_run.set_title("the marked choice")
        self.ax_run.grid(True, alpha=0.3)
        # Limits until the first run sets them: autoscaling the tolerance line alone gives equal y-limits.
        floor = self.tol if self.tol and self.tol > 0 else 1e-8
        self.ax_run.set_ylim(floor / 10, max(10.0, floor * 100))
        self.ax_run.axhline(self.tol, color="0.4", lw=1.0, ls="--", zorder=1)

    def _grid_optimizer(self, lrs, moms):
        if self.kind == "adam":
            return GridAdam(lrs, moms)
        return GridSGD(lrs, moms, nesterov=self.kind == "nesterov")

    def recompute(self):
        """Run every (lr, momentum) pair from ``x0``: one batched ``optim.run`` over the grid."""
        L, M = np.meshgrid(self.lr_values, self.mom_values)
        opt = self._grid_optimizer(L.ravel(), M.ravel())
        X0 = np.broadcast_to(self.x0, (L.size, self.surface.dim))
        self.traj = optim.run(self.surface, opt, X0, int(self.controls["num_steps"].value), tol=self.tol)
        shape = L.shape
        self.steps = self.traj.converged_at.reshape(shape)
        # Diverged: overflowed, or the gradient grew over the run (unstable, just not overflowed yet).
        g = self.traj.grad_norms
        with np.errstate(invalid="ignore"):
            growing = (g[-1] > g[0]) & (self.traj.converged_at < 0)
        self.diverged = ((self.traj.diverged_at >= 0) | growing).reshape(shape)
        return self.traj

    def color_range(self) -> tuple[int, int]:
        """``(fastest, budget)``: the colour scale runs from the fewest steps any pair needed to converge to
        the step budget (a scale from 1 would spend most of its colours on counts no pair reached)."""
        num_steps = int(self.controls["num_steps"].value)
        converged = self.steps[(self.steps >= 0) & ~self.diverged]
        fastest = int(max(converged.min(), 1)) if converged.size else 1
        return fastest, max(num_steps, fastest + 1)

    def _draw_map(self):
        num_steps = int(self.controls["num_steps"].value)
        vals = np.where(self.steps >= 0, np.maximum(self.steps, 1), np.nan).astype(float)
        vals[self.diverged] = 10.0 * num_steps  # above vmax: drawn in the "over" colour (diverged)
        self.mesh.set_array(np.ma.masked_invalid(vals).ravel())
        low, high = self.color_range()
        self.mesh.set_norm(LogNorm(vmin=low, vmax=high))
        self.cbar.set_ticks(_log_ticks(low, high))
        self.cbar.set_ticklabels([f"{t:g}" for t in _log_ticks(low, high)])
        self.cbar.minorticks_off()
        self.outcome_handles[1].set_label(f"not converged in {num_steps} steps")
        texts = self.outcome_legend.get_texts()
        texts[1].set_text(f"not converged in {num_steps} steps")
        self.ax.set_title(f"{'Adam' if self.kind == 'adam' else self.kind} on {surface_title(self.surface)}",
                          fontsize="medium")
        self.ax_run.set_xlim(0, num_steps)
        self.relayout()

    def choice_run(self) -> Trajectory:
        """The run of the marked (lr, momentum) pair, with the library's own optimizer class."""
        lr, m = float(self.controls["lr"].value), float(self.controls["momentum"].value)
        if self.kind == "adam":
            opt = optim.Adam(lr=lr, betas=(m, 0.999))
        else:
            opt = optim.SGD(lr=lr, momentum=m, nesterov=self.kind == "nesterov" and m > 0)
        return optim.run(self.surface, opt, self.x0, int(self.controls["num_steps"].value), tol=self.tol)

    def _draw_choice(self) -> bool:
        lr, m = float(self.controls["lr"].value), float(self.controls["momentum"].value)
        self.marker.set_data([lr], [m])
        self.marker_in.set_data([lr], [m])
        traj = self.choice_run()
        g = traj.grad_norms[:, 0]
        self.run_line.set_data(np.arange(g.size), g)
        finite = g[np.isfinite(g) & (g > 0)]
        full = False
        if finite.size:
            # Whole decades around the run and the tolerance; a diverging run's norms reach 1e308, so the
            # decades stay within what a float holds.
            lo = max(min(float(finite.min()), self.tol or math.inf) / 3, 1e-300)
            hi = min(float(finite.max()) * 3, 1e300)
            cur = self.ax_run.get_ylim()
            new = (10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi)))
            if not (cur[0] <= new[0] and cur[1] >= new[1] and cur[0] >= new[0] / 1e4 and cur[1] <= new[1] * 1e4):
                self.ax_run.set_ylim(*new)
                full = True
        n = int(self.controls["num_steps"].value)
        low, high = self.color_range()
        self.set_status(f"lr = {lr:.3g}, {self.mname} = {m:.2f}: {traj.status(0)}",
                        f"colours: steps until |grad| < {self.tol:g}, from the fastest pair ({low}) to the budget "
                        f"({high}); dark red: diverged (overflow, or |grad| grew); grey: not converged within {n} "
                        f"steps")
        return full

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_choice(self, change):
        self.redraw(full=self._draw_choice())

    @callback
    def _on_num_steps(self, change):
        self.recompute()
        self._draw_map()
        self._draw_choice()
        self.redraw(full=True)

    @callback
    def _on_click(self, event):
        """A click on the diagram picks that (lr, momentum) pair."""
        if event.inaxes is not self.ax or event.xdata is None:
            return
        with self.hold_redraw():
            lo, hi = self.lr_values[0], self.lr_values[-1]
            self.controls["lr"].value = float(min(max(event.xdata, lo), hi))
            self.controls["momentum"].value = float(min(max(event.ydata, self.mom_values[0]), 0.99))

    def _controls_box(self):
        c = self.controls
        return row([c["lr"], c["momentum"], c["num_steps"]])


def _log_ticks(low: float, high: float) -> list:
    """Ticks for a log colour scale from ``low`` to ``high``: its ends and the 1-2-5 numbers between them."""
    inside = [m * 10.0 ** k for k in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
              for m in (1, 2, 5)]
    inside = [t for t in inside if 1.25 * low < t < high / 1.25]
    if len(inside) > 5:
        inside = [t for t in inside if str(t).lstrip("0.").startswith("1")] or inside[::2]
    return [float(low), *inside, float(high)]
