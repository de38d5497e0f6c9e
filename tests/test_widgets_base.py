"""Tests for the widget base class, notebook_setup and presenter mode (headless, Agg backend)."""
from __future__ import annotations

import base64
import io
import sys
import types

import ipywidgets
import matplotlib
import numpy as np
import pytest
import torch

import widgets
from widgets import base, presenter, setup, style
from widgets.base import Widget, callback
from widgets.controls import log_slider, play_controls
from widgets.style import color


# ---------------------------------------------------------------------------------------------------------
# notebook_setup and the backend decision
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("in_colab, in_kernel, has_ipympl, live, expected", [
    (False, True, True, True, "widget"),
    (True, True, True, True, "widget"),
    (False, True, False, True, "inline"),
    (True, True, False, True, "inline"),
    (False, False, True, True, None),
    (False, True, True, False, "inline"),
])
def test_choose_backend(in_colab, in_kernel, has_ipympl, live, expected):
    backend, message = setup.choose_backend(in_colab=in_colab, in_kernel=in_kernel, has_ipympl=has_ipympl,
                                            live=live)
    assert backend == expected
    assert message.startswith("Figures:") and "\n" not in message
    assert ("Colab" in message) == (in_colab and in_kernel)
    if in_kernel and not has_ipympl and live:
        assert "ipympl is not installed" in message


class _FakeShell:
    kernel = object()

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, arg):
        self.magics.append((name, arg))


@pytest.fixture
def fake_kernel(monkeypatch):
    shell = _FakeShell()
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    yield shell
    matplotlib.use("Agg", force=True)


def test_notebook_setup_in_kernel_picks_widget_backend_seeds_and_returns_device(fake_kernel, capsys):
    device = widgets.notebook_setup(seed=3)
    assert fake_kernel.magics == [("matplotlib", "widget")]
    assert isinstance(device, torch.device) and device.type == "cpu"
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "live (ipympl)" in out[0]
    a = np.random.rand()
    np.random.seed(3)
    assert a == np.random.rand()  # set_seed(3) ran


def test_notebook_setup_on_colab_enables_custom_widget_manager(fake_kernel, monkeypatch, capsys):
    calls = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("enabled"))
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    widgets.notebook_setup(seed=0)
    assert calls == ["enabled"]
    assert fake_kernel.magics == [("matplotlib", "widget")]
    assert "on Colab" in capsys.readouterr().out


def test_notebook_setup_without_ipympl_falls_back_to_inline(fake_kernel, monkeypatch, capsys):
    monkeypatch.setattr(setup, "_ipympl_importable", lambda: (False, "ipympl is not installed"))
    widgets.notebook_setup(seed=0)
    assert fake_kernel.magics == [("matplotlib", "inline")]
    assert "static images" in capsys.readouterr().out


def test_notebook_setup_outside_ipython_touches_no_backend(monkeypatch, capsys):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    before = matplotlib.get_backend()
    widgets.notebook_setup(seed=0)
    assert matplotlib.get_backend() == before
    assert "not in a notebook kernel" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")  # ipympl's Toolbar
def test_live_setup_shows_a_pyplot_figure_wider_than_the_column_as_a_picture_that_fits(fake_kernel, capsys):
    """ipympl shows plt.show()'s canvas at its size in pixels: a 15-inch figure was cut at the column's edge
    (lectures 03 and 04 at 1280 px). After notebook_setup such a figure is a PNG the notebook shrinks to the
    column; a figure that fits stays a live canvas."""
    from IPython.core.formatters import DisplayFormatter

    fake_kernel.display_formatter = DisplayFormatter()
    fake_kernel.events = types.SimpleNamespace(register=lambda *args: None)  # importing ipympl registers a hook
    widgets.notebook_setup(seed=0)
    backend = matplotlib.get_backend()
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    finally:
        matplotlib.use(backend, force=True)
    column = widgets.figures.column_width()
    shown = {}
    for name, size in (("wide", (15.0, 4.6)), ("narrow", (6.0, 3.0))):
        fig = matplotlib.figure.Figure(figsize=size)
        fig.subplots().plot([0, 1], [1, 0])
        canvas = Canvas(fig)
        FigureManager(canvas, 0)
        shown[name] = fake_kernel.display_formatter.format(canvas)
    data, metadata = shown["wide"]
    assert set(data) == {"image/png", "text/plain"} and "widget-view" not in str(data) and not metadata
    png = base64.b64decode(data["image/png"])
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == (1500, 460)  # its own size: the notebook shrinks it to the column
    assert "1500 x 460 px" in data["text/plain"] and f"{column} px column" in data["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" in shown["narrow"][0]


def test_column_width_sets_the_default_figure_width():
    default = widgets.column_width()
    try:
        widgets.column_width(600)
        w = _Line()
        assert w.fig.get_figwidth() * w.fig.dpi == pytest.approx(600 - 8 - 20)
        with pytest.raises(ValueError, match="whole number of pixels"):
            widgets.column_width(12.5)
    finally:
        widgets.column_width(default)
    assert widgets.figures.fit_figsize((10, 4)) == pytest.approx((8.2, 4.0))


def test_notebook_setup_validates_arguments():
    with pytest.raises(ValueError, match="seed"):
        widgets.notebook_setup(seed=-1)
    with pytest.raises(TypeError, match="live"):
        widgets.notebook_setup(seed=0, live="yes")


def test_environment_report_has_versions_and_keeps_backend():
    before = matplotlib.get_backend()
    rep = widgets.environment_report()
    assert rep["torch"] == torch.__version__ and rep["numpy"] == np.__version__
    assert rep["matplotlib"] == matplotlib.__version__ and rep["ipywidgets"] == ipywidgets.__version__
    assert rep["cpu_count"] >= 1 and rep["device"] == "cpu"
    assert rep["cuda_available"] == torch.cuda.is_available()
    assert {"python", "ipympl", "mps_available"} <= set(rep)
    assert matplotlib.get_backend() == before  # importing ipympl would have switched it


# ---------------------------------------------------------------------------------------------------------
# Widget base class
# ---------------------------------------------------------------------------------------------------------
class _Line(Widget):
    def __init__(self):
        super().__init__()
        self.ax = self.fig.add_subplot(1, 1, 1)
        self.ax.set(xlim=(0, 1), ylim=(0, 1), title="a line", xlabel="x", ylabel="y")
        (self.line,) = self.ax.plot([0, 1], [0, 1], color=color(0))
        self.animate(self.line)
        self.controls["slope"] = ipywidgets.FloatSlider(value=1.0, min=-1, max=1)
        self.controls["slope"].observe(self._on_slope, names="value")

    @callback
    def _on_slope(self, change):
        if change["new"] < 0:
            raise ValueError("slope must be >= 0 here")
        self.line.set_ydata([0, change["new"]])
        self.redraw()


def test_callback_errors_are_shown_in_the_widget_and_cleared_by_a_good_value():
    w = _Line()
    w.controls["slope"].value = -0.5
    assert "slope must be >= 0" in w.error and w.error.startswith("on_slope: ValueError")
    assert w.output.outputs[0]["name"] == "stderr"
    assert list(w.line.get_ydata()) == [0, 1]  # the artist kept its last good state
    w.controls["slope"].value = 0.5
    assert w.error == "" and list(w.line.get_ydata()) == [0, 0.5]
    assert len(w.errors) == 1  # kept for the record


def test_layout_is_one_container_with_status_class_and_static_fallback():
    w = _Line()
    lay = w.layout
    assert isinstance(lay, ipywidgets.VBox)
    assert w.status in lay.children and base.STATUS_CLASS in w.status._dom_classes
    assert not w.live  # Agg backend in tests: static images with a one-line notice
    assert isinstance(w.canvas_widget, ipywidgets.Image) and w.canvas_widget in lay.children
    assert "ipympl" in w.notice.value and w.notice in lay.children
    bundle, metadata = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert w.canvas_widget.value[:8] == b"\x89PNG\r\n\x1a\n"  # drawn once shown
    # A saved notebook read without a kernel shows the picture and a line of text, not "VBox(children=..."
    assert base64.b64decode(bundle["image/png"]) == w.canvas_widget.value
    assert metadata["image/png"]["width"] == 820 and "VBox" not in bundle["text/plain"]


def test_static_image_is_refreshed_on_each_update_once_displayed():
    w = _Line()
    assert w.canvas_widget.value == b""  # not drawn before it is shown: tests stay fast
    w._repr_mimebundle_()
    first = w.canvas_widget.value
    w.controls["slope"].value = 0.2
    assert w.canvas_widget.value != first and w.canvas_widget.value[:4] == b"\x89PNG"


def test_blitted_frame_equals_a_full_draw():
    w = _Line()
    w.displayed = True
    w.redraw(full=True)
    w.controls["slope"].value = 0.3  # blit path
    blitted = np.asarray(w.fig.canvas.buffer_rgba()).copy()
    w.redraw(full=True)
    full = np.asarray(w.fig.canvas.buffer_rgba())
    assert np.array_equal(blitted, full)


def test_live_canvas_gets_a_valid_first_frame_and_no_broken_draws_before_its_front_end_is_ready():
    """ipympl 0.10 in a VBox: no _repr_mimebundle_ on the canvas, and draws before 'initialized' sync a PNG
    without its data: prefix, which JupyterLab shows as a blank 0 x 0 figure."""
    import base64
    import io

    from PIL import Image

    backend = matplotlib.get_backend()
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    finally:
        matplotlib.use(backend, force=True)  # importing ipympl's backend module switches pyplot to it
    w = _Line()
    canvas = Canvas(w.fig)
    FigureManager(canvas, 0)
    w.live = True
    draws = []
    w.fig.canvas.mpl_connect("draw_event", lambda event: draws.append(1))
    assert canvas.syncing_data_url  # no front end yet
    w._repr_mimebundle_()
    url = canvas._data_url
    assert url.startswith("data:image/png;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert picture.size == (820, 400) and tuple(canvas._size) == pytest.approx((820, 400))  # fits the column
    draws.clear()  # savefig made that picture
    w.controls["slope"].value = 0.2  # a change from code while the front end is not ready: no draw
    assert draws == [] and canvas._data_url == url and w.stale
    assert list(w.line.get_ydata()) == [0, 0.2]  # the artist was still updated
    canvas.syncing_data_url = False  # the front end said 'initialized'
    w.controls["slope"].value = 0.3
    assert draws == [1] and not w.stale and canvas._data_url == url


def test_static_returns_png_image_and_sets_controls():
    w = _Line()
    img = w.static(slope=0.25)
    assert img.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert w.controls["slope"].value == 0.25 and list(w.line.get_ydata()) == [0, 0.25]
    with pytest.raises(ValueError, match="unknown control"):
        w.set(nope=1)


def test_widget_validates_figsize():
    with pytest.raises(TypeError, match="figsize"):
        _Line.__mro__[1](figsize="big")
    with pytest.raises(ValueError, match="figsize"):
        Widget(figsize=(0, 4))


def test_log_slider_and_play_controls():
    s = log_slider("lr", 1e-2, 1e-5, 1.0)
    assert isinstance(s, ipywidgets.FloatLogSlider) and s.min == -5 and s.max == 0
    assert s.value == pytest.approx(1e-2)
    with pytest.raises(ValueError):
        log_slider("lr", 1e-2, 0.0, 1.0)
    play, step, reset = play_controls(300)
    assert play.max == step.max == 300 and isinstance(reset, ipywidgets.Button)
    play.value = 17
    assert step.value == 17


def test_presenter_mode_restyles_live_widgets_and_new_figures_and_back():
    import gc

    gc.collect()  # drop widgets of earlier tests from the registry
    w = _Line()
    title0, lw0 = w.ax.title.get_fontsize(), w.line.get_linewidth()
    tick0 = w.ax.xaxis.get_major_ticks()[0].label1.get_fontsize()
    rc0 = matplotlib.rcParams["font.size"]
    lay = w.layout
    assert presenter.PRESENTER_CLASS not in lay._dom_classes
    try:
        assert widgets.presenter_mode(True) is True
        assert presenter.PRESENTER_CLASS in lay._dom_classes  # the controls grow too (CSS rule in the layout)
        assert any(presenter.PRESENTER_CLASS in getattr(c, "value", "") for c in lay.children)
        assert w.ax.title.get_fontsize() == pytest.approx(title0 * style.PRESENTER_FONT_SCALE)
        assert w.line.get_linewidth() == pytest.approx(lw0 * style.PRESENTER_LINE_SCALE)
        assert w.ax.xaxis.get_major_ticks()[0].label1.get_fontsize() > tick0
        assert w.line.get_color() == style.PRESENTER_PALETTE[0]
        assert matplotlib.rcParams["font.size"] > rc0 and color(1) == style.PRESENTER_PALETTE[1]
        w2 = _Line()  # made in presenter mode: large fonts from rcParams
        assert w2.ax.title.get_fontsize() > title0
        assert presenter.PRESENTER_CLASS in w2.layout._dom_classes
        widgets.presenter_mode(True)  # idempotent
        assert w.ax.title.get_fontsize() == pytest.approx(title0 * style.PRESENTER_FONT_SCALE)
    finally:
        widgets.presenter_mode(False)
    assert w.ax.title.get_fontsize() == pytest.approx(title0)
    assert presenter.PRESENTER_CLASS not in lay._dom_classes and presenter.PRESENTER_CLASS not in w2.layout._dom_classes
    assert w.line.get_linewidth() == pytest.approx(lw0)
    assert w.line.get_color() == style.PALETTE[0]
    assert matplotlib.rcParams["font.size"] == rc0
    assert w2.ax.title.get_fontsize() == pytest.approx(title0)  # shrinks back to normal too
    with pytest.raises(TypeError, match="on"):
        widgets.presenter_mode("yes")


def test_a_live_figure_is_a_whole_number_of_pixels_wide_in_the_browser():
    """8.2 in at 100 dpi is 819.999... px in floating point: ipympl's front end would make the canvas 819 px wide
    and the browser stretch it to its 820-px box, blurring every line."""
    assert int(8.2 * 100) == 819  # the trap
    for figsize in [(8.2, 4.0), (6.3, 3.3), (5.7, 2.9), (8.0, 4.0)]:
        w, h = widgets.figures.whole_pixels(figsize, 100)
        assert int(w * 100) == round(figsize[0] * 100) and int(h * 100) == round(figsize[1] * 100)
        assert abs(w - figsize[0]) < 1e-7 and abs(h - figsize[1]) < 1e-7
    assert widgets.figures.whole_pixels((8.234, 4.0), 100)[0] == 8.234  # not a whole number: left alone
