"""Every registered surface with every method of the course, from starts near and far, with warnings as errors:
each run ends as a result (converged, not converged, diverged, or stopped with a reason), never an exception or a
warning. Surfaces with no lower bound (saddle, monkey saddle, sin_parabola, x_plus_sin) are the hard cases."""
import warnings

import numpy as np
import pytest

from lecture_utils import gradient_free, surfaces
from lecture_utils.second_order.methods import names, run_method


def _starts(s):
    lo = np.array([b[0] for b in s.bounds])
    hi = np.array([b[1] for b in s.bounds])
    centre, span = (lo + hi) / 2, hi - lo
    near_critical = [c.point + 1e-7 for c in s.critical_points[:2]] if s.dim <= 2 else [np.ones(s.dim) + 1e-7]
    exact_critical = [c.point for c in s.critical_points[:1]] if s.dim <= 2 else [np.ones(s.dim)]
    return np.array([centre + 0.13 * span, lo, hi, centre + 10 * span, centre - 1e3 * span] + near_critical
                    + exact_critical)


@pytest.mark.parametrize("name", surfaces.names())
def test_every_method_from_every_start_gives_a_result(name):
    s = surfaces.get(name)
    X0 = _starts(s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in names():
            kwargs = {"lr": 1e-3} if method in ("gd", "momentum", "nesterov") else {}
            traj = run_method(method, s, X0, 60, tol=0.0, **kwargs)
            assert traj.xs.shape == (61, len(X0), s.dim)
            assert all(isinstance(traj.status(i), str) for i in range(len(X0)))
            # a finite position is always kept: a diverged run stays where it was last finite
            assert np.all(np.isfinite(traj.xs))


@pytest.mark.parametrize("name", surfaces.names())
def test_every_gradient_free_search_gives_a_result(name):
    s = surfaces.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for search in gradient_free.METHODS.values():
            traj = search(s, num_iters=20, num_runs=2, seed=0)
            assert np.all(np.isfinite(traj.xs)) and traj.xs.shape[1:] == (2, s.dim)


def test_an_evolution_strategy_on_a_surface_with_no_minimum_stays_finite():
    s = surfaces.get("saddle")  # x^2 - y^2 falls without bound along y: sigma used to grow to 1e286 with warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = gradient_free.evolution_strategy(s, [0.5, 0.5], num_iters=3000, seed=0)
    assert np.all(np.isfinite(traj.extras["sigma"])) and traj.extras["sigma"].max() <= 1e6 * 4.0
