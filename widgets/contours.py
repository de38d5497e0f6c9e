"""Contour levels: the one rule every contour plot of the course uses, with two spacings.

A loss surface's values span decades (Rosenbrock goes from 0 to thousands), so evenly spaced levels crowd
the walls and leave the valley empty. ``spacing="log"`` puts the levels at log-spaced heights above the
minimum, dense near the bottom where the paths end (lectures 04-06); ``spacing="quantile"`` puts them at
quantiles of the grid's values, so every band covers a similar area whatever the range (the explorers and
the basin maps). :func:`filled_contours` draws the explorers' filled and line contours of any grid, even one
whose values are near the limits of a float or partly missing.

Example::

    from widgets.contours import contour_levels
    X, Y, Z = surface.grid(160)
    ax.contour(X, Y, Z, levels=contour_levels(Z), colors="0.6", linewidths=0.6)
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["contour_levels", "filled_contours"]


def contour_levels(Z, num: int = 20, *, spacing: str = "log", low: float | None = None,
                   first: float | None = None) -> np.ndarray:
    """Increasing contour levels for the grid values ``Z`` (non-finite values are ignored).

    Args:
        Z: grid values, any shape.
        num: number of levels (``quantile``: at most, repeated quantiles are merged).
        spacing: ``"log"``: ``low + geomspace(first, top, num)`` where ``top = max(Z) - low``; ``"quantile"``:
            the quantiles of ``Z`` at ``linspace(0, 0.97, num) ** 1.5`` (ten even levels if fewer than 3 differ).
        low: the floor of the log spacing (default ``min(Z)``; pass the true minimum when it is known).
        first: the first height above ``low`` as a fraction of ``top`` (default: the 0.5% quantile of the
            heights, at least ``1e-6`` of ``top``).
    Returns:
        ``(k,)`` increasing levels. Example: ``contour_levels(Z, 14, low=loss_min, first=1e-3)``
    """
    z = np.asarray(Z, dtype=float)
    z = z[np.isfinite(z)]
    if spacing == "quantile":
        levels = np.unique(np.quantile(z, np.linspace(0.0, 0.97, num) ** 1.5))
        if levels.size < 3:
            lo, hi = float(z.min()), float(z.max())
            levels = np.linspace(lo, hi if hi > lo else lo + 1.0, 10)
        return levels
    if spacing != "log":
        raise ValueError(f"spacing must be 'log' or 'quantile', got {spacing!r}")
    low = float(z.min()) if low is None else float(low)
    d = z - low
    top = float(d.max())
    if top <= 0:
        return np.array([low, low + 1.0])
    start = max(float(np.quantile(d, 0.005)), top * 1e-6) if first is None else first * top
    return low + np.geomspace(start, top, num)


def filled_contours(ax, X, Y, Z, *, name: str = "the surface", kept: str | None = None) -> list:
    """Filled contours (viridis, translucent) and thin line contours of ``Z`` on ``ax``, at quantile levels.

    Non-finite values are drawn at the top level; values near the float limits are scaled near 1 first
    (contours depend only on the order of the values, and matplotlib's arithmetic on the levels would
    overflow). Returns the contour sets; on failure none is left on ``ax`` and a ``ValueError`` names ``name``
    (and ``kept``, the surface that stays shown). Example: ``filled_contours(ax, X, Y, Z)``
    """
    finite = Z[np.isfinite(Z)]
    levels = contour_levels(Z, 22, spacing="quantile")
    Zf = np.where(np.isfinite(Z), Z, finite.max())
    scale = float(np.abs(finite).max())
    if scale > 1e100 or 0.0 < scale < 1e-100:
        Zf, levels = Zf / scale, levels / scale
    made = []
    try:
        with warnings.catch_warnings():
            # A flat surface has no contour line inside its (single-valued) range: an empty plot, fine.
            warnings.filterwarnings("ignore", message="No contour levels were found")
            made.append(ax.contourf(X, Y, Zf, levels=levels, cmap="viridis", alpha=0.45, extend="both", zorder=1))
            made.append(ax.contour(X, Y, Zf, levels=levels, colors="0.25", linewidths=0.5, alpha=0.6, zorder=2))
    except Exception as exc:
        for cs in made:
            cs.remove()
        tail = f"; the surface stays {kept!r}" if kept is not None else ""
        raise ValueError(f"the contours of {name!r} cannot be drawn ({type(exc).__name__}: {exc}){tail}") from exc
    return made
