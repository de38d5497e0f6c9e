"""Checkers of lectures 05 and 06: a right answer passes; each typical mistake fails with a message that says
which input, what was expected, what came back, and the hint for that mistake."""
import math

import numpy as np
import pytest

from lecture_utils.checks import CheckFailed, lecture05, lecture06


def stub(*args, **kwargs):
    raise NotImplementedError


def fails_with(check, fn, *needles):
    with pytest.raises(CheckFailed) as info:
        check(fn)
    msg = str(info.value)
    for n in needles:
        assert n in msg, msg
    return msg


# ---------------------------------------------------------------------------------------------------------
# lecture 05
# ---------------------------------------------------------------------------------------------------------
def clip_ok(g, max_norm):
    n = np.linalg.norm(g)
    return g * (max_norm / n) if n > max_norm else g


def test_clip_by_norm(capsys):
    assert lecture05.check_clip_by_norm(clip_ok) is True
    assert "Correct" in capsys.readouterr().out
    fails_with(lecture05.check_clip_by_norm, lambda g, m: np.clip(g, -m, m), "clipping by value", "g = [3.0, 4.0]")
    fails_with(lecture05.check_clip_by_norm, lambda g, m: g * m / np.linalg.norm(g), "already below max_norm")
    fails_with(lecture05.check_clip_by_norm, lambda g, m: g * m, "forgets to divide")
    with np.errstate(all="ignore"):  # the classic bug: g / |g| * min(|g|, max_norm) is 0 / 0 for g = 0
        fails_with(lecture05.check_clip_by_norm, lambda g, m: g / np.linalg.norm(g) * min(np.linalg.norm(g), m),
                   "not finite", "g = [0.0, 0.0, 0.0]")
    msg = fails_with(lecture05.check_clip_by_norm, lambda g, m: g * m / max(np.linalg.norm(g), m) ** 2 * m,
                     "expected [1.2, 1.6], got [0.48, 0.64]", "|g| = 5")


def momentum_ok(x, v, g, lr, momentum):
    v = momentum * v - lr * g
    return x + v, v


def test_momentum_step():
    assert lecture05.check_momentum_step(momentum_ok)
    fails_with(lecture05.check_momentum_step, lambda x, v, g, lr, m: (x + m * v + lr * g, m * v + lr * g), "wrong sign")
    fails_with(lecture05.check_momentum_step, lambda x, v, g, lr, m: (x + m * v - lr * g, v), "v_new")
    fails_with(lecture05.check_momentum_step, lambda x, v, g, lr, m: (x + v, m * v - lr * g), "old velocity")
    fails_with(lecture05.check_momentum_step, lambda x, v, g, lr, m: x - lr * g, "pair (x_new, v_new)")


def test_glorot_bound():
    assert lecture05.check_glorot_bound(lambda m, n: math.sqrt(6) / math.sqrt(m + n))
    fails_with(lecture05.check_glorot_bound, lambda m, n: 6 / math.sqrt(m + n), "slip", "fan_in = 784")
    fails_with(lecture05.check_glorot_bound, lambda m, n: 1 / math.sqrt(m), "fan-in bound")
    fails_with(lecture05.check_glorot_bound, lambda m, n: math.sqrt(2 / (m + n)), "standard deviation")


def test_best_momentum():
    def ok(kappa):
        r = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        return 4 / (math.sqrt(kappa) + 1) ** 2, r * r

    assert lecture05.check_best_momentum(ok)
    fails_with(lecture05.check_best_momentum, lambda k: (ok(k)[0], math.sqrt(ok(k)[1])), "its square")
    fails_with(lecture05.check_best_momentum, lambda k: (2 / (1 + k), ok(k)[1]), "gradient descent's best rate")
    fails_with(lecture05.check_best_momentum, lambda k: 0.9, "pair (lr, momentum)")


# ---------------------------------------------------------------------------------------------------------
# lecture 06
# ---------------------------------------------------------------------------------------------------------
def test_newton_step():
    assert lecture06.check_newton_step(lambda g, H: -np.linalg.solve(H, g))
    fails_with(lecture06.check_newton_step, lambda g, H: np.linalg.solve(H, g), "sign is flipped")
    fails_with(lecture06.check_newton_step, lambda g, H: -H @ g, "inverse")
    fails_with(lecture06.check_newton_step, lambda g, H: -g / np.diag(H), "off-diagonal", "H = [[3.0, 1.0]")
    fails_with(lecture06.check_newton_step, lambda g, H: -np.linalg.solve(H, g)[:1], "shape")


def test_cg_beta():
    def ok(g_new, g_old, kind):
        num = g_new @ g_new if kind == "FR" else g_new @ (g_new - g_old)
        return num / (g_old @ g_old)

    assert lecture06.check_cg_beta(ok)
    fails_with(lecture06.check_cg_beta, lambda a, b, k: ok(a, b, "PR" if k == "FR" else "FR"), "Polak-Ribiere formula")
    fails_with(lecture06.check_cg_beta, lambda a, b, k: 1 / ok(a, b, k), "upside down")
    fails_with(lecture06.check_cg_beta, lambda a, b, k: ok(a, b, "FR"), "kind='PR'")


def cg_ok(A, b, num_steps):
    x = np.zeros_like(b)
    r = b - A @ x
    d = r.copy()
    for _ in range(num_steps):
        Ad = A @ d
        alpha = (r @ r) / (d @ Ad)
        x = x + alpha * d
        r_new = r - alpha * Ad
        d = r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return x


def test_linear_cg():
    assert lecture06.check_linear_cg(cg_ok)

    def steepest(A, b, num_steps):  # forgets the conjugate direction: exact steepest descent
        x = np.zeros_like(b)
        for _ in range(num_steps):
            r = b - A @ x
            x = x + (r @ r) / (r @ A @ r) * r
        return x

    fails_with(lecture06.check_linear_cg, steepest, "should solve A x = b after n = 2 steps", "beta")
    fails_with(lecture06.check_linear_cg, lambda A, b, k: b, "step of length 1")


def test_bfgs_update():
    def ok(M, s, y):
        rho = 1 / (y @ s)
        I = np.eye(len(s))
        return (I - rho * np.outer(s, y)) @ M @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)

    assert lecture06.check_bfgs_update(ok)

    def hessian_update(M, s, y):
        B = np.linalg.inv(M)
        return B + np.outer(y, y) / (y @ s) - B @ np.outer(s, s) @ B / (s @ B @ s)

    fails_with(lecture06.check_bfgs_update, hessian_update, "secant condition", "not of its inverse")

    def no_last_term(M, s, y):
        rho = 1 / (y @ s)
        I = np.eye(len(s))
        return (I - rho * np.outer(s, y)) @ M @ (I - rho * np.outer(y, s))

    fails_with(lecture06.check_bfgs_update, no_last_term, "rho s s^T is missing")
    fails_with(lecture06.check_bfgs_update, lambda M, s, y: M, "secant condition", "M_new y should equal s")
