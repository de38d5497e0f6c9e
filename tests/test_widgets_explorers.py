"""Explorer1D and Explorer2D driven headless: set controls from code, check the artists against optim.run."""
from __future__ import annotations


import numpy as np
import pytest

from lecture_utils import custom_surfaces, optim, surfaces
from widgets import Explorer1D, Explorer2D, presenter_mode


def _xy(line):
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


# ---------------------------------------------------------------------------------------------------------
# Explorer1D
# ---------------------------------------------------------------------------------------------------------
def test_explorer1d_gradient_ascent_path_matches_optim_run_on_negated_surface():
    w = Explorer1D("sin_parabola", maximize=True, x0=-2.0, lr=0.01, num_steps=80)
    s = surfaces.get("sin_parabola")
    traj = optim.run(s.negated(), optim.SGD(lr=0.01), [-2.0], num_steps=80)
    x, y = _xy(w.paths[0])
    assert w.controls["step"].value == 80  # first impression: the whole run
    np.testing.assert_allclose(x, traj.xs[:, 0, 0])
    np.testing.assert_allclose(y, s.value(traj.xs[:, 0, 0]))  # f is drawn, not -f
    assert y[-1] > y[0]  # ascent went uphill
    np.testing.assert_allclose(_xy(w.value_lines[0])[1], -traj.values[:, 0])
    assert w.status_text.startswith("SGD(lr=0.01): " + traj.status(0))
    assert "ascent" in w.ax.get_title()


def test_explorer1d_step_slider_and_play_index_the_stored_trajectory_and_tangent_is_f_prime():
    w = Explorer1D("multi_minima", lr=0.05, x0=3.2, num_steps=80)
    traj = optim.run(surfaces.get("multi_minima"), optim.SGD(lr=0.05), [3.2], num_steps=80)
    calls = []
    w.recompute = lambda: calls.append(1)  # the step slider must not recompute
    for k in (0, 7, 33):
        w.controls["step"].value = k
        px, py = _xy(w.points[0])
        assert px[0] == pytest.approx(traj.xs[k, 0, 0])
        assert len(w.paths[0].get_xdata()) == k + 1
        tx, ty = _xy(w.tangents[0])
        slope = (ty[1] - ty[0]) / (tx[1] - tx[0])
        assert slope == pytest.approx(float(surfaces.get("multi_minima").grad(traj.xs[k, 0, 0])), rel=1e-9, abs=1e-9)
        assert f"step {k}:" in w.status_text
    w.controls["play"].value = 12
    assert w.controls["step"].value == 12 and _xy(w.points[0])[0][0] == pytest.approx(traj.xs[12, 0, 0])
    assert calls == []
    w.controls["reset"].click()
    assert w.controls["step"].value == 0 and w.controls["play"].value == 0


def test_explorer1d_diverging_lr_reports_the_step_in_the_status():
    w = Explorer1D("sin_parabola", x0=-2.0, lr=0.01, num_steps=400)
    w.controls["lr"].value = 10.0  # |x| grows like 21^t: overflow after about 230 steps
    traj = optim.run(surfaces.get("sin_parabola"), optim.SGD(lr=w.controls["lr"].value), [-2.0], num_steps=400)
    assert traj.diverged_at[0] >= 0
    assert f"diverged at step {traj.diverged_at[0]}" in w.status_text
    assert w.error == ""


def test_explorer1d_several_optimizers_function_dropdown_and_num_steps():
    w = Explorer1D("x_plus_sin", ["sgd", "sgd", "sgd"], lr=[1.0, 0.1, 0.01], x0=2.5, num_steps=100)
    assert {"lr", "lr_1", "lr_2", "x0", "num_steps", "step", "play", "reset", "function"} <= set(w.controls)
    s = surfaces.get("x_plus_sin")
    for i, lr in enumerate([1.0, 0.1, 0.01]):
        traj = optim.run(s, optim.SGD(lr=lr), [2.5], num_steps=100)
        np.testing.assert_allclose(_xy(w.paths[i])[0], traj.xs[:, 0, 0])
    assert [t.get_text() for t in w.legend.get_texts()] == ["SGD(lr=1)", "SGD(lr=0.1)", "SGD(lr=0.01)"]
    w.controls["num_steps"].value = 30
    assert w.controls["step"].max == 30 and w.controls["step"].value == 30
    assert len(w.paths[0].get_xdata()) == 31
    options = dict(w.controls["function"].options)
    w.controls["function"].value = options["multi_minima"]
    s2 = surfaces.get("multi_minima")
    cx, cy = _xy(w.curve)
    np.testing.assert_allclose(cy, s2.value(cx))
    assert w.surface.name == "multi_minima" and w.error == ""
    traj = optim.run(s2, optim.SGD(lr=w.controls["lr"].value), [w.controls["x0"].value], num_steps=30)
    np.testing.assert_allclose(_xy(w.paths[0])[0], traj.xs[:, 0, 0])


def test_explorer1d_accepts_any_1d_surface_and_a_start_outside_the_box():
    s = custom_surfaces.from_expression("x**4 - 3*x**2 + x", bounds=[(-2.0, 2.0)])
    w = Explorer1D(s, "momentum", x0=3.0, num_steps=40)
    assert w.controls["x0"].max >= 3.0 and w.controls["x0"].value == 3.0
    assert w.ax.get_xlim()[1] > 3.0
    assert _xy(w.paths[0])[0][0] == 3.0
    assert w.error == "" and "momentum" in w.status_text
    assert "formula" not in w.controls


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(surface="rosenbrock"), ValueError, "1D surface"),
    (dict(surface=3), TypeError, "surface"),
    (dict(optimizers="lbfgs"), ValueError, "unknown optimizer"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr=[0.1, 0.2]), ValueError, "one per optimizer"),
    (dict(maximize="yes"), TypeError, "maximize"),
    (dict(num_steps=0), ValueError, "num_steps"),
    (dict(x0="left"), TypeError, "x0"),
])
def test_explorer1d_validates_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Explorer1D(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# Explorer2D
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rosen():
    return Explorer2D("rosenbrock", ["sgd", "momentum", "adam"], lr=[1e-3, 1e-3, 0.1], x0=(-1.5, 2.0),
                      num_steps=300)


def _reference_runs(w):
    s = w.surface
    x0 = [w.controls["x0"].value, w.controls["y0"].value]
    opts = [optim.SGD(lr=w.controls["lr"].value),
            optim.SGD(lr=w.controls["lr_1"].value, momentum=w.controls["momentum_1"].value),
            optim.Adam(lr=w.controls["lr_2"].value, betas=(w.controls["beta1_2"].value, 0.999))]
    return [optim.run(s, o, x0, num_steps=w.num_steps) for o in opts]


def test_explorer2d_paths_end_at_optim_run_and_step_indexes_them(rosen):
    w = rosen
    assert {"lr", "lr_1", "momentum_1", "lr_2", "beta1_2", "x0", "y0", "num_steps", "step", "play", "reset",
            "view3d", "formula", "function"} <= set(w.controls)
    trajs = _reference_runs(w)
    for i, traj in enumerate(trajs):
        x, y = _xy(w.paths[i])
        np.testing.assert_allclose([x[-1], y[-1]], traj.xs[-1, 0])
        assert w.status_text.splitlines()[i].startswith(f"{traj.label}: {traj.status(0)}")
    w.controls["step"].value = 40
    for i, traj in enumerate(trajs):
        np.testing.assert_allclose(np.ravel(_xy(w.points[i])), traj.xs[40, 0])
        assert len(w.paths[i].get_xdata()) == 41
        # value against step: f - f* on log axes, f* = 0 at (1, 1)
        np.testing.assert_allclose(_xy(w.value_done[i])[1], np.maximum(traj.values[:41, 0] - w.f_ref, 1e-16))
    assert w.f_ref == pytest.approx(0.0, abs=1e-12) and w.ax_value.get_yscale() == "log"
    w.controls["step"].value = w.num_steps


def test_explorer2d_lr_change_recomputes_without_redrawing_the_contour(rosen, monkeypatch):
    w = rosen
    contours = list(w.contour_sets)
    n_coll = len(w.ax.collections)
    monkeypatch.setattr(w.ax, "contourf", lambda *a, **k: pytest.fail("contour recomputed on an lr change"))
    monkeypatch.setattr(w.ax, "contour", lambda *a, **k: pytest.fail("contour recomputed on an lr change"))
    w.controls["lr_2"].value = 0.05
    assert w.contour_sets == contours and len(w.ax.collections) == n_coll
    traj = _reference_runs(w)[2]
    np.testing.assert_allclose(np.ravel(_xy(w.points[2])), traj.xs[-1, 0])
    assert [t.get_text() for t in w.legend.get_texts()] == ["SGD", "momentum", "Adam"]  # names: no redraw
    assert "Adam(lr=0.05)" in w.status_text.splitlines()[2]
    w.controls["lr_2"].value = 0.1


def test_explorer2d_diverging_lr_puts_the_step_in_the_status(rosen):
    w = rosen
    w.controls["lr"].value = 0.01
    traj = _reference_runs(w)[0]
    assert traj.diverged_at[0] > 0
    assert f"diverged at step {traj.diverged_at[0]}" in w.status_text.splitlines()[0]
    assert w.error == ""
    w.controls["lr"].value = 1e-3


def test_explorer2d_click_moves_the_start_point(rosen):
    w = rosen
    w.controls["step"].value = 10
    w.click(0.5, -0.5)
    assert (w.controls["x0"].value, w.controls["y0"].value) == pytest.approx((0.5, -0.5), abs=0.011)
    np.testing.assert_allclose(np.ravel(_xy(w.start_marker)), [w.controls["x0"].value, w.controls["y0"].value])
    for i, traj in enumerate(_reference_runs(w)):
        x, y = _xy(w.paths[i])
        np.testing.assert_allclose([x[0], y[0]], traj.xs[0, 0])
        np.testing.assert_allclose([x[-1], y[-1]], traj.xs[-1, 0])
    before = (w.controls["x0"].value, w.controls["y0"].value)
    w.click(10.0, 1.0, ax=w.ax_value)
    assert (w.controls["x0"].value, w.controls["y0"].value) == before  # clicks elsewhere are ignored
    w.controls["x0"].value, w.controls["y0"].value = -1.5, 2.0


def test_explorer2d_bad_formula_shows_error_and_keeps_surface_then_good_formula_works():
    w = Explorer2D("himmelblau", "sgd", num_steps=50)
    contours = list(w.contour_sets)
    title = w.ax.get_title()
    w.controls["formula"].value = "x**2 + sin(3*y"
    assert "formula" in w.error and "ValueError" in w.error and "never closed" in w.error
    assert w.surface.name == "himmelblau" and w.contour_sets == contours and w.ax.get_title() == title
    w.controls["formula"].value = "x**2 + 3*y**2 + foo(x)"
    assert "unknown function 'foo'" in w.error
    w.controls["formula"].value = "x**2 + 3*y**2"
    assert w.error == "" and w.surface.name == "x**2 + 3*y**2"
    assert w.contour_sets != contours and "x**2 + 3*y**2" in w.ax.get_title()
    traj = optim.run(w.surface, optim.SGD(lr=w.controls["lr"].value), [w.controls["x0"].value,
                                                                        w.controls["y0"].value], w.num_steps)
    np.testing.assert_allclose(np.ravel(_xy(w.points[0])), traj.xs[-1, 0], rtol=1e-9, atol=1e-12)
    assert w.controls["function"].options[w.controls["function"].value][0].startswith("formula:")


def test_explorer2d_clipping_toggle_on_the_cliff():
    w = Explorer2D("cliff", "sgd", lr=0.5, x0=(-2.0, 1.5), num_steps=100, clipping=True)
    s = surfaces.get("cliff")
    plain = optim.run(s, optim.SGD(lr=0.5), [-2.0, 1.5], num_steps=100)
    np.testing.assert_allclose(_xy(w.full_paths[0])[0], plain.xs[:, 0, 0])
    w.controls["clip_norm"].value = 1.0
    w.controls["clip"].value = True
    clipped = optim.run(s, optim.SGD(lr=0.5), [-2.0, 1.5], num_steps=100, clip_norm=w.controls["clip_norm"].value)
    np.testing.assert_allclose(_xy(w.full_paths[0])[0], clipped.xs[:, 0, 0])
    assert not np.allclose(plain.xs[:, 0, 0], clipped.xs[:, 0, 0])
    # the largest jump shrinks to at most lr * clip_norm
    assert np.abs(np.diff(_xy(w.full_paths[0])[0])).max() <= 0.5 * 1.0 + 1e-9


def test_explorer2d_accepts_a_quadratic_loss_surface_with_closed_form_minimum():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    s = surfaces.from_quadratic(A, b)
    w = Explorer2D(s, ["sgd", "adam"], num_steps=100, functions=False, formula=False)
    x_star = np.linalg.solve(A, b)
    assert w.f_ref == pytest.approx(-0.5 * b @ x_star, abs=1e-10)
    assert "function" not in w.controls and "formula" not in w.controls
    traj = optim.run(s, optim.SGD(lr=w.controls["lr"].value), [w.controls["x0"].value, w.controls["y0"].value], 100)
    assert traj.diverged_at[0] < 0  # the default lr is safe on any quadratic
    np.testing.assert_allclose(np.ravel(_xy(w.points[0])), traj.xs[-1, 0])


def test_explorer2d_3d_view_toggle_and_start_outside_box():
    w = Explorer2D("rosenbrock", "adam", lr=0.01, x0=(3.0, 4.0), num_steps=50)
    w.displayed = True  # draw every change, as on screen
    assert w.ax.get_xlim()[1] >= 3.0 and w.ax.get_ylim()[1] >= 4.0
    assert (w.controls["x0"].value, w.controls["y0"].value) == (3.0, 4.0)
    w.controls["view3d"].value = True
    assert w.ax3d is not None and w.ax3d.get_visible() and not w.ax.get_visible()
    traj = optim.run(w.surface, optim.Adam(lr=w.controls["lr"].value), [3.0, 4.0], 50)
    xs, ys, zs = w.paths3d[0].get_data_3d()
    (xlo, xhi), (ylo, yhi) = w.box
    p = traj.xs[:, 0]
    inside = (p[:, 0] >= xlo) & (p[:, 0] <= xhi) & (p[:, 1] >= ylo) & (p[:, 1] <= yhi)
    assert inside.sum() > 5
    np.testing.assert_allclose(np.asarray(xs)[inside], p[inside, 0])  # points outside the box are not drawn
    np.testing.assert_allclose(np.asarray(zs)[inside], np.clip(w.surface.value(p[inside]), *w.z_range))
    assert np.all(np.isnan(np.asarray(xs)[~inside]))
    w.click(0.5, 0.5, ax=w.ax3d, coords="axes")
    assert w.controls["x0"].value == 3.0  # clicks rotate the 3D view, they do not move the start
    w.controls["view3d"].value = False
    assert w.ax.get_visible() and not w.ax3d.get_visible()
    w.controls["view3d"].value = True
    w.controls["step"].value = 10
    assert w.errors == []


def test_explorer2d_every_registered_surface_builds_with_sensible_defaults():
    for name in surfaces.names():
        if surfaces.get(name).dim != 2:
            continue
        w = Explorer2D(name, ["sgd", "momentum", "adam"], functions=False)
        assert w.error == "", name
        # good first impression: from the default start nobody diverges
        assert "diverged" not in w.status_text, (name, w.status_text)
        w.close()


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(surface="sin_parabola"), ValueError, "2D surface"),
    (dict(optimizers=[]), ValueError, "1 to 6"),
    (dict(optimizers=[3]), TypeError, "optimizer names"),
    (dict(x0=(1.0,)), ValueError, "x0"),
    (dict(clip_norm=-1.0), ValueError, "clip_norm"),
    (dict(view3d="no"), TypeError, "view3d"),
    (dict(grid=5), ValueError, "grid"),
    (dict(formula_bounds=[(1, 0), (0, 1)]), ValueError, "bounds"),
])
def test_explorer2d_validates_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Explorer2D(**kwargs)


def test_explorer_blitted_frames_equal_full_draws_and_presenter_mode_works():
    w = Explorer2D("himmelblau", ["sgd", "adam"], num_steps=60)
    w.displayed = True
    w.redraw(full=True)
    w.controls["step"].value = 20  # blitted
    blitted = np.asarray(w.fig.canvas.buffer_rgba()).copy()
    w.redraw(full=True)
    assert np.array_equal(blitted, np.asarray(w.fig.canvas.buffer_rgba()))
    size = w.ax.title.get_fontsize()
    try:
        presenter_mode(True)
        assert w.ax.title.get_fontsize() > size and w.error == ""
    finally:
        presenter_mode(False)
    assert w.ax.title.get_fontsize() == pytest.approx(size)
