"""BasinMap, PhaseDiagram and OptimizerRace driven headless, checked against optim.run and closed forms."""
from __future__ import annotations

import numpy as np
import pytest

from lecture_utils import optim, surfaces
from widgets import BasinMap, OptimizerRace, PhaseDiagram
from lecture_utils.basin_maps import GridAdam, GridSGD


def _direct_codes(s, lr, n, num_steps):
    """Classify end points of optim.run directly: nearest critical point within 2% of the box diagonal."""
    (xlo, xhi), (ylo, yhi) = s.bounds
    gx, gy = np.meshgrid(np.linspace(xlo, xhi, n), np.linspace(ylo, yhi, n))
    X0 = np.stack([gx.ravel(), gy.ravel()], axis=1)
    traj = optim.run(s, optim.SGD(lr=lr), X0, num_steps)
    crit = np.array([c.point for c in s.critical_points])
    radius = 0.02 * np.hypot(xhi - xlo, yhi - ylo)
    codes = np.full(len(X0), -1)
    for j, end in enumerate(traj.xs[-1]):
        d = np.linalg.norm(crit - end, axis=1)
        if d.min() <= radius:
            codes[j] = int(np.argmin(d))
        if traj.diverged_at[j] >= 0:
            codes[j] = -2
    return X0, codes, traj


@pytest.fixture(scope="module")
def basin():
    return BasinMap("himmelblau", "sgd", lr=0.01, resolution=40, num_steps=100)


def test_basin_map_colours_match_a_direct_classification_of_optim_run(basin):
    w = basin
    s = surfaces.get("himmelblau")
    X0, codes, _ = _direct_codes(s, 0.01, 40, 100)
    img = np.asarray(w.image.get_array())
    assert img.shape == (40, 40)
    np.testing.assert_array_equal(img.ravel().astype(int), codes)
    # known answer: a start next to each minimum ends at that minimum
    for c_idx, c in enumerate(w.crit):
        if c.kind == "minimum":
            j = np.argmin(np.linalg.norm(X0 - c.point, axis=1))
            assert codes[j] == c_idx and w.labels[c_idx].startswith("minimum")
    assert "minimum (3, 2)" in w.status_text


def test_basin_map_recomputes_when_lr_moves_and_shows_divergence(basin):
    w = basin
    w.controls["lr"].value = 0.03
    s = surfaces.get("himmelblau")
    _, codes, traj = _direct_codes(s, w.controls["lr"].value, 40, 100)
    np.testing.assert_array_equal(np.asarray(w.image.get_array()).ravel().astype(int), codes)
    assert (codes == -2).any() and "diverged" in w.status_text
    w.controls["color_by"].value = "steps"
    shown = np.ma.asarray(w.image.get_array()).ravel()
    # direct: the first step after which the run stays within the radius of its end point's critical point
    crit = np.array([c.point for c in s.critical_points])
    radius = 0.02 * np.hypot(10.0, 10.0)
    sample = np.flatnonzero(codes >= 0)[::7]
    assert sample.size > 0
    for j in sample:
        d = np.linalg.norm(traj.xs[:, j] - crit[codes[j]], axis=1)
        later_far = np.flatnonzero(d > radius)
        settle = 0 if later_far.size == 0 else later_far[-1] + 1
        assert shown[j] == max(settle, 1)
    assert np.all(shown.mask[codes < 0])
    assert w.colorbar is not None and not w.outcome_legend.get_visible()
    w.controls["color_by"].value = "outcome"
    assert w.colorbar is None and w.outcome_legend.get_visible()
    w.controls["lr"].value = 0.01
    assert w.error == ""


def test_basin_map_click_draws_the_run_from_there(basin):
    w = basin
    w.click(-1.0, -2.0)
    traj = optim.run(w.surface, optim.SGD(lr=w.controls["lr"].value), [-1.0, -2.0], 100)
    np.testing.assert_allclose(w.probe_line.get_xdata(), traj.xs[:, 0, 0])
    np.testing.assert_allclose(w.probe_line.get_ydata(), traj.xs[:, 0, 1])


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(surface="x_plus_sin"), ValueError, "2D surface"),
    (dict(resolution=3), ValueError, "resolution"),
    (dict(color_by="speed"), ValueError, "color_by"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(optimizer="newton"), ValueError, "unknown optimizer"),
])
def test_basin_map_validates_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        BasinMap(**kwargs)


# ---------------------------------------------------------------------------------------------------------
# PhaseDiagram
# ---------------------------------------------------------------------------------------------------------
def test_grid_optimizers_equal_one_run_per_hyperparameter_pair():
    s = surfaces.get("rosenbrock")
    x0 = np.array([-1.2, 1.0])
    pairs = [(1e-4, 0.0), (5e-4, 0.9), (1e-3, 0.5)]
    lrs, ms = zip(*pairs)
    X0 = np.tile(x0, (3, 1))
    for nesterov in (False, True):
        grid = optim.run(s, GridSGD(lrs, [max(m, 0.1) if nesterov else m for m in ms], nesterov=nesterov), X0, 80)
        for j, (lr, m) in enumerate(pairs):
            m = max(m, 0.1) if nesterov else m
            one = optim.run(s, optim.SGD(lr=lr, momentum=m, nesterov=nesterov), x0, 80)
            np.testing.assert_allclose(grid.xs[:, j], one.xs[:, 0], rtol=1e-12, atol=1e-14)
    grid = optim.run(s, GridAdam([0.01, 0.05], [0.0, 0.8]), np.tile(x0, (2, 1)), 80)
    for j, (lr, b1) in enumerate([(0.01, 0.0), (0.05, 0.8)]):
        one = optim.run(s, optim.Adam(lr=lr, betas=(b1, 0.999)), x0, 80)
        np.testing.assert_allclose(grid.xs[:, j], one.xs[:, 0], rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def phase():
    s = surfaces.get("quadratic", kappa=20.0, angle=0.4)
    return PhaseDiagram(s, "momentum", num_steps=150, resolution=(30, 20), lr_range=(1e-3, 1.0))


def test_phase_diagram_divergence_matches_the_heavy_ball_stability_bound(phase):
    w = phase
    # Heavy ball on a quadratic with largest curvature L diverges iff lr * L > 2 (1 + momentum).
    L = 20.0
    lr_grid, m_grid = np.meshgrid(w.lr_values, w.mom_values)
    margin = np.abs(lr_grid * L - 2 * (1 + m_grid)) > 0.15  # away from the boundary itself
    np.testing.assert_array_equal(w.diverged[margin], (lr_grid * L > 2 * (1 + m_grid))[margin])
    shown = np.ma.asarray(w.mesh.get_array()).reshape(w.diverged.shape)
    assert np.all(shown[w.diverged] > w.controls["num_steps"].value)  # drawn in the "diverged" colour
    ok = w.steps >= 0
    np.testing.assert_array_equal(shown[ok], np.maximum(w.steps[ok], 1))
    # one cell against its own run
    i, j = 10, 12
    one = optim.run(w.surface, optim.SGD(lr=w.lr_values[j], momentum=w.mom_values[i]), w.x0, 150)
    assert w.steps[i, j] == one.converged_at[0]


def test_phase_diagram_marker_follows_sliders_without_recomputing(phase, monkeypatch):
    w = phase
    monkeypatch.setattr(w, "recompute", lambda: pytest.fail("the grid must not be recomputed"))
    w.controls["lr"].value = 0.05
    w.controls["momentum"].value = 0.7
    assert w.marker.get_xdata()[0] == pytest.approx(0.05, rel=0.02)
    assert w.marker.get_ydata()[0] == pytest.approx(0.7)
    one = optim.run(w.surface, optim.SGD(lr=w.controls["lr"].value, momentum=0.7), w.x0, 150)
    np.testing.assert_allclose(w.run_line.get_ydata(), one.grad_norms[:, 0])
    assert one.status(0) in w.status_text
    w.click(0.2, 0.3)
    assert w.controls["momentum"].value == pytest.approx(0.3) and w.marker.get_ydata()[0] == pytest.approx(0.3)


def test_phase_diagram_validates_arguments():
    with pytest.raises(ValueError, match="optimizer"):
        PhaseDiagram(optimizer="sgd")
    with pytest.raises(ValueError, match="lr_range"):
        PhaseDiagram(lr_range=(1.0, 0.1))
    with pytest.raises(ValueError, match="x0"):
        PhaseDiagram(x0=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="resolution"):
        PhaseDiagram(resolution="fine")


# ---------------------------------------------------------------------------------------------------------
# OptimizerRace
# ---------------------------------------------------------------------------------------------------------
def test_race_table_ranks_optim_run_results_and_follows_the_step():
    w = OptimizerRace("beale", ["sgd", "momentum", "adam"], num_steps=300)
    x0 = [w.controls["x0"].value, w.controls["y0"].value]
    trajs = [optim.run(w.surface, w.optimizer(i), x0, 300) for i in range(3)]
    by_index = {r["index"]: r for r in w.results}
    for i, t in enumerate(trajs):
        assert by_index[i]["converged_at"] == t.converged_at[0]
        assert by_index[i]["final_value"] == pytest.approx(t.values[-1, 0])
    conv = [r for r in w.results if r["converged_at"] >= 0]
    assert conv and w.results[0] is conv[0]  # Adam converges on Beale from the default start: first place
    assert "lecture-race-table" in w.table._dom_classes and w.table in w.layout.children
    assert all(r["label"] in w.table.value for r in w.results)
    w.controls["step"].value = 17
    assert "f at step 17" in w.table.value
    assert w.results[0]["value_now"] == pytest.approx(trajs[w.results[0]["index"]].values[17, 0])
    assert "formula" not in w.controls


def test_basin_map_lr_move_is_blitted_and_equals_a_full_draw():
    """An lr move changes the map and the title only: no full redraw of contours and legend, same pixels."""
    w = BasinMap("himmelblau", "sgd", lr=0.01, resolution=30, num_steps=60)
    w.displayed = True
    w.redraw(full=True)
    full_draws = []
    w.fig.canvas.mpl_connect("draw_event", lambda event: full_draws.append(1))
    w.controls["lr"].value = 0.02
    assert full_draws == [] and w.ax.get_title().startswith("SGD(lr=0.02)")
    blitted = np.asarray(w.fig.canvas.buffer_rgba()).copy()
    w.redraw(full=True)
    assert full_draws == [1]
    assert np.array_equal(blitted, np.asarray(w.fig.canvas.buffer_rgba()))
