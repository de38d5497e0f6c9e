"""The widgets' shared helpers: contour levels, first-impression defaults, the function menu."""
from __future__ import annotations

import numpy as np
import pytest

from lecture_utils import custom_surfaces, optim, surfaces
from widgets.contours import contour_levels
from widgets.defaults import DEFAULTS_2D, default_start, explorer1d_defaults, explorer2d_defaults
from widgets.function_menu import choice_index, function_choices, resolve_choice


def test_quantile_levels_give_bands_of_similar_area():
    _, _, Z = surfaces.get("rosenbrock").grid(120)
    lv = contour_levels(Z, 22, spacing="quantile")
    assert np.all(np.diff(lv) > 0) and 3 <= lv.size <= 22
    share = np.histogram(Z[(Z >= lv[0]) & (Z <= lv[-1])], bins=lv)[0] / Z.size
    assert share.max() < 0.15  # no band covers much of the box, though Z spans four decades
    flat = contour_levels(np.full((5, 5), 2.0), spacing="quantile")
    assert flat.size == 10 and flat[0] == 2.0 and flat[-1] == 3.0
    with pytest.raises(ValueError, match="spacing"):
        contour_levels(Z, spacing="even")


def test_log_levels_start_above_a_given_floor():
    Z = np.linspace(1.0, 101.0, 500)
    lv = contour_levels(Z, 14, low=1.0, first=1e-3)
    np.testing.assert_allclose(lv, 1.0 + 100.0 * np.geomspace(1e-3, 1.0, 14))
    with np.errstate(invalid="ignore"):
        assert np.isfinite(contour_levels(np.array([1.0, np.nan, 5.0]))).all()  # NaN values are ignored


def test_defaults_come_from_the_table_or_from_the_curvature():
    x0, steps, lrs = explorer2d_defaults(surfaces.get("himmelblau"), ["sgd", "adam"])
    assert tuple(x0) == DEFAULTS_2D["himmelblau"][0] and steps == 200 and lrs == [0.01, 0.2]
    bowl = surfaces.get("quadratic", kappa=40.0)
    assert explorer2d_defaults(bowl, ["sgd"])[2] == [pytest.approx(1 / 40)]  # follows kappa
    typed = custom_surfaces.from_expression("3*x**2 + 12*y**2", bounds=[(-2, 2), (-2, 2)])
    x0, steps, (lr_sgd, lr_mom) = explorer2d_defaults(typed, ["sgd", "momentum"])
    assert lr_sgd == pytest.approx(0.9 / 24) and lr_mom == pytest.approx(0.3 / 24)  # curvature 24
    assert optim.run(typed, optim.SGD(lr=lr_sgd), x0, steps).diverged_at[0] < 0
    assert explorer1d_defaults(surfaces.get("sin_parabola")) == (0.01, -2.0, 60)
    wave = custom_surfaces.from_expression("sin(x)", bounds=[(-3, 3)])
    lr, x0, steps = explorer1d_defaults(wave)
    assert lr == pytest.approx(0.5, rel=1e-3) and x0 == pytest.approx(-1.8) and steps == 100
    assert tuple(default_start(surfaces.get("beale"))) == DEFAULTS_2D["beale"][0]
    np.testing.assert_allclose(default_start(surfaces.get("rosenbrock_nd", n=3)),
                               [lo + 0.8 * (hi - lo) for lo, hi in surfaces.get("rosenbrock_nd", n=3).bounds])


def test_function_menu_lists_the_start_surface_and_resolves_choices():
    s = surfaces.get("himmelblau")
    every = function_choices(None, s, dim=2)
    assert [label for label, _ in every] == surfaces.names(dim=2)
    assert resolve_choice(every, choice_index(every, s)).name == "himmelblau"
    typed = custom_surfaces.from_expression("x**2 + y**2")
    few = function_choices(["rosenbrock", "beale"], typed, dim=2)
    assert few[0] == (typed.name, typed) and [c[0] for c in few[1:]] == ["rosenbrock", "beale"]
    assert function_choices(False, s, dim=2) is None
    with pytest.raises(ValueError, match="at least one 1D surface"):
        function_choices([], surfaces.get("sin_parabola"), dim=1)
    with pytest.raises(ValueError, match="2D surface"):
        function_choices(["sin_parabola"], s, dim=2)
