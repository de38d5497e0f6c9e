"""lecture_utils.tuning: the learning-rate sweep picks what its criterion says, and the curvature rules of thumb."""
import numpy as np
import pytest

from lecture_utils import optim, surfaces, tuning
from lecture_utils.second_order.methods import run_method


def _independent_score(method, surface, x0, num_steps, lr, criterion, **kw):
    """The criterion recomputed from a fresh run, without the sweep's own bookkeeping."""
    traj = run_method(method, surface, x0, num_steps, lr=lr, **kw)
    if traj.diverged_at[0] >= 0:
        return np.inf
    if criterion == "final_value":
        return traj.values[-1, 0]
    if criterion == "tail_mean":
        return traj.values[-max(1, num_steps // 10):, 0].mean()
    return traj.converged_at[0] if traj.converged_at[0] >= 0 else np.inf


@pytest.mark.parametrize("method, surface, criterion, kw", [
    ("gd", "rosenbrock", "final_value", {}),
    ("momentum", "rosenbrock", "tail_mean", {"momentum": 0.9}),
    ("adam", "beale", "final_value", {}),
    ("rmsprop", "himmelblau", "tail_mean", {}),
])
def test_the_chosen_rate_beats_every_other_rate_of_the_grid(method, surface, criterion, kw):
    s = surfaces.get(surface)
    x0, lrs, num_steps = s.bounds[0][0] * 0.5, np.geomspace(1e-4, 1.0, 13), 150
    start = [x0, 0.8]
    sweep = tuning.sweep_lr(method, s, start, num_steps, lrs=lrs, criterion=criterion, **kw)
    assert sweep.lr in lrs and sweep.best is sweep.trajs[sweep.index] and len(sweep.trajs) == lrs.size
    best = _independent_score(method, s, start, num_steps, sweep.lr, criterion, **kw)
    assert np.isfinite(best)
    for lr, recorded in zip(lrs, sweep.scores):
        other = _independent_score(method, s, start, num_steps, float(lr), criterion, **kw)
        assert recorded == pytest.approx(other) or (np.isinf(recorded) and np.isinf(other))
        assert best <= other
    assert sweep.best.xs[0, 0].tolist() == start


def test_diverged_rates_score_infinity_and_are_never_chosen():
    s = surfaces.get("quadratic", kappa=10.0)
    sweep = tuning.sweep_lr("gd", s, [2.0, 1.0], 200, lrs=[0.01, 0.1, 0.5, 5.0])
    assert np.isinf(sweep.scores[-1]) and sweep.trajs[-1].diverged_at[0] >= 0   # 5 > 2 / kappa: overflows
    assert sweep.lr == 0.1   # the largest stable rate below 2 / (1 + kappa) = 0.18 converges fastest here


def test_steps_to_tol_picks_the_fastest_rate_and_breaks_ties_by_the_tail_value():
    s = surfaces.get("quadratic", kappa=10.0)
    lrs = np.geomspace(1e-3, 0.19, 25)
    sweep = tuning.sweep_lr("gd", s, [2.0, 1.0], 300, lrs=lrs, criterion="steps_to_tol", tol=1e-6)
    steps = [int(t.converged_at[0]) for t in sweep.trajs]
    reached = [k for k in steps if k >= 0]
    assert int(sweep.best.converged_at[0]) == min(reached)
    # Gradient descent on this bowl contracts by max(|1 - lr|, |1 - 10 lr|) per step: the chosen rate has the
    # smallest contraction of the grid (the one nearest the optimum 2 / (mu + L) = 2 / 11 in that sense).
    contraction = np.maximum(np.abs(1 - lrs), np.abs(1 - 10 * lrs))
    assert sweep.lr == pytest.approx(lrs[np.argmin(contraction)])
    never = tuning.sweep_lr("gd", s, [2.0, 1.0], 5, lrs=[1e-3, 1e-2], criterion="steps_to_tol")
    assert np.all(np.isinf(never.scores)) and never.lr == 1e-2   # no run converges: the lower tail value wins


def test_a_criterion_can_be_any_function_of_the_trajectory():
    s = surfaces.get("rosenbrock")

    def distance_to_minimum(traj):
        return float(np.linalg.norm(traj.xs[-1, 0] - [1.0, 1.0]))

    sweep = tuning.sweep_lr("adam", s, [-1.2, 1.0], 200, lrs=[1e-3, 1e-2, 1e-1], criterion=distance_to_minimum)
    assert sweep.criterion == "distance_to_minimum"
    assert sweep.scores[sweep.index] == min(sweep.scores)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(method="newton"), ValueError, "first-order"),
    (dict(criterion="fastest"), ValueError, "criterion"),
    (dict(lrs=[]), ValueError, "lrs"),
    (dict(lrs=[0.1, -1.0]), ValueError, "lrs"),
    (dict(lr=0.1), TypeError, "lrs="),
    (dict(x0=[[0.0, 0.0], [1.0, 1.0]]), ValueError, "one start point"),
])
def test_sweep_lr_validates_its_arguments(kwargs, exc, match):
    args = dict(method="gd", surface="rosenbrock", x0=[0.0, 0.0], num_steps=5)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        tuning.sweep_lr(args.pop("method"), args.pop("surface"), args.pop("x0"), args.pop("num_steps"), **args)


def test_max_curvature_and_the_default_rates():
    bowl = surfaces.get("quadratic", kappa=25.0, angle=0.3)
    assert tuning.max_curvature(bowl) == pytest.approx(25.0)
    assert tuning.safe_lr(bowl, 0.9) == pytest.approx(0.9 / 25)
    sgd, mom, adam, adagrad = tuning.default_lrs(bowl, ["sgd", "momentum", "adam", "adagrad"])
    assert (sgd, mom) == (pytest.approx(0.9 / 25), pytest.approx(0.3 / 25))
    assert (adam, adagrad) == (pytest.approx(6 / 150), pytest.approx(6 / 10))
    traj = optim.run(bowl, optim.SGD(lr=sgd), [2.0, -1.0], 200)
    assert traj.diverged_at[0] < 0 and traj.values[-1, 0] < 1e-6   # safe: below 2 / L
    flat = surfaces.from_quadratic(np.zeros((2, 2)), np.array([1.0, 0.0]))
    assert tuning.max_curvature(flat) == 0.0 and tuning.safe_lr(flat, 0.5) == 0.5   # no curvature: L taken as 1
    assert tuning.safe_lr(bowl, 0.9, low=0.1) == 0.1
