"""Widgets of the second-order methods: quasi-Newton ellipses along the path, and a race of first- and
second-order methods.

- :class:`QuasiNewtonEllipses` runs BFGS or L-BFGS and draws, at every point of the path, the ellipse of the
  inverse-Hessian approximation ``M_k`` (the shape of the quadratic model's contours), next to the shape of
  the true local Hessian. Step through it and watch the ellipse learn the valley.
- :class:`SecondOrderRace` runs gradient descent, momentum, Newton, CG, BFGS and L-BFGS from one start point
  on one surface, with a condition-number slider for the quadratic bowl; the first-order methods get their
  tuned learning rate (:func:`lecture_utils.second_order.race.tuned_first_order`).

Introduced in lecture 06. Both compute with :mod:`lecture_utils.second_order` (the runs, the race, the ellipses
of :mod:`~lecture_utils.second_order.quasi_newton`) when a setting changes, and only index the stored runs
when the step slider moves (:class:`widgets.playback.PlaybackWidget`).

Example::

    from widgets.second_order import QuasiNewtonEllipses, SecondOrderRace
    QuasiNewtonEllipses("rosenbrock")
    SecondOrderRace("quadratic", kappa=100)
"""
from __future__ import annotations

import ipywidgets
import numpy as np
from matplotlib.collections import LineCollection

from lecture_utils import optimality_gap, surfaces
from lecture_utils.second_order.methods import run_method
from lecture_utils.second_order.quasi_newton import hessian_ellipse, inverse_hessian_ellipse
from lecture_utils.second_order.race import RACE_METHODS, num_evaluations, race_trajectories

from .base import callback
from .contours import contour_levels
from .controls import int_slider, log_slider
from .playback import PlaybackWidget
from .style import color

__all__ = ["QuasiNewtonEllipses", "SecondOrderRace", "SURFACES", "DEFAULT_STARTS"]

#: Surfaces offered by the dropdowns (all 2D, bounded below).
SURFACES = ("quadratic", "rosenbrock", "beale", "himmelblau", "six_hump_camel")
#: A start point per surface that shows the method at work (the classic (-1.2, 1) for Rosenbrock).
DEFAULT_STARTS = {"quadratic": (2.5, 1.5), "rosenbrock": (-1.2, 1.0), "beale": (1.0, 1.5), "himmelblau": (-1.0, -4.0),
                  "six_hump_camel": (-1.6, 0.8)}
_QUADRATIC_ANGLE = 0.5


class _SurfaceRun(PlaybackWidget):
    """What both widgets share: a ``surface`` dropdown and a ``kappa`` slider for the bowl, its contours with
    the minima, a start point (default :data:`DEFAULT_STARTS`, moved by a click), and a log-scale gap curve.

    Subclasses call :meth:`_init_surface_run` first, add their own controls, call ``_init_playback`` and
    implement ``_recompute(new_surface)`` (run from :attr:`x0` on :attr:`surface`, calling
    :meth:`_new_surface` when the surface changed) and ``_show_step(k)``.
    """

    figsize = (8.2, 4.4)

    @staticmethod
    def _check_surface(surface):
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {', '.join(SURFACES)}; got {surface!r}")

    def _init_surface_run(self, surface, x0, width_ratios):
        self._check_surface(surface)
        self._x0 = None if x0 is None else np.asarray(x0, dtype=float).reshape(2)
        self.controls["surface"] = ipywidgets.Dropdown(options=SURFACES, value=surface, description="surface",
                                                       layout=ipywidgets.Layout(width="210px"))
        self.ax, self.ax_curve = self.fig.subplots(1, 2, width_ratios=width_ratios)
        self.ax.set_aspect("equal", adjustable="box")
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self._contour_set = None
        self.ax_curve.set_yscale("log")
        self.ax_curve.set_ylabel(r"$f(x_k) - f_{\min}$")
        self.connect_canvas("button_press_event", self._on_click)

    @property
    def surface(self) -> surfaces.Surface:
        return self._surface

    @property
    def x0(self) -> np.ndarray:
        """The start point: the one set by a click or :meth:`set_start`, else the surface's default."""
        name = self.controls["surface"].value
        return self._x0 if self._x0 is not None else np.array(DEFAULT_STARTS[name], dtype=float)

    def set_start(self, x0):
        """Move the start point and recompute (what a click on the contour plot does)."""
        self._x0 = np.asarray(x0, dtype=float).reshape(2)
        self._recompute(new_surface=False)

    def _state_extra(self) -> dict:
        """A start point set by a click (None: the surface's default)."""
        return {"start": None if self._x0 is None else self._x0.tolist()}

    def _load_extra(self, extra: dict, before_controls: bool) -> None:
        if not before_controls and extra.get("start") is not None:
            self.set_start(extra["start"])

    def _new_surface(self, mins_artist):
        """Build the chosen surface, draw its contours (once per surface) and mark its minima."""
        c = self.controls
        name, kappa = c["surface"].value, c["kappa"].value
        self._surface = (surfaces.get("quadratic", kappa=kappa, angle=_QUADRATIC_ANGLE) if name == "quadratic"
                         else surfaces.get(name))
        if self._contour_set is not None:
            self._contour_set.remove()
        X, Y, Z = self._surface.grid(160)
        with np.errstate(all="ignore"):
            self._contour_set = self.ax.contour(X, Y, Z, levels=contour_levels(Z), colors="0.55", linewidths=0.6,
                                                alpha=0.7, zorder=0)
        (x_lo, x_hi), (y_lo, y_hi) = self._surface.bounds
        self.ax.set_xlim(x_lo, x_hi)
        self.ax.set_ylim(y_lo, y_hi)
        self.ax.set_title(self._surface.formula, fontsize=9)
        mins = self._surface.minima
        mins_artist.set_data(mins[:, 0], mins[:, 1])

    def _set_gap_limits(self, gaps):
        finite = np.concatenate([g[np.isfinite(g)] for g in gaps])
        self.ax_curve.set_xlim(0, self.num_steps)
        self.ax_curve.set_ylim(max(finite.min() / 3, 1e-16), finite.max() * 3)

    def _after_reset(self):
        self._x0 = None
        self._recompute(new_surface=False)

    @callback
    def _on_setting(self, change):
        new_surface = change["owner"] in (self.controls["surface"], self.controls["kappa"])
        if change["owner"] is self.controls["surface"]:
            self._x0 = None
        self._recompute(new_surface=new_surface)

    @callback
    def _on_click(self, event):
        if event.inaxes is self.ax and event.xdata is not None:
            self.set_start((event.xdata, event.ydata))


# ---------------------------------------------------------------------------------------------------------
class QuasiNewtonEllipses(_SurfaceRun):
    """BFGS or L-BFGS on a 2D surface, with the shape of its inverse-Hessian approximation along the path.

    Left: contours, the path up to the current step, thin ellipses for ``M_0 .. M_k`` at the points where they
    were used, the current ``M_k`` in bold and, dashed, the shape of the true inverse Hessian ``H(x_k)^{-1}``
    there (absent where ``H`` is not positive definite). All ellipses are scaled to the same size: compare
    shapes and orientations, not sizes. Right: ``f(x_k) - f_min`` against the step on a log scale.

    Args:
        surface: one of :data:`SURFACES`.
        x0: start point (default :data:`DEFAULT_STARTS`); click the contour plot to move it (live figures).
        method: ``"BFGS"`` or ``"L-BFGS"``.
        m: L-BFGS history size.
        num_steps: steps computed.
        kappa: condition number of the quadratic surface.
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        traj: the current :class:`~lecture_utils.trajectory.Trajectory` (``traj.extras["inv_hessians"]``).
        path_line: the path up to the step; ellipse_line: ``M_k``; true_ellipse_line: ``H(x_k)^{-1}``;
        history_ellipses: ``M_0 .. M_{k-1}`` (a ``LineCollection``); step_line: the step on the right panel.
    Example: ``w = QuasiNewtonEllipses("rosenbrock"); w.set(step=20); w.static()``
    """

    _data_attrs = ("traj", "_ellipses", "_true_ellipses", "_hessians", "_gap_values")

    def __init__(self, surface: str = "rosenbrock", x0=None, *, method: str = "BFGS", m: int = 5,
                 num_steps: int = 60, kappa: float = 20.0, figsize=None, live=None):
        super().__init__(figsize=figsize, live=live)
        if method not in ("BFGS", "L-BFGS"):
            raise ValueError(f"method must be 'BFGS' or 'L-BFGS', got {method!r}")
        self._init_surface_run(surface, x0, (1.15, 1))
        self.controls.update(
            method=ipywidgets.ToggleButtons(options=("BFGS", "L-BFGS"), value=method, description="method",
                                            style={"button_width": "70px"}),
            m=int_slider("L-BFGS memory m", m, 1, 10, width="260px"),
            kappa=log_slider("kappa (quadratic)", kappa, 1.0, 1000.0, width="260px"))
        self._init_playback(int(num_steps), frames=int(num_steps))
        self._build_artists()
        for name in ("surface", "method", "m", "kappa"):
            self.controls[name].observe(self._on_setting, names="value")
        self._recompute()

    def _build_artists(self):
        ax = self.ax
        # M_0 .. M_{k-1}: thin but visible (the shapes the approximation went through on the way).
        self.history_ellipses = LineCollection([], colors=color(1), linewidths=1.1, alpha=0.6, zorder=2)
        ax.add_collection(self.history_ellipses)
        (self.path_line,) = ax.plot([], [], "-", color=color(0), lw=1.5, zorder=3, label="path")
        (self._start,) = ax.plot([], [], "o", color="black", ms=5, zorder=4, label="start")
        (self._min,) = ax.plot([], [], "*", color=color(2), ms=12, zorder=4, label="minimum")
        (self.ellipse_line,) = ax.plot([], [], "-", color=color(1), lw=2.2, zorder=5,
                                       label=r"$M_k$ (approximation)")
        (self.true_ellipse_line,) = ax.plot([], [], "--", color="black", lw=1.4, zorder=5,
                                            label=r"$H(x_k)^{-1}$ (true)")
        (self._here,) = ax.plot([], [], "o", color=color(1), ms=6, zorder=6)
        ax.legend(loc="upper left", fontsize="small", framealpha=0.85)
        (self._curve,) = self.ax_curve.plot([], [], "-", color=color(0), lw=1.5)
        (self._curve_here,) = self.ax_curve.plot([], [], "o", color=color(1), ms=6)
        self.step_line = self.ax_curve.axvline(0, color="0.6", lw=0.8)
        self.ax_curve.set_xlabel("step $k$")
        self.ax_curve.grid(True, which="major", alpha=0.3)
        self.animate(self.history_ellipses, self.path_line, self.ellipse_line, self.true_ellipse_line, self._here,
                     self._curve_here, self.step_line)

    # ---- computing --------------------------------------------------------------------------------------
    def _recompute(self, new_surface: bool = True):
        c = self.controls
        c["m"].disabled = c["method"].value != "L-BFGS"
        c["kappa"].disabled = c["surface"].value != "quadratic"
        if new_surface:
            self._new_surface(self._min)
        method = c["method"].value
        kw = {"m": int(c["m"].value)} if method == "L-BFGS" else {}
        self.traj = run_method("lbfgs" if method == "L-BFGS" else "bfgs", self._surface, self.x0, self.num_steps,
                               tol=1e-8, inv_hessians=True, **kw)
        xs = self.traj.xs[:, 0]
        (x_lo, x_hi), (y_lo, y_hi) = self._surface.bounds
        radius = 0.07 * max(x_hi - x_lo, y_hi - y_lo)
        Ms = self.traj.extras["inv_hessians"][:, 0]
        self._ellipses = inverse_hessian_ellipse(xs, Ms, longest=radius)
        with np.errstate(all="ignore"):
            self._hessians = self._surface.hessian(xs)
        self._true_ellipses = hessian_ellipse(xs, self._hessians, longest=radius)
        self._start.set_data([xs[0, 0]], [xs[0, 1]])
        self._f_min = optimality_gap.lowest_value(self._surface, [self.traj])
        self._gap_values = optimality_gap.gap(self.traj.values[:, 0], self._f_min)
        self._curve.set_data(np.arange(len(self._gap_values)), self._gap_values)
        self._set_gap_limits([self._gap_values])
        self.ax_curve.set_title(f"{self.traj.label}: {self.traj.status()}", fontsize=9)
        self._show_step(self.step)
        self.redraw(full=True)

    # ---- drawing ----------------------------------------------------------------------------------------
    def _show_step(self, k: int):
        k = int(min(max(k, 0), self.num_steps))
        xs = self.traj.xs[:, 0]
        self.path_line.set_data(xs[:k + 1, 0], xs[:k + 1, 1])
        self.history_ellipses.set_segments(list(self._ellipses[:k]))
        self.ellipse_line.set_data(self._ellipses[k, :, 0], self._ellipses[k, :, 1])
        self.true_ellipse_line.set_data(self._true_ellipses[k, :, 0], self._true_ellipses[k, :, 1])
        self._here.set_data([xs[k, 0]], [xs[k, 1]])
        self._curve_here.set_data([k], [self._gap_values[k]])
        self.step_line.set_xdata([k, k])
        lam_M = np.linalg.eigvalsh(self.traj.extras["inv_hessians"][k, 0])
        with np.errstate(all="ignore"):
            lam_H = np.linalg.eigvalsh(self._hessians[k])
        if lam_H.min() > 0:
            true = f"cond(H^-1) = {lam_H.max() / lam_H.min():.3g}"
        else:
            true = "H is not positive definite here (no true ellipse)"
        self.set_status(f"step {k}: x = ({xs[k, 0]:.4f}, {xs[k, 1]:.4f}), f - f_min = {self._gap_values[k]:.3g}",
                        f"cond(M_k) = {lam_M.max() / lam_M.min():.3g}; {true}",
                        f"{self.traj.label}: {self.traj.status()}")


# ---------------------------------------------------------------------------------------------------------
class SecondOrderRace(_SurfaceRun):
    """GD, momentum, Newton, CG, BFGS and L-BFGS from the same start on the same surface.

    GD and momentum get their best learning rate (closed form on the quadratic, a grid search elsewhere); the
    others need none. Left: contours and the paths up to the current step. Right: ``f - f_min`` against the
    step (log scale). The status lines give each method's outcome and its number of ``(f, grad f)``
    evaluations (Newton also solves one Hessian system per step). Moving ``kappa`` re-runs everything on a
    quadratic with that condition number: GD and momentum slow down, Newton, CG and BFGS barely notice.

    Args:
        surface: one of :data:`SURFACES`.
        kappa: condition number of the quadratic (slider from 1 to 1000).
        methods: the methods shown (a subset of ``RACE_METHODS``).
        num_steps: steps computed for every method.
        x0: start point (default :data:`DEFAULT_STARTS`).
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        trajs: ``{method: Trajectory}`` of the current setting.
        path_lines: ``{method: Line2D}``, each path up to the step; step_line: the step on the right panel.
    Example: ``w = SecondOrderRace("quadratic", kappa=100); w.set(kappa=1000.0)``
    """

    _data_attrs = ("trajs", "_gaps")

    def __init__(self, surface: str = "quadratic", *, kappa: float = 30.0, methods=RACE_METHODS,
                 num_steps: int = 100, x0=None, figsize=None, live=None):
        super().__init__(figsize=figsize, live=live)
        self._check_surface(surface)
        methods = tuple(methods)
        bad = [m for m in methods if m not in RACE_METHODS]
        if bad or not methods:
            raise ValueError(f"methods must be a non-empty subset of {RACE_METHODS}; got {methods}")
        self._init_surface_run(surface, x0, (1.0, 1.0))
        self.controls.update(
            kappa=log_slider("kappa (quadratic)", kappa, 1.0, 1000.0, width="280px", continuous_update=False),
            methods=ipywidgets.SelectMultiple(options=RACE_METHODS, value=methods, description="methods",
                                              rows=len(RACE_METHODS), layout=ipywidgets.Layout(width="200px")))
        self._init_playback(int(num_steps), frames=int(num_steps))
        self._build_artists()
        for name in ("surface", "kappa"):
            self.controls[name].observe(self._on_setting, names="value")
        self.controls["methods"].observe(self._on_methods, names="value")
        self._recompute()

    def _build_artists(self):
        self.path_lines, self._heads, self._curves, self._curve_heads = {}, {}, {}, {}
        for i, name in enumerate(RACE_METHODS):
            c = color(i)
            (self.path_lines[name],) = self.ax.plot([], [], "-", color=c, lw=1.5, zorder=3)
            (self._heads[name],) = self.ax.plot([], [], "o", color=c, ms=5, zorder=4)
            (self._curves[name],) = self.ax_curve.plot([], [], "-", color=c, lw=1.5, label=name)
            (self._curve_heads[name],) = self.ax_curve.plot([], [], "o", color=c, ms=5)
        (self._start,) = self.ax.plot([], [], "s", color="black", ms=5, zorder=5)
        (self._min,) = self.ax.plot([], [], "*", color="black", ms=11, zorder=5)
        self.step_line = self.ax_curve.axvline(0, color="0.6", lw=0.8)
        self.ax_curve.set_xlabel("step")
        self.ax_curve.grid(True, alpha=0.3)
        self._legend = None
        self.animate(*self.path_lines.values(), *self._heads.values(), *self._curve_heads.values(), self.step_line)

    def _recompute(self, new_surface: bool = True):
        c = self.controls
        c["kappa"].disabled = c["surface"].value != "quadratic"
        if new_surface:
            self._new_surface(self._min)
        self.trajs = race_trajectories(self._surface, self.x0, self.num_steps)
        self._f_min = optimality_gap.lowest_value(self._surface, self.trajs.values())
        self._start.set_data([self.x0[0]], [self.x0[1]])
        self._gaps = {k: optimality_gap.gap(t.values[:, 0], self._f_min) for k, t in self.trajs.items()}
        for name, tr in self.trajs.items():
            self._curves[name].set_data(np.arange(tr.num_steps + 1), self._gaps[name])
            self._curves[name].set_label(self._legend_label(name, tr))
        self._set_gap_limits(self._gaps.values())
        self._apply_methods()

    def _legend_label(self, name, tr):
        if name in ("GD", "momentum"):
            return f"{name} (lr={tr.lrs[0]:.2g})"
        return name

    def _apply_methods(self):
        shown = set(self.controls["methods"].value)
        for name in RACE_METHODS:
            vis = name in shown
            for art in (self.path_lines[name], self._heads[name], self._curves[name], self._curve_heads[name]):
                art.set_visible(vis)
        handles = [self._curves[n] for n in RACE_METHODS if n in shown]
        if self._legend is not None:
            self._legend.remove()
        # Outside, under both panels: inside, the fast methods' curves fall through any corner.
        self._legend = self.fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3),
                                       fontsize="small", frameon=False, handlelength=1.2, columnspacing=1.2)
        self.relayout()
        self._show_step(self.step)
        self.redraw(full=True)

    def _show_step(self, k: int):
        k = int(min(max(k, 0), self.num_steps))
        shown = [n for n in RACE_METHODS if n in self.controls["methods"].value]
        lines, cols = [], []
        for i, name in enumerate(RACE_METHODS):
            if name not in shown:
                continue
            tr = self.trajs[name]
            xs = tr.xs[:, 0]
            self.path_lines[name].set_data(xs[:k + 1, 0], xs[:k + 1, 1])
            self._heads[name].set_data([xs[k, 0]], [xs[k, 1]])
            self._curve_heads[name].set_data([k], [self._gaps[name][k]])
            lines.append(f"{self._legend_label(name, tr):24s} {tr.status():42s} {num_evaluations(tr):5d} evaluations")
            cols.append(color(i))
        self.step_line.set_xdata([k, k])
        self.set_status(*lines, colors_=cols)

    @callback
    def _on_methods(self, change):
        if self._quiet_methods:
            return
        if not change["new"]:
            self._quiet_methods = True  # the choice goes back to what the figure shows
            try:
                self.controls["methods"].value = change["old"]
            finally:
                self._quiet_methods = False
            raise ValueError("select at least one method")
        self._apply_methods()

    _quiet_methods = False
