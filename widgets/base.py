"""The base class of every course widget: figure, controls, error output, status line, static fallback.

Introduced in lecture 01 and used by every interactive figure after it. A :class:`Widget` owns a matplotlib
``fig`` built under ``plt.ioff()``, a dict ``controls`` of ipywidgets by name, an ``output`` that shows any
error raised inside a callback, and a ``status`` line (an ``ipywidgets.HTML`` with CSS class
``lecture-status``). With the ipympl backend active the canvas is ipympl's live Canvas widget; otherwise the
figure is redrawn to a PNG ``ipywidgets.Image`` after every change, with a one-line notice saying so.

Drawing follows the house style: artists are created once and updated; artists registered with
:meth:`Widget.animate` are redrawn by blitting (restore the cached background, draw only them), and the
background is refreshed on each full draw (``draw_event``).

Example::

    w = Explorer2D("rosenbrock"); w.controls["lr"].value = 1e-3; w.show()
"""
from __future__ import annotations

import functools
import io
import math
import traceback
import weakref
from contextlib import contextmanager

import ipywidgets
import matplotlib
import matplotlib.legend
import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

__all__ = ["Widget", "callback", "log_slider", "float_slider", "int_slider", "play_controls", "color", "colors",
           "PALETTE", "PRESENTER_PALETTE", "ipympl_active", "STATUS_CLASS"]

#: CSS class of every widget's status line (browser tests find it by this class).
STATUS_CLASS = "lecture-status"

#: Okabe-Ito colours: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: Saturated, darker colours that survive a washed-out projector.
PRESENTER_PALETTE = ("#0033CC", "#CC0000", "#007A00", "#9900AA", "#B35900", "#007C99", "#000000", "#8C6D00")
_TO_PRESENTER = {a.lower(): b for a, b in zip(PALETTE, PRESENTER_PALETTE)}
_FROM_PRESENTER = {b.lower(): a for a, b in zip(PALETTE, PRESENTER_PALETTE)}

# Presenter state lives here so that widgets can read it without importing presenter.py (no cycle).
_STATE = {"presenter": False}
#: Font and line scale of presenter mode relative to the normal style.
PRESENTER_FONT_SCALE = 1.45
PRESENTER_LINE_SCALE = 1.8
_REGISTRY: "weakref.WeakSet[Widget]" = weakref.WeakSet()
#: CSS class of a widget's container while presenter mode is on, and the rule that enlarges its controls
#: (the first child): a zoom scales labels, readouts, handles and the fixed widths together, so the rows
#: keep their layout. The figure is not zoomed (it is redrawn with larger fonts instead).
PRESENTER_CLASS = "lecture-presenter"
PRESENTER_CONTROLS_ZOOM = 1.3
_PRESENTER_CSS = (f"<style>.lecture-widget.{PRESENTER_CLASS} > :first-child "
                  f"{{zoom: {PRESENTER_CONTROLS_ZOOM};}}</style>")


def colors() -> tuple:
    """The current colour cycle: :data:`PALETTE`, or :data:`PRESENTER_PALETTE` in presenter mode."""
    return PRESENTER_PALETTE if _STATE["presenter"] else PALETTE


def color(i: int) -> str:
    """The ``i``-th colour of the current cycle (wraps around). Example: ``color(0)`` -> ``'#0072B2'``"""
    pal = colors()
    return pal[int(i) % len(pal)]


def ipympl_active() -> bool:
    """True when matplotlib's current backend is ipympl (``%matplotlib widget`` / ``%matplotlib ipympl``)."""
    backend = str(matplotlib.get_backend()).lower()
    return "ipympl" in backend or backend in ("widget", "module://ipympl.backend_nbagg")


# ---------------------------------------------------------------------------------------------------------
# Control helpers
# ---------------------------------------------------------------------------------------------------------
_STYLE = {"description_width": "initial"}


def log_slider(description: str, value: float, low: float, high: float, *, continuous_update: bool = True,
               width: str = "280px", readout_format: str = ".3g") -> ipywidgets.FloatLogSlider:
    """A base-10 log-scale float slider over ``[low, high]`` (learning rates, tolerances).

    Example: ``log_slider("lr", 1e-2, 1e-5, 1.0)``
    """
    if not (low > 0 and high > low):
        raise ValueError(f"log_slider needs 0 < low < high, got low={low}, high={high}")
    value = float(min(max(value, low), high))
    return ipywidgets.FloatLogSlider(value=value, base=10, min=math.log10(low), max=math.log10(high),
                                     step=0.01, description=description, readout_format=readout_format,
                                     continuous_update=continuous_update, style=_STYLE,
                                     layout=ipywidgets.Layout(width=width))


def float_slider(description: str, value: float, low: float, high: float, step: float, *,
                 continuous_update: bool = True, width: str = "280px",
                 readout_format: str = ".3g") -> ipywidgets.FloatSlider:
    """A linear float slider with the course's layout. Example: ``float_slider("momentum", 0.9, 0, 0.99, 0.01)``"""
    return ipywidgets.FloatSlider(value=float(min(max(value, low), high)), min=low, max=high, step=step,
                                  description=description, continuous_update=continuous_update,
                                  readout_format=readout_format, style=_STYLE,
                                  layout=ipywidgets.Layout(width=width))


def int_slider(description: str, value: int, low: int, high: int, step: int = 1, *,
               continuous_update: bool = True, width: str = "280px") -> ipywidgets.IntSlider:
    """An integer slider with the course's layout. Example: ``int_slider("num_steps", 100, 1, 1000)``"""
    return ipywidgets.IntSlider(value=int(min(max(value, low), high)), min=low, max=high, step=step,
                                description=description, continuous_update=continuous_update, style=_STYLE,
                                layout=ipywidgets.Layout(width=width))


def play_controls(num_steps: int, *, interval: int = 40, frames: int = 150):
    """A ``Play`` button linked to a ``step`` slider over ``0..num_steps``, and a ``reset`` button.

    The link is made in Python (``ipywidgets.link``) so that setting ``play.value`` from code moves the step
    slider too; ``frames`` sets the play stride so a run lasts about ``frames * interval`` ms.
    Returns ``(play, step, reset)``. Example: ``play, step, reset = play_controls(300)``
    """
    num_steps = max(int(num_steps), 1)
    play = ipywidgets.Play(value=0, min=0, max=num_steps, step=max(1, num_steps // frames), interval=interval,
                           description="play", show_repeat=False)
    step = ipywidgets.IntSlider(value=0, min=0, max=num_steps, description="step", continuous_update=True,
                                style=_STYLE, layout=ipywidgets.Layout(width="360px"))
    link = ipywidgets.link((play, "value"), (step, "value"))
    play._lecture_link = link  # keep the link alive as long as the controls
    reset = ipywidgets.Button(description="reset", tooltip="back to step 0 and the default start point",
                              layout=ipywidgets.Layout(width="80px"))
    return play, step, reset


def set_steps(play: ipywidgets.Play, step: ipywidgets.IntSlider, num_steps: int, *, frames: int = 150):
    """Change the range of a play/step pair to ``0..num_steps`` (clamping the current value)."""
    num_steps = max(int(num_steps), 1)
    with play.hold_trait_notifications(), step.hold_trait_notifications():
        step.max = num_steps
        play.max = num_steps
        play.step = max(1, num_steps // frames)


# ---------------------------------------------------------------------------------------------------------
# Callback guard
# ---------------------------------------------------------------------------------------------------------
def callback(fn):
    """Decorate a widget method so that an exception inside it is shown in the widget, never lost in a log.

    The message names the callback and the error (``lr: ValueError: ...``); programming errors (anything
    other than ``ValueError``/``TypeError``/``ArithmeticError``) also get the last lines of the traceback.
    A later successful call of the same callback clears its message.
    """
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            out = fn(self, *args, **kwargs)
        except Exception as exc:  # shown to the student in the widget, by design
            self.show_error(exc, where=fn.__name__.lstrip("_"))
            return None
        if self._error_source == fn.__name__.lstrip("_"):
            self.clear_error()
        return out
    return wrapper


class _OnDemandLayout(ConstrainedLayoutEngine):
    """Constrained layout that runs only when its widget asks (``relayout``), not on every draw.

    Laying out measures every tick label: it is the most expensive part of a draw, and the layout only
    changes with titles, fonts or the view.
    """

    def __init__(self, widget):
        super().__init__(h_pad=0.05, w_pad=0.05)
        self._widget = weakref.ref(widget)

    def execute(self, fig):
        w = self._widget()
        if w is None or w._needs_layout:
            super().execute(fig)
            if w is not None:
                w._needs_layout = False


# ---------------------------------------------------------------------------------------------------------
# The base class
# ---------------------------------------------------------------------------------------------------------
class Widget:
    """Base class: owns ``fig``, ``controls``, ``output`` (errors), ``status`` and the displayed layout.

    Subclasses build their axes and artists on ``self.fig``, fill ``self.controls``, register per-frame
    artists with :meth:`animate` and call :meth:`redraw` after changing them (``full=True`` when something
    not animated changed: limits, titles, a new contour).

    Args:
        figsize: figure size in inches (default ``(9, 4)``: readable at 1280x720).
        live: ``None`` (default) uses ipympl's live canvas when the ipympl backend is active, else static
            PNG images; ``False`` forces static images.
    """

    figsize = (9.0, 4.0)

    def __init__(self, *, figsize=None, live: bool | None = None):
        if figsize is None:
            figsize = self.figsize
        try:
            w_in, h_in = (float(v) for v in figsize)
        except (TypeError, ValueError):
            raise TypeError(f"figsize must be a pair (width, height) in inches, got {figsize!r}") from None
        if not (0 < w_in <= 30 and 0 < h_in <= 30):
            raise ValueError(f"figsize must be positive and at most 30 inches per side, got {figsize!r}")
        if live not in (None, True, False):
            raise TypeError(f"live must be None, True or False, got {live!r}")
        self.live = ipympl_active() if live is None else (bool(live) and ipympl_active())
        self.fig = self._new_figure((w_in, h_in))
        self.fig.set_layout_engine(_OnDemandLayout(self))
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
        self._needs_layout = True
        self._layout = None
        self._css = None
        self._image = None
        self._style_scale = PRESENTER_FONT_SCALE if _STATE["presenter"] else 1.0
        self._presenter = _STATE["presenter"]
        if not self.live:
            self._image = ipywidgets.Image(format="png", layout=ipywidgets.Layout(width=f"{w_in * 100:.0f}px"))
            self.notice.value = ("<i>Static images: the ipympl backend is not active, so the figure is redrawn "
                                 "as a picture after each change (run <code>%matplotlib widget</code> for a live "
                                 "figure you can click).</i>")
        self.fig.canvas.mpl_connect("draw_event", self._on_draw_event)
        _REGISTRY.add(self)

    # ---- figure --------------------------------------------------------------------------------------
    def _new_figure(self, size):
        if self.live:
            import matplotlib.pyplot as plt

            with plt.ioff():
                fig = plt.figure(figsize=size)
            canvas = fig.canvas
            for attr, val in (("header_visible", False), ("footer_visible", False), ("resizable", False),
                              ("toolbar_position", "left")):
                try:
                    setattr(canvas, attr, val)
                except Exception:  # older ipympl: the layout still works without these cosmetics
                    pass
            return fig
        # Static images: a figure outside pyplot, so no backend ever shows it a second time.
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        return fig

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
            if a.get_visible() and a.axes is not None:
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
        when shown.
        """
        self._stale = True
        self._pending_full = self._pending_full or full
        if self._hold:
            return
        if not self.live and not self._displayed:
            return
        if self.live and self._front_end_pending():
            return  # drawn when the front end asks for its first frame (see _front_end_pending)
        self._render(self._pending_full)
        if not self.live:
            self._publish_static()

    def relayout(self):
        """Lay the figure out again (constrained layout) at the next full draw: after a title, font or view change.

        The layout is computed on demand rather than on every draw: it measures every tick label and is
        the most expensive part of a draw.
        """
        self._needs_layout = True
        self._pending_full = True

    def _render(self, full: bool):
        canvas = self.fig.canvas
        if self._needs_layout:
            full = True
        if full or self._background is None:
            canvas.draw()  # draw_event caches the background and draws the animated artists
        else:
            canvas.restore_region(self._background)
            self._draw_animated()
            canvas.blit(self.fig.bbox)
        self._stale = False
        self._pending_full = False

    def _publish_static(self):
        """Static-image mode: send the freshly drawn frame to the ``ipywidgets.Image``."""
        self._image.value = self._encode_buffer()

    def _encode_buffer(self, compress_level: int = 1) -> bytes:
        """The Agg buffer as PNG bytes (RGB; fast compression: the image travels to a local browser)."""
        from PIL import Image

        rgba = np.asarray(self.fig.canvas.buffer_rgba())
        with io.BytesIO() as buf:
            Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=compress_level)
            return buf.getvalue()

    def to_png(self, dpi: float | None = None) -> bytes:
        """The current figure as PNG bytes (everything drawn, animated artists included)."""
        with io.BytesIO() as buf:
            self.fig.savefig(buf, format="png", dpi=dpi or self.fig.dpi, facecolor="white")
            return buf.getvalue()

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

    def set(self, **control_values):
        """Set several controls by name in one redraw: ``w.set(lr=0.1, momentum=0.9)``."""
        unknown = [k for k in control_values if k not in self.controls]
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this widget has {sorted(self.controls)}")
        with self.hold_redraw():
            for k, v in control_values.items():
                self.controls[k].value = v
        return self

    # ---- errors and status ---------------------------------------------------------------------------
    def show_error(self, exc: BaseException, where: str = ""):
        """Show an exception raised inside a callback as a readable message in :attr:`output`."""
        head = f"{where}: " if where else ""
        msg = f"{head}{type(exc).__name__}: {exc}"
        if not isinstance(exc, (ValueError, TypeError, ArithmeticError)):
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-8:])
            msg = f"{msg}\n{tb}"
        self.errors.append(msg)
        self._error_source = where or None
        self.output.outputs = ({"output_type": "stream", "name": "stderr", "text": msg + "\n"},)

    def clear_error(self):
        """Remove the shown error message (kept in :attr:`errors`)."""
        self._error_source = None
        self.output.outputs = ()

    @property
    def error(self) -> str:
        """The error message on screen now ('' if none)."""
        outs = self.output.outputs
        return outs[-1]["text"].rstrip("\n") if outs else ""

    def set_status(self, *lines: str, colors_: list | None = None):
        """Show one status line per argument (``'Adam: converged at step 41'``) in the HTML status widget."""
        import html

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

    # ---- layout and display --------------------------------------------------------------------------
    def _controls_box(self) -> ipywidgets.Widget:
        """The controls laid out in rows; subclasses may override to group them."""
        return ipywidgets.HBox(list(self.controls.values()), layout=ipywidgets.Layout(flex_flow="row wrap"))

    def _extra_widgets(self) -> list:
        """Widgets shown under the status line (a results table, say); none by default."""
        return []

    @property
    def canvas_widget(self) -> ipywidgets.Widget:
        """ipympl's Canvas widget when live, else the PNG ``ipywidgets.Image`` fallback."""
        return self.fig.canvas if self.live else self._image

    @property
    def layout(self) -> ipywidgets.VBox:
        """The whole widget: controls, canvas, status line, error output (and the static-image notice)."""
        if self._layout is None:
            children = [self._controls_box(), self.canvas_widget, self.status, *self._extra_widgets(), self.output]
            if not self.live:
                children.append(self.notice)
            # The presenter rule travels with the widget (a <style> applies wherever it sits in the page).
            self._css = ipywidgets.HTML(_PRESENTER_CSS, layout=ipywidgets.Layout(display="none"))
            children.append(self._css)
            self._layout = ipywidgets.VBox(children)
            self._layout.add_class("lecture-widget")
            if self._presenter:
                self._layout.add_class(PRESENTER_CLASS)
        return self._layout

    def _front_end_pending(self) -> bool:
        """True while ipympl's front end has not said it is ready (before the view exists, or during Run All).

        A draw in that state makes ipympl 0.10 sync the frame as a PNG *without* its ``data:`` prefix in
        ``_data_url``; JupyterLab then logs "Error setting state ... broken" and shows a blank 0 x 0 figure.
        So live widgets only update their artists then; once ready, the front end asks for a frame, and
        that draw shows the current state. Without a front end (nbval, nbconvert) this stays True, and
        code-driven changes cost no drawing at all.
        """
        return bool(getattr(self.fig.canvas, "syncing_data_url", False))

    def _send_first_frame(self):
        """Give ipympl's view a correct first picture and size before its front end is ready.

        What ipympl's own ``Canvas._repr_mimebundle_`` does when a figure is displayed alone; a canvas shown
        inside a ``VBox`` never gets that call, so without this its view starts at 0 x 0 with no image.
        ``savefig`` draws through Agg directly: nothing is sent as a broken binary frame.
        """
        import base64

        canvas = self.fig.canvas
        png = self.to_png(dpi=self.fig.dpi)
        canvas._data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        ratio = getattr(canvas, "device_pixel_ratio", 1.0) or 1.0
        w_in, h_in = self.fig.get_size_inches()
        canvas._size = (w_in * self.fig.dpi / ratio, h_in * self.fig.dpi / ratio)

    def _prepare_display(self):
        self._displayed = True
        if self.live and self._front_end_pending():
            self._pending_full = True
            self._send_first_frame()
            return
        if self._stale or self._background is None or not self.live:
            self._pending_full = True
            self.redraw(full=True)

    def show(self):
        """Display the widget (controls, canvas, status) in the notebook."""
        from IPython.display import display

        self._prepare_display()
        display(self.layout)

    def _ipython_display_(self):
        self.show()

    def _repr_mimebundle_(self, **kwargs):
        self._prepare_display()
        return self.layout._repr_mimebundle_(**kwargs)

    def close(self):
        """Close the figure and every control (frees the kernel-side widget models)."""
        _REGISTRY.discard(self)
        if self.live:
            import matplotlib.pyplot as plt

            plt.close(self.fig)
        for c in self.controls.values():
            c.close()
        for w in (self.output, self.status, self.notice, self._image, self._css, self._layout):
            if w is not None:
                w.close()

    # ---- presenter mode ------------------------------------------------------------------------------
    def set_presenter(self, on: bool):
        """Restyle this widget's figure for a projector (``on``) or back; :func:`presenter_mode` calls it."""
        on = bool(on)
        target = PRESENTER_FONT_SCALE if on else 1.0
        ratio = target / self._style_scale
        lratio = (PRESENTER_LINE_SCALE if on else 1.0) / (PRESENTER_LINE_SCALE if self._style_scale > 1 else 1.0)
        cmap = _TO_PRESENTER if on else _FROM_PRESENTER
        from matplotlib.collections import Collection
        from matplotlib.lines import Line2D
        from matplotlib.text import Text

        if ratio != 1.0 or lratio != 1.0 or on != self._presenter:
            for t in self.fig.findobj(Text):
                t.set_fontsize(t.get_fontsize() * ratio)
            for ax in self.fig.axes:
                for axis in (ax.xaxis, ax.yaxis) + ((ax.zaxis,) if hasattr(ax, "zaxis") else ()):
                    ticks = axis.get_major_ticks()
                    if ticks:  # already scaled above; new ticks get the same size
                        axis.set_tick_params(which="both", labelsize=ticks[0].label1.get_fontsize())
                for line in ax.get_lines():
                    line.set_linewidth(line.get_linewidth() * lratio)
                    line.set_markersize(line.get_markersize() * math.sqrt(lratio))
                    c = line.get_color()
                    if isinstance(c, str) and c.lower() in cmap:
                        line.set_color(cmap[c.lower()])
                    mfc = line.get_markerfacecolor()
                    if isinstance(mfc, str) and mfc.lower() in cmap:
                        line.set_markerfacecolor(cmap[mfc.lower()])
                    mec = line.get_markeredgecolor()
                    if isinstance(mec, str) and mec.lower() in cmap:
                        line.set_markeredgecolor(cmap[mec.lower()])
                for coll in ax.collections:
                    if isinstance(coll, Collection) and not hasattr(coll, "levels"):
                        lw = coll.get_linewidths()
                        if len(lw):
                            coll.set_linewidths(np.asarray(lw) * lratio)
            for legend in self.fig.findobj(matplotlib.legend.Legend):
                for handle in getattr(legend, "legend_handles", []):
                    if isinstance(handle, Line2D):
                        handle.set_linewidth(handle.get_linewidth() * lratio)
                        c = handle.get_color()
                        if isinstance(c, str) and c.lower() in cmap:
                            handle.set_color(cmap[c.lower()])
        self._style_scale = target
        self._presenter = on
        if self._layout is not None:  # the controls: larger labels, readouts and handles
            (self._layout.add_class if on else self._layout.remove_class)(PRESENTER_CLASS)
        self._restyle(on)
        self.relayout()
        if self._status_lines:
            self.set_status(*self._status_lines, colors_=self._status_colors)
        self.redraw(full=True)

    def _restyle(self, on: bool):
        """Hook for subclasses: restyle what the generic pass cannot (colours kept elsewhere, markers)."""
