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

import ipywidgets
import numpy as np

from lecture_utils import custom_surfaces, surfaces
from lecture_utils._validate import check_int, check_real

from ._common import (TrajectoryWidget, nice_limits, parse_optimizers, per_optimizer,
                      reference_value, suffix, surface_title)
from .base import callback, color, float_slider, log_slider

__all__ = ["Explorer2D", "DEFAULTS_2D", "default_settings"]

#: First-impression settings per registered 2D surface: start point, number of steps and a learning rate
#: per optimizer kind (chosen so each optimizer moves visibly and none diverges from that start).
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


def _spec_kind(spec) -> str:
    if spec.cls.__name__ == "SGD":
        return "nesterov" if spec.nesterov else ("momentum" if spec.hp.get("momentum") else "sgd")
    return spec.cls.__name__.lower()


def _hessian_scale(s: surfaces.Surface, X, Y) -> float:
    """Largest |Hessian eigenvalue| on a coarse grid: 1 / it is a safe gradient-descent rate."""
    pts = np.stack([X[::8, ::8].ravel(), Y[::8, ::8].ravel()], axis=1)
    with np.errstate(all="ignore"):
        H = np.asarray(s.hessian(pts), dtype=float)
    ok = np.all(np.isfinite(H), axis=(1, 2))
    if not ok.any():
        return 1.0
    return float(np.abs(np.linalg.eigvalsh(H[ok])).max()) or 1.0


def default_settings(s: surfaces.Surface, specs):
    """First-impression ``(x0, num_steps, [lr per optimizer])`` on ``s``: the table, else from the Hessian scale.

    Example: ``default_settings(surfaces.get("rosenbrock"), parse_optimizers(["sgd", "adam"]))``
    """
    registered = s.name in DEFAULTS_2D and (s.name != "quadratic" or "kappa" in s.params)  # not from_quadratic
    if registered:
        x0, steps, table = DEFAULTS_2D[s.name]
        if s.name == "quadratic":  # the bowl's steepness depends on kappa: 1 / kappa is always safe
            kappa = float(s.params.get("kappa", 10.0))
            base = 1.0 / kappa
            table = dict(table, sgd=base, momentum=0.3 * base, nesterov=0.3 * base)
        return np.array(x0, dtype=float), steps, [table.get(_spec_kind(sp), 0.01) for sp in specs]
    (xlo, xhi), (ylo, yhi) = s.bounds
    X, Y = np.meshgrid(np.linspace(xlo, xhi, 41), np.linspace(ylo, yhi, 41))
    L = _hessian_scale(s, X, Y)
    x0 = np.array([xlo + 0.2 * (xhi - xlo), ylo + 0.75 * (yhi - ylo)])
    span = max(xhi - xlo, yhi - ylo)
    lrs = []
    for sp in specs:
        kind = _spec_kind(sp)
        if kind in ("sgd",):
            lrs.append(0.9 / L)
        elif kind in ("momentum", "nesterov"):
            lrs.append(0.3 / L)
        else:  # adaptive methods move about lr per step per coordinate
            lrs.append(span / 150 if kind != "adagrad" else span / 10)
    return x0, 200, [min(max(v, 1.1e-5), 9.0) for v in lrs]


class Explorer2D(TrajectoryWidget):
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
    ``formula``, ``clip``, ``clip_norm`` when shown. Clicking the contour plot moves the start point.
    Example: ``Explorer2D("cliff", "sgd", clipping=True)``
    """

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
        self._choices = self._function_choices(functions, s)
        if x0 is not None:
            x0 = self._check_x0(x0)
        d_x0, d_steps, d_lrs = self._defaults(s, specs)
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
            self.controls["function"] = ipywidgets.Dropdown(
                options=[(label, i) for i, (label, _) in enumerate(self._choices)],
                value=self._choice_index(s), description="function",
                style={"description_width": "initial"}, layout=ipywidgets.Layout(width="230px"))
        if formula:
            self.controls["formula"] = ipywidgets.Text(
                value="", placeholder="type f(x, y), e.g. x**2 + 5*y**2, then Enter", description="formula",
                continuous_update=False, style={"description_width": "initial"},
                layout=ipywidgets.Layout(width="380px"))
        self.clipping = bool(clipping)
        if clipping:
            self.controls["clip"] = ipywidgets.Checkbox(value=clip_norm is not None, description="clip gradient norm",
                                                        indent=False, layout=ipywidgets.Layout(width="150px"))
            self.controls["clip_norm"] = log_slider("clip_norm", clip_norm or 1.0, 1e-2, 1e2, continuous_update=cu)
        self.ax3d = None
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
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
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

    @staticmethod
    def _function_choices(functions, s):
        if functions is False:
            return None
        if functions is None:
            items = surfaces.names(dim=2)
            choices = [(n, n) for n in items]
            if s.name not in items:
                choices.append((s.name, s))
            return choices
        if isinstance(functions, (str, surfaces.Surface)):
            functions = [functions]
        choices = [(surfaces.as_surface(f, dim=2, name="functions").name, f) for f in functions]
        if not choices:
            raise ValueError("functions must hold at least one 2D surface name or Surface, or be None/False")
        if s.name not in [c[0] for c in choices]:
            choices.insert(0, (s.name, s))
        return choices

    def _choice_index(self, s):
        for i, (label, _) in enumerate(self._choices):
            if label == s.name:
                return i
        return 0

    def _defaults(self, s, specs=None):
        """(x0, num_steps, [lr per optimizer]) for surface ``s`` (see :func:`default_settings`)."""
        return default_settings(s, specs if specs is not None else self.specs)

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
            self.value_lines.append(self.animate(self.ax_value.plot([], [], color=c, lw=1.2, alpha=0.35)[0]))
            self.value_done.append(self.animate(self.ax_value.plot([], [], color=c, lw=1.8, label=spec.title)[0]))
            self.value_points.append(self.animate(self.ax_value.plot([], [], "o", color=c, ms=7, mec="black",
                                                                     mew=0.8)[0]))
        self.step_line = self.animate(self.ax_value.axvline(0.0, color="0.5", lw=1.0, ls=":"))
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self.ax_value.set_xlabel("step")
        self.ax_value.set_title("value against step")
        self.ax_value.grid(True, which="major", alpha=0.3)
        self.legend = self._make_legend(self.ax_value)

    def _set_surface(self, s, x0=None):
        """Use surface ``s``: the contour is computed and drawn here, once per surface."""
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
        self.box = box
        self.surface = s
        self._run_surface = s
        self._grid = (X, Y, Z)
        self.f_ref, interior = reference_value(s, Z, pts)
        self.log_gap = bool(interior and np.nanmin(Z) >= self.f_ref - 1e-9 * (1 + abs(self.f_ref)))
        for cs in self.contour_sets:
            cs.remove()
        levels = self._levels(Z)
        Zf = np.where(np.isfinite(Z), Z, np.nanmax(Z[np.isfinite(Z)]))
        self.contour_sets = [
            self.ax.contourf(X, Y, Zf, levels=levels, cmap="viridis", alpha=0.45, extend="both", zorder=1),
            self.ax.contour(X, Y, Zf, levels=levels, colors="0.25", linewidths=0.5, alpha=0.6, zorder=2),
        ]
        self.ax.set_xlim(xlo, xhi)
        self.ax.set_ylim(ylo, yhi)
        self.ax.set_title(surface_title(s))
        self.relayout()
        pts_known = self._known_points(s)
        self.critical_markers.set_data(pts_known[:, 0], pts_known[:, 1]) if len(pts_known) else \
            self.critical_markers.set_data([], [])
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

    @staticmethod
    def _levels(Z):
        """Contour levels at quantiles of the grid values: every band covers a similar area, whatever the range."""
        z = Z[np.isfinite(Z)]
        q = np.quantile(z, np.linspace(0.0, 0.97, 22) ** 1.5)
        levels = np.unique(q)
        if levels.size < 3:
            lo, hi = float(z.min()), float(z.max())
            levels = np.linspace(lo, hi if hi > lo else lo + 1.0, 10)
        return levels

    @staticmethod
    def _known_points(s):
        crit = getattr(s, "_critical", None)
        if crit is not None:
            pts = [c.point for c in crit if c.kind == "minimum"]
        else:
            pts = [p for p, kind in getattr(s, "_known", []) if kind == "minimum"]
        return np.array(pts, dtype=float).reshape(-1, 2)

    def _start_point(self):
        return np.array([float(self.controls["x0"].value), float(self.controls["y0"].value)])

    def _run_kwargs(self):
        clip = self.controls.get("clip")
        return {"clip_norm": float(self.controls["clip_norm"].value) if clip is not None and clip.value else None}

    # ---- drawing ---------------------------------------------------------------------------------------
    def _gap(self, values):
        if self.log_gap:
            return np.maximum(values - self.f_ref, 1e-16)
        return values

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
            top = 1e3 * max(float(np.nanmax(self._grid[2])) - self.f_ref, 1e-12)
            new = nice_limits(max(lo, 1e-16), min(hi, top), cur, log=True)
        else:
            zspan = float(np.nanmax(self._grid[2]) - np.nanmin(self._grid[2]))
            # Runs that fall off to minus infinity leave through the bottom; the box's range stays readable.
            lo = max(lo, float(np.nanmin(self._grid[2])) - 2 * zspan)
            hi = min(hi, float(np.nanmax(self._grid[2])) + 2 * zspan)
            new = nice_limits(lo, hi, cur)
        self.ax_value.set_ylim(*new)
        self._limits_set = True
        legend_changed = self._update_legend()
        if self.ax3d is not None:
            self._draw_runs3d()
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
        return f"{self.optimizer(i).label}: {traj.status(0)}; {where}"

    # ---- 3D view -----------------------------------------------------------------------------------------
    def _make_ax3d(self):
        self.ax3d = self.fig.add_subplot(self._gs[0, 0], projection="3d")
        self.ax3d.computed_zorder = False  # paths stay on top of the surface
        self.ax3d.set_xlabel("x")
        self.ax3d.set_ylabel("y")
        self.ax3d.set_zlabel("f")
        self.surface3d = None
        self.paths3d, self.points3d = [], []
        for i in range(len(self.specs)):
            c = color(i)
            self.paths3d.append(self.animate(self.ax3d.plot([], [], [], "-", color=c, lw=2.0, zorder=5)[0]))
            self.points3d.append(self.animate(self.ax3d.plot([], [], [], "o", color=c, ms=8, mec="black",
                                                             zorder=6)[0]))
        self._draw_surface3d()
        self._draw_runs3d()

    def _draw_surface3d(self):
        if self.surface3d is not None:
            self.surface3d.remove()
        X, Y, Z = self._grid
        stride = max(1, X.shape[0] // 50)
        Xs, Ys, Zs = X[::stride, ::stride], Y[::stride, ::stride], Z[::stride, ::stride]
        z_lo, z_hi = np.nanmin(Zs), np.nanquantile(Zs, 0.98)
        self._z_range = (float(z_lo), float(z_hi))
        Zc = np.clip(Zs, z_lo, z_hi)
        self.surface3d = self.ax3d.plot_surface(Xs, Ys, Zc, cmap="viridis", alpha=0.6, linewidth=0,
                                                antialiased=False, rstride=1, cstride=1)
        (xlo, xhi), (ylo, yhi) = self.box
        self.ax3d.set_xlim(xlo, xhi)
        self.ax3d.set_ylim(ylo, yhi)
        self.ax3d.set_zlim(z_lo, z_hi)
        self.ax3d.set_title(self.ax.get_title())

    def _z(self, xs):
        with np.errstate(all="ignore"):
            z = np.asarray(self.surface.value(xs), dtype=float)
        return np.clip(z, *self._z_range)

    def _draw_runs3d(self):
        pass  # 3D paths are drawn per step (below); nothing depends on the whole run only

    def _draw_step3d(self, k):
        for i, traj in enumerate(self.trajs):
            k_i = min(k, traj.num_steps)
            xs = traj.xs[: k_i + 1, 0, :]
            (xlo, xhi), (ylo, yhi) = self.box
            inside = (xs[:, 0] >= xlo) & (xs[:, 0] <= xhi) & (xs[:, 1] >= ylo) & (xs[:, 1] <= yhi)
            xs_in = np.where(inside[:, None], xs, np.nan)
            z = self._z(np.nan_to_num(xs_in))
            z = np.where(inside, z, np.nan)
            self.paths3d[i].set_data_3d(xs_in[:, 0], xs_in[:, 1], z)
            last = xs_in[-1:]
            self.points3d[i].set_data_3d(last[:, 0], last[:, 1], z[-1:])

    # ---- callbacks -------------------------------------------------------------------------------------
    @callback
    def _on_view3d(self, change):
        if change["new"] and self.ax3d is None:
            self._make_ax3d()
            self._draw_step(min(self.step, self.num_steps))
        on = bool(change["new"])
        if self.ax3d is not None:
            # A hidden axes stays out of the layout too (a hidden 3D axes has no bounding box to measure).
            self.ax3d.set_visible(on)
            self.ax3d.set_in_layout(on)
        self.ax.set_visible(not on)
        self.ax.set_in_layout(not on)
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
        label, item = self._choices[change["new"]]
        s = surfaces.get(item) if isinstance(item, str) else item
        self._use_surface(s)

    @callback
    def _on_formula(self, change):
        text = change["new"].strip()
        if not text:
            return
        s = custom_surfaces.from_expression(text, bounds=self._formula_bounds, dim=2)  # ValueError: shown, nothing changes
        self._use_surface(s)
        dd = self.controls.get("function")
        if dd is not None:  # list the typed surface in the dropdown and select it (without rebuilding again)
            self._choices.append((f"formula: {text}"[:40], s))
            self._quiet_dropdown = True
            try:
                dd.options = [(label, i) for i, (label, _) in enumerate(self._choices)]
                dd.value = len(self._choices) - 1
            finally:
                self._quiet_dropdown = False

    _quiet_dropdown = False

    def _use_surface(self, s):
        x0, steps, lrs = self._defaults(s)
        with self.hold_redraw():
            self._set_surface(s, x0)
            for i, lr in enumerate(lrs):
                self.controls["lr" + suffix(i)].value = lr
            self.controls["num_steps"].value = steps
            self.controls["step"].value = steps  # a new surface: show the whole runs
            self._refresh(full=True)

    def _extra_rows(self):
        c = self.controls
        row1 = [c["x0"], c["y0"], c["view3d"]]
        if "function" in c:
            row1.insert(0, c["function"])
        rows = [ipywidgets.HBox(row1)]
        row2 = []
        if "formula" in c:
            row2.append(c["formula"])
        if "clip" in c:
            row2 += [c["clip"], c["clip_norm"]]
        if row2:
            rows.append(ipywidgets.HBox(row2))
        return rows
