"""Our optimizers against torch.optim, step for step, on whole trajectories in float64."""
import math

import numpy as np
import pytest
import torch

from lecture_utils import custom_surfaces, optim, schedules, surfaces


pytestmark = pytest.mark.usefixtures("float64_default")  # torch tensors default to float64 here


def torch_trajectory(surface, torch_cls, kwargs, x0, num_steps, *, clip_norm=None, clip_value=None,
                     scheduler=None):
    """Reference: one torch parameter per start point, surface value as loss, autograd gradients."""
    out = []
    for p0 in np.atleast_2d(x0):
        p = torch.tensor(p0, requires_grad=True)
        opt = torch_cls([p], **kwargs)
        sched = scheduler(opt) if scheduler else None
        path = [p.detach().clone().numpy()]
        for _ in range(num_steps):
            opt.zero_grad()
            loss = torch.from_numpy(np.asarray(surface.value(p.detach().numpy())))
            p.grad = torch.from_numpy(np.asarray(surface.grad(p.detach().numpy()), dtype=float).copy())
            if clip_value is not None:
                torch.nn.utils.clip_grad_value_([p], clip_value)
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_([p], clip_norm)
            opt.step()
            if sched:
                sched.step()
            path.append(p.detach().clone().numpy())
            del loss
        out.append(np.stack(path))
    return np.stack(out, axis=1)  # (T, B, d)


def random_config(name, rng):
    if name == "SGD":
        mom = float(rng.uniform(0, 0.99)) if rng.random() < 0.8 else 0.0
        nest = bool(mom > 0 and rng.random() < 0.5)
        damp = 0.0 if nest else float(rng.uniform(0, 0.5))
        return {"lr": float(10 ** rng.uniform(-4, -2.5)), "momentum": mom, "dampening": damp,
                "weight_decay": float(rng.uniform(0, 0.1)), "nesterov": nest}
    if name == "Adagrad":
        return {"lr": float(10 ** rng.uniform(-3, -1)), "lr_decay": float(rng.uniform(0, 0.01)),
                "weight_decay": float(rng.uniform(0, 0.1)),
                "initial_accumulator_value": float(rng.uniform(0, 0.5)), "eps": float(10 ** rng.uniform(-10, -6))}
    if name == "RMSprop":
        return {"lr": float(10 ** rng.uniform(-4, -2)), "alpha": float(rng.uniform(0.8, 0.999)),
                "eps": float(10 ** rng.uniform(-8, -4)), "weight_decay": float(rng.uniform(0, 0.1)),
                "momentum": float(rng.uniform(0, 0.9)) * (rng.random() < 0.6), "centered": bool(rng.random() < 0.5)}
    if name in ("Adam", "AdamW"):
        return {"lr": float(10 ** rng.uniform(-4, -1.5)), "betas": (float(rng.uniform(0.5, 0.99)),
                float(rng.uniform(0.9, 0.9999))), "eps": float(10 ** rng.uniform(-8, -4)),
                "weight_decay": float(rng.uniform(0, 0.1)), "amsgrad": bool(rng.random() < 0.5)}
    raise KeyError(name)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
@pytest.mark.parametrize("seed", range(4))
def test_whole_trajectories_equal_torch_optim(name, seed):
    rng = np.random.default_rng(seed)
    surface = surfaces.get(["rosenbrock", "beale", "himmelblau", "six_hump_camel"][seed])
    kwargs = random_config(name, rng)
    x0 = np.array([[-1.2, 1.0], [0.5, -0.5], [1.5, 1.5]])
    ours = optim.run(surface, getattr(optim, name)(**kwargs), x0, num_steps=150, tol=0.0)
    ref = torch_trajectory(surface, getattr(torch.optim, name), kwargs, x0, 150)
    assert np.all(ours.diverged_at == -1)
    np.testing.assert_allclose(ours.xs, ref, rtol=1e-6, atol=1e-9)
    assert not np.allclose(ours.xs[-1], x0)  # it moved


@pytest.mark.parametrize("kind", ["norm", "value"])
def test_clipping_equals_torch_utils(kind):
    s = surfaces.get("cliff")
    x0 = np.array([[-2.0, 1.0], [0.8, -1.0], [0.95, 2.0]])
    kw = {"clip_norm": 1.0} if kind == "norm" else {"clip_value": 0.5}
    ours = optim.run(s, optim.SGD(lr=0.3, momentum=0.5), x0, num_steps=80, **kw)
    ref = torch_trajectory(s, torch.optim.SGD, {"lr": 0.3, "momentum": 0.5}, x0, 80, **kw)
    np.testing.assert_allclose(ours.xs, ref, rtol=1e-6, atol=1e-9)
    # clipping changed the path: without it the cliff throws the point much further
    free = optim.run(s, optim.SGD(lr=0.3, momentum=0.5), x0, num_steps=80)
    assert np.abs(free.xs[:, :, 0]).max() > np.abs(ours.xs[:, :, 0]).max()


@pytest.mark.parametrize("ours, theirs", [
    (schedules.StepLR(step_size=7, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    (schedules.ExponentialLR(gamma=0.97), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.97)),
    (schedules.CosineAnnealingLR(T_max=40, eta_min=1e-4),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=1e-4)),
    (schedules.PolynomialLR(total_iters=30, power=2.0),
     lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=30, power=2.0)),
])
def test_schedules_equal_torch_lr_scheduler(ours, theirs):
    s = surfaces.get("rosenbrock")
    x0 = np.array([[-1.0, 2.0], [0.0, 0.0]])
    traj = optim.run(s, optim.Adam(lr=0.05), x0, num_steps=60, lr_schedule=ours)
    ref = torch_trajectory(s, torch.optim.Adam, {"lr": 0.05}, x0, 60, scheduler=theirs)
    np.testing.assert_allclose(traj.xs, ref, rtol=1e-6, atol=1e-9)
    p = torch.zeros(1, requires_grad=True)
    o = torch.optim.SGD([p], lr=0.05)
    sch = theirs(o)
    lrs = []
    for _ in range(60):
        lrs.append(o.param_groups[0]["lr"])
        o.step()
        sch.step()
    np.testing.assert_allclose(traj.lrs, lrs, rtol=1e-10)


def test_batch_equals_one_start_at_a_time():
    s = surfaces.get("himmelblau")
    x0 = np.random.default_rng(0).uniform(-5, 5, (50, 2))
    batch = optim.run(s, optim.RMSprop(lr=0.01, momentum=0.5), x0, num_steps=100)
    for i in (0, 17, 49):
        one = optim.run(s, optim.RMSprop(lr=0.01, momentum=0.5), x0[i], num_steps=100)
        np.testing.assert_allclose(batch.xs[:, i], one.xs[:, 0], rtol=1e-12)


def test_gradient_descent_on_quadratic_matches_closed_form():
    # x_k = (1 - lr * lambda)^k x_0 along each eigenvector
    s = surfaces.get("quadratic", kappa=10.0)
    traj = optim.run(s, optim.SGD(lr=0.15), [1.0, 1.0], num_steps=40)
    k = np.arange(41)
    np.testing.assert_allclose(traj.xs[:, 0, 0], (1 - 0.15) ** k, rtol=1e-12)
    np.testing.assert_allclose(traj.xs[:, 0, 1], (1 - 1.5) ** k, rtol=1e-12)


def test_divergence_is_a_result_not_a_crash(recwarn):
    s = surfaces.get("quadratic", kappa=10.0)
    with np.errstate(all="raise"):  # no floating-point warning or error may escape
        traj = optim.run(s, optim.SGD(lr=0.5), [[1.0, 1.0], [0.0, 0.0]], num_steps=2000)
    assert traj.diverged_at[0] > 0 and traj.diverged_at[1] == -1
    k = traj.diverged_at[0]
    assert np.all(np.isfinite(traj.xs))
    np.testing.assert_array_equal(traj.xs[k:, 0], np.broadcast_to(traj.xs[k - 1, 0], traj.xs[k:, 0].shape))
    assert np.isnan(traj.values[k:, 0]).all() and np.isfinite(traj.values[:k, 0]).all()
    assert traj.status(0) == f"diverged at step {k}"
    assert traj.status(1) == "converged at step 0"
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_converged_at_is_first_step_under_tol():
    s = surfaces.get("quadratic", kappa=1.0)
    traj = optim.run(s, optim.SGD(lr=0.5), [1.0, 0.0], num_steps=30, tol=1e-3)
    # |grad| at step k is 0.5^k
    assert traj.converged_at[0] == math.ceil(math.log(1e-3) / math.log(0.5))
    assert traj.status(0).startswith("converged at step")


def test_converged_at_in_a_batch_where_some_points_diverge():
    """Per point, by hand: the first step whose gradient norm is under tol while the point is alive."""
    s = custom_surfaces.from_expression("x**4", bounds=[(-3.0, 3.0)])
    x0 = np.linspace(-1.6, 1.6, 17)[:, None]          # lr 0.2: |x| above ~1.3 overshoots and blows up
    traj = optim.run(s, optim.SGD(lr=0.2), x0, num_steps=60, tol=1e-2)
    assert (traj.diverged_at >= 0).any() and (traj.converged_at >= 0).any()
    for i in range(len(x0)):
        alive_until = traj.diverged_at[i] if traj.diverged_at[i] >= 0 else traj.num_steps + 1
        x = x0[i, 0]
        expected = -1
        for t in range(alive_until):
            if abs(4 * x ** 3) < 1e-2:
                expected = t
                break
            x = x - 0.2 * 4 * x ** 3
        assert traj.converged_at[i] == expected, (i, x0[i], traj.converged_at[i], expected)


def test_shapes_of_a_trajectory():
    s = surfaces.get("rosenbrock")
    traj = optim.run(s, optim.Adam(lr=0.01), np.zeros((7, 2)), num_steps=25)
    assert traj.xs.shape == (26, 7, 2) and traj.values.shape == (26, 7) and traj.grad_norms.shape == (26, 7)
    assert traj.diverged_at.shape == (7,) and traj.converged_at.shape == (7,) and traj.lrs.shape == (25,)


def test_grad_noise_is_seeded_and_unbiased_on_average():
    s = surfaces.get("quadratic", kappa=1.0)
    a = optim.run(s, optim.SGD(lr=0.1), np.zeros((2000, 2)), num_steps=1, grad_noise=1.0, seed=3)
    b = optim.run(s, optim.SGD(lr=0.1), np.zeros((2000, 2)), num_steps=1, grad_noise=1.0, seed=3)
    np.testing.assert_array_equal(a.xs, b.xs)
    assert abs(a.xs[1].mean()) < 0.01 and abs(a.xs[1].std() - 0.1) < 0.01


@pytest.mark.parametrize("factory, message", [
    (lambda: optim.SGD(lr=0), "lr must be >"),
    (lambda: optim.SGD(lr=-1), "lr must be >"),
    (lambda: optim.SGD(lr=float("nan")), "lr must be finite"),
    (lambda: optim.SGD(lr=0.1, momentum=1.0), r"momentum must be < 1.0 \(allowed: \[0.0, 1.0\)\)"),
    (lambda: optim.SGD(lr=0.1, momentum=-0.1), "momentum must be >= 0"),
    (lambda: optim.SGD(lr=0.1, nesterov=True), "nesterov=True requires momentum > 0"),
    (lambda: optim.Adam(lr=0.1, betas=(0.9, 1.0)), r"betas\[1\]"),
    (lambda: optim.RMSprop(lr=0.1, alpha=1.5), "alpha"),
    (lambda: optim.make("adamm"), "valid names"),
])
def test_bad_hyperparameters_are_rejected(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_bad_run_arguments_are_rejected():
    s = surfaces.get("rosenbrock")
    opt = optim.SGD(lr=0.01)
    with pytest.raises(ValueError, match=r"x0 must have shape \(2,\) or \(B, 2\)"):
        optim.run(s, opt, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        optim.run(s, opt, [float("nan"), 0.0])
    with pytest.raises(ValueError, match="num_steps must be >= 1"):
        optim.run(s, opt, [0.0, 0.0], num_steps=0)
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        optim.run(s, opt, [0.0, 0.0], num_steps=2.5)
    with pytest.raises(TypeError, match="opt must be"):
        optim.run(s, torch.optim.SGD, [0.0, 0.0])
    with pytest.raises(TypeError, match="surface must be"):
        optim.run({"name": "rosenbrock"}, opt, [0.0, 0.0])
    with pytest.raises(TypeError, match=r"not the class optim.SGD"):
        optim.run(s, optim.SGD, [0.0, 0.0])
    with pytest.raises(ValueError, match=r"num_steps=1000000000 would need .* GiB.*largest allowed num_steps is"):
        optim.run(s, opt, [0.0, 0.0], num_steps=10**9)
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr_schedule returned"):
            optim.run(s, opt, [0.0, 0.0], num_steps=5, lr_schedule=lambda base, step, bad=bad: bad)
    with pytest.raises(TypeError, match="lr_schedule must return a number"):
        optim.run(s, opt, [0.0, 0.0], num_steps=5, lr_schedule=lambda base, step: "0.1")
    with pytest.raises(TypeError, match="complex"):
        optim.run(s, opt, [1.0 + 2j, 0.0])
    with pytest.raises(ValueError, match="surface must be a surface name, one of .*rosenbrock"):
        optim.run("rosenbrok", opt, [0.0, 0.0])
    by_name = optim.run("rosenbrock", opt, [0.0, 0.0], num_steps=5)  # a registered name is looked up
    np.testing.assert_array_equal(by_name.xs, optim.run(s, opt, [0.0, 0.0], num_steps=5).xs)
    with pytest.raises(ValueError, match="clip_norm"):
        optim.run(s, opt, [0.0, 0.0], clip_norm=-1)


def test_to_torch_builds_the_same_optimizer():
    p = torch.zeros(3, requires_grad=True)
    t = optim.Adam(lr=0.02, betas=(0.8, 0.99), weight_decay=0.1).to_torch([p])
    assert isinstance(t, torch.optim.Adam)
    assert t.param_groups[0]["betas"] == (0.8, 0.99) and t.param_groups[0]["lr"] == 0.02
