"""Lecture 01/02 widgets and figures driven headless (Agg): set controls, then check what the artists hold."""
import math

import numpy as np
import pytest

import widgets
from lecture_utils import autodiff, finite_differences, surfaces, tiny_net
from widgets.calculus import DirectionalDerivativeWidget, SecantWidget
from widgets.graph_figure import draw_graph, graph_layout
from widgets.surface_figures import plot_gradient_field, plot_partial_slices, plot_tangent_plane

S1 = surfaces.get("sin_parabola")
S2 = surfaces.get("lecture_2d")


# ---- SecantWidget -------------------------------------------------------------------------------------
def test_secant_follows_h_and_tends_to_the_tangent():
    w = SecantWidget(x=-2.0, h=1.0, live=False)
    errors = []
    for h in (2.0, 0.5, 0.1, 0.01, 1e-3):
        w.controls["h"].value = h
        h_set = w.controls["h"].value  # the log slider rounds to its step
        xs, ys = w.points.get_data()
        np.testing.assert_allclose(xs, [-2.0, -2.0 + h_set])
        np.testing.assert_allclose(ys, S1.value(np.array(xs)))
        assert w.slope == pytest.approx(finite_differences.forward_difference(S1.value, -2.0, h_set))
        # the drawn secant line passes through both points with that slope
        lx, ly = w.secant_line.get_data()
        assert (ly[1] - ly[0]) / (lx[1] - lx[0]) == pytest.approx(w.slope)
        errors.append(w.slope_error)
        assert f"h = {h_set:.3g}" in w.status_text
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 0.02 and w.exact == pytest.approx(float(S1.grad(-2.0)))
    tx, ty = w.tangent_line.get_data()
    assert (ty[1] - ty[0]) / (tx[1] - tx[0]) == pytest.approx(w.exact)
    assert w.err_marker.get_data()[0][0] == pytest.approx(w.controls["h"].value)


def test_secant_central_kind_and_moving_the_point():
    w = SecantWidget(x=-2.0, h=0.5, kind="central", live=False)
    h = w.controls["h"].value
    np.testing.assert_allclose(w.points.get_data()[0], [-2.0 - h, -2.0 + h])
    assert w.slope == pytest.approx(finite_differences.central_difference(S1.value, -2.0, h))
    w.controls["x"].value = 1.0
    assert w.exact == pytest.approx(float(S1.grad(1.0)))
    hs, errs = w.err_central.get_data()
    expected = finite_differences.finite_difference_errors(S1.value, S1.grad, 1.0, hs, "central")
    np.testing.assert_allclose(errs, np.maximum(expected, 1e-16 * max(1, abs(w.exact))))
    # central beats forward at every step drawn (no round-off above h = 1e-4)
    assert np.all(errs <= w.err_forward.get_data()[1] * 1.000001 + 1e-15)
    assert "x = 1.00" in w.status_text and "central" in w.status_text
    assert w.to_png()[:4] == b"\x89PNG"


def test_secant_errors_are_shown_in_the_widget(monkeypatch):
    w = SecantWidget(live=False)
    monkeypatch.setattr(w.surface, "grad", lambda x: (_ for _ in ()).throw(ValueError("no derivative here")))
    w.controls["x"].value = 0.5
    assert "no derivative here" in w.error and "ValueError" in w.error


def test_secant_rejects_bad_arguments():
    with pytest.raises(ValueError, match="h must be"):
        SecantWidget(h=0.0, live=False)
    with pytest.raises(ValueError, match="kind must be one of"):
        SecantWidget(kind="backward", live=False)
    with pytest.raises(ValueError, match="1D surface"):
        SecantWidget("lecture_2d", live=False)


# ---- DirectionalDerivativeWidget ----------------------------------------------------------------------
def test_direction_controls_move_arrow_slice_and_marker():
    p = np.array([0.5, -0.5])
    w = DirectionalDerivativeWidget(point=p, angle=0.0, live=False)
    g = S2.grad(p)
    for angle in (0.0, 45.0, 120.0, 300.0):
        w.controls["angle"].value = angle
        e = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
        np.testing.assert_allclose(w.e, e, atol=1e-12)
        u, v = w.e_arrow.U[0], w.e_arrow.V[0]
        assert math.degrees(math.atan2(v, u)) % 360 == pytest.approx(angle, abs=1e-9)
        assert w.value == pytest.approx(e @ g)
        assert w.slice_slope == pytest.approx(w.value, abs=1e-7)      # the definition agrees with e . grad
        t, vals = w.slice_curve.get_data()
        np.testing.assert_allclose(vals, S2.value(p + np.asarray(t)[:, None] * e))
        np.testing.assert_allclose(np.ravel(w.dir_marker.get_data()), [angle, w.value])
    # the curve of D_e f peaks at the gradient's angle with height |grad f|
    angles, d = w.dir_curve.get_data()
    gn = np.linalg.norm(g)
    assert np.max(d) == pytest.approx(gn, rel=1e-4)
    star_angle, star_value = np.ravel(w.max_marker.get_data())
    assert star_value == pytest.approx(gn)
    assert star_angle == pytest.approx(math.degrees(math.atan2(g[1], g[0])) % 360)
    assert f"|grad f| = {gn:.3f}" in w.status_text


def test_moving_the_point_updates_gradient_and_level_set():
    w = DirectionalDerivativeWidget(live=False)
    w.set(x=1.0, y=0.5)
    p = np.array([1.0, 0.5])
    np.testing.assert_allclose(w.grad, S2.grad(p))
    np.testing.assert_allclose(w.grad_arrow.get_offsets()[0], p)
    lx, ly = w.level_line.get_data()
    tangent = np.array([lx[1] - lx[0], ly[1] - ly[0]])
    assert abs(tangent @ w.grad) / (np.linalg.norm(tangent) * np.linalg.norm(w.grad)) < 1e-3
    assert "p = (1.00, 0.50)" in w.status_text


def test_direction_widget_rejects_points_outside_and_shows_callback_errors(monkeypatch):
    with pytest.raises(ValueError, match="inside the box"):
        DirectionalDerivativeWidget(point=(5.0, 0.0), live=False)
    w = DirectionalDerivativeWidget(live=False)
    def broken_grad(x):
        raise ZeroDivisionError("gradient blew up")

    monkeypatch.setattr(w.surface, "grad", broken_grad)
    w.controls["x"].value = 0.0
    assert "ZeroDivisionError: gradient blew up" in w.error


def test_presenter_mode_restyles_and_restores():
    w = DirectionalDerivativeWidget(live=False)
    s = SecantWidget(live=False)
    size = s.ax.title.get_fontsize()
    try:
        widgets.presenter_mode(True)
        assert s.ax.title.get_fontsize() > size
        assert not w.error and not s.error
    finally:
        widgets.presenter_mode(False)
    assert s.ax.title.get_fontsize() == pytest.approx(size)


# ---- static figures -----------------------------------------------------------------------------------
def test_partial_slices_hold_the_slices_and_the_partials():
    fig = plot_partial_slices("lecture_2d", (0.3, -0.2))
    np.testing.assert_allclose(fig.partials, S2.grad(np.array([0.3, -0.2])))
    tx, fx = fig.slices["x"]
    np.testing.assert_allclose(fx, S2.value(np.stack([tx, np.full_like(tx, -0.2)], 1)))
    # the slope of the x-slice at p is the partial derivative (central difference on the drawn data)
    i = np.argmin(np.abs(tx - 0.3))
    slope = (fx[i + 1] - fx[i - 1]) / (tx[i + 1] - tx[i - 1])
    assert slope == pytest.approx(fig.partials[0], abs=2e-3)


def test_tangent_plane_touches_the_surface():
    p = np.array([0.0, 0.0])
    fig = plot_tangent_plane("lecture_2d", p)
    PX, PY, PZ = fig.plane
    # at the centre the plane equals f(p); nearby it is within O(d^2) of f
    i = PX.shape[0] // 2
    assert (PX[i, i], PY[i, i]) == (0.0, 0.0) and PZ[i, i] == pytest.approx(S2.value(p))
    # Taylor: |f(q) - plane(q)| <= 1/2 max|eig H| |q - p|^2 (+ a little for the change of H nearby)
    d2 = (PX - p[0]) ** 2 + (PY - p[1]) ** 2
    gap = np.abs(PZ - S2.value(np.stack([PX.ravel(), PY.ravel()], 1)).reshape(PX.shape))
    bound = 0.5 * np.abs(np.linalg.eigvalsh(S2.hessian(p))).max()
    near = d2 < 0.2 ** 2
    assert near.sum() > 4 and np.all(gap[near] <= 1.3 * bound * d2[near] + 1e-12)
    # and it is tangent: the gap shrinks like d^2, not like d
    assert gap[i, i + 1] / gap[i, i + 2] == pytest.approx(0.25, abs=0.05)
    assert "z = 2.00 - 2.00x - 2.00y" in fig.axes[0].get_title()


def test_gradient_field_is_the_gradient():
    ax = plot_gradient_field("lecture_2d", num_arrows=9)
    pts, G = ax.field
    assert pts.shape == (81, 2)
    np.testing.assert_allclose(G, S2.grad(pts))


# ---- computational graph ------------------------------------------------------------------------------
def test_draw_graph_boxes_hold_values_and_gradients():
    w, x = autodiff.Value(2.0, label="w"), autodiff.Value(1.5, label="x")
    a = w * x + 4.0
    a.label = "a"
    loss = (autodiff.relu(a) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    ax = draw_graph(loss)
    g = ax.graph
    assert len(ax.node_texts) == len(g.nodes) == 9
    by_label = {n["label"]: ax.node_texts[n["id"]] for n in g.nodes if n["label"]}
    assert "value 36" in by_label["loss"] and "grad  1" in by_label["loss"]
    assert "grad  18" in by_label["w"] and "a = +" in by_label["a"]
    # drawn left to right: every edge goes to a later column; constants sit just before their consumer
    for src, dst in g.edges:
        assert ax.positions[src][0] < ax.positions[dst][0]
    texts = [t.get_text() for t in ax.texts]
    assert sum("value" in t for t in texts) == 9
    assert sum(1 for c in ax.get_children() if type(c).__name__ == "Annotation") == len(g.edges)


def test_graph_layout_of_the_tiny_net_places_second_layer_weights_late():
    W1, W2 = tiny_net.init(0)
    loss, wv = tiny_net.value_graph(W1, W2, [1.0, 0.5, -0.3], [1.0, 0.0])
    g = autodiff.graph(loss)
    pos = graph_layout(g)
    col = {n["label"]: pos[n["id"]][0] for n in g.nodes if n["label"]}
    assert col["w111"] == col["x1"] == 0
    assert col["w211"] == col["n1"] and col["w211"] > col["a1"]
    rows_by_col = {}
    for c, r in pos.values():
        rows_by_col.setdefault(c, []).append(r)
    assert all(len(set(rows)) == len(rows) for rows in rows_by_col.values())   # no two boxes on one spot
    ax = draw_graph(loss, show_grad=False)
    assert all("grad" not in t for t in ax.node_texts.values())


def test_draw_graph_rejects_other_objects():
    with pytest.raises(TypeError, match="Value or Graph"):
        draw_graph(3.0)
