"""Widgets of derivatives: secant to tangent (lecture 01) and directional derivatives (lecture 02).

Two widgets (built on :class:`widgets.base.Widget`: artists made once and updated, errors shown in the widget):

- :class:`SecantWidget` (lecture 01): a slider for ``h`` turns the secant through ``x`` and ``x + h`` (or
  ``x - h`` and ``x + h``) into the tangent on ``f(x) = 25 sin x - x^2``; a second panel shows the slope error
  against ``h`` on log-log axes.
- :class:`DirectionalDerivativeWidget` (lecture 02): rotate a unit direction ``e`` at a point of
  ``f(x, y) = cos(3x + 2y) + cos(2x + 4y) - 2 sin(x + y)``; see the slice ``f(p + t e)`` with its slope and
  ``D_e f = |grad f| cos(angle)`` against the angle.

The static figures of lecture 02 are in :mod:`widgets.surface_figures` (slices, tangent plane, gradient field)
and :mod:`widgets.graph_figure` (a computational graph); the differences themselves in
:mod:`lecture_utils.finite_differences`.

Example::

    from widgets.calculus import SecantWidget
    w = SecantWidget(); w.set(h=0.01); w.show()
"""
from __future__ import annotations

import math

import ipywidgets
import numpy as np

from lecture_utils import finite_differences, surfaces
from lecture_utils._validate import check_array, check_choice, check_real

from .base import Widget, callback
from .controls import float_slider, log_slider, row
from .style import color

__all__ = ["SecantWidget", "DirectionalDerivativeWidget"]


# ---------------------------------------------------------------------------------------------------------
# Lecture 01: from secant to tangent
# ---------------------------------------------------------------------------------------------------------
class SecantWidget(Widget):
    """A slider for ``h`` moves the secant of ``f`` at ``x`` until it becomes the tangent (lecture 01).

    Args:
        surface: a 1D surface or its name (default ``"sin_parabola"``, ``f(x) = 25 sin x - x^2``).
        x: the point of tangency; h: the initial step (``1e-4 <= h <= 4``).
        kind: ``"forward"`` (secant through ``x`` and ``x + h``) or ``"central"`` (through ``x - h`` and ``x + h``).
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        slope: the current secant slope; exact: ``f'(x)``; slope_error: ``|slope - f'(x)|``.
    Example: ``w = SecantWidget(x=-2.0, h=1.0); w.set(h=1e-3); w.slope_error  # ~ 0.01``
    """

    figsize = (8.2, 3.8)   # fits the notebook column at 1280 px with the file browser open
    H_RANGE = (1e-4, 4.0)

    def __init__(self, surface="sin_parabola", *, x: float = -2.0, h: float = 1.0, kind: str = "forward",
                 figsize=None, live: bool | None = None):
        self.surface = surfaces.as_surface(surface, dim=1)
        lo, hi = self.surface.bounds[0]
        x = check_real("x", x, low=lo, high=hi)
        h = check_real("h", h, low=self.H_RANGE[0], high=self.H_RANGE[1])
        check_choice("kind", kind, ("forward", "central"))
        super().__init__(figsize=figsize, live=live)
        f = self.surface.value
        self.ax, self.ax_err = self.fig.subplots(1, 2, width_ratios=[1.35, 1])

        xs = np.linspace(lo, hi, 600)
        ys = f(xs)
        pad = 0.08 * (ys.max() - ys.min())
        self.ax.plot(xs, ys, color="0.25", lw=1.8, label=f"f(x) = {self.surface.formula}")
        self.tangent_line = self.animate(*self.ax.plot([], [], color=color(2), lw=2.0, label="tangent, slope f'(x)"))
        self.secant_line = self.animate(*self.ax.plot([], [], color=color(1), lw=1.8, ls="--", label="secant",
                                                    zorder=4))
        self.points = self.animate(*self.ax.plot([], [], "o", color=color(1), ms=7, mec="white", zorder=5))
        self.anchor = self.animate(*self.ax.plot([], [], "o", color=color(2), ms=8, mec="white", zorder=6))
        self.ax.set_xlim(lo, hi)
        self.ax.set_ylim(ys.min() - pad, ys.max() + pad)
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("f(x)")
        self.ax.set_title("secant slope -> derivative as h -> 0")
        self.ax.grid(True, alpha=0.3)
        self.ax.legend(loc="upper left", fontsize=8, framealpha=0.9)

        self._hs = np.geomspace(*self.H_RANGE, 120)
        self.err_forward = self.animate(*self.ax_err.loglog([], [], color=color(1), lw=1.6,
                                                            label="forward: (f(x+h) - f(x)) / h"))
        self.err_central = self.animate(*self.ax_err.loglog([], [], color=color(0), lw=1.6,
                                                            label="central: (f(x+h) - f(x-h)) / 2h"))
        self.err_marker = self.animate(*self.ax_err.plot([], [], "o", color="black", ms=7, zorder=5))
        self.ax_err.set_xlim(*self.H_RANGE)
        self.ax_err.set_xlabel("step h")
        self.ax_err.set_ylabel("|secant slope - f'(x)|")
        self.ax_err.set_title("slope error against h")
        self.ax_err.grid(True, which="major", alpha=0.3)
        self.ax_err.legend(loc="lower right", fontsize=8)

        self.controls["h"] = log_slider("h", h, *self.H_RANGE)
        self.controls["x"] = float_slider("x", x, lo, hi, 0.05, continuous_update=False)
        self.controls["kind"] = ipywidgets.ToggleButtons(options=["forward", "central"], value=kind,
                                                         description="difference", style={"button_width": "80px"})
        self.controls["h"].observe(self._on_h, names="value")
        self.controls["x"].observe(self._on_x, names="value")
        self.controls["kind"].observe(self._on_h, names="value")
        self.slope = self.exact = self.slope_error = float("nan")
        self._update_point()
        self._update_secant()

    # ---- computing ---------------------------------------------------------------------------------------
    def _update_point(self):
        x = self.controls["x"].value
        f, df = self.surface.value, self.surface.grad
        self.exact = float(df(x))
        fx = float(f(x))
        span = 0.25 * (self.surface.bounds[0][1] - self.surface.bounds[0][0])
        t = np.array([x - span, x + span])
        self.tangent_line.set_data(t, fx + self.exact * (t - x))
        self.anchor.set_data([x], [fx])
        fwd = np.abs(finite_differences.forward_difference(f, x, self._hs) - self.exact)
        cen = np.abs(finite_differences.central_difference(f, x, self._hs) - self.exact)
        # zero errors (a lucky cancellation) cannot be drawn on log axes
        floor = 1e-16 * max(1.0, abs(self.exact))
        self.err_forward.set_data(self._hs, np.maximum(fwd, floor))
        self.err_central.set_data(self._hs, np.maximum(cen, floor))
        both = np.concatenate([fwd, cen])
        top = float(both.max())
        bottom = float(np.percentile(np.maximum(both, floor), 1))
        self.ax_err.set_ylim(max(bottom / 3, 1e-14), top * 3)
        self.ax.set_title(f"secant slope -> f'({x:.2f}) = {self.exact:.3f} as h -> 0")

    def _update_secant(self):
        x, h, kind = self.controls["x"].value, self.controls["h"].value, self.controls["kind"].value
        f = self.surface.value
        a = x if kind == "forward" else x - h
        b = x + h
        fa, fb = float(f(a)), float(f(b))
        self.slope = (fb - fa) / (b - a)
        self.slope_error = abs(self.slope - self.exact)
        lo, hi = self.surface.bounds[0]
        ext = max(0.25 * (hi - lo), 1.5 * (b - a))   # at least as long as the tangent, so both stay visible
        t = np.array([max(lo, a - ext), min(hi, b + ext)])
        self.secant_line.set_data(t, fa + self.slope * (t - a))
        self.points.set_data([a, b], [fa, fb])
        self.err_marker.set_data([h], [max(self.slope_error, 1e-16 * max(1.0, abs(self.exact)))])
        name = "(f(x+h) - f(x)) / h" if kind == "forward" else "(f(x+h) - f(x-h)) / 2h"
        self.set_status(f"h = {h:.3g}: {kind} secant slope {name} = {self.slope:.5f}",
                        f"f'(x) = {self.exact:.5f} at x = {x:.2f}; error = {self.slope_error:.2e}",
                        colors_=[color(1), color(2)])

    # ---- callbacks -----------------------------------------------------------------------------------------
    @callback
    def _on_h(self, change):
        self._update_secant()
        self.redraw()

    @callback
    def _on_x(self, change):
        self._update_point()
        self._update_secant()
        self.redraw(full=True)

    def _controls_box(self):
        c = self.controls
        return row([c["h"], c["x"], c["kind"]])


# ---------------------------------------------------------------------------------------------------------
# Lecture 02: directional derivatives
# ---------------------------------------------------------------------------------------------------------
class DirectionalDerivativeWidget(Widget):
    """Rotate a unit direction ``e`` at a point ``p``: the slope of ``t -> f(p + t e)`` is ``e . grad f`` (lecture 02).

    Three panels: contours with the gradient and ``e``; the slice ``f(p + t e)`` with its tangent at ``t = 0``;
    ``D_e f = |grad f| cos(angle between e and grad f)`` against the angle of ``e``, with the current angle marked.

    Args:
        surface: a 2D surface or its name (default ``"lecture_2d"``).
        point: ``p``, inside the surface's box; angle: direction of ``e`` in degrees (0 = +x axis).
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        grad: ``grad f(p)``; e: the unit direction; value: ``D_e f`` from ``e . grad f``;
        slice_slope: the slope of the slice at ``t = 0`` by a central difference (an independent check).
    Example: ``w = DirectionalDerivativeWidget(point=(0.5, -0.5)); w.set(angle=90); w.value``
    """

    figsize = (8.2, 5.6)   # contours on the left, the two curves stacked on the right
    T_RANGE = 1.0

    def __init__(self, surface="lecture_2d", *, point=(0.5, -0.5), angle: float = 30.0, figsize=None,
                 live: bool | None = None):
        self.surface = surfaces.as_surface(surface, dim=2)
        (x0, x1), (y0, y1) = self.surface.bounds
        p = check_array("point", point, ndim=1)
        if p.shape != (2,) or not (x0 <= p[0] <= x1 and y0 <= p[1] <= y1):
            raise ValueError(f"point must be 2 numbers inside the box {self.surface.bounds}, got {point!r}")
        angle = check_real("angle", angle, low=0.0, high=360.0)
        super().__init__(figsize=figsize, live=live)
        grid = self.fig.add_gridspec(2, 2, width_ratios=[1.05, 1.0])
        self.ax = self.fig.add_subplot(grid[:, 0])
        self.ax_slice = self.fig.add_subplot(grid[0, 1])
        self.ax_dir = self.fig.add_subplot(grid[1, 1])
        self._arrow_len = 0.18 * min(x1 - x0, y1 - y0)

        X, Y, Z = self.surface.grid(160)
        self.ax.contourf(X, Y, Z, levels=20, cmap="viridis", alpha=0.85)
        self.ax.contour(X, Y, Z, levels=20, colors="white", linewidths=0.4, alpha=0.6)
        self.level_line = self.animate(*self.ax.plot([], [], color="white", lw=2.5, label="level set through p"))
        self.grad_arrow = self.animate(self.ax.quiver([p[0]], [p[1]], [1.0], [0.0], angles="xy", scale_units="xy",
                                                      scale=1, color="black", width=0.012,
                                                      label=r"direction of $\nabla f$"))
        self.e_arrow = self.animate(self.ax.quiver([p[0]], [p[1]], [1.0], [0.0], angles="xy", scale_units="xy",
                                                   scale=1, color=color(1), width=0.012, label="unit direction $e$"))
        self.point_marker = self.animate(*self.ax.plot([], [], "o", color="white", mec="black", ms=7))
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.ax.set_aspect("equal")
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("y")
        self.ax.set_title(r"contours of $f$, $\nabla f$ and $e$")
        self.ax.legend(loc="lower left", fontsize=7, framealpha=0.85)

        zlo, zhi = float(Z.min()), float(Z.max())
        pad = 0.1 * (zhi - zlo)
        self.slice_curve = self.animate(*self.ax_slice.plot([], [], color=color(1), lw=1.8, label="$f(p + t\\,e)$"))
        self.slice_tangent = self.animate(*self.ax_slice.plot([], [], color="black", lw=1.4, ls="--",
                                                              label="tangent: slope $D_e f$ at $t = 0$"))
        self.slice_point = self.animate(*self.ax_slice.plot([], [], "o", color="black", ms=6))
        self.ax_slice.set_xlim(-self.T_RANGE, self.T_RANGE)
        self.ax_slice.set_xticks(np.linspace(-self.T_RANGE, self.T_RANGE, 5))
        self.ax_slice.set_ylim(zlo - pad, zhi + pad)
        self.ax_slice.set_xlabel("$t$ (distance from $p$ along $e$)")
        self.ax_slice.set_ylabel("$f(p + t\\,e)$")
        self.ax_slice.set_title("the slice of $f$ along $e$")
        self.ax_slice.grid(True, alpha=0.3)
        self.ax_slice.legend(loc="upper right", fontsize=7)

        self._angles = np.linspace(0.0, 360.0, 361)
        self.dir_curve = self.animate(*self.ax_dir.plot([], [], color=color(0), lw=1.8,
                                                        label=r"$D_e f = |\nabla f|\,\cos\theta$ ($\theta$: angle from $e$ to $\nabla f$)"))
        self.max_marker = self.animate(*self.ax_dir.plot([], [], "*", color="black", ms=13,
                                                         label=r"maximum $|\nabla f|$: $e$ along $\nabla f$"))
        self.dir_marker = self.animate(*self.ax_dir.plot([], [], "o", color=color(1), ms=8, mec="white",
                                                         label="current $e$"))
        self.norm_lines = [self.animate(self.ax_dir.axhline(0.0, color="0.5", lw=0.8, ls=":")) for _ in range(2)]
        self.ax_dir.axhline(0.0, color="0.3", lw=0.6)
        self.ax_dir.set_xlim(0, 360)
        self.ax_dir.set_xticks(range(0, 361, 90))
        self.ax_dir.set_xlabel("angle of $e$ (degrees from the x axis)")
        self.ax_dir.set_ylabel("$D_e f$")
        self.ax_dir.set_title(r"$D_e f$ against the direction of $e$")
        self.ax_dir.grid(True, alpha=0.3)
        self.ax_dir.legend(loc="upper right", fontsize=7, framealpha=0.9)

        self.controls["angle"] = float_slider("angle (deg)", angle, 0.0, 360.0, 1.0)
        self.controls["x"] = float_slider("p_x", float(p[0]), x0, x1, 0.05, continuous_update=False)
        self.controls["y"] = float_slider("p_y", float(p[1]), y0, y1, 0.05, continuous_update=False)
        self.controls["angle"].observe(self._on_angle, names="value")
        self.controls["x"].observe(self._on_point, names="value")
        self.controls["y"].observe(self._on_point, names="value")
        self.grad = np.zeros(2)
        self.e = np.array([1.0, 0.0])
        self.value = self.slice_slope = float("nan")
        self._update_point()
        self._update_direction()

    @property
    def point(self) -> np.ndarray:
        """The current point ``p``, shape ``(2,)``."""
        return np.array([self.controls["x"].value, self.controls["y"].value])

    def _update_point(self):
        p = self.point
        self.grad = np.asarray(self.surface.grad(p), dtype=float)
        gnorm = float(np.linalg.norm(self.grad))
        self.point_marker.set_data([p[0]], [p[1]])
        self.grad_arrow.set_offsets([p])
        L = self._arrow_len
        u = self.grad / gnorm if gnorm > 0 else np.zeros(2)
        self.grad_arrow.set_UVC([L * u[0]], [L * u[1]])
        try:  # the level set through p, found without the gradient
            tangent = finite_differences.level_set_tangent(self.surface.value, p, radius=1e-3)
            self.level_line.set_data(p[0] + 0.8 * L * np.array([-tangent[0], tangent[0]]),
                                     p[1] + 0.8 * L * np.array([-tangent[1], tangent[1]]))
        except ValueError:  # a critical point: no level-set direction
            self.level_line.set_data([], [])
        self.dir_curve.set_data(self._angles, finite_differences.directional_derivatives(self.grad, np.radians(self._angles)))
        g_angle = math.degrees(math.atan2(self.grad[1], self.grad[0])) % 360.0
        self.max_marker.set_data([g_angle], [gnorm])
        for line, level in zip(self.norm_lines, (gnorm, -gnorm)):
            line.set_ydata([level, level])
        top = max(gnorm, 0.25)
        self.ax_dir.set_ylim(-1.25 * top, 2.1 * top)  # room for the legend above the curve
        self._grad_angle = g_angle

    def _update_direction(self):
        p, angle = self.point, self.controls["angle"].value
        self.e = finite_differences.unit_vector(math.radians(angle))
        self.value = float(finite_differences.directional_derivative(self.grad, self.e))
        self.slice_slope = finite_differences.directional_derivative_fd(self.surface.value, p, self.e, h=1e-5)
        L = self._arrow_len
        self.e_arrow.set_offsets([p])
        self.e_arrow.set_UVC([L * self.e[0]], [L * self.e[1]])
        t = np.linspace(-self.T_RANGE, self.T_RANGE, 201)
        fp = float(self.surface.value(p))
        self.slice_curve.set_data(t, self.surface.value(p + t[:, None] * self.e))
        tt = np.array([-0.35, 0.35]) * self.T_RANGE
        self.slice_tangent.set_data(tt, fp + self.value * tt)
        self.slice_point.set_data([0.0], [fp])
        self.dir_marker.set_data([angle], [self.value])
        gnorm = float(np.linalg.norm(self.grad))
        between = (angle - self._grad_angle + 180.0) % 360.0 - 180.0
        self.set_status(
            f"p = ({p[0]:.2f}, {p[1]:.2f}): grad f = ({self.grad[0]:.3f}, {self.grad[1]:.3f}), "
            f"|grad f| = {gnorm:.3f}, pointing at {self._grad_angle:.0f} deg",
            f"e at {angle:.0f} deg: D_e f = e . grad f = {self.value:.3f} = |grad f| cos({between:.0f} deg); "
            f"slope of the slice (central difference) = {self.slice_slope:.3f}",
            colors_=[None, color(1)])

    @callback
    def _on_angle(self, change):
        self._update_direction()
        self.redraw()

    @callback
    def _on_point(self, change):
        self._update_point()
        self._update_direction()
        self.redraw(full=True)

    def _controls_box(self):
        c = self.controls
        return row([c["angle"], c["x"], c["y"]])
