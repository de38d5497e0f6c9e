"""Gaussian homotopy in closed form against numerical convolution; continuation against a dense grid search."""
import numpy as np
import pytest
from scipy import integrate

from lecture_utils import continuation


def numeric_convolution(f, x, sigma, half_width=10.0, num=40001):
    """Reference: integral f(y) k_sigma(x - y) dy by the trapezoidal rule in y, written out with numpy only."""
    y = np.linspace(x - half_width * sigma, x + half_width * sigma, num)
    k = np.exp(-((x - y) ** 2) / (2 * sigma ** 2)) / (np.sqrt(2 * np.pi) * sigma)
    return np.trapezoid(f(y) * k, y)


def test_closed_form_homotopy_equals_numerical_convolution():
    f = continuation.SinusoidSum([1.0, 0.5, 0.25], [1.3, 4.0, 9.0], [1.0, 2.0, 0.0], quadratic=0.05, linear=-0.2)
    raw = lambda y: f.value(y, 0.0)  # noqa: E731
    for sigma in (0.05, 0.3, 1.0, 2.5):
        for x in (-4.0, -1.3, 0.0, 2.2, 5.0):
            assert f.value(x, sigma) == pytest.approx(numeric_convolution(raw, x, sigma), abs=1e-9)


def test_single_sinusoid_is_damped_by_exp_minus_w2_sigma2_over_2():
    f = continuation.SinusoidSum([1.0], [3.0], [0.4])
    x = np.linspace(-2, 2, 9)
    for sigma in (0.1, 0.5, 1.0):
        expected = np.exp(-9 * sigma ** 2 / 2) * np.sin(3 * x + 0.4)
        np.testing.assert_allclose(f.value(x, sigma), expected, atol=1e-14)
        ref = np.array([integrate.quad(lambda y: np.sin(3 * y + 0.4) * np.exp(-(xi - y) ** 2 / (2 * sigma ** 2))
                                       / (np.sqrt(2 * np.pi) * sigma), -np.inf, np.inf)[0] for xi in x])
        np.testing.assert_allclose(f.value(x, sigma), ref, atol=1e-8)


def test_numeric_helper_agrees_with_scipy_quad_on_a_function_without_closed_form():
    for sigma in (0.3, 1.0):
        for x in (-1.0, 0.2, 1.5):
            ref = integrate.quad(lambda u: abs(x + sigma * u) * np.exp(-u * u / 2) / np.sqrt(2 * np.pi),
                                 -np.inf, np.inf)[0]
            got = continuation.gaussian_smooth_numeric(np.abs, [x], sigma, num=8001)[0]
            assert got == pytest.approx(ref, abs=1e-6)


def test_derivatives_match_finite_differences():
    f = continuation.wiggly()
    x = np.linspace(-5, 5, 11)
    h = 1e-5
    for sigma in (0.0, 0.4, 1.5):
        fd = (f.value(x + h, sigma) - f.value(x - h, sigma)) / (2 * h)
        np.testing.assert_allclose(f.grad(x, sigma), fd, atol=1e-7)
        fd2 = (f.grad(x + h, sigma) - f.grad(x - h, sigma)) / (2 * h)
        np.testing.assert_allclose(f.hessian(x, sigma), fd2, atol=1e-6)
        assert np.all(np.abs(f.hessian(np.linspace(-6, 6, 2001), sigma)) <= f.curvature_bound(sigma) + 1e-12)


def test_surface_view_matches_the_function():
    f = continuation.wiggly()
    s = f.surface(0.7)
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(s.value(x), f.value(x, 0.7))
    np.testing.assert_allclose(s.grad(x), f.grad(x, 0.7))


def test_local_minimize_stays_in_its_basin_and_reaches_a_stationary_point():
    f = continuation.wiggly()
    grid = np.linspace(-6, 6, 200001)
    v = f.value(grid)
    starts = np.linspace(-5.5, 5.5, 23)
    mins = continuation.local_minimize(f, starts)
    assert np.all(np.abs(f.grad(mins)) < 1e-8)
    assert np.all(f.hessian(mins) > 0)
    for x0, xm in zip(starts, mins):
        lo, hi = sorted((x0, xm))
        seg = v[(grid >= lo) & (grid <= hi)]
        # downhill all the way from x0 to the minimizer: no barrier crossed
        assert np.all(np.diff(seg if x0 < xm else seg[::-1]) <= 1e-12)


def test_continuation_finds_the_global_minimum_where_plain_descent_does_not():
    f = continuation.wiggly()
    grid = np.linspace(*f.bounds, 400001)
    x_star = grid[np.argmin(f.value(grid))]
    x0 = -4.0
    plain = float(continuation.local_minimize(f, x0))
    res = continuation.continuation(f, x0, continuation.sigma_schedule(3.0, 60))
    assert res.x_final == pytest.approx(x_star, abs=1e-4)
    assert abs(plain - x_star) > 1.0
    assert f.value(plain) > f.value(res.x_final) + 0.5
    assert f.global_minimum()[0] == pytest.approx(x_star, abs=1e-4)
    # at heavy smoothing the function is nearly the bowl: a single minimum
    assert len(continuation.local_minima(f, 3.0)) == 1
    assert len(continuation.local_minima(f, 0.0)) >= 8


def test_continuation_path_has_one_row_per_sigma():
    f = continuation.wiggly()
    sig = continuation.sigma_schedule(2.0, 10, kind="geometric")
    assert sig[0] == 2.0 and sig[-1] == 0.0 and np.all(np.diff(sig) < 0)
    res = continuation.continuation(f, [-4.0, 4.0], sig)
    assert res.xs.shape == (len(sig), 2)
    np.testing.assert_allclose(res.values, np.array([f.value(res.xs[k], s) for k, s in enumerate(sig)]))


def test_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        continuation.SinusoidSum([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="sigma"):
        continuation.wiggly().value(0.0, sigma=-1.0)
    with pytest.raises(ValueError, match="non-increasing"):
        continuation.continuation(continuation.wiggly(), 0.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="kind"):
        continuation.sigma_schedule(1.0, 5, kind="cubic")
    with pytest.raises(TypeError):
        continuation.local_minimize(lambda x: x, 0.0)
