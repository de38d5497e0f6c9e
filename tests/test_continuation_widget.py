"""The continuation widget, driven headless: set the sliders, check what the artists hold."""
import numpy as np
import pytest

from lecture_utils import continuation as cont
from widgets.continuation import ContinuationWidget


@pytest.fixture(scope="module")
def widget():
    w = ContinuationWidget(x0=-4.0, num_levels=61, live=False)
    yield w
    w.close()


def test_sigma_slider_reshapes_the_curve(widget):
    f = widget.f
    for sigma in (widget.sigma_max, 1.2, 0.0):
        widget.controls["sigma"].value = sigma
        x, y = widget.curve.get_data()
        np.testing.assert_allclose(y, f.value(x, sigma), atol=1e-12)
        assert widget.sigma_line.get_ydata()[0] == pytest.approx(sigma)
    assert not widget.error


def test_tracked_minimizer_follows_continuation_and_ends_at_the_global_minimum(widget):
    f = widget.f
    grid = np.linspace(*f.bounds, 200001)
    x_star = grid[np.argmin(f.value(grid))]
    widget.controls["sigma"].value = 0.0
    mx, my = widget.tracked_marker.get_data()
    assert mx[0] == pytest.approx(x_star, abs=1e-4)
    assert my[0] == pytest.approx(f.value(x_star), abs=1e-6)
    gx, _ = widget.global_marker.get_data()
    assert gx[0] == pytest.approx(x_star, abs=1e-4)
    # plain descent from the same start stops elsewhere, and the widget shows where
    px, py = widget.plain_marker.get_data()
    assert px[0] == pytest.approx(float(cont.local_minimize(f, -4.0)))
    assert abs(px[0] - x_star) > 1.0
    assert "global minimum of g" in widget.status_text and "plain descent" in widget.status_text
    # at an intermediate sigma the marker is a stationary point of g(., sigma) on the continuation path
    widget.controls["sigma"].value = 0.8
    mx, _ = widget.tracked_marker.get_data()
    assert abs(f.grad(mx[0], 0.8)) < 1e-7 and f.hessian(mx[0], 0.8) > 0
    ref = cont.continuation(f, -4.0, np.append(np.linspace(widget.sigma_max, 0.8, 80), 0.8)).xs[-1, 0]
    assert mx[0] == pytest.approx(ref, abs=1e-4)


def test_path_line_holds_the_continuation_path(widget):
    px, ps = widget.path_line.get_data()
    np.testing.assert_allclose(ps, widget.sigmas)
    ref = cont.continuation(widget.f, widget.controls["x0"].value, widget.sigmas)
    np.testing.assert_allclose(px, ref.xs[:, 0], atol=1e-9)


def test_changing_the_start_recomputes_path_and_plain_descent(widget):
    widget.set(x0=4.0, sigma=0.0)
    assert widget.x0_line.get_xdata()[0] == pytest.approx(4.0)
    px, _ = widget.plain_marker.get_data()
    assert px[0] == pytest.approx(float(cont.local_minimize(widget.f, 4.0)))
    assert widget.path.x_start[0] == pytest.approx(4.0)
    widget.set(x0=-4.0)


def test_errors_are_shown_in_the_widget(widget):
    widget.update(sigma=-1.0)
    assert "sigma" in widget.error and "ValueError" in widget.error
    widget.controls["sigma"].value = 0.5
    assert widget.error == ""


def test_renders_to_png_and_rejects_bad_arguments(widget):
    png = widget.to_png()
    assert png[:4] == b"\x89PNG"
    with pytest.raises(TypeError):
        ContinuationWidget(f=lambda x: x, live=False)
    with pytest.raises(ValueError, match="x0"):
        ContinuationWidget(x0=100.0, live=False)
