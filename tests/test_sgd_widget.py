"""The lecture-04 widget (GradientCloud) and lecture-03 figure helpers, driven headless (Agg backend)."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lecture_utils import basin_maps, descent, linear_models as lm, problems, sgd, surfaces
from widgets.descent_figures import plot_basins, plot_orbits
from widgets.sgd import GradientCloud


@pytest.fixture
def w():
    widget = GradientCloud(live=False, num_steps=60, num_draws=400)
    yield widget
    widget.close()


def test_path_and_loss_curve_are_the_sgd_run(w):
    B, lr, seed = w.controls["batch_size"].value, w.controls["lr"].value, w.controls["seed"].value
    ref = sgd.sgd(w.problem, w.theta0, lr=lr, batch_size=B, num_epochs=60 * B / w.problem.n,
                  records_per_epoch=math.ceil(w.problem.n / B), seed=seed)
    x, y = w.path_line.get_data()
    np.testing.assert_allclose(np.c_[x, y], ref.thetas)
    assert len(x) == 61
    np.testing.assert_allclose(w.loss_line.get_data()[1], ref.train_loss)
    gx, gy = w.gd_line.get_data()
    assert len(gx) == 61 and gx[0] == w.theta0[0] and gy[0] == w.theta0[1]


def test_step_slider_moves_point_cloud_and_marker(w):
    w.set(step=25)
    theta = w.path[25]
    np.testing.assert_allclose(np.ravel(w.current.get_data()), theta)
    assert w.step_marker.get_xdata()[0] == 25
    cloud = w.cloud_pts.get_offsets()
    assert cloud.shape == (400, 2)
    # the cloud is centred on the full-batch step (minibatch gradients are unbiased)
    full = theta - w.controls["lr"].value * w.problem.grad(theta)
    np.testing.assert_allclose(np.ravel(w.gd_step.get_data()), full)
    assert np.linalg.norm(cloud.mean(axis=0) - full) < 4 * w.spread() / math.sqrt(400) + 1e-12


def test_each_cloud_point_is_a_real_minibatch_step(w):
    w.set(batch_size=8, step=10)
    theta = w.path[10]
    lr = w.controls["lr"].value
    # every point is theta - lr * (mean gradient of 8 distinct examples)
    G = w.problem.example_grads(theta)
    for k in (0, 17, 399):
        rows = np.flatnonzero(w.selection[k])
        assert len(rows) == 8
        np.testing.assert_allclose(w.cloud_pts.get_offsets()[k], theta - lr * G[rows].mean(axis=0))


def test_batch_size_shrinks_the_cloud_like_one_over_sqrt_b(w):
    spreads = {}
    for B in (1, 4, 16, 64):
        w.set(batch_size=B, step=0)
        spreads[B] = w.spread()
        assert spreads[B] == pytest.approx(w.predicted_spread(), rel=0.15)
    assert spreads[1] / spreads[16] == pytest.approx(4 * math.sqrt(255 / (256 - 16)), rel=0.1)
    assert spreads[4] > spreads[16] > spreads[64]
    w.set(batch_size=256)
    assert w.spread() < 1e-12  # the whole data set: every "minibatch" is the full batch
    assert "the cloud's spread is 0" in w.status_text


def test_learning_rate_scales_the_cloud_linearly(w):
    w.set(step=0, lr=0.01)
    small = w.spread()
    w.set(lr=0.04)
    assert w.spread() == pytest.approx(4 * small, rel=1e-9)


def test_large_rate_blows_up_and_is_reported_not_raised(w):
    w.set(lr=0.9, batch_size=1)
    assert "blowing up" in w.status_text or "diverged" in w.status_text
    assert w.error == ""
    assert np.all(np.isfinite(w.path))  # diverged points are frozen, never NaN in the plot data


def test_errors_are_shown_in_the_widget(w):
    w.update(momentum=0.9)  # no such control
    assert "unknown control" in w.error
    w.update(lr=0.02)
    assert w.controls["lr"].value == pytest.approx(0.02)


def test_seed_redraws_the_minibatches(w):
    before = w.path.copy()
    w.set(seed=5)
    assert not np.allclose(before, w.path)
    assert w.path[0] == pytest.approx(w.theta0)


def test_reset_and_static_png(w):
    w.set(step=30)
    w.controls["reset"].click()
    assert w.controls["step"].value == 0
    png = w.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    img = w.static(batch_size=32)
    assert img.data[:4] == b"\x89PNG"


def test_custom_problem_and_bad_arguments():
    x, y = lm.line_data(50, seed=1)
    w = GradientCloud(problems.LeastSquares(x, y), live=False, num_steps=10, batch_size=5)
    assert w.controls["batch_size"].options[-1] == 50 and w.controls["batch_size"].value == 4
    np.testing.assert_allclose(w.theta_star, lm.normal_equations(x, y))
    w.close()
    with pytest.raises(ValueError, match="2 parameters"):
        GradientCloud(problems.LeastSquares(np.c_[x, x ** 2], y), live=False)
    with pytest.raises(TypeError):
        GradientCloud(object(), live=False)
    with pytest.raises(ValueError):
        GradientCloud(live=False, theta0=(1.0, np.nan))


def test_orbit_and_basin_figure_helpers():
    s = surfaces.get("multi_minima")
    orb = descent.gd_orbits(s, np.linspace(0.05, 1.5, 60), 1.0, num_steps=200, keep=16)
    ax = plot_orbits(orb, threshold=0.48, title="orbits")
    pts = ax.collections[0].get_offsets()
    assert len(pts) == np.isfinite(orb.late).sum()
    assert ax.get_xlabel() == "learning rate" and ax.get_title() == "orbits"
    plt.close(ax.figure)
    quad = surfaces.from_quadratic(np.array([[4.0]]))
    orb = descent.gd_orbits(quad, np.linspace(0.1, 1.0, 10), 1.0, num_steps=500, keep=4)
    ax = plot_orbits(orb)
    assert any("diverged" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(ax.figure)
    bm = basin_maps.basin_map_1d(s, np.linspace(-4, 4, 161), lr=0.05)
    ax = plot_basins(s, bm)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 3 and all(lab.startswith("reaches") for lab in labels)
    plt.close(ax.figure)
