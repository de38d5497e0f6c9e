"""BasinMap: a grid of start points run at once, each coloured by where its run ends (or how fast it got there).

Introduced in lecture 05 (basin maps of the 2D test surfaces). Every start point runs in ONE batched
``optim.run`` call; :mod:`lecture_utils.basin_maps` classifies the end points by the critical point they
reach and the step from which they stay there. The learning-rate x momentum map is
:class:`widgets.phase_diagram.PhaseDiagram`.

Example::

    from widgets import BasinMap
    BasinMap("himmelblau", "sgd", lr=0.01)
"""
from __future__ import annotations

import ipywidgets
import matplotlib
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
from matplotlib.patches import Patch

from lecture_utils import optim, surfaces
from lecture_utils._validate import check_choice, check_int, check_real
from lecture_utils.basin_maps import classify_endpoints, critical_point_labels, settle_steps

from .base import Widget, callback
from .contours import contour_levels
from .controls import float_slider, int_slider, log_slider, row as controls_row
from .defaults import explorer2d_defaults
from .optimizer_specs import LR_RANGE, OptSpec
from .style import DIVERGED_COLOR, UNSETTLED_COLOR, colors

__all__ = ["BasinMap"]

SADDLE_COLOR = "#a6a6a6"
MAXIMUM_COLOR = "#ffffff"


def _critical_color(kinds, i_min):
    """Colours of the outcome classes: minima get the palette, saddles grey, maxima white."""
    out = []
    for kind in kinds:
        if kind == "minimum":
            out.append(colors()[i_min % len(colors())])
            i_min += 1
        elif kind == "saddle" or kind == "degenerate":
            out.append(SADDLE_COLOR)
        else:
            out.append(MAXIMUM_COLOR)
    return out


class BasinMap(Widget):
    """A grid of start points coloured by outcome (which minimum, a saddle, diverged) or steps to converge.

    Args:
        surface: a 2D surface name or :class:`~lecture_utils.surfaces.Surface` (its critical points are
            found once, when the map is built).
        optimizer: one optimizer spec (``"sgd"``, ``"momentum"``, ``"adam"``, a dict, or an object).
        lr, momentum: initial hyperparameters (momentum is beta1 for Adam); default the optimizer's own
            momentum and an lr that suits the surface.
        num_steps: steps per run (1 to 2000).
        resolution: start points per axis (at least 10; 100 gives 10,000 runs).
        color_by: ``"outcome"`` or ``"steps"`` (steps until the run stays within the classification radius
            of the critical point where it ends).
        tol: gradient-norm tolerance of "converged".
        figsize, live: as :class:`~widgets.base.Widget`.

    Controls: ``lr``, ``momentum`` (or ``beta1``) when the optimizer has one, ``num_steps``, ``color_by``.
    Moving a slider reruns all starts in one batched ``optim.run`` and recolours the map. A click on the map
    (or ``w.click(x, y)``) draws the path from that start.
    Example: ``BasinMap("himmelblau", "sgd", lr=0.01, resolution=100)``
    """

    figsize = (8.2, 4.5)
    _data_attrs = ("traj", "codes", "labels", "_settle", "starts")

    def __init__(self, surface="himmelblau", optimizer="sgd", *, lr=None, momentum=None, num_steps: int = 200,
                 resolution: int = 100, color_by: str = "outcome", tol: float = 1e-5, figsize=None, live=None):
        s = surfaces.as_surface(surface, dim=2)
        spec = OptSpec(optimizer, "optimizer")
        num_steps = check_int("num_steps", num_steps, low=1, high=2000)
        self.resolution = check_int("resolution", resolution, low=10, high=400)
        check_choice("color_by", color_by, ("outcome", "steps"))
        self.tol = check_real("tol", tol, low=0.0)
        if lr is None:
            lr = spec.lr if spec.explicit_lr else explorer2d_defaults(s, [spec.rate_kind])[2][0]
        lr = check_real("lr", lr, low=0.0, low_open=True)
        if momentum is not None:
            momentum = check_real("momentum", momentum, low=0.0, high=0.99)
        super().__init__(figsize=figsize, live=live)
        self.surface, self.spec = s, spec
        # Recomputing 10,000 runs takes tens of milliseconds: update when a slider is released.
        self.controls["lr"] = log_slider("lr", lr, *LR_RANGE, continuous_update=False)
        if spec.momentum_key:
            self.controls[spec.momentum_key] = float_slider(
                spec.momentum_key, momentum if momentum is not None else spec.momentum, 0.01 if spec.nesterov else 0.0,
                0.99, 0.01, continuous_update=False)
        self.controls["num_steps"] = int_slider("num_steps", num_steps, 1, 2000, continuous_update=False)
        self.controls["color_by"] = ipywidgets.ToggleButtons(options=["outcome", "steps"], value=color_by,
                                                             description="colour by",
                                                             style={"button_width": "80px",
                                                                    "description_width": "initial"})
        self.crit = s.critical_points
        (xlo, xhi), (ylo, yhi) = s.bounds
        n = self.resolution
        gx, gy = np.meshgrid(np.linspace(xlo, xhi, n), np.linspace(ylo, yhi, n))
        self.starts = np.stack([gx.ravel(), gy.ravel()], axis=1)
        self.extent = (xlo, xhi, ylo, yhi)
        self._build_axes()
        self.probe = None
        for name in ("lr", "momentum", "beta1", "num_steps"):
            if name in self.controls:
                self.controls[name].observe(self._on_hyper, names="value")
        self.controls["color_by"].observe(self._on_color_by, names="value")
        self.connect_canvas("button_press_event", self._on_click)
        self._key = None
        self.update()

    # ---- set-up ----------------------------------------------------------------------------------------
    def _build_axes(self):
        gs = self.fig.add_gridspec(1, 2, width_ratios=[1.0, 0.42])
        self.ax = self.fig.add_subplot(gs[0, 0])
        self.ax_key = self.fig.add_subplot(gs[0, 1])
        self.ax_key.axis("off")
        kinds = [c.kind for c in self.crit]
        class_colors = [DIVERGED_COLOR, UNSETTLED_COLOR] + _critical_color(kinds, 0)
        self.outcome_cmap = ListedColormap(class_colors)
        self.outcome_norm = BoundaryNorm(np.arange(-2.5, len(self.crit) + 0.5, 1.0), self.outcome_cmap.N)
        n = self.resolution
        self.image = self.animate(self.ax.imshow(np.zeros((n, n)), origin="lower", extent=self.extent,
                                                 cmap=self.outcome_cmap, norm=self.outcome_norm, aspect="auto",
                                                 interpolation="nearest", zorder=1))
        X, Y, Z = self.surface.grid(80)
        levels = contour_levels(Z, 14, spacing="quantile")
        self.ax.contour(X, Y, Z, levels=levels, colors="black", linewidths=0.4, alpha=0.35, zorder=2)
        for c in self.crit:
            marker = {"minimum": "*", "saddle": "X", "maximum": "^"}.get(c.kind, "o")
            self.ax.plot(*c.point, marker=marker, ms=12 if marker == "*" else 9, color="white", mec="black",
                         ls="none", zorder=4)
        self.probe_line = self.animate(self.ax.plot([], [], "-", color="white", lw=2.2, zorder=5)[0])
        self.probe_start = self.animate(self.ax.plot([], [], "o", color="white", mec="black", ms=8, zorder=6)[0])
        self.ax.set_xlim(*self.extent[:2])
        self.ax.set_ylim(*self.extent[2:])
        # The title names the hyperparameters, so it changes on every slider move: blit it with the map
        # instead of redrawing the whole figure (contours, legend) for a new title.
        self.animate(self.ax.title)
        self.ax.set_xlabel("start x")
        self.ax.set_ylabel("start y")
        handles = [Patch(facecolor=DIVERGED_COLOR, edgecolor="black", label="diverged"),
                   Patch(facecolor=UNSETTLED_COLOR, edgecolor="black", label="no critical point")]
        shown = set()
        for c, col, lab in zip(self.crit, class_colors[2:], critical_point_labels(self.crit)):
            if c.kind == "minimum":
                handles.append(Patch(facecolor=col, edgecolor="black", label=lab))
            elif c.kind not in shown:  # one entry for all saddles (one colour), one for all maxima
                shown.add(c.kind)
                n_kind = sum(1 for d in self.crit if d.kind == c.kind)
                handles.append(Patch(facecolor=col, edgecolor="black",
                                     label=f"{c.kind} ({n_kind})" if n_kind > 1 else lab))
        self.outcome_legend = self.ax_key.legend(handles=handles, loc="center left", fontsize="small",
                                                 title="where the run ends", frameon=False)
        self.colorbar = None

    # ---- computing ---------------------------------------------------------------------------------------
    def optimizer(self) -> optim.Optimizer:
        """The optimizer with the hyperparameters on the sliders now."""
        key = self.spec.momentum_key
        return self.spec.build(self.controls["lr"].value, self.controls[key].value if key else None)

    def recompute(self, force: bool = False):
        """Run every start point (one batched ``optim.run``) and classify where each run ends.

        The runs are kept while the hyperparameters are unchanged; ``force`` runs them again anyway.
        """
        opt = self.optimizer()
        num_steps = int(self.controls["num_steps"].value)
        key = (repr(opt), num_steps)
        if key == self._key and not force:
            return self.traj
        self.traj = optim.run(self.surface, opt, self.starts, num_steps, tol=self.tol)
        self.codes, self.labels = classify_endpoints(self.surface, self.traj)
        self._settle = None  # computed when the steps view asks for it
        self._key = key
        return self.traj

    def update(self):
        """Recompute if a hyperparameter changed, recolour the map and the status line, redraw."""
        self.recompute()
        n = self.resolution
        full = False
        if self.controls["color_by"].value == "outcome":
            self.image.set_cmap(self.outcome_cmap)
            self.image.set_norm(self.outcome_norm)
            self.image.set_data(self.codes.reshape(n, n).astype(float))
        else:
            steps = np.where(self.settle >= 0, np.maximum(self.settle, 1), np.nan).astype(float)
            steps = np.ma.masked_invalid(steps).reshape(n, n)
            num_steps = int(self.controls["num_steps"].value)
            if not isinstance(self.image.norm, LogNorm) or self.image.norm.vmax != num_steps:
                self.image.set_cmap(self._steps_cmap())
                self.image.set_norm(LogNorm(vmin=1, vmax=max(num_steps, 2)))
                full = True
            self.image.set_data(steps)
        opt = self.optimizer()
        title = f"{self.spec.label(opt)}, {int(self.controls['num_steps'].value)} steps"
        if self.ax.get_title() != title:
            full = full or not self.ax.get_title()  # the first title: lay the figure out for it
            self.ax.set_title(title, fontsize="medium")
        self._update_key()
        self._update_probe()
        self.set_status(self._summary())
        self.redraw(full=full)

    @property
    def settle(self) -> np.ndarray:
        """Per start: the first step after which the run stays near where it ends (see :func:`lecture_utils.basin_maps.settle_steps`)."""
        if self._settle is None:
            self._settle = settle_steps(self.surface, self.traj, self.codes)
        return self._settle

    def _steps_cmap(self):
        return matplotlib.colormaps["viridis_r"].with_extremes(bad=UNSETTLED_COLOR)

    def _update_key(self):
        steps_mode = self.controls["color_by"].value == "steps"
        if steps_mode and self.colorbar is None:
            self.outcome_legend.set_visible(False)
            cax = self.ax_key.inset_axes([0.05, 0.1, 0.08, 0.8])
            self.colorbar = self.fig.colorbar(self.image, cax=cax)
            self.colorbar.set_label("steps until the run stays near\nthe point where it ends\n(grey: ends near none)")
            self.relayout()
        elif not steps_mode and self.colorbar is not None:
            self.colorbar.remove()
            self.colorbar = None
            self.outcome_legend.set_visible(True)
            self.relayout()

    def _summary(self) -> str:
        B = self.codes.size
        parts = []
        for i, lab in enumerate(self.labels):
            frac = float(np.mean(self.codes == i))
            if frac > 0:
                parts.append(f"{lab}: {_pct(frac)}")
        for code, lab in ((-1, "no critical point"), (-2, "diverged")):
            frac = float(np.mean(self.codes == code))
            if frac > 0:
                parts.append(f"{lab}: {_pct(frac)}")
        conv = self.traj.converged_at
        med = f"; median steps to converge {int(np.median(conv[conv >= 0]))}" if (conv >= 0).any() else ""
        return f"{B} starts: " + ", ".join(parts) + med

    def _update_probe(self):
        if self.probe is None:
            self.probe_line.set_data([], [])
            self.probe_start.set_data([], [])
            return
        traj = optim.run(self.surface, self.optimizer(), self.probe, int(self.controls["num_steps"].value),
                         tol=self.tol)
        self.probe_line.set_data(traj.xs[:, 0, 0], traj.xs[:, 0, 1])
        self.probe_start.set_data([self.probe[0]], [self.probe[1]])

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_hyper(self, change):
        self.update()

    @callback
    def _on_color_by(self, change):
        self.update()
        self.redraw(full=True)

    @callback
    def _on_click(self, event):
        """A click on the map draws the run from that start point."""
        if event.inaxes is not self.ax or event.xdata is None:
            return
        self.probe = np.array([float(event.xdata), float(event.ydata)])
        self._update_probe()
        self.redraw()

    def _state_extra(self) -> dict:
        """The start point clicked for a path (None: no path drawn)."""
        return {"probe": None if self.probe is None else self.probe.tolist()}

    def _load_extra(self, extra: dict, before_controls: bool) -> None:
        if not before_controls:
            self.probe = None if extra.get("probe") is None else np.asarray(extra["probe"], dtype=float).reshape(2)
            self._update_probe()
            self.redraw()

    def _controls_box(self):
        c = self.controls
        row = [c["lr"]] + ([c[self.spec.momentum_key]] if self.spec.momentum_key else []) + [c["num_steps"]]
        return ipywidgets.VBox([controls_row(row), c["color_by"]])


def _pct(frac: float) -> str:
    return "<1%" if frac < 0.01 else f"{100 * frac:.0f}%"
