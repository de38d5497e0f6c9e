"""Fuzz every widget the package exports: each control through its whole range, random sequences of moves
(hypothesis), the play / step / reset buttons, typed formulas (hostile ones too) and clicks at the edges of
and outside the axes.

After every move: no callback error was recorded (a bad formula or an empty choice gets one clear message),
no warning was raised (warnings are errors around the moves: divergence is a result, never a warning), and the
figure matches the state (the drawn step marker is the step slider's, the status line names the current
learning rate, the markers sit where the sliders say). Headless (Agg), bounded: small widgets, few examples.
Run with ``-s`` to see how many moves each widget got.
"""
from __future__ import annotations

import collections
import math
import warnings

import ipywidgets
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import widgets
from lecture_utils import optim, surfaces
from lecture_utils.training import data, nets

#: Moves tried per widget class (printed at the end of the module).
MOVES: collections.Counter = collections.Counter()

#: Formulas a student might type, and a few no one should: each gives a surface or one clear message.
FORMULAS = [
    "x**2 + 5*y**2",
    "x**2 + sin(3*y",                      # unbalanced
    "x**2 + 3*y**2 + foo(x)",              # unknown function
    "1e300*(x**2 + y**2)",                 # values near the top of the float range
    "-1e300*(x**2 + y**2)",
    "1e-300*(x**2 + y**2)",
    "1e308*x + y",                         # overflows to inf over part of the box
    "exp(1000*x) + y**2",
    "log(x) + y",                          # NaN over half of the box
    "sqrt(-1 - x**2 - y**2)",              # NaN everywhere
    "1",                                   # flat: no contour line
    "0*x + 0*y",
    "x**2 + 5*y**2",                       # the same formula again: the same menu entry
    "x / (x - x) + y",                     # division by zero everywhere
    "__import__('os').system('true')",
    "x.__class__",
    "lambda: 0",
    "x y",
    "z + x",
    "x" * 600,                             # too long
    "((((((((((x))))))))))**2 + y**2",
    "x^2 - y^2",
    "   ",
    "",
]

#: Axes fractions for clicks: corners, edges, just outside, far outside.
CLICKS = [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.5, 0.5), (0.999, 0.001), (-0.05, 0.5),
          (0.5, 1.05), (1.3, -0.3), (-2.0, 3.0)]


# ---------------------------------------------------------------------------------------------------------
# The widgets: a small configuration of each, and what must hold after every move
# ---------------------------------------------------------------------------------------------------------
def _xy(line):
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def _same(a, b, tol=1e-9):
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return a.shape == b.shape and np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def _check_trajectory(w):
    """Explorer1D, Explorer2D, OptimizerRace: the stored runs are those of the sliders, drawn at the step."""
    k = w.step
    assert w.step_line.get_xdata()[0] == k, "the step marker is not at the step slider"
    lines = w.status_text.splitlines()
    assert len(lines) == len(w.trajs) == len(w.specs)
    start = [w.controls["x0"].value] + ([w.controls["y0"].value] if "y0" in w.controls else [])
    for i, traj in enumerate(w.trajs):
        assert w.label(i) in lines[i], f"status line {i} does not name the current rate: {lines[i]!r}"
        assert traj.num_steps == w.num_steps
        assert _same(traj.xs[0, 0], start), "the stored run does not start at the start sliders"
        k_i = min(k, traj.num_steps)
        if traj.xs.shape[-1] == 2:
            assert _same(np.ravel(_xy(w.points[i])), traj.xs[k_i, 0]), "the marker is not the run at the step"
        else:
            assert _same(_xy(w.points[i])[0], traj.xs[k_i, 0, 0])
        assert len(w.paths[i].get_xdata()) == k_i + 1
    sx, sy = _xy(w.start_marker)
    assert _same(sx[0], start[0]) and (len(start) == 1 or _same(sy[0], start[1]))


def _check_explorer2d(w):
    _check_trajectory(w)
    if "function" in w.controls:
        labels = [label for label, _ in w.controls["function"].options]
        typed = [lab for lab in labels if lab.startswith("formula:")]
        assert len(typed) == len(set(typed)), f"a formula is listed twice: {typed}"
    assert w.contour_sets and all(cs.axes is w.ax for cs in w.contour_sets), "the contour plot is gone"


def _check_race(w):
    _check_explorer2d(w)
    assert sorted(r["index"] for r in w.results) == list(range(len(w.specs)))
    assert f"f at step {min(w.step, w.num_steps)}" in w.table.value


def _check_basin(w):
    opt = w.optimizer()
    n = int(w.controls["num_steps"].value)
    assert w.ax.get_title() == f"{opt.label}, {n} steps", "the title does not name the current settings"
    assert w.traj.num_steps == n
    img = np.ma.asarray(w.image.get_array())
    if w.controls["color_by"].value == "outcome":
        assert _same(img.reshape(-1), w.codes), "the map does not show the current outcomes"
    assert w.status_text.startswith(f"{w.codes.size} starts")
    if w.probe is not None:
        px, py = _xy(w.probe_line)
        assert len(px) == n + 1 and _same([px[0], py[0]], w.probe)


def _check_phase(w):
    lr, m = float(w.controls["lr"].value), float(w.controls["momentum"].value)
    assert _same(np.ravel(_xy(w.marker)), [lr, m]), "the marker is not at the sliders"
    first = w.status_text.splitlines()[0]
    assert first.startswith(f"lr = {lr:.3g}, {w.mname} = {m:.2f}: "), first
    n = int(w.controls["num_steps"].value)
    assert len(w.run_line.get_xdata()) == n + 1 and w.traj.num_steps == n
    lo, hi = w.ax_run.get_ylim()
    assert 0 < lo < hi < math.inf


def _check_secant(w):
    x, h, kind = w.controls["x"].value, w.controls["h"].value, w.controls["kind"].value
    xs, _ = _xy(w.points)
    assert _same(xs, [x, x + h] if kind == "forward" else [x - h, x + h])
    assert f"h = {h:.3g}: {kind}" in w.status_text and f"at x = {x:.2f}" in w.status_text
    assert w.err_marker.get_xdata()[0] == h


def _check_directional(w):
    angle = w.controls["angle"].value
    assert _same(np.ravel(_xy(w.dir_marker)), [angle, w.value])
    assert _same(np.ravel(w.point_marker.get_data()), w.point)
    e = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    assert _same(w.e, e) and f"e at {angle:.0f} deg" in w.status_text


def _check_cloud(w):
    k, lr, B = w.step, w.controls["lr"].value, w.controls["batch_size"].value
    assert w.step_marker.get_xdata()[0] == k
    assert _same(np.ravel(w.current.get_data()), w.path[k])
    assert len(w.path) == w.num_steps + 1 and w.selection.shape == (w.num_draws, w.problem.n)
    assert np.all((w.selection > 0).sum(axis=1) == B) and np.allclose(w.selection.sum(axis=1), 1.0)
    assert f"batch size {B}, lr {lr:.3g}, update {k}:" in w.status_text


def _check_quasi_newton(w):
    k = w.step
    assert w.step_line.get_xdata()[0] == k
    px, py = _xy(w.path_line)
    assert len(px) == k + 1 and _same([px[0], py[0]], w.traj.xs[0, 0]) and _same([px[-1], py[-1]], w.traj.xs[k, 0])
    assert len(w.history_ellipses.get_segments()) == k
    assert w.status_text.startswith(f"step {k}: ")
    assert w.traj.label.startswith("L-BFGS" if w.controls["method"].value == "L-BFGS" else "BFGS")


def _check_second_order_race(w):
    k = w.step
    assert w.step_line.get_xdata()[0] == k
    shown = set(w.controls["methods"].value)
    assert shown, "an empty choice is refused: the control goes back to the methods drawn"
    for name, line in w.path_lines.items():
        assert line.get_visible() == (name in shown)
        if name in shown:
            assert _same(np.ravel(_xy(line))[[k, 2 * k + 1]], w.trajs[name].xs[k, 0])
    assert len(w.status_text.splitlines()) == len(shown)


def _check_continuation(w):
    sigma, x0 = w.controls["sigma"].value, w.controls["x0"].value
    assert w.sigma_line.get_ydata()[0] == pytest.approx(sigma)
    x, y = w.curve.get_data()
    assert _same(y, w.f.value(x, sigma), tol=1e-9)
    assert w.x0_line.get_xdata()[0] == pytest.approx(x0)
    assert w.status_text.startswith(f"σ = {sigma:.2f}: ")


def _check_sharpness(w):
    lr = w.lr
    assert w.lines["threshold"].get_ydata()[0] == pytest.approx(2.0 / lr), "the 2 / lr line is not at the slider"
    if not w.running and w.history is None:
        assert w.ax_loss.get_xlim() == (0, w.controls["steps"].value)
        assert f"2 / lr = {2.0 / lr:.3g}" in w.status_text
    if w.history is not None:
        assert _same(w.lines["loss"].get_ydata(), w.history.step_loss[0][: len(w.lines["loss"].get_ydata())])
    assert not w.running


def _check_batch_scaling(w):
    B, lr, W = int(w.controls["batch_size"].value), float(w.controls["lr"].value), int(w.controls["warmup"].value)
    r = w.result
    assert r.batch_size == B, "the stored run is not the batch size on the slider"
    assert w.status_text.startswith(f"batch size {B}, learning rate {lr:.3g}, warmup {W} steps")
    for line, curve in zip(w.lines["seeds"], r.losses[:, 0, :].T):
        assert _same(line.get_xdata(), r.record_steps * B) and _same(line.get_ydata(), curve)


def _check_dashboard(w):
    if not w.running and not w.history:
        assert w.ax_acc.get_xlim() == (0, w.controls["epochs"].value)
    for label, h in w.history.items():
        tr, _, acc = w.lines[label]
        epochs = h["epoch"] if len(h) else []
        assert _same(tr.get_xdata(), epochs) and _same(acc.get_xdata(), epochs)
    assert w.status_text.startswith(f"device: {w.device}")
    assert not w.running


_DATA = {}


def _tiny_dashboard():
    if "blobs" not in _DATA:
        _DATA["blobs"] = data.blobs(n=40, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
    cfg = {"plain": lambda: (nets.MLP(4, hidden=(4,), out_dim=3), optim.SGD(lr=0.1)),
           "too fast": lambda: (nets.MLP(4, hidden=(4,), out_dim=3), optim.SGD(lr=1e30))}
    return widgets.TrainingDashboard(cfg, _DATA["blobs"], epochs=1, batch_size=64, live=False)


def _tiny_sharpness():
    if "digits" not in _DATA:
        d = data.digits(seed=0, device="cpu")
        _DATA["digits"] = (d.X_train[:40], torch.eye(10)[d.y_train[:40]])
    return widgets.SharpnessWidget(lambda: nets.MLP(64, (4,), 10, activation="tanh"), _DATA["digits"], lr=1.0,
                                   lr_range=(0.05, 50.0), num_steps=20, max_steps=40, every=10, num_iters=5,
                                   live=False)


def _tiny_batch_scaling():
    if "blobs" not in _DATA:
        _DATA["blobs"] = data.blobs(n=40, num_classes=3, dim=4, std=1.0, seed=0, device="cpu")
    return widgets.BatchScalingWidget(_DATA["blobs"], target=0.5, seeds=(0, 1), batch_size=8, lr=0.3,
                                      batch_sizes=(4, 8, 30), max_warmup=10, max_steps=30, live=False)


#: name -> (build a small one, check that what it shows is its state)
CASES = {
    "Explorer1D": (lambda: widgets.Explorer1D("multi_minima", ["gd", "sgd", "adam"], num_steps=30),
                   _check_trajectory),
    "Explorer2D": (lambda: widgets.Explorer2D("himmelblau", ["sgd", "momentum", "adam"], num_steps=30, grid=30,
                                              clipping=True),
                   _check_explorer2d),
    "OptimizerRace": (lambda: widgets.OptimizerRace("beale", ["sgd", "adam"], num_steps=30),
                      _check_race),
    "BasinMap": (lambda: widgets.BasinMap("himmelblau", "momentum", resolution=10, num_steps=30),
                 _check_basin),
    "PhaseDiagram": (lambda: widgets.PhaseDiagram(surfaces.get("quadratic", kappa=20.0, angle=0.4), "momentum",
                                                  num_steps=40, resolution=(8, 6)),
                     _check_phase),
    "SecantWidget": (widgets.SecantWidget, _check_secant),
    "DirectionalDerivativeWidget": (widgets.DirectionalDerivativeWidget, _check_directional),
    "GradientCloud": (lambda: widgets.GradientCloud(num_steps=20, num_draws=20), _check_cloud),
    "QuasiNewtonEllipses": (lambda: widgets.QuasiNewtonEllipses("rosenbrock", num_steps=15),
                            _check_quasi_newton),
    "SecondOrderRace": (lambda: widgets.SecondOrderRace("quadratic", num_steps=15), _check_second_order_race),
    "ContinuationWidget": (lambda: widgets.ContinuationWidget(num_levels=21), _check_continuation),
    "TrainingDashboard": (_tiny_dashboard, _check_dashboard),
    "SharpnessWidget": (_tiny_sharpness, _check_sharpness),
    "BatchScalingWidget": (_tiny_batch_scaling, _check_batch_scaling),
}

#: Moves that may be refused, and the one clear message each may give (``callback: ValueError: ...``).
REFUSALS = {"formula": "on_formula: ValueError: ", "methods": "on_methods: ValueError: select at least one"}

_BUILT: dict = {}


def _widget(name):
    if name not in _BUILT:
        make = CASES[name][0]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _BUILT[name] = make()
    return _BUILT[name]


@pytest.fixture(scope="module", autouse=True)
def _close_and_report():
    yield
    for w in _BUILT.values():
        w.close()
    _BUILT.clear()
    total = sum(MOVES.values())
    print(f"\nfuzz moves per widget ({total} in all):")
    for name, n in sorted(MOVES.items()):
        print(f"  {name:28s} {n:5d}")


def test_every_exported_widget_is_fuzzed():
    bases = {widgets.Widget, widgets.PlaybackWidget, widgets.TrajectoryWidget}
    exported = {name for name in widgets.__all__
                if isinstance(getattr(widgets, name), type) and issubclass(getattr(widgets, name), widgets.Widget)
                and getattr(widgets, name) not in bases}
    assert exported == set(CASES)


# ---------------------------------------------------------------------------------------------------------
# Moves
# ---------------------------------------------------------------------------------------------------------
def _range_value(c, frac: float):
    """The value ``frac`` of the way through control ``c``'s range (its current range: steps follow num_steps)."""
    if isinstance(c, ipywidgets.FloatLogSlider):
        return c.base ** (c.min + frac * (c.max - c.min))
    if isinstance(c, (ipywidgets.IntSlider, ipywidgets.Play)):
        return int(round(c.min + frac * (c.max - c.min)))
    if isinstance(c, ipywidgets.FloatSlider):
        return c.min + frac * (c.max - c.min)
    if isinstance(c, ipywidgets.BoundedIntText):
        return int(round(c.min + frac * (c.max - c.min)))
    raise TypeError(type(c))


def _values(c, n_between: int = 3):
    """Min, max and values in between for a slider; every option for a choice; both states of a toggle."""
    if isinstance(c, (ipywidgets.FloatLogSlider, ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.Play,
                      ipywidgets.BoundedIntText)):
        fracs = [0.0, 1.0] + [(i + 1) / (n_between + 1) for i in range(n_between)]
        return [("frac", f) for f in fracs]
    if isinstance(c, ipywidgets.SelectMultiple):
        n = len(c.options)
        return [("index", ()), ("index", tuple(range(n))), ("index", (0,)), ("index", (n - 1, 1 % n))]
    if isinstance(c, (ipywidgets.Dropdown, ipywidgets.ToggleButtons, ipywidgets.SelectionSlider)):
        return [("index", i) for i in range(len(c.options))]
    if isinstance(c, (ipywidgets.Checkbox, ipywidgets.ToggleButton)):
        return [("value", not c.value), ("value", c.value)]
    if isinstance(c, ipywidgets.Text):
        return [("text", f) for f in FORMULAS]
    if isinstance(c, ipywidgets.Button):
        return [("click", None)]
    raise TypeError(f"no moves for {type(c).__name__}")


def _apply(w, name: str, how: str, arg):
    """One move: ``how`` is 'frac' (a fraction of the slider's range), 'value', 'index', 'text', 'click' (a
    button), 'playing' (press play / pause) or 'canvas' (a click at axes fraction ``arg`` on panel ``name``)."""
    if how == "canvas":
        ax = getattr(w, name)
        w.click(*arg, ax=ax, coords="axes")
        return
    c = w.controls[name]
    if how == "frac":
        c.value = _range_value(c, arg)
    elif how == "index" and isinstance(c, ipywidgets.SelectMultiple):
        c.index = tuple(i for i in arg if i < len(c.options))
    elif how == "index":
        c.index = arg % len(c.options)
    elif how in ("value", "text"):
        c.value = arg
    elif how == "click":
        c.click()
    elif how == "playing":
        c.playing = not c.playing
    else:
        raise ValueError(how)


def _move(case: str, w, name: str, how: str, arg):
    """Apply a move with warnings as errors; then no new error (or one clear refusal) and the figure checks."""
    n_errors = len(w.errors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _apply(w, name, how, arg)
        new = w.errors[n_errors:]
        refusal = REFUSALS.get(name)
        if refusal is not None and new:
            assert len(new) == 1 and new[0].startswith(refusal) and "Traceback" not in new[0], new
            assert w.error == new[0], "the refusal is not on screen"
        else:
            assert not new, f"{case}: {name} {how} {arg!r} raised in a callback: {new}"
        CASES[case][1](w)
    MOVES[case] += 1


def _draw(case: str, w):
    """Draw the whole figure, as the screen would, with warnings as errors: the state is drawable."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.fig.canvas.draw()
    assert w.errors == [] or all(e.startswith(tuple(REFUSALS.values())) for e in w.errors), w.errors


def _canvas_axes(w):
    """The panels a click can land on: the main one and the others that are visible."""
    names = [n for n in ("ax", "ax_value", "ax_run", "ax_curve", "ax_err", "ax_slice", "ax_dir", "ax_map",
                         "ax_loss", "ax_acc", "ax_key", "ax3d") if getattr(w, n, None) is not None]
    return [n for n in names if getattr(w, n).get_visible()]


# ---------------------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------------------
def _train_dashboard(case, w):
    for epochs in (1, 2):
        _move(case, w, "epochs", "value", epochs)
        _move(case, w, "start", "click", None)
        assert set(w.history) == set(w.configs) and "done" in w.status_text
    assert "too fast: " in w.status_text and "diverged at step" in w.status_text


def _train_sharpness(case, w):
    for lr in (0.5, 50.0):  # a run that trains, and one that diverges
        _move(case, w, "lr", "value", lr)
        _move(case, w, "steps", "value", 20)
        _move(case, w, "start", "click", None)
        assert w.history is not None and w.history.steps[-1] <= 20
    assert "diverged" in w.status_text


#: Widgets that train on a button press: the presses, at a small number of steps (the generic loop skips them).
TRAINING = {"TrainingDashboard": _train_dashboard, "SharpnessWidget": _train_sharpness}


@pytest.mark.parametrize("case", list(CASES))
def test_every_control_through_its_whole_range(case):
    w = _widget(case)
    CASES[case][1](w)  # the first impression is consistent too
    assert w.errors == []
    for name, c in list(w.controls.items()):
        if name == "start":
            continue  # trained below, at a small number of epochs
        before = c.index if isinstance(c, (ipywidgets.Dropdown, ipywidgets.ToggleButtons,
                                           ipywidgets.SelectionSlider, ipywidgets.SelectMultiple)) else None
        start_value = c.value if hasattr(c, "value") and not isinstance(c, ipywidgets.Text) else None
        for how, arg in _values(c):
            _move(case, w, name, how, arg)
        if isinstance(c, ipywidgets.Play):
            for _ in range(3):
                _move(case, w, name, "playing", None)
        if not isinstance(c, (ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.IntSlider,
                              ipywidgets.Play, ipywidgets.Button)):
            _draw(case, w)  # a choice changes what is on the figure (a surface, a view, the methods)
        # back where it was, so the next control is fuzzed on the widget's first configuration
        if before is not None:
            _move(case, w, name, "index", before)
        elif start_value is not None and not isinstance(c, ipywidgets.Button):
            _move(case, w, name, "value", start_value)
    TRAINING.get(case, lambda case, w: None)(case, w)
    for ax_name in _canvas_axes(w):
        for frac in CLICKS:
            _move(case, w, ax_name, "canvas", frac)
    _draw(case, w)


@st.composite
def _moves(draw, w):
    names = [n for n in w.controls if n != "start"]
    out = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["control", "control", "control", "canvas"]))
        if kind == "canvas":
            ax = draw(st.sampled_from(_canvas_axes(w)))
            fx = draw(st.one_of(st.sampled_from([0.0, 1.0, -0.1, 1.1]), st.floats(-0.3, 1.3)))
            fy = draw(st.one_of(st.sampled_from([0.0, 1.0, -0.1, 1.1]), st.floats(-0.3, 1.3)))
            out.append((ax, "canvas", (fx, fy)))
            continue
        name = draw(st.sampled_from(names))
        c = w.controls[name]
        if isinstance(c, ipywidgets.Play) and draw(st.booleans()):
            out.append((name, "playing", None))
        elif isinstance(c, (ipywidgets.FloatLogSlider, ipywidgets.IntSlider, ipywidgets.FloatSlider,
                            ipywidgets.Play, ipywidgets.BoundedIntText)):
            out.append((name, "frac", draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0)))))
        else:
            out.append((name, *draw(st.sampled_from(_values(c)))))
    return out


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_sequences_of_moves(case, data):
    w = _widget(case)
    for name, how, arg in data.draw(_moves(w)):
        _move(case, w, name, how, arg)
    _EXAMPLES[case] += 1
    if _EXAMPLES[case] % 3 == 0:  # a full draw costs more than the moves: every third sequence
        _draw(case, w)


_EXAMPLES: collections.Counter = collections.Counter()


# ---------------------------------------------------------------------------------------------------------
# The defects these tests found, each pinned by a test of its own
# ---------------------------------------------------------------------------------------------------------
def test_phase_diagram_shows_a_diverging_choice():
    """A diverging (lr, momentum), the red region, used to raise in the callback (10**309 reached set_ylim)
    and left the status line and the right panel showing the previous choice."""
    w = widgets.PhaseDiagram(surfaces.get("quadratic", kappa=20.0, angle=0.4), "momentum", num_steps=150,
                             resolution=(30, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.set(lr=1.0, momentum=0.0)
    one = optim.run(w.surface, optim.SGD(lr=1.0, momentum=0.0), w.x0, 150)
    assert one.diverged_at[0] >= 0
    assert w.errors == [] and w.status_text.startswith("lr = 1, momentum = 0.00: diverged at step")
    np.testing.assert_allclose(w.run_line.get_ydata(), one.grad_norms[:, 0])
    g = one.grad_norms[:, 0]
    lo, hi = w.ax_run.get_ylim()  # whole decades, as floats, around the run as far as 1e300
    assert 0 < lo <= g[np.isfinite(g)].min() and min(g[np.isfinite(g)].max(), 1e300) <= hi <= 1e300
    w.close()


def test_explorer2d_draws_a_formula_with_values_near_the_float_limit():
    """``1e300*(x**2+y**2)``: matplotlib's contour arithmetic overflowed on its levels; contours depend only
    on the order of the values, so they are drawn at a scale near 1."""
    w = widgets.Explorer2D("himmelblau", "sgd", num_steps=30, grid=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.controls["formula"].value = "1e300*(x**2+y**2)"
        w.controls["view3d"].value = True
        w.fig.canvas.draw()
    assert w.errors == [] and w.surface.name == "1e300*(x**2+y**2)" and len(w.contour_sets) == 2
    assert w.z_range[0] < w.z_range[1] <= 1e300
    assert "diverged" in w.status_text  # the rate floor 1e-5 is far too large for curvature 2e300: a result
    w.close()


def test_explorer2d_keeps_the_previous_surface_when_a_contour_cannot_be_drawn(monkeypatch):
    """A contour that failed half-way (``1e300*(x**2+y**2)`` did, before it was drawn at scale) removed the
    old contours first and left the widget broken for good: every later choice failed with
    ``list.remove(x): x not in list`` and the contour was gone. Now the surface stays, the error is shown,
    and every later choice works."""
    w = widgets.Explorer2D("himmelblau", "sgd", num_steps=30, grid=30)
    shown, contours, title = w.surface, list(w.contour_sets), w.ax.get_title()
    x0 = (w.controls["x0"].value, w.controls["y0"].value)

    def broken(*args, **kwargs):
        raise ValueError("upper_level must be larger than lower_level")

    monkeypatch.setattr(w.ax, "contour", broken)  # contourf succeeds, contour fails: nothing may stay
    n_artists = len(w.ax.collections)
    w.controls["formula"].value = "x**2 + 3*y**2"
    assert w.surface is shown and w.contour_sets == contours and w.ax.get_title() == title
    assert len(w.ax.collections) == n_artists and (w.controls["x0"].value, w.controls["y0"].value) == x0
    assert w.error.startswith("on_formula: ValueError: the contours of 'x**2 + 3*y**2' cannot be drawn")
    assert "Traceback" not in w.error and "the surface stays 'himmelblau'" in w.error
    labels = [label for label, _ in w.controls["function"].options]
    assert labels[w.controls["function"].value] == "himmelblau"  # the menu names what is shown
    assert not any("x**2 + 3*y**2" in lab for lab in labels)
    w.controls["function"].value = labels.index("rosenbrock")  # a menu choice that fails goes back too
    assert w.surface is shown and labels[w.controls["function"].value] == "himmelblau"
    monkeypatch.undo()
    w.controls["function"].value = labels.index("rosenbrock")  # every later choice works
    assert w.error == "" and w.surface.name == "rosenbrock" and len(w.contour_sets) == 2
    assert all(cs.axes is w.ax for cs in w.contour_sets) and w.ax.get_title() != title
    w.controls["formula"].value = "x**2 + 3*y**2"
    assert w.error == "" and w.surface.name == "x**2 + 3*y**2"
    w.fig.canvas.draw()
    w.close()


def test_explorer2d_same_formula_typed_again_reuses_its_menu_entry():
    w = widgets.Explorer2D("himmelblau", "sgd", num_steps=30, grid=30)
    n = len(w.controls["function"].options)
    for text in ("x**2 + y**2", "x**2 - y**2", "x**2 + y**2", "x**2 - y**2", "x**2 + y**2"):
        w.controls["formula"].value = text
        labels = [label for label, _ in w.controls["function"].options]
        assert labels[w.controls["function"].value] == f"formula: {text}" and w.surface.name == text
    assert len(w.controls["function"].options) == n + 2
    w.controls["function"].value = 0  # a menu choice empties the box, so the formula can be typed again
    assert w.controls["formula"].value == ""
    w.controls["formula"].value = "x**2 + y**2"
    assert w.surface.name == "x**2 + y**2" and len(w.controls["function"].options) == n + 2
    assert w.errors == []
    w.close()


def test_explorer2d_3d_view_takes_a_formula_that_overflows_and_a_hidden_3d_view_is_not_drawn():
    """Found by the fuzz: with the 3D view made once, ``1e308*x + y`` (inf over part of the box) raised a
    RuntimeWarning in the 3D height range after the surface had been half replaced; and a 3D view switched on
    and off before any draw left its paths (animated artists of a never-drawn axes) to be drawn: TypeError."""
    w = widgets.Explorer2D("himmelblau", "sgd", num_steps=30, grid=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w.controls["view3d"].value = True
        w.controls["view3d"].value = False
        w.fig.canvas.draw()  # the 3D axes is hidden and was never drawn
        w.controls["formula"].value = "1e308*x + y"
        w.controls["view3d"].value = True
        w.fig.canvas.draw()
    assert w.errors == [] and w.surface.name == "1e308*x + y"
    lo, hi = w.z_range
    assert -1e300 <= lo < hi <= 1e300
    w.close()


def test_second_order_race_refuses_an_empty_choice_and_shows_the_methods_it_draws():
    """Found by the fuzz: an empty choice was refused, but the control stayed empty while the figure still
    drew the previous methods. The choice now goes back to what is drawn, with the message shown."""
    w = widgets.SecondOrderRace("quadratic", num_steps=10)
    w.set(methods=("Newton", "BFGS"))
    w.set(methods=())
    assert w.error == "on_methods: ValueError: select at least one method"
    assert w.controls["methods"].value == ("Newton", "BFGS")
    assert [n for n, line in w.path_lines.items() if line.get_visible()] == ["Newton", "BFGS"]
    w.close()
