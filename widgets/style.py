"""The course's look: the colour palettes, the presenter flag with its scales, and the colour in force.

Every module that picks a colour calls :func:`color` (or :func:`colors`), which reads the presenter flag, so a
widget built in presenter mode gets the high-contrast palette. Only :func:`widgets.presenter.presenter_mode`
switches the flag (:func:`set_presenter_flag`); this module imports no other module of the package, so every
widget module can import it.

Example::

    from widgets.style import color
    ax.plot(xs, ys, color=color(0))
"""
from __future__ import annotations

__all__ = ["PALETTE", "PRESENTER_PALETTE", "PRESENTER_FONT_SCALE", "PRESENTER_LINE_SCALE", "DIVERGED_COLOR",
           "UNSETTLED_COLOR", "color", "colors", "is_presenter", "set_presenter_flag"]

#: Okabe-Ito colours: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: Saturated, darker colours that survive a washed-out projector.
PRESENTER_PALETTE = ("#0033CC", "#CC0000", "#007A00", "#9900AA", "#B35900", "#007C99", "#000000", "#8C6D00")
#: Font and line scale of presenter mode relative to the normal style.
PRESENTER_FONT_SCALE = 1.45
PRESENTER_LINE_SCALE = 1.8
#: Colours of outcomes on the many-runs maps: a run that diverged, and one that ended near no critical point.
DIVERGED_COLOR = "#7f0000"
UNSETTLED_COLOR = "#d9d9d9"

_presenter = False


def is_presenter() -> bool:
    """True while presenter mode is on."""
    return _presenter


def set_presenter_flag(on: bool) -> None:
    """Record whether presenter mode is on (called by :func:`widgets.presenter.presenter_mode` only)."""
    global _presenter
    _presenter = bool(on)


def colors() -> tuple:
    """The current colour cycle: :data:`PALETTE`, or :data:`PRESENTER_PALETTE` in presenter mode."""
    return PRESENTER_PALETTE if _presenter else PALETTE


def color(i: int) -> str:
    """The ``i``-th colour of the current cycle (wraps around). Example: ``color(0)`` -> ``'#0072B2'``"""
    pal = colors()
    return pal[int(i) % len(pal)]
