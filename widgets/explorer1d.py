"""Explorer1D: gradient descent (or ascent) on a 1D function, with its tangent, driven by sliders.

Introduced in lecture 01 (gradient ascent on f(x) = 25 sin x - x^2 from x0 = -2) and used again in lecture 03
(a function dropdown, learning rate on a log scale, start point, steps, play).

Example::

    from widgets import Explorer1D
    Explorer1D("sin_parabola", maximize=True, x0=-2.0, lr=0.01)
"""
from __future__ import annotations

import math

import numpy as np

from lecture_utils import surfaces
from lecture_utils._validate import check_real

from .axes import nice_limits, surface_title
from .base import callback
from .controls import float_slider, row as controls_row
from .defaults import explorer1d_defaults
from .function_menu import function_choices, function_dropdown, resolve_choice
from .optimizer_specs import parse_optimizers, per_optimizer, suffix
from .style import color
from .trajectory import TrajectoryWidget

__all__ = ["Explorer1D"]


class Explorer1D(TrajectoryWidget):
    """Optimizers on a 1D function: the curve with each path and the tangent at the current iterate, and
    the value against the step.

    Args:
        surface: a 1D surface name (``"sin_parabola"``, ``"x_plus_sin"``, ``"multi_minima"``) or any 1D
            :class:`~lecture_utils.surfaces.Surface`.
        optimizers: one optimizer spec or a list (names such as ``"sgd"``, ``"momentum"``, ``"adam"``, dicts
            ``{"name": "sgd", "lr": 0.1}``, or optimizer objects); default plain gradient descent.
        lr: learning rate (one number, or one per optimizer); default a good first choice for the surface.
        momentum: momentum (beta1 for Adam) per optimizer; default each optimizer's own.
        x0: start point; default a good first choice for the surface. A start outside the plotting box
            widens the box.
        num_steps: number of steps (1 to 2000).
        maximize: run gradient ASCENT: optimize ``surface.negated()`` but draw ``f`` itself.
        functions: ``None`` (default) shows a ``function`` dropdown of the registered 1D surfaces (plus
            ``surface`` when it is a custom one), a list of names/Surfaces shows those, ``False`` none.
        tol: gradient norm under which a run counts as converged.
        figsize, live: as :class:`~widgets.base.Widget`.

    Controls: ``lr``, ``momentum`` (SGD/RMSprop) or ``beta1`` (Adam) for the first optimizer, ``lr_1``, ... for
    the others; ``x0``, ``num_steps``, ``step``, ``play``, ``reset``; ``function`` when shown.
    Example: ``Explorer1D("x_plus_sin", lr=0.1, x0=2.5)``
    """

    def __init__(self, surface="sin_parabola", optimizers="sgd", *, lr=None, momentum=None, x0=None,
                 num_steps=None, maximize: bool = False, functions=None, tol: float = 1e-5, figsize=None,
                 live=None):
        s = surfaces.as_surface(surface, dim=1)
        specs = parse_optimizers(optimizers)
        if not isinstance(maximize, (bool, np.bool_)):
            raise TypeError(f"maximize must be True or False, got {maximize!r}")
        self.maximize = bool(maximize)
        self._choices = function_choices(functions, s, dim=1)
        d_lr, d_x0, d_steps = explorer1d_defaults(s)
        lrs = per_optimizer("lr", lr, len(specs), lambda i: specs[i].lr if specs[i].explicit_lr else d_lr)
        momenta = per_optimizer("momentum", momentum, len(specs), lambda i: None)
        x0 = d_x0 if x0 is None else check_real("x0", x0)
        super().__init__(figsize=figsize, live=live)
        self._init_runs(specs, lrs, momenta, d_steps if num_steps is None else num_steps, tol)
        self.controls["x0"] = float_slider("x0", 0.0, -1.0, 1.0, 0.01, continuous_update=self.live)
        if self._choices is not None:
            self.controls["function"] = function_dropdown(self._choices, s)
        self._build_axes()
        self._set_surface(s, x0)
        self._connect_runs()
        self.controls["x0"].observe(self._on_hyper, names="value")
        if "function" in self.controls:
            self.controls["function"].observe(self._on_function, names="value")
        self._refresh(full=True)

    # ---- set-up ----------------------------------------------------------------------------------------
    def _build_axes(self):
        gs = self.fig.add_gridspec(1, 2, width_ratios=[1.35, 1.0])
        self.ax = self.fig.add_subplot(gs[0, 0])
        self.ax_value = self.fig.add_subplot(gs[0, 1])
        (self.curve,) = self.ax.plot([], [], color="0.3", lw=1.6, zorder=1)
        self.start_marker = self.animate(self.ax.plot([], [], marker="o", ms=9, mfc="white", mec="0.2", mew=1.5,
                                                      ls="none", zorder=3, label="start")[0])
        self.paths, self.points, self.tangents, self.value_lines, self.value_points = [], [], [], [], []
        self.value_done = []
        for i, spec in enumerate(self.specs):
            c = color(i)
            self.paths.append(self.animate(self.ax.plot([], [], "-o", color=c, lw=1.2, ms=3.5, alpha=0.85,
                                                        zorder=4)[0]))
            self.tangents.append(self.animate(self.ax.plot([], [], "--", color=c, lw=2.2, zorder=5)[0]))
            self.points.append(self.animate(self.ax.plot([], [], "o", color=c, ms=10, mec="black", mew=1.0,
                                                         zorder=6)[0]))
            self._add_value_artists(c, spec.title)
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("f(x)")
        self._finish_value_panel("f(x) at the step")

    def _set_surface(self, s, x0=None):
        """Use surface ``s`` (drawn once here); ``x0=None`` takes the surface's default start."""
        self.surface = s
        self._run_surface = s.negated() if self.maximize else s
        lo, hi = s.bounds[0]
        if x0 is None:
            x0 = explorer1d_defaults(s)[1]
        if not (lo <= x0 <= hi):  # a start outside the box widens the box
            span = hi - lo
            lo, hi = min(lo, x0 - 0.05 * span), max(hi, x0 + 0.05 * span)
        self.box = (lo, hi)
        self._draw_curve(lo, hi)
        self.relayout()
        verb = "gradient ascent on" if self.maximize else "descent on"
        self.ax.set_title(f"{verb} {surface_title(s)}")
        slider = self.controls["x0"]
        step = 10 ** math.floor(math.log10((hi - lo) / 400))
        with slider.hold_trait_notifications():
            slider.min, slider.max = -1e300, 1e300  # widen first so min/max never cross
            slider.min, slider.max, slider.step = lo, hi, step
            slider.value = float(x0)

    def _start_point(self):
        return np.array([float(self.controls["x0"].value)])

    # ---- drawing ---------------------------------------------------------------------------------------
    def _sign(self):
        return -1.0 if self.maximize else 1.0

    def _draw_runs(self) -> bool:
        widened = self._fit_view()
        x0 = float(self.controls["x0"].value)
        self.start_marker.set_data([x0], [float(self.surface.value(x0))])
        y_lo, y_hi = self._curve_range
        span = max(y_hi - y_lo, 1e-12)
        lo, hi = np.inf, -np.inf
        for line, traj in zip(self.value_lines, self.trajs):
            v = self._sign() * traj.values[:, 0]
            line.set_data(np.arange(v.size), v)
            vv = np.clip(v[np.isfinite(v)], y_lo - span, y_hi + span)
            if vv.size:
                lo, hi = min(lo, vv.min()), max(hi, vv.max())
        old = (self.ax_value.get_xlim(), self.ax_value.get_ylim())
        self.ax_value.set_xlim(0, max(self.num_steps, 1))
        self.ax_value.set_ylim(*nice_limits(lo, hi, self.ax_value.get_ylim() if self._limits_set else None))
        self._limits_set = True
        legend_changed = self._update_legend()
        return widened or legend_changed or old != (self.ax_value.get_xlim(), self.ax_value.get_ylim())

    def _fit_view(self) -> bool:
        """Widen the x range to show where the runs went (up to two box widths beyond the box)."""
        lo, hi = self.box
        span = hi - lo
        pts = np.concatenate([t.xs[:, 0, 0] for t in self.trajs])
        pts = pts[np.isfinite(pts)]
        p_lo = max(float(pts.min()), lo - 2 * span) if pts.size else lo
        p_hi = min(float(pts.max()), hi + 2 * span) if pts.size else hi
        want_lo, want_hi = min(lo, p_lo - 0.03 * span), max(hi, p_hi + 0.03 * span)
        cur_lo, cur_hi = self.ax.get_xlim()
        # Keep the view while it shows everything and is not much wider than needed.
        if cur_lo <= want_lo and cur_hi >= want_hi and (cur_hi - cur_lo) <= 1.25 * (want_hi - want_lo) + 1e-12:
            return False
        self._draw_curve(want_lo, want_hi)
        return True

    def _draw_curve(self, lo, hi):
        xs = np.linspace(lo, hi, 600)
        ys = np.asarray(self.surface.value(xs), dtype=float)
        self.curve.set_data(xs, ys)
        finite = ys[np.isfinite(ys)]
        y_lo, y_hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        self._curve_range = (y_lo, y_hi)
        self.ax.set_xlim(lo, hi)
        self.ax.set_ylim(*nice_limits(y_lo, y_hi))

    _limits_set = False

    def _draw_step(self, k: int):
        s = self.surface
        (x_lo, x_hi), (y_lo, y_hi) = self.ax.get_xlim(), self.ax.get_ylim()
        for i, traj in enumerate(self.trajs):
            k_i = min(k, traj.num_steps)
            xs = traj.xs[: k_i + 1, 0, 0]
            with np.errstate(all="ignore"):
                fs = np.atleast_1d(np.asarray(s.value(xs[:, None]), dtype=float))
            self.paths[i].set_data(xs, fs)
            x, f = xs[-1], fs[-1]
            self.points[i].set_data([x], [f])
            with np.errstate(all="ignore"):
                slope = float(s.grad(float(x)))
            if math.isfinite(slope) and math.isfinite(f):
                # A tangent of the same on-screen length whatever its slope.
                ux, uy = 1.0 / (x_hi - x_lo), slope / (y_hi - y_lo)
                dx = 0.14 / math.hypot(ux, uy)
                self.tangents[i].set_data([x - dx, x + dx], [f - slope * dx, f + slope * dx])
            else:
                self.tangents[i].set_data([], [])
            vals = self._sign() * traj.values[: k_i + 1, 0]
            self.value_done[i].set_data(np.arange(k_i + 1), vals)
            v = vals[-1]
            self.value_points[i].set_data([k_i], [v] if math.isfinite(v) else [np.nan])
        self.step_line.set_xdata([k, k])

    def _status_line(self, i: int, k: int) -> str:
        traj = self.trajs[i]
        k_i = min(k, traj.num_steps)
        x = traj.xs[k_i, 0, 0]
        with np.errstate(all="ignore"):
            f = float(self.surface.value(float(x)))
        div = int(traj.diverged_at[0])
        if math.isfinite(f) and (div < 0 or k_i < div):
            where = f"step {k_i}: x = {x:.4g}, f(x) = {f:.4g}"
        else:
            where = f"step {k_i}: overflow"
        return f"{self.label(i)}: {traj.status(0)}; {where}"

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_function(self, change):
        s = resolve_choice(self._choices, change["new"])
        d_lr, d_x0, _ = explorer1d_defaults(s)
        with self.hold_redraw():
            with self.hold_runs():  # one run per optimizer once x0 and the rates are set
                self._set_surface(s)
                for i in range(len(self.specs)):
                    self.controls["lr" + suffix(i)].value = d_lr
            self._refresh(full=True)

    def _extra_rows(self):
        row = [self.controls["x0"]]
        if "function" in self.controls:
            row.insert(0, self.controls["function"])
        return [controls_row(row)]
