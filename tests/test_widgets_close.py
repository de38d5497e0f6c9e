"""close() frees what a widget holds: build and close every exported widget 20 times, nothing accumulates.

Neither Python objects (weak references to each widget and its figure die; the count of objects the garbage
collector tracks stays put) nor ipywidget models (``ipywidgets.Widget.widgets`` holds every open model: the
controls, the rows and labels around them, the layout and style models each of those has) pile up. A widget
kept after ``close()`` holds no runs and no artists any more.
"""
from __future__ import annotations

import gc
import warnings
import weakref

import ipywidgets
import pytest
import torch

import widgets
from lecture_utils import optim, surfaces
from lecture_utils.training import data, nets

_DATA = {}


def _dashboard():
    if "blobs" not in _DATA:
        _DATA["blobs"] = data.blobs(n=40, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
    cfg = {"a": lambda: (nets.MLP(4, hidden=(4,), out_dim=3), optim.SGD(lr=0.1)),
           "b": lambda: (nets.MLP(4, hidden=(4,), out_dim=3), optim.Adam(lr=0.01))}
    return widgets.TrainingDashboard(cfg, _DATA["blobs"], epochs=1, batch_size=64, live=False)


def _sharpness():
    if "digits" not in _DATA:
        d = data.digits(seed=0, device="cpu")
        _DATA["digits"] = (d.X_train[:40], torch.eye(10)[d.y_train[:40]])
    return widgets.SharpnessWidget(lambda: nets.MLP(64, (4,), 10, activation="tanh"), _DATA["digits"], num_steps=10,
                                   every=5, num_iters=5, live=False)


def _batch_scaling():
    if "blobs" not in _DATA:
        _DATA["blobs"] = data.blobs(n=40, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
    return widgets.BatchScalingWidget(_DATA["blobs"], target=0.5, seeds=(0,), batch_size=8, lr=0.3,
                                      batch_sizes=(8, 16), max_steps=40, live=False)


#: Small configurations of every exported widget (the same code paths, less computing).
MAKERS = {
    "Explorer1D": lambda: widgets.Explorer1D("multi_minima", ["sgd", "adam"], num_steps=20),
    "Explorer2D": lambda: widgets.Explorer2D("himmelblau", ["sgd", "momentum", "adam"], num_steps=20, grid=20,
                                             clipping=True),
    "OptimizerRace": lambda: widgets.OptimizerRace("beale", ["sgd", "adam"], num_steps=20),
    "BasinMap": lambda: widgets.BasinMap("himmelblau", "momentum", resolution=10, num_steps=20),
    "PhaseDiagram": lambda: widgets.PhaseDiagram(surfaces.get("quadratic", kappa=20.0), num_steps=20,
                                                 resolution=(6, 5)),
    "SecantWidget": widgets.SecantWidget,
    "DirectionalDerivativeWidget": widgets.DirectionalDerivativeWidget,
    "GradientCloud": lambda: widgets.GradientCloud(num_steps=10, num_draws=10),
    "QuasiNewtonEllipses": lambda: widgets.QuasiNewtonEllipses("rosenbrock", num_steps=10),
    "SecondOrderRace": lambda: widgets.SecondOrderRace("quadratic", num_steps=10),
    "ContinuationWidget": lambda: widgets.ContinuationWidget(num_levels=11),
    "TrainingDashboard": _dashboard,
    "SharpnessWidget": _sharpness,
    "BatchScalingWidget": _batch_scaling,
}
BUILDS = 20


def open_models() -> int:
    """How many ipywidget models are open (``ipywidgets.Widget.widgets``, deprecated but still the registry)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return len(ipywidgets.Widget.widgets)


def test_every_exported_widget_is_built_and_closed():
    bases = {widgets.Widget, widgets.PlaybackWidget, widgets.TrajectoryWidget}
    exported = {name for name in widgets.__all__
                if isinstance(getattr(widgets, name), type) and issubclass(getattr(widgets, name), widgets.Widget)
                and getattr(widgets, name) not in bases}
    assert exported == set(MAKERS)


@pytest.mark.parametrize("name", list(MAKERS))
def test_build_and_close_twenty_times_leaves_nothing_behind(name):
    make = MAKERS[name]
    for _ in range(2):  # twice as displayed (drawn, encoded): caches of fonts, text and torch fill up here
        w = make()
        w._repr_mimebundle_()
        w.close()
        del w
    gc.collect()
    models, objects = open_models(), len(gc.get_objects())
    refs = []
    for _ in range(BUILDS):
        w = make()
        assert w.layout is not None  # the whole widget as shown: rows, labels, canvas image, notice, style
        assert open_models() > models
        refs.append((weakref.ref(w), weakref.ref(w.fig)))
        w.close()
        del w
    gc.collect()
    assert open_models() == models, f"{name}: {(open_models() - models) / BUILDS:.1f} models left per build"
    alive = [i for i, (rw, rf) in enumerate(refs) if rw() is not None or rf() is not None]
    assert not alive, f"{name}: builds {alive} are still alive after close()"
    grown = len(gc.get_objects()) - objects
    assert grown < 20 * BUILDS // 4, f"{name}: {grown} more objects after {BUILDS} builds and closes"


def test_a_closed_widget_that_is_kept_holds_no_runs_no_artists_and_no_open_models():
    w = widgets.Explorer2D("himmelblau", ["sgd", "adam"], num_steps=20, grid=20)
    lay = w.layout
    traj = weakref.ref(w.trajs[0])
    slider = w.controls["lr"]
    calls = []
    w.fig.canvas.mpl_connect("draw_event", lambda event: calls.append(1))
    models = [m for m in (slider, slider.layout, slider.style, lay, w.status, w.output, w.canvas_widget)]
    w.close()
    gc.collect()
    assert traj() is None and w.trajs is None and w.fig.axes == []
    assert all(m.comm is None for m in models)  # closed: the front end drops their views
    assert w.closed
    w.close()  # twice: nothing happens
    with pytest.raises(RuntimeError, match="closed"):
        w.show()
    slider.value = 0.5  # nothing listens any more: no run is made, no error shown
    w.controls["reset"].click()
    assert w.trajs is None and w.errors == []


def _handlers_of(widget, fig) -> list:
    """The figure-canvas callbacks bound to ``widget`` (matplotlib keeps its own handlers there too)."""
    found = []
    for event, entries in fig.canvas.callbacks.callbacks.items():
        for ref in entries.values():
            fn = ref()
            if getattr(fn, "__self__", None) is widget:
                found.append((event, fn.__name__))
    return found


def test_close_disconnects_the_figure_callbacks_and_stops_a_dashboard():
    w = _dashboard()
    w.run(epochs=1)
    assert _handlers_of(w, w.fig) == [("draw_event", "_on_draw_event")]
    w.click(0.5, 0.5, ax=w.ax_loss)  # no click handler here: nothing happens, nothing fails
    w.close()
    assert _handlers_of(w, w.fig) == []
    assert w.history is None and w.data is None and w.errors == [] and not w.running
    e = widgets.Explorer2D("himmelblau", "sgd", num_steps=10, grid=20)
    assert sorted(_handlers_of(e, e.fig)) == [("button_press_event", "_on_click"), ("draw_event", "_on_draw_event")]
    e.close()
    assert _handlers_of(e, e.fig) == []


@pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")  # ipympl's Toolbar
@pytest.mark.filterwarnings("error::UserWarning")  # a live build warns of nothing (equal y-limits did, once)
def test_a_live_widget_closes_its_canvas_and_toolbar_models_and_its_pyplot_figure():
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    matplotlib.use("module://ipympl.backend_nbagg", force=True)
    try:
        make = MAKERS["PhaseDiagram"]
        w = make()
        w._repr_mimebundle_()
        w.close()
        del w
        gc.collect()
        models, figures = open_models(), len(plt.get_fignums())
        refs = []
        for _ in range(3):
            w = make()
            assert w.live and w.canvas_widget is w.fig.canvas and w.layout is not None
            assert len(plt.get_fignums()) == figures + 1 and open_models() > models
            refs.append((weakref.ref(w), weakref.ref(w.fig)))
            w.close()
            del w
        gc.collect()
        assert open_models() == models and len(plt.get_fignums()) == figures
        assert all(rw() is None and rf() is None for rw, rf in refs)
    finally:
        matplotlib.use(backend, force=True)
