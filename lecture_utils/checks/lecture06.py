"""Checkers for the exercises of lecture 06 (Newton, conjugate gradients, BFGS).

Each checker compares the student's function with a reference (``numpy.linalg.solve``, the course's
:mod:`lecture_utils.second_order.cg` and :mod:`lecture_utils.second_order.quasi_newton`) on a few inputs and on a mismatch raises
:class:`~lecture_utils.checks.CheckFailed` naming the input, the expected and the received value, with a hint
when the answer matches a typical mistake.

Example::

    >>> import numpy as np
    >>> from lecture_utils.checks import lecture06
    >>> lecture06.check_newton_step(lambda g, H: -np.linalg.solve(H, g))
    Correct: newton_step solves H v = -g, also on a saddle (where the step heads for the saddle point).
    True
"""
from __future__ import annotations

import numpy as np

from ..second_order.quasi_newton import bfgs_update
from ._core import as_array, CheckFailed, exercise, expect_close, match_mistake, passed, try_call

__all__ = ["check_newton_step", "check_cg_beta", "check_linear_cg", "check_bfgs_update"]


def _spd(n, kappa, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(np.geomspace(1.0, kappa, n)) @ Q.T
    return 0.5 * (A + A.T)


def _fmt(a):
    return np.array2string(np.asarray(a), precision=3, separator=", ", suppress_small=True).replace("\n", "")


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_newton_step(newton_step) -> bool:
    """Check ``newton_step(g, H) -> v``: the Newton step ``v = -H^{-1} g`` (a vector, not the new point)."""
    rng = np.random.default_rng(6)
    cases = [(np.array([2.0, -1.0]), np.array([[2.0, 0.0], [0.0, 10.0]])),
             (np.array([1.0, 1.0]), np.array([[3.0, 1.0], [1.0, 2.0]])),
             (rng.standard_normal(4), _spd(4, 30.0, rng)),
             (np.array([1.0, 0.5]), np.array([[2.0, 0.0], [0.0, -2.0]]))]  # a saddle: Newton still solves
    for g, H in cases:
        inputs = f"g = {_fmt(g)}, H = {_fmt(H)}"
        got = as_array(try_call(newton_step, g.copy(), H.copy(), what="newton_step"), "newton_step", inputs)
        expected = -np.linalg.solve(H, g)
        hint = match_mistake(got, {
            "the sign is flipped: the Newton step is v = -H^{-1} g (downhill for positive definite H).": -expected,
            "that is -H g; Newton multiplies by the inverse: solve H v = -g (np.linalg.solve(H, -g)).": -H @ g,
            "that divides g by the diagonal of H entry by entry; that ignores the off-diagonal curvature. "
            "Solve the full system H v = -g.": -g / np.diag(H),
            "that is a plain gradient step -g; the Newton step rescales it by H^{-1}.": -g,
        })
        expect_close(got, expected, what="newton_step(g, H)", inputs=inputs, rtol=1e-8, atol=1e-10, hint=hint)
    return passed("newton_step solves H v = -g, also on a saddle (where the step heads for the saddle point).")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_cg_beta(cg_beta) -> bool:
    """Check ``cg_beta(g_new, g_old, kind)`` for ``kind`` ``"FR"`` (Fletcher-Reeves) and ``"PR"`` (Polak-Ribiere).

    FR: ``|g_new|^2 / |g_old|^2``; PR: ``g_new . (g_new - g_old) / |g_old|^2``.
    """
    rng = np.random.default_rng(9)
    pairs = [(np.array([1.0, 2.0]), np.array([3.0, -1.0])), (rng.standard_normal(5), rng.standard_normal(5))]
    for g_new, g_old in pairs:
        fr = (g_new @ g_new) / (g_old @ g_old)
        pr = g_new @ (g_new - g_old) / (g_old @ g_old)
        for kind, expected, other in (("FR", fr, pr), ("PR", pr, fr)):
            inputs = f"g_new = {_fmt(g_new)}, g_old = {_fmt(g_old)}, kind = {kind!r}"
            got = try_call(cg_beta, g_new.copy(), g_old.copy(), kind, what="cg_beta")
            hint = match_mistake(got, {
                f"that is the {'Polak-Ribiere' if kind == 'FR' else 'Fletcher-Reeves'} formula; "
                f"kind={kind!r} asks for the other one.": other,
                "the ratio is upside down: divide by |g_old|^2, the previous gradient.": 1.0 / expected
                if expected != 0 else np.nan,
                "PR uses the change of gradient g_new - g_old in the numerator, not g_old - g_new.": -pr,
            })
            expect_close(got, expected, what="cg_beta", inputs=inputs, rtol=1e-9, hint=hint)
    return passed("cg_beta gives the Fletcher-Reeves and Polak-Ribiere coefficients.")


# ---------------------------------------------------------------------------------------------------------
@exercise(3)
def check_linear_cg(linear_cg) -> bool:
    """Check ``linear_cg(A, b, num_steps) -> x``: ``num_steps`` iterations of linear CG from ``x0 = 0``.

    After 1 step CG equals steepest descent with exact line search; after ``n`` steps it solves ``A x = b``.
    """
    rng = np.random.default_rng(12)
    for n in (2, 4, 8):
        A = _spd(n, 20.0, rng)
        b = rng.standard_normal(n)
        inputs = f"a random {n}x{n} SPD A (condition number 20), b = {_fmt(b)}"
        # One step: exact line search along r0 = b.
        got = as_array(try_call(linear_cg, A.copy(), b.copy(), 1, what="linear_cg"), "linear_cg", inputs)
        alpha = (b @ b) / (b @ A @ b)
        hint = match_mistake(got, {
            "the step length should be alpha = (r . r) / (d^T A d); that used (d^T A d) / (r . r).": (b @ A @ b) / (b @ b) * b,
            "the first direction is the residual r0 = b - A x0 = b (downhill), not -b.": -alpha * b,
            "that is a step of length 1 along r0; CG picks alpha = (r . r) / (d^T A d).": b,
        })
        expect_close(got, alpha * b, what="linear_cg(A, b, 1)", inputs=inputs, rtol=1e-8, atol=1e-10, hint=hint)
        got = as_array(try_call(linear_cg, A.copy(), b.copy(), n, what="linear_cg"), "linear_cg", inputs)
        x_star = np.linalg.solve(A, b)
        if got.shape == x_star.shape and not np.allclose(got, x_star, rtol=1e-6, atol=1e-8):
            err = np.linalg.norm(got - x_star) / np.linalg.norm(x_star)
            raise CheckFailed(f"linear_cg(A, b, {n}) for {inputs} should solve A x = b after n = {n} steps, but "
                              f"the relative error is {err:.2g}. Hint: the new direction is d <- r_new + beta d with "
                              "beta = (r_new . r_new) / (r . r), and the residual update is r <- r - alpha A d.")
        expect_close(got, x_star, what=f"linear_cg(A, b, {n})", inputs=inputs, rtol=1e-6, atol=1e-8)
    return passed("linear_cg takes the exact steepest-descent step first and solves n x n systems in n steps.")


# ---------------------------------------------------------------------------------------------------------
@exercise(4)
def check_bfgs_update(update) -> bool:
    """Check ``update(M, s, y) -> M_new``: the BFGS update of the inverse-Hessian approximation ``M``.

    ``M_new = (I - rho s y^T) M (I - rho y s^T) + rho s s^T`` with ``rho = 1 / (y . s)``; it satisfies the
    secant condition ``M_new y = s`` and stays symmetric positive definite.
    """
    rng = np.random.default_rng(4)
    cases = [(np.eye(2), np.array([1.0, 0.0]), np.array([2.0, 0.0])),
             (np.eye(2), np.array([0.5, 0.5]), np.array([1.0, 3.0]))]
    for _ in range(2):
        M = _spd(3, 5.0, rng)
        s = rng.standard_normal(3)
        y = _spd(3, 10.0, rng) @ s
        cases.append((M, s, y))
    for M, s, y in cases:
        inputs = f"M = {_fmt(M)}, s = {_fmt(s)}, y = {_fmt(y)}"
        got = as_array(try_call(update, M.copy(), s.copy(), y.copy(), what="bfgs_update"), "bfgs_update", inputs)
        expected = bfgs_update(M[None], s[None], y[None])[0]
        if got.shape != expected.shape:
            raise CheckFailed(f"bfgs_update({inputs}) should return a {expected.shape} matrix, got shape {got.shape}")
        secant = got @ y
        if not np.allclose(secant, s, rtol=1e-7, atol=1e-10):
            rho = 1.0 / (y @ s)
            B = np.linalg.inv(M)
            hint = match_mistake(got, {
                "that is the BFGS update of the Hessian B (B + y y^T / y.s - B s s^T B / s^T B s), not of its "
                "inverse; here M approximates H^{-1}, and the update must give M_new y = s.":
                    B + np.outer(y, y) * rho - B @ np.outer(s, s) @ B / (s @ B @ s),
                "the last term rho s s^T is missing.": (np.eye(len(s)) - rho * np.outer(s, y)) @ M @ (np.eye(len(s)) - rho * np.outer(y, s)),
            })
            raise CheckFailed(f"bfgs_update({inputs}) breaks the secant condition: M_new y should equal s = {_fmt(s)}, "
                              f"got {_fmt(secant)}. " + (f"Hint: {hint}" if hint else
                              "Hint: M_new = (I - rho s y^T) M (I - rho y s^T) + rho s s^T with rho = 1 / (y . s)."))
        expect_close(got, expected, what="bfgs_update(M, s, y)", inputs=inputs, rtol=1e-8, atol=1e-10,
                     hint="it satisfies M_new y = s but is not the BFGS matrix; check the order of the factors "
                          "(I - rho s y^T) M (I - rho y s^T).")
    return passed("bfgs_update satisfies the secant condition M_new y = s and equals the BFGS formula.")
