"""Exercise checkers of lectures 08 and 09: right answers pass, typical mistakes get their specific hint."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils.checks import CheckFailed, lecture08, lecture09


# ---- lecture 08: coordinate minimizer ----------------------------------------------------------------
def coordinate_minimizer(A, b, x, i):
    x = x.copy()
    x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return x


def test_coordinate_minimizer_right_answer_passes(capsys):
    assert lecture08.check_coordinate_minimizer(coordinate_minimizer) is True
    assert capsys.readouterr().out.startswith("Correct:")


@pytest.mark.parametrize("wrong,needle", [
    (lambda A, b, x, i: np.where(np.arange(len(x)) == i, (b[i] - A[i] @ x) / A[i, i], x), "including the diagonal"),
    (lambda A, b, x, i: np.where(np.arange(len(x)) == i, x - (A @ x - b), x), "gradient step"),
    (lambda A, b, x, i: np.linalg.solve(A, b), "all coordinates"),
    (lambda A, b, x, i: (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i], "whole vector"),
])
def test_coordinate_minimizer_mistakes_are_explained(wrong, needle):
    with pytest.raises(CheckFailed, match=needle):
        lecture08.check_coordinate_minimizer(wrong)


def test_coordinate_minimizer_in_place_and_stub():
    def in_place(A, b, x, i):
        x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
        return x

    with pytest.raises(CheckFailed, match="in place"):
        lecture08.check_coordinate_minimizer(in_place)


# ---- lecture 08: exponential average -----------------------------------------------------------------
def ema(xs, decay):
    out = np.empty_like(xs)
    out[0] = xs[0]
    for t in range(1, len(xs)):
        out[t] = decay * out[t - 1] + (1 - decay) * xs[t]
    return out


def ema_from_zero(xs, decay):
    out, acc = np.empty_like(xs), np.zeros(xs.shape[1])
    for t in range(len(xs)):
        acc = decay * acc + (1 - decay) * xs[t]
        out[t] = acc
    return out


def test_ema_right_answer_passes():
    assert lecture08.check_ema(ema) is True


@pytest.mark.parametrize("wrong,needle", [
    (ema_from_zero, "starts the average at zero"),
    (lambda xs, decay: ema(xs, 1 - decay), "swaps decay"),
    (lambda xs, decay: np.cumsum(xs, 0) / np.arange(1, len(xs) + 1)[:, None], "uniform"),
    (lambda xs, decay: ema(xs, decay)[-1], "only the last"),
])
def test_ema_mistakes_are_explained(wrong, needle):
    with pytest.raises(CheckFailed, match=needle):
        lecture08.check_ema(wrong)


# ---- lecture 08: distillation loss -------------------------------------------------------------------
def kd(s, y, t, tau, lam):
    soft = -(torch.softmax(t / tau, 1) * torch.log_softmax(s / tau, 1)).sum(1).mean()
    return F.cross_entropy(s, y) + lam * tau ** 2 * soft


def test_distillation_right_answer_passes():
    assert lecture08.check_distillation_loss(kd) is True
    from lecture_utils.training import distillation

    assert lecture08.check_distillation_loss(lambda s, y, t, tau, lam: distillation.distillation_loss(
        s, y, t, tau, lam)) is True


@pytest.mark.parametrize("wrong,needle", [
    (lambda s, y, t, tau, lam: F.cross_entropy(s, y) + lam * (
        -(torch.softmax(t / tau, 1) * torch.log_softmax(s / tau, 1)).sum(1).mean()), "tau\\*\\*2"),
    (lambda s, y, t, tau, lam: F.cross_entropy(s, y) + lam * tau ** 2 * F.kl_div(
        torch.log_softmax(s / tau, 1), torch.softmax(t / tau, 1), reduction="batchmean"), "KL divergence"),
    (lambda s, y, t, tau, lam: F.cross_entropy(s, y) + lam * tau ** 2 * (
        -(torch.softmax(t / tau, 1) * torch.log_softmax(s, 1)).sum(1).mean()), "softens only the teacher"),
    (lambda s, y, t, tau, lam: F.cross_entropy(s, y), "only the hard-label"),
    (lambda s, y, t, tau, lam: kd(s, y, t, tau, lam).detach(), "without a gradient"),
    (lambda s, y, t, tau, lam: float(kd(s, y, t, tau, lam)), "scalar torch tensor"),
])
def test_distillation_mistakes_are_explained(wrong, needle):
    with pytest.raises(CheckFailed, match=needle):
        lecture08.check_distillation_loss(wrong)


# ---- lecture 09: particle swarm step -----------------------------------------------------------------
def pso_step(x, v, pbest, gbest, r1, r2, inertia, cognitive, social):
    v = inertia * v + cognitive * r1 * (pbest - x) + social * r2 * (gbest - x)
    return x + v, v


def test_pso_step_right_answer_passes():
    assert lecture09.check_pso_step(pso_step) is True


@pytest.mark.parametrize("wrong,needle", [
    (lambda x, v, p, g, r1, r2, w, c1, c2: pso_step(x, v, g, p, r1, r2, w, c1, c2), "swaps the roles"),
    (lambda x, v, p, g, r1, r2, w, c1, c2: pso_step(x, v, p, g, r1, r2, 0.0, c1, c2), "inertia term"),
    (lambda x, v, p, g, r1, r2, w, c1, c2: (x + v, pso_step(x, v, p, g, r1, r2, w, c1, c2)[1]), "OLD velocity"),
    (lambda x, v, p, g, r1, r2, w, c1, c2: pso_step(x, v, p, g, r1, r2, w, c1, c2)[0], "pair"),
])
def test_pso_step_mistakes_are_explained(wrong, needle):
    with pytest.raises(CheckFailed, match=needle):
        lecture09.check_pso_step(wrong)


# ---- lecture 09: random search -----------------------------------------------------------------------
def random_search(surface, num_evals, rng):
    lo = np.array([b[0] for b in surface.bounds])
    hi = np.array([b[1] for b in surface.bounds])
    X = lo + (hi - lo) * rng.random((num_evals, surface.dim))
    v = surface.value(X)
    i = int(np.argmin(v))
    return X[i], float(v[i])


def test_random_search_right_answer_passes():
    assert lecture09.check_random_search(random_search) is True


def test_random_search_mistakes_are_explained():
    def one_extra(surface, num_evals, rng):
        x, v = random_search(surface, num_evals, rng)
        return x, float(surface.value(x))  # re-evaluates the best point: one evaluation too many

    with pytest.raises(CheckFailed, match="exactly num_evals"):
        lecture09.check_random_search(one_extra)

    def outside(surface, num_evals, rng):
        X = 20 * rng.random((num_evals, surface.dim)) - 10
        v = surface.value(X)
        return X[np.argmin(v)], float(v.min())

    with pytest.raises(CheckFailed, match="outside the box"):
        lecture09.check_random_search(outside)

    def max_not_min(surface, num_evals, rng):
        lo = np.array([b[0] for b in surface.bounds])
        hi = np.array([b[1] for b in surface.bounds])
        X = lo + (hi - lo) * rng.random((num_evals, surface.dim))
        v = surface.value(X)
        return X[np.argmax(v)], float(v.max())

    with pytest.raises(CheckFailed, match="best_value"):
        lecture09.check_random_search(max_not_min)

    def mismatched(surface, num_evals, rng):
        x, v = random_search(surface, num_evals, rng)
        return x + 0.5, v

    with pytest.raises(CheckFailed, match="point that has best_value"):
        lecture09.check_random_search(mismatched)
