"""Continuation widget: a smoothing slider reshapes a wiggly curve and tracks its minimizer (lecture 08).

Left panel: the original function ``f`` (grey), its Gaussian homotopy ``g(., sigma)`` (blue), the minimizer that
continuation tracks from heavy smoothing down to the current ``sigma`` (orange dot), the global minimizer of
``g(., sigma)`` (green star), the start point ``x0`` and where plain descent from ``x0`` on ``f`` stops (red cross).
Right panel: every local minimizer of ``g(., sigma)`` for all ``sigma`` (grey dots, the "minimizer map"), the
continuation path (orange line) and the current ``sigma`` (dashed line).

The path is computed once per start point (a change of ``x0`` recomputes it); a move of the ``sigma`` slider only
updates the curve and the markers.

Example::

    from widgets.continuation import ContinuationWidget
    w = ContinuationWidget(x0=-4.0)
    w.controls["sigma"].value = 0.0     # the tracked minimizer is now the global minimum
    w                                   # display it
"""
from __future__ import annotations

import numpy as np

from lecture_utils import continuation as cont
from lecture_utils._validate import check_int, check_real

from .base import Widget, callback
from .controls import float_slider
from .style import color

__all__ = ["ContinuationWidget"]


class ContinuationWidget(Widget):
    """Slide the smoothing ``sigma`` of a Gaussian homotopy and watch the tracked minimizer move.

    Args:
        f: a :class:`lecture_utils.continuation.SinusoidSum` (default :func:`~lecture_utils.continuation.wiggly`).
        x0: start point of continuation and of plain descent.
        sigma_max: the heaviest smoothing (top of the slider and of the path).
        num_levels: smoothing levels of the precomputed path and minimizer map.
        sigma: initial slider value (default ``sigma_max``).
        figsize, live: as in :class:`widgets.base.Widget`.
    Attributes:
        path: the :class:`~lecture_utils.continuation.ContinuationResult` for the current ``x0``.
        plain_end: where plain descent from ``x0`` on ``f`` stops.
        tracked: the tracked minimizer at the current ``sigma``.
        fig, controls (``sigma``, ``x0``), status.
    Example: ``ContinuationWidget(x0=-4.0).set(sigma=1.0)``
    """

    figsize = (8.2, 4.2)
    _data_attrs = ("path", "map_x", "map_sigma", "f_values")

    def __init__(self, f: cont.SinusoidSum | None = None, *, x0: float = -4.0, sigma_max: float = 3.0,
                 num_levels: int = 121, sigma: float | None = None, figsize=None, live: bool | None = None):
        self.f = cont.wiggly() if f is None else f
        if not isinstance(self.f, cont.SinusoidSum):
            raise TypeError(f"f must be a lecture_utils.continuation.SinusoidSum, got {type(self.f).__name__}")
        lo, hi = self.f.bounds
        x0 = check_real("x0", x0, low=lo, high=hi)
        self.sigma_max = check_real("sigma_max", sigma_max, low=0.0, low_open=True)
        self.num_levels = check_int("num_levels", num_levels, low=2)
        sigma = self.sigma_max if sigma is None else check_real("sigma", sigma, low=0.0, high=self.sigma_max)
        super().__init__(figsize=figsize, live=live)

        self.xs = np.linspace(lo, hi, 1201)
        self.sigmas = np.linspace(self.sigma_max, 0.0, self.num_levels)
        self.f_values = self.f.value(self.xs)
        # Minimizer map: local minima of g(., sigma) on the plotting grid for every level (computed once).
        map_x, map_s = [], []
        for s in self.sigmas:
            v = self.f.value(self.xs, s)
            idx = np.flatnonzero((v[1:-1] < v[:-2]) & (v[1:-1] <= v[2:])) + 1
            map_x.extend(self.xs[idx])
            map_s.extend([s] * len(idx))
        self.map_x, self.map_sigma = np.array(map_x), np.array(map_s)

        self.ax, self.ax_map = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        ax, axm = self.ax, self.ax_map
        ax.plot(self.xs, self.f_values, color="0.6", lw=1.2, label=r"$f(x)$ (no smoothing)")
        self.curve, = ax.plot(self.xs, self.f.value(self.xs, sigma), color=color(0), lw=2.2,
                              label=r"$g(x, \sigma)$")
        self.x0_line = ax.axvline(x0, color="0.3", lw=1, ls=":", label=r"start $x_0$")
        self.plain_marker, = ax.plot([], [], "X", color=color(1), ms=10, mec="white",
                                     label="plain descent on $f$ stops")
        self.tracked_marker, = ax.plot([], [], "o", color=color(4), ms=13, mec="black",
                                       label="continuation's minimizer")
        self.global_marker, = ax.plot([], [], "*", color=color(2), ms=11, mec="black", mew=0.6,
                                      label=r"global min of $g$")
        ymin, ymax = self.f_values.min(), self.f_values.max()
        pad = 0.1 * (ymax - ymin)
        g_all = np.array([self.f.value(self.xs, s) for s in (0.0, self.sigma_max)])
        # Head room above the curve for the legend.
        ax.set_ylim(min(ymin, g_all.min()) - pad, max(ymax, g_all.max()) + 5 * pad)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("$x$")
        ax.set_ylabel("value")
        ax.set_title(self.f.formula(), fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", fontsize=8, ncol=2, framealpha=0.9)

        axm.scatter(self.map_x, self.map_sigma, s=4, color="0.65", label=r"local minima of $g(\cdot, \sigma)$")
        self.path_line, = axm.plot([], [], color=color(4), lw=2.2, label="continuation path")
        self.sigma_line = axm.axhline(sigma, color=color(0), lw=1.2, ls="--", label=r"current $\sigma$")
        axm.set_xlim(lo, hi)
        axm.set_ylim(-0.05 * self.sigma_max, 1.05 * self.sigma_max)
        axm.set_xlabel("$x$")
        axm.set_ylabel(r"smoothing $\sigma$ (std of the kernel)")
        axm.set_title("minimizers as smoothing is removed", fontsize=9)
        axm.grid(True, alpha=0.3)
        axm.legend(loc="upper right", fontsize=8, framealpha=0.9)
        self.animate(self.curve, self.plain_marker, self.tracked_marker, self.global_marker, self.sigma_line)

        self.controls["sigma"] = float_slider("smoothing σ", sigma, 0.0, self.sigma_max, self.sigma_max / 120,
                                              readout_format=".2f")
        self.controls["x0"] = float_slider("start x0", x0, lo, hi, (hi - lo) / 240, continuous_update=False,
                                           readout_format=".2f")
        self.controls["sigma"].observe(self._on_sigma, names="value")
        self.controls["x0"].observe(self._on_x0, names="value")
        self._compute_path(x0)
        self._draw()

    # ---- computation ---------------------------------------------------------------------------------
    def _compute_path(self, x0):
        self.path = cont.continuation(self.f, x0, self.sigmas)
        self.plain_end = float(cont.local_minimize(self.f, x0))
        self.x0_line.set_xdata([x0, x0])
        self.plain_marker.set_data([self.plain_end], [float(self.f.value(self.plain_end))])
        self.path_line.set_data(self.path.xs[:, 0], self.sigmas)

    def tracked_minimizer(self, sigma: float) -> float:
        """Continuation's minimizer at ``sigma``: from the path level just above it, one more local descent."""
        sigma = check_real("sigma", sigma, low=0.0, high=self.sigma_max)
        k = int(np.searchsorted(-self.sigmas, -sigma, side="right")) - 1  # last level with sigma_k >= sigma
        k = min(max(k, 0), len(self.sigmas) - 1)
        return float(cont.local_minimize(self.f, self.path.xs[k, 0], sigma))

    # ---- drawing -------------------------------------------------------------------------------------
    @callback
    def update(self, sigma: float | None = None):
        """Redraw for smoothing ``sigma`` (default: the slider's value); a bad ``sigma`` is shown in the
        widget, like a callback error. Example: ``w.update(sigma=0.5)``"""
        self._draw(sigma)

    def _draw(self, sigma: float | None = None):
        sigma = self.controls["sigma"].value if sigma is None else check_real("sigma", sigma, low=0.0,
                                                                               high=self.sigma_max)
        g = self.f.value(self.xs, sigma)
        self.curve.set_ydata(g)
        self.tracked = self.tracked_minimizer(sigma)
        self.tracked_value = float(self.f.value(self.tracked, sigma))
        self.tracked_marker.set_data([self.tracked], [self.tracked_value])
        self.global_min = self.f.global_minimum(sigma, num=4001)
        self.global_marker.set_data([self.global_min[0]], [self.global_min[1]])
        self.sigma_line.set_ydata([sigma, sigma])
        found = abs(self.tracked - self.global_min[0]) < 1e-3
        self.set_status(
            f"σ = {sigma:.2f}: continuation's minimizer x = {self.tracked:.3f} "
            f"({'the global minimum of g' if found else 'not the global minimum of g'}); "
            f"global minimizer of g: x = {self.global_min[0]:.3f}",
            f"plain descent on f from x0 = {self.controls['x0'].value:.2f} stops at x = {self.plain_end:.3f} "
            f"(f = {self.f.value(self.plain_end):.3f}); the global minimum of f is "
            f"{self.f.global_minimum(0.0)[1]:.3f}")
        self.redraw()

    @callback
    def _on_sigma(self, change):
        self._draw(change["new"])
        self.clear_error("update")

    @callback
    def _on_x0(self, change):
        lo, hi = self.f.bounds
        x0 = check_real("x0", change["new"], low=lo, high=hi)
        self._compute_path(x0)
        self._draw()
        self.redraw(full=True)
