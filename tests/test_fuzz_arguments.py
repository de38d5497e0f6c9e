"""Every public entry point, fuzzed argument by argument: each hostile value either works or is refused with a
ValueError / TypeError that names the argument. Never another exception, never a warning (warnings are errors
here: divergence is a result), never a hang (sizes are bounded by the functions themselves)."""
import math
import warnings

import numpy as np
import pytest
import torch

from lecture_utils import gradient_free
from lecture_utils import (basin_maps, custom_surfaces, descent, finite_differences, minibatch, optim, problems,
                           schedules, sgd, surfaces)
from lecture_utils.second_order import cg, newton, quasi_newton, steepest
from lecture_utils.training import data, nets, train

HOSTILE = [None, -1, 0, 1.5, -0.5, math.nan, math.inf, -math.inf, 1e308, True, "3", "abc", [], [1.0, 2.0, 3.0], 1 + 2j,
           np.array([1.0]), 10**12, -(10**12), object(), (lambda *a: 1.0)]

ROSEN = surfaces.get("rosenbrock")
LINE = problems.LeastSquares(np.linspace(-1, 1, 20)[:, None], np.linspace(0, 2, 20))
TORCH_DATA = data.moons(n=40, seed=0, device="cpu")


def _mlp():
    torch.manual_seed(0)
    return nets.MLP(2, (4,), 2)


#: (id, function, keyword arguments that work, the arguments to fuzz)
ENTRY_POINTS = [
    ("optim.run", optim.run, dict(surface=ROSEN, opt=optim.SGD(lr=1e-3), x0=[0.0, 0.0], num_steps=5),
     ["surface", "opt", "x0", "num_steps", "clip_norm", "clip_value", "tol", "grad_noise", "seed", "lr_schedule"]),
    ("optim.SGD", optim.SGD, dict(lr=0.1), ["lr", "momentum", "dampening", "weight_decay", "nesterov"]),
    ("optim.Adam", optim.Adam, dict(lr=0.1), ["lr", "betas", "eps", "weight_decay", "amsgrad"]),
    ("optim.RMSprop", optim.RMSprop, dict(lr=0.1), ["lr", "alpha", "eps", "momentum", "centered"]),
    ("optim.Adagrad", optim.Adagrad, dict(lr=0.1), ["lr", "lr_decay", "initial_accumulator_value", "eps"]),
    ("optim.make", optim.make, dict(name="adam"), ["name"]),
    ("schedules.StepLR", schedules.StepLR, dict(step_size=3), ["step_size", "gamma"]),
    ("schedules.CosineAnnealingLR", schedules.CosineAnnealingLR, dict(T_max=10), ["T_max", "eta_min"]),
    ("schedules.InverseTimeLR", schedules.InverseTimeLR, dict(t0=10.0), ["t0"]),
    ("surfaces.get", surfaces.get, dict(name="quadratic"), ["name", "kappa", "angle"]),
    ("surfaces.from_quadratic", surfaces.from_quadratic, dict(A=np.eye(2)), ["A", "b", "c", "bounds"]),
    ("custom_surfaces.from_expression", custom_surfaces.from_expression, dict(expr="x**2"),
     ["expr", "bounds", "dim", "name"]),
    ("custom_surfaces.from_function", custom_surfaces.from_function,
     dict(fn=lambda x: (x ** 2).sum(), dim=2), ["fn", "dim", "bounds"]),
    ("descent.gradient_descent", descent.gradient_descent, dict(surface="x_plus_sin", x0=2.5, lr=0.1, max_steps=20),
     ["surface", "x0", "lr", "tol", "max_steps"]),
    ("descent.gd_orbits", descent.gd_orbits, dict(surface="multi_minima", lrs=[0.1, 0.2], x0=1.0, num_steps=20, keep=4),
     ["surface", "lrs", "x0", "num_steps", "keep", "bound"]),
    ("descent.gradient_ascent", descent.gradient_ascent, dict(df=np.cos, x0=0.0, lr=0.1, num_steps=5),
     ["df", "x0", "lr", "num_steps"]),
    ("basin_maps.basin_map_1d", basin_maps.basin_map_1d, dict(surface="multi_minima", x0s=[0.0, 1.0], lr=0.05),
     ["surface", "x0s", "lr", "num_steps", "tol"]),
    ("minibatch.epoch_batches", minibatch.epoch_batches, dict(n=10, batch_size=3), ["n", "batch_size", "order", "rng"]),
    ("minibatch.minibatch_grads", minibatch.minibatch_grads, dict(problem=LINE, theta=[0.0, 0.0], batch_size=4),
     ["problem", "theta", "batch_size", "num_draws", "seed"]),
    ("sgd.sgd", sgd.sgd, dict(problem=LINE, theta0=[0.0, 0.0], lr=0.1, batch_size=4),
     ["problem", "theta0", "lr", "batch_size", "num_epochs", "order", "average_start", "records_per_epoch", "seed",
      "lr_schedule"]),
    ("sgd.early_stopping", sgd.early_stopping, dict(val_losses=[3.0, 2.0, 1.0, 2.0]), ["val_losses", "patience"]),
    ("finite_differences.central_difference", finite_differences.central_difference, dict(f=np.sin, x=0.5, h=1e-4),
     ["f", "x", "h"]),
    ("finite_differences.numerical_gradient", finite_differences.numerical_gradient,
     dict(f=lambda v: float(np.sum(v ** 2)), x=[1.0, 2.0]), ["f", "x", "h", "kind"]),
    ("newton.run_newton", newton.run_newton, dict(surface=ROSEN, x0=[0.0, 0.0], num_steps=5),
     ["surface", "x0", "num_steps", "variant", "damping"]),
    ("cg.nonlinear_cg", cg.nonlinear_cg, dict(surface=ROSEN, x0=[0.0, 0.0], num_steps=5),
     ["surface", "x0", "num_steps", "beta", "restart_every", "line_search", "tol", "c1", "c2", "max_evals"]),
    ("quasi_newton.bfgs", quasi_newton.bfgs, dict(surface=ROSEN, x0=[0.0, 0.0], num_steps=5),
     ["surface", "x0", "num_steps", "line_search", "tol", "scale_initial", "c1", "c2", "max_evals", "inv_hessians"]),
    ("quasi_newton.lbfgs", quasi_newton.lbfgs, dict(surface=ROSEN, x0=[0.0, 0.0], num_steps=5),
     ["surface", "x0", "num_steps", "m", "lr", "line_search", "tolerance_change"]),
    ("steepest.steepest_descent", steepest.steepest_descent,
     dict(surface=ROSEN, x0=[0.0, 0.0], num_steps=5, line_search="armijo"), ["surface", "x0", "num_steps", "t0"]),
    ("gradient_free.random_search", gradient_free.random_search, dict(surface=ROSEN, num_iters=3),
     ["surface", "num_iters", "batch_size", "bounds", "num_runs", "seed", "target"]),
    ("gradient_free.evolution_strategy", gradient_free.evolution_strategy, dict(surface=ROSEN, num_iters=3),
     ["surface", "x0", "num_iters", "pop_size", "num_parents", "sigma", "num_runs", "seed"]),
    ("gradient_free.genetic_algorithm", gradient_free.genetic_algorithm, dict(surface=ROSEN, num_iters=3),
     ["surface", "num_iters", "pop_size", "num_elite", "tournament", "mutation", "mutation_decay"]),
    ("gradient_free.particle_swarm", gradient_free.particle_swarm, dict(surface=ROSEN, num_iters=3),
     ["surface", "num_particles", "num_iters", "inertia", "cognitive", "social", "max_speed"]),
    ("data.moons", data.moons, dict(n=40), ["n", "noise", "seed", "test_size", "device"]),
    ("data.blobs", data.blobs, dict(n=40), ["n", "num_classes", "dim", "std", "seed"]),
    ("nets.MLP", nets.MLP, dict(in_dim=2, hidden=(4,), out_dim=2),
     ["in_dim", "hidden", "out_dim", "batch_norm", "skip", "aux_heads", "activation", "init"]),
    ("train.run", lambda **kw: train.run(**kw), dict(net=None, data=TORCH_DATA, opt="sgd", epochs=1, batch_size=16,
                                                     opt_kwargs={"lr": 0.1}, progress=False),
     ["data", "opt", "epochs", "batch_size", "opt_kwargs", "aux_weight", "eval_every", "clip_norm", "seed", "order",
      "max_steps", "drop_last", "device", "lr_schedule"]),
]

#: Arguments whose refusal may name them by what they hold (a formula) rather than by their name.
ALIASES = {"expr": "formula", "hidden": "parameters", "in_dim": "parameters", "out_dim": "parameters"}

CASES = [(eid, fn, base, arg) for eid, fn, base, args in ENTRY_POINTS for arg in args]


@pytest.mark.parametrize("eid, fn, base, arg", CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_each_hostile_value_works_or_is_refused_by_name(eid, fn, base, arg):
    problems = []
    for value in HOSTILE:
        kwargs = dict(base)
        if eid == "train.run":
            kwargs["net"] = _mlp()
        kwargs[arg] = value
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                fn(**kwargs)
            except (ValueError, TypeError) as exc:
                msg = str(exc)
                named = arg in msg or ALIASES.get(arg, "\0") in msg or (arg in ("surface", "opt", "problem", "name")
                                                                        and msg)
                if not named or len(msg) >= 800:
                    problems.append(f"{arg}={value!r}: refused without naming {arg!r}: {msg[:200]}")
            except Exception as exc:  # anything else is a defect: a crash, a warning, a numpy or torch error
                problems.append(f"{arg}={value!r}: {type(exc).__name__}: {str(exc)[:200]}")
    assert not problems, f"{eid}:\n" + "\n".join(problems)


def test_the_fuzz_covers_every_entry_point_it_lists():
    assert len(CASES) * len(HOSTILE) > 3000
