"""Axis helpers of the widgets: limits that stay put while the data fit, and a readable title for a surface.

Stable limits let a slider move be blitted instead of redrawn (:func:`nice_limits`); :func:`surface_title`
shows a surface's formula, or a formula a student typed as typed.

Example::

    ax.set_ylim(*nice_limits(lo, hi, ax.get_ylim()))
    ax.set_title(surface_title(surfaces.get("rosenbrock")))
"""
from __future__ import annotations

import math

from lecture_utils import surfaces

__all__ = ["nice_limits", "surface_title"]


def nice_limits(lo: float, hi: float, current=None, *, log: bool = False):
    """Axis limits covering ``[lo, hi]`` with a margin, kept unchanged while the data fit comfortably.

    Keeping limits stable lets a slider move be blitted instead of redrawn. On a log axis the limits are
    whole decades. Returns ``(low, high)``.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return current if current is not None else ((1e-12, 1.0) if log else (0.0, 1.0))
    if log:
        lo_d = math.floor(math.log10(max(lo, 1e-300)))
        hi_d = math.ceil(math.log10(max(hi, 1e-300)))
        if hi_d <= lo_d:
            hi_d = lo_d + 1
        new = (10.0 ** lo_d, 10.0 ** hi_d)
        if current is not None:
            c_lo, c_hi = current
            # Keep the current decades while they contain the data and waste at most 3 decades per side.
            if c_lo <= new[0] and c_hi >= new[1] and c_lo >= new[0] / 1e3 and c_hi <= new[1] * 1e3:
                return current
        return new
    if hi <= lo:
        pad = max(abs(lo), 1.0) * 0.05
        lo, hi = lo - pad, hi + pad
    span = hi - lo
    new = (lo - 0.06 * span, hi + 0.06 * span)
    if current is not None:
        c_lo, c_hi = current
        c_span = c_hi - c_lo
        if c_lo <= lo and c_hi >= hi and c_span <= 2.0 * span * 1.12:
            return current
    return new


def surface_title(s: surfaces.Surface) -> str:
    """A readable title: the surface's LaTeX formula, or a typed formula shown as typed (``x**2 - y**2``)."""
    f = s.formula or s.name
    inner = f[1:-1] if len(f) > 1 and f.startswith("$") and f.endswith("$") else None
    if inner is not None and "*" in inner:
        # A formula typed by a student: mathtext would turn ** into two stars; show the text itself.
        f = inner
    if len(f) > 70:
        f = s.name if len(s.name) <= 70 else s.name[:67] + "..."
    if not f.startswith("$"):
        f = f.replace("$", r"\$")
        args = "x" if s.dim == 1 else "x, y"
        if "=" not in f and any(ch in f for ch in "+-*/^()"):
            f = f"f({args}) = {f}"
    return f
