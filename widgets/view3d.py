"""The 3D view of Explorer2D: the surface drawn in 3D with each optimizer's path on it, on a toggle.

Introduced in lecture 03. :class:`SurfaceView3D` is a mixin for a widget that already shows a 2D contour
plot ``ax`` of ``surface`` over ``box``, with the grid values ``grid_values = (X, Y, Z)``, runs ``trajs`` and
optimizer ``specs``: :meth:`SurfaceView3D._show_view3d` swaps the contour plot for a 3D axes in the same
slot (made on first use), and ``_draw_step3d(k)`` puts the paths up to step ``k`` on the surface. Points
outside the box are not drawn; heights are clipped to the surface's drawn range.

Example::

    class Explorer2D(SurfaceView3D, TrajectoryWidget): ...
    w.controls["view3d"].value = True      # calls _show_view3d(True)
"""
from __future__ import annotations

import numpy as np

from .style import color

__all__ = ["SurfaceView3D"]


class SurfaceView3D:
    """Mixin: a 3D axes showing the host's surface and paths in place of its contour axes ``ax``.

    The host sets ``ax3d = None`` and provides ``fig``, ``ax``, ``surface``, ``box``, ``grid_values``,
    ``trajs``, ``specs`` and ``animate`` (a :class:`~widgets.base.Widget`); it calls :meth:`_draw_surface3d`
    when its surface changes and :meth:`_draw_step3d` when the step does (both only while ``ax3d`` exists).
    Once drawn, ``z_range`` is the ``(low, high)`` height range of the surface drawn (the paths' heights are
    clipped into it) and ``paths3d`` / ``points3d`` hold each optimizer's path and head.
    """

    ax3d = None

    def _make_ax3d(self, slot):
        """The 3D axes in gridspec ``slot`` (where ``ax`` is), with one path and one head per optimizer."""
        self.ax3d = self.fig.add_subplot(slot, projection="3d")
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

    def _draw_surface3d(self):
        """The surface (at most 50 x 50 facets, heights clipped at the 98% quantile), limits and title."""
        X, Y, Z = self.grid_values
        stride = max(1, X.shape[0] // 50)
        Xs, Ys, Zs = X[::stride, ::stride], Y[::stride, ::stride], Z[::stride, ::stride]
        z_lo, z_hi = self._height_range(Zs)
        Zc = np.clip(np.where(np.isnan(Zs), z_hi, Zs), z_lo, z_hi)
        with np.errstate(all="ignore"):  # shading huge heights: the colours saturate, nothing to warn about
            new = self.ax3d.plot_surface(Xs, Ys, Zc, cmap="viridis", alpha=0.6, linewidth=0, antialiased=False,
                                         rstride=1, cstride=1)
        if self.surface3d is not None:  # replaced only once the new one is drawn
            self.surface3d.remove()
        self.surface3d = new
        self.z_range = (float(z_lo), float(z_hi))
        (xlo, xhi), (ylo, yhi) = self.box
        self.ax3d.set_xlim(xlo, xhi)
        self.ax3d.set_ylim(ylo, yhi)
        self.ax3d.set_zlim(z_lo, z_hi)
        self.ax3d.set_title(self.ax.get_title())

    @staticmethod
    def _height_range(Z) -> tuple[float, float]:
        """``(low, high)`` heights drawn: the lowest finite value to the 98% quantile, within +-1e300 (the 3D
        projection works on differences of heights, which must not overflow) and never empty."""
        z = Z[np.isfinite(Z)]
        if z.size == 0:
            return 0.0, 1.0
        z = np.clip(z, -1e300, 1e300)
        with np.errstate(all="ignore"):  # the quantile interpolates between huge neighbours
            lo, hi = float(z.min()), float(np.quantile(z, 0.98))
        if not np.isfinite(hi) or hi < lo:
            hi = float(z.max())
        if hi <= lo:  # a flat surface
            hi = lo + max(abs(lo) * 1e-6, 1.0)
        return lo, hi

    def _z(self, xs):
        with np.errstate(all="ignore"):
            z = np.asarray(self.surface.value(xs), dtype=float)
        return np.clip(z, *self.z_range)

    def _draw_step3d(self, k: int):
        """Each path up to step ``k`` on the surface (NaN, so not drawn, outside the box)."""
        (xlo, xhi), (ylo, yhi) = self.box
        for i, traj in enumerate(self.trajs):
            k_i = min(k, traj.num_steps)
            xs = traj.xs[: k_i + 1, 0, :]
            inside = (xs[:, 0] >= xlo) & (xs[:, 0] <= xhi) & (xs[:, 1] >= ylo) & (xs[:, 1] <= yhi)
            xs_in = np.where(inside[:, None], xs, np.nan)
            z = self._z(np.nan_to_num(xs_in))
            z = np.where(inside, z, np.nan)
            self.paths3d[i].set_data_3d(xs_in[:, 0], xs_in[:, 1], z)
            last = xs_in[-1:]
            self.points3d[i].set_data_3d(last[:, 0], last[:, 1], z[-1:])

    def _show_view3d(self, on: bool, slot) -> bool:
        """Show the 3D view (``on``, made in ``slot`` on first use) or the contour plot; True when the 3D axes
        was just made (the host then draws the current step on it)."""
        made = bool(on) and self.ax3d is None
        if made:
            self._make_ax3d(slot)
        if self.ax3d is not None:
            # A hidden axes stays out of the layout too (a hidden 3D axes has no bounding box to measure).
            self.ax3d.set_visible(on)
            self.ax3d.set_in_layout(on)
        self.ax.set_visible(not on)
        self.ax.set_in_layout(not on)
        return made
