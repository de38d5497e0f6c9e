"""Gradient-free methods: minima found within tolerance, evaluation counts checked by an independent counter."""
import numpy as np
import pytest

from lecture_utils import custom_surfaces, gradient_free as gf, measure, optim, surfaces


def counted(surface):
    """The same surface with a counter of evaluated points, kept outside the code under test."""
    box = {"n": 0}

    def count(X):
        box["n"] += X.shape[0]

    return surface.observed(count), box


HIMMELBLAU_MINIMA = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]])


def dist_to_nearest(x, minima):
    return np.min(np.linalg.norm(minima[None, :, :] - x[:, None, :], axis=-1), axis=1)


@pytest.mark.parametrize("method,kwargs,xtol,ftol", [
    (gf.particle_swarm, dict(num_particles=30, num_iters=100), 1e-3, 1e-6),
    (gf.evolution_strategy, dict(num_iters=100, pop_size=12), 2e-3, 1e-4),
    (gf.genetic_algorithm, dict(num_iters=100, pop_size=40), 2e-2, 1e-2),
    (gf.random_search, dict(num_iters=499, batch_size=20), 0.15, 0.5),
])
def test_himmelblau_minima_are_found(method, kwargs, xtol, ftol):
    res = method(surfaces.get("himmelblau"), num_runs=5, seed=0, **kwargs)
    assert np.all(res.values[-1] < ftol)
    assert np.all(dist_to_nearest(res.final, HIMMELBLAU_MINIMA) < xtol)


@pytest.mark.parametrize("method,kwargs", [
    (gf.particle_swarm, dict(num_particles=40, num_iters=150)),
    (gf.genetic_algorithm, dict(num_iters=150, pop_size=60)),
])
def test_rastrigin_global_minimum_is_found_by_population_methods(method, kwargs):
    res = method(surfaces.get("rastrigin"), num_runs=5, seed=1, **kwargs)
    assert np.all(np.linalg.norm(res.final, axis=1) < 0.02)
    assert np.all(res.values[-1] < 0.05)


def test_evolution_strategy_on_rastrigin_reaches_the_global_minimum_from_a_seed():
    res = gf.evolution_strategy(surfaces.get("rastrigin"), [2.2, -1.7], num_iters=150, pop_size=20, sigma=2.0, seed=3)
    assert np.linalg.norm(res.final[0]) < 1e-2 and res.values[-1, 0] < 0.02


@pytest.mark.parametrize("method,kwargs,expected", [
    (gf.random_search, dict(num_iters=9, batch_size=7), 7 * 10),
    (gf.evolution_strategy, dict(num_iters=12, pop_size=9), 9 * 13),
    (gf.genetic_algorithm, dict(num_iters=11, pop_size=20, num_elite=3), 20 + 11 * 17),
    (gf.particle_swarm, dict(num_particles=13, num_iters=8), 13 * 9),
])
def test_evaluation_counts_are_exact(method, kwargs, expected):
    for num_runs in (1, 4):
        s, box = counted(surfaces.get("rosenbrock"))
        res = method(s, num_runs=num_runs, seed=0, **kwargs)
        assert res.extras["evals"][-1] == expected
        assert box["n"] == expected * num_runs  # every run evaluates its own points
        assert np.all(np.diff(res.extras["evals"]) > 0)
        assert res.xs.shape == (res.extras["evals"].shape[0], num_runs, 2)


def test_best_so_far_is_monotone_and_matches_the_population():
    res = gf.particle_swarm(surfaces.get("rastrigin"), num_particles=15, num_iters=20, num_runs=3, seed=2)
    assert np.all(np.diff(res.values, axis=0) <= 0)
    pop_best = np.minimum.accumulate(res.extras["population_values"].min(axis=2), axis=0)
    np.testing.assert_allclose(res.values, pop_best)
    s = surfaces.get("rastrigin")
    np.testing.assert_allclose(s.value(res.final), res.values[-1])
    assert np.all(np.isnan(res.grad_norms))
    assert res.extras["population"].shape == (21, 3, 15, 2)


def test_seed_makes_runs_reproducible():
    a = gf.genetic_algorithm(surfaces.get("himmelblau"), num_iters=10, seed=5)
    b = gf.genetic_algorithm(surfaces.get("himmelblau"), num_iters=10, seed=5)
    c = gf.genetic_algorithm(surfaces.get("himmelblau"), num_iters=10, seed=6)
    np.testing.assert_array_equal(a.xs, b.xs)
    assert not np.array_equal(a.xs, c.xs)


def test_target_stops_early_and_counts_to_target_are_consistent():
    A = np.diag([1.0, 3.0, 10.0])
    s, box = counted(surfaces.from_quadratic(A))
    res = gf.evolution_strategy(s, [2.0, 2.0, 2.0], num_iters=1000, pop_size=10, sigma=1.0, num_runs=3, seed=0,
                                target=1e-4)
    need = measure.evaluations_to_target(res, 1e-4)
    assert np.all(need > 0)
    assert res.extras["evals"][-1] == need.max()  # stopped at the generation the last run got there
    assert box["n"] == 3 * need.max()
    for i in range(3):
        k = res.converged_at[i]
        assert res.values[k, i] <= 1e-4 and (k == 0 or res.values[k - 1, i] > 1e-4)
        assert res.extras["evals"][k] == need[i]


def test_evaluations_to_target_of_a_gradient_trajectory():
    s = surfaces.from_quadratic(np.diag([1.0, 4.0]))
    traj = optim.run(s, optim.SGD(lr=0.2), [[2.0, 2.0], [0.001, 0.001]], num_steps=100, tol=0.0)
    need = measure.evaluations_to_target(traj, 1e-3)
    # closed form: f_t = 1/2 (4 (1 - 0.2)^(2t) + 4 * 4 (1 - 0.8)^(2t))
    t = np.arange(101)
    f = 0.5 * (4 * 0.8 ** (2 * t) + 16 * 0.2 ** (2 * t))
    assert need[0] == np.argmax(f <= 1e-3) + 1
    assert need[1] == 1  # already below the target at the start
    far = optim.run(s, optim.SGD(lr=1e-4), [[2.0, 2.0], [0.001, 0.001]], num_steps=5, tol=0.0)
    assert list(measure.evaluations_to_target(far, 1e-3)) == [np.inf, 1.0]  # a median over runs ranks failures last
    out = measure.gradient_descent_evaluations(s, optim.SGD(lr=0.2), [2.0, 2.0], 1e-3)
    assert out["gradient_evals"] == need[0] and out["steps"] == need[0] - 1
    assert out["finite_difference_evals"] == need[0] * 3
    # a slow run (hundreds of steps) gives the same count as one long trajectory
    slow = measure.gradient_descent_evaluations(s, optim.SGD(lr=0.01), [2.0, 2.0], 1e-3)
    long = optim.run(s, optim.SGD(lr=0.01), [2.0, 2.0], num_steps=3000, tol=0.0)
    assert slow["steps"] > 128
    assert slow["gradient_evals"] == np.argmax(long.values[:, 0] <= 1e-3) + 1
    never = measure.gradient_descent_evaluations(s, optim.SGD(lr=1e-6), [2.0, 2.0], 1e-3, max_steps=10)
    assert never["steps"] == np.inf and never["gradient_evals"] == np.inf  # a failure is never a fast run


def test_works_on_a_high_dimensional_surface_from_a_function():
    s = custom_surfaces.from_function(lambda x: (x ** 2).sum(), dim=10, bounds=[(-2.0, 2.0)] * 10)
    res = gf.evolution_strategy(s, np.ones(10), num_iters=300, seed=0)
    assert res.values[-1, 0] < 1e-6
    assert "population" not in res.extras  # not kept for d > 3 unless asked


def test_bad_inputs():
    s = surfaces.get("himmelblau")
    with pytest.raises(TypeError, match="Surface"):
        gf.random_search(42)
    with pytest.raises(ValueError, match="himmelblau"):
        gf.random_search("himmelblau_typo")
    with pytest.raises(ValueError, match="batch_size"):
        gf.random_search(s, batch_size=0)
    with pytest.raises(ValueError, match="x0"):
        gf.evolution_strategy(s, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="num_elite"):
        gf.genetic_algorithm(s, pop_size=5, num_elite=5)
    with pytest.raises(ValueError, match="bounds"):
        gf.particle_swarm(s, bounds=[(1, 0), (0, 1)])
    with pytest.raises(TypeError, match="Trajectory"):
        measure.evaluations_to_target(np.zeros(3), 0.1)
