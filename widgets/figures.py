"""Figures and canvases: ipympl's live figure for widgets, figures outside pyplot for static pictures, PNG bytes,
and the width of the notebook column every figure must fit.

A widget draws on :func:`live_figure` when ipympl's backend is active (:func:`ipympl_active`) and on
:func:`new_figure` otherwise; a static figure next to a widget is a :func:`new_figure` shown with
:func:`show_png` (it survives PDF and website export). This module also holds the one workaround for
ipympl's canvas (:func:`send_first_frame`, with :func:`front_end_pending`), the on-demand constrained layout
of the widgets (:class:`OnDemandLayout`) and the column width (:func:`column_width`): a live canvas has a
fixed size in pixels, so a widget's default figure is made to fit the column (:func:`fit_figsize`), and a
pyplot figure too wide for it is shown as a picture that shrinks to the column (:func:`canvas_bundle`).

Example::

    from widgets.figures import new_figure, show_png
    fig = new_figure((6, 3)); ax = fig.subplots(); ax.plot([0, 1]); show_png(fig)
"""
from __future__ import annotations

import base64
import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

__all__ = ["ipympl_active", "whole_pixels", "live_figure", "new_figure", "show_png", "png_bytes", "rgb_png",
           "front_end_pending", "send_first_frame", "column_width", "fit_figsize", "canvas_bundle",
           "OnDemandLayout", "COLUMN_PX", "FIGURE_CHROME_PX", "FIGURE_MARGIN_PX"]

#: Width in CSS pixels of a JupyterLab 4 notebook's output column on a 1280-pixel-wide screen with the file
#: browser open (JupyterLab's default layout), measured in chromium by ``tests/browser``. With the side bar
#: closed the same width is left on a 1024-pixel screen.
COLUMN_PX = 848
#: What ipympl adds around a canvas (its figure element's border and padding), in CSS pixels.
FIGURE_CHROME_PX = 8
#: Room left free at the right of a widget's figure.
FIGURE_MARGIN_PX = 20
_column = {"px": COLUMN_PX}


def column_width(px: int | None = None) -> int:
    """The width (CSS pixels) of the notebook column the figures are made for; ``column_width(600)`` sets it.

    Widgets built afterwards make their default figure fit it, and pyplot figures wider than it are shown as
    pictures that shrink to it. The default, :data:`COLUMN_PX`, is JupyterLab's column on a 1280-pixel screen
    with the file browser open. Example: ``column_width(590)`` (a 1024 x 768 projector, file browser open)
    """
    if px is not None:
        if isinstance(px, bool) or not isinstance(px, (int, np.integer)) or not 300 <= int(px) <= 4000:
            raise ValueError(f"the column width must be a whole number of pixels from 300 to 4000, got {px!r}")
        _column["px"] = int(px)
    return _column["px"]


def fit_figsize(figsize, dpi: float = 100.0):
    """``figsize`` (inches) narrowed, if need be, so the figure and ipympl's frame fit the column with a margin.

    The height is kept (text keeps its size; constrained layout narrows the panels). Example:
    ``fit_figsize((10, 4))`` -> ``(8.2, 4.0)`` at the default column width.
    """
    w_in, h_in = (float(v) for v in figsize)
    max_in = (column_width() - FIGURE_CHROME_PX - FIGURE_MARGIN_PX) / float(dpi)
    return (min(w_in, max_in), h_in)


def ipympl_active() -> bool:
    """True when matplotlib's current backend is ipympl (``%matplotlib widget`` / ``%matplotlib ipympl``)."""
    backend = str(matplotlib.get_backend()).lower()
    return "ipympl" in backend or backend in ("widget", "module://ipympl.backend_nbagg")


def whole_pixels(figsize, dpi: float) -> tuple[float, float]:
    """``figsize`` in inches, nudged so that inches times ``dpi`` is never just under a whole number of pixels.

    ``8.2 * 100`` is ``819.999...`` in floating point; ipympl's front end makes its canvas ``int(width)``
    pixels wide, 819, and the browser stretches that canvas to the 820 CSS pixels of its box, blurring every
    line. Example: ``whole_pixels((8.2, 4.0), 100)[0] * 100 >= 820``.
    """
    out = []
    for v in figsize:
        px = float(v) * dpi
        out.append((round(px) + 1e-6) / dpi if abs(px - round(px)) < 1e-6 else float(v))
    return tuple(out)


def live_figure(figsize) -> Figure:
    """A pyplot figure on ipympl's canvas widget, made with interactive mode off (so it is not shown twice), with
    the canvas's header, footer and resize handle hidden and its toolbar on the left.

    Interactive mode is switched with ``matplotlib.interactive`` rather than ``plt.ioff()``: the latter also
    unhooks pyplot from the IPython shell, and fails when the shell it was hooked to is gone.
    """
    import matplotlib.pyplot as plt

    was_interactive = matplotlib.is_interactive()
    matplotlib.interactive(False)
    try:
        fig = plt.figure(figsize=whole_pixels(figsize, matplotlib.rcParams["figure.dpi"]))
    finally:
        matplotlib.interactive(was_interactive)
    canvas = fig.canvas
    for attr, val in (("header_visible", False), ("footer_visible", False), ("resizable", False),
                      ("toolbar_position", "left")):
        try:
            setattr(canvas, attr, val)
        except Exception:  # older ipympl: the layout still works without these cosmetics
            pass
    return fig


def new_figure(figsize=(8.0, 4.0), *, layout: str | None = "constrained") -> Figure:
    """A matplotlib Figure outside pyplot: whatever the backend (ipympl included) it never shows itself.

    Pair it with :func:`show_png` for the static figures next to a widget (they survive PDF and website export).
    Example: ``fig = new_figure((6, 3)); ax = fig.subplots(); ax.plot([0, 1]); show_png(fig)``
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: float | None = None) -> bytes:
    """``fig`` saved as PNG bytes on a white background (everything drawn, animated artists included)."""
    with io.BytesIO() as buf:
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white")
        return buf.getvalue()


def show_png(fig, dpi: float = 100):
    """Display ``fig`` as a PNG image in the notebook (a static picture, not a live canvas)."""
    from IPython.display import Image, display

    display(Image(data=png_bytes(fig, dpi)))


def rgb_png(canvas, compress_level: int = 1) -> bytes:
    """The Agg buffer of ``canvas`` as RGB PNG bytes, as last drawn (fast compression: it travels to a local
    browser)."""
    from PIL import Image

    rgba = np.asarray(canvas.buffer_rgba())
    with io.BytesIO() as buf:
        Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=compress_level)
        return buf.getvalue()


def canvas_bundle(canvas):
    """How a pyplot figure on ipympl's canvas is shown (registered by :func:`widgets.setup.notebook_setup`).

    A canvas that fits the column is shown live, as ipympl shows it. One wider than the column would be cut
    at the right edge (a live canvas has a fixed size in pixels, and scaling it in the browser would move
    every click), so it is shown as a picture instead, a PNG of the figure at its own size, which the notebook
    shrinks to the column like any image (its text shrinks with it: a figure made for the column reads
    better). Returns the display data (a dict of MIME types).
    """
    fig = canvas.figure
    ratio = getattr(canvas, "device_pixel_ratio", 1.0) or 1.0
    width_px = fig.get_figwidth() * fig.dpi / ratio
    if width_px <= column_width() - FIGURE_CHROME_PX:
        return canvas._repr_mimebundle_()
    png = png_bytes(fig, dpi=fig.dpi / ratio)
    text = (f"<Figure {width_px:.0f} x {fig.get_figheight() * fig.dpi / ratio:.0f} px, wider than the "
            f"{column_width()} px column: shown as a picture>")
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}


class OnDemandLayout(ConstrainedLayoutEngine):
    """Constrained layout that runs only when asked (:attr:`pending`, set by ``Widget.relayout``), not on
    every draw.

    Laying out measures every tick label: it is the most expensive part of a draw, and the layout only
    changes with titles, fonts or the view.
    """

    def __init__(self):
        super().__init__(h_pad=0.05, w_pad=0.05)
        self.pending = True

    def execute(self, fig):
        if self.pending:
            super().execute(fig)
            self.pending = False


def front_end_pending(canvas) -> bool:
    """True while ipympl's front end has not said it is ready (before the view exists, or during Run All).

    ipympl keeps ``syncing_data_url`` True until the browser sends ``initialized``; a draw in that state makes
    ipympl 0.10 sync the frame as a PNG *without* its ``data:`` prefix in its ``_data_url``, which JupyterLab
    shows as a blank 0 x 0 figure ("Error setting state ... broken"). So live widgets only update their
    artists then; once ready, the front end asks for a frame, and that draw shows the current state. Without a
    front end (nbval, nbconvert) this stays True, and code-driven changes cost no drawing at all. False for
    any canvas that is not ipympl's.
    """
    return bool(getattr(canvas, "syncing_data_url", False))


def send_first_frame(fig: Figure) -> bytes:
    """Give ipympl's view of ``fig`` a correct first picture and size before its front end is ready.

    The one place that writes ipympl's private canvas state. It works around two behaviours of ipympl 0.10:
    a canvas inside an ``ipywidgets.VBox`` never gets its own ``Canvas._repr_mimebundle_`` call (which is what
    sets ``_data_url`` and ``_size`` for a figure displayed alone), so its view starts at 0 x 0 with no image;
    and a draw before the front end sends ``initialized`` syncs ``_data_url`` as a PNG without its ``data:``
    prefix (see :func:`front_end_pending`). So the picture is made with ``savefig`` (through Agg directly:
    nothing is sent as a broken binary frame) and set here as a proper data URL, with the size in CSS pixels.
    Returns the PNG (the widget's picture in the notebook file, too).
    """
    canvas = fig.canvas
    png = png_bytes(fig, dpi=fig.dpi)
    canvas._data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    ratio = getattr(canvas, "device_pixel_ratio", 1.0) or 1.0
    w_in, h_in = fig.get_size_inches()
    canvas._size = (w_in * fig.dpi / ratio, h_in * fig.dpi / ratio)
    return png
