"""Headless tests of widgets.second_order: drive the controls, check what the artists hold."""
import numpy as np
import pytest

from lecture_utils import surfaces
from lecture_utils.second_order import quasi_newton
from lecture_utils.second_order.race import RACE_METHODS, race_trajectories
from widgets.contours import contour_levels
from widgets.second_order import DEFAULT_STARTS, QuasiNewtonEllipses, SecondOrderRace


def test_contour_levels_increase_from_the_minimum():
    Z = np.linspace(0, 100, 1000).reshape(10, 100)
    lv = contour_levels(Z)
    assert np.all(np.diff(lv) > 0) and lv[0] > 0 and lv[-1] == pytest.approx(100)


def test_quasi_newton_ellipses_draws_the_trajectory_it_computed():
    w = QuasiNewtonEllipses("rosenbrock", num_steps=40)
    ref = quasi_newton.bfgs(surfaces.get("rosenbrock"), DEFAULT_STARTS["rosenbrock"], 40, tol=1e-8)
    assert np.allclose(w.traj.xs, ref.xs)
    w.set(step=10)
    x, y = w.path_line.get_data()
    assert np.allclose(np.c_[x, y], ref.xs[:11, 0])
    ex, ey = w.ellipse_line.get_data()
    M = ref.extras["inv_hessians"][10, 0]
    v = np.c_[ex, ey] - ref.xs[10, 0]
    q = np.einsum("ni,ij,nj->n", v, np.linalg.inv(M), v)
    assert np.allclose(q, q[0])
    assert len(w.history_ellipses.get_segments()) == 10
    assert "step 10" in w.status_text and "BFGS" in w.status_text
    assert not w.errors


def test_quasi_newton_ellipses_controls():
    w = QuasiNewtonEllipses("rosenbrock", num_steps=30)
    assert w.controls["m"].disabled and w.controls["kappa"].disabled
    w.set(method="L-BFGS", m=2)
    assert not w.controls["m"].disabled
    assert w.traj.label.startswith("L-BFGS (m=2)")
    ref = quasi_newton.lbfgs(surfaces.get("rosenbrock"), DEFAULT_STARTS["rosenbrock"], 30, m=2, tol=1e-8)
    assert np.allclose(w.traj.xs, ref.xs)
    w.set(surface="quadratic", kappa=50.0)
    assert w.surface.params["kappa"] == pytest.approx(50.0)
    assert not w.controls["kappa"].disabled
    w.set_start((1.0, -2.0))
    assert np.allclose(w.traj.xs[0, 0], [1.0, -2.0])
    png = w.to_png()
    assert png[:4] == b"\x89PNG"
    assert not w.errors


def test_second_order_race_runs_every_method_and_shows_status():
    w = SecondOrderRace("quadratic", kappa=100.0, num_steps=60)
    assert set(w.trajs) == set(RACE_METHODS)
    for name in ("Newton", "CG", "BFGS", "L-BFGS"):
        assert w.trajs[name].converged_at[0] >= 0
    assert w.trajs["Newton"].converged_at[0] == 1
    assert w.trajs["CG"].converged_at[0] <= 2
    # GD with the best fixed rate 2 / (1 + kappa) is far slower on an ill-conditioned bowl.
    assert w.trajs["GD"].converged_at[0] < 0
    assert w.trajs["GD"].lrs[0] == pytest.approx(2 / 101)
    w.set(step=5)
    x, y = w.path_lines["BFGS"].get_data()
    assert np.allclose(np.c_[x, y], w.trajs["BFGS"].xs[:6, 0])
    assert len(w.status_text.splitlines()) == len(RACE_METHODS)
    assert not w.errors


def test_second_order_race_kappa_and_methods_controls():
    w = SecondOrderRace("quadratic", kappa=10.0, num_steps=50)
    gd_small = w.trajs["GD"].values[-1, 0]
    w.set(kappa=1000.0)
    assert w.surface.params["kappa"] == pytest.approx(1000.0)
    assert w.trajs["GD"].values[-1, 0] > gd_small  # worse conditioning, slower GD
    w.set(methods=("Newton", "BFGS"))
    assert w.path_lines["Newton"].get_visible() and not w.path_lines["GD"].get_visible()
    assert len(w.status_text.splitlines()) == 2
    w.set(methods=())  # an empty choice is an error shown in the widget, not an exception
    assert "select at least one method" in w.error
    w.set(methods=("GD",))
    assert w.error == ""
    w.set(surface="himmelblau")
    assert np.allclose(w.trajs["Newton"].xs[0, 0], DEFAULT_STARTS["himmelblau"])
    assert w.controls["kappa"].disabled
    assert not [e for e in w.errors if "select" not in e]


def test_race_trajectories_reject_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        race_trajectories(surfaces.get("rosenbrock"), [0.0, 0.0], 5, methods=("Adam",))
    with pytest.raises(ValueError, match="surface must be one of"):
        SecondOrderRace("saddle")


def test_live_canvas_is_not_drawn_before_its_front_end_is_ready(monkeypatch):
    # ipympl keeps syncing_data_url True until the browser says "initialized"; a draw before that stores a PNG
    # without the data: prefix (a broken image in JupyterLab). Simulate that canvas state on an Agg figure.
    w = QuasiNewtonEllipses("rosenbrock", num_steps=10)
    w.live = True
    w.fig.canvas.syncing_data_url = True
    draws = []
    monkeypatch.setattr(w.fig.canvas, "draw", lambda *a, **k: draws.append(1))
    w.set(step=5)
    assert draws == [] and w.stale
    x, y = w.path_line.get_data()
    assert len(x) == 6  # the artists were still updated
    w.fig.canvas.syncing_data_url = False  # the front end is ready: drawing resumes
    w.set(step=6)
    assert draws == [1]
