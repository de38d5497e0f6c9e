"""How a widget shows itself: one container (controls, canvas, status, errors), and a picture for static readers.

Part of :class:`widgets.base.Widget`. :attr:`Display.layout` is the whole widget as one ``ipywidgets.VBox``
(CSS class ``lecture-widget``). Shown as a cell's last expression, with ``display(w)`` or ``w.show()``, a widget
publishes that container's view and, beside it in the same display data, a PNG of its figure as it is then and
a one-line plain text: JupyterLab shows the live view, while a saved notebook read without a kernel (nbconvert
to HTML or PDF, GitHub's notebook view, a course website) shows the picture instead of ``VBox(children=...``.

Example::

    w = Explorer2D("rosenbrock")
    data, metadata = w._repr_mimebundle_()   # the widget view, 'image/png' and 'text/plain'
"""
from __future__ import annotations

import base64

import ipywidgets

from . import figures, presenter

__all__ = ["Display", "WIDGET_CLASS", "PICTURE_NOTE"]

#: CSS class of every widget's container (browser tests and the presenter rule find it by this class).
WIDGET_CLASS = "lecture-widget"
#: The plain-text form of a widget in a saved notebook (after its name).
PICTURE_NOTE = "an interactive widget; run the notebook to use its controls (the picture shows its figure)"


class Display:
    """Mixin of :class:`widgets.base.Widget`: the displayed layout and the display data with its picture."""

    # ---- layout ----------------------------------------------------------------------------------------
    def _controls_box(self) -> ipywidgets.Widget:
        """The controls laid out in rows (wrapping when the column is narrow); subclasses may group them."""
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
            self._css = ipywidgets.HTML(presenter.PRESENTER_CSS, layout=ipywidgets.Layout(display="none"))
            children.append(self._css)
            self._layout = ipywidgets.VBox(children, layout=ipywidgets.Layout(max_width="100%"))
            self._layout.add_class(WIDGET_CLASS)
            if self._presenter:
                self._layout.add_class(presenter.PRESENTER_CLASS)
        return self._layout

    @property
    def displayed(self) -> bool:
        """True once the widget was shown: from then on every change is drawn (static images: re-encoded).

        Setting it to True draws every change as on screen, without a front end (tests, benchmarks)."""
        return self._displayed

    @displayed.setter
    def displayed(self, value: bool):
        self._displayed = bool(value)

    @property
    def stale(self) -> bool:
        """True while the artists hold changes that are not drawn yet (not shown, held, or the live front
        end is not ready)."""
        return self._stale

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    # ---- display ---------------------------------------------------------------------------------------
    def _prepare_display(self) -> bytes:
        """Draw what is needed before a view is shown; returns the figure as PNG bytes (its picture)."""
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} was closed; build a new one to show it")
        self._displayed = True
        self._presenter_text_floor()
        if self.live and figures.front_end_pending(self.fig.canvas):
            self._pending_full = True
            return figures.send_first_frame(self.fig)
        if self._stale or self._background is None or not self.live:
            self._pending_full = True
            self.redraw(full=True)
        return self._image.value if not self.live else self.to_png()

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """The display data: the live view, a PNG of the figure now (``image/png``, with its width in CSS pixels
        as metadata) and one line of plain text."""
        png = self._prepare_display()
        data = dict(self.layout._repr_mimebundle_())
        data["text/plain"] = f"{type(self).__name__}: {PICTURE_NOTE}"
        data["image/png"] = base64.b64encode(png).decode("ascii")
        ratio = getattr(self.fig.canvas, "device_pixel_ratio", 1.0) or 1.0
        width = round(self.fig.get_figwidth() * self.fig.dpi / ratio)
        return data, {"image/png": {"width": width}}

    def show(self):
        """Display the widget (controls, canvas, status; and its picture for readers without a kernel)."""
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        display(data, metadata=metadata, raw=True)

    def _ipython_display_(self):
        self.show()

    def _publish_static(self):
        """Static-image mode: send the freshly drawn frame to the ``ipywidgets.Image``."""
        self._image.value = figures.rgb_png(self.fig.canvas)
