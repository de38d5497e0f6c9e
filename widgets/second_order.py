"""Widgets of lecture 06: quasi-Newton ellipses along the path, and a race of first- and second-order methods.

- :class:`QuasiNewtonEllipses` runs BFGS or L-BFGS and draws, at every point of the path, the ellipse of the
  inverse-Hessian approximation ``M_k`` (the shape of the quadratic model's contours), next to the shape of
  the true local Hessian. Step through it and watch the ellipse learn the valley.
- :class:`SecondOrderRace` runs gradient descent, momentum, Newton, CG, BFGS and L-BFGS from one start point
  on one surface, with a condition-number slider for the quadratic bowl; the first-order methods get their
  learning rate tuned on a grid for the current surface.

Both precompute their trajectories when a setting changes and only index them when the step slider moves.

Example::

    from widgets.second_order import QuasiNewtonEllipses, SecondOrderRace
    QuasiNewtonEllipses("rosenbrock")
    SecondOrderRace("quadratic", kappa=100)
"""
from __future__ import annotations

import ipywidgets
import numpy as np
from matplotlib.collections import LineCollection

from lecture_utils import optim, surfaces
from lecture_utils.second_order.methods import run_method

from .base import Widget, callback, color, int_slider, log_slider, play_controls

__all__ = ["QuasiNewtonEllipses", "SecondOrderRace", "contour_levels", "ellipse", "SURFACES", "DEFAULT_STARTS"]

#: Surfaces offered by the dropdowns (all 2D, bounded below).
SURFACES = ("quadratic", "rosenbrock", "beale", "himmelblau", "six_hump_camel")
#: A start point per surface that shows the method at work (the classic (-1.2, 1) for Rosenbrock).
DEFAULT_STARTS = {"quadratic": (2.5, 1.5), "rosenbrock": (-1.2, 1.0), "beale": (1.0, 1.5), "himmelblau": (-1.0, -4.0),
                  "six_hump_camel": (-1.6, 0.8)}
_QUADRATIC_ANGLE = 0.5
_CIRCLE = np.linspace(0.0, 2.0 * np.pi, 65)


def _make_surface(name: str, kappa: float = 20.0) -> surfaces.Surface:
    if name == "quadratic":
        return surfaces.get("quadratic", kappa=kappa, angle=_QUADRATIC_ANGLE)
    return surfaces.get(name)


def contour_levels(Z: np.ndarray, num: int = 20) -> np.ndarray:
    """Log-spaced contour levels above the minimum of ``Z``: dense near the bottom, where the paths end."""
    Z = Z[np.isfinite(Z)]
    low = float(Z.min())
    d = Z - low
    top = float(d.max())
    if top <= 0:
        return np.array([low, low + 1.0])
    start = max(float(np.quantile(d, 0.005)), top * 1e-6)
    return low + np.geomspace(start, top, num)


def ellipse(center, M, radius: float) -> np.ndarray:
    """Outline ``(65, 2)`` of ``{center + v : v^T M^{-1} v = c}`` for symmetric positive definite ``M`` (2x2),
    scaled so its longest semi-axis is ``radius``; NaN when ``M`` is not positive definite.

    Semi-axes point along the eigenvectors of ``M`` with lengths proportional to the square roots of its
    eigenvalues: the shape of the contours of a quadratic with Hessian ``M^{-1}``.
    """
    M = np.asarray(M, dtype=float)
    if not np.all(np.isfinite(M)):
        return np.full((len(_CIRCLE), 2), np.nan)
    lam, Q = np.linalg.eigh(0.5 * (M + M.T))
    if lam.min() <= 0:
        return np.full((len(_CIRCLE), 2), np.nan)
    axes = np.sqrt(lam / lam.max()) * radius
    unit = np.stack([np.cos(_CIRCLE), np.sin(_CIRCLE)], axis=1)
    return np.asarray(center, dtype=float) + (unit * axes) @ Q.T


def _contour(ax, surface, n=160):
    X, Y, Z = surface.grid(n)
    with np.errstate(all="ignore"):
        return ax.contour(X, Y, Z, levels=contour_levels(Z), colors="0.55", linewidths=0.6, alpha=0.7, zorder=0)


def _f_min(surface, trajs):
    vals = [float(c.value) for c in surface.critical_points if c.kind == "minimum"]
    for t in trajs:
        with np.errstate(all="ignore"):
            v = np.nanmin(t.values) if np.any(np.isfinite(t.values)) else np.inf
        vals.append(float(v))
    return min(vals)


def _gap(values, f_min):
    with np.errstate(all="ignore"):
        return np.maximum(values - f_min, 1e-16)


# ---------------------------------------------------------------------------------------------------------
class QuasiNewtonEllipses(Widget):
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
        traj: the current :class:`~lecture_utils.optim.Trajectory` (``traj.extras["inv_hessians"]``).
    Example: ``w = QuasiNewtonEllipses("rosenbrock"); w.set(step=20); w.static()``
    """

    figsize = (10.0, 4.4)

    def __init__(self, surface: str = "rosenbrock", x0=None, *, method: str = "BFGS", m: int = 5,
                 num_steps: int = 60, kappa: float = 20.0, figsize=None, live=None):
        super().__init__(figsize=figsize, live=live)
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {', '.join(SURFACES)}; got {surface!r}")
        if method not in ("BFGS", "L-BFGS"):
            raise ValueError(f"method must be 'BFGS' or 'L-BFGS', got {method!r}")
        self.num_steps = int(num_steps)
        self._x0 = None if x0 is None else np.asarray(x0, dtype=float).reshape(2)
        play, step, reset = play_controls(self.num_steps, frames=self.num_steps)
        self.controls.update(
            surface=ipywidgets.Dropdown(options=SURFACES, value=surface, description="surface",
                                        layout=ipywidgets.Layout(width="210px")),
            method=ipywidgets.ToggleButtons(options=("BFGS", "L-BFGS"), value=method, description="method",
                                            style={"button_width": "70px"}),
            m=int_slider("L-BFGS memory m", m, 1, 10, width="260px"),
            kappa=log_slider("kappa (quadratic)", kappa, 1.0, 1000.0, width="260px"),
            play=play, step=step, reset=reset)
        self.ax, self.ax_curve = self.fig.subplots(1, 2, width_ratios=(1.15, 1))
        self.ax.set_aspect("equal", adjustable="box")
        self._contour_set = None
        self._history = LineCollection([], colors=color(1), linewidths=0.7, alpha=0.3, zorder=2)
        self.ax.add_collection(self._history)
        (self._path,) = self.ax.plot([], [], "-", color=color(0), lw=1.5, zorder=3, label="path")
        (self._start,) = self.ax.plot([], [], "o", color="black", ms=5, zorder=4, label="start")
        (self._min,) = self.ax.plot([], [], "*", color=color(2), ms=12, zorder=4, label="minimum")
        (self._ell,) = self.ax.plot([], [], "-", color=color(1), lw=2.2, zorder=5, label=r"$M_k$ (approximation)")
        (self._true,) = self.ax.plot([], [], "--", color="black", lw=1.4, zorder=5, label=r"$H(x_k)^{-1}$ (true)")
        (self._here,) = self.ax.plot([], [], "o", color=color(1), ms=6, zorder=6)
        self.ax.legend(loc="upper left", fontsize=7, framealpha=0.85)
        (self._curve,) = self.ax_curve.plot([], [], "-", color=color(0), lw=1.5)
        (self._curve_here,) = self.ax_curve.plot([], [], "o", color=color(1), ms=6)
        self._vline = self.ax_curve.axvline(0, color="0.6", lw=0.8)
        self.ax_curve.set_yscale("log")
        self.ax_curve.set_xlabel("step $k$")
        self.ax_curve.set_ylabel(r"$f(x_k) - f_{\min}$")
        self.ax_curve.grid(True, which="major", alpha=0.3)
        self.animate(self._history, self._path, self._ell, self._true, self._here, self._curve_here, self._vline)
        for name in ("surface", "method", "m", "kappa"):
            self.controls[name].observe(self._on_setting, names="value")
        self.controls["step"].observe(self._on_step, names="value")
        reset.on_click(self._on_reset)
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._recompute()

    # ---- computing --------------------------------------------------------------------------------------
    @property
    def surface(self) -> surfaces.Surface:
        return self._surface

    @property
    def x0(self) -> np.ndarray:
        name = self.controls["surface"].value
        return self._x0 if self._x0 is not None else np.array(DEFAULT_STARTS[name], dtype=float)

    def set_start(self, x0):
        """Move the start point and recompute (what a click on the contour plot does)."""
        self._x0 = np.asarray(x0, dtype=float).reshape(2)
        self._recompute()

    def _recompute(self, new_surface: bool = True):
        c = self.controls
        self.controls["m"].disabled = c["method"].value != "L-BFGS"
        self.controls["kappa"].disabled = c["surface"].value != "quadratic"
        if new_surface:
            self._surface = _make_surface(c["surface"].value, c["kappa"].value)
            if self._contour_set is not None:
                self._contour_set.remove()
            self._contour_set = _contour(self.ax, self._surface)
            (x_lo, x_hi), (y_lo, y_hi) = self._surface.bounds
            self.ax.set_xlim(x_lo, x_hi)
            self.ax.set_ylim(y_lo, y_hi)
            self.ax.set_title(self._surface.formula, fontsize=9)
            mins = self._surface.minima
            self._min.set_data(mins[:, 0], mins[:, 1])
        method = c["method"].value
        kw = {"m": int(c["m"].value)} if method == "L-BFGS" else {}
        self.traj = run_method("lbfgs" if method == "L-BFGS" else "bfgs", self._surface, self.x0, self.num_steps,
                               tol=1e-8, inv_hessians=True, **kw)
        xs = self.traj.xs[:, 0]
        (x_lo, x_hi), (y_lo, y_hi) = self._surface.bounds
        self._radius = 0.07 * max(x_hi - x_lo, y_hi - y_lo)
        Ms = self.traj.extras["inv_hessians"][:, 0]
        self._ellipses = np.stack([ellipse(x, M, self._radius) for x, M in zip(xs, Ms)])
        with np.errstate(all="ignore"):
            H = self._surface.hessian(xs)
            lam = np.linalg.eigvalsh(np.nan_to_num(H))
        self._true_ellipses = np.stack([
            ellipse(x, np.linalg.inv(h), self._radius) if lmin > 0 else np.full((len(_CIRCLE), 2), np.nan)
            for x, h, lmin in zip(xs, H, lam[:, 0])])
        self._start.set_data([xs[0, 0]], [xs[0, 1]])
        self._f_min = _f_min(self._surface, [self.traj])
        gap = _gap(self.traj.values[:, 0], self._f_min)
        self._gap_values = gap
        self._curve.set_data(np.arange(len(gap)), gap)
        finite = gap[np.isfinite(gap)]
        self.ax_curve.set_xlim(0, self.num_steps)
        self.ax_curve.set_ylim(max(finite.min() / 3, 1e-16), finite.max() * 3)
        self.ax_curve.set_title(f"{self.traj.label}: {self.traj.status()}", fontsize=9)
        self._draw_step(self.controls["step"].value, full=True)

    # ---- drawing ----------------------------------------------------------------------------------------
    def _draw_step(self, k: int, full: bool = False):
        k = int(min(max(k, 0), self.num_steps))
        xs = self.traj.xs[:, 0]
        self._path.set_data(xs[:k + 1, 0], xs[:k + 1, 1])
        self._history.set_segments(list(self._ellipses[:k]))
        self._ell.set_data(self._ellipses[k, :, 0], self._ellipses[k, :, 1])
        self._true.set_data(self._true_ellipses[k, :, 0], self._true_ellipses[k, :, 1])
        self._here.set_data([xs[k, 0]], [xs[k, 1]])
        self._curve_here.set_data([k], [self._gap_values[k]])
        self._vline.set_xdata([k, k])
        M = self.traj.extras["inv_hessians"][k, 0]
        lam_M = np.linalg.eigvalsh(M)
        with np.errstate(all="ignore"):
            lam_H = np.linalg.eigvalsh(self._surface.hessian(xs[k]))
        if lam_H.min() > 0:
            true = f"cond(H^-1) = {lam_H.max() / lam_H.min():.3g}"
        else:
            true = "H is not positive definite here (no true ellipse)"
        self.set_status(f"step {k}: x = ({xs[k, 0]:.4f}, {xs[k, 1]:.4f}), f - f_min = {self._gap_values[k]:.3g}",
                        f"cond(M_k) = {lam_M.max() / lam_M.min():.3g}; {true}",
                        f"{self.traj.label}: {self.traj.status()}")
        self.redraw(full=full)

    # ---- callbacks --------------------------------------------------------------------------------------
    @callback
    def _on_setting(self, change):
        new_surface = change["owner"] in (self.controls["surface"], self.controls["kappa"])
        if change["owner"] is self.controls["surface"]:
            self._x0 = None
        self._recompute(new_surface=new_surface)

    @callback
    def _on_step(self, change):
        self._draw_step(change["new"])

    @callback
    def _on_reset(self, _button):
        self._x0 = None
        self.controls["step"].value = 0
        self._recompute(new_surface=False)

    @callback
    def _on_click(self, event):
        if event.inaxes is self.ax and event.xdata is not None:
            self.set_start((event.xdata, event.ydata))


# ---------------------------------------------------------------------------------------------------------
RACE_METHODS = ("GD", "momentum", "Newton", "CG", "BFGS", "L-BFGS")
_LR_GRID = np.geomspace(1e-5, 1.0, 41)


def tuned_first_order(surface, x0, num_steps: int, name: str):
    """The best run of ``"GD"`` or ``"momentum"`` (momentum 0.9) over a log grid of learning rates.

    On the quadratic bowl (Hessian eigenvalues 1 and kappa) the closed-form best choices are used instead:
    ``lr = 2 / (1 + kappa)`` for GD, and for momentum ``lr = 4 / (sqrt(kappa) + 1)^2`` with momentum
    ``((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2``. Returns the trajectory; its label names the rate.
    """
    if surface.name == "quadratic" and "kappa" in surface.params:
        kappa = surface.params["kappa"]
        if name == "GD":
            return optim.run(surface, optim.SGD(lr=2.0 / (1.0 + kappa)), x0, num_steps)
        r = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
        return optim.run(surface, optim.SGD(lr=4.0 / (np.sqrt(kappa) + 1) ** 2, momentum=float(r * r)), x0, num_steps)
    best, best_val = None, np.inf
    for lr in _LR_GRID:
        opt = optim.SGD(lr=float(lr)) if name == "GD" else optim.SGD(lr=float(lr), momentum=0.9)
        tr = optim.run(surface, opt, x0, num_steps)
        if tr.diverged_at[0] >= 0:
            continue
        v = float(np.mean(tr.values[-max(1, num_steps // 10):, 0]))
        if v < best_val:
            best, best_val = tr, v
    return best if best is not None else optim.run(surface, optim.SGD(lr=float(_LR_GRID[0])), x0, num_steps)


def race_trajectories(surface, x0, num_steps: int, methods=RACE_METHODS) -> dict:
    """``{method: Trajectory}`` for the race (see :class:`SecondOrderRace`)."""
    out = {}
    for name in methods:
        if name in ("GD", "momentum"):
            out[name] = tuned_first_order(surface, x0, num_steps, name)
        elif name == "Newton":
            out[name] = run_method("newton", surface, x0, num_steps)
        elif name == "CG":
            out[name] = run_method("cg", surface, x0, num_steps, beta="PR+")
        elif name == "BFGS":
            out[name] = run_method("bfgs", surface, x0, num_steps)
        elif name == "L-BFGS":
            out[name] = run_method("lbfgs", surface, x0, num_steps, m=5)
        else:
            raise ValueError(f"unknown method {name!r}; choose from {', '.join(RACE_METHODS)}")
    return out


def _evals(tr):
    ex = tr.extras.get("num_evals") if tr.extras else None
    if ex is not None:
        return int(ex[0])
    stop = tr.converged_at[0] if tr.converged_at[0] >= 0 else tr.num_steps
    return int(stop) + 1


class SecondOrderRace(Widget):
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
    Example: ``w = SecondOrderRace("quadratic", kappa=100); w.set(kappa=1000.0)``
    """

    figsize = (10.0, 4.4)

    def __init__(self, surface: str = "quadratic", *, kappa: float = 30.0, methods=RACE_METHODS,
                 num_steps: int = 100, x0=None, figsize=None, live=None):
        super().__init__(figsize=figsize, live=live)
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {', '.join(SURFACES)}; got {surface!r}")
        methods = tuple(methods)
        bad = [m for m in methods if m not in RACE_METHODS]
        if bad or not methods:
            raise ValueError(f"methods must be a non-empty subset of {RACE_METHODS}; got {methods}")
        self.num_steps = int(num_steps)
        self._x0 = None if x0 is None else np.asarray(x0, dtype=float).reshape(2)
        play, step, reset = play_controls(self.num_steps, frames=self.num_steps)
        self.controls.update(
            surface=ipywidgets.Dropdown(options=SURFACES, value=surface, description="surface",
                                        layout=ipywidgets.Layout(width="210px")),
            kappa=log_slider("kappa (quadratic)", kappa, 1.0, 1000.0, width="280px", continuous_update=False),
            methods=ipywidgets.SelectMultiple(options=RACE_METHODS, value=methods, description="methods",
                                              rows=len(RACE_METHODS), layout=ipywidgets.Layout(width="200px")),
            play=play, step=step, reset=reset)
        self.ax, self.ax_curve = self.fig.subplots(1, 2, width_ratios=(1.0, 1.1))
        self.ax.set_aspect("equal", adjustable="box")
        self._contour_set = None
        self._paths, self._heads, self._curves, self._curve_heads = {}, {}, {}, {}
        for i, name in enumerate(RACE_METHODS):
            c = color(i)
            (self._paths[name],) = self.ax.plot([], [], "-", color=c, lw=1.5, zorder=3)
            (self._heads[name],) = self.ax.plot([], [], "o", color=c, ms=5, zorder=4)
            (self._curves[name],) = self.ax_curve.plot([], [], "-", color=c, lw=1.5, label=name)
            (self._curve_heads[name],) = self.ax_curve.plot([], [], "o", color=c, ms=5)
        (self._start,) = self.ax.plot([], [], "s", color="black", ms=5, zorder=5)
        (self._min,) = self.ax.plot([], [], "*", color="black", ms=11, zorder=5)
        self._vline = self.ax_curve.axvline(0, color="0.6", lw=0.8)
        self.ax_curve.set_yscale("log")
        self.ax_curve.set_xlabel("step")
        self.ax_curve.set_ylabel(r"$f(x_k) - f_{\min}$")
        self.ax_curve.grid(True, alpha=0.3)
        self._legend = None
        self.animate(*self._paths.values(), *self._heads.values(), *self._curve_heads.values(), self._vline)
        for name in ("surface", "kappa"):
            self.controls[name].observe(self._on_setting, names="value")
        self.controls["methods"].observe(self._on_methods, names="value")
        self.controls["step"].observe(self._on_step, names="value")
        reset.on_click(self._on_reset)
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)
        self._recompute()

    @property
    def surface(self) -> surfaces.Surface:
        return self._surface

    @property
    def x0(self) -> np.ndarray:
        return self._x0 if self._x0 is not None else np.array(DEFAULT_STARTS[self.controls["surface"].value])

    def set_start(self, x0):
        """Move the common start point and re-run every method."""
        self._x0 = np.asarray(x0, dtype=float).reshape(2)
        self._recompute(new_surface=False)

    def _recompute(self, new_surface: bool = True):
        c = self.controls
        c["kappa"].disabled = c["surface"].value != "quadratic"
        if new_surface:
            self._surface = _make_surface(c["surface"].value, c["kappa"].value)
            if self._contour_set is not None:
                self._contour_set.remove()
            self._contour_set = _contour(self.ax, self._surface)
            (x_lo, x_hi), (y_lo, y_hi) = self._surface.bounds
            self.ax.set_xlim(x_lo, x_hi)
            self.ax.set_ylim(y_lo, y_hi)
            self.ax.set_title(self._surface.formula, fontsize=9)
            mins = self._surface.minima
            self._min.set_data(mins[:, 0], mins[:, 1])
        self.trajs = race_trajectories(self._surface, self.x0, self.num_steps)
        self._f_min = _f_min(self._surface, self.trajs.values())
        self._start.set_data([self.x0[0]], [self.x0[1]])
        self._gaps = {k: _gap(t.values[:, 0], self._f_min) for k, t in self.trajs.items()}
        for name, tr in self.trajs.items():
            self._curves[name].set_data(np.arange(tr.num_steps + 1), self._gaps[name])
            self._curves[name].set_label(self._legend_label(name, tr))
        finite = np.concatenate([g[np.isfinite(g)] for g in self._gaps.values()])
        self.ax_curve.set_xlim(0, self.num_steps)
        self.ax_curve.set_ylim(max(finite.min() / 3, 1e-16), finite.max() * 3)
        self._apply_methods()

    def _legend_label(self, name, tr):
        if name in ("GD", "momentum"):
            lr = tr.lrs[0]
            return f"{name} (lr={lr:.2g})"
        return name

    def _apply_methods(self):
        shown = set(self.controls["methods"].value)
        for name in RACE_METHODS:
            vis = name in shown
            for art in (self._paths[name], self._heads[name], self._curves[name], self._curve_heads[name]):
                art.set_visible(vis)
        handles = [self._curves[n] for n in RACE_METHODS if n in shown]
        if self._legend is not None:
            self._legend.remove()
        self._legend = self.ax_curve.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85)
        self._draw_step(self.controls["step"].value, full=True)

    def _draw_step(self, k: int, full: bool = False):
        k = int(min(max(k, 0), self.num_steps))
        shown = [n for n in RACE_METHODS if n in self.controls["methods"].value]
        lines, cols = [], []
        for i, name in enumerate(RACE_METHODS):
            if name not in shown:
                continue
            tr = self.trajs[name]
            xs = tr.xs[:, 0]
            self._paths[name].set_data(xs[:k + 1, 0], xs[:k + 1, 1])
            self._heads[name].set_data([xs[k, 0]], [xs[k, 1]])
            self._curve_heads[name].set_data([k], [self._gaps[name][k]])
            lines.append(f"{self._legend_label(name, tr):24s} {tr.status():42s} {_evals(tr):5d} evaluations")
            cols.append(color(i))
        self._vline.set_xdata([k, k])
        self.set_status(*lines, colors_=cols)
        self.redraw(full=full)

    @callback
    def _on_setting(self, change):
        if change["owner"] is self.controls["surface"]:
            self._x0 = None
        self._recompute(new_surface=True)

    @callback
    def _on_methods(self, change):
        if not change["new"]:
            raise ValueError("select at least one method")
        self._apply_methods()

    @callback
    def _on_step(self, change):
        self._draw_step(change["new"])

    @callback
    def _on_reset(self, _button):
        self._x0 = None
        self.controls["step"].value = 0
        self._recompute(new_surface=False)

    @callback
    def _on_click(self, event):
        if event.inaxes is self.ax and event.xdata is not None:
            self.set_start((event.xdata, event.ydata))
