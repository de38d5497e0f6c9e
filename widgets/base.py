"""The base class of every course widget: figure, controls, drawing, status line, presenter mode, closing.

Introduced in lecture 01 and used by every interactive figure after it. A :class:`Widget` owns a matplotlib
``fig`` built with interactive mode off, a dict ``controls`` of ipywidgets by name, an ``output`` that shows any
error raised inside a callback (:func:`callback`, :mod:`widgets.errors`), and a ``status`` line (an
``ipywidgets.HTML`` with CSS class ``lecture-status``). With the ipympl backend active the canvas is ipympl's
live Canvas widget; otherwise the figure is redrawn to a PNG ``ipywidgets.Image`` after every change, with a
one-line notice saying so. How it is shown (one container, and a picture of the figure for readers without a
kernel) is :mod:`widgets.display`; saving and restoring its settings (prepared demos) is :mod:`widgets.state`.
Controls are made with :mod:`widgets.controls`, colours come from :mod:`widgets.style`, the canvas and the
column width from :mod:`widgets.figures`, and presenter mode restyles through :mod:`widgets.presenter`.

Drawing follows the house style: artists are created once and updated; artists registered with
:meth:`Widget.animate` are redrawn by blitting (restore the cached background, draw only them), and the
background is refreshed on each full draw (``draw_event``).

Tests and instructors drive a widget through public means only: set ``controls[name].value`` (or
:meth:`Widget.set`), :meth:`Widget.click` the figure (the same handlers as a mouse click), read
:attr:`Widget.error`, :attr:`Widget.status_text`, :attr:`Widget.stale` and the artists. :meth:`Widget.close`
frees every ipywidget model the widget made (controls, boxes, labels, their layouts and styles), disconnects
its observers and figure callbacks, closes the figure and drops the stored runs.

Example::

    w = Explorer2D("rosenbrock"); w.controls["lr"].value = 1e-3; w.show()
"""
from __future__ import annotations

import html
from contextlib import contextmanager

import ipywidgets
import numpy as np

from . import figures, presenter, style
from .display import Display
from .errors import ErrorOutput, callback
from .models import close_models
from .state import SavedState

__all__ = ["Widget", "callback", "close_models", "STATUS_CLASS"]

#: CSS class of every widget's status line (browser tests find it by this class).
STATUS_CLASS = "lecture-status"


class Widget(Display, SavedState, ErrorOutput):
    """Base class: owns ``fig``, ``controls``, ``output`` (errors), ``status`` and the displayed layout.

    Subclasses build their axes and artists on ``self.fig``, fill ``self.controls``, register per-frame
    artists with :meth:`animate` and call :meth:`redraw` after changing them (``full=True`` when something
    not animated changed: limits, titles, a new contour).

    Args:
        figsize: figure size in inches; by default the class's own ``figsize``, narrowed to fit the notebook
            column (:func:`widgets.figures.column_width`: JupyterLab at 1280 px with the file browser open).
        live: ``None`` (default) uses ipympl's live canvas when the ipympl backend is active, else static
            PNG images; ``False`` forces static images.
    """

    figsize = (8.2, 4.0)

    def __init__(self, *, figsize=None, live: bool | None = None):
        if figsize is None:
            figsize = figures.fit_figsize(self.figsize)
        try:
            w_in, h_in = (float(v) for v in figsize)
        except (TypeError, ValueError):
            raise TypeError(f"figsize must be a pair (width, height) in inches, got {figsize!r}") from None
        if not (0 < w_in <= 30 and 0 < h_in <= 30):
            raise ValueError(f"figsize must be positive and at most 30 inches per side, got {figsize!r}")
        if live not in (None, True, False):
            raise TypeError(f"live must be None, True or False, got {live!r}")
        self.live = figures.ipympl_active() if live is None else (bool(live) and figures.ipympl_active())
        # Static images: a figure outside pyplot, so no backend ever shows it a second time.
        self.fig = figures.live_figure((w_in, h_in)) if self.live else figures.new_figure((w_in, h_in), layout=None)
        self._layout_engine = figures.OnDemandLayout()
        self.fig.set_layout_engine(self._layout_engine)
        self.controls: dict[str, ipywidgets.Widget] = {}
        self.output = ipywidgets.Output(layout=ipywidgets.Layout(max_height="160px", overflow="auto"))
        self.status = ipywidgets.HTML(value="")
        self.status.add_class(STATUS_CLASS)
        self.notice = ipywidgets.HTML(value="")
        self.errors: list[str] = []
        self._error_source = None
        self._status_lines: list[str] = []
        self._status_colors = None
        self._animated: list = []
        self._background = None
        self._displayed = False
        self._stale = True
        self._hold = 0
        self._pending_full = False
        self._layout = None
        self._css = None
        self._image = None
        self._closed = False
        self._canvas_cids: list = []
        self._presenter = style.is_presenter()
        self._style_scale = style.PRESENTER_FONT_SCALE if self._presenter else 1.0
        if not self.live:
            # Its natural width, shrinking with a narrower column (a picture has no clicks to keep in place).
            self._image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(
                width=f"{w_in * 100:.0f}px", max_width="100%", height="auto"))
            self.notice.value = ("<i>Static images: the ipympl backend is not active, so the figure is redrawn "
                                 "as a picture after each change (run <code>%matplotlib widget</code> for a live "
                                 "figure you can click).</i>")
        self.connect_canvas("draw_event", self._on_draw_event)
        presenter.track(self)

    # ---- figure --------------------------------------------------------------------------------------
    #: Attributes holding computed data (runs, grids, histories): :meth:`close` drops them.
    _data_attrs: tuple = ()

    def connect_canvas(self, event: str, fn) -> int:
        """Connect ``fn`` to a matplotlib canvas event (``"button_press_event"``); :meth:`close` disconnects it."""
        cid = self.fig.canvas.mpl_connect(event, fn)
        self._canvas_cids.append(cid)
        return cid

    def click(self, x: float, y: float, *, ax=None, coords: str = "data", button: int = 1):
        """Click the figure at ``(x, y)`` as the mouse does: the widget's click handlers get the same
        ``MouseEvent`` a press of ``button`` there would give them (``inaxes``, ``xdata``, ``ydata``).

        Args:
            x, y: the point, in ``ax``'s data coordinates (``coords="data"``) or as fractions of ``ax``
                (``coords="axes"``: ``(0, 0)`` is its lower-left corner, ``(1.2, 0.5)`` lies right of it).
            ax: the axes the coordinates refer to (default ``self.ax``, the widget's main panel).
        Returns the event. Example: ``w.click(0.5, -0.5)`` (Explorer2D: the start point moves there)
        """
        from matplotlib.backend_bases import MouseEvent

        ax = ax if ax is not None else getattr(self, "ax", None)
        if ax is None:
            raise ValueError("click needs ax= (this widget has no main panel self.ax)")
        if coords not in ("data", "axes"):
            raise ValueError(f"coords must be 'data' or 'axes', got {coords!r}")
        transform = ax.transData if coords == "data" else ax.transAxes
        with np.errstate(all="ignore"):  # a point off a log axis maps to NaN pixels: a click on nothing
            px, py = (float(v) for v in transform.transform((float(x), float(y))))
        event = MouseEvent("button_press_event", self.fig.canvas, px, py, button=button)
        self.fig.canvas.callbacks.process("button_press_event", event)
        return event

    def animate(self, *artists):
        """Mark artists that change on every frame: they are blitted over a cached background."""
        for a in artists:
            a.set_animated(True)
            self._animated.append(a)
        return artists[0] if len(artists) == 1 else artists

    def _on_draw_event(self, event):
        canvas = self.fig.canvas
        if canvas.is_saving():  # savefig draws everything itself; the cached background is stale now
            self._background = None
            return
        self._background = canvas.copy_from_bbox(self.fig.bbox)
        self._draw_animated()

    def _draw_animated(self):
        for a in self._animated:
            # An artist on a hidden axes (the 3D view while the contour plot shows) is not on screen.
            if a.get_visible() and a.axes is not None and a.axes.get_visible():
                self.fig.draw_artist(a)

    @contextmanager
    def hold_redraw(self):
        """Batch several changes into one redraw: ``with w.hold_redraw(): ...``."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
            if self._hold == 0 and self._stale:
                self.redraw(full=self._pending_full)

    def redraw(self, full: bool = False):
        """Show the current artists: blit the animated ones, or a full draw when ``full`` or none is cached.

        Nothing is drawn for a static-image widget that is not on screen yet (tests stay fast); it is drawn
        when shown. A live widget whose front end is not ready only keeps its artists up to date
        (:func:`widgets.figures.front_end_pending`).
        """
        self._stale = True
        self._pending_full = self._pending_full or full
        if self._hold:
            return
        if not self.live and not self._displayed:
            return
        if self.live and figures.front_end_pending(self.fig.canvas):
            return  # drawn when the front end asks for its first frame
        self._render(self._pending_full)
        if not self.live:
            self._publish_static()

    def relayout(self):
        """Lay the figure out again (constrained layout) at the next full draw: after a title, font or view change.

        The layout is computed on demand rather than on every draw: it measures every tick label and is
        the most expensive part of a draw.
        """
        self._layout_engine.pending = True
        self._pending_full = True

    def _render(self, full: bool):
        canvas = self.fig.canvas
        if full or self._background is None or self._layout_engine.pending:
            self._presenter_text_floor()
            canvas.draw()  # draw_event caches the background and draws the animated artists
        else:
            canvas.restore_region(self._background)
            self._draw_animated()
            canvas.blit(self.fig.bbox)
        self._stale = False
        self._pending_full = False

    def to_png(self, dpi: float | None = None) -> bytes:
        """The current figure as PNG bytes (everything drawn, animated artists included)."""
        self._presenter_text_floor()
        return figures.png_bytes(self.fig, dpi)

    def static(self, dpi: float | None = None, **control_values):
        """A PNG ``IPython.display.Image`` of the figure, for PDF and website readers.

        Keyword arguments set controls first (``w.static(lr=0.1, step=40)``). Example: ``w.static()``
        """
        from IPython.display import Image

        self.set(**control_values)
        return Image(data=self.to_png(dpi))

    def show_static(self, dpi: float | None = None, **control_values):
        """Display :meth:`static` (the figure as a picture, next to the live widget)."""
        from IPython.display import display

        display(self.static(dpi, **control_values))

    def set(self, **control_values) -> None:
        """Set several controls by name in one redraw: ``w.set(lr=0.1, momentum=0.9)``.

        Returns None, so that ``w.set(...)`` as a cell's last line does not show the widget a second time.
        """
        unknown = [k for k in control_values if k not in self.controls]
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this widget has {sorted(self.controls)}")
        with self.hold_redraw():
            for k, v in control_values.items():
                self.controls[k].value = v

    # ---- status ----------------------------------------------------------------------------------------
    def set_status(self, *lines: str, colors_: list | None = None):
        """Show one status line per argument (``'Adam: converged at step 41'``) in the HTML status widget."""
        self._status_lines = [str(s) for s in lines]
        self._status_colors = colors_
        size = "1.35em" if self._presenter else "1em"
        parts = []
        for i, line in enumerate(self._status_lines):
            c = colors_[i] if colors_ and i < len(colors_) and colors_[i] else "inherit"
            parts.append(f'<div style="color:{c}">{html.escape(line)}</div>')
        self.status.value = f'<div style="font-size:{size};font-family:monospace">{"".join(parts)}</div>'

    @property
    def status_text(self) -> str:
        """The status lines as plain text, joined by newlines."""
        return "\n".join(self._status_lines)

    def close(self):
        """Free what the widget holds: every ipywidget model it made (controls, boxes, labels, and their
        layout and style models) is closed and loses its observers, the figure's callbacks are disconnected
        and the figure is closed and cleared, and the stored runs are dropped. Calling it again does nothing.

        Example: ``w.close()``
        """
        if self._closed:
            return
        self._closed = True
        presenter.untrack(self)
        self._before_close()
        canvas = self.fig.canvas
        for cid in self._canvas_cids:
            canvas.mpl_disconnect(cid)
        self._canvas_cids = []
        # Everything this object refers to: controls, rows of controls, labels, the layout, the canvas.
        close_models(*vars(self).values(), self.canvas_widget)
        if self.live:
            import matplotlib.pyplot as plt

            plt.close(self.fig)
        self._animated = []
        self._background = None
        self.fig.clear()
        for name in self._data_attrs:
            if hasattr(self, name):
                setattr(self, name, None)

    def _before_close(self):
        """Hook: stop anything running before the models are closed (the dashboard's training)."""

    # ---- presenter mode ------------------------------------------------------------------------------
    @property
    def presenter(self) -> bool:
        """True while this widget is styled for a projector (:meth:`set_presenter`, :func:`presenter_mode`)."""
        return self._presenter

    def _after_restyle(self):
        """Hook: after presenter mode restyled the figure, before it is laid out and drawn again."""

    def _presenter_text_floor(self):
        """In presenter mode, no text of the figure smaller than ``presenter.PRESENTER_MIN_TEXT_PX``."""
        if self._presenter and presenter.raise_small_text(self.fig):
            self.relayout()

    def set_presenter(self, on: bool):
        """Restyle this widget's figure for a projector (``on``) or back; :func:`presenter_mode` calls it."""
        on = bool(on)
        target = style.PRESENTER_FONT_SCALE if on else 1.0
        font_ratio = target / self._style_scale
        line_ratio = ((style.PRESENTER_LINE_SCALE if on else 1.0)
                      / (style.PRESENTER_LINE_SCALE if self._style_scale > 1 else 1.0))
        if font_ratio != 1.0 or line_ratio != 1.0 or on != self._presenter:
            presenter.restyle_figure(self.fig, on, font_ratio, line_ratio)
        self._style_scale = target
        self._presenter = on
        self._after_restyle()
        if self._layout is not None:  # the controls: larger labels, readouts and handles
            (self._layout.add_class if on else self._layout.remove_class)(presenter.PRESENTER_CLASS)
        self.relayout()
        if self._status_lines:
            self.set_status(*self._status_lines, colors_=self._status_colors)
        self.redraw(full=True)
