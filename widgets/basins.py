"""BasinMap and PhaseDiagram: many runs at once, coloured by where they end and how fast.

Introduced in lecture 03 (1D basins, which minimum a start reaches) and lecture 05 (basin maps of the 2D
test surfaces; the learning-rate x momentum phase diagram of momentum on an ill-conditioned quadratic).
Both run every start point (or every hyperparameter pair) in ONE batched ``optim.run`` call.

Example::

    from widgets import BasinMap, PhaseDiagram
    BasinMap("himmelblau", "sgd", lr=0.01)
    PhaseDiagram(surfaces.get("quadratic", kappa=20), "momentum")
"""
from __future__ import annotations

import math

import ipywidgets
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm
from matplotlib.patches import Patch

from lecture_utils import optim, surfaces
from lecture_utils.basin_maps import GridAdam, GridSGD, classify_endpoints, critical_point_labels, settle_steps
from lecture_utils._validate import check_choice, check_int, check_real

from ._common import LR_RANGE, OptSpec, surface_title
from .base import Widget, callback, color, colors, float_slider, int_slider, log_slider

__all__ = ["BasinMap", "PhaseDiagram"]

DIVERGED_COLOR = "#7f0000"
UNSETTLED_COLOR = "#d9d9d9"
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
    draws the path from that start.
    Example: ``BasinMap("himmelblau", "sgd", lr=0.01, resolution=100)``
    """

    figsize = (9.0, 4.5)

    def __init__(self, surface="himmelblau", optimizer="sgd", *, lr=None, momentum=None, num_steps: int = 200,
                 resolution: int = 100, color_by: str = "outcome", tol: float = 1e-5, figsize=None, live=None):
        s = surfaces.as_surface(surface, dim=2)
        spec = OptSpec(optimizer, "optimizer")
        num_steps = check_int("num_steps", num_steps, low=1, high=2000)
        self.resolution = check_int("resolution", resolution, low=10, high=400)
        check_choice("color_by", color_by, ("outcome", "steps"))
        self.tol = check_real("tol", tol, low=0.0)
        if lr is None:
            from .explorer2d import default_settings

            lr = spec.lr if spec.explicit_lr else default_settings(s, [spec])[2][0]
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
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
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
        levels = np.unique(np.quantile(Z[np.isfinite(Z)], np.linspace(0, 0.97, 14) ** 1.5))
        if levels.size >= 2:
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

    def recompute(self):
        """Run every start point (one batched ``optim.run``) and classify where each run ends."""
        opt = self.optimizer()
        num_steps = int(self.controls["num_steps"].value)
        key = (repr(opt), num_steps)
        if key == self._key:
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
        title = f"{opt.label}, {int(self.controls['num_steps'].value)} steps"
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
        import matplotlib

        cmap = matplotlib.colormaps["viridis_r"].with_extremes(bad=UNSETTLED_COLOR)
        return cmap

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

    def _controls_box(self):
        c = self.controls
        row = [c["lr"]] + ([c[self.spec.momentum_key]] if self.spec.momentum_key else []) + [c["num_steps"]]
        return ipywidgets.VBox([ipywidgets.HBox(row), c["color_by"]])


def _pct(frac: float) -> str:
    return "<1%" if frac < 0.01 else f"{100 * frac:.0f}%"


# ---------------------------------------------------------------------------------------------------------
# Phase diagram: one run per (lr, momentum) pair, all in one batched optim.run call.
# ---------------------------------------------------------------------------------------------------------
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
    (recomputes the diagram). A click on the diagram picks that pair.
    Example: ``PhaseDiagram(surfaces.get("quadratic", kappa=20), "momentum")``
    """

    figsize = (9.0, 4.0)

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
            x0 = self._default_x0(surface)
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
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self.recompute()
        self._draw_map()
        self._draw_choice()
        self.redraw(full=True)

    @staticmethod
    def _default_x0(s):
        if s.dim == 2 and s.name in ("quadratic",):
            return np.array([-2.5, 1.5])
        from .explorer2d import DEFAULTS_2D

        if s.name in DEFAULTS_2D:
            return np.array(DEFAULTS_2D[s.name][0], dtype=float)
        return np.array([lo + 0.8 * (hi - lo) for lo, hi in s.bounds])

    def _build_axes(self):
        gs = self.fig.add_gridspec(1, 2, width_ratios=[1.15, 1.0])
        self.ax = self.fig.add_subplot(gs[0, 0])
        self.ax_run = self.fig.add_subplot(gs[0, 1])
        n_lr, n_m = self.lr_values.size, self.mom_values.size
        cmap = __import__("matplotlib").colormaps["viridis_r"].with_extremes(bad=UNSETTLED_COLOR, over=DIVERGED_COLOR)
        self.mesh = self.ax.pcolormesh(self.lr_values, self.mom_values, np.zeros((n_m, n_lr)), cmap=cmap,
                                       norm=LogNorm(vmin=1, vmax=2), shading="nearest", zorder=1)
        self.ax.set_xscale("log")
        self.ax.set_xlabel("learning rate (log scale)")
        self.ax.set_ylabel(self.mname)
        self.cbar = self.fig.colorbar(self.mesh, ax=self.ax, extend="max", pad=0.01)
        self.cbar.set_label("steps to converge")
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

    def _draw_map(self):
        num_steps = int(self.controls["num_steps"].value)
        vals = np.where(self.steps >= 0, np.maximum(self.steps, 1), np.nan).astype(float)
        vals[self.diverged] = 10.0 * num_steps  # above vmax: drawn in the "over" colour (diverged)
        self.mesh.set_array(np.ma.masked_invalid(vals).ravel())
        self.mesh.set_norm(LogNorm(vmin=1, vmax=max(num_steps, 2)))
        self.ax.set_title(f"{'Adam' if self.kind == 'adam' else self.kind} on {surface_title(self.surface)}",
                          fontsize="medium")
        self.ax_run.set_xlim(0, num_steps)
        self.relayout()

    def choice_run(self) -> optim.Trajectory:
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
            lo = min(float(finite.min()), self.tol) / 3
            hi = float(finite.max()) * 3
            cur = self.ax_run.get_ylim()
            new = (10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi)))
            if not (cur[0] <= new[0] and cur[1] >= new[1] and cur[0] >= new[0] / 1e4 and cur[1] <= new[1] * 1e4):
                self.ax_run.set_ylim(*new)
                full = True
        n = int(self.controls["num_steps"].value)
        self.set_status(f"lr = {lr:.3g}, {self.mname} = {m:.2f}: {traj.status(0)}",
                        f"colours: steps until |grad| < {self.tol:g}; dark red: diverged (overflow, or |grad| "
                        f"grew); grey: not converged within {n} steps")
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
        return ipywidgets.HBox([c["lr"], c["momentum"], c["num_steps"]])
