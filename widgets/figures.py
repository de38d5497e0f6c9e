"""Figures and canvases: ipympl's live figure for widgets, figures outside pyplot for static pictures, PNG bytes.

A widget draws on :func:`live_figure` when ipympl's backend is active (:func:`ipympl_active`) and on
:func:`new_figure` otherwise; a static figure next to a widget is a :func:`new_figure` shown with
:func:`show_png` (it survives PDF and website export). This module also holds the one workaround for
ipympl's canvas (:func:`send_first_frame`, with :func:`front_end_pending`).

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

__all__ = ["ipympl_active", "live_figure", "new_figure", "show_png", "png_bytes", "rgb_png", "front_end_pending",
           "send_first_frame"]


def ipympl_active() -> bool:
    """True when matplotlib's current backend is ipympl (``%matplotlib widget`` / ``%matplotlib ipympl``)."""
    backend = str(matplotlib.get_backend()).lower()
    return "ipympl" in backend or backend in ("widget", "module://ipympl.backend_nbagg")


def live_figure(figsize) -> Figure:
    """A pyplot figure on ipympl's canvas widget, made under ``plt.ioff()`` (so it is not shown twice), with
    the canvas's header, footer and resize handle hidden and its toolbar on the left."""
    import matplotlib.pyplot as plt

    with plt.ioff():
        fig = plt.figure(figsize=figsize)
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


def send_first_frame(fig: Figure) -> None:
    """Give ipympl's view of ``fig`` a correct first picture and size before its front end is ready.

    The one place that writes ipympl's private canvas state. It works around two behaviours of ipympl 0.10:
    a canvas inside an ``ipywidgets.VBox`` never gets its own ``Canvas._repr_mimebundle_`` call (which is what
    sets ``_data_url`` and ``_size`` for a figure displayed alone), so its view starts at 0 x 0 with no image;
    and a draw before the front end sends ``initialized`` syncs ``_data_url`` as a PNG without its ``data:``
    prefix (see :func:`front_end_pending`). So the picture is made with ``savefig`` (through Agg directly:
    nothing is sent as a broken binary frame) and set here as a proper data URL, with the size in CSS pixels.
    """
    canvas = fig.canvas
    png = png_bytes(fig, dpi=fig.dpi)
    canvas._data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    ratio = getattr(canvas, "device_pixel_ratio", 1.0) or 1.0
    w_in, h_in = fig.get_size_inches()
    canvas._size = (w_in * fig.dpi / ratio, h_in * fig.dpi / ratio)
