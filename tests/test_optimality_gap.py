"""lecture_utils.optimality_gap: the floor f* of convergence plots, found on a grid and polished by Newton."""
import numpy as np
import pytest

from lecture_utils import optim, optimality_gap, surfaces


def _grid(s, n=61):
    X, Y, Z = s.grid(n)
    return Z, np.stack([X.ravel(), Y.ravel()], axis=1)


def test_reference_value_is_the_closed_form_minimum_of_a_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    s = surfaces.from_quadratic(A, b)
    f_ref, interior = optimality_gap.reference_value(s, *_grid(s))
    assert interior and f_ref == pytest.approx(-0.5 * b @ np.linalg.solve(A, b), abs=1e-12)


@pytest.mark.parametrize("name, value", [("rosenbrock", 0.0), ("himmelblau", 0.0), ("beale", 0.0)])
def test_reference_value_polishes_the_lowest_grid_point_to_the_minimum(name, value):
    s = surfaces.get(name)
    Z, pts = _grid(s)
    f_ref, interior = optimality_gap.reference_value(s, Z, pts)
    assert interior and f_ref == pytest.approx(value, abs=1e-12) and f_ref <= np.nanmin(Z)


def test_a_saddle_has_no_floor_in_its_box():
    s = surfaces.get("saddle")
    Z, pts = _grid(s)
    f_ref, interior = optimality_gap.reference_value(s, Z, pts)
    assert not interior and f_ref == np.nanmin(Z)   # the lowest grid value sits on the edge of the box
    assert optimality_gap.reference_value(s, np.full(4, np.nan), pts[:4]) == (0.0, False)


def test_lowest_value_and_gap():
    s = surfaces.get("himmelblau")
    traj = optim.run(s, optim.SGD(lr=0.01), [0.0, 0.0], 50)
    assert optimality_gap.lowest_value(s) == pytest.approx(0.0, abs=1e-12)
    bowl = surfaces.from_quadratic(np.eye(2), np.array([1.0, 1.0]))   # minimum -1 at (1, 1)
    run = optim.run(bowl, optim.SGD(lr=0.1), [3.0, 3.0], 5)
    assert optimality_gap.lowest_value(bowl, [run]) == pytest.approx(-1.0)
    g = optimality_gap.gap(np.array([2.0, 1.0, np.nan, 1.0 - 1e-20]), 1.0)
    assert g[0] == 1.0 and g[1] == optimality_gap.GAP_FLOOR and np.isnan(g[2]) and g[3] == optimality_gap.GAP_FLOOR
    assert np.all(optimality_gap.gap(traj.values[:, 0], 0.0) > 0)
