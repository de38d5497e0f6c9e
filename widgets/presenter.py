"""Presenter mode: one call restyles every figure for a projector, and one call restyles it back.

Introduced in lecture 00 for instructors. ``presenter_mode(True)`` sets large fonts, thick lines and
high-contrast colours in matplotlib's rcParams (for figures made from now on) and restyles every live
course widget; ``presenter_mode(False)`` restores the saved settings and restyles the widgets back. This
module holds the whole of it: the rcParams, the CSS rule that enlarges a widget's controls, the registry
of live widgets (:func:`track`) and :func:`restyle_figure`, which rescales an existing figure's text and
lines and swaps its palette colours.

Example::

    from widgets import presenter_mode
    presenter_mode()        # before class
    presenter_mode(False)   # back to the normal style
"""
from __future__ import annotations

import math
import weakref

import matplotlib
import matplotlib.axis
import matplotlib.legend
import numpy as np
from cycler import cycler

from . import style

__all__ = ["presenter_mode", "PRESENTER_RC", "PRESENTER_CLASS", "PRESENTER_CONTROLS_ZOOM",
           "PRESENTER_CSS", "PRESENTER_MIN_TEXT_PX", "track", "untrack", "restyle_figure", "raise_small_text"]

#: Font sizes scaled by ``style.PRESENTER_FONT_SCALE`` from their normal values (so widgets made in presenter
#: mode shrink back exactly).
_FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
              "legend.fontsize", "figure.titlesize", "legend.title_fontsize")
#: rcParams of presenter mode besides the font sizes (the normal values are saved when it is switched on).
PRESENTER_RC = {
    "lines.linewidth": 1.5 * style.PRESENTER_LINE_SCALE,
    "lines.markersize": 9.0,
    "axes.linewidth": 1.6,
    "xtick.major.width": 1.4,
    "ytick.major.width": 1.4,
    "grid.linewidth": 1.2,
    "axes.prop_cycle": cycler(color=list(style.PRESENTER_PALETTE)),
    "axes.edgecolor": "black",
    "text.color": "black",
    "axes.labelcolor": "black",
    "xtick.color": "black",
    "ytick.color": "black",
}
#: CSS class of a widget's container while presenter mode is on, and the rule that enlarges its controls
#: (the first child): a zoom scales labels, readouts, handles and the fixed widths together, so the rows
#: keep their layout. The figure is not zoomed (it is redrawn with larger fonts instead).
PRESENTER_CLASS = "lecture-presenter"
PRESENTER_CONTROLS_ZOOM = 1.3
PRESENTER_CSS = (f"<style>.lecture-widget.{PRESENTER_CLASS} > :first-child "
                 f"{{zoom: {PRESENTER_CONTROLS_ZOOM};}}</style>")
#: The smallest text in a figure in presenter mode, in CSS pixels: 1/45 of a 720-pixel projector.
PRESENTER_MIN_TEXT_PX = 16.0
_SAVED: dict = {}
#: Texts and axes whose size :func:`raise_small_text` raised, with the size they had (put back on the way out).
_RAISED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_TO_PRESENTER = {a.lower(): b for a, b in zip(style.PALETTE, style.PRESENTER_PALETTE)}
_FROM_PRESENTER = {b.lower(): a for a, b in zip(style.PALETTE, style.PRESENTER_PALETTE)}
_LIVE: "weakref.WeakSet" = weakref.WeakSet()


def track(widget) -> None:
    """Restyle ``widget`` (anything with ``set_presenter(on)`` and ``show_error``) when presenter mode changes.

    Held weakly: a widget nobody refers to any more drops out by itself. Called by every ``Widget``."""
    _LIVE.add(widget)


def untrack(widget) -> None:
    """Stop restyling ``widget`` (it was closed)."""
    _LIVE.discard(widget)


def _points(key):
    """An rcParams font size in points (``'large'`` resolved against ``font.size``); None if unset."""
    from matplotlib.font_manager import FontProperties

    val = matplotlib.rcParams[key]
    if val is None:
        return None
    return FontProperties(size=val).get_size_in_points()


def presenter_mode(on: bool = True) -> bool:
    """Switch every figure (existing course widgets and figures made from now on) to projector settings.

    Args:
        on: ``True`` for large fonts, thick lines and high-contrast colours; ``False`` restores the normal
            style saved when presenter mode was switched on.
    Returns:
        the new state.
    Example: ``presenter_mode(True)``
    """
    if not isinstance(on, bool):
        raise TypeError(f"on must be True or False, got {on!r}")
    if on and not style.is_presenter():
        _SAVED.clear()
        _SAVED.update({k: matplotlib.rcParams[k] for k in (*PRESENTER_RC, *_FONT_KEYS)})
        sizes = {k: _points(k) * style.PRESENTER_FONT_SCALE for k in _FONT_KEYS if _points(k) is not None}
        matplotlib.rcParams.update(PRESENTER_RC)
        matplotlib.rcParams.update(sizes)
    elif not on and style.is_presenter():
        matplotlib.rcParams.update(_SAVED)
        _SAVED.clear()
    style.set_presenter_flag(on)
    for w in list(_LIVE):
        try:
            w.set_presenter(on)
        except Exception as exc:  # one broken widget must not block the others; it shows why
            w.show_error(exc, where="presenter_mode")
    return on


def _min_points(fig, min_px: float) -> float:
    ratio = getattr(fig.canvas, "device_pixel_ratio", 1.0) or 1.0
    return min_px * 72.0 / (fig.dpi / ratio)


def raise_small_text(fig, min_px: float = PRESENTER_MIN_TEXT_PX) -> bool:
    """Raise every visible text of ``fig`` smaller than ``min_px`` CSS pixels to that size (presenter mode: text
    a widget set small on purpose, a legend at ``fontsize=7``, must still be readable from the back row).

    The sizes they had are kept and put back by ``restyle_figure(fig, False, ...)``. Returns True when a size
    changed (the figure must be laid out again). Example: ``raise_small_text(w.fig)``
    """
    from matplotlib.text import Text

    floor = _min_points(fig, min_px)
    changed = False
    for t in fig.findobj(Text):
        size = t.get_fontsize()
        if size < floor - 1e-9 and t.get_text():
            _RAISED.setdefault(t, size)
            t.set_fontsize(floor)
            changed = True
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis) + ((ax.zaxis,) if hasattr(ax, "zaxis") else ()):
            ticks = axis.get_major_ticks()
            if ticks and ticks[0].label1.get_fontsize() < floor - 1e-9:
                _RAISED.setdefault(axis, ticks[0].label1.get_fontsize())
                axis.set_tick_params(which="both", labelsize=floor)
                changed = True
    return changed


def _lower_raised_text(fig) -> None:
    """Put back the sizes :func:`raise_small_text` raised in ``fig`` (before the font ratio is undone)."""
    for obj, size in list(_RAISED.items()):
        if isinstance(obj, matplotlib.axis.Axis):
            if obj.axes is not None and obj.axes.figure is fig:
                obj.set_tick_params(which="both", labelsize=size)
                del _RAISED[obj]
        elif obj.get_figure(root=True) is fig:
            obj.set_fontsize(size)
            del _RAISED[obj]


def _swap(cmap, c):
    return cmap[c.lower()] if isinstance(c, str) and c.lower() in cmap else None


def restyle_figure(fig, on: bool, font_ratio: float, line_ratio: float) -> None:
    """Rescale an existing figure for presenter mode (``on``) or back: every text by ``font_ratio``, every line
    and line collection (contour sets excepted) by ``line_ratio`` (markers by its square root), and the
    palette colours of lines and legend handles swapped for the other palette's.

    Example: ``restyle_figure(fig, True, style.PRESENTER_FONT_SCALE, style.PRESENTER_LINE_SCALE)``
    """
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    cmap = _TO_PRESENTER if on else _FROM_PRESENTER
    if not on:
        _lower_raised_text(fig)
    for t in fig.findobj(Text):
        t.set_fontsize(t.get_fontsize() * font_ratio)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis) + ((ax.zaxis,) if hasattr(ax, "zaxis") else ()):
            ticks = axis.get_major_ticks()
            if ticks:  # already scaled above; new ticks get the same size
                axis.set_tick_params(which="both", labelsize=ticks[0].label1.get_fontsize())
        for line in ax.get_lines():
            line.set_linewidth(line.get_linewidth() * line_ratio)
            line.set_markersize(line.get_markersize() * math.sqrt(line_ratio))
            for get, put in ((line.get_color, line.set_color), (line.get_markerfacecolor, line.set_markerfacecolor),
                             (line.get_markeredgecolor, line.set_markeredgecolor)):
                new = _swap(cmap, get())
                if new is not None:
                    put(new)
        for coll in ax.collections:
            if isinstance(coll, Collection) and not hasattr(coll, "levels"):
                lw = coll.get_linewidths()
                if len(lw):
                    coll.set_linewidths(np.asarray(lw) * line_ratio)
    for legend in fig.findobj(matplotlib.legend.Legend):
        for handle in getattr(legend, "legend_handles", []):
            if isinstance(handle, Line2D):
                handle.set_linewidth(handle.get_linewidth() * line_ratio)
                new = _swap(cmap, handle.get_color())
                if new is not None:
                    handle.set_color(new)
