"""Explorer2D: several optimizers on a 2D surface, contour (or 3D) view, click to set the start point.

Introduced in lecture 03 (the linear-regression loss built with ``surfaces.from_quadratic``) and used in
lecture 05 (momentum and Adam on Rosenbrock; a clipping toggle on the cliff surface). A surface can also be
typed as a formula: a bad formula shows its error in the widget and the previous surface stays.

Example::

    from widgets import Explorer2D
    Explorer2D("rosenbrock", ["sgd", "momentum", "adam"])
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import ipywidgets
import numpy as np

from lecture_utils import custom_surfaces, optimality_gap, surfaces
from lecture_utils._validate import check_int, check_real

from .axes import nice_limits, surface_title
from .base import callback
from .contours import filled_contours
from .controls import float_slider, log_slider, row as controls_row
from .defaults import explorer2d_defaults
from .function_menu import function_choices, function_dropdown, resolve_choice
from .optimizer_specs import parse_optimizers, per_optimizer, suffix
from .style import color
from .trajectory import TrajectoryWidget
from .view3d import SurfaceView3D

__all__ = ["Explorer2D"]


class Explorer2D(SurfaceView3D, TrajectoryWidget):
    """Optimizers on a 2D surface: contour view (3D on a toggle) with each path, and value against step.

    Args:
        surface: a 2D surface name (see ``surfaces.names()``) or any 2D
            :class:`~lecture_utils.surfaces.Surface` (e.g. from ``surfaces.from_quadratic``).
        optimizers: one optimizer spec or a list of up to 6 (names ``"sgd"``, ``"momentum"``, ``"nesterov"``,
            ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``; dicts ``{"name": "sgd", "lr": 0.1}``;
            optimizer objects). Each gets its own sliders and colour.
        lr: learning rate, one number or one per optimizer; default a good first choice for the surface.
        momentum: momentum (beta1 for Adam) per optimizer; default each optimizer's own.
        x0: start point ``(x, y)``; default a good first choice for the surface. A start outside the
            plotting box widens the box.
        num_steps: number of steps (1 to 2000).
        formula: show a ``formula`` text box (a formula in x and y, read by ``custom_surfaces.from_expression``).
        formula_bounds: plotting box for typed formulas (default ``[(-3, 3), (-3, 3)]``).
        functions: ``None`` (default) shows a ``function`` dropdown of the registered 2D surfaces (plus
            ``surface`` when it is a custom one), a list of names/Surfaces shows those, ``False`` none.
        clipping: show the gradient-clipping controls ``clip`` (toggle) and ``clip_norm``.
        clip_norm: initial clipping threshold; a number also switches clipping on.
        view3d: start in the 3D view (the ``view3d`` toggle switches).
        tol: gradient norm under which a run counts as converged.
        grid: points per axis of the contour grid.
        figsize, live: as :class:`~widgets.base.Widget`.

    Controls: ``lr``, ``momentum``/``beta1`` for the first optimizer and ``lr_1``, ``momentum_1``, ... for the
    others; ``x0``, ``y0``, ``num_steps``, ``step``, ``play``, ``reset``, ``view3d``; ``function``,
    ``formula``, ``clip``, ``clip_norm`` when shown. Clicking the contour plot (or ``w.click(x, y)``) moves
    the start point. A formula typed again selects its menu entry instead of adding one.
    Example: ``Explorer2D("cliff", "sgd", clipping=True)``
    """

    _data_attrs = ("trajs", "_run_cache", "grid_values", "contour_sets", "_typed", "_choices")

    def __init__(self, surface="rosenbrock", optimizers=("sgd", "momentum", "adam"), *, lr=None, momentum=None,
                 x0=None, num_steps=None, formula: bool = True, formula_bounds=None, functions=None,
                 clipping: bool = False, clip_norm=None, view3d: bool = False, tol: float = 1e-5,
                 grid: int = 120, figsize=None, live=None):
        s = surfaces.as_surface(surface, dim=2)
        specs = parse_optimizers(optimizers)
        for name, val in (("formula", formula), ("clipping", clipping), ("view3d", view3d)):
            if not isinstance(val, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {val!r}")
        self.grid_n = check_int("grid", grid, low=20, high=400)
        clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_open=True, allow_none=True)
        self._formula_bounds = surfaces.check_bounds(formula_bounds, 2, "formula_bounds")
        self._choices = function_choices(functions, s, dim=2)
        self._typed = {}  # formula text -> its Surface (typing it again reuses the entry and the runs)
        if x0 is not None:
            x0 = self._check_x0(x0)
        d_x0, d_steps, d_lrs = explorer2d_defaults(s, [sp.rate_kind for sp in specs])
        lrs = per_optimizer("lr", lr, len(specs), lambda i: specs[i].lr if specs[i].explicit_lr else d_lrs[i])
        momenta = per_optimizer("momentum", momentum, len(specs), lambda i: None)
        super().__init__(figsize=figsize, live=live)
        self._init_runs(specs, lrs, momenta, d_steps if num_steps is None else num_steps, tol)
        cu = self.live
        self.controls["x0"] = float_slider("x0", 0.0, -1.0, 1.0, 0.01, continuous_update=cu, width="230px")
        self.controls["y0"] = float_slider("y0", 0.0, -1.0, 1.0, 0.01, continuous_update=cu, width="230px")
        self.controls["view3d"] = ipywidgets.ToggleButton(value=False, description="3D view",
                                                          tooltip="switch between contour and 3D surface",
                                                          layout=ipywidgets.Layout(width="90px"))
        if self._choices is not None:
            self.controls["function"] = function_dropdown(self._choices, s, width="230px")
        if formula:
            self.controls["formula"] = ipywidgets.Text(
                value="", placeholder="type f(x, y), e.g. x**2 + 5*y**2, then Enter", description="formula",
                continuous_update=False, style={"description_width": "initial"},
                layout=ipywidgets.Layout(width="380px"))
        if clipping:
            self.controls["clip"] = ipywidgets.Checkbox(value=clip_norm is not None, description="clip gradient norm",
                                                        indent=False, layout=ipywidgets.Layout(width="150px"))
            self.controls["clip_norm"] = log_slider("clip_norm", clip_norm or 1.0, 1e-2, 1e2, continuous_update=cu)
        self._build_axes()
        self._set_surface(s, x0)
        self._connect_runs()
        for name in ("x0", "y0", "clip", "clip_norm"):
            if name in self.controls:
                self.controls[name].observe(self._on_hyper, names="value")
        self.controls["view3d"].observe(self._on_view3d, names="value")
        if "function" in self.controls:
            self.controls["function"].observe(self._on_function, names="value")
        if "formula" in self.controls:
            self.controls["formula"].observe(self._on_formula, names="value")
        self.connect_canvas("button_press_event", self._on_click)
        self._refresh(full=True)
        if view3d:
            self.controls["view3d"].value = True

    # ---- set-up ----------------------------------------------------------------------------------------
    @staticmethod
    def _check_x0(x0):
        try:
            p = np.asarray(x0, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"x0 must be a pair of numbers (x, y), got {x0!r}") from None
        if p.shape != (2,) or not np.all(np.isfinite(p)):
            raise ValueError(f"x0 must be a finite pair (x, y), got {x0!r}")
        return p

    def _defaults(self, s):
        """(x0, num_steps, [lr per optimizer]) on surface ``s`` (see :func:`widgets.defaults.explorer2d_defaults`)."""
        return explorer2d_defaults(s, [sp.rate_kind for sp in self.specs])

    def _build_axes(self):
        self._gs = self.fig.add_gridspec(1, 2, width_ratios=[1.25, 1.0])
        self.ax = self.fig.add_subplot(self._gs[0, 0])
        self.ax_value = self.fig.add_subplot(self._gs[0, 1])
        self.contour_sets = []
        self.start_marker = self.animate(self.ax.plot([], [], marker="o", ms=10, mfc="white", mec="black",
                                                      mew=1.5, ls="none", zorder=8)[0])
        self.critical_markers = self.ax.plot([], [], marker="*", ms=13, color="white", mec="black", ls="none",
                                             zorder=7)[0]
        self.full_paths, self.paths, self.points, self.value_lines, self.value_done, self.value_points = \
            [], [], [], [], [], []
        for i, spec in enumerate(self.specs):
            c = color(i)
            self.full_paths.append(self.animate(self.ax.plot([], [], "-", color=c, lw=1.0, alpha=0.35, zorder=4)[0]))
            self.paths.append(self.animate(self.ax.plot([], [], "-", color=c, lw=2.0, zorder=5)[0]))
            self.points.append(self.animate(self.ax.plot([], [], "o", color=c, ms=9, mec="black", mew=1.0,
                                                         zorder=9)[0]))
            self._add_value_artists(c, spec.title)
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self._finish_value_panel()

    def _set_surface(self, s, x0=None):
        """Use surface ``s``: the contour is computed and drawn here, once per surface.

        Raises ``ValueError`` when ``s`` cannot be shown (no finite value in its box, contours that cannot be
        drawn); the widget then keeps the surface, contours and start point it had.
        """
        (xlo, xhi), (ylo, yhi) = s.bounds
        if x0 is None:
            x0 = self._defaults(s)[0]
        x0 = np.asarray(x0, dtype=float)
        # A start outside the box widens the box so that the start is on screen.
        if not (xlo <= x0[0] <= xhi):
            sx = xhi - xlo
            xlo, xhi = min(xlo, x0[0] - 0.05 * sx), max(xhi, x0[0] + 0.05 * sx)
        if not (ylo <= x0[1] <= yhi):
            sy = yhi - ylo
            ylo, yhi = min(ylo, x0[1] - 0.05 * sy), max(yhi, x0[1] + 0.05 * sy)
        box = ((xlo, xhi), (ylo, yhi))
        n = self.grid_n
        X, Y = np.meshgrid(np.linspace(xlo, xhi, n), np.linspace(ylo, yhi, n))
        pts = np.stack([X.ravel(), Y.ravel()], axis=1)
        with np.errstate(all="ignore"):
            Z = np.asarray(s.value(pts), dtype=float).reshape(X.shape)
        if not np.isfinite(Z).any():
            raise ValueError(f"the surface {s.name!r} has no finite value in the box {box}")
        with np.errstate(all="ignore"):
            f_ref, interior = optimality_gap.reference_value(s, Z, pts)
        contour_sets = self._draw_contours(s, X, Y, Z)  # raises with nothing changed
        # From here on nothing fails: the new surface replaces the old one.
        for cs in self.contour_sets:
            cs.remove()
        self.contour_sets = contour_sets
        self.box = box
        self.surface = s
        self._run_surface = s
        self.grid_values = (X, Y, Z)
        self.f_ref = f_ref
        self.log_gap = bool(interior and np.nanmin(Z) >= self.f_ref - 1e-9 * (1 + abs(self.f_ref)))
        self.ax.set_xlim(xlo, xhi)
        self.ax.set_ylim(ylo, yhi)
        self.ax.set_title(surface_title(s))
        self.relayout()
        minima = np.array([p for p, kind in s.known_points if kind == "minimum"], dtype=float).reshape(-1, 2)
        self.critical_markers.set_data(minima[:, 0], minima[:, 1])
        if self.log_gap:
            self.ax_value.set_yscale("log")
            self.ax_value.set_ylabel(r"$f(x_t) - f^*$ (log scale)")
        else:  # no minimum inside the box (a saddle, say): f has no floor to measure a gap from
            self.ax_value.set_yscale("linear")
            self.ax_value.set_ylabel(r"$f(x_t)$ (no minimum in view: linear scale)")
        self._limits_set = False
        for name, (lo, hi), v in (("x0", (xlo, xhi), x0[0]), ("y0", (ylo, yhi), x0[1])):
            slider = self.controls[name]
            step = 10 ** math.floor(math.log10((hi - lo) / 400))
            with slider.hold_trait_notifications():
                slider.min, slider.max = -1e300, 1e300  # widen first so min and max never cross
                slider.min, slider.max, slider.step = lo, hi, step
                slider.value = float(v)
        if self.ax3d is not None:
            self._draw_surface3d()

    def _draw_contours(self, s, X, Y, Z) -> list:
        """The filled and line contours of ``Z`` on the contour plot (:func:`widgets.contours.filled_contours`);
        on failure none is left behind and a ``ValueError`` says why, naming the surface that stays."""
        kept = getattr(self, "surface", None)
        return filled_contours(self.ax, X, Y, Z, name=s.name, kept=kept.name if kept is not None else None)

    def _start_point(self):
        return np.array([float(self.controls["x0"].value), float(self.controls["y0"].value)])

    def _run_kwargs(self):
        clip = self.controls.get("clip")
        return {"clip_norm": float(self.controls["clip_norm"].value) if clip is not None and clip.value else None}

    # ---- drawing ---------------------------------------------------------------------------------------
    def _gap(self, values):
        return optimality_gap.gap(values, self.f_ref) if self.log_gap else values

    def _draw_runs(self) -> bool:
        x0 = self._start_point()
        self.start_marker.set_data([x0[0]], [x0[1]])
        lo, hi = np.inf, -np.inf
        for i, traj in enumerate(self.trajs):
            xs = traj.xs[:, 0, :]
            self.full_paths[i].set_data(xs[:, 0], xs[:, 1])
            v = self._gap(traj.values[:, 0])
            self.value_lines[i].set_data(np.arange(v.size), v)
            vv = v[np.isfinite(v)]
            if vv.size:
                lo, hi = min(lo, float(vv.min())), max(hi, float(vv.max()))
        old = (self.ax_value.get_xlim(), self.ax_value.get_ylim())
        self.ax_value.set_xlim(0, max(self.num_steps, 1))
        cur = self.ax_value.get_ylim() if self._limits_set else None
        if self.log_gap:
            # A diverging run leaves through the top; the others stay readable.
            top = 1e3 * max(float(np.nanmax(self.grid_values[2])) - self.f_ref, 1e-12)
            new = nice_limits(max(lo, 1e-16), min(hi, top), cur, log=True)
        else:
            zspan = float(np.nanmax(self.grid_values[2]) - np.nanmin(self.grid_values[2]))
            # Runs that fall off to minus infinity leave through the bottom; the box's range stays readable.
            lo = max(lo, float(np.nanmin(self.grid_values[2])) - 2 * zspan)
            hi = min(hi, float(np.nanmax(self.grid_values[2])) + 2 * zspan)
            new = nice_limits(lo, hi, cur)
        self.ax_value.set_ylim(*new)
        self._limits_set = True
        legend_changed = self._update_legend()
        return legend_changed or old != (self.ax_value.get_xlim(), self.ax_value.get_ylim())

    def _draw_step(self, k: int):
        for i, traj in enumerate(self.trajs):
            k_i = min(k, traj.num_steps)
            xs = traj.xs[: k_i + 1, 0, :]
            self.paths[i].set_data(xs[:, 0], xs[:, 1])
            self.points[i].set_data([xs[-1, 0]], [xs[-1, 1]])
            v = self._gap(traj.values[: k_i + 1, 0])
            self.value_done[i].set_data(np.arange(k_i + 1), v)
            self.value_points[i].set_data([k_i], [v[-1]] if np.isfinite(v[-1]) else [np.nan])
        self.step_line.set_xdata([k, k])
        if self.ax3d is not None:
            self._draw_step3d(k)

    def _status_line(self, i: int, k: int) -> str:
        traj = self.trajs[i]
        k_i = min(k, traj.num_steps)
        x, y = traj.xs[k_i, 0]
        f = traj.values[k_i, 0]
        where = f"step {k_i}: ({x:.3g}, {y:.3g}), f = {f:.4g}" if np.isfinite(f) else f"step {k_i}: overflow"
        return f"{self.label(i)}: {traj.status(0)}; {where}"

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_view3d(self, change):
        if self._show_view3d(bool(change["new"]), self._gs[0, 0]):
            self._draw_step(min(self.step, self.num_steps))
        self.relayout()
        self.redraw(full=True)

    @callback
    def _on_click(self, event):
        """A click on the contour plot moves the start point there (ignored in the 3D view or while zooming)."""
        if event.inaxes is not self.ax or not self.ax.get_visible() or event.xdata is None:
            return
        toolbar = getattr(self.fig.canvas, "toolbar", None)
        if toolbar is not None and getattr(toolbar, "mode", "") not in ("", None) and str(toolbar.mode) != "":
            return  # pan/zoom is active: the click belongs to it
        (xlo, xhi), (ylo, yhi) = self.box
        x = float(min(max(event.xdata, xlo), xhi))
        y = float(min(max(event.ydata, ylo), yhi))
        with self.hold_redraw():
            self.controls["x0"].value = x
            self.controls["y0"].value = y
            self.controls["step"].value = self.num_steps

    @callback
    def _on_function(self, change):
        if self._quiet_dropdown or change["new"] is None:
            return
        shown = self.surface
        try:
            self._use_surface(resolve_choice(self._choices, change["new"]))
        except Exception:
            if self.surface is shown and change["old"] is not None:
                self._select_quietly(change["old"])  # the menu names the surface still shown
            raise
        if "formula" in self.controls:  # so that typing the formula shown there again applies it again
            self._set_formula_quietly("")

    @callback
    def _on_formula(self, change):
        text = change["new"].strip()
        if self._quiet_formula or not text:
            return
        s = self._typed.get(text)
        if s is None:  # ValueError (a bad formula): shown, nothing changes
            s = custom_surfaces.from_expression(text, bounds=self._formula_bounds, dim=2)
        try:
            self._use_surface(s)
        finally:
            dd = self.controls.get("function")
            if dd is not None and self.surface is s:  # list the typed surface in the menu (once) and select it
                if text not in self._typed:
                    self._typed[text] = s
                    self._choices.append((f"formula: {text}"[:40], s))
                    with self._quiet():
                        dd.options = [(label, i) for i, (label, _) in enumerate(self._choices)]
                self._select_quietly(next(i for i, (_, item) in enumerate(self._choices) if item is s))
            elif dd is None and self.surface is s:
                self._typed[text] = s

    _quiet_dropdown = False
    _quiet_formula = False

    @contextmanager
    def _quiet(self):
        self._quiet_dropdown = self._quiet_formula = True
        try:
            yield
        finally:
            self._quiet_dropdown = self._quiet_formula = False

    def _select_quietly(self, index: int):
        with self._quiet():
            self.controls["function"].value = index

    def _set_formula_quietly(self, text: str):
        with self._quiet():
            self.controls["formula"].value = text

    def _use_surface(self, s):
        x0, steps, lrs = self._defaults(s)
        with self.hold_redraw():
            with self.hold_runs():  # one run per optimizer when all is set, not one per control set
                self._set_surface(s, x0)
                for i, lr in enumerate(lrs):
                    self.controls["lr" + suffix(i)].value = lr
                self.controls["num_steps"].value = steps
                self.controls["step"].value = steps  # a new surface: show the whole runs
            self._refresh(full=True)

    # ---- saved state -----------------------------------------------------------------------------------
    def _state_extra(self) -> dict:
        """The formulas typed so far, in order (each is an entry of the function menu)."""
        return {"typed": list(self._typed)}

    def _load_extra(self, extra: dict, before_controls: bool) -> None:
        if before_controls:  # typed again, they come back as the same menu entries
            for text in extra.get("typed", []):
                self.controls["formula"].value = text

    def _extra_rows(self):
        c = self.controls
        row1 = [c["x0"], c["y0"], c["view3d"]]
        if "function" in c:
            row1.insert(0, c["function"])
        rows = [controls_row(row1)]
        row2 = []
        if "formula" in c:
            row2.append(c["formula"])
        if "clip" in c:
            row2 += [c["clip"], c["clip_norm"]]
        if row2:
            rows.append(controls_row(row2))
        return rows
