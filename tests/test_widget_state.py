"""Prepared demos: every widget's state saved to a JSON file (and to one line of text) and restored exactly.

For every exported widget: build a small one, change every control (and what no control holds: a typed
formula, a clicked start point, presenter mode), save, restore with ``from_state`` (or ``load_state`` for the
widgets that train nets given as functions), and compare every control value, every drawn artist and the
picture. A state from another widget, a control value out of range, an unknown control, a damaged line or a
missing argument is refused with a message that says which and why.
"""
from __future__ import annotations

import json

import ipywidgets
import matplotlib
import numpy as np
import pytest
import torch

import widgets
from lecture_utils import custom_surfaces, optim, surfaces
from lecture_utils.training import data, nets
from widgets import presenter, state as state_mod
from widgets.state import StateError

_DATA = {}


def _blobs():
    if "blobs" not in _DATA:
        _DATA["blobs"] = data.blobs(n=40, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
    return _DATA["blobs"]


def _digits():
    if "digits" not in _DATA:
        d = data.digits(seed=0, device="cpu")
        _DATA["digits"] = (d.X_train[:40], torch.eye(10)[d.y_train[:40]])
    return _DATA["digits"]


CONFIGS = {"a": lambda: (nets.MLP(4, hidden=(4,), out_dim=3), optim.SGD(lr=0.1))}


def _sharp_net():
    return nets.MLP(64, (4,), 10, activation="tanh")


#: name -> (build, arguments a state cannot hold: from_state gets them again; None = nothing missing)
MAKERS = {
    "Explorer1D": (lambda: widgets.Explorer1D("multi_minima", ["gd", "momentum", "adam"], num_steps=30), None),
    "Explorer2D": (lambda: widgets.Explorer2D("himmelblau", ["sgd", {"name": "adam", "lr": 0.05}],
                                              num_steps=30, grid=30, clipping=True), None),
    "OptimizerRace": (lambda: widgets.OptimizerRace("beale", ["sgd", optim.Adam(lr=0.02)], num_steps=30,
                                                    rank_by="final_value"), None),
    "BasinMap": (lambda: widgets.BasinMap("himmelblau", "momentum", resolution=10, num_steps=30), None),
    "PhaseDiagram": (lambda: widgets.PhaseDiagram(surfaces.get("quadratic", kappa=20.0, angle=0.4), "nesterov",
                                                  num_steps=40, resolution=(8, 6)), None),
    "SecantWidget": (lambda: widgets.SecantWidget(x=-1.0), None),
    "DirectionalDerivativeWidget": (lambda: widgets.DirectionalDerivativeWidget(point=(0.2, 0.3)), None),
    "GradientCloud": (lambda: widgets.GradientCloud(num_steps=20, num_draws=20), None),
    "QuasiNewtonEllipses": (lambda: widgets.QuasiNewtonEllipses("rosenbrock", num_steps=15), None),
    "SecondOrderRace": (lambda: widgets.SecondOrderRace("quadratic", num_steps=15), None),
    "ContinuationWidget": (lambda: widgets.ContinuationWidget(num_levels=21), None),
    "TrainingDashboard": (lambda: widgets.TrainingDashboard(CONFIGS, _blobs(), epochs=1, batch_size=64, live=False),
                          lambda: {"configs": CONFIGS, "data": _blobs()}),
    "SharpnessWidget": (lambda: widgets.SharpnessWidget(_sharp_net, _digits(), num_steps=20, max_steps=40,
                                                        every=10, num_iters=5, live=False),
                        lambda: {"make_net": _sharp_net, "data": _digits()}),
    "BatchScalingWidget": (lambda: widgets.BatchScalingWidget(_blobs(), target=0.5, seeds=(0,), batch_size=8,
                                                              lr=0.3, batch_sizes=(4, 8, 30), max_warmup=10,
                                                              max_steps=30, live=False),
                           lambda: {"data": _blobs()}),
}


def test_every_exported_widget_has_a_state_test():
    bases = {widgets.Widget, widgets.PlaybackWidget, widgets.TrajectoryWidget}
    exported = {n for n in widgets.__all__ if isinstance(getattr(widgets, n), type)
                and issubclass(getattr(widgets, n), widgets.Widget) and getattr(widgets, n) not in bases}
    assert exported == set(MAKERS)


@pytest.fixture(autouse=True)
def _normal_mode():
    yield
    if widgets.is_presenter():
        widgets.presenter_mode(False)


# ---------------------------------------------------------------------------------------------------------
# Changing every control, and reading back everything the figure shows
# ---------------------------------------------------------------------------------------------------------
def _other_value(c):
    """A value of control ``c`` other than its current one (a third or two thirds of the way along a slider)."""
    if isinstance(c, (ipywidgets.FloatLogSlider, ipywidgets.IntSlider, ipywidgets.FloatSlider)):
        points = [c.min + (c.max - c.min) * f for f in (1 / 3, 2 / 3)]
        if isinstance(c, ipywidgets.FloatLogSlider):
            points = [float(c.base ** e) for e in points]
        elif isinstance(c, ipywidgets.IntSlider):
            points = [int(round(v)) for v in points]
        return next(v for v in points if abs(v - c.value) > 1e-9 * max(1.0, abs(v)))
    if isinstance(c, ipywidgets.BoundedIntText):
        return 4242 if c.value != 4242 else 17
    if isinstance(c, ipywidgets.SelectMultiple):
        return tuple(c.options[::2])
    if isinstance(c, (ipywidgets.Dropdown, ipywidgets.ToggleButtons, ipywidgets.SelectionSlider)):
        values = [o[1] if isinstance(o, tuple) else o for o in c.options]
        return values[(values.index(c.value) + 1) % len(values)]
    if isinstance(c, (ipywidgets.Checkbox, ipywidgets.ToggleButton)):
        return not c.value
    if isinstance(c, ipywidgets.Text):
        return "x**2 + 3*y**2 + x*y"
    raise TypeError(type(c).__name__)


def change_everything(w):
    """Move every control off its first value (surface menus first: they reset the rates), type formulas,
    click a start point, switch presenter mode on."""
    if isinstance(w, widgets.Explorer2D) and "formula" in w.controls:
        for text in ("x**2 + 5*y**2", "x**4 + y**2"):  # two menu entries the state must bring back
            w.controls["formula"].value = text
    first = [n for n in widgets.Widget._state_first if n in w.controls]
    last = [n for n in ("num_steps", "steps", "step") if n in w.controls]
    for name in first + [n for n in w.controls if n not in first + last] + last:
        c = w.controls[name]
        if isinstance(c, (ipywidgets.Button, ipywidgets.Play)):
            continue
        c.value = _other_value(c)
        assert not w.error, f"{type(w).__name__}.{name}: {w.error}"
    if isinstance(w, (widgets.QuasiNewtonEllipses, widgets.SecondOrderRace, widgets.BasinMap)):
        w.click(0.3, 0.6, coords="axes")  # a start point (a path, for the basin map) only a click sets
    w.set_presenter(True)
    assert not w.error


def control_values(w) -> dict:
    """Every control's value, and the entries of every menu (typed formulas add entries)."""
    return {n: (c.value, tuple(getattr(c, "options", ()))) for n, c in w.controls.items()
            if hasattr(c, "value") and not isinstance(c, ipywidgets.Button)}


def _arr(a):
    return np.asarray(a, dtype=float) if np.size(a) else np.zeros(0)


def artists(w) -> list:
    """Everything the figure draws, as plain data: axes, lines, collections, images, texts, legends."""
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    out = []
    for ax in w.fig.axes:
        out.append(("axes", ax.get_visible(), tuple(ax.get_xlim()), tuple(ax.get_ylim()), ax.get_xscale(),
                    ax.get_yscale(), ax.get_title(), ax.get_xlabel(), ax.get_ylabel()))
        for a in ax.get_children():
            if isinstance(a, Line2D):
                x, y = a.get_data()
                out.append(("line", a.get_visible(), _arr(x), _arr(y), matplotlib.colors.to_hex(a.get_color()),
                            round(a.get_linewidth(), 6)))
            elif isinstance(a, Collection):
                arr = a.get_array()
                out.append(("collection", a.get_visible(), _arr(a.get_offsets()),
                            _arr(np.ma.filled(arr, np.nan)) if arr is not None else None))
            elif isinstance(a, AxesImage):
                out.append(("image", a.get_visible(), _arr(np.ma.filled(a.get_array(), np.nan))))
    out += [("text", t.get_text(), round(t.get_fontsize(), 6)) for t in w.fig.findobj(Text) if t.get_text()]
    return out


def assert_same_artists(a, b):
    assert len(a) == len(b), f"{len(a)} artists against {len(b)}"
    for x, y in zip(a, b):
        assert x[0] == y[0] and len(x) == len(y), (x[:2], y[:2])
        for u, v in zip(x, y):
            if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
                assert u is not None and v is not None and np.shape(u) == np.shape(v), (x[0], np.shape(u), np.shape(v))
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=str(x[0]))
            else:
                assert u == v, (x[0], u, v)


def _restore(name, saved):
    cls = getattr(widgets, name)
    extra = MAKERS[name][1]
    if extra is None:
        return cls.from_state(saved)
    return cls.from_state(saved, **extra())


# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MAKERS))
def test_save_and_restore_every_control_and_every_artist(name, tmp_path):
    w = MAKERS[name][0]()
    change_everything(w)
    path = w.save_state(tmp_path / "demo.json")
    saved = json.loads(path.read_text())
    assert saved["widget"] == name and saved["presenter"] is True and path.stat().st_size < 20_000
    again = _restore(name, path)
    third = _restore(name, w.state_string())  # the one-line form
    assert control_values(again) == control_values(w) == control_values(third)
    assert again.presenter and third.presenter and not again.error and not third.error
    drawn = [(_pixels(x), artists(x)) for x in (w, again, third)]  # drawn first: tick labels are artists too
    for pixels, shown in drawn[1:]:
        assert_same_artists(shown, drawn[0][1])
        assert np.array_equal(pixels, drawn[0][0]), "the restored widget draws another picture"
    line = w.state_string()
    assert line.startswith(state_mod.PREFIX) and "\n" not in line
    for x in (w, again, third):
        x.close()


def _pixels(w):
    from PIL import Image
    import io

    return np.asarray(Image.open(io.BytesIO(w.to_png())))


def test_a_state_holds_no_function_and_asks_for_it_by_name():
    w = MAKERS["TrainingDashboard"][0]()
    w.controls["epochs"].value = 3
    saved = w.state()
    assert saved["arguments"]["configs"] == {"missing": "a dict holding a function"}
    with pytest.raises(StateError, match=r"TrainingDashboard.from_state needs (configs|data)=\.\.\."):
        widgets.TrainingDashboard.from_state(saved)
    other = widgets.TrainingDashboard(CONFIGS, _blobs(), epochs=1, batch_size=64, live=False)
    other.load_state(saved)
    assert other.controls["epochs"].value == 3


def test_a_custom_surface_or_optimizer_class_is_saved_as_missing_and_must_be_given_again():
    class GD(optim.Optimizer):
        def update(self, x, g, state, lr, t):
            return x - lr * g

    bowl = surfaces.Surface("bowl", 2, [(-2, 2), (-2, 2)], lambda X: (X ** 2).sum(1), lambda X: 2 * X,
                            lambda X: np.broadcast_to(2 * np.eye(2), (len(X), 2, 2)).copy(),
                            known_points=[((0, 0), "minimum")], search=False)
    w = widgets.Explorer2D(bowl, GD(lr=0.1), num_steps=20, grid=20, functions=False)
    saved = w.state()
    assert saved["arguments"]["surface"] == {"missing": "the surface 'bowl', defined in code"}
    assert "a GD optimizer" in saved["arguments"]["optimizers"]["missing"]
    with pytest.raises(StateError, match="needs surface="):
        widgets.Explorer2D.from_state(saved)
    again = widgets.Explorer2D.from_state(saved, surface=bowl, optimizers="gd")
    assert again.controls["lr"].value == w.controls["lr"].value and "momentum" not in again.controls


def test_saved_surfaces_come_back_the_same():
    cases = [surfaces.get("rosenbrock"), surfaces.get("quadratic", kappa=37.0, angle=0.3),
             surfaces.get("himmelblau").with_bounds([(-3, 3), (-2, 2)]),
             surfaces.from_quadratic(np.array([[3.0, 1.0], [1.0, 2.0]]), b=[1.0, -1.0], name="raw inputs"),
             custom_surfaces.from_expression("x**2 + sin(3*y)", bounds=[(-2, 2), (-1, 1)]),
             surfaces.get("sin_parabola")]
    for s in cases:
        spec = state_mod.surface_spec(s)
        assert spec is not None, s.name
        t = state_mod.build_surface(json.loads(json.dumps(spec)))
        assert (t.name, t.formula, t.dim, t.bounds) == (s.name, s.formula, s.dim, s.bounds)
        grid = np.random.default_rng(0).uniform(-1, 1, (50, s.dim))
        np.testing.assert_allclose(t.value(grid), s.value(grid), rtol=1e-12)


def test_a_state_of_another_widget_is_refused(tmp_path):
    w = widgets.SecantWidget()
    path = w.save_state(tmp_path / "secant.json")
    with pytest.raises(StateError, match="saved from a SecantWidget, not an Explorer2D: use SecantWidget.from_state"):
        widgets.Explorer2D.from_state(path)
    with pytest.raises(StateError, match="saved from a SecantWidget"):
        widgets.Explorer1D("sin_parabola").load_state(path)


@pytest.mark.parametrize("control, value, message", [
    ("h", 100.0, r"controls\['h'\] = 100.0 is refused: outside its range \[0.0001, 4\]"),
    ("h", "big", r"controls\['h'\] = 'big' is refused: it takes a finite number"),
    ("kind", "backward", r"controls\['kind'\] = 'backward' is refused: not among its options"),
    ("x", float("nan"), r"controls\['x'\] = nan is refused: it takes a finite number"),
    ("width", 3.0, r"control\(s\) \['width'\] that this SecantWidget does not have"),
])
def test_bad_values_are_refused_with_the_control_and_the_reason(control, value, message):
    saved = widgets.SecantWidget().state()
    saved["controls"][control] = state_mod.encode(value)
    with pytest.raises(StateError, match=message):
        widgets.SecantWidget.from_state(saved)


def test_damaged_or_foreign_input_is_refused(tmp_path):
    line = widgets.SecantWidget().state_string()
    with pytest.raises(StateError, match="copied only in part"):
        widgets.SecantWidget.from_state(line[:-12])
    bad = tmp_path / "notes.json"
    bad.write_text('{"title": "my notes"}')
    with pytest.raises(StateError, match="no 'widget' and 'controls'"):
        widgets.SecantWidget.from_state(bad)
    with pytest.raises(StateError, match="no widget state at"):
        widgets.SecantWidget.from_state(tmp_path / "missing.json")
    saved = widgets.SecantWidget().state()
    saved["format"] = 99
    with pytest.raises(StateError, match="format 99"):
        widgets.SecantWidget.from_state(saved)
    saved = widgets.SecantWidget().state()
    saved["arguments"]["h"] = 50.0
    with pytest.raises(StateError, match="the saved arguments do not build a SecantWidget: h must be"):
        widgets.SecantWidget.from_state(saved)
    with pytest.raises(TypeError, match="a widget state is a file path"):
        widgets.SecantWidget.from_state(3)


def test_a_state_restores_presenter_mode_for_that_widget_only():
    w = widgets.Explorer2D("rosenbrock", ["sgd", "adam"], num_steps=20, grid=20)
    w.set_presenter(True)
    again = widgets.Explorer2D.from_state(w.state_string())
    assert again.presenter and not widgets.is_presenter()
    sizes = [t.get_fontsize() * again.fig.dpi / 72 for t in again.fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert min(sizes) >= presenter.PRESENTER_MIN_TEXT_PX - 1e-6
    again.set_presenter(False)
    plain = widgets.Explorer2D("rosenbrock", ["sgd", "adam"], num_steps=20, grid=20)
    assert [round(t.get_fontsize(), 9) for t in again.fig.findobj(matplotlib.text.Text) if t.get_text()] == \
        [round(t.get_fontsize(), 9) for t in plain.fig.findobj(matplotlib.text.Text) if t.get_text()]
