"""Presenter mode: one call restyles every figure for a projector, and one call restyles it back.

Introduced in lecture 00 for instructors. ``presenter_mode(True)`` sets large fonts, thick lines and
high-contrast colours in matplotlib's rcParams (for figures made from now on) and restyles every live
course widget; ``presenter_mode(False)`` restores the saved settings and restyles the widgets back.

Example::

    from widgets import presenter_mode
    presenter_mode()        # before class
    presenter_mode(False)   # back to the normal style
"""
from __future__ import annotations

import matplotlib
from cycler import cycler

from . import base

__all__ = ["presenter_mode", "is_presenter", "PRESENTER_RC"]

#: Font sizes scaled by ``base.PRESENTER_FONT_SCALE`` from their normal values (so widgets made in presenter
#: mode shrink back exactly).
_FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
              "legend.fontsize", "figure.titlesize", "legend.title_fontsize")
#: rcParams of presenter mode besides the font sizes (the normal values are saved when it is switched on).
PRESENTER_RC = {
    "lines.linewidth": 1.5 * base.PRESENTER_LINE_SCALE,
    "lines.markersize": 9.0,
    "axes.linewidth": 1.6,
    "xtick.major.width": 1.4,
    "ytick.major.width": 1.4,
    "grid.linewidth": 1.2,
    "axes.prop_cycle": cycler(color=list(base.PRESENTER_PALETTE)),
    "axes.edgecolor": "black",
    "text.color": "black",
    "axes.labelcolor": "black",
    "xtick.color": "black",
    "ytick.color": "black",
}
_SAVED: dict = {}


def _points(key):
    """An rcParams font size in points (``'large'`` resolved against ``font.size``); None if unset."""
    from matplotlib.font_manager import FontProperties

    val = matplotlib.rcParams[key]
    if val is None:
        return None
    return FontProperties(size=val).get_size_in_points()


def is_presenter() -> bool:
    """True while presenter mode is on."""
    return base._STATE["presenter"]


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
    if on and not base._STATE["presenter"]:
        _SAVED.clear()
        _SAVED.update({k: matplotlib.rcParams[k] for k in (*PRESENTER_RC, *_FONT_KEYS)})
        sizes = {k: _points(k) * base.PRESENTER_FONT_SCALE for k in _FONT_KEYS if _points(k) is not None}
        matplotlib.rcParams.update(PRESENTER_RC)
        matplotlib.rcParams.update(sizes)
    elif not on and base._STATE["presenter"]:
        matplotlib.rcParams.update(_SAVED)
        _SAVED.clear()
    base._STATE["presenter"] = on
    for w in list(base._REGISTRY):
        try:
            w.set_presenter(on)
        except Exception as exc:  # one broken widget must not block the others; it shows why
            w.show_error(exc, where="presenter_mode")
    return on
