"""Checkers for the exercises of lecture 06 (Newton, conjugate gradients, BFGS).

Each checker compares the student's function with a reference (``numpy.linalg.solve``, the CG recursion of
section 5 run here, the course's :func:`lecture_utils.second_order.quasi_newton.bfgs_update`) on inputs that reach
every branch (a saddle, a rotated saddle, a negative Polak-Ribiere coefficient, CG stopped half way), and on a
mismatch raises :class:`~lecture_utils.checks.CheckFailed` naming the input, the expected and the received value,
and the likely mistake when the answer equals what a typical mistake gives. Answers may be lists, numpy arrays or
torch tensors in float32 or float64: values are compared at a relative tolerance of 1e-5 of the largest entry
(1e-4 for CG after n steps), which float32 arithmetic on these well-conditioned systems (condition numbers up to
30) meets, while every typical mistake is off by far more. The inputs must not be changed in place.

Example::

    >>> import numpy as np
    >>> from lecture_utils.checks import lecture06
    >>> lecture06.check_newton_step(lambda g, H: -np.linalg.solve(H, g))
    Correct: newton_step solves H v = -g, also on two saddles (where the step heads for the saddle point).
    True
"""
from __future__ import annotations

import numpy as np

from ..second_order.quasi_newton import bfgs_update
from ._core import CheckFailed, as_array, exercise, expect_close, match_mistake, passed, try_call

__all__ = ["check_newton_step", "check_cg_beta", "check_linear_cg", "check_bfgs_update"]

#: Relative tolerance, measured against the largest entry of the expected answer (float32 answers meet it).
RTOL = 1e-5

_NEVER = float("nan")  # a candidate that does not apply to this input (never matches)


def _spd(n, kappa, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(np.geomspace(1.0, kappa, n)) @ Q.T
    return 0.5 * (A + A.T)


def _fmt(a):
    return str(np.round(np.asarray(a, dtype=float), 3).tolist())


def _atol(expected, rtol=RTOL):
    return rtol * max(1.0, float(np.max(np.abs(expected))))


# ---------------------------------------------------------------------------------------------------------
@exercise(1)
def check_newton_step(newton_step) -> bool:
    """Check ``newton_step(g, H) -> v``: the Newton step ``v = -H^{-1} g`` (a vector, not the new point)."""
    rng = np.random.default_rng(6)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    rotated_saddle = Q @ np.diag([3.0, -1.0, 2.0]) @ Q.T
    cases = [(np.array([2.0, -1.0]), np.array([[2.0, 0.0], [0.0, 10.0]])),
             (np.array([1.0, 1.0]), np.array([[3.0, 1.0], [1.0, 2.0]])),
             (rng.standard_normal(4), _spd(4, 30.0, rng)),
             (np.array([1.0, 0.5]), np.array([[2.0, 0.0], [0.0, -2.0]])),   # a saddle: Newton still solves
             (rng.standard_normal(3), 0.5 * (rotated_saddle + rotated_saddle.T))]
    for g, H in cases:
        inputs = f"g = {_fmt(g)}, H = {_fmt(H)}"
        got = try_call(newton_step, g, H, what="newton_step", may_modify=False, inputs=inputs)
        got = as_array(got, "newton_step(g, H)", inputs)
        expected = -np.linalg.solve(H, g)
        w, V = np.linalg.eigh(H)
        diagonal = np.allclose(H, np.diag(np.diag(H)))
        hint = match_mistake(got, {
            "the sign is flipped: the Newton step solves H v = -g (it points downhill for positive definite H).":
                -expected,
            "that is -H g; Newton multiplies by the inverse of H: solve the linear system H v = -g.": -H @ g,
            "that divides g by the diagonal of H entry by entry, which ignores the off-diagonal curvature; solve "
            "the full system H v = -g.": -g / np.diag(H) if not diagonal else _NEVER,
            "that is a plain gradient step -g; the Newton step rescales it by the inverse Hessian.": -g,
            "that uses |H| (absolute eigenvalues, the saddle-free step); plain Newton solves with H itself, even "
            "at a saddle.": -(V / np.abs(w)) @ V.T @ g if np.any(w < 0) else _NEVER,
        }, rtol=RTOL, unique=True)
        expect_close(got, expected, what="newton_step(g, H)", inputs=inputs, rtol=RTOL, atol=_atol(expected),
                     hint=hint, advice="the step v solves H v = -g.")
    return passed("newton_step solves H v = -g, also on two saddles (where the step heads for the saddle point).")


# ---------------------------------------------------------------------------------------------------------
@exercise(2)
def check_cg_beta(cg_beta) -> bool:
    """Check ``cg_beta(g_new, g_old, kind)`` for ``kind`` ``"FR"`` (Fletcher-Reeves) and ``"PR"`` (Polak-Ribiere).

    FR: ``|g_new|^2 / |g_old|^2``; PR: ``g_new . (g_new - g_old) / |g_old|^2`` (which can be negative).
    """
    rng = np.random.default_rng(9)
    pairs = [(np.array([1.0, 2.0]), np.array([3.0, -1.0])),         # PR = 0.4 > 0
             (np.array([1.0, 0.5]), np.array([2.0, 0.0])),          # PR = -0.1875 < 0
             (rng.standard_normal(5), rng.standard_normal(5))]
    for g_new, g_old in pairs:
        n_new, n_old = g_new @ g_new, g_old @ g_old
        fr = n_new / n_old
        pr = g_new @ (g_new - g_old) / n_old
        for kind, expected, other in (("FR", fr, pr), ("PR", pr, fr)):
            inputs = f"g_new = {_fmt(g_new)}, g_old = {_fmt(g_old)}, kind = {kind!r}"
            got = try_call(cg_beta, g_new, g_old, kind, what="cg_beta", may_modify=False, inputs=inputs)
            swapped = (n_old / n_new) if kind == "FR" else g_old @ (g_old - g_new) / n_new
            hint = match_mistake(got, {
                f"that is the {'Polak-Ribiere' if kind == 'FR' else 'Fletcher-Reeves'} formula; "
                f"kind={kind!r} asks for the other one (compare kind with the exact string).": other,
                "the ratio is upside down (or g_new and g_old are swapped): the denominator is |g_old|^2, the "
                "previous gradient.": 1.0 / expected if expected != 0 else _NEVER,
                "g_new and g_old are swapped: the numerator uses the new gradient, the denominator the old one.":
                    swapped if kind == "PR" else _NEVER,  # for FR that is the ratio upside down, named above
                "PR uses the change of gradient g_new - g_old in the numerator, not g_old - g_new.":
                    -pr if kind == "PR" else _NEVER,
                "that clips beta at 0 (the PR+ restart rule); plain PR may be negative.":
                    max(pr, 0.0) if kind == "PR" and pr < 0 else _NEVER,
                "the norms must be squared: |g_new|^2 / |g_old|^2 = (g_new . g_new) / (g_old . g_old).":
                    np.sqrt(fr) if kind == "FR" else g_new @ (g_new - g_old) / np.sqrt(n_old),
                "the numerator of FR is g_new . g_new, not g_new . g_old.": g_new @ g_old / n_old
                    if kind == "FR" else _NEVER,
                "the denominator is |g_old|^2, not |g_new|^2.": pr * n_old / n_new if kind == "PR" else _NEVER,
            }, rtol=RTOL, unique=True)
            got = as_array(got, "cg_beta", inputs)
            if got.shape != ():
                raise CheckFailed(f"cg_beta for {inputs} should return one number, got shape {got.shape}. Likely "
                                  "mistake: a product g * g entry by entry where a dot product g @ g is meant.")
            expect_close(got, expected, what="cg_beta", inputs=inputs, rtol=RTOL, atol=_atol(expected), hint=hint)
    return passed("cg_beta gives the Fletcher-Reeves and Polak-Ribiere coefficients (also a negative PR one).")


# ---------------------------------------------------------------------------------------------------------
def _cg(A, b, num_steps, *, beta="right", r_sign=1.0, d_sign=1.0, alpha="right", x0=None):
    """The CG recursion of section 5 (and the variants that typical mistakes give), from ``x0`` (default 0)."""
    x = np.zeros_like(b) if x0 is None else x0.copy()
    r = b - A @ x
    d = r.copy()
    with np.errstate(all="ignore"):
        for _ in range(num_steps):
            Ad = A @ d
            a = (r @ r) / (d @ Ad) if alpha == "right" else (d @ Ad) / (r @ r) if alpha == "inverted" else \
                (r @ r) / (d @ d)
            x = x + a * d
            r_new = r - r_sign * a * Ad
            coef = {"right": (r_new @ r_new) / (r @ r), "zero": 0.0, "inverted": (r @ r) / (r_new @ r_new),
                    "one": 1.0}[beta]
            d = r_new + d_sign * coef * d
            r = r_new
    return x


@exercise(3)
def check_linear_cg(linear_cg) -> bool:
    """Check ``linear_cg(A, b, num_steps) -> x``: ``num_steps`` iterations of linear CG from ``x0 = 0``.

    Compared after 1 step (steepest descent with exact line search), after a step count in between (the iterate
    of the recursion, computed here) and after ``n`` steps (the solution of ``A x = b``), for ``n = 2, 4, 8``.
    """
    rng = np.random.default_rng(12)
    for n in (2, 4, 8):
        A = 0.7 * _spd(n, 20.0, rng)  # eigenvalues 0.7 to 14: none is 1, so starting from b is not a shortcut
        b = rng.standard_normal(n)
        x_star = np.linalg.solve(A, b)
        for k in sorted({1, max(2, n // 2 - 1), n}):
            inputs = (f"A = {_fmt(A)}, b = {_fmt(b)}, num_steps = {k}" if n == 2 else
                      f"a {n}x{n} SPD A (condition number 20), b = {_fmt(b)}, num_steps = {k}")
            got = try_call(linear_cg, A, b, k, what="linear_cg", may_modify=False, inputs=inputs)
            got = as_array(got, f"linear_cg(A, b, {k})", inputs)
            expected = _cg(A, b, k)
            hint = match_mistake(got, {
                "the step length is alpha = (r . r) / (d^T A d); that used its inverse.":
                    _cg(A, b, k, alpha="inverted"),
                "that is a step of length 1 along r0 = b; CG picks the exact minimizer along each direction.":
                    b if k == 1 else _NEVER,
                "the first direction is the residual r0 = b - A x0 = b (downhill), not -b.": -expected
                    if k == 1 else _NEVER,
                "the step length divides by d^T A d (the curvature along d), not by d . d.":
                    _cg(A, b, k, alpha="dd") if k > 1 else _NEVER,  # on the first step it is the step of length 1
                "the new direction ignores the previous one (beta = 0 gives steepest descent, which needs many more "
                "steps); add beta times the previous direction.": _cg(A, b, k, beta="zero"),
                "beta is upside down: it is (r_new . r_new) / (r . r), the new residual on top.":
                    _cg(A, b, k, beta="inverted"),
                "beta came out as 1: compute (r_new . r_new) / (r . r) before r is overwritten by r_new.":
                    _cg(A, b, k, beta="one"),
                "the residual update has the wrong sign: r_new = r - alpha A d (the residual b - A x shrinks).":
                    _cg(A, b, k, r_sign=-1.0),
                "the new direction is r_new + beta d, not r_new - beta d.": _cg(A, b, k, d_sign=-1.0),
                "that ran one iteration too many: num_steps iterations of the loop, no more.": _cg(A, b, k + 1)
                    if k < n else _NEVER,
                "that ran one iteration too few (range(num_steps - 1)?).": _cg(A, b, k - 1),
                "CG starts from x0 = 0, so r0 = b.": _cg(A, b, k, x0=b),
            }, rtol=RTOL, atol=_atol(expected), unique=True)
            if k == n and got.shape == x_star.shape and np.all(np.isfinite(got)) and \
                    not np.allclose(got, x_star, rtol=1e-4, atol=_atol(x_star, 1e-4)):
                err = np.linalg.norm(got - x_star) / np.linalg.norm(x_star)
                raise CheckFailed(f"linear_cg for {inputs} should solve A x = b after n = {n} steps, but the "
                                  f"relative error is {err:.2g}. " + (f"Likely mistake: {hint}" if hint else
                                  "Hint: check the recursion of section 5: the new direction combines the new "
                                  "residual with the previous direction, weighted by beta."))
            tol = 1e-4 if k == n else RTOL
            expect_close(got, expected, what=f"linear_cg(A, b, {k})", inputs=inputs, rtol=tol,
                         atol=_atol(expected, tol), hint=hint,
                         advice="follow the recursion of section 5 from x0 = 0: alpha, x, r, beta, d, num_steps times.")
    return passed("linear_cg follows the CG recursion: the exact steepest-descent step first, the same iterates "
                  "half way, and the solution of n x n systems after n steps.")


# ---------------------------------------------------------------------------------------------------------
def _bfgs_mistakes(M, s, y):
    """What typical mistakes return for the BFGS update of the inverse Hessian ``M``."""
    n = len(s)
    I = np.eye(n)
    rho = 1.0 / (y @ s)
    B = np.linalg.inv(M)
    out = {}

    def inverse_form(r, left, right, last):
        return (I - r * left) @ M @ (I - r * right) + last

    out["that is the BFGS update of the Hessian B (B + y y^T / (y . s) - B s s^T B / (s^T B s)), not of its "
        "inverse; here M approximates H^{-1}, and the update must give M_new y = s."] = \
        B + rho * np.outer(y, y) - B @ np.outer(s, s) @ B / (s @ B @ s)
    out["the last term rho s s^T is missing."] = inverse_form(rho, np.outer(s, y), np.outer(y, s), 0.0)
    out["the last term is + rho s s^T, not minus."] = inverse_form(rho, np.outer(s, y), np.outer(y, s),
                                                                   -rho * np.outer(s, s))
    out["rho is 1 / (y . s), not y . s."] = inverse_form(y @ s, np.outer(s, y), np.outer(y, s),
                                                         (y @ s) * np.outer(s, s))
    out["rho is 1 / (y . s), not 1 / (s . s)."] = inverse_form(1 / (s @ s), np.outer(s, y), np.outer(y, s),
                                                              np.outer(s, s) / (s @ s))
    out["rho is 1 / (y . s), not 1 / (y . y)."] = inverse_form(1 / (y @ y), np.outer(s, y), np.outer(y, s),
                                                              np.outer(s, s) / (y @ y))
    out["s and y are swapped (that update gives M_new s = y); M maps gradient changes y to steps s."] = \
        (I - rho * np.outer(y, s)) @ M @ (I - rho * np.outer(s, y)) + rho * np.outer(y, y)
    out["the two factors are transposed: the left one is (I - rho s y^T), the right one (I - rho y s^T)."] = \
        inverse_form(rho, np.outer(y, s), np.outer(s, y), rho * np.outer(s, s))
    out["the factors are I + rho ..., they should be I - rho ...."] = \
        inverse_form(-rho, np.outer(s, y), np.outer(y, s), rho * np.outer(s, s))
    out["that is the DFP update M + s s^T / (y . s) - M y y^T M / (y^T M y); it satisfies M_new y = s too, but "
        "the exercise asks for BFGS."] = M + rho * np.outer(s, s) - M @ np.outer(y, y) @ M / (y @ M @ y)
    out["that multiplies the matrices entry by entry (*); matrix products need @."] = \
        (I - rho * np.outer(s, y)) * M * (I - rho * np.outer(y, s)) + rho * np.outer(s, s)
    out["s @ y is a number (the dot product); the update needs the outer products s y^T = np.outer(s, y)."] = \
        (I - rho * (s @ y)) @ M @ (I - rho * (y @ s)) + rho * (s @ s)
    return out


@exercise(4)
def check_bfgs_update(update) -> bool:
    """Check ``update(M, s, y) -> M_new``: the BFGS update of the inverse-Hessian approximation ``M``.

    ``M_new = (I - rho s y^T) M (I - rho y s^T) + rho s s^T`` with ``rho = 1 / (y . s)``; it satisfies the
    secant condition ``M_new y = s`` and stays symmetric positive definite. The first cases have a random SPD
    ``M`` (on ``M = I`` with ``s`` parallel to ``y`` several mistakes give the same matrix, so they come last).
    """
    rng = np.random.default_rng(4)
    cases = []
    for n in (3, 3, 4):
        M = _spd(n, 5.0, rng)
        s = rng.standard_normal(n)
        y = _spd(n, 10.0, rng) @ s
        cases.append((M, s, y))
    cases += [(np.eye(2), np.array([0.5, 0.5]), np.array([1.0, 3.0])),
              (np.eye(2), np.array([1.0, 0.0]), np.array([2.0, 0.0]))]
    for M, s, y in cases:
        inputs = (f"M = {_fmt(M)}, s = {_fmt(s)}, y = {_fmt(y)}" if len(s) < 4 else
                  f"a random 4x4 SPD M, s = {_fmt(s)}, y = {_fmt(y)}")
        got = try_call(update, M, s, y, what="bfgs_update", may_modify=False, inputs=inputs)
        got = as_array(got, "bfgs_update(M, s, y)", inputs)
        expected = bfgs_update(M[None], s[None], y[None])[0]
        if got.shape != expected.shape:
            raise CheckFailed(f"bfgs_update for {inputs} should return a {expected.shape} matrix, got shape "
                              f"{got.shape}. Hint: s y^T is the outer product np.outer(s, y), an n x n matrix.")
        hint = match_mistake(got, _bfgs_mistakes(M, s, y), rtol=RTOL, atol=_atol(expected), unique=True)
        secant = got @ y
        if not np.allclose(secant, s, rtol=RTOL, atol=_atol(s)):
            raise CheckFailed(f"bfgs_update for {inputs} breaks the secant condition: M_new y should equal s = "
                              f"{_fmt(s)}, got {_fmt(secant)}. " + (f"Likely mistake: {hint}" if hint else
                              "Hint: compare with the formula of section 7, factor by factor."))
        expect_close(got, expected, what="bfgs_update(M, s, y)", inputs=inputs, rtol=RTOL, atol=_atol(expected),
                     hint=hint, advice="it satisfies M_new y = s but is not the BFGS matrix; check the order of the "
                                       "factors (I - rho s y^T) M (I - rho y s^T).")
    return passed("bfgs_update satisfies the secant condition M_new y = s and equals the BFGS formula.")
