"""Static figures of gradient descent in one dimension (lecture 03): the orbit diagram against the learning
rate, and the basin of each minimum along the start points.

:func:`plot_orbits` draws :func:`lecture_utils.descent.gd_orbits` (late iterates against the rate: a bifurcation
diagram); :func:`plot_basins` draws :func:`lecture_utils.basin_maps.basin_map_1d` (the
curve with each start point coloured by the minimum it reaches).

Example::

    from widgets.descent_figures import plot_orbits
    plot_orbits(descent.gd_orbits(...), threshold=2 / curvature)
"""
from __future__ import annotations

import numpy as np

from .style import color

__all__ = ["plot_orbits", "plot_basins"]


def plot_orbits(orbits, ax=None, *, color_: str | None = None, threshold: float | None = None, ylim=None,
                title: str = ""):
    """Orbit (bifurcation) diagram: the late iterates of :func:`lecture_utils.descent.gd_orbits` against the rate.

    Rates whose run diverged are marked by a row of ticks along the bottom in the palette's second colour
    (vermillion, ``#D55E00``; a darker red in presenter mode), the first one named in the legend. ``threshold``
    draws a vertical line (e.g. ``2 / curvature``). Returns the axes. Example: ``plot_orbits(descent.gd_orbits(...))``
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    from matplotlib.lines import Line2D

    lrs = np.repeat(orbits.lrs, orbits.late.shape[1])
    vals = orbits.late.ravel()
    ok = np.isfinite(vals)
    c = color_ or color(0)
    ax.scatter(lrs[ok], vals[ok], s=0.8, color=c, lw=0)
    if ylim is not None:
        ax.set_ylim(*ylim)
    handles = [Line2D([], [], marker="o", ms=4, ls="none", color=c, label="late iterates")]
    div = orbits.diverged_at >= 0
    if div.any():
        lo = ax.get_ylim()[0]
        ax.plot(orbits.lrs[div], np.full(div.sum(), lo), "|", color=color(1), ms=10, mew=1, clip_on=False)
        handles.append(Line2D([], [], marker="|", ms=8, mew=1.5, ls="none", color=color(1),
                              label=f"diverged (first at lr = {orbits.lrs[div][0]:.3g})"))
    if threshold is not None:
        handles.append(ax.axvline(threshold, color="0.3", ls="--", lw=1, label=f"lr = {threshold:.3g}"))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("late iterates $x_t$")
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, loc="best", fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax


def plot_basins(surface, basin_map, ax=None, *, title: str = ""):
    """The 1D basin map of :func:`lecture_utils.basin_maps.basin_map_1d`: the curve ``f`` with each start point coloured by
    the minimum it reaches (grey: none; vermillion, the palette's second colour: diverged). Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    xs = basin_map.x0s
    fx = surface.value(xs)
    ax.plot(xs, fx, color="0.5", lw=1, zorder=1)
    for k, m in enumerate(basin_map.minima):
        sel = basin_map.labels == k
        if sel.any():
            ax.scatter(xs[sel], fx[sel], s=9, color=color(k + 2), lw=0, label=f"reaches $x^* = {m:.2f}$", zorder=2)
        ax.plot([m], [surface.value(m)], marker="*", ms=13, color=color(k + 2), mec="black", ls="none", zorder=3)
    for lab, name, col in ((-1, "no minimum reached", "0.6"), (-2, "diverged", color(1))):
        sel = basin_map.labels == lab
        if sel.any():
            ax.scatter(xs[sel], fx[sel], s=9, color=col, lw=0, label=name, zorder=2)
    ax.set_xlabel("start point $x_0$")
    ax.set_ylabel("$f(x_0)$")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize=8, markerscale=1.5)
    ax.grid(True, alpha=0.3)
    return ax
